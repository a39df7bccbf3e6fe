import Foundation

/// What a ``ToolCallParser`` makes of a model's output: text for the client,
/// or a complete call (its id is given later, by the responder).
enum ToolCallOutput: Sendable, Equatable {
    case content(String)
    case call(name: String, arguments: String)
}

/// Reads a model's output, as it is generated, into text and tool calls.
///
/// Text that may still turn out to be the start of a call is held back
/// until it is known not to be; a call is held back until it is whole,
/// then given at once. Output that looked like a call but does not parse
/// (malformed JSON, no name) is given back as text, never dropped.
protocol ToolCallParser {
    /// Reads the next piece of output; returns what is final now.
    mutating func feed(_ text: String) -> [ToolCallOutput]
    /// The generation ended: returns whatever is still held back.
    mutating func finish() -> [ToolCallOutput]
}

extension ToolCallParser {
    /// The whole of `text` read at once.
    mutating func parse(_ text: String) -> [ToolCallOutput] {
        feed(text) + finish()
    }
}

/// The JSON of one call as the formats write it: an object with `name` and
/// `arguments` (Llama writes `parameters`), the arguments an object or a
/// string of JSON.
enum ToolCallJSON {
    static func call(in text: Substring) -> ToolCallOutput? {
        guard let object = JSONValue.parse(Data(text.utf8))?.objectValue else { return nil }
        return call(of: object)
    }

    static func call(of object: [String: JSONValue]) -> ToolCallOutput? {
        guard case .string(let name)? = object["name"], !name.isEmpty else { return nil }
        switch object["arguments"] ?? object["parameters"] {
        case .object(let arguments)?: return .call(name: name, arguments: JSONValue.object(arguments).serialized)
        case .string(let text)? where JSONValue.parse(Data(text.utf8))?.objectValue != nil: return .call(name: name, arguments: text)
        case nil, .null?: return .call(name: name, arguments: "{}")
        default: return nil
        }
    }

    /// The length of the longest end of `text` that is the start of `tag`:
    /// what must be held back in case the next piece completes the tag.
    static func pendingPrefixLength(of text: String, tag: String) -> Int {
        let textScalars = Array(text.unicodeScalars.suffix(tag.unicodeScalars.count - 1))
        let tagScalars = Array(tag.unicodeScalars)
        var length = min(textScalars.count, tagScalars.count - 1)
        while length > 0 {
            if Array(textScalars.suffix(length)) == Array(tagScalars.prefix(length)) { return length }
            length -= 1
        }
        return 0
    }
}
