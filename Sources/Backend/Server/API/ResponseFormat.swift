/// Reads OpenAI's `response_format` (and the Responses API's `text.format`)
/// into the constraint the sampler enforces:
/// `{"type": "text"}` (none), `{"type": "json_object"}` (any JSON object) or
/// `{"type": "json_schema", "json_schema": {"name", "schema", "strict"}}`.
/// A schema the grammar compiler cannot enforce is a 400 naming the feature
/// and its place in the schema, never a silent unconstrained run.
enum ResponseFormat {
    static func constraint(_ fields: RequestFields, key: String = "response_format") throws(APIError) -> OutputConstraint? {
        guard let format = try fields.object(key) else { return nil }
        return try constraint(format, key: key, definitionKey: "json_schema")
    }

    /// The Responses API's `text.format`: as `response_format`, except that
    /// `name`, `schema` and `strict` sit in the format object itself.
    static func textFormatConstraint(_ fields: RequestFields) throws(APIError) -> OutputConstraint? {
        let key = "text.format"
        guard let text = try fields.object("text") else { return nil }
        switch text["format"] {
        case nil, .null?: return nil
        case .object(let format)?: return try constraint(format, key: key, definitionKey: nil)
        default: throw .invalid("'\(key)' must be an object", parameter: key)
        }
    }

    /// Reads one format object; the schema's `name`, `schema` and `strict` are
    /// in its member `definitionKey`, or (`nil`) in the object itself.
    private static func constraint(_ format: [String: JSONValue], key: String, definitionKey: String?) throws(APIError) -> OutputConstraint? {
        guard case .string(let type)? = format["type"] else {
            throw .invalid("'\(key).type' must be \"text\", \"json_object\" or \"json_schema\"", parameter: key)
        }
        switch type {
        case "text":
            return nil
        case "json_object":
            // llama-server also takes a schema here.
            guard let schema = format["schema"] else { return .jsonObject }
            return try compile(schema, strict: false, key: key)
        case "json_schema":
            let place = definitionKey.map { "\(key).\($0)" } ?? key
            let members = definitionKey.map { format[$0]?.objectValue } ?? format
            guard let definition = members, let schema = definition["schema"] else {
                throw .invalid("'\(place).schema' is required with type \"json_schema\"", parameter: key)
            }
            switch definition["name"] {
            case nil, .null?, .string?: break
            default: throw .invalid("'\(place).name' must be a string", parameter: key)
            }
            let strict: Bool
            switch definition["strict"] {
            case nil, .null?: strict = false
            case .bool(let value)?: strict = value
            default: throw .invalid("'\(place).strict' must be a boolean", parameter: key)
            }
            return try compile(schema, strict: strict, key: key)
        default:
            throw .invalid("'\(key).type' must be \"text\", \"json_object\" or \"json_schema\", got '\(type)'", parameter: key)
        }
    }

    private static func compile(_ schema: JSONValue, strict: Bool, key: String) throws(APIError) -> OutputConstraint {
        do {
            return OutputConstraint(grammar: try JSONGrammar.compile(schema: schema, strict: strict))
        } catch {
            throw .invalid("'\(key)' schema cannot be enforced: \(error.description)", parameter: key, code: "invalid_schema")
        }
    }
}
