/// Reads `POST /v1/messages` bodies (Anthropic's Messages API).
enum AnthropicMessagesRequestParser {
    static func parse(_ body: [String: JSONValue]) throws(APIError) -> GenerationRequest {
        let fields = RequestFields(body)
        guard let maxTokens = try fields.integer("max_tokens", in: 1...Int(Int32.max)) else {
            throw .invalid("'max_tokens' is required", parameter: "max_tokens")
        }
        for key in ["tools", "tool_choice"] where fields.has(key) {
            if key == "tools", case .array(let items) = fields.members[key], items.isEmpty { continue }
            throw .unsupported(key, "'\(key)' (tool use) is not supported by this server yet")
        }
        if let thinking = try fields.object("thinking"), thinking["type"] != .string("disabled") {
            throw .unsupported("thinking", "extended thinking is not supported by this server")
        }
        var messages: [ChatMessage] = []
        if fields.has("system") {
            messages.append(ChatMessage(role: "system", content: try content(body["system"], parameter: "system")))
        }
        guard case .array(let items)? = body["messages"], !items.isEmpty else {
            throw .invalid("'messages' is required: a non-empty array of {\"role\", \"content\"} objects", parameter: "messages")
        }
        for (index, item) in items.enumerated() {
            let parameter = "messages.\(index)"
            guard let object = item.objectValue, case .string(let role)? = object["role"], role == "user" || role == "assistant" else {
                throw .invalid("'\(parameter).role' must be user or assistant", parameter: "\(parameter).role")
            }
            messages.append(ChatMessage(role: role, content: try content(object["content"], parameter: "\(parameter).content")))
        }
        var sampling = SamplingParameters()
        if let value = try fields.number("temperature", in: 0...1) { sampling.temperature = Float(value) }
        if let value = try fields.number("top_p", in: 0...1) { sampling.topP = Float(value) }
        if let value = try fields.integer("top_k", in: 0...Int(Int32.max)) { sampling.topK = value }
        sampling.seed = try OpenAIParameters.seed(fields)
        var request = GenerationRequest(prompt: .chat(messages), sampling: sampling, stopSequences: [])
        if fields.has("stop_sequences"), case .string? = body["stop_sequences"] {
            throw .invalid("'stop_sequences' must be an array of strings", parameter: "stop_sequences")
        }
        request.stopSequences = try fields.strings("stop_sequences").filter { !$0.isEmpty }
        request.maxTokens = maxTokens
        request.stream = try fields.bool("stream") ?? false
        request.model = try fields.string("model")
        if request.model == nil { throw .invalid("'model' is required", parameter: "model") }
        return request
    }

    /// Content: a string, or an array of `{"type": "text", "text": …}` blocks.
    static func content(_ value: JSONValue?, parameter: String) throws(APIError) -> String {
        switch value {
        case .string(let text)?: return text
        case .array(let blocks)?:
            var text = ""
            for block in blocks {
                guard let object = block.objectValue, case .string(let type)? = object["type"] else {
                    throw .invalid("'\(parameter)' blocks must be objects with a 'type'", parameter: parameter)
                }
                guard type == "text", case .string(let piece)? = object["text"] else {
                    throw .unsupported(parameter, "'\(parameter)' block of type '\(type)' is not supported: this model reads text only")
                }
                text += piece
            }
            return text
        default:
            throw .invalid("'\(parameter)' must be a string or an array of text blocks", parameter: parameter)
        }
    }
}
