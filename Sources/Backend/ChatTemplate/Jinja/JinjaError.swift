/// A position in a template's source, 1-based as editors show it.
struct JinjaSourceLocation: Sendable, Equatable, CustomStringConvertible {
    var line: Int
    var column: Int

    var description: String { "line \(line), column \(column)" }
}

/// Why a template failed to parse or render.
///
/// `raise_exception(message)` in a template produces an error whose text is
/// the template's own message, without a location: that text is meant for the
/// client (“Conversation roles must alternate …”).
struct JinjaError: Error, Sendable, CustomStringConvertible {
    let message: String
    let location: JinjaSourceLocation?
    /// Raised by the template itself through `raise_exception`.
    let isRaisedByTemplate: Bool

    init(_ message: String, at location: JinjaSourceLocation? = nil) {
        self.message = message
        self.location = location
        self.isRaisedByTemplate = false
    }

    private init(raised message: String) {
        self.message = message
        self.location = nil
        self.isRaisedByTemplate = true
    }

    /// The error of `raise_exception(message)`.
    static func raised(_ message: String) -> JinjaError { JinjaError(raised: message) }

    var description: String {
        guard let location, !isRaisedByTemplate else { return message }
        return "\(location): \(message)"
    }

    /// This error, placed at `location` unless it already has a place or
    /// comes from `raise_exception`.
    func located(at location: JinjaSourceLocation) -> JinjaError {
        self.location == nil && !isRaisedByTemplate ? JinjaError(message, at: location) : self
    }
}
