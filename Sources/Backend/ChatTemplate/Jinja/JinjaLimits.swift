/// Bounds on one rendering, so that a hostile or broken template fails with
/// an error instead of running forever, exhausting memory or the stack.
///
/// A real template spends a few dozen steps per message, so the step budget
/// allows conversations of tens of thousands of messages.
struct JinjaLimits: Sendable {
    /// Statements executed plus expressions evaluated.
    var maximumSteps = 1_000_000
    /// Bytes of output, and of any one string or list the template builds.
    var maximumOutputBytes = 16 << 20
    /// Macro calls inside macro calls.
    var maximumCallDepth = 32

    static let standard = JinjaLimits()
}
