import NIOCore
import NIOHTTP1

/// The upstream connection as ``ForwardingStateMachine`` sees it: whether
/// it takes more request bytes (which decides whether client reads are
/// held) and whether it may be reused.
protocol ForwardingUpstream: AnyObject {
    /// Whether the upstream connection takes more request bytes now.
    var isWritable: Bool { get }
    /// Whether the upstream lets the connection be reused after its response.
    var keepAlive: Bool { get }
}

extension UpstreamConnection: ForwardingUpstream {}

/// The life of one client connection through the ``ForwardingHandler``, as
/// state: each event returns what the handler must do, so the decisions
/// (pipelining, read holding, the request body and its limit, 100-continue,
/// quiesce, deadlines, the client going away, the upstream closing, the end
/// of a response) can be tested without a channel.
///
/// ```
/// idle ─head─▶ admitting ─admit─▶ connecting ─connected─▶ forwarding ─end─▶ idle
///   │              │ reject          │ failed                │ cut short / deadline
///   │              └──────▶ answering (proxy-made response) ◀┘
///   │                         │ closing, body unread: lingering ─deadline─▶ closed
///   └─quiesce / deadline──────┴──────────────────────────────────────────▶ closed
/// ```
///
/// Generic over the upstream connection only so tests can stand in for it;
/// the handler uses ``UpstreamConnection``. The ``Exchange`` of the current
/// request is a shared reference: the handler fills it in as it forwards.
struct ForwardingStateMachine<Upstream: ForwardingUpstream> {
    enum State {
        /// Waiting for a request head.
        case idle
        /// The admission step has not decided yet.
        case admitting(Exchange)
        /// Opening a connection to an upstream.
        case connecting(Exchange)
        /// The request is going up and the response coming down.
        case forwarding(Exchange, Upstream)
        /// Writing a response made by the proxy itself.
        case answering(Exchange)
        /// Closing after an error: reading and discarding until the linger timeout.
        case lingering
        case closed
    }

    /// Read by tests only: the handler acts on what the events return.
    private(set) var state = State.idle
    /// Set by graceful shutdown: close once the current response is done.
    private(set) var quiescing = false
    /// A `read()` asked for while reads are held.
    private var readPending = false
    /// Parts of pipelined requests that arrived before the current response ended.
    private var pipelined = CircularBuffer<HTTPServerRequestPart>()
    /// Body bytes held in ``pipelined``.
    private var pipelinedBodyBytes = 0
    /// Bounds on the pipelined parts. Client reads are held while anything
    /// is queued, so a client that pipelines can add at most what one read
    /// decodes into; these bound even that (many tiny requests in one read).
    static var maxPipelinedParts: Int { 1024 }
    static var maxPipelinedBodyBytes: Int { 1024 * 1024 }

    // MARK: Transitions the handler drives

    /// A screened head was handed to admission.
    mutating func admitting(_ exchange: Exchange) { self.state = .admitting(exchange) }
    /// An upstream connection is being opened for the exchange.
    mutating func connecting(_ exchange: Exchange) { self.state = .connecting(exchange) }
    /// The exchange now goes over `upstream`.
    mutating func forwarding(_ exchange: Exchange, over upstream: Upstream) {
        self.state = .forwarding(exchange, upstream)
    }
    /// The connection is closed, or will be with nothing more done on it.
    mutating func closed() { self.state = .closed }

    // MARK: Admission and connecting

    enum AdmissionAction {
        /// Forward the request: the upstream head is made from this one.
        case forward(Exchange, HTTPRequestHead)
        /// Answer with a proxy-made response (and these extra headers); forward nothing.
        case answer(Exchange, ProxyErrorResponse, extraHeaders: HTTPHeaders)
        /// The exchange is no longer waiting for admission (the client left).
        case none
    }

    /// The admission step decided for `exchange`, at once or later (a
    /// failed future is answered 502). A WebSocket handshake goes on only
    /// with an identity (passthrough is never anonymous) and a permit under
    /// the listener's limit, from `takeWebSocketPermit`; the exchange holds
    /// the permit from then on.
    func admissionDecided(
        _ result: Result<AdmissionDecision, any Error>, for exchange: Exchange,
        takeWebSocketPermit: () -> WebSocketConnectionLimit.Permit?
    ) -> AdmissionAction {
        guard self.isAdmitting(exchange) else { return .none }
        switch result {
        case .failure:
            return .answer(exchange, .upstreamUnavailable, extraHeaders: [:])
        case .success(.reject(let status, let headers, let message, let code)):
            let response = ProxyErrorResponse(
                status: status, message: message, type: AccessResponses.errorType(for: status), code: code)
            return .answer(exchange, response, extraHeaders: headers)
        case .success(.admit(let head, let identity)):
            exchange.identity = identity
            guard exchange.isWebSocketUpgrade else { return .forward(exchange, head) }
            guard identity != nil else { return .answer(exchange, .webSocketNeedsAuthentication, extraHeaders: [:]) }
            guard let permit = takeWebSocketPermit() else {
                return .answer(exchange, .webSocketLimitReached, extraHeaders: [:])
            }
            exchange.webSocketPermit = permit
            return .forward(exchange, head)
        }
    }

    /// A new upstream connection opened for `exchange`: returns whether to
    /// forward on it (otherwise the client left meanwhile, and the fresh
    /// connection goes to the pool).
    func upstreamConnected(for exchange: Exchange) -> Bool {
        self.isConnecting(exchange)
    }

    enum ConnectFailedAction: Equatable {
        /// Pick another upstream (the failed one is excluded).
        case tryAnother
        /// Every upstream was tried: answer with this response.
        case answer(ProxyErrorResponse)
        /// The exchange is no longer waiting for a connection (the client left).
        case none
    }

    /// Opening a connection for `exchange` failed (``UpstreamFailover``).
    /// Unless `.none`, the exchange no longer counts against its upstream:
    /// the handler tells the balancer it finished.
    /// - Parameter upstreams: how many upstreams there are.
    func upstreamConnectFailed(for exchange: Exchange, error: any Error, upstreams: Int) -> ConnectFailedAction {
        guard self.isConnecting(exchange) else { return .none }
        exchange.upstream = nil
        switch UpstreamFailover.afterConnectFailure(error, tried: exchange.triedUpstreams.count, upstreams: upstreams) {
        case .tryAnother: return .tryAnother
        case .answer(let response): return .answer(response)
        }
    }

    /// Whether `exchange` is the one waiting for admission.
    func isAdmitting(_ exchange: Exchange) -> Bool {
        if case .admitting(let current) = self.state { return current === exchange }
        return false
    }

    /// Whether `exchange` is the one waiting for its upstream connection.
    func isConnecting(_ exchange: Exchange) -> Bool {
        if case .connecting(let current) = self.state { return current === exchange }
        return false
    }

    /// Whether `exchange` is the request being admitted, connected or forwarded.
    func isCurrent(_ exchange: Exchange) -> Bool {
        switch self.state {
        case .admitting(let current), .connecting(let current), .forwarding(let current, _):
            return current === exchange
        case .idle, .answering, .lingering, .closed:
            return false
        }
    }

    /// The exchange being forwarded, while forwarding.
    var currentExchange: Exchange? {
        if case .forwarding(let exchange, _) = self.state { return exchange }
        return nil
    }

    /// The upstream connection in use, while forwarding.
    var upstream: Upstream? {
        if case .forwarding(_, let upstream) = self.state { return upstream }
        return nil
    }

    // MARK: Client parts and pipelining

    enum ClientPartAction {
        /// The part belongs to the current request (or starts one): handle it now.
        case handle(HTTPServerRequestPart)
        /// The part belongs to a pipelined request and waits.
        case queued
        /// The client pipelined past the bounds: the queue is dropped, close.
        case closePipelinedTooMuch
    }

    /// A request part arrived from the client.
    mutating func clientPartReceived(_ part: HTTPServerRequestPart) -> ClientPartAction {
        guard !self.pipelined.isEmpty || !self.acceptsRequestParts else { return .handle(part) }
        self.pipelined.append(part)
        if case .body(let body) = part { self.pipelinedBodyBytes += body.readableBytes }
        guard self.pipelined.count > Self.maxPipelinedParts || self.pipelinedBodyBytes > Self.maxPipelinedBodyBytes
        else { return .queued }
        self.pipelined.removeAll()
        self.pipelinedBodyBytes = 0
        return .closePipelinedTooMuch
    }

    /// The next queued pipelined part, if the current request takes one now.
    mutating func nextPipelinedPart() -> HTTPServerRequestPart? {
        guard !self.pipelined.isEmpty && self.acceptsRequestParts else { return nil }
        let part = self.pipelined.removeFirst()
        if case .body(let body) = part { self.pipelinedBodyBytes -= body.readableBytes }
        return part
    }

    /// Whether any pipelined part waits.
    var hasPipelinedParts: Bool { !self.pipelined.isEmpty }

    /// Whether a request head that was just handed over goes to the admin
    /// console rather than being forwarded: a console is on the listener
    /// (`consoleOn`), the connection waits for its next request (so no
    /// forwarded response is still being written), and the target's path is
    /// the console's. Pipelined parts still queued behind the head go with
    /// it, in order (``takePipelinedParts()``).
    func routesToConsole(_ head: HTTPRequestHead, consoleOn: Bool) -> Bool {
        consoleOn && self.isIdle && AdminConsoleHandler.isConsolePath(head.uri)
    }

    /// Empties the queue of pipelined parts and returns them, oldest first.
    mutating func takePipelinedParts() -> [HTTPServerRequestPart] {
        let parts = Array(self.pipelined)
        self.pipelined.removeAll()
        self.pipelinedBodyBytes = 0
        return parts
    }

    /// Whether a request part now belongs to the current request (or starts
    /// one), rather than to a pipelined request that must wait.
    private var acceptsRequestParts: Bool {
        switch self.state {
        case .idle, .lingering, .closed:
            return true
        case .admitting(let exchange), .connecting(let exchange), .forwarding(let exchange, _),
            .answering(let exchange):
            return !exchange.requestEnded
        }
    }

    // MARK: The request body

    enum ClientBodyAction {
        /// Keep the part until the upstream connection is ready.
        case hold(Exchange)
        /// Send the part upstream (and record it for a replay).
        case forward(Exchange, Upstream)
        /// The body passed the limit before the response began: close the
        /// upstream connection, if any, and answer 413.
        case answerTooLarge(Exchange, Upstream?)
        /// The body passed the limit after the response began: close.
        case close
        /// The rest of a request that was already answered.
        case discard
    }

    /// A part of the current request's body arrived; it is counted against `limit`.
    mutating func clientBodyReceived(bytes: Int, limit: Int, now: NIODeadline) -> ClientBodyAction {
        let exchange: Exchange
        let upstream: Upstream?
        switch self.state {
        case .admitting(let current), .connecting(let current): (exchange, upstream) = (current, nil)
        case .forwarding(let current, let connection): (exchange, upstream) = (current, connection)
        case .idle, .answering, .lingering, .closed: return .discard
        }
        exchange.requestBodyBytes += bytes
        exchange.lastActivity = now
        guard exchange.requestBodyBytes <= Self.bodyLimit(for: exchange, configured: limit) else {
            return exchange.responseStarted ? .close : .answerTooLarge(exchange, upstream)
        }
        guard let upstream else { return .hold(exchange) }
        return .forward(exchange, upstream)
    }

    /// The body limit of `exchange`: the configured one, lower while the
    /// body is held for an ``IdentityPolicy`` whose limits depend on reading
    /// it. (A body held only to ask a stream for its usage is forwarded
    /// unread past that size instead: ``ForwardingHandler``.)
    static func bodyLimit(for exchange: Exchange, configured: Int) -> Int {
        exchange.bodyInspection?.refusesUncheckedBody == true
            ? min(configured, IdentityPolicy.maxInspectedBodyBytes) : configured
    }

    enum ClientEndAction {
        /// Keep the end until the upstream connection is ready.
        case hold(Exchange)
        /// Send the end upstream (and record it for a replay); with
        /// `watchUpstream`, the upstream's answer is now awaited.
        case forward(Exchange, Upstream, watchUpstream: Bool)
        case none
    }

    /// The current request ended.
    mutating func clientEndReceived() -> ClientEndAction {
        switch self.state {
        case .admitting(let exchange), .connecting(let exchange):
            exchange.requestEnded = true
            return .hold(exchange)
        case .forwarding(let exchange, let upstream):
            exchange.requestEnded = true
            return .forward(exchange, upstream, watchUpstream: !exchange.responseStarted)
        case .answering(let exchange):
            exchange.requestEnded = true
            return .none
        case .idle, .lingering, .closed:
            return .none
        }
    }

    /// Whether the proxy answers `100 Continue` for an admitted request
    /// whose head had `Expect: 100-continue`. Like nginx, the proxy answers
    /// it itself once it has decided to take the body, and does not pass it
    /// on; a body already complete needs no invitation.
    func answersContinue(expectsContinue: Bool, for exchange: Exchange) -> Bool {
        expectsContinue && !exchange.requestEnded
    }

    // MARK: Client reads

    /// Whether client reads are held now.
    var clientReadsHeld: Bool {
        if !self.pipelined.isEmpty { return true }
        switch self.state {
        // Closing: whatever the client still sends is not read (after an
        // upgrade head it would not even be parsed, only buffered).
        // A body held for its model to be checked is read on (bounded by
        // ``IdentityPolicy/maxInspectedBodyBytes``).
        case .admitting(let exchange): return !exchange.awaitsInspectedBody
        case .connecting, .answering, .closed: return true
        // A WebSocket handshake: nothing after it is HTTP, so nothing is read
        // until the connection switches (the relay reads then) or closes.
        case .forwarding(let exchange, let upstream): return exchange.isWebSocketUpgrade || !upstream.isWritable
        case .idle, .lingering: return false
        }
    }

    /// The pipeline asked for a read: returns whether to pass it on now
    /// (otherwise it is kept until ``releaseHeldRead()``).
    mutating func readRequested() -> Bool {
        guard self.clientReadsHeld else { return true }
        self.readPending = true
        return false
    }

    /// Returns whether a held read should be passed on now.
    mutating func releaseHeldRead() -> Bool {
        guard self.readPending, !self.clientReadsHeld else { return false }
        self.readPending = false
        return true
    }

    // MARK: Proxy-made responses and the end of a response

    /// A proxy-made response for the exchange begins: returns `false` if a
    /// response had already begun, in which case the connection is now
    /// closed and closing it is the only answer left.
    mutating func answerStarts(_ exchange: Exchange) -> Bool {
        guard !exchange.responseStarted else {
            self.state = .closed
            return false
        }
        self.state = .answering(exchange)
        return true
    }

    enum ResponseEndAction: Equatable {
        /// Write the end, then keep reading and discarding until the linger deadline.
        case writeEndThenLinger
        /// Write the end, then close.
        case writeEndThenClose
        /// Write the end, then wait for the next request (handling pipelined parts).
        case writeEndThenNextRequest
    }

    /// The response to the current exchange is complete but for its end.
    mutating func responseEnds(closing: Bool, requestEnded: Bool) -> ResponseEndAction {
        if closing && !requestEnded {
            self.state = .lingering
            return .writeEndThenLinger
        } else if closing {
            self.state = .closed
            return .writeEndThenClose
        }
        self.state = .idle
        return .writeEndThenNextRequest
    }

    /// Whether the connection is waiting for a request head.
    var isIdle: Bool {
        if case .idle = self.state { return true }
        return false
    }

    /// Whether the connection is lingering after an error.
    var isLingering: Bool {
        if case .lingering = self.state { return true }
        return false
    }

    // MARK: Upstream events

    enum UpstreamHeadAction {
        /// Write this head to the client.
        case forward(Exchange, HTTPResponseHead)
        /// The upstream switches to websocket: write this 101 to the client;
        /// the switch itself waits for the response's end.
        case switchingToWebSocket(Exchange, HTTPResponseHead)
        /// Answer with a proxy-made response instead (a switch to another protocol).
        case answer(Exchange, ProxyErrorResponse)
        case none
    }

    /// The upstream's response head arrived: nothing is replayed from now
    /// on. After a WebSocket handshake the client connection closes after
    /// any answer but a switch to websocket (its decoder parses nothing
    /// more); other heads are framed for the client (``ClientResponseHead``).
    func upstreamHeadReceived(_ head: HTTPResponseHead, now: NIODeadline) -> UpstreamHeadAction {
        guard case .forwarding(let exchange, _) = self.state else { return .none }
        exchange.lastActivity = now
        exchange.replay.stopRecording()
        if exchange.isWebSocketUpgrade {
            exchange.closeAfterResponse = true
            if head.status == .switchingProtocols {
                guard let switching = ClientResponseHead.webSocketSwitch(for: head) else {
                    return .answer(exchange, .upstreamSwitchedToAnotherProtocol)
                }
                exchange.switchingProtocols = true
                exchange.responseStarted = true
                exchange.responseStatus = 101
                return .switchingToWebSocket(exchange, switching)
            }
        }
        exchange.responseStarted = true
        exchange.responseStatus = Int(head.status.code)
        let clientHead = ClientResponseHead(
            for: head, clientHead: exchange.clientHead, requestEnded: exchange.requestEnded,
            closeAfterResponse: exchange.closeAfterResponse, quiescing: self.quiescing)
        exchange.closeAfterResponse = clientHead.closeAfterResponse
        return .forward(exchange, clientHead.head)
    }

    /// A part of the upstream's response body arrived: returns whether to
    /// pass it to the client (only while forwarding).
    func upstreamBodyReceived(bytes: Int, now: NIODeadline) -> Bool {
        guard case .forwarding(let exchange, _) = self.state else { return false }
        exchange.lastActivity = now
        exchange.responseBytes += bytes
        return true
    }

    enum UpstreamEndAction {
        /// The exchange is done: return the upstream connection to the pool
        /// if `reusable`, else close it; then end the client's response.
        case finish(Exchange, Upstream, reusable: Bool)
        /// The 101 to websocket is complete: switch both connections to a tunnel.
        case switchToWebSocket(Exchange, Upstream)
        case none
    }

    /// The upstream's response ended.
    mutating func upstreamResponseEnded() -> UpstreamEndAction {
        guard case .forwarding(let exchange, let upstream) = self.state else { return .none }
        if exchange.switchingProtocols { return .switchToWebSocket(exchange, upstream) }
        self.state = .idle
        let reusable = exchange.requestEnded && upstream.keepAlive && !exchange.isWebSocketUpgrade
        return .finish(exchange, upstream, reusable: reusable)
    }

    enum UpstreamWritabilityAction {
        /// The upstream stopped taking body: client reads are held, and the
        /// wait is the upstream's (its read timeout), not the client's body deadline.
        case watchUpstream(Exchange)
        /// The upstream takes body again: the client's body deadline runs
        /// on, the wait not counted against it.
        case watchClientBody(Exchange)
        case none
    }

    /// The upstream connection became writable or stopped being so.
    mutating func upstreamWritabilityChanged(isWritable: Bool, now: NIODeadline) -> UpstreamWritabilityAction {
        guard case .forwarding(let exchange, _) = self.state, exchange.requestHasBody, !exchange.requestEnded,
            !exchange.responseStarted
        else { return .none }
        if !isWritable, exchange.waitingOnUpstreamSince == nil {
            exchange.waitingOnUpstreamSince = now
            return .watchUpstream(exchange)
        } else if isWritable, let since = exchange.waitingOnUpstreamSince {
            exchange.bodyTimeNotCounted = exchange.bodyTimeNotCounted + (now - since)
            exchange.waitingOnUpstreamSince = nil
            exchange.lastActivity = now
            return .watchClientBody(exchange)
        }
        return .none
    }

    enum ClientWritabilityAction {
        /// Hold (or resume) the upstream's reads as the client stops (or
        /// starts again) taking bytes. Once the response has begun, time
        /// the client's sending while it takes nothing (the paused upstream's
        /// read timeout cannot run), and the upstream again when it does.
        case holdUpstreamReads(Upstream, hold: Bool, watchUpstream: Exchange?, watchClientSend: Bool)
        case none
    }

    /// The client connection became writable or stopped being so.
    func clientWritabilityChanged(isWritable: Bool) -> ClientWritabilityAction {
        guard case .forwarding(let exchange, let upstream) = self.state else { return .none }
        let started = exchange.responseStarted
        return .holdUpstreamReads(
            upstream, hold: !isWritable, watchUpstream: started && isWritable ? exchange : nil,
            watchClientSend: started && !isWritable)
    }

    enum UpstreamClosedAction {
        /// The response was cut short: finish the exchange and close the client connection.
        case cutShort(Exchange)
        /// A reused connection was stale: send the request again on a new connection.
        case replay(Exchange)
        /// The upstream closed before answering: answer 502.
        case answerUnavailable(Exchange)
        case none

        /// The exchange the upstream closed under, if any: it no longer
        /// counts against that upstream in the balancer.
        var exchange: Exchange? {
            switch self {
            case .cutShort(let exchange), .replay(let exchange), .answerUnavailable(let exchange): return exchange
            case .none: return nil
            }
        }
    }

    /// The upstream connection closed (before its response ended).
    mutating func upstreamClosed() -> UpstreamClosedAction {
        guard case .forwarding(let exchange, _) = self.state else { return .none }
        if exchange.responseStarted {
            self.state = .closed
            return .cutShort(exchange)
        }
        // A reused connection closed before any answer: the upstream most
        // likely closed it as idle while the request was on its way, and did
        // not see the request. It goes once more on a new connection, as
        // nginx and HTTP clients do with stale keep-alive connections.
        guard let parts = exchange.replay.takeForRetry() else { return .answerUnavailable(exchange) }
        exchange.pendingParts = parts
        exchange.triedUpstreams.removeLast()
        self.state = .connecting(exchange)
        return .replay(exchange)
    }

    // MARK: Connection events

    enum QuiesceAction: Equatable {
        /// Nothing is in flight: close now.
        case close
        /// Close once the current response is done.
        case closeAfterResponse
    }

    /// Graceful shutdown began.
    mutating func quiesce() -> QuiesceAction {
        self.quiescing = true
        guard case .idle = self.state else { return .closeAfterResponse }
        self.state = .closed
        return .close
    }

    enum ClientClosedAction {
        /// The client went away mid-exchange: close the upstream connection
        /// (if any) so the backend stops generating, and log 499 as nginx does.
        case abandon(Exchange, Upstream?)
        case none
    }

    /// The client connection closed.
    mutating func clientClosed() -> ClientClosedAction {
        defer { self.state = .closed }
        switch self.state {
        case .forwarding(let exchange, let upstream): return .abandon(exchange, upstream)
        case .admitting(let exchange), .connecting(let exchange): return .abandon(exchange, nil)
        case .idle, .answering, .lingering, .closed: return .none
        }
    }

    enum ParserErrorAction: Equatable {
        /// No request is under way: answer with this response.
        case answer(ProxyErrorResponse)
        /// The request body was malformed after forwarding began: close.
        case close
        /// A response is already being written, or the connection is closing.
        case none
    }

    /// The HTTP decoder found the client's bytes invalid.
    func parserFailed(_ error: HTTPParserError) -> ParserErrorAction {
        switch self.state {
        case .idle:
            return .answer(
                error == .headerOverflow
                    ? .headerTooLarge : .badRequest("The request is not valid HTTP/1.1 (\(error))."))
        case .answering, .lingering, .closed:
            return .none
        case .admitting, .connecting, .forwarding:
            return .close
        }
    }

    /// The deadline phase to time after a transition, from the state: a
    /// request head while idle, the linger while lingering, the request
    /// body while it is still coming (and the upstream takes it), the
    /// upstream's answer once the request is sent or the upstream stopped
    /// taking body, and nothing while the proxy answers itself or the
    /// connection closes. (The client's sending is timed from
    /// ``clientWritabilityChanged(isWritable:)`` instead.)
    ///
    /// Timing the upstream starts its clock now (the exchange's last activity).
    func deadlinePhase(now: NIODeadline, lingerTimeout: TimeAmount) -> ConnectionWatchdog.Phase {
        switch self.state {
        case .idle:
            return .requestHead(since: now)
        case .lingering:
            return .linger(until: now + lingerTimeout)
        case .answering, .closed:
            return .none
        case .admitting(let exchange), .connecting(let exchange):
            let bodyComing = exchange.requestHasBody && !exchange.requestEnded && !exchange.waitsForUpstreamSlot
            return bodyComing ? .clientBody(exchange) : .none
        case .forwarding(let exchange, _):
            if exchange.requestHasBody && !exchange.requestEnded && !exchange.responseStarted
                && exchange.waitingOnUpstreamSince == nil
            {
                return .clientBody(exchange)
            }
            exchange.lastActivity = now
            return .upstreamRead(exchange)
        }
    }

    enum DeadlineAction {
        /// Close the connection (a request head or the linger did not end in time).
        case close
        /// Answer the current exchange with this response.
        case answer(Exchange, ProxyErrorResponse)
        /// The client did not read the response in time: close the upstream
        /// connection, finish the exchange, close.
        case abandonAndClose(Exchange, Upstream)
        case none
    }

    /// The deadline of a ``ConnectionWatchdog`` phase passed.
    mutating func deadlinePassed(_ phase: ConnectionWatchdog.Phase) -> DeadlineAction {
        switch phase {
        case .none:
            return .none
        case .requestHead, .linger:
            // A client that does not send a complete request in time is cut off (slow-header defence).
            self.state = .closed
            return .close
        case .clientBody(let exchange):
            return self.isCurrent(exchange) && !exchange.requestEnded ? .answer(exchange, .requestTimeout) : .none
        case .upstreamRead(let exchange):
            return self.isCurrent(exchange) ? .answer(exchange, .upstreamTimeout) : .none
        case .clientSend:
            // The response has begun, so closing is the only answer.
            defer { self.state = .closed }
            if case .forwarding(let exchange, let upstream) = self.state { return .abandonAndClose(exchange, upstream) }
            return .close
        }
    }
}
