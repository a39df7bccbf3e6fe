/// The keywords of one schema object with at most one `type`, compiled to a
/// node: the part of ``JSONSchemaCompiler`` that knows each keyword.
struct SchemaKeywords {
    private let schema: [String: JSONValue]
    private let path: String
    private let strict: Bool

    init(_ schema: [String: JSONValue], path: String, strict: Bool) {
        self.schema = schema
        self.path = path
        self.strict = strict
    }

    private static let keywordsByType: [String: Set<String>] = [
        "object": ["properties", "required", "additionalProperties"],
        "array": ["items", "minItems", "maxItems", "uniqueItems"],
        "string": ["minLength", "maxLength"],
        "number": ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"],
        "integer": ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"],
        "boolean": [], "null": [],
    ]

    func compile(into compiler: inout JSONSchemaCompiler, depth: Int) throws(GrammarError) -> Int {
        let type = try declaredType()
        let constraining = schema.keys.filter { !JSONSchemaCompiler.annotations.contains($0) && $0 != "type" }
        if schema["enum"] != nil || schema["const"] != nil {
            if let other = constraining.first(where: { $0 != "enum" && $0 != "const" }) {
                throw GrammarError(other, at: path, "'\(other)' beside 'enum' or 'const' is not supported")
            }
            return try compiler.add(.literals(try literals(ofType: type)), path: path)
        }
        let allowed = type.flatMap { Self.keywordsByType[$0] } ?? Self.keywordsByType.values.reduce([], { $0.union($1) })
        for key in constraining.sorted() where !allowed.contains(key) {
            let known = Self.keywordsByType.values.contains { $0.contains(key) }
            throw GrammarError(
                key, at: path,
                known ? "'\(key)' does not apply to type '\(type ?? "")'" : "schema keyword '\(key)' is not supported")
        }
        switch type ?? inferredType(constraining) {
        case "object": return try object(into: &compiler, depth: depth)
        case "array": return try array(into: &compiler, depth: depth)
        case "string":
            let minimum = try count("minLength", limit: JSONSchemaCompiler.Limits.length) ?? 0
            let maximum = try count("maxLength", limit: Int.max) ?? Int.max
            guard minimum <= maximum else { throw GrammarError("minLength", at: path, "'minLength' is above 'maxLength'") }
            return try compiler.add(.string(minLength: minimum, maxLength: maximum), path: path)
        case "number", "integer": return try compiler.add(.number(try numberRule(integer: type == "integer")), path: path)
        case "boolean": return try compiler.add(.literals(ByteTrie([Array("true".utf8), Array("false".utf8)])), path: path)
        case "null": return try compiler.add(.literals(ByteTrie([Array("null".utf8)])), path: path)
        default: return try compiler.add(.any, path: path)
        }
    }

    private func declaredType() throws(GrammarError) -> String? {
        guard let value = schema["type"] else { return nil }
        guard case .string(let type) = value, Self.keywordsByType[type] != nil else {
            throw GrammarError("type", at: path, "'type' must be object, array, string, number, integer, boolean or null")
        }
        return type
    }

    /// A schema without `type` matches any kind; narrowing it to the kind its
    /// keywords are about only drops values, so it stays sound.
    private func inferredType(_ keywords: [String]) -> String {
        for (type, words) in Self.keywordsByType where keywords.contains(where: words.contains) { return type }
        return "any"
    }

    private func count(_ key: String, limit: Int) throws(GrammarError) -> Int? {
        guard let value = schema[key] else { return nil }
        guard case .integer(let number) = value, number >= 0 else {
            throw GrammarError(key, at: path, "'\(key)' must be a non-negative integer")
        }
        guard number <= limit else { throw GrammarError(key, at: path, "'\(key)' above \(limit) is not supported") }
        return number
    }

    private func object(into compiler: inout JSONSchemaCompiler, depth: Int) throws(GrammarError) -> Int {
        var names: [[UInt8]] = []
        var valueNodes: [Int] = []
        if let properties = schema["properties"] {
            guard case .object(let members) = properties else {
                throw GrammarError("properties", at: path, "'properties' must be an object")
            }
            guard members.count <= JSONSchemaCompiler.Limits.properties else {
                throw GrammarError("properties", at: path, "more than \(JSONSchemaCompiler.Limits.properties) properties in one object")
            }
            for (name, subschema) in members.sorted(by: { $0.key < $1.key }) {
                let bytes = Array(name.utf8)
                guard !bytes.isEmpty, !bytes.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) else {
                    throw GrammarError("properties", at: path, "property names that are empty or need escaping are not supported")
                }
                names.append(bytes)
                valueNodes.append(try compiler.child(subschema, at: "\(path)/properties/\(name)", depth: depth))
            }
        }
        var requiredMask: UInt64 = 0
        if let required = schema["required"] {
            guard case .array(let items) = required else { throw GrammarError("required", at: path, "'required' must be an array") }
            for item in items {
                guard case .string(let name) = item, let index = names.firstIndex(of: Array(name.utf8)) else {
                    throw GrammarError("required", at: path, "'required' names a property not in 'properties'")
                }
                requiredMask |= 1 << UInt64(index)
            }
        }
        var additional: Int?
        switch schema["additionalProperties"] {
        case nil: additional = strict ? nil : try compiler.add(.any, path: path)
        case .bool(let allowed)?: additional = allowed ? try compiler.add(.any, path: path) : nil
        case let subschema?: additional = try compiler.child(subschema, at: "\(path)/additionalProperties", depth: depth)
        }
        let rule = ObjectRule(names: names, valueNodes: valueNodes, requiredMask: requiredMask, additionalValueNode: additional)
        return try compiler.add(.object(rule), path: path)
    }

    private func array(into compiler: inout JSONSchemaCompiler, depth: Int) throws(GrammarError) -> Int {
        if case .bool(true)? = schema["uniqueItems"] {
            throw GrammarError("uniqueItems", at: path, "'uniqueItems' is not supported")
        }
        let minimum = try count("minItems", limit: JSONSchemaCompiler.Limits.items) ?? 0
        let maximum = try count("maxItems", limit: Int.max) ?? Int.max
        guard minimum <= maximum else { throw GrammarError("minItems", at: path, "'minItems' is above 'maxItems'") }
        let item: Int
        if let items = schema["items"] {
            item = try compiler.child(items, at: "\(path)/items", depth: depth)
        } else {
            item = try compiler.add(.any, path: path)
        }
        return try compiler.add(.array(item: item, minItems: minimum, maxItems: maximum), path: path)
    }

    private func bound(_ key: String) throws(GrammarError) -> Double? {
        guard let value = schema[key] else { return nil }
        guard let number = value.doubleValue, number.isFinite else {
            throw GrammarError(key, at: path, "'\(key)' must be a number")
        }
        return number
    }

    private func numberRule(integer: Bool) throws(GrammarError) -> NumberRule {
        let largest = Double(NumberRule.largestMagnitude)
        var lowest = -largest, highest = largest
        var lowerBound = -Double.infinity, upperBound = Double.infinity
        if let minimum = try bound("minimum") { lowest = max(lowest, minimum.rounded(.up)); lowerBound = max(lowerBound, minimum) }
        if let minimum = try bound("exclusiveMinimum") {
            lowest = max(lowest, minimum.rounded(.down) + 1)
            lowerBound = max(lowerBound, minimum)
        }
        if let maximum = try bound("maximum") { highest = min(highest, maximum.rounded(.down)); upperBound = min(upperBound, maximum) }
        if let maximum = try bound("exclusiveMaximum") {
            highest = min(highest, maximum.rounded(.up) - 1)
            upperBound = min(upperBound, maximum)
        }
        guard lowest <= highest else {
            throw GrammarError(
                "minimum", at: path,
                integer ? "no integer lies within the bounds" : "number bounds that hold no integer are not supported")
        }
        return NumberRule(allowsFraction: !integer, lowest: Int64(lowest), highest: Int64(highest), lowerBound: lowerBound, upperBound: upperBound)
    }

    private func literals(ofType type: String?) throws(GrammarError) -> ByteTrie {
        var values: [JSONValue] = []
        if let constant = schema["const"] { values.append(constant) }
        if let list = schema["enum"] {
            guard case .array(let items) = list, !items.isEmpty else {
                throw GrammarError("enum", at: path, "'enum' must be a non-empty array")
            }
            guard items.count <= JSONSchemaCompiler.Limits.literals else {
                throw GrammarError("enum", at: path, "'enum' with more than \(JSONSchemaCompiler.Limits.literals) values is not supported")
            }
            values += items
        }
        if schema["const"] != nil && schema["enum"] != nil {
            values = values.first.map { constant in values.dropFirst().contains(constant) ? [constant] : [] } ?? []
        }
        let texts = values.filter { type == nil || $0.matches(type: type!) }.map { Array($0.canonicalJSON.utf8) }
        guard !texts.isEmpty else { throw GrammarError("enum", at: path, "no value of 'enum'/'const' matches the schema") }
        guard texts.reduce(0, { $0 + $1.count }) <= JSONSchemaCompiler.Limits.literalBytes else {
            throw GrammarError("enum", at: path, "'enum' values longer than \(JSONSchemaCompiler.Limits.literalBytes) bytes in all")
        }
        return ByteTrie(texts)
    }
}
