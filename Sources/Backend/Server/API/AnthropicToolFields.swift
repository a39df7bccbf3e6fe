/// Reads Anthropic's `tools` (`{"name", "description", "input_schema"}`)
/// and `tool_choice` (`{"type": "auto" | "any" | "tool" | "none", "name",
/// "disable_parallel_tool_use"}`).
enum AnthropicToolFields {
    static func read(_ fields: RequestFields, into request: inout GenerationRequest) throws(APIError) {
        request.tools = try ToolDefinition.list(fields.members["tools"], parameter: "tools", tool: tool)
        guard let choice = try fields.object("tool_choice") else { return }
        let parameter = "tool_choice"
        if choice["disable_parallel_tool_use"] == .bool(true) { request.parallelToolCalls = false }
        switch choice["type"] {
        case .string("auto")?: request.toolChoice = .auto
        case .string("none")?: request.toolChoice = .none
        case .string("any")?: request.toolChoice = .required
        case .string("tool")?:
            guard case .string(let name)? = choice["name"] else { throw .invalid("'tool_choice.name' is required for type tool", parameter: parameter) }
            guard request.tools.contains(where: { $0.name == name }) else {
                throw .invalid("'tool_choice' names the tool '\(name)', which is not among the tools", parameter: parameter)
            }
            request.toolChoice = .function(name)
        default:
            throw .invalid("'tool_choice.type' must be auto, any, tool or none", parameter: parameter)
        }
        if request.tools.isEmpty, request.toolChoice != .none, request.toolChoice != .auto {
            throw .invalid("'tool_choice' needs 'tools' to choose from", parameter: parameter)
        }
    }

    static func tool(_ item: JSONValue, at index: Int) throws(APIError) -> ToolDefinition {
        let place = "tools.\(index)"
        guard let object = item.objectValue else { throw .invalid("'\(place)' must be an object", parameter: "tools") }
        if let type = object["type"], type != .null, type != .string("custom") {
            throw .unsupported("tools", "'\(place).type' \(type.serialized): only custom (client) tools are supported")
        }
        guard case .string(let name)? = object["name"], ToolDefinition.isValidName(name) else {
            throw .invalid("'\(place).name' is required: 1 to 64 letters, digits, '_' or '-'", parameter: "tools")
        }
        guard case .object? = object["input_schema"] else {
            throw .invalid("'\(place).input_schema' is required: an object (a JSON schema)", parameter: "tools")
        }
        var description: String?
        switch object["description"] {
        case .string(let text)?: description = text
        case nil, .null?: description = nil
        default: throw .invalid("'\(place).description' must be a string", parameter: "tools")
        }
        return ToolDefinition(name: name, description: description, parameters: object["input_schema"]!)
    }
}
