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
