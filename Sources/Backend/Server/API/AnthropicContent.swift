/// Anthropic message content as conversation messages: `text` blocks are
/// the message's text, an assistant's `tool_use` blocks its calls, and each
/// of a user's `tool_result` blocks a `tool` message before the user's text.
enum AnthropicContent {
    static func messages(role: String, content: JSONValue?, parameter: String) throws(APIError) -> [ChatMessage] {
        switch content {
        case .string(let text)?: return [ChatMessage(role: role, content: text)]
        case .array(let blocks)?:
            var text = ""
            var calls: [ToolCall] = []
            var results: [ChatMessage] = []
            for (index, block) in blocks.enumerated() {
                let place = "\(parameter).\(index)"
                guard let object = block.objectValue, case .string(let type)? = object["type"] else {
                    throw .invalid("'\(parameter)' blocks must be objects with a 'type'", parameter: parameter)
                }
                switch type {
                case "text":
                    guard case .string(let piece)? = object["text"] else { throw .invalid("'\(place).text' must be a string", parameter: "\(place).text") }
                    text += piece
                case "tool_use" where role == "assistant":
                    guard case .string(let id)? = object["id"], !id.isEmpty, case .string(let name)? = object["name"], !name.isEmpty,
                        case .object? = object["input"]
                    else {
                        throw .invalid("'\(place)' must be a tool_use block with 'id', 'name' and an object 'input'", parameter: place)
                    }
                    calls.append(ToolCall(id: id, name: name, arguments: object["input"]!.serialized))
                case "tool_result" where role == "user":
                    guard case .string(let id)? = object["tool_use_id"], !id.isEmpty else {
                        throw .invalid("'\(place).tool_use_id' is required: the id of the tool_use answered", parameter: "\(place).tool_use_id")
                    }
                    var result = try resultText(object["content"], parameter: "\(place).content")
                    if object["is_error"] == .bool(true) { result = "Error: " + result }
                    results.append(ChatMessage(role: "tool", content: result, toolCallID: id))
                default:
                    throw .unsupported(place, "'\(place)' block of type '\(type)' is not supported in \(role) messages")
                }
            }
            if results.isEmpty || !text.isEmpty || !calls.isEmpty {
                results.append(ChatMessage(role: role, content: text, toolCalls: calls))
            }
            return results
        default:
            throw .invalid("'\(parameter)' must be a string or an array of content blocks", parameter: parameter)
        }
    }

    /// Text content: a string, or an array of `text` blocks (a `system` prompt, a tool result).
    static func text(_ value: JSONValue?, parameter: String) throws(APIError) -> String {
        try TextParts.read(value, parameter: parameter, noun: "block")
    }

    private static func resultText(_ value: JSONValue?, parameter: String) throws(APIError) -> String {
        if value == nil || value == .null { return "" }
        return try text(value, parameter: parameter)
    }
}
