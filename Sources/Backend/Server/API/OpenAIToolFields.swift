/// Reads OpenAI's `tools`, `tool_choice` and `parallel_tool_calls`.
///
/// Errors about a tool definition name `tools` as the field at fault (and
/// the tool's position in the message).
enum OpenAIToolFields {
    static func read(_ fields: RequestFields, into request: inout GenerationRequest) throws(APIError) {
        request.tools = try ToolDefinition.list(fields.members["tools"], parameter: "tools", tool: tool)
        request.toolChoice = try choice(fields.members["tool_choice"], tools: request.tools)
        request.parallelToolCalls = try fields.bool("parallel_tool_calls") ?? true
    }

    /// One `{"type": "function", "function": {"name", "description", "parameters", "strict"}}`.
    static func tool(_ item: JSONValue, at index: Int) throws(APIError) -> ToolDefinition {
        let place = "tools[\(index)]"
        guard let object = item.objectValue else { throw .invalid("'\(place)' must be an object", parameter: "tools") }
        guard object["type"] == .string("function") else {
            throw .invalid("'\(place).type' must be \"function\": other tool types are not supported", parameter: "tools")
        }
        guard let function = object["function"]?.objectValue else {
            throw .invalid("'\(place).function' is required: an object with a 'name'", parameter: "tools")
        }
        guard case .string(let name)? = function["name"] else {
            throw .invalid("'\(place).function.name' is required: a string", parameter: "tools")
        }
        guard ToolDefinition.isValidName(name) else {
            throw .invalid("'\(place).function.name' must be 1 to 64 letters, digits, '_' or '-'", parameter: "tools")
        }
        var description: String?
        switch function["description"] {
        case .string(let text)?: description = text
        case nil, .null?: description = nil
        default: throw .invalid("'\(place).function.description' must be a string", parameter: "tools")
        }
        let parameters = function["parameters"] ?? .null
        switch parameters {
        case .object: break
        case .null: return ToolDefinition(name: name, description: description, parameters: ["type": "object", "properties": [:]])
        default: throw .invalid("'\(place).function.parameters' must be an object (a JSON schema)", parameter: "tools")
        }
        return ToolDefinition(name: name, description: description, parameters: parameters)
    }

    /// `tool_choice`: `none`, `auto`, `required`, or `{"type": "function", "function": {"name"}}`.
    static func choice(_ value: JSONValue?, tools: [ToolDefinition]) throws(APIError) -> ToolChoice {
        let choice: ToolChoice
        switch value {
        case nil, .null?, .string("auto")?: return .auto
        case .string("none")?: return .none
        case .string("required")?: choice = .required
        case .object(let object)?:
            guard object["type"] == .string("function"), case .string(let name)? = object["function"]?.objectValue?["name"] else {
                throw .invalid("'tool_choice' must be none, auto, required or {\"type\": \"function\", \"function\": {\"name\": …}}", parameter: "tool_choice")
            }
            choice = .function(name)
        default:
            throw .invalid("'tool_choice' must be none, auto, required or {\"type\": \"function\", \"function\": {\"name\": …}}", parameter: "tool_choice")
        }
        guard !tools.isEmpty else { throw .invalid("'tool_choice' needs 'tools' to choose from", parameter: "tool_choice") }
        if case .function(let name) = choice, !tools.contains(where: { $0.name == name }) {
            throw .invalid("'tool_choice' names the function '\(name)', which is not among the tools", parameter: "tool_choice")
        }
        return choice
    }
}
