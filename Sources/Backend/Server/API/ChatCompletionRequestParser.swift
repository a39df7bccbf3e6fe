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
        try ToolCallHistory.check(messages, parameter: { "messages[\($0)]" })
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
        guard ["system", "developer", "user", "assistant", "tool"].contains(role) else {
            throw .invalid(
                "'\(parameter).role' must be system, developer, user, assistant or tool, got '\(role)'", parameter: "\(parameter).role")
        }
        let content = try text(object["content"], parameter: "\(parameter).content")
        switch role {
        case "assistant":
            return ChatMessage(role: role, content: content, toolCalls: try toolCalls(object["tool_calls"], parameter: "\(parameter).tool_calls"))
        case "tool":
            // A missing id is refused by ToolCallHistory, once it knows whether any call was made.
            guard case .string(let id)? = object["tool_call_id"] else { return ChatMessage(role: role, content: content, toolCallID: "") }
            return ChatMessage(role: role, content: content, toolCallID: id)
        default:
            return ChatMessage(role: role == "developer" ? "system" : role, content: content)
        }
    }

    /// An assistant message's `tool_calls`: `[{"id", "type": "function", "function": {"name", "arguments"}}]`.
    static func toolCalls(_ value: JSONValue?, parameter: String) throws(APIError) -> [ToolCall] {
        switch value {
        case nil, .null?: return []
        case .array(let items)?:
            guard items.count <= ToolDefinition.limit else {
                throw .invalid("'\(parameter)' may hold at most \(ToolDefinition.limit) calls", parameter: parameter)
            }
            var calls: [ToolCall] = []
            for (index, item) in items.enumerated() {
                let place = "\(parameter)[\(index)]"
                guard let object = item.objectValue, case .string(let id)? = object["id"], !id.isEmpty,
                    let function = object["function"]?.objectValue, case .string(let name)? = function["name"], !name.isEmpty
                else {
                    throw .invalid("'\(place)' must be {\"id\", \"type\": \"function\", \"function\": {\"name\", \"arguments\"}}", parameter: place)
                }
                let arguments: String
                switch function["arguments"] {
                case .string(let text)?: arguments = text
                case .object?: arguments = function["arguments"]!.serialized
                case nil, .null?: arguments = "{}"
                default: throw .invalid("'\(place).function.arguments' must be a string of JSON", parameter: "\(place).function.arguments")
                }
                calls.append(ToolCall(id: id, name: name, arguments: arguments))
            }
            return calls
        default:
            throw .invalid("'\(parameter)' must be an array", parameter: parameter)
        }
    }

    /// A message's content: a string, or an array of `{"type": "text", "text": …}` parts.
    static func text(_ content: JSONValue?, parameter: String) throws(APIError) -> String {
        if content == nil || content == .null { return "" }
        return try TextParts.read(content, parameter: parameter)
    }
}
