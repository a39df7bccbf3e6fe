/// A rule the generated text must follow, enforced token by token while
/// sampling: today a JSON grammar (structured output, forced tool calls).
public struct OutputConstraint: Sendable, Equatable {
    /// The grammar the whole output must match.
    public let grammar: JSONGrammar

    public init(grammar: JSONGrammar) {
        self.grammar = grammar
    }

    /// Any JSON object (`response_format: {"type": "json_object"}`).
    public static var jsonObject: OutputConstraint { OutputConstraint(grammar: .anyObject) }
}
