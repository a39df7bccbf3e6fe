import Foundation

/// What one finished request used, as the forwarding handler reports it to
/// ``UsageAccounting``.
public struct RequestUsage: Sendable, Equatable {
    /// The identity admission established (`key:NAME` or a Basic user); `nil`
    /// for a request admitted without credentials.
    public var identity: String?
    /// The model the upstream named in its response, if any.
    public var model: String?
    /// The status the client was answered with.
    public var status: Int
    public var promptTokens: Int
    public var completionTokens: Int
    /// When the request finished.
    public var finished: Date

    public init(identity: String?, model: String?, status: Int, promptTokens: Int, completionTokens: Int, finished: Date) {
        self.identity = identity
        self.model = model
        self.status = status
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.finished = finished
    }

    /// The most characters of a model name kept: the name comes from the
    /// upstream's response, so it is bounded and escaped like a log field.
    static let maxModelCharacters = 128

    /// This request as a row of its hour (one request, its tokens, its error class).
    public var row: UsageRow {
        UsageRow(
            hour: UsageRow.hour(of: self.finished),
            identity: self.identity ?? "-",
            model: self.model.map { LogField.escaped($0, limit: Self.maxModelCharacters) } ?? "-",
            requests: 1,
            promptTokens: Int64(max(0, self.promptTokens)),
            completionTokens: Int64(max(0, self.completionTokens)),
            clientErrors: (400..<500).contains(self.status) ? 1 : 0,
            serverErrors: (500..<600).contains(self.status) || self.status < 100 ? 1 : 0)
    }

    /// Prompt + completion tokens.
    public var tokens: Int { max(0, self.promptTokens) + max(0, self.completionTokens) }
}
