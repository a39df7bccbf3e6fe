import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing
@testable import Proxy

/// `queue.upstream_slots` per upstream: the queue admits as many requests
/// as all the upstreams' slots together, and the balancer sends each
/// admitted request to an upstream with a slot free, so no upstream gets
/// more than its own slots while another has one free.
@Suite struct PerUpstreamSlotsTests {
    static func balancer(_ count: Int) -> UpstreamBalancer {
        UpstreamBalancer(
            upstreams: (0..<count).map { UpstreamAddress(endpoint: HostAndPort(host: "127.0.0.1", port: 1234 + $0)) },
            health: ProxyConfiguration.HealthChecking())
    }

    /// Random slots, admissions and finishes (at most the slots together in
    /// flight, as the queue admits), with requests that take no slot mixed
    /// in: a slot request always lands where a slot is free.
    @Test(arguments: 0..<30) func anAdmittedRequestAlwaysFindsAFreeSlot(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        let count = Int.random(in: 1...4, using: &random)
        let slots = (0..<count).map { _ in Int.random(in: 1...4, using: &random) }
        let balancer = Self.balancer(count)
        balancer.setSlots(slots)
        var holding: [Int] = []  // the upstream of each request holding a slot
        var plain: [Int] = []  // requests without a slot (listings)
        for _ in 0..<400 {
            switch Int.random(in: 0..<5, using: &random) {
            case 0..<2 where holding.count < slots.reduce(0, +):
                guard let upstream = balancer.pick(holdingSlot: true) else { Issue.record("no upstream"); return }
                holding.append(upstream)
                #expect(balancer.slotsInUse(upstream) <= slots[upstream], "upstream \(upstream) over its \(slots[upstream]) slots")
            case 2:
                plain.append(balancer.pick()!)
            case 3 where !holding.isEmpty:
                let upstream = holding.remove(at: Int.random(in: 0..<holding.count, using: &random))
                balancer.releaseSlot(upstream)
                balancer.finished(upstream)
            case 4 where !plain.isEmpty:
                balancer.finished(plain.removeLast())
            default:
                break
            }
            for upstream in 0..<count {
                #expect(balancer.slotsInUse(upstream) == holding.filter { $0 == upstream }.count)
            }
        }
    }

    @Test func slotsOfTwoUpstreamsFillByFreeSlotsAndADownUpstreamsGoElsewhere() {
        let balancer = Self.balancer(2)
        balancer.setSlots([3, 1])
        // Listings (no slot) on upstream 1 do not take its slot.
        for _ in 0..<3 { _ = balancer.pick(excluding: [0]) }
        let picks = (0..<4).map { _ in balancer.pick(holdingSlot: true)! }
        #expect(picks.sorted() == [0, 0, 0, 1])
        balancer.releaseSlot(1)
        balancer.finished(1)
        #expect(balancer.pick(holdingSlot: true) == 1, "the freed slot is upstream 1's")

        balancer.markDown(1)
        balancer.releaseSlot(1)
        balancer.finished(1)
        #expect(balancer.pick(holdingSlot: true) == 0, "a down upstream's request goes to the other, beyond its slots")
        #expect(balancer.slotsInUse(0) == 4)
    }

    @Test func slotsAreSetForEachUpstreamOrForAllAndBadListsAreClearErrors() throws {
        let base = "listen: [\"127.0.0.1:8080\"]\nupstreams: [\"http://127.0.0.1:1234\", \"http://127.0.0.1:1235\"]\n"
        let each = try ProxyConfigurationLoader.load(yaml: base + "queue: { upstream_slots: 4 }\n")
        #expect(each.queue.slots(upstreams: 2) == [4, 4] && each.queue.isEnabled)
        let listed = try ProxyConfigurationLoader.load(yaml: base + "queue: { upstream_slots: [4, 1] }\n")
        #expect(listed.queue.slotsByUpstream == [4, 1] && listed.queue.slots(upstreams: 2) == [4, 1])
        let fromFlag = try ProxyConfigurationLoader.load(
            file: nil, environment: [:],
            overrides: [
                .init(key: "listen", values: ["127.0.0.1:8080"]),
                .init(key: "upstreams", values: ["http://127.0.0.1:1", "http://127.0.0.1:2"]),
                .init(key: "queue.upstream_slots", value: "2,3"),
            ])
        #expect(fromFlag.queue.slots(upstreams: 2) == [2, 3])
        for (yaml, expected) in [
            ("queue: { upstream_slots: [4] }", "lists 1 upstreams' slots, but there are 2 upstreams"),
            ("queue: { upstream_slots: [4, 1, 2] }", "lists 3 upstreams' slots, but there are 2 upstreams"),
            ("queue: { upstream_slots: [0, 1] }", "each upstream's slots must be from 1 to 100000"),
            ("queue: { upstream_slots: [2, many] }", "queue.upstream_slots"),
            ("queue: { upstream_slots: [] }", "queue.upstream_slots"),
        ] {
            #expect {
                try ProxyConfigurationLoader.load(yaml: base + yaml + "\n")
            } throws: { error in
                (error as? ConfigurationError)?.message.contains(expected) == true
            }
        }
    }

    @Test func aQueueOverSeveralUpstreamsAdmitsTheirSlotsTogether() {
        var configuration = UpstreamQueueConfiguration()
        configuration.slotsByUpstream = [2, 1, 3]
        let queue = UpstreamQueue(configuration: configuration, upstreams: 3)
        #expect(queue.snapshot.slots == 6)
        configuration.slotsByUpstream = nil
        configuration.upstreamSlots = 2
        queue.reconfigure(configuration)
        #expect(queue.snapshot.slots == 6, "2 for each of 3 upstreams")
    }

    /// A down upstream's slots admit nothing until a probe brings it back:
    /// the queue follows the balancer's view, keeps what runs and drops no
    /// waiting request; with every upstream down, all slots count again.
    @Test func aDownUpstreamsSlotsAdmitNothingUntilItIsBack() {
        let loop = EmbeddedEventLoop()
        let balancer = Self.balancer(2)
        balancer.setSlots([2, 1])
        var configuration = UpstreamQueueConfiguration()
        configuration.slotsByUpstream = [2, 1]
        let queue = UpstreamQueue(configuration: configuration, upstreams: 2)
        balancer.observeAvailability { queue.setUpstreamsUp($0) }
        #expect(queue.snapshot.slots == 3)

        balancer.markDown(0)
        #expect(queue.snapshot.slots == 1)
        var tickets: [UpstreamQueue.Ticket] = []
        var waiting: [EventLoopFuture<Void>] = []
        for client in ["key:a", "key:b", "key:c"] {
            switch queue.enter(client: client, priority: .normal, on: loop) {
            case .admitted(let ticket): tickets.append(ticket)
            case .queued(let ticket, let admission): tickets.append(ticket); waiting.append(admission)
            case .refused: Issue.record("\(client) refused")
            }
        }
        #expect(waiting.count == 2, "one slot while upstream 0 is down")
        balancer.markDown(0)  // a failed probe: no change
        #expect(queue.snapshot.slots == 1)

        let admitted = NIOLockedValueBox(0)
        for future in waiting { future.whenSuccess { admitted.withLockedValue { $0 += 1 } } }
        loop.run()
        #expect(admitted.withLockedValue { $0 } == 0)
        balancer.markUp(0)
        loop.run()
        #expect(queue.snapshot.slots == 3 && admitted.withLockedValue { $0 } == 2, "back up: both waiting requests start")

        balancer.markDown(0)
        balancer.markDown(1)
        #expect(queue.snapshot.slots == 3, "every upstream down: the proxy still tries them all")
        for ticket in tickets { ticket.release() }
    }

    /// The request's slot is taken at the upstream the acquisition picks,
    /// moved when it tries another, and given back once.
    @Test func theAcquisitionTakesTheSlotWhereTheRequestGoes() throws {
        let loop = EmbeddedEventLoop()
        let balancer = Self.balancer(2)
        balancer.setSlots([1, 1])
        let pool = UpstreamConnectionPool(
            eventLoop: loop, upstreams: balancer.upstreams, maxIdlePerUpstream: 1, connectTimeout: .seconds(1),
            idleTimeout: .seconds(1))
        var configuration = UpstreamQueueConfiguration()
        configuration.upstreamSlots = 1
        let queue = UpstreamQueue(configuration: configuration, upstreams: 2)
        let exchange = Exchange(
            clientHead: HTTPRequestHead(version: .http1_1, method: .POST, uri: "/v1/chat/completions"),
            framing: .none, now: .now())
        guard case .admitted(let ticket) = queue.enter(client: "key:a", priority: .normal, on: loop) else {
            Issue.record("not admitted")
            return
        }
        exchange.upstreamSlot = ticket
        guard case .connect(let first) = UpstreamAcquisition(balancer: balancer, pool: pool).acquire(for: exchange, freshConnection: false)
        else {
            Issue.record("no upstream")
            return
        }
        #expect(exchange.slotUpstream == first && balancer.slotsInUse(first) == 1)
        // Its connection failed: the next try moves the slot to the other upstream.
        balancer.finished(first)
        guard case .connect(let second) = UpstreamAcquisition(balancer: balancer, pool: pool).acquire(for: exchange, freshConnection: false)
        else {
            Issue.record("no second upstream")
            return
        }
        #expect(second != first && balancer.slotsInUse(first) == 0 && balancer.slotsInUse(second) == 1)
        exchange.releaseUpstreamSlotHolding(in: balancer)
        exchange.releaseUpstreamSlotHolding(in: balancer)
        #expect(balancer.slotsInUse(second) == 0 && exchange.slotUpstream == nil)
        ticket.release()
        try loop.syncShutdownGracefully()
    }
}
