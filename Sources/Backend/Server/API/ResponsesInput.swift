/// The Responses API's `input`: a string (one user message) or items —
/// messages (`{"role", "content"}`), `function_call` items (a call the
/// model made, sent back) and `function_call_output` items (its result).
enum ResponsesInput {
    /// Appends the conversation `input` holds to `messages`, and to `origins` the item each came from.
    static func read(_ input: JSONValue?, into messages: inout [ChatMessage], origins: inout [Int]) throws(APIError) {
        switch input {
        case .string(let text)?:
            messages.append(ChatMessage(role: "user", content: text))
            origins.append(0)
        case .array(let items)? where !items.isEmpty:
            for (index, item) in items.enumerated() {
                try read(item, at: index, into: &messages, origins: &origins)
            }
        default:
            throw .invalid("'input' is required: a string or a non-empty array of items", parameter: "input")
        }
    }

    private static func read(_ item: JSONValue, at index: Int, into messages: inout [ChatMessage], origins: inout [Int]) throws(APIError) {
        let place = "input[\(index)]"
        guard let object = item.objectValue else { throw .invalid("'\(place)' must be an object", parameter: place) }
        let type = object["type"] ?? .string("message")
        switch type {
        case .string("message"):
            guard case .string(let role)? = object["role"], ["user", "system", "developer", "assistant"].contains(role) else {
                throw .invalid("'\(place).role' must be user, system, developer or assistant", parameter: "\(place).role")
            }
            messages.append(ChatMessage(role: role == "developer" ? "system" : role, content: try text(object["content"], parameter: "\(place).content")))
            origins.append(index)
        case .string("function_call"):
            guard case .string(let id)? = object["call_id"], !id.isEmpty, case .string(let name)? = object["name"], !name.isEmpty,
                case .string(let arguments)? = object["arguments"]
            else {
                throw .invalid("'\(place)' must be a function_call with 'call_id', 'name' and 'arguments' (a string)", parameter: place)
            }
            let call = ToolCall(id: id, name: name, arguments: arguments)
            // Calls that follow an assistant message (or each other) belong to that turn.
            if let last = messages.last, last.role == "assistant" {
                messages[messages.count - 1].toolCalls.append(call)
            } else {
                messages.append(ChatMessage(role: "assistant", content: "", toolCalls: [call]))
                origins.append(index)
            }
        case .string("function_call_output"):
            guard case .string(let id)? = object["call_id"] else {
                throw .invalid("'\(place).call_id' is required: the id of the call answered", parameter: "\(place).call_id")
            }
            messages.append(ChatMessage(role: "tool", content: try text(object["output"], parameter: "\(place).output"), toolCallID: id))
            origins.append(index)
        default:
            throw .unsupported("\(place).type", "'\(place).type' \(type.serialized) is not supported: send messages, function_call and function_call_output items")
        }
    }

    /// Text content: a string, or parts of type `input_text` / `output_text`.
    private static func text(_ value: JSONValue?, parameter: String) throws(APIError) -> String {
        try TextParts.read(value, parameter: parameter, types: ["input_text", "output_text"])
    }
}
