/// Reads `POST /v1/messages` bodies (Anthropic's Messages API).
enum AnthropicMessagesRequestParser {
    /// Reads a Messages request; `needsMaxTokens` is false for `count_tokens`, whose body has none.
    static func parse(_ body: [String: JSONValue], needsMaxTokens: Bool = true) throws(APIError) -> GenerationRequest {
        let fields = RequestFields(body)
        let maxTokens = try fields.integer("max_tokens", in: 1...Int(Int32.max))
        if needsMaxTokens && maxTokens == nil {
            throw .invalid("'max_tokens' is required", parameter: "max_tokens")
        }
        if let thinking = try fields.object("thinking"), thinking["type"] != .string("disabled") {
            throw .unsupported("thinking", "extended thinking is not supported by this server")
        }
        var messages: [ChatMessage] = []
        if fields.has("system") {
            messages.append(ChatMessage(role: "system", content: try AnthropicContent.text(body["system"], parameter: "system")))
        }
        guard case .array(let items)? = body["messages"], !items.isEmpty else {
            throw .invalid("'messages' is required: a non-empty array of {\"role\", \"content\"} objects", parameter: "messages")
        }
        // The request message each conversation message came from, for errors.
        var origins: [Int] = messages.map { _ in 0 }
        for (index, item) in items.enumerated() {
            let parameter = "messages.\(index)"
            guard let object = item.objectValue, case .string(let role)? = object["role"], role == "user" || role == "assistant" else {
                throw .invalid("'\(parameter).role' must be user or assistant", parameter: "\(parameter).role")
            }
            let converted = try AnthropicContent.messages(role: role, content: object["content"], parameter: "\(parameter).content")
            messages += converted
            origins += converted.map { _ in index }
        }
        try ToolCallHistory.check(messages, idField: "content", parameter: { "messages.\(origins[$0])" })
        var sampling = SamplingParameters()
        if let value = try fields.number("temperature", in: 0...1) { sampling.temperature = Float(value) }
        if let value = try fields.number("top_p", in: 0...1) { sampling.topP = Float(value) }
        if let value = try fields.integer("top_k", in: 0...Int(Int32.max)) { sampling.topK = value }
        sampling.seed = try OpenAIParameters.seed(fields)
        var request = GenerationRequest(prompt: .chat(messages), sampling: sampling, stopSequences: [])
        try AnthropicToolFields.read(fields, into: &request)
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
}
