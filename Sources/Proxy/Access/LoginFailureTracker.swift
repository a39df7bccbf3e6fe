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
final class LoginFailureTracker: Sendable {
    let maxFailures: Int
    let window: TimeAmount
    let lockout: TimeAmount
    let capacity: Int
    private let state = NIOLockedValueBox([FailureCountingKey: Record]())

    private struct Record {
        var failures: [NIODeadline] = []
        var lockedUntil: NIODeadline?
        var lastFailure: NIODeadline
        /// Verifications under way: counted against the limit so that a burst
        /// of parallel guesses cannot all be hashed before the first fails.
        var pending = 0
    }

    /// - Parameter maxFailures: failures within `window` that lock an address out; 0 turns locking off.
    init(maxFailures: Int, window: TimeAmount, lockout: TimeAmount, capacity: Int = 100_000) {
        self.maxFailures = maxFailures
        self.window = window
        self.lockout = lockout
        self.capacity = capacity
    }

    /// How long `address` stays locked out, or nil if it is not.
    func lockedOut(_ address: FailureCountingKey, now: NIODeadline = .now()) -> TimeAmount? {
        guard self.maxFailures > 0 else { return nil }
        return self.state.withLockedValue { records in
            guard let until = records[address]?.lockedUntil else { return nil }
            if until <= now {
                records[address] = nil
                return nil
            }
            return until - now
        }
    }

    /// Records a failure; returns whether it locked the address out.
    @discardableResult
    func recordFailure(_ address: FailureCountingKey, now: NIODeadline = .now()) -> Bool {
        guard self.maxFailures > 0 else { return false }
        return self.state.withLockedValue { records in
            var record = records[address] ?? Record(lastFailure: now)
            return self.add(failureAt: now, to: &record, of: address, in: &records)
        }
    }

    /// Adds a failure to `record` and stores it: locks the address out at
    /// the limit, and keeps the table within ``capacity``.
    private func add(
        failureAt now: NIODeadline, to record: inout Record, of address: FailureCountingKey,
        in records: inout [FailureCountingKey: Record]
    ) -> Bool {
        let window = self.window
        record.failures.removeAll { $0 + window <= now }
        record.failures.append(now)
        record.lastFailure = now
        var locked = false
        if record.failures.count >= self.maxFailures {
            record.lockedUntil = now + self.lockout
            record.failures = []
            locked = true
        }
        records[address] = record
        if records.count > self.capacity {
            // Drop the oldest tenth at once so this is rare.
            let oldest = records.sorted { $0.value.lastFailure < $1.value.lastFailure }.prefix(self.capacity / 10 + 1)
            for (key, _) in oldest where key != address { records[key] = nil }
        }
        return locked
    }

    /// Reserves one verification for `address`; false (hash nothing) when its
    /// failures plus the verifications already under way reach the limit.
    func beginVerification(_ address: FailureCountingKey, now: NIODeadline = .now()) -> Bool {
        guard self.maxFailures > 0 else { return true }
        let (maxFailures, window) = (self.maxFailures, self.window)
        return self.state.withLockedValue { records in
            var record = records[address] ?? Record(lastFailure: now)
            record.failures.removeAll { $0 + window <= now }
            guard record.failures.count + record.pending < maxFailures else { return false }
            record.pending += 1
            records[address] = record
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
        self.state.withLockedValue { records in
            guard var record = records[address] else {
                if failed {
                    var fresh = Record(lastFailure: now)
                    _ = self.add(failureAt: now, to: &fresh, of: address, in: &records)
                }
                return
            }
            record.pending = max(0, record.pending - 1)
            if failed {
                _ = self.add(failureAt: now, to: &record, of: address, in: &records)
                return
            }
            // A verification that succeeded leaves nothing to remember.
            let idle = record.pending == 0 && record.failures.isEmpty && record.lockedUntil == nil
            records[address] = idle ? nil : record
        }
    }

    /// Addresses with failures or a lockout on record.
    var trackedAddresses: Int { self.state.withLockedValue { $0.count } }
}
