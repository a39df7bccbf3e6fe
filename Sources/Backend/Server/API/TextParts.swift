/// Text content as the APIs send it: a string, or an array of parts
/// (`{"type": "text", "text": …}`; the Responses API's `input_text` and
/// `output_text`; Anthropic calls them blocks), joined. Parts of any other
/// type (images, files) are refused: the models read text only.
enum TextParts {
    /// `value` as text; `types` are the part types that hold text, `noun` what the API calls a part.
    static func read(_ value: JSONValue?, parameter: String, types: Set<String> = ["text"], noun: String = "part") throws(APIError) -> String {
        switch value {
        case .string(let text)?: return text
        case .array(let parts)?:
            var text = ""
            for part in parts {
                guard let object = part.objectValue, case .string(let type)? = object["type"] else {
                    throw .invalid("'\(parameter)' \(noun)s must be objects with a 'type'", parameter: parameter)
                }
                guard types.contains(type), case .string(let piece)? = object["text"] else {
                    throw .unsupported(parameter, "'\(parameter)' \(noun) of type '\(type)' is not supported: this model reads text only")
                }
                text += piece
            }
            return text
        default:
            throw .invalid("'\(parameter)' must be a string or an array of text \(noun)s", parameter: parameter)
        }
    }
}
