import Foundation

/// A parsed Jinja template: parse once, render many times.
///
/// Covers the subset of Jinja that chat templates use, with whitespace
/// handled as Hugging Face and llama.cpp configure it (`trim_blocks` and
/// `lstrip_blocks` on); see ``JinjaLexer`` and ``JinjaParser``.
struct JinjaTemplate: Sendable {
    private let statements: [JinjaStatement]
    let limits: JinjaLimits

    /// Parses `source`; syntax errors name their line and column.
    init(_ source: String, limits: JinjaLimits = .standard) throws(JinjaError) {
        statements = try JinjaParser.parse(source)
        self.limits = limits
    }

    /// Renders with `context` as the template's variables; `now` and
    /// `timeZone` are what `strftime_now` formats.
    func render(
        _ context: [String: JinjaValue], now: Date = Date(), timeZone: TimeZone = .current
    ) throws(JinjaError) -> String {
        try JinjaRenderer(context: context, limits: limits, now: now, timeZone: timeZone).render(statements)
    }
}
