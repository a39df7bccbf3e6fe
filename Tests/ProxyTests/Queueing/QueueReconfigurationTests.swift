import Foundation
import Testing
@testable import Proxy

/// The `queue` settings changed while requests wait and run (a reload):
/// nothing is dropped, more slots admit waiting requests at once, fewer
/// let the running finish first, and a reload with a bad value keeps the
/// settings in force and says why.
@Suite struct QueueReconfigurationTests {
    /// Random arrivals, finishes, departures and changes of limits, checked
    /// after every step: no job is lost or started twice; no slot stays idle
    /// while a job waits; the running jobs exceed the slots only when the
    /// slots were lowered under them, and then no job starts until they are
    /// fewer; the queue drains to empty.
    @Test(arguments: 0..<40) func randomChangesOfLimitsLoseNothing(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        var queue = FairQueue<String, Int>(concurrency: 2, totalCapacity: 8, perClientCapacity: 4)
        var running: Set<FairQueue<String, Int>.Ticket> = []
        var waiting: [FairQueue<String, Int>.Ticket: Int] = [:]
        var started = Set<Int>()
        var left = Set<Int>()
        var accepted = Set<Int>()
        func start(_ job: Int, _ ticket: FairQueue<String, Int>.Ticket) {
            #expect(started.insert(job).inserted, "job \(job) started twice")
            waiting[ticket] = nil
            running.insert(ticket)
        }
        for job in 0..<300 {
            switch Int.random(in: 0..<10, using: &random) {
            case 0..<4:
                let client = "c\(Int.random(in: 0..<4, using: &random))"
                switch queue.enqueue(job, for: client) {
                case .start(let job, let ticket): accepted.insert(job); start(job, ticket)
                case .queued(let ticket): accepted.insert(job); waiting[ticket] = job
                case .clientShareFull, .queueFull: break
                }
            case 4..<7:
                guard let ticket = running.randomElement(using: &random) else { continue }
                running.remove(ticket)
                let before = queue.running
                if case .finished(let next?) = queue.end(ticket) {
                    #expect(before - 1 < queue.concurrency, "a job started above the slots")
                    start(next.job, next.ticket)
                }
            case 7:
                guard let (ticket, job) = waiting.randomElement(using: &random) else { continue }
                waiting[ticket] = nil
                if case .leftQueue(let gone) = queue.end(ticket) { left.insert(gone) } else { Issue.record("\(job) did not leave") }
            default:
                let concurrency = Int.random(in: 1...4, using: &random)
                for next in queue.changeLimits(
                    concurrency: concurrency, totalCapacity: Int.random(in: 1...12, using: &random),
                    perClientCapacity: Int.random(in: 1...6, using: &random))
                {
                    start(next.job, next.ticket)
                }
            }
            #expect(queue.running == running.count && queue.waitingCount == waiting.count)
            if queue.running < queue.concurrency { #expect(waiting.isEmpty, "a slot is idle while a job waits") }
        }
        // Drain: end every running job; what waited starts as slots free.
        _ = queue.changeLimits(concurrency: 1, totalCapacity: 1, perClientCapacity: 1)
        while let ticket = running.first {
            running.remove(ticket)
            if case .finished(let next?) = queue.end(ticket) { start(next.job, next.ticket) }
        }
        #expect(waiting.isEmpty && queue.total == 0)
        #expect(started.union(left) == accepted && started.isDisjoint(with: left))
    }

    func configuration(slots: Int, maxPerIdentity: Int = 16) -> UpstreamQueueConfiguration {
        var configuration = UpstreamQueueConfiguration()
        configuration.upstreamSlots = slots
        configuration.maxPerIdentity = maxPerIdentity
        return configuration
    }

    @Test func moreSlotsAdmitWaitingRequestsAndFewerLetTheRunningFinish() throws {
        let queue = UpstreamQueue(configuration: self.configuration(slots: 1))
        let a = try UpstreamQueueForwardingTests.post(as: "key:a", queue: queue)
        let b = try UpstreamQueueForwardingTests.post(as: "key:b", queue: queue)
        #expect(try UpstreamQueueForwardingTests.wentUpstream(a))
        #expect(try !UpstreamQueueForwardingTests.wentUpstream(b), "b should wait for the one slot")

        #expect(queue.reconfigure(self.configuration(slots: 2)))
        #expect(!queue.reconfigure(self.configuration(slots: 2)), "nothing changed")
        #expect(try UpstreamQueueForwardingTests.wentUpstream(b), "a second slot admits b at once")

        // Back to one slot with two running: c waits until both have finished.
        queue.reconfigure(self.configuration(slots: 1))
        let c = try UpstreamQueueForwardingTests.post(as: "key:c", queue: queue)
        #expect(try !UpstreamQueueForwardingTests.wentUpstream(c))
        try UpstreamQueueForwardingTests.finish(a)
        #expect(try !UpstreamQueueForwardingTests.wentUpstream(c), "two ran in one slot: one more must finish")
        try UpstreamQueueForwardingTests.finish(b)
        #expect(try UpstreamQueueForwardingTests.wentUpstream(c))

        // A lower share refuses new requests only; queuing turned off admits whoever waits.
        let d = try UpstreamQueueForwardingTests.post(as: "key:c", queue: queue)
        #expect(try !UpstreamQueueForwardingTests.wentUpstream(d))
        queue.reconfigure(self.configuration(slots: 1, maxPerIdentity: 1))
        let e = try UpstreamQueueForwardingTests.post(as: "key:c", queue: queue)
        #expect(statusCode(of: try e.clientReceived()) == 429)
        queue.reconfigure(self.configuration(slots: 0))
        #expect(!queue.isEnabled)
        #expect(try UpstreamQueueForwardingTests.wentUpstream(d), "with queuing off, d goes at once")
        let f = try UpstreamQueueForwardingTests.post(as: "key:c", queue: queue)
        #expect(try UpstreamQueueForwardingTests.wentUpstream(f))
        for proxy in [c, d, f] { try UpstreamQueueForwardingTests.finish(proxy) }
        #expect(queue.snapshot.slotsInUse == 0)
    }

    /// A running proxy re-reads its configuration file on reload: new queue
    /// settings take effect; a file with a bad queue value changes nothing
    /// and the log line names the setting.
    @Test func aReloadAppliesNewQueueSettingsAndABadValueKeepsThem() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = directory.file("lmgate.yaml")
        func write(_ queue: String) throws {
            try """
            listen: ["127.0.0.1:0"]
            upstreams: ["http://127.0.0.1:9"]
            access_log: false
            state: { path: "off" }
            queue: \(queue)

            """.write(toFile: file, atomically: true, encoding: .utf8)
        }
        try write("{ upstream_slots: 2, max_waiting: 10 }")
        let log = CapturedLog()
        let runtime = try await ProxyRuntime.start(file: file, environment: [:], overrides: [], logger: log.logger())
        #expect(runtime.server.upstreamQueue.configuration.upstreamSlots == 2)

        try write("{ upstream_slots: 5, max_waiting: 20, timeout: 30s }")
        runtime.reload()
        var configuration = runtime.server.upstreamQueue.configuration
        #expect((configuration.upstreamSlots, configuration.maxWaiting, configuration.timeout) == (5, 20, .seconds(30)))
        #expect(log.text.contains("queue.reconfigured"))

        for bad in ["{ upstream_slots: five }", "{ upstream_slots: 3, max_per_identity: 0 }", "{ upstream_slot: 3 }"] {
            try write(bad)
            runtime.reload()
            configuration = runtime.server.upstreamQueue.configuration
            #expect((configuration.upstreamSlots, configuration.maxWaiting) == (5, 20), "\(bad) was applied")
        }
        #expect(log.text.contains("access.reload_failed") && log.text.contains("queue.upstream_slots"))
        #expect(log.text.contains("queue.max_per_identity must be at least 1"))
        await runtime.shutdown()
    }
}
