import Foundation

/// The tokens one identity used in one token-quota window
/// (``TokenQuotaLedger/Window``): the quota state a ``UsageStore`` keeps so
/// that a restart does not reset a quota.
public struct QuotaWindowCount: Sendable, Equatable, Hashable {
    public var identity: String
    public var window: TokenQuotaLedger.Window
    /// The window's start, in whole seconds since 1970 (UTC).
    public var windowStart: Int64
    public var tokens: Int64

    public init(identity: String, window: TokenQuotaLedger.Window, windowStart: Int64, tokens: Int64) {
        self.identity = identity
        self.window = window
        self.windowStart = windowStart
        self.tokens = tokens
    }

    /// What a count is keyed by: counts with the same key are added together.
    public struct Key: Sendable, Hashable {
        public var identity: String
        public var window: TokenQuotaLedger.Window
        public var windowStart: Int64
    }

    public var key: Key { Key(identity: self.identity, window: self.window, windowStart: self.windowStart) }
}
