import Foundation

/// A store that several proxies share login failures, lockouts and admitted
/// requests through (``PostgresUsageStore``), so that they enforce the same
/// lockouts (`auth.lockout_*`) and request rates (`auth.rate_limit`).
///
/// ``SharedAccessCounts`` is the only caller: once per synchronization it
/// hands over what this replica counted since the last exchange and reads
/// back what the others counted, in one call.
public protocol SharedAccessStore: Sendable {
    /// Adds `batch` (this `replica`'s counts) and returns the other replicas'
    /// counts that `query` asks for, as they stand at `now`.
    func exchange(
        _ batch: AccessCountBatch, replica: String, query: AccessCountQuery, now: Date
    ) async throws(UsageStoreError) -> AccessCountSnapshot
}

/// What one replica counted for the shared lockouts and rate limits and has
/// not written yet. Addresses are ``FailureCountingKey`` descriptions (what
/// the audit log records); never a credential.
public struct AccessCountBatch: Sendable, Equatable {
    /// Failures of one address within one second (seconds since 1970).
    public struct FailureKey: Hashable, Sendable {
        public var address: String
        public var second: Int64

        public init(address: String, second: Int64) {
            self.address = address
            self.second = second
        }
    }

    /// A lockout, in milliseconds since 1970: when it was made, and until when it holds.
    public struct Lockout: Sendable, Equatable {
        public var lockedAt: Int64
        public var lockedUntil: Int64

        public init(lockedAt: Int64, lockedUntil: Int64) {
            self.lockedAt = lockedAt
            self.lockedUntil = lockedUntil
        }
    }

    /// Requests admitted for one identity in one fixed window of the rate's
    /// period (both in seconds; the window starts at a multiple of the period).
    public struct RequestKey: Hashable, Sendable {
        public var identity: String
        public var period: Int64
        public var windowStart: Int64

        public init(identity: String, period: Int64, windowStart: Int64) {
            self.identity = identity
            self.period = period
            self.windowStart = windowStart
        }
    }

    public var failures: [FailureKey: Int64] = [:]
    public var lockouts: [String: Lockout] = [:]
    public var requests: [RequestKey: Int64] = [:]

    /// The most keys of each kind a batch holds: while the store is
    /// unreachable new keys past it are not kept for the store (the local
    /// tracker and limiter still count them), so an outage under attack
    /// from many addresses cannot grow memory without bound.
    public static let capacity = 100_000

    public init() {}

    public var isEmpty: Bool { self.failures.isEmpty && self.lockouts.isEmpty && self.requests.isEmpty }

    /// Counts one failure of `address` at `date`.
    public mutating func addFailure(of address: String, at date: Date) {
        let key = FailureKey(address: address, second: Self.seconds(date))
        guard self.failures[key] != nil || self.failures.count < Self.capacity else { return }
        self.failures[key, default: 0] += 1
    }

    /// Records a lockout of `address` made at `date` for `duration`; a longer one already recorded is kept.
    public mutating func addLockout(of address: String, at date: Date, for duration: Duration) {
        let lockedAt = Self.milliseconds(date)
        let lockout = Lockout(lockedAt: lockedAt, lockedUntil: lockedAt + Self.milliseconds(duration))
        guard self.lockouts[address] != nil || self.lockouts.count < Self.capacity else { return }
        self.lockouts[address] = Self.later(self.lockouts[address], lockout)
    }

    /// Counts one request admitted for `identity` at `date`, in the window of `period` seconds holding it.
    public mutating func addRequest(of identity: String, period: Int64, at date: Date) {
        let period = max(1, period)
        let second = Self.seconds(date)
        let key = RequestKey(identity: identity, period: period, windowStart: second - second % period)
        guard self.requests[key] != nil || self.requests.count < Self.capacity else { return }
        self.requests[key, default: 0] += 1
    }

    /// Adds `other` (a batch the store did not take) to this one.
    public mutating func merge(_ other: AccessCountBatch) {
        for (key, count) in other.failures { self.failures[key, default: 0] += count }
        for (address, lockout) in other.lockouts { self.lockouts[address] = Self.later(self.lockouts[address], lockout) }
        for (key, count) in other.requests { self.requests[key, default: 0] += count }
    }

    private static func later(_ one: Lockout?, _ other: Lockout) -> Lockout {
        guard let one else { return other }
        return Lockout(lockedAt: max(one.lockedAt, other.lockedAt), lockedUntil: max(one.lockedUntil, other.lockedUntil))
    }

    /// `date` in whole seconds since 1970, as the store's rows hold it.
    public static func seconds(_ date: Date) -> Int64 { Int64(date.timeIntervalSince1970.rounded(.down)) }

    /// `date` in whole milliseconds since 1970, as the store's lockouts hold it.
    public static func milliseconds(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded(.down)) }

    static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }
}

/// Which of the other replicas' counts an exchange reads back.
public struct AccessCountQuery: Sendable, Equatable {
    /// `auth.lockout_window` in seconds: failures older than this are not
    /// read (nor kept); `nil` when lockouts are off.
    public var failureWindow: Int64?
    /// The rate limit's period in seconds (`auth.rate_limit` N/s, /m, /h);
    /// `nil` when there is none.
    public var requestPeriod: Int64?
    /// The most addresses (and lockouts) read back: the local tracker's bound.
    public var limit: Int

    public init(failureWindow: Int64?, requestPeriod: Int64?, limit: Int) {
        self.failureWindow = failureWindow
        self.requestPeriod = requestPeriod
        self.limit = limit
    }
}

/// What the other replicas counted, as one exchange read it back.
public struct AccessCountSnapshot: Sendable, Equatable {
    /// Per address, the other replicas' failures within the failure window
    /// that came after the address's latest lockout (those before it were
    /// spent on it).
    public var failures: [String: Int64]
    /// The lockouts in force, whichever replica made them (this one's included).
    public var lockouts: [String: AccessCountBatch.Lockout]
    /// The other replicas' admitted requests in the current and the previous
    /// window of the query's period.
    public var requests: [AccessCountBatch.RequestKey: Int64]

    public init(
        failures: [String: Int64] = [:], lockouts: [String: AccessCountBatch.Lockout] = [:],
        requests: [AccessCountBatch.RequestKey: Int64] = [:]
    ) {
        self.failures = failures
        self.lockouts = lockouts
        self.requests = requests
    }
}
