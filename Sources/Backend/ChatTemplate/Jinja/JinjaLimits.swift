/// Bounds on one rendering, so that a hostile or broken template fails with
/// an error instead of running forever, exhausting memory or the stack.
struct JinjaLimits: Sendable {
    /// Statements executed plus expressions evaluated.
    var maximumSteps = 5_000_000
    /// Bytes of output, and of any one string or list the template builds.
    var maximumOutputBytes = 16 << 20
    /// Macro calls inside macro calls.
    var maximumCallDepth = 32

    static let standard = JinjaLimits()
}
