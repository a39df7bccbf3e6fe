import Foundation

/// One identity's use of one model in one UTC hour: the unit that usage
/// accounting stores and `lmgate usage` prints.
///
/// `identity` is what admission names (`key:NAME`, a Basic user, or `-` for
/// a request admitted without credentials); `model` is the model the
/// upstream says it served (its response's `model`), `-` when it said none.
public struct UsageRow: Sendable, Equatable, Hashable, Codable {
    /// The start of the hour, in whole seconds since 1970 (UTC).
    public var hour: Int64
    public var identity: String
    public var model: String
    /// Requests answered (whatever their status).
    public var requests: Int64 = 0
    public var promptTokens: Int64 = 0
    public var completionTokens: Int64 = 0
    /// Requests answered with a 4xx status (the proxy's refusals among them).
    public var clientErrors: Int64 = 0
    /// Requests answered with a 5xx status (the proxy's own 502 and 504 among them).
    public var serverErrors: Int64 = 0

    public init(
        hour: Int64, identity: String, model: String, requests: Int64 = 0, promptTokens: Int64 = 0,
        completionTokens: Int64 = 0, clientErrors: Int64 = 0, serverErrors: Int64 = 0
    ) {
        self.hour = hour
        self.identity = identity
        self.model = model
        self.requests = requests
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.clientErrors = clientErrors
        self.serverErrors = serverErrors
    }

    /// What a row is keyed by: rows with the same key are added together.
    public struct Key: Sendable, Hashable {
        public var hour: Int64
        public var identity: String
        public var model: String
    }

    public var key: Key { Key(hour: self.hour, identity: self.identity, model: self.model) }

    /// Prompt + completion tokens.
    public var tokens: Int64 { self.promptTokens &+ self.completionTokens }

    /// Adds `other`'s counts to this row's (saturating: a count never wraps).
    public mutating func add(_ other: UsageRow) {
        self.requests = Self.sum(self.requests, other.requests)
        self.promptTokens = Self.sum(self.promptTokens, other.promptTokens)
        self.completionTokens = Self.sum(self.completionTokens, other.completionTokens)
        self.clientErrors = Self.sum(self.clientErrors, other.clientErrors)
        self.serverErrors = Self.sum(self.serverErrors, other.serverErrors)
    }

    private static func sum(_ a: Int64, _ b: Int64) -> Int64 {
        let (result, overflow) = a.addingReportingOverflow(b)
        return overflow ? .max : result
    }

    /// The start of the UTC hour holding `date`.
    public static func hour(of date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 / 3600).rounded(.down)) * 3600
    }
}
