import NIOConcurrencyHelpers
import NIOPosix
import Testing
@testable import Proxy

#if canImport(Glibc)
import Glibc
#endif

/// The order password hashes run in: an address flooding guesses delays
/// only itself.
@Suite struct FairHashQueueTests {
    private let flooder = FailureCountingKey(IPAddress("198.51.100.66")!, ipv6PrefixLength: 64)
    private let other = FailureCountingKey(IPAddress("192.0.2.7")!, ipv6PrefixLength: 64)
    private let third = FailureCountingKey(IPAddress("2001:db8::1")!, ipv6PrefixLength: 64)

    @Test func aSecondAddressIsServedAfterAtMostOneOfTheFloodersHashes() {
        var queue = FairHashQueue<String>(concurrency: 1, totalCapacity: 256, perClientCapacity: 16)
        guard case .start("F0") = queue.enqueue("F0", for: self.flooder) else { Issue.record("the first job runs at once"); return }
        for index in 1..<16 {
            guard case .queued = queue.enqueue("F\(index)", for: self.flooder) else { Issue.record("F\(index) waits"); return }
        }
        guard case .queued = queue.enqueue("B0", for: self.other) else { Issue.record("B0 waits"); return }
        // The flooder's running hash finishes: the other address is next, not F1…F15.
        #expect(queue.finished(for: self.flooder)?.job == "B0")
        var order: [String] = []
        var last = self.other
        while let next = queue.finished(for: last) {
            order.append(next.job)
            last = next.client
        }
        #expect(order == (1..<16).map { "F\($0)" })
        #expect(queue.running == 0 && queue.total == 0)
    }

    @Test func clientsTakeTurns() {
        var queue = FairHashQueue<String>(concurrency: 1, totalCapacity: 256, perClientCapacity: 16)
        _ = queue.enqueue("F0", for: self.flooder)
        for index in 1..<4 { _ = queue.enqueue("F\(index)", for: self.flooder) }
        for index in 0..<3 { _ = queue.enqueue("B\(index)", for: self.other) }
        _ = queue.enqueue("C0", for: self.third)
        var order: [String] = []
        var last = self.flooder
        while let next = queue.finished(for: last) {
            order.append(next.job)
            last = next.client
        }
        #expect(order == ["B0", "C0", "F1", "B1", "F2", "B2", "F3"])
    }

    @Test func theQueueAndEachClientsShareAreBounded() {
        var queue = FairHashQueue<Int>(concurrency: 2, totalCapacity: 5, perClientCapacity: 3)
        for index in 0..<3 { _ = queue.enqueue(index, for: self.flooder) }
        guard case .clientShareFull = queue.enqueue(3, for: self.flooder) else { Issue.record("share not bounded"); return }
        _ = queue.enqueue(10, for: self.other)
        _ = queue.enqueue(20, for: self.third)
        guard case .queueFull = queue.enqueue(11, for: self.other) else { Issue.record("total not bounded"); return }
        #expect(queue.total == 5 && queue.running == 2)
        // A finished hash frees its client's share.
        _ = queue.finished(for: self.flooder)
        guard case .queued = queue.enqueue(4, for: self.flooder) else { Issue.record("share not freed"); return }
    }

    /// Through a real thread pool of one thread: the other address's hash
    /// runs second, although fifteen of the flooder's were queued first
    /// (the pool alone, first come first served, would run it last).
    @Test func theSchedulerRunsHashesInTheFairOrder() async throws {
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        let scheduler = PasswordHashScheduler(threadPool: pool, concurrency: 1, totalCapacity: 256, perClientCapacity: 16)
        let order = NIOLockedValueBox<[String]>([])
        let gate = ConditionLock(value: 0)
        #expect(scheduler.submit(for: self.flooder) { _ in
            gate.lock(whenValue: 1)  // holds the only slot until everything is queued
            gate.unlock()
            order.withLockedValue { $0.append("F0") }
        })
        for index in 1..<16 {
            #expect(scheduler.submit(for: self.flooder) { _ in order.withLockedValue { $0.append("F\(index)") } })
        }
        #expect(!scheduler.submit(for: self.flooder) { _ in order.withLockedValue { $0.append("refused") } })
        #expect(scheduler.submit(for: self.other) { _ in order.withLockedValue { $0.append("B0") } })
        gate.lock()
        gate.unlock(withValue: 1)
        #expect(await eventually { scheduler.pendingCount == 0 })
        #expect(order.withLockedValue { $0 } == ["F0", "B0"] + (1..<16).map { "F\($0)" })
        try await pool.shutdownGracefully()
    }
}
