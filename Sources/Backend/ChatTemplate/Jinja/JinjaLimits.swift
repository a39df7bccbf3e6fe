/// Bounds on one rendering, so that a hostile or broken template fails with
/// an error instead of running forever, exhausting memory or the stack.
///
/// A real template spends a few dozen steps per message, so the step budget
/// allows conversations of tens of thousands of messages.
struct JinjaLimits: Sendable {
    /// Statements executed plus expressions evaluated.
    var maximumSteps = 1_000_000
    /// Bytes of output, and of any one string the template builds.
    var maximumOutputBytes = 16 << 20
    /// Items of any one list the template builds (`range(n)`, `list * n`).
    var maximumItems = 1 << 20
    /// Expressions and statements being evaluated inside one another, macro
    /// calls included: bounds the interpreter's recursion, hence its stack.
    var maximumDepth = 300
    /// Macro calls inside macro calls.
    var maximumCallDepth = 32

    static let standard = JinjaLimits()
}
