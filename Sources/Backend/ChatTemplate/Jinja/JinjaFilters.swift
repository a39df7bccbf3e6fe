import Foundation

/// Jinja's filters, `value | name(arguments)`, with Hugging Face's `tojson`.
enum JinjaFilters {
    static func apply(
        _ name: String, to value: JinjaValue, _ arguments: JinjaCallArguments, renderer: JinjaRenderer
    ) throws(JinjaError) -> JinjaValue {
        switch name {
        case "safe":
            return value
        case "string":
            if case .string = value { return value }
            return .string(value.text)
        case "trim":
            return .string(JinjaStrings.strip(value.text, try optionalText(arguments.value(0, "chars"))))
        case "length", "count":
            return .integer(try length(of: value))
        case "lower": return .string(value.text.lowercased())
        case "upper": return .string(value.text.uppercased())
        case "title": return .string(JinjaStrings.jinjaTitle(value.text))
        case "capitalize": return .string(JinjaStrings.capitalize(value.text))
        case "default", "d":
            let fallback = arguments.value(0, "default_value") ?? .string("")
            let boolean = arguments.value(1, "boolean")?.isTruthy ?? false
            return value.isUndefined || (boolean && !value.isTruthy) ? fallback : value
        case "join":
            var items = try value.iterated(for: "join")
            if let attribute = arguments.value(1, "attribute") {
                items = try items.map { item throws(JinjaError) in try attributePath(attribute, of: item) }
            }
            return .string(try renderer.join(items, separator: arguments.value(0, "d")?.text ?? ""))
        case "first", "last":
            let items = try value.iterated(for: name)
            return (name == "first" ? items.first : items.last) ?? .undefined("\(name) of an empty sequence")
        case "list":
            return .list(try value.iterated(for: "list"))
        case "tojson":
            let indent = arguments.value(0, "indent")
            let sortKeys = arguments.value(4, "sort_keys")?.isTruthy ?? false
            let json = try value.json(indent: indent?.integer, sortKeys: sortKeys)
            try renderer.checkSize(json.utf8.count)
            return .string(json)
        case "int":
            return .integer(integer(value) ?? arguments.value(0, "default")?.integer ?? 0)
        case "float":
            return .double(float(value) ?? arguments.value(0, "default")?.number ?? 0)
        case "abs":
            if let integer = value.integer, integer != .min { return .integer(abs(integer)) }
            if let number = value.number { return .double(abs(number)) }
            throw JinjaError("abs needs a number, not '\(value.typeName)'")
        case "items":
            guard case .dictionary(let dictionary) = value else {
                if value.isUndefined { return .list([]) }
                throw JinjaError("items needs a mapping, not '\(value.typeName)'")
            }
            return .list(dictionary.entries.map { .tuple([$0.key, $0.value]) })
        case "replace":
            guard case .string(let old)? = arguments.value(0, "old"), case .string(let new)? = arguments.value(1, "new") else {
                throw JinjaError("replace needs two strings")
            }
            try renderer.checkSize(JinjaStrings.replacementBound(value.text, old, new))
            return .string(JinjaStrings.replace(value.text, old, new, count: arguments.value(2, "count")?.integer ?? -1))
        case "reverse":
            if case .string(let text) = value { return .string(String(String.UnicodeScalarView(text.unicodeScalars.reversed()))) }
            return .list(try value.iterated(for: "reverse").reversed())
        case "unique":
            var unique: [JinjaValue] = []
            for item in try value.iterated(for: "unique") where !unique.contains(where: { $0.isEqual(to: item) }) {
                unique.append(item)
            }
            return .list(unique)
        case "sort":
            return .list(try sorted(value, arguments))
        case "min", "max":
            let items = try sorted(value, JinjaCallArguments(keyword: arguments.keyword.filter { $0.name == "attribute" }))
            return (name == "min" ? items.first : items.last) ?? .undefined("\(name) of an empty sequence")
        case "sum":
            var total: JinjaValue = arguments.value(1, "start") ?? .integer(0)
            for item in try value.iterated(for: "sum") {
                let term = try arguments.value(0, "attribute").map { attribute throws(JinjaError) in try attributePath(attribute, of: item) } ?? item
                total = try JinjaOperators.apply(.add, total, term, renderer: renderer)
            }
            return total
        // Jinja maps and selects nothing from a false value (none, undefined, empty).
        case "map":
            return .list(value.isTruthy ? try map(value, arguments, renderer: renderer) : [])
        case "select", "reject", "selectattr", "rejectattr":
            return .list(value.isTruthy ? try select(name, value, arguments) : [])
        case "dictsort":
            return .list(try dictionarySorted(value, arguments))
        case "format":
            let formatted = try JinjaStrings.printf(value.text, arguments.positional)
            try renderer.checkSize(formatted.utf8.count)
            return .string(formatted)
        case "indent":
            return .string(indent(value.text, arguments))
        case "round":
            guard let number = value.number else { throw JinjaError("round needs a number") }
            let precision = arguments.value(0, "precision")?.integer ?? 0
            let scale = Foundation.pow(10, Double(precision))
            let method = arguments.value(1, "method")?.text ?? "common"
            let scaled = number * scale
            let rounded = method == "floor" ? scaled.rounded(.down) : method == "ceil" ? scaled.rounded(.up) : scaled.rounded(.toNearestOrAwayFromZero)
            return .double(rounded / scale)
        default:
            throw JinjaError("unknown filter '\(name)'")
        }
    }

    private static func length(of value: JinjaValue) throws(JinjaError) -> Int {
        switch value {
        case .undefined: 0
        case .string(let text): JinjaStrings.count(text)
        case .list(let items), .tuple(let items): items.count
        case .dictionary(let dictionary): dictionary.count
        case .namespace(let namespace): namespace.attributes.count
        default: throw JinjaError("object of type '\(value.typeName)' has no len()")
        }
    }

    /// `int` as Jinja's filter: integers, floats truncated, strings parsed
    /// as integer or else as float; nil for anything else.
    private static func integer(_ value: JinjaValue) -> Int? {
        switch value {
        case .integer, .boolean: return value.integer
        case .double(let double): return double.isFinite && abs(double) < 9.2e18 ? Int(double) : nil
        case .string(let text):
            let trimmed = JinjaStrings.strip(text, nil).replacingOccurrences(of: "_", with: "")
            if let integer = Int(trimmed) { return integer }
            return float(.string(trimmed)).flatMap { $0.isFinite && abs($0) < 9.2e18 ? Int($0) : nil }
        default: return nil
        }
    }

    private static func float(_ value: JinjaValue) -> Double? {
        if case .string(let text) = value { return Double(JinjaStrings.strip(text, nil)) }
        return value.number
    }

    private static func optionalText(_ value: JinjaValue?) throws(JinjaError) -> String? {
        switch value {
        case nil, .none?: nil
        case let other?: other.text
        }
    }

    /// `item.a.b` for an attribute path such as `"function.name"` or `0`:
    /// each part read as an item, else as an attribute; missing is undefined.
    static func attributePath(_ path: JinjaValue, of item: JinjaValue) throws(JinjaError) -> JinjaValue {
        let parts: [JinjaValue] = if case .string(let text) = path {
            text.split(separator: ".").map { Int($0).map(JinjaValue.integer) ?? .string(String($0)) }
        } else {
            [path]
        }
        var current = item
        for part in parts {
            if current.isUndefined { return current }
            current = try JinjaAccess.item(part, of: current)
        }
        return current
    }

    private static func sorted(_ value: JinjaValue, _ arguments: JinjaCallArguments) throws(JinjaError) -> [JinjaValue] {
        let items = try value.iterated(for: "sort")
        let reverse = arguments.value(0, "reverse")?.isTruthy ?? false
        let caseSensitive = arguments.value(1, "case_sensitive")?.isTruthy ?? false
        let attribute = arguments.value(2, "attribute")
        var keyed: [(key: JinjaValue, item: JinjaValue)] = []
        for item in items {
            var key = try attribute.map { attribute throws(JinjaError) in try attributePath(attribute, of: item) } ?? item
            if !caseSensitive, case .string(let text) = key { key = .string(text.lowercased()) }
            keyed.append((key, item))
        }
        // Insertion sort keeps equal keys in order (Python's sort is stable)
        // and lets a comparison fail with an error.
        var result: [(key: JinjaValue, item: JinjaValue)] = []
        for entry in keyed {
            var position = result.count
            while position > 0 {
                guard let order = try JinjaOperators.order(result[position - 1].key, entry.key) else {
                    throw JinjaError("cannot sort '\(entry.key.typeName)' against '\(result[position - 1].key.typeName)'")
                }
                if reverse ? order >= 0 : order <= 0 { break }
                position -= 1
            }
            result.insert(entry, at: position)
        }
        return result.map(\.item)
    }

    /// `dictsort(case_sensitive=False, by='key', reverse=False)`: the
    /// `(key, value)` pairs in order of key or value.
    private static func dictionarySorted(_ value: JinjaValue, _ arguments: JinjaCallArguments) throws(JinjaError) -> [JinjaValue] {
        guard case .dictionary(let dictionary) = value else {
            throw JinjaError("dictsort needs a mapping, not '\(value.typeName)'")
        }
        let byValue = arguments.value(1, "by")?.text == "value"
        var sortArguments = JinjaCallArguments()
        sortArguments.keyword = [
            ("reverse", arguments.value(2, "reverse") ?? .boolean(false)),
            ("case_sensitive", arguments.value(0, "case_sensitive") ?? .boolean(false)),
            ("attribute", .integer(byValue ? 1 : 0)),
        ]
        return try sorted(.list(dictionary.entries.map { .tuple([$0.key, $0.value]) }), sortArguments)
    }

    private static func map(_ value: JinjaValue, _ arguments: JinjaCallArguments, renderer: JinjaRenderer) throws(JinjaError) -> [JinjaValue] {
        let items = try value.iterated(for: "map")
        if let attribute = arguments.keyword.first(where: { $0.name == "attribute" })?.value {
            let fallback = arguments.keyword.first { $0.name == "default" }?.value
            var result: [JinjaValue] = []
            for item in items {
                let found = try attributePath(attribute, of: item)
                result.append(found.isUndefined ? fallback ?? found : found)
            }
            return result
        }
        guard case .string(let filter)? = arguments.positional.first else {
            throw JinjaError("map needs a filter name or attribute=")
        }
        let rest = JinjaCallArguments(positional: Array(arguments.positional.dropFirst()), keyword: arguments.keyword)
        var result: [JinjaValue] = []
        for item in items { result.append(try apply(filter, to: item, rest, renderer: renderer)) }
        return result
    }

    /// `select(test, …)`, `reject`, `selectattr(attribute, test, …)`,
    /// `rejectattr`; without a test, by truth value.
    private static func select(_ name: String, _ value: JinjaValue, _ arguments: JinjaCallArguments) throws(JinjaError) -> [JinjaValue] {
        let byAttribute = name.hasSuffix("attr")
        let keep = name.hasPrefix("select")
        var positional = arguments.positional
        var attribute: JinjaValue?
        if byAttribute {
            guard !positional.isEmpty else { throw JinjaError("\(name) needs an attribute name") }
            attribute = positional.removeFirst()
        }
        let test = positional.isEmpty ? nil : positional.removeFirst().text
        let testArguments = JinjaCallArguments(positional: positional, keyword: [])
        var result: [JinjaValue] = []
        for item in try value.iterated(for: name) {
            let subject = try attribute.map { attribute throws(JinjaError) in try attributePath(attribute, of: item) } ?? item
            let passes = try test.map { test throws(JinjaError) in try JinjaTests.apply(test, to: subject, testArguments) } ?? subject.isTruthy
            if passes == keep { result.append(item) }
        }
        return result
    }

    /// `indent(width=4, first=False, blank=False)`: indents every line but
    /// the first (unless `first`), skipping blank lines (unless `blank`).
    private static func indent(_ text: String, _ arguments: JinjaCallArguments) -> String {
        let width = arguments.value(0, "width")
        let prefix = width.flatMap { if case .string(let text) = $0 { text } else { nil } }
            ?? String(repeating: " ", count: width?.integer ?? 4)
        let first = arguments.value(1, "first")?.isTruthy ?? false
        let blank = arguments.value(2, "blank")?.isTruthy ?? false
        var lines = text.components(separatedBy: "\n")
        for index in lines.indices where index > 0 && (blank || !lines[index].isEmpty) {
            lines[index] = prefix + lines[index]
        }
        return (first ? prefix : "") + lines.joined(separator: "\n")
    }
}
