import Foundation

/// Where usage and token-quota state are kept: an embedded SQLite file
/// (``SQLiteUsageStore``) by default; shaped so that a store shared by
/// several proxies (PostgreSQL) can implement it too.
///
/// ``UsageAccounting`` is the only caller, and calls ``write(_:)`` from one
/// task at a time: quotas are checked against its in-memory ledger, which
/// ``quotaCounts(now:)`` fills at start (a shared store would be read again
/// periodically), and usage is added with ``write(_:)``, batched. A write is
/// all or nothing: the batch's rows and counts are added together.
public protocol UsageStore: Sendable {
    /// Adds a batch: each row to its hour's row, each count to its window's.
    func write(_ batch: UsageBatch) async throws(UsageStoreError)
    /// The token-quota counts of the windows current at `now` (the minute,
    /// day and month holding it).
    func quotaCounts(now: Date) async throws(UsageStoreError) -> [QuotaWindowCount]
    /// The rows that `query` selects, ordered by hour, identity and model.
    func rows(_ query: UsageQuery) async throws(UsageStoreError) -> [UsageRow]
    /// Closes the store; no call may follow.
    func close() async
}

/// Which usage rows to read: a time range of hours, and optionally one
/// identity and one model.
public struct UsageQuery: Sendable, Equatable {
    /// Rows whose hour starts at or after this (seconds since 1970).
    public var from: Int64
    /// Rows whose hour starts before this.
    public var to: Int64
    public var identity: String?
    public var model: String?

    public init(from: Int64 = 0, to: Int64 = .max, identity: String? = nil, model: String? = nil) {
        self.from = from
        self.to = to
        self.identity = identity
        self.model = model
    }
}

/// Why the usage store could not be used, in words for the operator (the
/// file and what to do about it).
public struct UsageStoreError: Error, CustomStringConvertible, Sendable, Equatable {
    public let description: String
    /// The store could not be reached (a shared server down, a connection
    /// lost): a passing state the proxy rides out, unlike a wrong password
    /// or a newer schema, which stop it at start.
    public let isUnreachable: Bool

    public init(description: String, isUnreachable: Bool = false) {
        self.description = description
        self.isUnreachable = isUnreachable
    }
}
