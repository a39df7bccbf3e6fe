/// Compiles the JSON Schema subset people use for structured output into
/// ``GrammarNode``s, refusing anything it cannot enforce soundly with a
/// ``GrammarError`` that names the keyword and its place.
///
/// The schema comes from the client, so the work is bounded: nesting depth,
/// node count, enum sizes, property counts and item counts all have limits,
/// and each `$ref` target is compiled once (shared, so `a → b` twice, `b → c`
/// twice, … stays linear) and never through itself (recursion is refused).
struct JSONSchemaCompiler {
    /// The bounds an attacker's schema runs into.
    enum Limits {
        static let depth = 32
        static let nodes = 4096
        static let literals = 1024
        static let literalBytes = 65536
        static let properties = 64
        static let alternatives = 64
        static let items = 4096
        static let length = 100_000
    }

    /// Keywords that only describe and never constrain.
    static let annotations: Set<String> = [
        "title", "description", "default", "examples", "$schema", "$id", "$comment", "deprecated", "readOnly",
        "writeOnly", "$defs", "definitions",
    ]

    private let document: JSONValue
    private let strict: Bool
    private var nodes: [GrammarNode] = []
    private var referenceNodes: [String: Int] = [:]
    private var referencesInProgress: Set<String> = []

    static func compile(_ schema: JSONValue, strict: Bool) throws(GrammarError) -> JSONGrammar {
        var compiler = JSONSchemaCompiler(document: schema, strict: strict)
        let root = try compiler.node(for: schema, at: "#", depth: 0)
        return JSONGrammar(nodes: compiler.nodes, root: root)
    }

    private init(document: JSONValue, strict: Bool) {
        self.document = document
        self.strict = strict
    }

    private mutating func add(_ node: GrammarNode, at path: String) throws(GrammarError) -> Int {
        guard nodes.count < Limits.nodes else {
            throw GrammarError("schema size", at: path, "the schema compiles to more than \(Limits.nodes) rules")
        }
        nodes.append(node)
        return nodes.count - 1
    }

    private mutating func node(for schema: JSONValue, at path: String, depth: Int) throws(GrammarError) -> Int {
        guard depth <= Limits.depth else {
            throw GrammarError("nesting", at: path, "the schema nests deeper than \(Limits.depth) levels")
        }
        switch schema {
        case .bool(true): return try add(.any, at: path)
        case .bool(false): throw GrammarError("false", at: path, "the schema 'false' allows no value")
        case .object(let members): return try node(for: members, at: path, depth: depth)
        default: throw GrammarError("schema", at: path, "a schema must be an object or a boolean")
        }
    }

    private mutating func node(for schema: [String: JSONValue], at path: String, depth: Int) throws(GrammarError) -> Int {
        if let reference = schema["$ref"] {
            guard schema.keys.allSatisfy({ $0 == "$ref" || Self.annotations.contains($0) }) else {
                throw GrammarError("$ref", at: path, "'$ref' beside other constraining keywords is not supported")
            }
            return try node(forReference: reference, at: path, depth: depth)
        }
        if case .array(let parts)? = schema["allOf"], parts.count == 1,
            schema.keys.allSatisfy({ $0 == "allOf" || Self.annotations.contains($0) })
        {
            // A one-part allOf (older Pydantic wraps a $ref so) is that part.
            return try node(for: parts[0], at: "\(path)/allOf/0", depth: depth + 1)
        }
        for key in ["anyOf", "oneOf"] where schema[key] != nil {
            guard schema.keys.allSatisfy({ $0 == key || Self.annotations.contains($0) }) else {
                throw GrammarError(key, at: path, "'\(key)' beside other constraining keywords is not supported")
            }
            return try alternatives(schema[key]!, keyword: key, at: "\(path)/\(key)", depth: depth)
        }
        if case .array(let types)? = schema["type"] {
            guard !types.isEmpty, types.count <= 8 else {
                throw GrammarError("type", at: path, "'type' must list one to eight types")
            }
            var choices: [Int] = []
            for type in types {
                var single = schema
                single["type"] = type
                choices.append(try node(for: single, at: path, depth: depth + 1))
            }
            return try add(.anyOf(choices), at: path)
        }
        return try SchemaKeywords(schema, path: path, strict: strict).compile(into: &self, depth: depth)
    }

    private mutating func node(forReference reference: JSONValue, at path: String, depth: Int) throws(GrammarError) -> Int {
        guard case .string(let pointer) = reference, pointer.hasPrefix("#") else {
            throw GrammarError("$ref", at: path, "only local references ('#/$defs/…') are supported")
        }
        if let known = referenceNodes[pointer] { return known }
        guard !referencesInProgress.contains(pointer) else {
            throw GrammarError("$ref", at: path, "recursive reference '\(pointer)' is not supported")
        }
        guard let target = Self.resolve(pointer, in: document) else {
            throw GrammarError("$ref", at: path, "reference '\(pointer)' points at nothing")
        }
        referencesInProgress.insert(pointer)
        let compiled = try node(for: target, at: pointer, depth: depth + 1)
        referencesInProgress.remove(pointer)
        referenceNodes[pointer] = compiled
        return compiled
    }

    /// The value a local JSON pointer (`#/$defs/Item`) names.
    static func resolve(_ pointer: String, in document: JSONValue) -> JSONValue? {
        var value = document
        for token in pointer.dropFirst().split(separator: "/", omittingEmptySubsequences: true) {
            let key = token.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            switch value {
            case .object(let members): guard let next = members[key] else { return nil }; value = next
            case .array(let items): guard let index = Int(key), items.indices.contains(index) else { return nil }; value = items[index]
            default: return nil
            }
        }
        return value
    }

    private mutating func alternatives(_ list: JSONValue, keyword: String, at path: String, depth: Int) throws(GrammarError) -> Int {
        guard case .array(let schemas) = list, !schemas.isEmpty, schemas.count <= Limits.alternatives else {
            throw GrammarError(keyword, at: path, "'\(keyword)' must list one to \(Limits.alternatives) schemas")
        }
        var choices: [Int] = []
        for (index, schema) in schemas.enumerated() {
            choices.append(try node(for: schema, at: "\(path)/\(index)", depth: depth + 1))
        }
        if keyword == "oneOf" {
            // oneOf means exactly one: matching any one is sound only when no
            // value can match two, which holds when their kinds of value differ.
            var seen = Set<JSONKind>()
            for choice in choices {
                let kinds = self.kinds(of: choice)
                guard seen.isDisjoint(with: kinds) else {
                    throw GrammarError("oneOf", at: path, "'oneOf' whose alternatives may match the same value is not supported (use anyOf)")
                }
                seen.formUnion(kinds)
            }
        }
        return choices.count == 1 ? choices[0] : try add(.anyOf(choices), at: path)
    }

    /// The kinds of JSON value a node may match.
    private func kinds(of node: Int) -> Set<JSONKind> {
        switch nodes[node] {
        case .any: return Set(JSONKind.allCases)
        case .object: return [.object]
        case .array: return [.array]
        case .string: return [.string]
        case .number: return [.number]
        case .literals(let trie): return trie.firstBytes.reduce(into: []) { $0.insert(JSONKind(firstByte: $1)) }
        case .anyOf(let choices): return choices.reduce(into: []) { $0.formUnion(kinds(of: $1)) }
        }
    }

    // MARK: - Used by SchemaKeywords

    mutating func add(_ node: GrammarNode, path: String) throws(GrammarError) -> Int { try add(node, at: path) }

    mutating func child(_ schema: JSONValue, at path: String, depth: Int) throws(GrammarError) -> Int {
        try node(for: schema, at: path, depth: depth + 1)
    }
}
