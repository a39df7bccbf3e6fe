import OpenAIWire

extension JSONValue {
    /// The value as compact JSON with sorted keys and minimal string escapes:
    /// the one spelling in which the grammar accepts an `enum`/`const` value.
    var canonicalJSON: String {
        switch self {
        case .null: return "null"
        case .bool(let value): return value ? "true" : "false"
        case .integer(let value): return String(value)
        case .number(let value):
            if value.rounded() == value && abs(value) < 1e15 { return String(Int64(value)) }
            return value.isFinite ? String(value) : "null"
        case .string(let value): return OpenAIErrorBody.quoted(value)
        case .array(let items): return "[" + items.map(\.canonicalJSON).joined(separator: ",") + "]"
        case .object(let members):
            return "{" + members.sorted { $0.key < $1.key }.map { OpenAIErrorBody.quoted($0.key) + ":" + $0.value.canonicalJSON }
                .joined(separator: ",") + "}"
        }
    }

    /// Whether the value is of JSON Schema type `type`.
    func matches(type: String) -> Bool {
        switch (self, type) {
        case (.null, "null"), (.bool, "boolean"), (.string, "string"), (.array, "array"), (.object, "object"): return true
        case (.integer, "integer"), (.integer, "number"), (.number, "number"): return true
        case (.number(let value), "integer"): return value.rounded() == value
        default: return false
        }
    }
}
