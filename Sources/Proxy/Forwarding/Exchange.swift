import NIOCore
import NIOHTTP1

/// One request and its response as it passes through a ``ForwardingHandler``.
final class Exchange {
    /// The head as the client sent it (for the access log, and the
    /// response's version).
    let clientHead: HTTPRequestHead
    let started: NIODeadline
    var requestID = ""
    /// The head to send upstream, once admitted.
    var upstreamHead: HTTPRequestHead?
    /// The upstream counted against in the balancer, while one is.
    var upstream: Int?
    /// Upstreams already tried for this request (failover skips them).
    var triedUpstreams = TriedUpstreams()
    /// Request parts received before the upstream connection was ready.
    var pendingParts: [HTTPClientRequestPart] = []
    /// The request as sent on a reused keep-alive connection, for sending
    /// it again if that connection was stale.
    var replay = StaleConnectionReplay()
    var requestBodyBytes = 0
    /// Time the client could not send its body because the proxy held its
    /// reads (admission, connecting, an upstream not taking more): not
    /// counted against the client's ``RequestBodyDeadline``.
    var bodyTimeNotCounted = TimeAmount.zero
    /// Since when reads are held because the upstream does not take more body.
    var waitingOnUpstreamSince: NIODeadline?
    var requestEnded = false
    /// How the client delimited the body; the upstream head gets the same.
    let framing: RequestFraming
    var requestHasBody: Bool { self.framing.hasBody }
    var sentUpstreamAt: NIODeadline?
    var responseStatus: Int?
    var responseStarted = false
    var responseBytes = 0
    /// Whether the client connection closes once the response is written.
    var closeAfterResponse: Bool
    /// Last time bytes moved for the phase being timed (request body or response).
    var lastActivity: NIODeadline
    /// Whether the request is a WebSocket handshake being passed through
    /// (``WebSocketUpgradeRequest``); such a connection closes after any
    /// answer but a switch, as its decoder parses nothing after the head.
    var isWebSocketUpgrade = false
    /// The listener's WebSocket permit, held from admission until the
    /// exchange ends or the connection is switched.
    var webSocketPermit: WebSocketConnectionLimit.Permit?
    /// Set when the upstream answered `101 Switching Protocols` to websocket.
    var switchingProtocols = false
    /// The identity admission established, if any.
    var identity: String?
    /// The identity's place under its concurrency limit, held until the exchange ends.
    var concurrencyPermit: ConcurrentRequestLimit.Permit?
    /// Set while the body is held to check its model against the identity's
    /// allowed models (``IdentityPolicy``): client reads go on meanwhile.
    var bodyInspection: IdentityPolicy?
    /// The policy whose token quotas count this exchange's response.
    var tokenQuota: IdentityPolicy?
    /// Reads the response's usage for ``tokenQuota``; made with the response head.
    var usageMeter: ResponseUsageMeter?
    /// Whether the proxy asked the upstream for a stream's usage, so the
    /// usage chunk is removed from the response.
    var injectedStreamUsage = false
    /// The request's claim on an upstream slot (``UpstreamQueue``), waiting
    /// or held, given back when the exchange ends (or the ticket goes away).
    var upstreamSlot: UpstreamQueue.Ticket?
    /// The upstream whose slot the request holds (``UpstreamBalancer``), if it took one.
    var slotUpstream: Int?
    /// Whether the request waits in the ``UpstreamQueue``: client reads are
    /// held, and no deadline but the queue's runs.
    var waitsForUpstreamSlot = false
    /// Whether the body is still coming for an inspection.
    var awaitsInspectedBody: Bool { self.bodyInspection != nil && !self.requestEnded }

    init(clientHead: HTTPRequestHead, framing: RequestFraming, now: NIODeadline) {
        self.clientHead = clientHead
        self.started = now
        self.lastActivity = now
        self.closeAfterResponse = !clientHead.isKeepAlive
        self.framing = framing
    }

    deinit {
        // Every path that ends an exchange releases it; this is the backstop.
        self.concurrencyPermit?.release()
    }
}

extension Exchange {
    /// Gives back the slot the request holds at an upstream, if any.
    func releaseUpstreamSlotHolding(in balancer: UpstreamBalancer) {
        guard let upstream = self.slotUpstream else { return }
        balancer.releaseSlot(upstream)
        self.slotUpstream = nil
    }
}
