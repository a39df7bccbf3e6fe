/// One rule of a compiled ``JSONGrammar``: the JSON values a place in the
/// document may hold. Nodes refer to each other by index into
/// ``JSONGrammar/nodes``; the compiler never builds a cycle except through
/// ``any`` (whose nesting the matcher bounds by depth).
enum GrammarNode: Sendable {
    /// Any JSON value (`json_object` mode's members, `{}` schemas).
    case any
    /// An object with known properties.
    case object(ObjectRule)
    /// An array whose items all match one node.
    case array(item: Int, minItems: Int, maxItems: Int)
    /// A string of `minLength...maxLength` characters (code points).
    case string(minLength: Int, maxLength: Int)
    /// An integer or a number within bounds.
    case number(NumberRule)
    /// One of a fixed set of values written exactly (`enum`, `const`,
    /// `true`/`false`, `null`): their canonical JSON texts as a trie.
    case literals(ByteTrie)
    /// Any of several nodes (`anyOf`, `oneOf`, `type` arrays).
    case anyOf([Int])
}

/// The properties an object may hold and which of them it must.
struct ObjectRule: Sendable {
    /// The property names (their JSON string contents, without quotes) as a
    /// trie; each name's index in ``valueNodes`` is its trie terminal's id.
    let names: ByteTrie
    /// The value node of each property, by property index.
    let valueNodes: [Int]
    /// Which properties must appear, one bit per property index.
    let requiredMask: UInt64
    /// The node other keys' values must match, or `nil` when no other keys are allowed.
    let additionalValueNode: Int?
    /// For each trie node, the properties whose names pass through it.
    private let prefixMasks: [Int: UInt64]

    init(names: [[UInt8]], valueNodes: [Int], requiredMask: UInt64, additionalValueNode: Int?) {
        let trie = ByteTrie(names)
        var masks: [Int: UInt64] = [:]
        for (index, name) in names.enumerated() {
            var node = 0
            for byte in name {
                guard let next = trie.child(of: node, byte: byte) else { break }
                node = next
                masks[node, default: 0] |= 1 << UInt64(index)
            }
        }
        self.names = trie
        self.valueNodes = valueNodes
        self.requiredMask = requiredMask
        self.additionalValueNode = additionalValueNode
        prefixMasks = masks
    }

    /// The properties whose names pass through trie node `node`.
    func properties(below node: Int) -> UInt64 { prefixMasks[node] ?? 0 }
}

/// The numbers a number node allows.
///
/// Bounds are kept on the integer part (exact, in `Int64`); a fraction is
/// allowed only after an integer part whose every continuation stays in
/// bounds, and exponents only when there are no bounds at all. This is sound
/// (every accepted number is within the schema's bounds) at the price of
/// some valid numbers (`0.25` under `maximum: 0.5`) never being produced.
struct NumberRule: Sendable {
    /// Whether a fraction or exponent may be written at all (`number`, not `integer`).
    let allowsFraction: Bool
    /// The smallest and largest integer part.
    let lowest: Int64
    let highest: Int64
    /// The real bounds a number with a fraction must stay inside (inclusive
    /// or exclusive makes no difference to the test used: see ``NumberFrame``).
    let lowerBound: Double
    let upperBound: Double

    /// Whether the schema gave any bound.
    var isBounded: Bool { lowerBound > -.infinity || upperBound < .infinity }

    /// The largest magnitude of integer part written (18 digits keeps every value in `Int64`).
    static let largestMagnitude: Int64 = 999_999_999_999_999_999
}
