import NIOConcurrencyHelpers
import NIOCore

/// Counts failed authentications per client address and locks an address
/// out for a while once it has failed too often: the brute-force defence.
///
/// While an address is locked out its requests are answered 429 before any
/// credential is looked at, so a locked-out attacker costs no hashing at all.
/// Failures older than ``window`` are forgotten; a success clears the count.
/// Bounded: past ``capacity`` addresses, the least recently failed are dropped.
final class LoginFailureTracker: Sendable {
    let maxFailures: Int
    let window: TimeAmount
    let lockout: TimeAmount
    let capacity: Int
    private let state = NIOLockedValueBox([IPAddress: Record]())

    private struct Record {
        var failures: [NIODeadline] = []
        var lockedUntil: NIODeadline?
        var lastFailure: NIODeadline
    }

    /// - Parameter maxFailures: failures within `window` that lock an address out; 0 turns locking off.
    init(maxFailures: Int, window: TimeAmount, lockout: TimeAmount, capacity: Int = 100_000) {
        self.maxFailures = maxFailures
        self.window = window
        self.lockout = lockout
        self.capacity = capacity
    }

    /// How long `address` stays locked out, or nil if it is not.
    func lockedOut(_ address: IPAddress, now: NIODeadline = .now()) -> TimeAmount? {
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
    func recordFailure(_ address: IPAddress, now: NIODeadline = .now()) -> Bool {
        guard self.maxFailures > 0 else { return false }
        let (maxFailures, window, lockout, capacity) = (self.maxFailures, self.window, self.lockout, self.capacity)
        return self.state.withLockedValue { records in
            var record = records[address] ?? Record(lastFailure: now)
            record.failures.removeAll { $0 + window <= now }
            record.failures.append(now)
            record.lastFailure = now
            var locked = false
            if record.failures.count >= maxFailures {
                record.lockedUntil = now + lockout
                record.failures = []
                locked = true
            }
            records[address] = record
            if records.count > capacity {
                // Drop the oldest tenth at once so this is rare.
                let oldest = records.sorted { $0.value.lastFailure < $1.value.lastFailure }.prefix(capacity / 10 + 1)
                for (key, _) in oldest where key != address { records[key] = nil }
            }
            return locked
        }
    }

    /// Forgets the failures of an address that authenticated.
    func recordSuccess(_ address: IPAddress) {
        guard self.maxFailures > 0 else { return }
        self.state.withLockedValue { records in
            if records[address]?.lockedUntil == nil { records[address] = nil }
        }
    }

    /// Addresses with failures or a lockout on record.
    var trackedAddresses: Int { self.state.withLockedValue { $0.count } }
}
