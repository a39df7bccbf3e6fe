/// Reads `POST /v1/chat/completions` bodies.
enum ChatCompletionRequestParser {
    static func parse(_ body: [String: JSONValue]) throws(APIError) -> GenerationRequest {
        let fields = RequestFields(body)
        guard case .array(let items)? = body["messages"] else {
            throw .invalid("'messages' is required: an array of {\"role\", \"content\"} objects", parameter: "messages")
        }
        guard !items.isEmpty else { throw .invalid("'messages' must not be empty", parameter: "messages") }
        var messages: [ChatMessage] = []
        for (index, item) in items.enumerated() {
            messages.append(try message(item, at: index))
        }
        var request = GenerationRequest(prompt: .chat(messages), sampling: SamplingParameters(), stopSequences: [])
        try OpenAIParameters.read(fields, into: &request, maxTokensKeys: ["max_tokens", "max_completion_tokens"])
        if try fields.bool("logprobs") == true {
            request.logprobs = try fields.integer("top_logprobs", in: 0...20) ?? 0
        } else if fields.has("top_logprobs") {
            throw .invalid("'top_logprobs' needs 'logprobs': true", parameter: "top_logprobs")
        }
        request.sampling.topLogprobs = request.logprobs ?? 0
        return request
    }

    static func message(_ item: JSONValue, at index: Int) throws(APIError) -> ChatMessage {
        let parameter = "messages[\(index)]"
        guard let object = item.objectValue else { throw .invalid("'\(parameter)' must be an object", parameter: parameter) }
        guard case .string(let role)? = object["role"] else {
            throw .invalid("'\(parameter).role' must be a string", parameter: "\(parameter).role")
        }
        guard ["system", "developer", "user", "assistant"].contains(role) else {
            throw .invalid(
                "'\(parameter).role' must be system, developer, user or assistant, got '\(role)' (tool messages are not supported)",
                parameter: "\(parameter).role")
        }
        if object["tool_calls"].map({ $0 != .null }) == true {
            throw .unsupported("\(parameter).tool_calls", "tool calls are not supported by this server yet")
        }
        return ChatMessage(role: role == "developer" ? "system" : role, content: try text(object["content"], parameter: "\(parameter).content"))
    }

    /// A message's content: a string, or an array of `{"type": "text", "text": …}` parts.
    static func text(_ content: JSONValue?, parameter: String) throws(APIError) -> String {
        switch content {
        case .string(let text)?: return text
        case .null?, nil: return ""
        case .array(let parts)?:
            var text = ""
            for part in parts {
                guard let object = part.objectValue, case .string(let type)? = object["type"] else {
                    throw .invalid("'\(parameter)' parts must be objects with a 'type'", parameter: parameter)
                }
                guard type == "text", case .string(let piece)? = object["text"] else {
                    throw .unsupported(parameter, "'\(parameter)' part of type '\(type)' is not supported: this model reads text only")
                }
                text += piece
            }
            return text
        default:
            throw .invalid("'\(parameter)' must be a string or an array of text parts", parameter: parameter)
        }
    }
}
