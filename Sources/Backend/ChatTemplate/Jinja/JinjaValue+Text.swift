import Foundation

/// How values print: Python's `str()` and `repr()` (what `{{ value }}` and
/// `value | string` give), and JSON as Hugging Face's `tojson` writes it
/// (`json.dumps` with `ensure_ascii=False`, keys in insertion order).
extension JinjaValue {
    /// Python's `str()`; undefined prints as nothing.
    var text: String {
        switch self {
        case .undefined: ""
        case .string(let value): value
        default: representation
        }
    }

    /// Python's `repr()`. A container's text stops growing soon after
    /// ``maximumTextBytes``: a list holding one long string a million times
    /// then yields a long text that output limits reject, not an attempt
    /// to allocate terabytes.
    var representation: String {
        var result = ""
        appendRepresentation(to: &result)
        return result
    }

    /// Beyond this many bytes, containers stop printing further items.
    static let maximumTextBytes = 32 << 20

    private func appendRepresentation(to result: inout String) {
        switch self {
        case .undefined: break
        case .none: result += "None"
        case .boolean(let value): result += value ? "True" : "False"
        case .integer(let value): result += String(value)
        case .double(let value): result += Self.pythonFloat(value)
        case .string(let value): result += Self.pythonQuoted(value)
        case .list(let items):
            result += "["
            Self.appendRepresentations(items, to: &result)
            result += "]"
        case .tuple(let items):
            result += "("
            Self.appendRepresentations(items, to: &result)
            result += items.count == 1 ? ",)" : ")"
        case .dictionary(let dictionary):
            result += "{"
            for (position, entry) in dictionary.entries.enumerated() {
                if result.utf8.count > Self.maximumTextBytes { break }
                if position > 0 { result += ", " }
                entry.key.appendRepresentation(to: &result)
                result += ": "
                entry.value.appendRepresentation(to: &result)
            }
            result += "}"
        case .namespace(let namespace):
            result += "<Namespace "
            JinjaValue.dictionary(namespace.attributes).appendRepresentation(to: &result)
            result += ">"
        case .function(let function): result += "<function \(function.name)>"
        case .loop(let loop): result += "<LoopContext \(loop.index + 1)/\(loop.items.count)>"
        }
    }

    private static func appendRepresentations(_ items: [JinjaValue], to result: inout String) {
        for (position, item) in items.enumerated() {
            if result.utf8.count > maximumTextBytes { break }
            if position > 0 { result += ", " }
            item.appendRepresentation(to: &result)
        }
    }

    /// Python's `repr(float)`: the shortest round-tripping digits, positional
    /// below 1e16 and at or above 1e-4, always with a decimal point.
    static func pythonFloat(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value < 0 ? "-inf" : "inf" }
        if value == value.rounded(), abs(value) < 1e16 {
            // Swift switches to exponents earlier than Python for integers.
            let whole = String(Int64(value))
            return (value == 0 && value.sign == .minus ? "-" : "") + whole + ".0"
        }
        return value.description  // "0.1", "1e-05", "1e+16", as Python
    }

    /// Python's `repr(str)`: single quotes unless the text has a single quote
    /// and no double quote; backslash escapes for quotes and control characters.
    static func pythonQuoted(_ text: String) -> String {
        if !text.utf8.contains(where: { $0 < 0x20 || $0 >= 0x7F || $0 == UInt8(ascii: "'") || $0 == UInt8(ascii: "\\") }) {
            return "'" + text + "'"  // the common case: nothing to escape
        }
        let quote: Character = text.contains("'") && !text.contains("\"") ? "\"" : "'"
        var result = String(quote)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            default:
                if Character(scalar) == quote {
                    result += "\\" + String(quote)
                } else if scalar.value < 0x20 || (0x7F...0xA0).contains(scalar.value) {
                    result += String(format: "\\x%02x", scalar.value)
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        result.append(quote)
        return result
    }

    /// JSON text, as `json.dumps(value, ensure_ascii=False, indent=indent)`:
    /// `", "` and `": "` between items on one line; with an indent, one item
    /// per line and `","` at line ends.
    func json(indent: Int?, sortKeys: Bool = false) throws(JinjaError) -> String {
        var output = ""
        try writeJSON(to: &output, indent: indent, sortKeys: sortKeys, level: 0)
        return output
    }

    private func writeJSON(to output: inout String, indent: Int?, sortKeys: Bool, level: Int) throws(JinjaError) {
        guard level < 100 else { throw JinjaError("tojson: value nests too deeply") }
        switch self {
        case .none: output += "null"
        case .boolean(let value): output += value ? "true" : "false"
        case .integer(let value): output += String(value)
        case .double(let value):
            output += value.isNaN ? "NaN" : value.isInfinite ? (value < 0 ? "-Infinity" : "Infinity") : Self.pythonFloat(value)
        case .string(let value): Self.writeJSONString(value, to: &output)
        case .list(let items), .tuple(let items):
            try writeJSONContainer(
                items.map { (nil, $0) }, open: "[", close: "]", to: &output, indent: indent, sortKeys: sortKeys, level: level)
        case .dictionary(let dictionary):
            var pairs: [(String?, JinjaValue)] = []
            for entry in dictionary.entries {
                switch entry.key {
                case .string(let key): pairs.append((key, entry.value))
                case .integer, .double, .boolean, .none: pairs.append((entry.key.jsonKey, entry.value))
                default: throw JinjaError("tojson: keys must be str, int, float, bool or None, not \(entry.key.typeName)")
                }
            }
            if sortKeys { pairs.sort { $0.0!.unicodeScalars.lexicographicallyPrecedes($1.0!.unicodeScalars) } }
            try writeJSONContainer(pairs, open: "{", close: "}", to: &output, indent: indent, sortKeys: sortKeys, level: level)
        case .namespace(let namespace):
            try JinjaValue.dictionary(namespace.attributes).writeJSON(to: &output, indent: indent, sortKeys: sortKeys, level: level)
        case .undefined, .function, .loop:
            throw JinjaError("tojson: object of type \(typeName) is not JSON serializable")
        }
    }

    /// How `json.dumps` writes a non-string key.
    private var jsonKey: String {
        switch self {
        case .none: "null"
        case .boolean(let value): value ? "true" : "false"
        default: text
        }
    }

    private func writeJSONContainer(
        _ items: [(String?, JinjaValue)], open: String, close: String,
        to output: inout String, indent: Int?, sortKeys: Bool, level: Int
    ) throws(JinjaError) {
        output += open
        guard !items.isEmpty else {
            output += close
            return
        }
        let innerIndent = indent.map { "\n" + String(repeating: " ", count: $0 * (level + 1)) }
        for (position, (key, value)) in items.enumerated() {
            if output.utf8.count > Self.maximumTextBytes { throw JinjaError("tojson: text exceeds \(Self.maximumTextBytes) bytes") }
            if position > 0 { output += indent == nil ? ", " : "," }
            if let innerIndent { output += innerIndent }
            if let key {
                Self.writeJSONString(key, to: &output)
                output += ": "
            }
            try value.writeJSON(to: &output, indent: indent, sortKeys: sortKeys, level: level + 1)
        }
        if let indent { output += "\n" + String(repeating: " ", count: indent * level) }
        output += close
    }

    private static func writeJSONString(_ text: String, to output: inout String) {
        output += "\""
        if !text.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            output += text  // the common case: nothing to escape
            output += "\""
            return
        }
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case "\u{08}": output += "\\b"
            case "\u{0C}": output += "\\f"
            default:
                if scalar.value < 0x20 {
                    output += String(format: "\\u%04x", scalar.value)
                } else {
                    output.unicodeScalars.append(scalar)
                }
            }
        }
        output += "\""
    }
}
