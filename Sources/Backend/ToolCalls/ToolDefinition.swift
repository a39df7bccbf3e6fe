/// A function tool a request offers the model.
public struct ToolDefinition: Sendable, Equatable {
    /// At most this many tools per request: each is rendered into every prompt.
    static let limit = 128

    public var name: String
    public var description: String?
    /// The JSON schema of the arguments (an object).
    public var parameters: JSONValue

    public init(name: String, description: String? = nil, parameters: JSONValue) {
        self.name = name
        self.description = description
        self.parameters = parameters
    }

    /// The tool as chat templates receive it, in OpenAI's shape
    /// (`{"type": "function", "function": {"name", "description", "parameters"}}`),
    /// whichever API it came from.
    var templateValue: JSONValue {
        var function: [String: JSONValue] = ["name": .string(name), "parameters": parameters]
        if let description { function["description"] = .string(description) }
        return ["type": "function", "function": .object(function)]
    }

    /// The tool with every string in it passed through `mark` (see ``ChatMessage/marked(by:)``).
    func marked(by mark: (String) -> String) -> ToolDefinition {
        ToolDefinition(name: mark(name), description: description.map(mark), parameters: parameters.mappingStrings(mark))
    }

    /// Whether `name` is a usable function name: 1 to 64 letters, digits, `_` or `-`, as OpenAI requires.
    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64
            && name.utf8.allSatisfy { $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") || (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) }
    }

    /// A request's tool list (`nil` or null: none), each item read by
    /// `tool`: an array of at most ``limit`` tools with distinct names.
    static func list(
        _ value: JSONValue?, parameter: String, tool: (JSONValue, Int) throws(APIError) -> ToolDefinition
    ) throws(APIError) -> [ToolDefinition] {
        switch value {
        case nil, .null?: return []
        case .array(let items)?:
            guard items.count <= limit else { throw .invalid("'\(parameter)' may hold at most \(limit) tools, got \(items.count)", parameter: parameter) }
            var tools: [ToolDefinition] = []
            for (index, item) in items.enumerated() { tools.append(try tool(item, index)) }
            try checkNames(tools, parameter: parameter)
            return tools
        default:
            throw .invalid("'\(parameter)' must be an array of tools", parameter: parameter)
        }
    }

    /// Checks that no two tools have the same name.
    static func checkNames(_ tools: [ToolDefinition], parameter: String) throws(APIError) {
        var seen: Set<String> = []
        for tool in tools where !seen.insert(tool.name).inserted {
            throw .invalid("'\(parameter)' names the function '\(tool.name)' more than once", parameter: parameter)
        }
    }
}
