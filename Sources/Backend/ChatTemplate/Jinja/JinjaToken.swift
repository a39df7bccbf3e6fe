/// One token of a template: a run of literal text, a tag delimiter, or a
/// piece of an expression inside `{{ }}` or `{% %}`.
struct JinjaToken: Sendable, Equatable {
    enum Kind: Sendable, Equatable {
        /// Literal text between tags, already trimmed by whitespace control.
        case text(String)
        /// `{{`
        case expressionStart
        /// `}}`
        case expressionEnd
        /// `{%`
        case blockStart
        /// `%}`
        case blockEnd
        /// An identifier, keyword or word operator (`and`, `in`, `is` …).
        case name(String)
        /// A string literal, escapes resolved.
        case string(String)
        case integer(Int)
        case double(Double)
        /// Punctuation or a symbolic operator: `+`, `//`, `==`, `(`, `.` …
        case symbol(String)
        /// The end of the source.
        case end
    }

    var kind: Kind
    var location: JinjaSourceLocation

    /// Whether this token is the symbol `symbol`.
    func isSymbol(_ symbol: String) -> Bool { kind == .symbol(symbol) }

    /// Whether this token is the name (or keyword) `name`.
    func isName(_ name: String) -> Bool { kind == .name(name) }
}
