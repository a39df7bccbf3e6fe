import NIOCore

extension LoginFailureTracker {
    /// Merges what the other replicas counted, as one exchange read it back
    /// (``SharedAccessCounts`` converts it to keys and durations):
    ///
    /// - `failures`: each address's failures on the other replicas within
    ///   the window, after its latest lockout. They replace the previous
    ///   read (an address missing has none left), and count with this
    ///   replica's own against the limit: an address whose sum reaches it
    ///   is locked out here and now.
    /// - `lockouts`: the lockouts in force and how long each still holds.
    ///   An address not locked out here is, from now, and its failures here
    ///   are spent on it, as on the replica that locked it out; one locked
    ///   out here already keeps the later end.
    ///
    /// Pending verifications and this replica's own failures are left as
    /// they are: a success elsewhere clears nothing, as here.
    func mergeShared(failures: [FailureCountingKey: Int], lockouts: [FailureCountingKey: TimeAmount], now: NIODeadline = .now()) {
        guard self.maxFailures > 0 else { return }
        self.state.withLockedValue { table in
            for address in table.remote where failures[address] == nil {
                guard var record = table.records[address] else { continue }
                record.remoteFailures = 0
                table.records[address] = record.isIdle ? nil : record
            }
            table.remote = Set(failures.keys)
            for (address, remaining) in lockouts where remaining > .zero {
                var record = table.records[address] ?? Record(lastFailure: now)
                let until = now + remaining
                if let lockedUntil = record.lockedUntil, lockedUntil > now {
                    record.lockedUntil = max(lockedUntil, until)
                } else {
                    record.lockedUntil = until
                    record.failures = []
                }
                table.records[address] = record
            }
            let window = self.window
            for (address, count) in failures {
                var record = table.records[address] ?? Record(lastFailure: now)
                record.remoteFailures = count
                record.remoteReadAt = now
                record.failures.removeAll { $0 + window <= now }
                let lockedOut = record.lockedUntil.map { $0 > now } ?? false
                if !lockedOut && record.failures.count + count >= self.maxFailures {
                    self.lock(&record, of: address, now: now)
                }
                table.records[address] = record.isIdle ? nil : record
            }
            self.trim(&table, keeping: nil)
        }
    }
}
