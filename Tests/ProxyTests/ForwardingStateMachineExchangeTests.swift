import NIOCore
import NIOHTTP1
import Testing
@testable import Proxy

/// The decisions ``ForwardingStateMachine`` takes for the handler beyond
/// reads and pipelining: the deadline phase of each state, the admission
/// decision (WebSocket identity and permits), a failed upstream connection
/// and the upstream's response head.
@Suite("ForwardingStateMachine: admission, connecting, deadlines, response heads")
struct ForwardingStateMachineExchangeTests {
    typealias FakeUpstream = ForwardingStateMachineTests.FakeUpstream
    typealias Machine = ForwardingStateMachine<FakeUpstream>

    private func exchange(method: HTTPMethod = .GET, framing: RequestFraming = .none, webSocket: Bool = false)
        -> Exchange
    {
        let exchange = Exchange(
            clientHead: HTTPRequestHead(version: .http1_1, method: method, uri: "/"), framing: framing, now: .now())
        exchange.isWebSocketUpgrade = webSocket
        return exchange
    }

    private func head(_ uri: String) -> HTTPRequestHead {
        HTTPRequestHead(version: .http1_1, method: .GET, uri: uri)
    }

    // MARK: Deadline phases

    @Test func eachStateIsTimedByItsOwnDeadline() {
        let now = NIODeadline.now()
        let linger = TimeAmount.seconds(2)
        var machine = Machine()
        guard case .requestHead(let since) = machine.deadlinePhase(now: now, lingerTimeout: linger) else {
            Issue.record("an idle connection is not waiting for a head")
            return
        }
        #expect(since == now)

        let upload = self.exchange(method: .POST, framing: .contentLength(10))
        machine.admitting(upload)
        guard case .clientBody(let timed) = machine.deadlinePhase(now: now, lingerTimeout: linger) else {
            Issue.record("a body still to come is not timed while admitting")
            return
        }
        #expect(timed === upload)
        let upstream = FakeUpstream()
        machine.connecting(upload)
        machine.forwarding(upload, over: upstream)
        guard case .clientBody = machine.deadlinePhase(now: now, lingerTimeout: linger) else {
            Issue.record("a body still to come is not timed while forwarding")
            return
        }
        // The upstream stops taking body: the wait is the upstream's.
        _ = machine.upstreamWritabilityChanged(isWritable: false, now: now)
        guard case .upstreamRead = machine.deadlinePhase(now: now, lingerTimeout: linger) else {
            Issue.record("an upstream not taking body is not timed")
            return
        }
        _ = machine.upstreamWritabilityChanged(isWritable: true, now: now)
        upload.requestEnded = true
        let later = now + .seconds(1)
        guard case .upstreamRead(let waited) = machine.deadlinePhase(now: later, lingerTimeout: linger) else {
            Issue.record("a sent request does not wait for the upstream")
            return
        }
        #expect(waited === upload && upload.lastActivity == later, "the upstream's clock starts now")

        let get = self.exchange()
        var answering = Machine()
        answering.admitting(get)
        guard case .none = answering.deadlinePhase(now: now, lingerTimeout: linger) else {
            Issue.record("a request with no body is timed while admitting")
            return
        }
        let starts = answering.answerStarts(get)
        #expect(starts)
        guard case .none = answering.deadlinePhase(now: now, lingerTimeout: linger) else {
            Issue.record("the proxy's own answer is timed")
            return
        }
        _ = answering.responseEnds(closing: true, requestEnded: false)
        guard case .linger(let until) = answering.deadlinePhase(now: now, lingerTimeout: linger) else {
            Issue.record("a lingering connection has no deadline")
            return
        }
        #expect(until == now + linger)
    }

    // MARK: Admission

    @Test func aRejectionIsAnsweredWithItsStatusAndHeaders() {
        var machine = Machine()
        let exchange = self.exchange()
        machine.admitting(exchange)
        let decision = AdmissionDecision.reject(
            status: .unauthorized, headers: ["www-authenticate": "Basic realm=\"x\""], message: "no", code: "c")
        guard
            case .answer(let answered, let response, let headers) = machine.admissionDecided(
                .success(decision), for: exchange, takeWebSocketPermit: { nil })
        else {
            Issue.record("a rejection was not answered")
            return
        }
        #expect(answered === exchange && response.status == .unauthorized)
        #expect(headers.first(name: "www-authenticate") == "Basic realm=\"x\"")
    }

    @Test func aFailedAdmissionIsAnswered502AndALateOneIgnored() {
        var machine = Machine()
        let exchange = self.exchange()
        machine.admitting(exchange)
        struct Failed: Error {}
        guard
            case .answer(_, let response, _) = machine.admissionDecided(
                .failure(Failed()), for: exchange, takeWebSocketPermit: { nil })
        else {
            Issue.record("a failed admission was not answered")
            return
        }
        #expect(response == .upstreamUnavailable)
        _ = machine.clientClosed()
        guard
            case .none = machine.admissionDecided(
                .success(.admit(self.head("/"))), for: exchange, takeWebSocketPermit: { nil })
        else {
            Issue.record("an admission after the client left was acted on")
            return
        }
    }

    @Test func aWebSocketHandshakeNeedsAnIdentityAndAPermit() {
        let limit = WebSocketConnectionLimit(maximum: 1)
        var machine = Machine()
        let anonymous = self.exchange(webSocket: true)
        machine.admitting(anonymous)
        guard
            case .answer(_, let refused, _) = machine.admissionDecided(
                .success(.admit(self.head("/ws"), identity: nil)), for: anonymous,
                takeWebSocketPermit: { limit.take() })
        else {
            Issue.record("an anonymous handshake was forwarded")
            return
        }
        #expect(refused == .webSocketNeedsAuthentication && limit.count == 0)

        let first = self.exchange(webSocket: true)
        machine.admitting(first)
        guard
            case .forward(_, let head) = machine.admissionDecided(
                .success(.admit(self.head("/ws"), identity: "alice")), for: first,
                takeWebSocketPermit: { limit.take() })
        else {
            Issue.record("an authenticated handshake was not forwarded")
            return
        }
        #expect(head.uri == "/ws" && first.webSocketPermit != nil && limit.count == 1)

        let second = self.exchange(webSocket: true)
        machine.admitting(second)
        guard
            case .answer(_, let full, _) = machine.admissionDecided(
                .success(.admit(self.head("/ws"), identity: "bob")), for: second,
                takeWebSocketPermit: { limit.take() })
        else {
            Issue.record("a handshake past the limit was forwarded")
            return
        }
        #expect(full == .webSocketLimitReached && second.webSocketPermit == nil)
    }

    // MARK: A failed connection

    @Test func aFailedConnectionTriesAnotherUpstreamThenAnswers() {
        var machine = Machine()
        let exchange = self.exchange()
        machine.admitting(exchange)
        machine.connecting(exchange)
        exchange.upstream = 0
        exchange.triedUpstreams = [0]
        let another = machine.upstreamConnectFailed(
            for: exchange, error: ChannelError.connectTimeout(.seconds(1)), upstreams: 2)
        #expect(another == .tryAnother && exchange.upstream == nil)
        exchange.upstream = 1
        exchange.triedUpstreams = [0, 1]
        let timedOut = machine.upstreamConnectFailed(
            for: exchange, error: ChannelError.connectTimeout(.seconds(1)), upstreams: 2)
        #expect(timedOut == .answer(.upstreamTimeout))
        let refused = machine.upstreamConnectFailed(for: exchange, error: ChannelError.ioOnClosedChannel, upstreams: 2)
        #expect(refused == .answer(.upstreamUnavailable))

        _ = machine.clientClosed()
        exchange.upstream = 1
        let late = machine.upstreamConnectFailed(for: exchange, error: ChannelError.ioOnClosedChannel, upstreams: 2)
        #expect(late == .none && exchange.upstream == 1, "a failure after the client left changes nothing")
        #expect(!machine.upstreamConnected(for: exchange))
    }

    // MARK: The upstream's response head

    @Test func aResponseHeadIsFramedForTheClientAndEndsTheReplay() {
        let exchange = self.exchange()
        exchange.requestEnded = true
        exchange.replay.startRecording()
        var machine = Machine()
        machine.admitting(exchange)
        machine.connecting(exchange)
        machine.forwarding(exchange, over: FakeUpstream())
        let head = HTTPResponseHead(version: .http1_1, status: .ok, headers: ["content-length": "2", "keep-alive": "x"])
        guard case .forward(_, let clientHead) = machine.upstreamHeadReceived(head, now: .now()) else {
            Issue.record("a response head was not forwarded")
            return
        }
        #expect(clientHead.headers.first(name: "keep-alive") == nil, "hop-by-hop fields are removed")
        #expect(exchange.responseStarted && exchange.responseStatus == 200 && !exchange.closeAfterResponse)
        #expect(exchange.replay.parts == nil)
        #expect(machine.upstreamBodyReceived(bytes: 2, now: .now()) && exchange.responseBytes == 2)

        let idle = Machine()
        guard case .none = idle.upstreamHeadReceived(head, now: .now()) else {
            Issue.record("a head with no exchange was forwarded")
            return
        }
        #expect(!idle.upstreamBodyReceived(bytes: 1, now: .now()))
    }

    @Test func aWebSocketHandshakeSwitchesOnlyToWebSocket() {
        let exchange = self.exchange(webSocket: true)
        var machine = Machine()
        machine.admitting(exchange)
        machine.connecting(exchange)
        machine.forwarding(exchange, over: FakeUpstream())
        let switching = HTTPResponseHead(
            version: .http1_1, status: .switchingProtocols,
            headers: ["upgrade": "websocket", "connection": "upgrade", "sec-websocket-accept": "abc"])
        guard case .switchingToWebSocket(_, let head) = machine.upstreamHeadReceived(switching, now: .now()) else {
            Issue.record("a switch to websocket was not passed on")
            return
        }
        #expect(head.status == .switchingProtocols && head.headers.first(name: "sec-websocket-accept") == "abc")
        #expect(exchange.switchingProtocols && exchange.closeAfterResponse)

        let other = self.exchange(webSocket: true)
        var otherMachine = Machine()
        otherMachine.admitting(other)
        otherMachine.connecting(other)
        otherMachine.forwarding(other, over: FakeUpstream())
        let h2c = HTTPResponseHead(version: .http1_1, status: .switchingProtocols, headers: ["upgrade": "h2c"])
        guard case .answer(_, let response) = otherMachine.upstreamHeadReceived(h2c, now: .now()) else {
            Issue.record("a switch to another protocol was passed on")
            return
        }
        #expect(response == .upstreamSwitchedToAnotherProtocol && !other.switchingProtocols)

        let refused = self.exchange(webSocket: true)
        var refusedMachine = Machine()
        refusedMachine.admitting(refused)
        refusedMachine.connecting(refused)
        refusedMachine.forwarding(refused, over: FakeUpstream())
        let forbidden = HTTPResponseHead(version: .http1_1, status: .forbidden, headers: ["content-length": "0"])
        guard case .forward(_, let head403) = refusedMachine.upstreamHeadReceived(forbidden, now: .now()) else {
            Issue.record("a refused handshake's answer was not forwarded")
            return
        }
        #expect(head403.headers.first(name: "connection") == "close", "nothing after a handshake is parsed")
    }
}
