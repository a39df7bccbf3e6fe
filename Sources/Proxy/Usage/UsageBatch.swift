import Foundation

/// Usage not yet written to the ``UsageStore``: rows per hour, identity and
/// model, and token-quota window counts, each added together by key, so a
/// batch's size follows the identities and models in use, not the requests.
///
/// A batch whose write failed is merged back (``merge(_:)``) and written
/// with the next one: nothing is lost while the process runs.
public struct UsageBatch: Sendable, Equatable {
    public private(set) var rows: [UsageRow.Key: UsageRow] = [:]
    public private(set) var quotaCounts: [QuotaWindowCount.Key: QuotaWindowCount] = [:]
    /// The key and place of the row added last. Consecutive requests are
    /// mostly of one hour, identity and model: their row is found by
    /// comparing the key (equal short strings compare as two words) instead
    /// of hashing the hour and both strings and probing, on every request.
    /// Not part of the batch's value (``==(_:_:)``); a place stays valid while
    /// only values change, and is renewed whenever a row is inserted.
    private var lastRow: (key: UsageRow.Key, index: [UsageRow.Key: UsageRow].Index)?

    public init() {}

    /// Two batches are equal when they hold the same rows and counts.
    public static func == (lhs: UsageBatch, rhs: UsageBatch) -> Bool {
        lhs.rows == rhs.rows && lhs.quotaCounts == rhs.quotaCounts
    }

    public var isEmpty: Bool { self.rows.isEmpty && self.quotaCounts.isEmpty }

    /// Adds one finished request: its row, and its tokens in each window
    /// its identity has a quota for (as ``TokenQuotaLedger/record(_:for:quotas:now:)`` counts them).
    public mutating func add(_ usage: RequestUsage, quotaWindows: some Sequence<TokenQuotaLedger.Window>) {
        self.add(row: usage.row)
        guard let identity = usage.identity, usage.tokens > 0 else { return }
        for window in quotaWindows {
            let start = Int64(window.bounds(of: usage.finished).start.timeIntervalSince1970)
            self.add(count: QuotaWindowCount(identity: identity, window: window, windowStart: start, tokens: Int64(usage.tokens)))
        }
    }

    public mutating func add(row: UsageRow) {
        let key = row.key
        if let last = self.lastRow, last.key == key {
            self.rows.values[last.index].add(row)
            return
        }
        if let index = self.rows.index(forKey: key) {
            self.rows.values[index].add(row)
            self.lastRow = (key, index)
            return
        }
        self.rows[key] = UsageRow(hour: row.hour, identity: row.identity, model: row.model)
        let index = self.rows.index(forKey: key)!  // just inserted
        self.rows.values[index].add(row)
        self.lastRow = (key, index)
    }

    public mutating func add(count: QuotaWindowCount) {
        let (sum, overflow) = (self.quotaCounts[count.key]?.tokens ?? 0).addingReportingOverflow(count.tokens)
        var merged = count
        merged.tokens = overflow ? .max : sum
        self.quotaCounts[count.key] = merged
    }

    /// Adds everything in `other` (a batch whose write failed) to this one.
    public mutating func merge(_ other: UsageBatch) {
        for row in other.rows.values { self.add(row: row) }
        for count in other.quotaCounts.values { self.add(count: count) }
    }
}
