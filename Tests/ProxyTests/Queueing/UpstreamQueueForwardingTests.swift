import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing
@testable import Proxy

/// Admits each request as the identity its `x-test-identity` field names
/// (none without it), with the priority `priorities` gives that identity.
struct NamedIdentityAdmission: RequestAdmission {
    var priorities: [String: QueuePriority] = [:]
    let concurrency = ConcurrentRequestLimit()

    func admit(_ request: AdmissionRequest) -> AdmissionResult {
        .decided(.admit(request.head, identity: request.head.headers.first(name: "x-test-identity")))
    }

    func identityPolicy(for identity: String) -> IdentityPolicy? {
        self.priorities[identity].map {
            IdentityPolicy(identity: identity, limits: IdentityLimits(priority: $0), concurrency: self.concurrency)
        }
    }
}

/// The ``UpstreamQueue`` carried out by the ``ForwardingHandler``: with
/// every slot taken, a request waits with nothing sent upstream and goes
/// when its turn comes; it leaves the queue the moment its client leaves;
/// a full queue, a full share and a long wait are answered with
/// `Retry-After`; nothing but the queue's timeout runs while it waits.
@Suite struct UpstreamQueueForwardingTests {
    static func queue(slots: Int = 1, maxWaiting: Int = 16, perIdentity: Int = 16, timeout: Duration = .seconds(120))
        -> UpstreamQueue
    {
        var configuration = UpstreamQueueConfiguration()
        configuration.upstreamSlots = slots
        configuration.maxWaiting = maxWaiting
        configuration.maxPerIdentity = perIdentity
        configuration.timeout = timeout
        return UpstreamQueue(configuration: configuration)
    }

    /// A client connection that sent one streaming-style POST as `identity`.
    static func post(
        as identity: String?, queue: UpstreamQueue, admission: NamedIdentityAdmission = NamedIdentityAdmission(),
        clientAddress: String = "192.0.2.10", body: String = #"{"model":"m"}"#, sentBytes: Int? = nil
    ) throws -> EmbeddedForwarding {
        let proxy = try EmbeddedForwarding(admission: admission, upstreamQueue: queue, clientAddress: clientAddress)
        let identityField = identity.map { "X-Test-Identity: \($0)\r\n" } ?? ""
        try proxy.clientSends(
            "POST /v1/chat/completions HTTP/1.1\r\nHost: a\r\n\(identityField)Content-Length: \(body.utf8.count)\r\n\r\n"
                + String(body.prefix(sentBytes ?? body.count)))
        return proxy
    }

    /// Whether the upstream was sent this connection's request.
    static func wentUpstream(_ proxy: EmbeddedForwarding) throws -> Bool {
        proxy.loop.run()
        return try proxy.upstreamReceived().head != nil
    }

    static func finish(_ proxy: EmbeddedForwarding) throws {
        try proxy.upstreamResponds(headers: [("content-length", "2")], body: "ok")
        #expect(try proxy.clientReceived().hasPrefix("HTTP/1.1 200"))
    }

    @Test func anotherClientsRequestGoesBeforeTheFloodersNext() throws {
        let queue = Self.queue()
        let a1 = try Self.post(as: "key:a", queue: queue)
        #expect(try Self.wentUpstream(a1))
        let flood = try (2...5).map { _ in try Self.post(as: "key:a", queue: queue) }
        let b = try Self.post(as: "key:b", queue: queue)
        for waiting in flood + [b] { #expect(try !Self.wentUpstream(waiting), "sent upstream with the slot taken") }
        #expect(queue.snapshot.waitingByPriority[.normal] == 5)

        try Self.finish(a1)
        #expect(try Self.wentUpstream(b), "b was not next")
        #expect(try !Self.wentUpstream(flood[0]))
        try Self.finish(b)
        for (index, next) in flood.enumerated() {
            #expect(try Self.wentUpstream(next), "the flooder's request \(index + 2) never went")
            try Self.finish(next)
        }
        #expect(queue.snapshot.slotsInUse == 0 && queue.snapshot.counters.admittedAfterWaiting == 5)
    }

    @Test func aClientThatLeavesWhileWaitingLeavesTheQueueAtOnce() throws {
        let queue = Self.queue()
        let running = try Self.post(as: "key:a", queue: queue)
        let leaving = try Self.post(as: "key:b", queue: queue)
        let next = try Self.post(as: "key:c", queue: queue)
        #expect(queue.snapshot.waitingByPriority[.normal] == 2)
        leaving.client.pipeline.fireChannelInactive()
        #expect(queue.snapshot.waitingByPriority[.normal] == 1 && queue.snapshot.counters.abandoned == 1)
        try Self.finish(running)
        #expect(try Self.wentUpstream(next))
        #expect(try !Self.wentUpstream(leaving))
        // Its slot goes back however the exchange ends: here the client leaves mid-response.
        try next.upstreamResponds(headers: [("content-length", "10")], body: "part", end: false)
        next.client.pipeline.fireChannelInactive()
        #expect(queue.snapshot.slotsInUse == 0)
    }

    @Test func aLongWaitIsAnswered503WithRetryAfter() throws {
        let queue = Self.queue(timeout: .seconds(200))
        let running = try Self.post(as: "key:a", queue: queue)
        let waiting = try Self.post(as: "key:b", queue: queue, body: #"{"model":"m","messages":[]}"#, sentBytes: 10)
        waiting.loop.advanceTime(by: .seconds(199))
        #expect(try waiting.clientReceived().isEmpty, "answered before the queue timeout")
        waiting.loop.advanceTime(by: .seconds(2))
        let answer = try waiting.clientReceived()
        #expect(statusCode(of: answer) == 503 && answer.contains("queue_timeout"), "\(answer)")
        #expect(answer.lowercased().contains("\r\nretry-after: "), "\(answer)")
        #expect(queue.snapshot.counters.timedOut == 1 && (queue.snapshot.waitingByPriority[.normal] ?? 0) == 0)
        try Self.finish(running)
        #expect(queue.snapshot.slotsInUse == 0)
    }

    /// While a request waits, its client's reads are held: the body
    /// deadlines (60 s idle, a minimum rate after 10 s) must not run, or a
    /// long wait would be answered 408.
    @Test func noBodyDeadlineRunsWhileARequestWaits() {
        let upload = Exchange(
            clientHead: HTTPRequestHead(version: .http1_1, method: .POST, uri: "/v1/chat/completions"),
            framing: .contentLength(10), now: .now())
        var machine = ForwardingStateMachine<UpstreamConnection>()
        machine.admitting(upload)
        upload.waitsForUpstreamSlot = true
        guard case .none = machine.deadlinePhase(now: .now(), lingerTimeout: .seconds(2)) else {
            Issue.record("a waiting request's body is timed")
            return
        }
        upload.waitsForUpstreamSlot = false
        guard case .clientBody = machine.deadlinePhase(now: .now(), lingerTimeout: .seconds(2)) else {
            Issue.record("the body is not timed once the wait is over")
            return
        }
    }

    @Test func aBodyHalfSentWhenQueuedGoesUpWholeOnceAdmitted() throws {
        let queue = Self.queue()
        let running = try Self.post(as: "key:a", queue: queue)
        let body = #"{"model":"m","messages":[]}"#
        let waiting = try Self.post(as: "key:b", queue: queue, body: body, sentBytes: 10)
        try Self.finish(running)
        try waiting.clientSends(String(body.dropFirst(10)))
        waiting.loop.run()
        let parts = try waiting.upstreamReceived()
        let sent = parts.reduce(into: "") { text, part in
            if case .body(.byteBuffer(let buffer)) = part { text += String(buffer: buffer) }
        }
        #expect(parts.head != nil && sent == body)
        try Self.finish(waiting)
    }

    @Test func aFullShareGets429AndAFullQueue503BothWithRetryAfter() throws {
        let queue = Self.queue(maxWaiting: 2, perIdentity: 2)
        let running = try Self.post(as: "key:a", queue: queue)
        _ = try Self.post(as: "key:a", queue: queue)
        let overShare = try Self.post(as: "key:a", queue: queue)
        let refused = try overShare.clientReceived()
        #expect(statusCode(of: refused) == 429 && refused.contains("queue_share_exceeded"), "\(refused)")
        #expect(refused.contains("The key 'a'") && refused.lowercased().contains("\r\nretry-after: 1\r\n"))
        _ = try Self.post(as: "key:b", queue: queue)
        let overQueue = try Self.post(as: "key:c", queue: queue).clientReceived()
        #expect(statusCode(of: overQueue) == 503 && overQueue.contains("queue_full"), "\(overQueue)")
        #expect(overQueue.lowercased().contains("\r\nretry-after: "))
        #expect(queue.snapshot.counters.refusedClientShareFull == 1 && queue.snapshot.counters.refusedQueueFull == 1)
        try Self.finish(running)
    }

    @Test func listingsPassWhileEverySlotIsTaken() throws {
        let queue = Self.queue()
        let running = try Self.post(as: "key:a", queue: queue)
        let listing = try EmbeddedForwarding(admission: NamedIdentityAdmission(), upstreamQueue: queue)
        try listing.clientSends("GET /v1/models HTTP/1.1\r\nHost: a\r\nX-Test-Identity: key:b\r\n\r\n")
        #expect(try Self.wentUpstream(listing))
        #expect(queue.snapshot.slotsInUse == 1)
        try Self.finish(running)
    }

    @Test func higherPriorityIdentitiesGoFirst() throws {
        let admission = NamedIdentityAdmission(priorities: ["key:bulk": .low, "key:chat": .high])
        let queue = Self.queue()
        let running = try Self.post(as: "key:a", queue: queue, admission: admission)
        let bulk = try Self.post(as: "key:bulk", queue: queue, admission: admission)
        let normal = try Self.post(as: "key:b", queue: queue, admission: admission)
        let chat = try Self.post(as: "key:chat", queue: queue, admission: admission)
        #expect(queue.snapshot.waitingByPriority == [.low: 1, .normal: 1, .high: 1])
        try Self.finish(running)
        #expect(try Self.wentUpstream(chat) && !Self.wentUpstream(normal) && !Self.wentUpstream(bulk))
        try Self.finish(chat)
        #expect(try Self.wentUpstream(normal) && !Self.wentUpstream(bulk))
        try Self.finish(normal)
        #expect(try Self.wentUpstream(bulk))
        try Self.finish(bulk)
    }

    @Test func anonymousClientsTakeTurnsByAddress() throws {
        let queue = Self.queue()
        let running = try Self.post(as: nil, queue: queue, clientAddress: "192.0.2.10")
        let sameHost = try Self.post(as: nil, queue: queue, clientAddress: "192.0.2.10")
        let otherHost = try Self.post(as: nil, queue: queue, clientAddress: "192.0.2.11")
        try Self.finish(running)
        #expect(try Self.wentUpstream(otherHost) && !Self.wentUpstream(sameHost))
        try Self.finish(otherHost)
        try Self.finish(sameHost)

        #expect(UpstreamQueue.client(identity: nil, address: "2001:db8::1") == UpstreamQueue.client(identity: nil, address: "2001:db8::ffff:2"))
        #expect(UpstreamQueue.client(identity: nil, address: "2001:db8:0:1::1") != UpstreamQueue.client(identity: nil, address: "2001:db8::1"))
        #expect(UpstreamQueue.client(identity: nil, address: "::ffff:192.0.2.10") == UpstreamQueue.client(identity: nil, address: "192.0.2.10"))
        #expect(UpstreamQueue.client(identity: "key:a", address: "192.0.2.10") == "key:a")
    }

    @Test func theMetricsShowTheQueue() throws {
        let queue = Self.queue()
        let running = try Self.post(as: "key:a", queue: queue)
        _ = try Self.post(as: "key:b", queue: queue)
        let balancer = UpstreamBalancer(upstreams: [UpstreamAddress(endpoint: HostAndPort(host: "127.0.0.1", port: 1234))], health: .init())
        let text = ProxyMetrics(balancer: balancer, upstreamQueue: queue).render()
        for line in [
            "lmgate_proxy_upstream_slots 1", "lmgate_proxy_upstream_slots_in_use 1",
            "lmgate_proxy_queue_waiting{priority=\"normal\"} 1", "lmgate_proxy_queue_waiting{priority=\"high\"} 0",
            "lmgate_proxy_queue_admitted_total{waited=\"no\"} 1", "lmgate_proxy_queue_wait_seconds_count 0",
        ] {
            #expect(text.contains("\n" + line + "\n"), "\(line) missing from:\n\(text)")
        }
        try Self.finish(running)
    }

    @Test func aTicketDroppedWithoutReleaseGivesItsSlotBack() throws {
        let queue = Self.queue()
        let loop = EmbeddedEventLoop()
        if case .admitted(let ticket) = queue.enter(client: "key:a", priority: .normal, on: loop) {
            _ = ticket
        } else {
            Issue.record("the first request waits")
        }
        #expect(queue.snapshot.slotsInUse == 0)
    }
}
