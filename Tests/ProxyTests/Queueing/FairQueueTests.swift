import NIOConcurrencyHelpers
import NIOPosix
import Testing
@testable import Proxy

#if canImport(Glibc)
import Glibc
#endif

/// The order a ``FairQueue`` hands out slots in: a client with many jobs
/// queued delays only itself, higher priorities go first, and no job is
/// lost or run twice, whatever arrives and leaves in whatever order.
@Suite struct FairQueueTests {
    private let flooder = FailureCountingKey(IPAddress("198.51.100.66")!, ipv6PrefixLength: 64)
    private let other = FailureCountingKey(IPAddress("192.0.2.7")!, ipv6PrefixLength: 64)
    private let third = FailureCountingKey(IPAddress("2001:db8::1")!, ipv6PrefixLength: 64)

    typealias Queue = FairQueue<FailureCountingKey, String>

    /// Ends `ticket` and each job started in its slot, in turn, until none
    /// waits; returns the jobs in the order they started.
    private func drain(_ queue: inout Queue, from ticket: Queue.Ticket) -> [String] {
        var order: [String] = []
        var running = ticket
        while case .finished(let next?) = queue.end(running) {
            order.append(next.job)
            running = next.ticket
        }
        return order
    }

    private func started(_ admission: Queue.Admission) -> Queue.Ticket? {
        if case .start(_, let ticket) = admission { return ticket }
        return nil
    }

    private func queued(_ admission: Queue.Admission) -> Queue.Ticket? {
        if case .queued(let ticket) = admission { return ticket }
        return nil
    }

    @Test func aSecondClientIsServedAfterAtMostOneOfTheFloodersJobs() throws {
        var queue = Queue(concurrency: 1, totalCapacity: 256, perClientCapacity: 16)
        let first = try #require(self.started(queue.enqueue("F0", for: self.flooder)), "the first job runs at once")
        for index in 1..<16 {
            #expect(self.queued(queue.enqueue("F\(index)", for: self.flooder)) != nil, "F\(index) waits")
        }
        #expect(self.queued(queue.enqueue("B0", for: self.other)) != nil)
        // The flooder's running job finishes: the other client is next, not F1…F15.
        #expect(self.drain(&queue, from: first) == ["B0"] + (1..<16).map { "F\($0)" })
        #expect(queue.running == 0 && queue.total == 0)
    }

    @Test func clientsTakeTurns() throws {
        var queue = Queue(concurrency: 1, totalCapacity: 256, perClientCapacity: 16)
        let first = try #require(self.started(queue.enqueue("F0", for: self.flooder)))
        for index in 1..<4 { _ = queue.enqueue("F\(index)", for: self.flooder) }
        for index in 0..<3 { _ = queue.enqueue("B\(index)", for: self.other) }
        _ = queue.enqueue("C0", for: self.third)
        #expect(self.drain(&queue, from: first) == ["B0", "C0", "F1", "B1", "F2", "B2", "F3"])
    }

    @Test func higherPrioritiesGoFirstAndTakeTurnsAmongThemselves() throws {
        var queue = Queue(concurrency: 1, totalCapacity: 256, perClientCapacity: 16)
        let first = try #require(self.started(queue.enqueue("L0", for: self.flooder, priority: .low)))
        for index in 1..<3 { _ = queue.enqueue("L\(index)", for: self.flooder, priority: .low) }
        for index in 0..<2 { _ = queue.enqueue("N\(index)", for: self.other) }
        for index in 0..<2 { _ = queue.enqueue("H\(index)", for: self.third, priority: .high) }
        #expect(queue.waitingByPriority == [.low: 2, .normal: 2, .high: 2])
        #expect(self.drain(&queue, from: first) == ["H0", "H1", "N0", "N1", "L1", "L2"])
    }

    @Test func theQueueAndEachClientsShareAreBounded() throws {
        var queue = FairQueue<FailureCountingKey, Int>(concurrency: 2, totalCapacity: 5, perClientCapacity: 3)
        var tickets: [FairQueue<FailureCountingKey, Int>.Ticket] = []
        for index in 0..<3 {
            switch queue.enqueue(index, for: self.flooder) {
            case .start(_, let ticket), .queued(let ticket): tickets.append(ticket)
            default: Issue.record("job \(index) refused")
            }
        }
        guard case .clientShareFull = queue.enqueue(3, for: self.flooder) else { Issue.record("share not bounded"); return }
        _ = queue.enqueue(10, for: self.other)
        _ = queue.enqueue(20, for: self.third)
        guard case .queueFull = queue.enqueue(11, for: self.other) else { Issue.record("total not bounded"); return }
        #expect(queue.total == 5 && queue.running == 2)
        // A finished job frees its client's share.
        _ = queue.end(tickets[0])
        guard case .queued = queue.enqueue(4, for: self.flooder) else { Issue.record("share not freed"); return }
    }

    @Test func aWaitingJobLeavesTheQueueAtOnceAndEndingTwiceDoesNothing() throws {
        var queue = Queue(concurrency: 1, totalCapacity: 8, perClientCapacity: 8)
        let first = try #require(self.started(queue.enqueue("F0", for: self.flooder)))
        let leaving = try #require(self.queued(queue.enqueue("F1", for: self.flooder)))
        _ = queue.enqueue("B0", for: self.other)
        guard case .leftQueue("F1") = queue.end(leaving) else { Issue.record("F1 did not leave"); return }
        #expect(queue.waitingCount == 1 && queue.held(by: self.flooder) == 1)
        guard case .unknown = queue.end(leaving) else { Issue.record("a second end did something"); return }
        #expect(self.drain(&queue, from: first) == ["B0"])
        guard case .unknown = queue.end(first) else { Issue.record("a finished ticket ended again"); return }
        #expect(queue.total == 0)
    }

    /// Random arrivals, finishes and departures (clients giving up, tickets
    /// ended twice) against what must hold after every step:
    /// - no job is lost or runs twice: each accepted job runs once, or
    ///   leaves the queue once, and the queue drains to empty;
    /// - slots: at most `concurrency` run, and none is idle while a job waits;
    /// - bounds: a refusal only when the client's share or the queue is full;
    /// - order: a client's jobs start first in, first out; a job starts only
    ///   when no waiting client has a higher priority; and while a client
    ///   waits, another of its priority starts at most one job (unless it
    ///   held nothing in between, which makes it new).
    @Test(arguments: 0..<60) func randomArrivalsAndDeparturesKeepEveryInvariant(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        let clients = (0..<Int.random(in: 2...6, using: &random)).map { "c\($0)" }
        let priority = Dictionary(uniqueKeysWithValues: clients.map { ($0, QueuePriority.allCases.randomElement(using: &random)!) })
        let concurrency = Int.random(in: 1...3, using: &random)
        var queue = FairQueue<String, Int>(
            concurrency: concurrency, totalCapacity: Int.random(in: concurrency...24, using: &random),
            perClientCapacity: Int.random(in: 1...8, using: &random))

        var jobOf: [FairQueue<String, Int>.Ticket: (job: Int, client: String)] = [:]
        var waiting: [String: [FairQueue<String, Int>.Ticket]] = [:]  // per client, first in first
        var running: Set<FairQueue<String, Int>.Ticket> = []
        var ended: [FairQueue<String, Int>.Ticket] = []
        var startedJobs = Set<Int>()
        var leftJobs = Set<Int>()
        var accepted = 0
        /// For each waiting client: the clients of its priority that started a job since its first job began waiting.
        var overtakers: [String: Set<String>] = [:]

        func held(_ client: String) -> Int { (waiting[client]?.count ?? 0) + running.count { jobOf[$0]!.client == client } }

        func started(_ ticket: FairQueue<String, Int>.Ticket, fromQueue: Bool) {
            let (job, client) = jobOf[ticket]!
            #expect(startedJobs.insert(job).inserted, "job \(job) started twice (seed \(seed))")
            running.insert(ticket)
            guard fromQueue else { return }
            #expect(waiting[client]?.first == ticket, "\(client)'s jobs out of order (seed \(seed))")
            waiting[client]?.removeFirst()
            for other in waiting.keys where !(waiting[other]?.isEmpty ?? true) && other != client {
                #expect(priority[other]! >= priority[client]!, "\(client) went before higher-priority \(other) (seed \(seed))")
                if priority[other] == priority[client] {
                    #expect(overtakers[other, default: []].insert(client).inserted,
                            "\(client) went twice while \(other) waited (seed \(seed))")
                }
            }
            overtakers[client] = []  // its next job starts a new wait
        }

        func forgetIfIdle(_ client: String) {
            guard held(client) == 0 else { return }
            for other in overtakers.keys { overtakers[other]?.remove(client) }
        }

        func end(_ ticket: FairQueue<String, Int>.Ticket) {
            let (job, client) = jobOf[ticket]!
            switch queue.end(ticket) {
            case .leftQueue(let left):
                #expect(left == job && waiting[client]?.contains(ticket) == true, "seed \(seed)")
                waiting[client]?.removeAll { $0 == ticket }
                if waiting[client]?.isEmpty == true { overtakers[client] = [] }
                leftJobs.insert(job)
            case .finished(let next):
                #expect(running.remove(ticket) != nil, "seed \(seed)")
                if let next { started(next.ticket, fromQueue: true) }
            case .unknown:
                #expect(ended.contains(ticket), "a live ticket was unknown (seed \(seed))")
            }
            ended.append(ticket)
            forgetIfIdle(client)
        }

        for step in 0..<400 {
            switch Int.random(in: 0..<10, using: &random) {
            case 0..<5:
                let client = clients.randomElement(using: &random)!
                let total = running.count + waiting.values.reduce(0) { $0 + $1.count }
                let job = step
                switch queue.enqueue(job, for: client, priority: priority[client]!) {
                case .start(let given, let ticket):
                    #expect(given == job && running.count < concurrency, "seed \(seed)")
                    jobOf[ticket] = (job, client)
                    accepted += 1
                    started(ticket, fromQueue: false)
                case .queued(let ticket):
                    #expect(running.count == concurrency, "a job waits beside an idle slot (seed \(seed))")
                    jobOf[ticket] = (job, client)
                    if waiting[client, default: []].isEmpty { overtakers[client] = [] }
                    waiting[client, default: []].append(ticket)
                    accepted += 1
                case .clientShareFull:
                    #expect(held(client) == queue.perClientCapacity, "seed \(seed)")
                case .queueFull:
                    #expect(total == queue.totalCapacity && held(client) < queue.perClientCapacity, "seed \(seed)")
                }
            case 5..<8:
                if let ticket = running.randomElement(using: &random) { end(ticket) }
            case 8:
                if let ticket = waiting.values.flatMap({ $0 }).randomElement(using: &random) { end(ticket) }
            default:
                if let ticket = ended.randomElement(using: &random) { end(ticket) }
            }
            let waitingCount = waiting.values.reduce(0) { $0 + $1.count }
            #expect(queue.running == running.count && queue.waitingCount == waitingCount, "seed \(seed) step \(step)")
            #expect(running.count <= concurrency && (waitingCount == 0 || running.count == concurrency), "seed \(seed)")
            #expect(queue.total <= queue.totalCapacity, "seed \(seed)")
            for client in clients { #expect(queue.held(by: client) == held(client), "seed \(seed)") }
        }
        while let ticket = running.first { end(ticket) }
        #expect(queue.total == 0 && waiting.values.allSatisfy(\.isEmpty), "the queue did not drain (seed \(seed))")
        #expect(startedJobs.count + leftJobs.count == accepted && startedJobs.isDisjoint(with: leftJobs), "seed \(seed)")
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
