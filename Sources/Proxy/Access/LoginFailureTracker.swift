import NIOConcurrencyHelpers
import NIOCore

/// Counts failed authentications per client address (IPv6 per network, see
/// ``FailureCountingKey``) and locks an address out for a while once it has
/// failed too often: the brute-force defence.
///
/// While an address is locked out its requests are answered 429 before any
/// credential is looked at, so a locked-out attacker costs no hashing at all.
/// Failures older than ``window`` are forgotten, and nothing else forgets
/// them: a success does not clear the count, or anyone holding one valid
/// credential (an inference key) could guess other users' passwords forever
/// by mixing one good request into every few bad ones.
/// Bounded: past ``capacity`` addresses, the least recently failed are dropped.
///
/// With ``shared`` (several replicas sharing PostgreSQL), every failure and
/// lockout made here is also handed to it, and ``mergeShared(failures:lockouts:now:)``
/// adds what the other replicas counted (LoginFailureTracker+Sharing.swift).
final class LoginFailureTracker: Sendable {
    let maxFailures: Int
    let window: TimeAmount
    let lockout: TimeAmount
    let capacity: Int
    /// Where failures and lockouts go to reach the other replicas; `nil` when alone.
    let shared: SharedAccessCounts?
    let state = NIOLockedValueBox(Table())

    struct Table {
        var records: [FailureCountingKey: Record] = [:]
        /// The addresses whose ``Record/remoteFailures`` the last merge set.
        var remote: Set<FailureCountingKey> = []
    }

    struct Record {
        var failures: [NIODeadline] = []
        var lockedUntil: NIODeadline?
        var lastFailure: NIODeadline
        /// Verifications under way: counted against the limit so that a burst
        /// of parallel guesses cannot all be hashed before the first fails.
        var pending = 0
        /// The other replicas' failures within the window, as last read back
        /// (at ``remoteReadAt``); replaced at each merge, not counted down.
        var remoteFailures = 0
        var remoteReadAt: NIODeadline?
    }

    /// - Parameter maxFailures: failures within `window` that lock an address out; 0 turns locking off.
    init(maxFailures: Int, window: TimeAmount, lockout: TimeAmount, capacity: Int = 100_000, shared: SharedAccessCounts? = nil) {
        self.maxFailures = maxFailures
        self.window = window
        self.lockout = lockout
        self.capacity = capacity
        self.shared = shared
    }

    /// How long `address` stays locked out, or nil if it is not.
    func lockedOut(_ address: FailureCountingKey, now: NIODeadline = .now()) -> TimeAmount? {
        guard self.maxFailures > 0 else { return nil }
        return self.state.withLockedValue { table in
            guard let until = table.records[address]?.lockedUntil else { return nil }
            if until <= now {
                table.records[address] = nil
                return nil
            }
            return until - now
        }
    }

    /// Records a failure; returns whether it locked the address out.
    @discardableResult
    func recordFailure(_ address: FailureCountingKey, now: NIODeadline = .now()) -> Bool {
        guard self.maxFailures > 0 else { return false }
        return self.state.withLockedValue { table in
            var record = table.records[address] ?? Record(lastFailure: now)
            return self.add(failureAt: now, to: &record, of: address, in: &table)
        }
    }

    /// Adds a failure to `record` and stores it: locks the address out when
    /// its failures here and on the other replicas reach the limit, and
    /// keeps the table within ``capacity``.
    private func add(
        failureAt now: NIODeadline, to record: inout Record, of address: FailureCountingKey, in table: inout Table
    ) -> Bool {
        let window = self.window
        record.failures.removeAll { $0 + window <= now }
        record.failures.append(now)
        record.lastFailure = now
        self.shared?.recordFailure(of: address.description)
        let locked = record.failures.count + self.remoteFailures(of: record, now: now) >= self.maxFailures
        if locked { self.lock(&record, of: address, now: now) }
        table.records[address] = record
        self.trim(&table, keeping: address)
        return locked
    }

    /// Locks `record` out from `now`; its failures are spent on the lockout (here and, once written, on every replica).
    func lock(_ record: inout Record, of address: FailureCountingKey, now: NIODeadline) {
        record.lockedUntil = now + self.lockout
        record.failures = []
        record.remoteFailures = 0
        self.shared?.recordLockout(of: address.description, for: .nanoseconds(self.lockout.nanoseconds))
    }

    /// The other replicas' failures of `record` still within the window: a
    /// count read longer ago than the window (the store unreachable since) is stale.
    func remoteFailures(of record: Record, now: NIODeadline) -> Int {
        guard let readAt = record.remoteReadAt, readAt + self.window > now else { return 0 }
        return record.remoteFailures
    }

    /// Keeps the table within ``capacity``: drops the excess and the oldest tenth at once so this is rare
    /// (a merge may add many addresses at once).
    func trim(_ table: inout Table, keeping address: FailureCountingKey?) {
        guard table.records.count > self.capacity else { return }
        let excess = table.records.count - self.capacity + self.capacity / 10
        let oldest = table.records.sorted { $0.value.lastFailure < $1.value.lastFailure }.prefix(excess)
        for (key, _) in oldest where key != address {
            table.records[key] = nil
            table.remote.remove(key)
        }
    }

    /// Reserves one verification for `address`; false (hash nothing) when its
    /// failures (here and on the other replicas) plus the verifications
    /// already under way reach the limit.
    func beginVerification(_ address: FailureCountingKey, now: NIODeadline = .now()) -> Bool {
        guard self.maxFailures > 0 else { return true }
        let (maxFailures, window) = (self.maxFailures, self.window)
        return self.state.withLockedValue { table in
            var record = table.records[address] ?? Record(lastFailure: now)
            record.failures.removeAll { $0 + window <= now }
            guard record.failures.count + self.remoteFailures(of: record, now: now) + record.pending < maxFailures else {
                return false
            }
            record.pending += 1
            table.records[address] = record
            return true
        }
    }

    /// Ends a verification reserved with ``beginVerification(_:now:)``,
    /// recording its failure in the same step when it `failed`.
    ///
    /// One step, not a ``recordFailure(_:now:)`` and then the end: in
    /// between, the failure would be counted twice (as a failure and as a
    /// verification under way) and a parallel guess the limit still allows
    /// refused; the other order would count it nowhere for a moment.
    func endVerification(_ address: FailureCountingKey, failed: Bool = false, now: NIODeadline = .now()) {
        guard self.maxFailures > 0 else { return }
        self.state.withLockedValue { table in
            guard var record = table.records[address] else {
                if failed {
                    var fresh = Record(lastFailure: now)
                    _ = self.add(failureAt: now, to: &fresh, of: address, in: &table)
                }
                return
            }
            record.pending = max(0, record.pending - 1)
            if failed {
                _ = self.add(failureAt: now, to: &record, of: address, in: &table)
                return
            }
            // A verification that succeeded leaves nothing to remember.
            table.records[address] = record.isIdle ? nil : record
        }
    }

    /// Addresses with failures or a lockout on record.
    var trackedAddresses: Int { self.state.withLockedValue { $0.records.count } }
}

extension LoginFailureTracker.Record {
    /// Nothing to remember: no failure, lockout or verification here, and no other replica's failures.
    var isIdle: Bool { self.pending == 0 && self.failures.isEmpty && self.lockedUntil == nil && self.remoteFailures == 0 }
}
