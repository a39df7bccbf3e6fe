/// Turns the other replicas' request counts, read back at each exchange,
/// into what to charge this replica's rate-limit buckets with: the requests
/// they admitted since the previous read.
///
/// The store keeps a count per identity, replica and fixed window of the
/// rate's period; an exchange reads the current and the previous window, so
/// that requests admitted just before a window ended are still charged once.
/// What was charged is remembered per window, so a count that grew by two
/// charges two, and a window read again unchanged charges nothing.
struct RemoteRequestCharges: Sendable, Equatable {
    private var charged: [AccessCountBatch.RequestKey: Int64] = [:]

    /// The requests to charge per identity for `counts` (one exchange's
    /// ``AccessCountSnapshot/requests``); windows no longer read are forgotten.
    mutating func charges(for counts: [AccessCountBatch.RequestKey: Int64]) -> [String: Int64] {
        var charges: [String: Int64] = [:]
        for (key, count) in counts {
            let new = count - (self.charged[key] ?? 0)
            if new > 0 { charges[key.identity, default: 0] += new }
        }
        // Keep the larger of the two: a count never goes down, except when its row was pruned.
        var remembered: [AccessCountBatch.RequestKey: Int64] = [:]
        for (key, count) in counts { remembered[key] = max(count, self.charged[key] ?? 0) }
        self.charged = remembered
        return charges
    }
}
