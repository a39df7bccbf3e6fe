import Foundation
import NIOConcurrencyHelpers
import NIOCore
import Testing
@testable import Proxy

/// Shared lockouts and request rates without a database: what the other
/// replicas counted, merged into a replica's ``LoginFailureTracker`` and
/// ``RequestRateLimiter``, and what a replica hands over to be written.
@Suite struct SharedAccessMergeTests {
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000_000)

    func key(_ text: String) -> FailureCountingKey {
        FailureCountingKey(IPAddress(text)!, ipv6PrefixLength: 64)
    }

    @Test func theOtherReplicasFailuresCountTowardTheLimitAndAreReplacedAtEachRead() {
        let tracker = LoginFailureTracker(maxFailures: 5, window: .seconds(60), lockout: .seconds(30))
        let address = self.key("198.51.100.10")
        tracker.mergeShared(failures: [address: 3], lockouts: [:], now: self.start)
        // Read again unchanged: replaced, not added (3, not 6).
        tracker.mergeShared(failures: [address: 3], lockouts: [:], now: self.start + .seconds(1))
        #expect(!tracker.recordFailure(address, now: self.start + .seconds(2)))
        // 3 there + 1 here: one verification left, not two.
        #expect(tracker.beginVerification(address, now: self.start + .seconds(2)))
        #expect(!tracker.beginVerification(address, now: self.start + .seconds(2)))
        tracker.endVerification(address, failed: false, now: self.start + .seconds(2))
        // A success here cleared nothing: the fifth failure locks the address out.
        #expect(tracker.recordFailure(address, now: self.start + .seconds(3)))
        #expect(tracker.lockedOut(address, now: self.start + .seconds(3)) == .seconds(30))

        // Their failures gone from the read (out of their window): only this replica's own count.
        let other = self.key("198.51.100.11")
        tracker.mergeShared(failures: [other: 4], lockouts: [:], now: self.start)
        tracker.mergeShared(failures: [:], lockouts: [:], now: self.start + .seconds(1))
        for second in 2..<6 { #expect(!tracker.recordFailure(other, now: self.start + .seconds(Int64(second)))) }
        #expect(tracker.recordFailure(other, now: self.start + .seconds(6)))
    }

    @Test func aCountReadLongerAgoThanTheWindowIsNotCounted() {
        // The store unreachable since: the count is not refreshed, and must not hold forever.
        let tracker = LoginFailureTracker(maxFailures: 3, window: .seconds(10), lockout: .seconds(30))
        let address = self.key("2001:db8:1:2::7")
        tracker.mergeShared(failures: [address: 2], lockouts: [:], now: self.start)
        // 2 there: one verification left of 3.
        #expect(tracker.beginVerification(address, now: self.start + .seconds(1)))
        #expect(!tracker.beginVerification(address, now: self.start + .seconds(1)))
        tracker.endVerification(address, now: self.start + .seconds(1))
        // Past the window since that read: this replica's failures alone count.
        #expect(!tracker.recordFailure(address, now: self.start + .seconds(11)))
        #expect(!tracker.recordFailure(address, now: self.start + .seconds(12)))
        #expect(tracker.recordFailure(address, now: self.start + .seconds(13)))
    }

    @Test func theSumReachingTheLimitAtAMergeLocksOutAndHandsTheLockoutOver() {
        let shared = SharedAccessCounts(replica: "a")
        let tracker = LoginFailureTracker(maxFailures: 4, window: .seconds(60), lockout: .seconds(20), shared: shared)
        let address = self.key("2001:db8:1:2::7")
        for second in 0..<2 { #expect(!tracker.recordFailure(address, now: self.start + .seconds(Int64(second)))) }
        tracker.mergeShared(failures: [address: 2], lockouts: [:], now: self.start + .seconds(2))
        #expect(tracker.lockedOut(address, now: self.start + .seconds(2)) == .seconds(20))
        let written = shared.unwritten
        // Stored per network (the /64), as the audit log names it; the failures and the lockout.
        #expect(Set(written.failures.keys.map(\.address)) == ["2001:db8:1:2::"])
        #expect(written.failures.values.reduce(0, +) == 2)
        #expect(written.lockouts.keys.sorted() == ["2001:db8:1:2::"])
        let lockout = written.lockouts["2001:db8:1:2::"]!
        #expect(lockout.lockedUntil - lockout.lockedAt == 20_000)
    }

    @Test func aLockoutMadeElsewhereHoldsHereAndSpendsTheFailuresCountedHere() {
        let tracker = LoginFailureTracker(maxFailures: 3, window: .seconds(300), lockout: .seconds(30))
        let address = self.key("203.0.113.5")
        #expect(!tracker.recordFailure(address, now: self.start))
        #expect(!tracker.recordFailure(address, now: self.start))
        tracker.mergeShared(failures: [:], lockouts: [address: .seconds(25)], now: self.start + .seconds(1))
        #expect(tracker.lockedOut(address, now: self.start + .seconds(1)) == .seconds(25))
        // Read again while it holds: the later end is kept, failures are not cleared again.
        tracker.mergeShared(failures: [:], lockouts: [address: .seconds(10)], now: self.start + .seconds(2))
        #expect(tracker.lockedOut(address, now: self.start + .seconds(2)) == .seconds(24))
        // Over: the two failures before it were spent on it.
        let after = self.start + .seconds(27)
        #expect(tracker.lockedOut(address, now: after) == nil)
        #expect(!tracker.recordFailure(address, now: after))
        #expect(!tracker.recordFailure(address, now: after))
        #expect(tracker.recordFailure(address, now: after))
    }

    @Test func mergedAddressesStayWithinTheTablesBound() {
        let tracker = LoginFailureTracker(maxFailures: 5, window: .seconds(60), lockout: .seconds(30), capacity: 50)
        var failures: [FailureCountingKey: Int] = [:]
        for host in 1...200 { failures[self.key("10.0.\(host / 256).\(host % 256)")] = 1 }
        tracker.mergeShared(failures: failures, lockouts: [:], now: self.start)
        #expect(tracker.trackedAddresses <= 50)
        // Read back empty: nothing left to remember.
        tracker.mergeShared(failures: [:], lockouts: [:], now: self.start + .seconds(1))
        #expect(tracker.trackedAddresses == 0)
    }

    @Test func theOtherReplicasRequestsAreChargedOnceEach() {
        var charges = RemoteRequestCharges()
        let minute = AccessCountBatch.RequestKey(identity: "key:a", period: 60, windowStart: 600)
        let next = AccessCountBatch.RequestKey(identity: "key:a", period: 60, windowStart: 660)
        let other = AccessCountBatch.RequestKey(identity: "key:b", period: 60, windowStart: 660)
        #expect(charges.charges(for: [minute: 3]) == ["key:a": 3])
        #expect(charges.charges(for: [minute: 3]) == [:])
        // The old window grew just before it ended, and the new one began: both charged.
        #expect(charges.charges(for: [minute: 5, next: 1, other: 2]) == ["key:a": 3, "key:b": 2])
        #expect(charges.charges(for: [next: 4, other: 2]) == ["key:a": 3])
    }

    @Test func chargedRequestsComeOutOfTheBucketDownToMinusOneBurst() {
        let shared = SharedAccessCounts(replica: "a")
        let limiter = RequestRateLimiter(perSecond: 1, burst: 60, shared: shared)
        #expect(limiter.period == 60)
        limiter.charge(["key:a": 58], now: self.start)
        #expect(limiter.take("key:a", now: self.start) == nil)
        #expect(limiter.take("key:a", now: self.start) == nil)
        #expect(limiter.take("key:a", now: self.start) == .seconds(1))
        // Only admitted requests are handed over: two, in the current minute's window.
        #expect(shared.unwritten.requests.values.reduce(0, +) == 2)
        #expect(shared.unwritten.requests.keys.allSatisfy { $0.identity == "key:a" && $0.period == 60 && $0.windowStart % 60 == 0 })
        // Far more than a burst admitted elsewhere: the wait is at most a period and one request's interval.
        limiter.charge(["key:b": 1000], now: self.start)
        #expect(limiter.take("key:b", now: self.start) == .seconds(61))
    }

    @Test func aBatchAddsMergesAndStaysBounded() {
        let date = Date(timeIntervalSince1970: 1_000_000.7)
        var batch = AccessCountBatch()
        batch.addFailure(of: "198.51.100.1", at: date)
        batch.addFailure(of: "198.51.100.1", at: date)
        batch.addLockout(of: "198.51.100.1", at: date, for: .seconds(30))
        batch.addRequest(of: "key:a", period: 3600, at: date)
        #expect(batch.failures == [.init(address: "198.51.100.1", second: 1_000_000): 2])
        #expect(batch.lockouts["198.51.100.1"] == .init(lockedAt: 1_000_000_700, lockedUntil: 1_000_030_700))
        #expect(batch.requests == [.init(identity: "key:a", period: 3600, windowStart: 997_200): 1])
        var other = AccessCountBatch()
        other.addLockout(of: "198.51.100.1", at: date, for: .seconds(60))
        other.addFailure(of: "198.51.100.1", at: date)
        batch.merge(other)
        #expect(batch.failures.values.reduce(0, +) == 3)
        #expect(batch.lockouts["198.51.100.1"]?.lockedUntil == 1_000_060_700)
        var full = AccessCountBatch()
        for index in 0..<(AccessCountBatch.capacity + 10) { full.addRequest(of: "key:\(index)", period: 60, at: date) }
        #expect(full.requests.count == AccessCountBatch.capacity)
    }

    @Test func anExchangeThatFailsKeepsTheCountsAndOneThatWorksMergesTheReadBack() async {
        let shared = SharedAccessCounts(replica: "a")
        let tracker = LoginFailureTracker(maxFailures: 3, window: .seconds(60), lockout: .seconds(30), shared: shared)
        let limiter = RequestRateLimiter(perSecond: 1, burst: 60, shared: shared)
        shared.attach { .init(failures: tracker, rateLimiter: limiter) }
        let address = self.key("198.51.100.20")
        tracker.recordFailure(address)
        #expect(limiter.take("key:a") == nil)
        let store = ScriptedAccessStore()
        store.next = .failure(UsageStoreError(description: "down", isUnreachable: true))
        let now = Date()
        #expect(await shared.exchange(with: store, now: now)?.isUnreachable == true)
        #expect(shared.unwritten.failures.values.reduce(0, +) == 1)
        #expect(shared.unwritten.requests.values.reduce(0, +) == 1)

        let until = AccessCountBatch.milliseconds(now) + 15_000
        store.next = .success(
            AccessCountSnapshot(
                failures: ["198.51.100.21": 2, "not an address": 9],
                lockouts: ["198.51.100.22": .init(lockedAt: 0, lockedUntil: until)]))
        #expect(await shared.exchange(with: store, now: now) == nil)
        #expect(shared.unwritten.isEmpty)
        #expect(store.received.last?.failures.values.reduce(0, +) == 1)
        #expect(store.received.last?.requests.values.reduce(0, +) == 1)
        #expect(store.queries.last == AccessCountQuery(failureWindow: 60, requestPeriod: 60, limit: tracker.capacity))
        #expect(tracker.recordFailure(self.key("198.51.100.21")))
        let wait = tracker.lockedOut(self.key("198.51.100.22"))
        #expect(wait != nil && wait! <= .seconds(15) && wait! > .seconds(14))
    }
}

/// A ``SharedAccessStore`` that answers what the test scripts and remembers what it was given.
private final class ScriptedAccessStore: SharedAccessStore {
    private let state = NIOLockedValueBox(
        (next: Result<AccessCountSnapshot, UsageStoreError>.success(AccessCountSnapshot()), received: [AccessCountBatch](),
         queries: [AccessCountQuery]()))

    var next: Result<AccessCountSnapshot, UsageStoreError> {
        get { self.state.withLockedValue { $0.next } }
        set { self.state.withLockedValue { $0.next = newValue } }
    }
    var received: [AccessCountBatch] { self.state.withLockedValue { $0.received } }
    var queries: [AccessCountQuery] { self.state.withLockedValue { $0.queries } }

    func exchange(
        _ batch: AccessCountBatch, replica: String, query: AccessCountQuery, now: Date
    ) async throws(UsageStoreError) -> AccessCountSnapshot {
        let next = self.state.withLockedValue { state in
            state.received.append(batch)
            state.queries.append(query)
            return state.next
        }
        return try next.get()
    }
}
