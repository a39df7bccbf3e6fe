/// A forced tool choice (`required`, a named function, Anthropic's `any` and
/// `tool`) made into what the generation enforces: the output is a valid
/// call of one of the allowed tools, in the template's ``ToolCallFormat``,
/// its arguments valid against the tool's `parameters`.
///
/// The call's markup around the JSON is not part of the grammar: the
/// opening (``prefill``) is written into the prompt after the generation
/// prompt, and the output ends where the JSON does. The reason: the
/// wrappers (`<tool_call>`, `[TOOL_CALLS]`) are single control tokens in
/// the vocabularies that have them (Qwen 2.5, Mistral), which the token
/// filter never allows and its trie leaves out; in the prompt they are
/// tokenized like the template's own markup, and the grammar stays one JSON
/// document. Hermes' closing `</tool_call>` is not added after the output:
/// ``TaggedToolCallParser`` takes a whole call whose closing tag never came,
/// and an output cut short by the token limit is then given back as the
/// text it is, nothing appended that the model did not write.
///
/// Several calls (`parallel`) are possible only in Mistral's format, whose
/// calls are one JSON array; Hermes and Llama 3.x write one document per
/// call with markup between them, which would need a literal-sequence rule
/// in the grammar, so there a forced call is exactly one call.
struct ForcedToolCall: Sendable {
    /// Written into the prompt after the generation prompt, and read by the
    /// parser before the output: the start of the call markup.
    let prefill: String
    /// The grammar of the call's JSON.
    let constraint: OutputConstraint

    /// Compiles the calls `forced` allows, in `format`.
    ///
    /// - Throws: a 400 naming the tool (`param: "tools"`) whose `parameters`
    ///   use a schema feature the grammar cannot enforce.
    init(_ forced: ToolCallConstraint, format: ToolCallFormat) throws(APIError) {
        for tool in forced.tools {
            do {
                _ = try JSONGrammar.compile(schema: tool.parameters, strict: Self.strict)
            } catch {
                throw .invalid(
                    "the tool '\(tool.name)' cannot be forced (tool_choice): its parameters schema cannot be enforced: \(error.description)",
                    parameter: "tools", code: "invalid_schema")
            }
        }
        let schema: JSONValue
        switch format {
        case .hermes:
            prefill = "<tool_call>\n"
            schema = Self.callSchema(forced.tools, argumentsKey: "arguments", at: "#")
        case .llamaJSON:
            prefill = ""
            schema = Self.callSchema(forced.tools, argumentsKey: "parameters", at: "#")
        case .mistral:
            prefill = MistralToolCallParser.marker
            var array: [String: JSONValue] = [
                "type": "array", "minItems": 1, "items": Self.callSchema(forced.tools, argumentsKey: "arguments", at: "#/items"),
            ]
            if !forced.parallel { array["maxItems"] = 1 }
            schema = .object(array)
        }
        do {
            constraint = OutputConstraint(grammar: try JSONGrammar.compile(schema: schema, strict: Self.strict))
        } catch {
            throw .invalid("the tools cannot be forced (tool_choice): \(error.description)", parameter: "tools", code: "invalid_schema")
        }
    }

    /// Arguments get no keys their schema does not name, even where it does
    /// not say `additionalProperties: false`: such keys are valid but nothing
    /// a tool reads, and a small model would fill its token budget with them.
    static let strict = true

    /// `anyOf` over the tools of `{"name": {"const": NAME}, argumentsKey: PARAMETERS}`,
    /// placed at the JSON pointer `pointer` of the whole schema.
    static func callSchema(_ tools: [ToolDefinition], argumentsKey: String, at pointer: String) -> JSONValue {
        let calls = tools.enumerated().map { index, tool -> JSONValue in
            let place = tools.count == 1 ? pointer : "\(pointer)/anyOf/\(index)"
            return [
                "type": "object",
                "properties": [
                    "name": ["const": .string(tool.name)],
                    argumentsKey: rebased(tool.parameters, onto: "\(place)/properties/\(argumentsKey)"),
                ],
                "required": ["name", .string(argumentsKey)], "additionalProperties": false,
            ]
        }
        return calls.count == 1 ? calls[0] : ["anyOf": .array(calls)]
    }

    /// `schema` with its local `$ref`s (`#/$defs/…`, relative to its own
    /// root) pointing into the document it is placed in at `pointer`.
    static func rebased(_ schema: JSONValue, onto pointer: String) -> JSONValue {
        switch schema {
        case .object(let members):
            var result: [String: JSONValue] = [:]
            for (key, value) in members {
                switch (key, value) {
                case ("$ref", .string(let reference)) where reference.hasPrefix("#"):
                    result[key] = .string(pointer + reference.dropFirst())
                case ("const", _), ("enum", _), ("default", _), ("examples", _):
                    // Values, not schemas: a "$ref" member inside one is data.
                    result[key] = value
                case ("properties", .object(let named)), ("$defs", .object(let named)), ("definitions", .object(let named)):
                    // Maps of names to schemas: a property may be called "const" or "enum".
                    result[key] = .object(named.mapValues { rebased($0, onto: pointer) })
                default:
                    result[key] = rebased(value, onto: pointer)
                }
            }
            return .object(result)
        case .array(let items):
            return .array(items.map { rebased($0, onto: pointer) })
        default:
            return schema
        }
    }
}
