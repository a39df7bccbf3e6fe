/// The Python methods templates call on values: `content.strip()`,
/// `message.get('tool_calls')`, `tools.items()` … Only methods that do not
/// mutate, as in the sandbox templates are written for.
enum JinjaMethods {
    private static let stringMethods: Set<String> = [
        "strip", "lstrip", "rstrip", "split", "startswith", "endswith", "upper", "lower", "title",
        "capitalize", "replace", "find", "join", "splitlines", "isdigit", "isalpha", "isspace", "format",
    ]
    private static let dictionaryMethods: Set<String> = ["items", "keys", "values", "get"]
    private static let listMethods: Set<String> = ["index", "count"]

    /// Whether `value` has a method `name`.
    static func has(_ name: String, on value: JinjaValue) -> Bool {
        switch value {
        case .string: stringMethods.contains(name)
        case .dictionary: dictionaryMethods.contains(name)
        case .list, .tuple: listMethods.contains(name)
        default: false
        }
    }

    static func call(
        _ name: String, on receiver: JinjaValue, _ arguments: JinjaCallArguments, renderer: JinjaRenderer
    ) throws(JinjaError) -> JinjaValue {
        switch receiver {
        case .string(let text): return try call(name, onString: text, arguments, renderer: renderer)
        case .dictionary(let dictionary): return try call(name, onDictionary: dictionary, arguments)
        case .list(let items), .tuple(let items): return try call(name, onList: items, arguments)
        default: throw JinjaError("'\(receiver.typeName)' object has no method '\(name)'")
        }
    }

    private static func call(
        _ name: String, onString text: String, _ arguments: JinjaCallArguments, renderer: JinjaRenderer
    ) throws(JinjaError) -> JinjaValue {
        switch name {
        case "strip", "lstrip", "rstrip":
            let characters = try optionalString(arguments.value(0, "chars"), name)
            return .string(JinjaStrings.strip(text, characters, leading: name != "rstrip", trailing: name != "lstrip"))
        case "split":
            let separator = try optionalString(arguments.value(0, "sep"), name)
            let maximum = arguments.value(1, "maxsplit")?.integer ?? -1
            return .list(try JinjaStrings.split(text, separator, maximum: maximum).map { JinjaValue.string($0) })
        case "startswith", "endswith":
            let test = name == "startswith" ? JinjaStrings.hasPrefix : JinjaStrings.hasSuffix
            switch arguments.value(0, "prefix") {
            case .string(let affix): return .boolean(test(text, affix))
            case .list(let affixes), .tuple(let affixes):
                return .boolean(affixes.contains { if case .string(let affix) = $0 { test(text, affix) } else { false } })
            default: throw JinjaError("\(name)() takes a string or a tuple of strings")
            }
        case "upper": return .string(text.uppercased())
        case "lower": return .string(text.lowercased())
        case "title": return .string(JinjaStrings.pythonTitle(text))
        case "capitalize": return .string(JinjaStrings.capitalize(text))
        case "replace":
            guard case .string(let old)? = arguments.value(0, "old"), case .string(let new)? = arguments.value(1, "new") else {
                throw JinjaError("replace() takes two strings")
            }
            try renderer.checkSize(JinjaStrings.replacementBound(text, old, new))
            return .string(JinjaStrings.replace(text, old, new, count: arguments.value(2, "count")?.integer ?? -1))
        case "find":
            guard case .string(let part)? = arguments.value(0, "sub") else { throw JinjaError("find() takes a string") }
            return .integer(JinjaStrings.find(text, part))
        case "join":
            let items = try (arguments.value(0, "iterable") ?? .list([])).iterated(for: "join")
            return .string(try renderer.join(items, separator: text))
        case "splitlines":
            var lines = text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }.map(String.init)
            if lines.last == "" { lines.removeLast() }
            return .list(lines.map { JinjaValue.string($0) })
        case "format":
            let formatted = try JinjaStrings.format(text, arguments.positional, arguments.keyword)
            try renderer.checkSize(formatted.utf8.count)
            return .string(formatted)
        case "isdigit":
            return .boolean(!text.isEmpty && text.unicodeScalars.allSatisfy { $0.properties.numericType == .decimal || $0.properties.numericType == .digit })
        case "isalpha":
            return .boolean(!text.isEmpty && text.unicodeScalars.allSatisfy { $0.properties.isAlphabetic })
        case "isspace":
            return .boolean(!text.isEmpty && text.unicodeScalars.allSatisfy(JinjaStrings.isWhitespace))
        default:
            throw JinjaError("'str' object has no method '\(name)'")
        }
    }

    private static func call(
        _ name: String, onDictionary dictionary: JinjaDictionary, _ arguments: JinjaCallArguments
    ) throws(JinjaError) -> JinjaValue {
        switch name {
        case "items": return .list(dictionary.entries.map { .tuple([$0.key, $0.value]) })
        case "keys": return .list(dictionary.entries.map { $0.key })
        case "values": return .list(dictionary.entries.map { $0.value })
        case "get":
            guard let key = arguments.value(0, "key") else { throw JinjaError("get() takes a key") }
            return dictionary[key] ?? arguments.value(1, "default") ?? .none
        default: throw JinjaError("'dict' object has no method '\(name)'")
        }
    }

    private static func call(_ name: String, onList items: [JinjaValue], _ arguments: JinjaCallArguments) throws(JinjaError) -> JinjaValue {
        guard let needle = arguments.value(0, "value") else { throw JinjaError("\(name)() takes a value") }
        switch name {
        case "count": return .integer(items.filter { $0.isEqual(to: needle) }.count)
        default:
            guard let index = items.firstIndex(where: { $0.isEqual(to: needle) }) else {
                throw JinjaError("\(needle.representation) is not in list")
            }
            return .integer(index)
        }
    }

    private static func optionalString(_ value: JinjaValue?, _ method: String) throws(JinjaError) -> String? {
        switch value {
        case nil, .none?: return nil
        case .string(let text)?: return text
        case let other?: throw JinjaError("\(method)() argument must be a string or none, not '\(other.typeName)'")
        }
    }
}
