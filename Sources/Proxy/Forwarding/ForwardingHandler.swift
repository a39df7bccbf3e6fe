import Logging
import NIOCore
import NIOHTTP1

/// Forwards the requests of one client connection to the upstreams and
/// streams their responses back.
///
/// Sits at the end of the server pipeline, after NIO's HTTP/1.1 codec. It
/// handles one request at a time: parts of a pipelined next request that
/// arrive early are queued and client reads held until the current response
/// is done. (NIO's `HTTPServerPipelineHandler` would do this too, but it
/// stops reading after every request, which costs two `epoll_ctl` calls per
/// request; here reads are held only when a client actually pipelines.) For
/// each request it:
/// 1. refuses what is never forwarded (``RequestRefusal``: a missing or
///    repeated `Host`, TRACE, CONNECT, upgrades), checks framing
///    (``RequestFramingCheck``), the body limit and the target, which it
///    normalizes (``RequestTarget``), and removes hop-by-hop fields from the
///    client's head;
/// 2. asks the ``RequestAdmission`` step (where access control plugs in)
///    with that head, so the path policy sees is the path forwarded;
/// 3. picks an upstream (``UpstreamBalancer``), borrows a keep-alive
///    connection from the event loop's ``UpstreamConnectionPool`` or opens
///    one, failing over to another upstream if the connection is refused;
/// 4. streams the request body up and the response down, flushing each read
///    from the upstream at once so server-sent events are never held back;
/// 5. returns the upstream connection to the pool, or closes it if anything
///    about the exchange was unfinished.
///
/// The connection's state and every decision on it that needs no I/O live
/// in a ``ForwardingStateMachine`` (pipelining, held reads, quiesce,
/// deadlines, the client or the upstream going away, the end of a
/// response); so do the proxy's own responses (``ProxyMadeResponse``), the
/// client's response head (``ClientResponseHead``), picking an upstream and
/// a connection (``UpstreamAcquisition``), failover (``UpstreamFailover``)
/// and stale-connection replay
/// (``StaleConnectionReplay``). This handler carries out what they decide.
///
/// Back-pressure works both ways as in NIO's GlueHandler: a `read()` on one
/// channel is held while the other channel is not writable and released on
/// `channelWritabilityChanged`, so a slow reader slows the writer instead of
/// growing a buffer. If the client goes away mid-exchange, the upstream
/// connection is closed, which tells the backend to stop generating.
///
/// On a listener with WebSocket passthrough, an authenticated WebSocket
/// handshake goes up on a new upstream connection with `Upgrade` and
/// `Connection` set by the proxy; if the upstream switches to websocket,
/// the 101 goes to the client and both connections become a
/// ``WebSocketTunnel`` (this handler leaves the pipeline). Any other answer
/// is forwarded and the connection closed.
///
/// On a listener with the admin console, the console's
/// ``AdminConsoleHandler`` joins the pipeline, in front of this handler,
/// only when a connection first asks for a console path (it is then handed
/// that request and everything queued behind it): the API requests of
/// every other connection do not pass through one more handler each way.
final class ForwardingHandler: ChannelDuplexHandler, RemovableChannelHandler, UpstreamResponseReceiver {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let settings: ForwardingSettings
    private let balancer: UpstreamBalancer
    private let pool: UpstreamConnectionPool
    private let admission: any RequestAdmission
    private let metrics: ProxyMetrics
    private let logger: Logger
    /// Where finished requests are counted (``UsageAccounting``), if anywhere.
    private let usageAccounting: UsageAccounting?

    /// The connection's state and the decisions on it; this handler does the I/O.
    private var machine = ForwardingStateMachine<UpstreamConnection>()
    private var context: ChannelHandlerContext?
    private var clientAddress = "-" {
        didSet { self.clientIPAddress = IPAddress(self.clientAddress) }
    }
    /// ``clientAddress`` parsed once for the connection, for admission.
    private var clientIPAddress: IPAddress?
    /// Set while a client read is being handled; writes upstream are then
    /// flushed once, in `channelReadComplete`.
    private var inClientRead = false
    static var maxPipelinedParts: Int { ForwardingStateMachine<UpstreamConnection>.maxPipelinedParts }
    static var maxPipelinedBodyBytes: Int { ForwardingStateMachine<UpstreamConnection>.maxPipelinedBodyBytes }
    /// Holds the connection to the deadline of its phase; created when the handler is added.
    private(set) var watchdog: ConnectionWatchdog?
    private lazy var requestIDs = RequestID.Generator()
    /// Makes the console's handler on a listener with the admin console;
    /// `nil` without one, and once the handler is in the pipeline.
    private var makeConsoleHandler: (() -> AdminConsoleHandler)?

    init(
        settings: ForwardingSettings,
        balancer: UpstreamBalancer,
        pool: UpstreamConnectionPool,
        admission: any RequestAdmission,
        metrics: ProxyMetrics,
        logger: Logger,
        makeConsoleHandler: (() -> AdminConsoleHandler)? = nil
    ) {
        self.settings = settings
        self.balancer = balancer
        self.pool = pool
        self.admission = admission
        self.metrics = metrics
        self.logger = logger
        self.usageAccounting = admission.usageAccounting
        self.makeConsoleHandler = makeConsoleHandler
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        self.watchdog = ConnectionWatchdog(settings: self.settings, eventLoop: context.eventLoop) { [weak self] phase in
            self?.deadlinePassed(phase)
        }
        self.clientAddress = context.channel.remoteAddress?.ipAddress ?? "-"
        if context.channel.isActive { self.retime() }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.watchdog?.stop()
    }

    func channelActive(context: ChannelHandlerContext) {
        self.clientAddress = context.channel.remoteAddress?.ipAddress ?? "-"
        self.retime()
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.machine.clientPartReceived(self.unwrapInboundIn(data)) {
        case .handle(let part):
            self.inClientRead = true
            defer { self.inClientRead = false }
            self.handle(part)
        case .queued:
            break
        case .closePipelinedTooMuch:
            self.logger.info("client pipelined too much, closing", metadata: ["client.address": "\(self.clientAddress)"])
            self.context?.close(promise: nil)
        }
    }

    private func handle(_ part: HTTPServerRequestPart) {
        switch part {
        case .head(let head) where self.machine.routesToConsole(head, consoleOn: self.makeConsoleHandler != nil):
            self.handOverToConsole(head)
        case .head(let head): self.receivedHead(head)
        case .body(let body): self.receivedBody(body)
        case .end: self.receivedEnd()
        }
    }

    /// Puts the console's handler in front of this one and hands it `head`
    /// and the pipelined parts queued behind it, in order. What the client
    /// sends next reaches the console's handler first (also the rest of the
    /// read being decoded now: the decoder passes each part to the handler
    /// after it when it passes it), and what the console's handler passes on
    /// comes here as any request does. No forwarded response is being written
    /// (``ForwardingStateMachine/routesToConsole(_:consoleOn:)``), which the
    /// console's handler, counting from none, relies on to keep responses in order.
    private func handOverToConsole(_ head: HTTPRequestHead) {
        guard let context, let make = self.makeConsoleHandler else { return }
        self.makeConsoleHandler = nil
        let console = make()
        do {
            let pipeline = context.pipeline.syncOperations
            try pipeline.addHandler(console, position: .before(self))
            let consoleContext = try pipeline.context(handler: console)
            // Called directly with the console handler's own context: NIO has
            // no way to deliver a read to the handler in front of this one.
            for part in [.head(head)] + self.machine.takePipelinedParts() {
                console.channelRead(context: consoleContext, data: NIOAny(part))
            }
        } catch {
            self.logger.error("could not add the console handler, closing", metadata: ["error": "\(error)"])
            context.close(promise: nil)
        }
    }

    /// Handles queued pipelined parts once the previous response has ended.
    private func handlePipelined() {
        while let part = self.machine.nextPipelinedPart() {
            self.handle(part)
        }
        self.machine.upstream?.flush()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            if self.machine.quiesce() == .close { context.close(promise: nil) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        self.machine.upstream?.flush()
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if case .holdUpstreamReads(let connection, let hold, let watchUpstream, let watchClientSend) =
            self.machine.clientWritabilityChanged(isWritable: context.channel.isWritable)
        {
            connection.holdReads(hold)
            if let exchange = watchUpstream {
                self.watchUpstream(exchange)
            } else if watchClientSend {
                self.watchdog?.enter(.clientSend(since: .now()))
            }
        }
        context.fireChannelWritabilityChanged()
    }

    func read(context: ChannelHandlerContext) {
        if self.machine.readRequested() { context.read() }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let parserError = error as? HTTPParserError {
            switch self.machine.parserFailed(parserError) {
            case .answer(let response):
                let exchange = Exchange(
                    clientHead: HTTPRequestHead(version: .http1_1, method: .GET, uri: "-"), framing: .none, now: .now())
                self.answer(exchange, with: response)
            case .close:
                context.close(promise: nil)
            case .none:
                break
            }
            return
        }
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.watchdog?.stop()
        if case .abandon(let exchange, let connection) = self.machine.clientClosed() {
            self.abandonUpstream(of: exchange, connection: connection)
            self.finish(exchange, status: 499)
        }
        context.fireChannelInactive()
    }

    // MARK: Request

    private func receivedHead(_ clientHead: HTTPRequestHead) {
        guard self.machine.isIdle else { return }
        let screening = RequestScreening(
            clientHead, webSocket: self.settings.webSocket, maxBodyBytes: self.settings.maxBodyBytes)
        let exchange = Exchange(clientHead: clientHead, framing: screening.framing, now: .now())
        exchange.requestID =
            clientHead.headers.first(name: "x-request-id").flatMap { RequestID.isValid($0) ? $0 : nil } ?? "-"
        exchange.isWebSocketUpgrade = screening.isWebSocketUpgrade
        let head: HTTPRequestHead
        switch screening.outcome {
        case .answer(let response, let headers, let closingAtOnce):
            return self.answer(exchange, with: response, extraHeaders: headers, closingAtOnce: closingAtOnce)
        case .admit(let screened):
            head = screened
        }

        self.machine.admitting(exchange)
        self.retime()
        let request = AdmissionRequest(
            head: head, clientAddress: self.clientAddress, eventLoop: self.pool.eventLoop,
            parsedClientAddress: self.clientIPAddress)
        switch self.admission.admit(request) {
        case .decided(let decision):
            self.admissionDecided(.success(decision), for: exchange)
        case .pending(let future):
            future.hop(to: self.pool.eventLoop).assumeIsolated().whenComplete { result in
                self.admissionDecided(result, for: exchange)
            }
        }
    }

    private func admissionDecided(_ result: Result<AdmissionDecision, any Error>, for exchange: Exchange) {
        let webSocket = self.settings.webSocket
        switch self.machine.admissionDecided(result, for: exchange, takeWebSocketPermit: { webSocket?.limit.take() }) {
        case .none:
            break
        case .answer(let exchange, let response, let extraHeaders):
            self.answer(exchange, with: response, extraHeaders: extraHeaders)
        case .forward(let exchange, let head):
            var inspectBody = false
            if let identity = exchange.identity, let policy = self.policy(for: identity) {
                if !policy.limits.tokenQuotas.isEmpty { exchange.tokenQuota = policy }
                switch policy.admitHead(
                    hasBody: exchange.requestHasBody, path: Self.path(of: head), webSocket: exchange.isWebSocketUpgrade)
                {
                case .answer(let response, let headers):
                    PolicyAudit.denied(
                        identity: identity, response: response, exchange: exchange, client: self.clientAddress,
                        metrics: self.metrics, logger: self.logger)
                    return self.answer(exchange, with: response, extraHeaders: headers)
                case .proceed(let permit):
                    exchange.concurrencyPermit = permit
                case .inspectBody(let permit):
                    exchange.concurrencyPermit = permit
                    exchange.bodyInspection = policy
                    inspectBody = true
                }
            }
            let expectsContinue = self.makeUpstreamHead(
                from: head, for: exchange, dropsAcceptEncoding: self.metersUsage(of: exchange))
            if self.machine.answersContinue(expectsContinue: expectsContinue, for: exchange) {
                self.context?.writeAndFlush(
                    self.wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))),
                    promise: nil)
            }
            guard inspectBody else { return self.takeUpstreamSlot(for: exchange) }
            // The body may all have come while admission was pending.
            if exchange.requestEnded { return self.inspectBody(of: exchange) }
            self.retime()
            self.releaseHeldRead()
        }
    }

    /// Sets the exchange's upstream head and request ID from the admitted
    /// head; returns whether the client waits for `100 Continue`. Usage is
    /// read from a metered response as it passes, so then it is asked for
    /// uncompressed (`dropsAcceptEncoding`).
    ///
    /// A function of its own so that nothing but the exchange holds the new
    /// head's fields when this returns: a second reference (the result of
    /// `UpstreamRequestHead.make` kept alive in the caller) made the `Host`
    /// set in ``startForwarding(_:on:)`` copy every field of every request.
    private func makeUpstreamHead(from head: HTTPRequestHead, for exchange: Exchange, dropsAcceptEncoding: Bool) -> Bool {
        let made = UpstreamRequestHead.make(
            from: head,
            framing: exchange.framing,
            webSocketUpgrade: exchange.isWebSocketUpgrade,
            dropsAcceptEncoding: dropsAcceptEncoding,
            client: .init(address: self.clientAddress, usesTLS: self.settings.usesTLS),
            upstreamHost: "", requestIDs: &self.requestIDs)
        exchange.requestID = made.requestID
        exchange.upstreamHead = made.head
        return made.expectsContinue
    }

    /// The identity's limits, and whether its usage is recorded; `nil` when
    /// neither applies (nothing to decide).
    private func policy(for identity: String) -> IdentityPolicy? {
        guard var policy = self.admission.identityPolicy(for: identity) else {
            return self.usageAccounting == nil ? nil : .recordingUsage(identity: identity)
        }
        policy.recordsUsage = self.usageAccounting != nil
        return policy
    }

    /// Whether the response's usage is read: for a token quota, or for
    /// usage accounting (of identities admission established).
    private func metersUsage(of exchange: Exchange) -> Bool {
        exchange.tokenQuota != nil || (self.usageAccounting != nil && exchange.identity != nil)
    }

    /// The whole body of a restricted identity's request is held: read its
    /// model, then forward the held parts unchanged or refuse the request.
    private func inspectBody(of exchange: Exchange) {
        // Only the path is kept of the head: a copy of the head alive while
        // the request is forwarded (below) made setting its `Host` copy
        // every header field (an allocation and a retain per field).
        guard let policy = exchange.bodyInspection, let path = exchange.upstreamHead.map({ Self.path(of: $0) }) else {
            return
        }
        var body: [UInt8] = []
        body.reserveCapacity(exchange.requestBodyBytes)
        for case .body(.byteBuffer(let buffer)) in exchange.pendingParts { body += buffer.readableBytesView }
        exchange.bodyInspection = nil
        switch policy.inspectBody(body, path: path) {
        case .answer(let response):
            PolicyAudit.denied(
                identity: policy.identity, response: response, exchange: exchange, client: self.clientAddress,
                metrics: self.metrics, logger: self.logger)
            self.answer(exchange, with: response)
        case .proceed(let rewritten):
            if let rewritten { self.replaceBody(of: exchange, with: rewritten) }
            self.takeUpstreamSlot(for: exchange)
        }
    }

    /// Sends `body` upstream in place of the client's (usage asked for in a
    /// stream): one body part, and a `Content-Length` that is its length when
    /// the client sent one (a chunked body stays chunked: the encoder frames it).
    private func replaceBody(of exchange: Exchange, with body: [UInt8]) {
        guard let context = self.context else { return }
        exchange.pendingParts = [.body(.byteBuffer(context.channel.allocator.buffer(bytes: body))), .end(nil)]
        if exchange.upstreamHead?.headers.contains(name: "content-length") == true {
            exchange.upstreamHead?.headers.replaceOrAdd(name: "content-length", value: String(body.count))
        }
        exchange.injectedStreamUsage = true
    }

    /// The path of a head's target, without its query.
    private static func path(of head: HTTPRequestHead) -> Substring {
        // By UTF-8 byte, not by Character: grapheme breaking over the whole
        // target was a visible cost on every request with limits or usage.
        head.uri[..<(head.uri.utf8.firstIndex(of: UInt8(ascii: "?")) ?? head.uri.endIndex)]
    }

    private func receivedBody(_ body: ByteBuffer) {
        let limit = self.settings.maxBodyBytes
        switch self.machine.clientBodyReceived(bytes: body.readableBytes, limit: limit, now: .now()) {
        case .hold(let exchange):
            // Room for a body part and the end at once: growing by append cost an allocation each.
            if exchange.pendingParts.isEmpty { exchange.pendingParts.reserveCapacity(4) }
            exchange.pendingParts.append(.body(.byteBuffer(body)))
            // Held only to ask a stream for its usage: too large to hold, it goes as it came.
            if let policy = exchange.bodyInspection, !policy.refusesUncheckedBody,
                exchange.requestBodyBytes > IdentityPolicy.maxInspectedBodyBytes, self.machine.isAdmitting(exchange)
            {
                exchange.bodyInspection = nil
                self.takeUpstreamSlot(for: exchange)
            }
        case .forward(let exchange, let connection):
            exchange.replay.record(.body(.byteBuffer(body)))
            connection.write(.body(.byteBuffer(body)), flush: false)
        case .answerTooLarge(let exchange, let connection):
            self.abandonUpstream(of: exchange, connection: connection)
            let limit = ForwardingStateMachine<UpstreamConnection>.bodyLimit(for: exchange, configured: limit)
            self.answer(exchange, with: .bodyTooLarge(limit: limit))
        case .close:
            self.context?.close(promise: nil)
        case .discard:
            break
        }
    }

    private func receivedEnd() {
        switch self.machine.clientEndReceived() {
        case .hold(let exchange):
            exchange.pendingParts.append(.end(nil))
            if exchange.bodyInspection != nil, self.machine.isAdmitting(exchange) { self.inspectBody(of: exchange) }
        case .forward(let exchange, let connection, let watchUpstream):
            exchange.replay.record(.end(nil))
            connection.write(.end(nil), flush: !self.inClientRead)
            if watchUpstream { self.watchUpstream(exchange) }
        case .none:
            break
        }
    }

    // MARK: Upstream connection

    /// Connects upstream once the request has a slot there: at once without
    /// an ``UpstreamQueue`` or for a request that takes no slot; otherwise
    /// when the queue admits it (client reads held meanwhile), or answers
    /// for it (full, or waited too long).
    private func takeUpstreamSlot(for exchange: Exchange) {
        guard let queue = self.settings.upstreamQueue, queue.isEnabled, let head = exchange.upstreamHead,
            UpstreamQueue.takesSlot(method: head.method, webSocket: exchange.isWebSocketUpgrade)
        else { return self.connectUpstream(for: exchange) }
        let priority = exchange.identity.flatMap { self.admission.identityPolicy(for: $0) }?.limits.priority
        let client = UpstreamQueue.client(identity: exchange.identity, address: self.clientAddress)
        switch queue.enter(client: client, priority: priority ?? .normal, on: self.pool.eventLoop) {
        case .admitted(let ticket):
            exchange.upstreamSlot = ticket
            self.connectUpstream(for: exchange)
        case .refused(let response, let headers):
            self.answer(exchange, with: response, extraHeaders: headers)
        case .queued(let ticket, let admission):
            exchange.upstreamSlot = ticket
            exchange.waitsForUpstreamSlot = true
            self.retime()
            admission.assumeIsolated().whenComplete { result in
                exchange.waitsForUpstreamSlot = false
                // A client that left has given its ticket back (`finish`).
                guard self.machine.isAdmitting(exchange) else { return }
                switch result {
                case .success:
                    exchange.lastActivity = .now()  // the wait was not the client's
                    self.retime()
                    self.connectUpstream(for: exchange)
                case .failure:
                    self.answer(
                        exchange, with: .upstreamQueueTimeout(after: queue.configuration.timeout),
                        extraHeaders: ["retry-after": String(queue.retryAfter)])
                }
            }
        }
    }

    /// Picks an upstream and starts the exchange on a pooled or new
    /// connection to it (only a new one if `freshConnection`).
    private func connectUpstream(for exchange: Exchange, freshConnection: Bool = false) {
        let upstream: Int
        switch UpstreamAcquisition(balancer: self.balancer, pool: self.pool).acquire(
            for: exchange, freshConnection: freshConnection)
        {
        case .noUpstream:
            return self.answer(exchange, with: .upstreamUnavailable)
        case .pooled(let connection):
            return self.startForwarding(exchange, on: connection)
        case .connect(let picked):
            upstream = picked
        }
        self.machine.connecting(exchange)
        self.pool.connect(upstream: upstream, forUpgrade: exchange.isWebSocketUpgrade).assumeIsolated().whenComplete {
            result in
            switch result {
            case .success(let connection):
                guard self.machine.upstreamConnected(for: exchange) else {
                    // The client left while we connected; keep the fresh connection.
                    self.pool.release(connection)
                    return
                }
                self.startForwarding(exchange, on: connection)
            case .failure(let error):
                self.balancer.markDown(upstream)
                let action = self.machine.upstreamConnectFailed(
                    for: exchange, error: error, upstreams: self.balancer.upstreams.count)
                if action != .none { self.balancer.finished(upstream) }
                switch action {
                case .none:
                    break
                case .tryAnother:
                    self.logger.debug(
                        "upstream connection failed, trying another",
                        metadata: ["upstream": "\(self.balancer.upstreams[upstream])", "error": "\(error)"])
                    self.connectUpstream(for: exchange)
                case .answer(let response):
                    self.answer(exchange, with: response)
                }
            }
        }
    }

    private func startForwarding(_ exchange: Exchange, on connection: UpstreamConnection) {
        guard exchange.upstreamHead != nil, let upstream = exchange.upstream else { return }
        // Changed in place: a copy of the head would copy its headers.
        exchange.upstreamHead?.headers.replaceOrAdd(name: "host", value: self.balancer.hostHeaders[upstream])
        guard let head = exchange.upstreamHead else { return }
        connection.receiver = self
        self.machine.forwarding(exchange, over: connection)
        let now = NIODeadline.now()
        exchange.sentUpstreamAt = now
        // Client reads were held since the head: the body's clock starts now.
        exchange.bodyTimeNotCounted = now - exchange.started
        connection.write(.head(head), flush: false)
        let pending = exchange.pendingParts
        exchange.pendingParts = []
        for part in pending {
            exchange.replay.record(part)
            connection.write(part, flush: false)
        }
        if !self.inClientRead { connection.flush() }  // else channelReadComplete flushes
        connection.holdReads(!(self.context?.channel.isWritable ?? true))
        self.retime()
        self.releaseHeldRead()
    }

    /// Stops using the upstream connection of an exchange that will not
    /// complete, closing it (it may carry half a request or response).
    private func abandonUpstream(of exchange: Exchange, connection: UpstreamConnection?) {
        if let connection {
            connection.receiver = nil
            connection.close()
        }
        if let upstream = exchange.upstream {
            self.balancer.finished(upstream)
            exchange.upstream = nil
        }
    }

    // MARK: UpstreamResponseReceiver

    func upstreamResponsePart(_ part: HTTPClientResponsePart) {
        guard let context = self.context else { return }
        switch part {
        case .head(let upstreamHead):
            switch self.machine.upstreamHeadReceived(upstreamHead, now: .now()) {
            case .forward(let exchange, let head):
                if self.metersUsage(of: exchange) {
                    // A stripped stream cannot keep a length; it is not stripped then (the client sees the extra chunk).
                    let strips = exchange.injectedStreamUsage && !head.headers.contains(name: "content-length")
                    exchange.usageMeter = ResponseUsageMeter(
                        contentType: upstreamHead.headers.first(name: "content-type"), stripsUsageChunk: strips)
                }
                if let sent = exchange.sentUpstreamAt, let upstream = exchange.upstream {
                    self.metrics.upstreamResponded(
                        upstream: upstream, seconds: Double((exchange.lastActivity - sent).nanoseconds) / 1e9)
                }
                context.write(self.wrapOutboundOut(.head(head)), promise: nil)
            case .switchingToWebSocket(_, let head):
                context.write(self.wrapOutboundOut(.head(head)), promise: nil)
            case .answer(let exchange, let response):
                self.answer(exchange, with: response)
            case .none:
                break
            }
        case .body(let body):
            if self.machine.upstreamBodyReceived(bytes: body.readableBytes, now: .now()) {
                guard let exchange = self.machine.currentExchange, var meter = exchange.usageMeter else {
                    context.write(self.wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
                    return
                }
                exchange.usageMeter = nil  // the meter's held bytes stay uniquely referenced: appended to, not copied
                let passed = meter.pass(body.readableBytesView)
                exchange.usageMeter = meter
                if !meter.rewritesBody {
                    context.write(self.wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
                } else if let passed, !passed.isEmpty {
                    context.write(self.wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: passed)))), promise: nil)
                }
            }
        case .end(let trailers):
            if let exchange = self.machine.currentExchange, var meter = exchange.usageMeter {
                exchange.usageMeter = nil  // as for a body part: no copy of the held bytes
                let rest = meter.finish()
                exchange.usageMeter = meter  // counted in `finish(_:status:)`
                if meter.rewritesBody, !rest.isEmpty {
                    context.write(self.wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: rest)))), promise: nil)
                }
            }
            switch self.machine.upstreamResponseEnded() {
            case .switchToWebSocket(let exchange, let connection):
                self.switchToWebSocket(exchange, connection: connection, context: context)
            case .finish(let exchange, let connection, let reusable):
                if let upstream = exchange.upstream {
                    self.balancer.finished(upstream)
                }
                if reusable {
                    self.pool.release(connection)
                } else {
                    connection.receiver = nil
                    connection.close()
                }
                self.finish(exchange, status: exchange.responseStatus ?? 502)
                self.writeEnd(
                    trailers: trailers, closing: exchange.closeAfterResponse, requestEnded: exchange.requestEnded)
            case .none:
                break
            }
        }
    }

    func upstreamReadComplete() {
        // Each read from the upstream goes to the client now: this is what
        // keeps server-sent events flowing one by one.
        self.context?.flush()
    }

    func upstreamWritabilityChanged(isWritable: Bool) {
        switch self.machine.upstreamWritabilityChanged(isWritable: isWritable, now: .now()) {
        case .watchUpstream(let exchange): self.watchUpstream(exchange)
        case .watchClientBody(let exchange): self.watchdog?.enter(.clientBody(exchange))
        case .none: break
        }
        if isWritable { self.releaseHeldRead() }
    }

    func upstreamClosed(error: (any Error)?) {
        let action = self.machine.upstreamClosed()
        if let exchange = action.exchange, let upstream = exchange.upstream {
            self.balancer.finished(upstream)
            exchange.upstream = nil
        }
        self.retime()
        switch action {
        case .cutShort(let exchange):
            // The response is cut short; closing is the only way to tell the client.
            self.finish(exchange, status: exchange.responseStatus ?? 502)
            self.context?.close(promise: nil)
        case .replay(let exchange):
            self.logger.debug("pooled upstream connection was stale, sending the request again")
            self.connectUpstream(for: exchange, freshConnection: true)
        case .answerUnavailable(let exchange):
            self.answer(exchange, with: .upstreamUnavailable)
        case .none:
            break
        }
    }

    // MARK: WebSocket switch

    /// The 101 is complete: both connections drop their HTTP handlers and
    /// become a ``WebSocketTunnel``. This handler and the exchange end here.
    ///
    /// Order matters, because each HTTP decoder still holds the bytes that
    /// followed its head and hands them on only as it leaves, after this
    /// event-loop turn: the upstream decoder, which takes only HTTP request
    /// parts on its way out, must be gone before any client byte is written
    /// upstream, so the client's decoder is removed (and the tunnel started)
    /// only after it.
    private func switchToWebSocket(_ exchange: Exchange, connection: UpstreamConnection, context: ChannelHandlerContext) {
        guard let passthrough = self.settings.webSocket, let permit = exchange.webSocketPermit else {
            return self.answer(exchange, with: .upstreamUnavailable)
        }
        exchange.webSocketPermit = nil  // the tunnel holds it now
        connection.receiver = nil
        if let upstream = exchange.upstream {
            self.balancer.finished(upstream)
            exchange.upstream = nil
        }
        self.finish(exchange, status: 101)
        self.machine.closed()
        context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)

        let tunnel = WebSocketTunnel(
            passthrough: passthrough, permit: permit, eventLoop: context.eventLoop,
            clientAddress: self.clientAddress, logger: self.logger)
        guard let clientRelay = tunnel.clientSide, let upstreamRelay = tunnel.upstreamSide else { return }
        let clientPipeline = context.pipeline.syncOperations
        do {
            try ClientHTTPPipeline.insertRelay(clientRelay, into: clientPipeline)
            let upstreamDecoderGone = try UpstreamConnectionPool.switchToRelay(connection, relay: upstreamRelay)
            _ = clientPipeline.removeHandler(context: context)
            upstreamDecoderGone.assumeIsolated().whenComplete { result in
                guard case .success = result else { return tunnel.close() }
                clientRelay.flush()  // what the upstream sent right after its 101
                ClientHTTPPipeline.removeDecoder(from: clientPipeline).assumeIsolated().whenComplete { result in
                    guard case .success = result else { return tunnel.close() }
                    upstreamRelay.flush()  // what the client sent right after its handshake
                    tunnel.start()
                }
            }
        } catch {
            self.logger.info("websocket switch failed", metadata: ["error": "\(error)"])
            tunnel.close()
            connection.close()
            context.close(promise: nil)
        }
    }

    // MARK: Responses made by the proxy

    /// Writes an error response for `exchange`, closing the connection after
    /// it unless the request was complete and the error is the upstream's.
    /// With `closingAtOnce`, nothing more is read from the client: the
    /// connection closes as soon as the response is written (no lingering).
    private func answer(
        _ exchange: Exchange, with response: ProxyErrorResponse, extraHeaders: HTTPHeaders = [:],
        closingAtOnce: Bool = false
    ) {
        guard let context = self.context else { return }
        self.abandonUpstream(of: exchange, connection: self.machine.upstream)
        let starts = self.machine.answerStarts(exchange)
        self.retime()
        guard starts else { return context.close(promise: nil) }
        let made = ProxyMadeResponse(
            response, for: exchange, extraHeaders: extraHeaders, closingAtOnce: closingAtOnce,
            quiescing: self.machine.quiescing, allocator: context.channel.allocator)
        exchange.responseStarted = true
        exchange.closeAfterResponse = made.closing
        exchange.responseBytes = made.bodyBytes
        context.write(self.wrapOutboundOut(.head(made.head)), promise: nil)
        if let body = made.body {
            context.write(self.wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        }
        self.finish(exchange, status: Int(response.status.code))
        self.writeEnd(trailers: nil, closing: made.closing, requestEnded: exchange.requestEnded || made.closingAtOnce)
    }

    /// Ends the response and either waits for the next request or closes.
    private func writeEnd(trailers: HTTPHeaders?, closing: Bool, requestEnded: Bool) {
        guard let context = self.context else { return }
        switch self.machine.responseEnds(closing: closing, requestEnded: requestEnded) {
        case .writeEndThenLinger:
            context.writeAndFlush(self.wrapOutboundOut(.end(trailers))).assumeIsolated().whenComplete { _ in
                self.linger()
            }
        case .writeEndThenClose:
            context.writeAndFlush(self.wrapOutboundOut(.end(trailers))).assumeIsolated().whenComplete { _ in
                self.context?.close(promise: nil)
            }
        case .writeEndThenNextRequest:
            context.writeAndFlush(self.wrapOutboundOut(.end(trailers)), promise: nil)
            guard self.machine.isIdle else { return }
            self.retime()
            if self.machine.hasPipelinedParts { self.handlePipelined() }
            self.releaseHeldRead()
        }
    }

    /// Keeps reading and discarding for a short while before closing, so a
    /// client still sending a body can read the response instead of a reset.
    private func linger() {
        self.retime()
        self.releaseHeldRead()
    }

    private func finish(_ exchange: Exchange, status: Int) {
        exchange.webSocketPermit?.release()
        exchange.webSocketPermit = nil
        exchange.concurrencyPermit?.release()
        exchange.concurrencyPermit = nil
        // The upstream's slot first: the queue's release admits the next request, which picks an upstream.
        exchange.releaseUpstreamSlotHolding(in: self.balancer)
        exchange.upstreamSlot?.release()
        exchange.upstreamSlot = nil
        // Counted however the exchange ends: a client that leaves once it has
        // its last event (SDKs stop at `[DONE]`) still used the tokens.
        let tokens = exchange.usageMeter?.tokens ?? 0
        if let usageAccounting = self.usageAccounting {
            usageAccounting.record(exchange.usage(status: status), quotas: exchange.tokenQuota?.limits.tokenQuotas ?? [:])
        } else if tokens > 0 {
            exchange.tokenQuota?.record(tokens: tokens)
        }
        exchange.usageMeter = nil
        self.metrics.requestAnswered(status: status, identity: exchange.identity, tokens: tokens)
        guard self.settings.accessLog else { return }
        AccessLog.record(
            exchange, status: status, client: self.clientAddress,
            upstream: exchange.triedUpstreams.last.map { self.balancer.upstreams[$0] },
            logger: self.logger, now: .now())
    }

    // MARK: Reads and timers

    private func releaseHeldRead() {
        guard let context = self.context, self.machine.releaseHeldRead() else { return }
        context.read()
    }

    /// Times the deadline the state machine says the connection is now under.
    private func retime() {
        self.watchdog?.enter(self.machine.deadlinePhase(now: .now(), lingerTimeout: self.settings.lingerTimeout))
    }

    private func watchUpstream(_ exchange: Exchange) {
        exchange.lastActivity = .now()
        self.watchdog?.enter(.upstreamRead(exchange))
    }

    private func deadlinePassed(_ phase: ConnectionWatchdog.Phase) {
        switch self.machine.deadlinePassed(phase) {
        case .none:
            break
        case .close:
            self.context?.close(promise: nil)
        case .answer(let exchange, let response):
            self.answer(exchange, with: response)
        case .abandonAndClose(let exchange, let connection):
            // The upstream connection is closed with the client's (a backend stops generating).
            self.logger.info("client did not read the response in time, closing", metadata: ["client": "\(self.clientAddress)"])
            self.abandonUpstream(of: exchange, connection: connection)
            self.finish(exchange, status: exchange.responseStatus ?? 502)
            self.context?.close(promise: nil)
        }
    }
}
