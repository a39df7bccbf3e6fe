/// A JSON Schema (or "any JSON object") compiled to rules a ``GrammarState``
/// can match byte by byte. Immutable and shared by every sequence using it.
public final class JSONGrammar: Sendable, Equatable {
    /// The rules; the document must match ``root``.
    let nodes: [GrammarNode]
    /// The rule the whole document matches.
    let root: Int
    /// How deeply arrays and objects may nest inside values of ``GrammarNode/any``.
    let anyValueDepth: Int

    /// Helper nodes for the insides of ``GrammarNode/any``: any value,
    /// `true`/`false`/`null`, any number, and the rule of any object.
    let anyValueNode: Int
    let anyLiteralNode: Int
    let anyNumberNode: Int
    let anyObjectRule: ObjectRule

    init(nodes: [GrammarNode], root: Int, anyValueDepth: Int = 16) {
        anyValueNode = nodes.count
        anyLiteralNode = nodes.count + 1
        anyNumberNode = nodes.count + 2
        let largest = NumberRule.largestMagnitude
        self.nodes = nodes + [
            .any, .literals(ByteTrie(["true", "false", "null"].map { Array($0.utf8) })),
            .number(NumberRule(allowsFraction: true, lowest: -largest, highest: largest, lowerBound: -.infinity, upperBound: .infinity)),
        ]
        anyObjectRule = ObjectRule(names: [], valueNodes: [], requiredMask: 0, additionalValueNode: anyValueNode)
        self.root = root
        self.anyValueDepth = anyValueDepth
    }

    /// The nodes a value of `node` may be: its `anyOf` alternatives, flattened.
    func concreteNodes(_ node: Int) -> [Int] {
        guard case .anyOf(let choices) = nodes[node] else { return [node] }
        return choices.flatMap(concreteNodes)
    }

    /// Any JSON object: OpenAI's `response_format: {"type": "json_object"}`.
    public static let anyObject: JSONGrammar = {
        JSONGrammar(nodes: [.any, .object(ObjectRule(names: [], valueNodes: [], requiredMask: 0, additionalValueNode: 0))], root: 1)
    }()

    /// Compiles `schema`; under `strict`, objects without `additionalProperties` allow no other keys.
    public static func compile(schema: JSONValue, strict: Bool) throws(GrammarError) -> JSONGrammar {
        try JSONSchemaCompiler.compile(schema, strict: strict)
    }

    /// A state at the start of a document.
    public func start() -> GrammarState { GrammarState(grammar: self) }

    public static func == (lhs: JSONGrammar, rhs: JSONGrammar) -> Bool { lhs === rhs }
}
