/// One open construct on a ``GrammarState`` thread's stack.
enum GrammarFrame: Hashable, Sendable {
    /// A value of a node (never ``GrammarNode/anyOf``) not begun yet; whitespace may come first.
    case value(node: Int, whitespace: Int)
    case object(node: Int, ObjectFrame)
    case array(node: Int, ArrayFrame)
    case string(StringFrame)
    case number(node: Int, NumberFrame)
    /// Part of an `enum`/`const`/`true`/`false`/`null` text: its node and trie position.
    case literal(node: Int, trieNode: Int)
    /// An object or array of ``GrammarNode/any`` (members and items of any kind).
    case anyObject(ObjectFrame)
    case anyArray(ArrayFrame)
}
