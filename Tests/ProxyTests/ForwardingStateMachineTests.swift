import NIOCore
import NIOHTTP1
import Testing
@testable import Proxy

/// ``ForwardingStateMachine`` on its own: every decision the
/// ``ForwardingHandler`` takes about one client connection, without a channel.
@Suite("ForwardingStateMachine")
struct ForwardingStateMachineTests {
    /// Stands in for an ``UpstreamConnection``.
    final class FakeUpstream: ForwardingUpstream {
        var isWritable = true
        var keepAlive = true
    }

    typealias Machine = ForwardingStateMachine<FakeUpstream>

    private func exchange(method: HTTPMethod = .GET, framing: RequestFraming = .none) -> Exchange {
        Exchange(clientHead: HTTPRequestHead(version: .http1_1, method: method, uri: "/"), framing: framing, now: .now())
    }

    /// A machine forwarding `exchange` over `upstream`, through the public transitions.
    private func forwarding(_ exchange: Exchange, over upstream: FakeUpstream) -> Machine {
        var machine = Machine()
        machine.admitting(exchange)
        machine.connecting(exchange)
        machine.forwarding(exchange, over: upstream)
        return machine
    }

    private func handled(_ action: Machine.ClientPartAction) -> HTTPServerRequestPart? {
        if case .handle(let part) = action { return part }
        return nil
    }

    private func isQueued(_ action: Machine.ClientPartAction) -> Bool {
        if case .queued = action { return true }
        return false
    }

    // MARK: Pipelining and reads

    @Test func partsOfAPipelinedRequestWaitUntilTheResponseEnds() throws {
        let first = self.exchange()
        var machine = self.forwarding(first, over: FakeUpstream())
        // The current request's parts are handled at once.
        let currentEnd = machine.clientPartReceived(.end(nil))
        #expect(self.handled(currentEnd) != nil)
        first.requestEnded = true
        let next = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/next")
        let pipelinedHead = machine.clientPartReceived(.head(next))
        #expect(self.isQueued(pipelinedHead))
        let pipelinedEnd = machine.clientPartReceived(.end(nil))
        #expect(self.isQueued(pipelinedEnd))
        #expect(machine.clientReadsHeld)
        let readNow = machine.readRequested()
        #expect(readNow == false)
        let tooEarly = machine.nextPipelinedPart()
        #expect(tooEarly == nil, "the current response has not ended")

        let ending = machine.responseEnds(closing: false, requestEnded: true)
        #expect(ending == .writeEndThenNextRequest)
        #expect(machine.isIdle)
        guard case .head(let head)? = machine.nextPipelinedPart() else {
            Issue.record("the pipelined head was not handed back")
            return
        }
        #expect(head.uri == "/next")
        // Handling the head starts the next exchange: its end belongs to it.
        machine.admitting(self.exchange())
        guard case .end? = machine.nextPipelinedPart() else {
            Issue.record("the pipelined end was not handed back")
            return
        }
        #expect(!machine.hasPipelinedParts)
        // The held read goes once nothing is queued and the state reads again.
        machine.forwarding(self.exchange(), over: FakeUpstream())
        let released = machine.releaseHeldRead()
        #expect(released)
        let releasedAgain = machine.releaseHeldRead()
        #expect(!releasedAgain, "a held read is released once")
    }

    @Test func aConsoleRequestGoesToTheConsoleOnlyBetweenResponsesWithThePartsQueuedBehindIt() {
        let console = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/admin/login")
        let api = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/v1/models")
        let first = self.exchange()
        first.requestEnded = true
        var machine = self.forwarding(first, over: FakeUpstream())
        // While a forwarded response is being written, nothing goes to the console: it waits in the queue.
        #expect(!machine.routesToConsole(console, consoleOn: true))
        let queuedParts: [HTTPServerRequestPart] = [.head(console), .body(ByteBuffer(string: "a=1")), .end(nil), .head(api)]
        for part in queuedParts { #expect(self.isQueued(machine.clientPartReceived(part))) }
        #expect(machine.responseEnds(closing: false, requestEnded: true) == .writeEndThenNextRequest)
        guard case .head(let next)? = machine.nextPipelinedPart() else {
            Issue.record("the pipelined head was not handed back")
            return
        }
        // Between responses: a console path goes to the console when one is on; no other path does.
        #expect(machine.routesToConsole(next, consoleOn: true))
        #expect(!machine.routesToConsole(next, consoleOn: false))
        #expect(!machine.routesToConsole(api, consoleOn: true))
        #expect(!machine.routesToConsole(HTTPRequestHead(version: .http1_1, method: .GET, uri: "/administrator"), consoleOn: true))
        // What was queued behind the head goes with it, in order, and the queue no longer holds reads.
        let rest = machine.takePipelinedParts()
        #expect(rest.count == 3)
        guard case .body(let body) = rest[0], case .end = rest[1], case .head(let last) = rest[2] else {
            Issue.record("the queued parts came back out of order: \(rest)")
            return
        }
        #expect(String(buffer: body) == "a=1" && last.uri == "/v1/models")
        #expect(!machine.hasPipelinedParts && !machine.clientReadsHeld)
        // A lingering connection takes no new request, the console's neither.
        var lingering = self.forwarding(self.exchange(), over: FakeUpstream())
        #expect(lingering.responseEnds(closing: true, requestEnded: false) == .writeEndThenLinger)
        #expect(!lingering.routesToConsole(console, consoleOn: true))
    }

    @Test func aClientPipeliningPastTheBoundIsClosed() {
        let current = self.exchange()
        current.requestEnded = true
        var machine = self.forwarding(current, over: FakeUpstream())
        let tiny = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/")
        for _ in 0..<Machine.maxPipelinedParts {
            let queued = machine.clientPartReceived(.head(tiny))
            #expect(self.isQueued(queued))
        }
        guard case .closePipelinedTooMuch = machine.clientPartReceived(.head(tiny)) else {
            Issue.record("the part past the bound was queued")
            return
        }
        #expect(!machine.hasPipelinedParts, "the queue is dropped")
    }

    @Test func pipelinedBodyBytesAreBounded() {
        let current = self.exchange()
        current.requestEnded = true
        var machine = self.forwarding(current, over: FakeUpstream())
        let body = ByteBuffer(repeating: 0x61, count: Machine.maxPipelinedBodyBytes)
        let queued = machine.clientPartReceived(.body(body))
        #expect(self.isQueued(queued))
        guard case .closePipelinedTooMuch = machine.clientPartReceived(.body(ByteBuffer(string: "x"))) else {
            Issue.record("body bytes past the bound were queued")
            return
        }
    }

    @Test func readsAreHeldWhileAdmittingConnectingOrAnUpstreamTakesNoMore() {
        var machine = Machine()
        #expect(!machine.clientReadsHeld)
        let readNow = machine.readRequested()
        #expect(readNow)
        let exchange = self.exchange(method: .POST, framing: .contentLength(10))
        machine.admitting(exchange)
        #expect(machine.clientReadsHeld)
        let readNowHeld = machine.readRequested()
        #expect(!readNowHeld)
        machine.connecting(exchange)
        let releasedWhileConnecting = machine.releaseHeldRead()
        #expect(!releasedWhileConnecting)
        let upstream = FakeUpstream()
        upstream.isWritable = false
        machine.forwarding(exchange, over: upstream)
        #expect(machine.clientReadsHeld, "the upstream takes no more body")
        let releasedWhileUpstreamFull = machine.releaseHeldRead()
        #expect(!releasedWhileUpstreamFull)
        upstream.isWritable = true
        let releasedOnceWritable = machine.releaseHeldRead()
        #expect(releasedOnceWritable)
    }

    @Test func aWebSocketHandshakeHoldsReadsUntilTheSwitch() {
        let exchange = self.exchange()
        exchange.isWebSocketUpgrade = true
        let machine = self.forwarding(exchange, over: FakeUpstream())
        #expect(machine.clientReadsHeld, "nothing after a WebSocket handshake is HTTP")
    }

    // MARK: Admission and connecting

    @Test func aLateAdmissionOrConnectionIsNotTakenForTheCurrentExchange() {
        var machine = Machine()
        let exchange = self.exchange()
        machine.admitting(exchange)
        #expect(machine.isAdmitting(exchange))
        #expect(!machine.isAdmitting(self.exchange()))
        #expect(!machine.isConnecting(exchange))
        machine.connecting(exchange)
        #expect(machine.isConnecting(exchange) && !machine.isAdmitting(exchange))
        guard case .abandon(let abandoned, let upstream) = machine.clientClosed() else {
            Issue.record("a client going away while connecting is not abandoned")
            return
        }
        #expect(abandoned === exchange && upstream == nil)
        #expect(!machine.isConnecting(exchange), "a connection opened after the client left is not used")
    }

    // MARK: The request body

    @Test func aBodyIsHeldUntilConnectedThenForwarded() {
        let exchange = self.exchange(method: .POST, framing: .contentLength(4))
        var machine = Machine()
        machine.admitting(exchange)
        let now = NIODeadline.now()
        guard case .hold(let holding) = machine.clientBodyReceived(bytes: 2, limit: 4, now: now) else {
            Issue.record("a body part before the upstream connection was not held")
            return
        }
        #expect(holding === exchange && exchange.requestBodyBytes == 2 && exchange.lastActivity == now)
        let upstream = FakeUpstream()
        machine.forwarding(exchange, over: upstream)
        guard case .forward(_, let connection) = machine.clientBodyReceived(bytes: 2, limit: 4, now: now) else {
            Issue.record("a body part was not forwarded")
            return
        }
        #expect(connection === upstream)
        guard case .forward(_, _, let watchUpstream) = machine.clientEndReceived() else {
            Issue.record("the end was not forwarded")
            return
        }
        #expect(watchUpstream && exchange.requestEnded, "the upstream's answer is awaited from the end")
    }

    @Test func aBodyPastTheLimitIsAnswered413OrClosedOnceTheResponseBegan() {
        let exchange = self.exchange(method: .POST, framing: .chunked)
        let upstream = FakeUpstream()
        var machine = self.forwarding(exchange, over: upstream)
        guard case .answerTooLarge(let refused, let connection) = machine.clientBodyReceived(
            bytes: 11, limit: 10, now: .now())
        else {
            Issue.record("a body past the limit was not answered")
            return
        }
        #expect(refused === exchange && connection === upstream)

        let streaming = self.exchange(method: .POST, framing: .chunked)
        streaming.responseStarted = true
        machine = self.forwarding(streaming, over: upstream)
        guard case .close = machine.clientBodyReceived(bytes: 11, limit: 10, now: .now()) else {
            Issue.record("a body past the limit during the response did not close")
            return
        }
        var idle = Machine()
        guard case .discard = idle.clientBodyReceived(bytes: 11, limit: 10, now: .now()) else {
            Issue.record("the rest of an answered request was not discarded")
            return
        }
    }

    @Test func anEndWhileAnsweringOrHeldIsRecorded() {
        let exchange = self.exchange(method: .POST, framing: .contentLength(1))
        var machine = Machine()
        machine.connecting(exchange)
        guard case .hold = machine.clientEndReceived() else {
            Issue.record("an end before the upstream connection was not held")
            return
        }
        #expect(exchange.requestEnded)

        let answered = self.exchange(method: .POST, framing: .contentLength(1))
        machine = self.forwarding(answered, over: FakeUpstream())
        let answering = machine.answerStarts(answered)
        #expect(answering)
        guard case .none = machine.clientEndReceived() else {
            Issue.record("an end while answering went somewhere")
            return
        }
        #expect(answered.requestEnded, "the answer may keep the connection once the request is complete")
    }

    @Test func continueIsAnsweredOnlyWhileTheBodyIsStillToCome() {
        let machine = Machine()
        let waiting = self.exchange(method: .POST, framing: .contentLength(1))
        #expect(machine.answersContinue(expectsContinue: true, for: waiting))
        #expect(!machine.answersContinue(expectsContinue: false, for: waiting))
        waiting.requestEnded = true
        #expect(!machine.answersContinue(expectsContinue: true, for: waiting))
    }

    // MARK: Writability

    @Test func anUpstreamNotTakingBodyPausesTheClientsBodyDeadline() {
        let exchange = self.exchange(method: .POST, framing: .contentLength(100))
        var machine = self.forwarding(exchange, over: FakeUpstream())
        let stalled = NIODeadline.uptimeNanoseconds(1_000_000_000)
        guard case .watchUpstream(let waiting) = machine.upstreamWritabilityChanged(isWritable: false, now: stalled)
        else {
            Issue.record("a full upstream did not time the upstream")
            return
        }
        #expect(waiting === exchange && exchange.waitingOnUpstreamSince == stalled)
        guard case .none = machine.upstreamWritabilityChanged(isWritable: false, now: stalled + .seconds(1)) else {
            Issue.record("a second stall restarted the wait")
            return
        }
        let resumed = stalled + .seconds(3)
        guard case .watchClientBody = machine.upstreamWritabilityChanged(isWritable: true, now: resumed) else {
            Issue.record("the client's body deadline did not resume")
            return
        }
        #expect(exchange.bodyTimeNotCounted == .seconds(3) && exchange.waitingOnUpstreamSince == nil)
        #expect(exchange.lastActivity == resumed)

        exchange.requestEnded = true
        guard case .none = machine.upstreamWritabilityChanged(isWritable: false, now: resumed) else {
            Issue.record("a complete request was timed as a body")
            return
        }
    }

    @Test func aClientNotReadingPausesTheUpstreamAndIsTimedOnceTheResponseBegan() {
        let exchange = self.exchange()
        let upstream = FakeUpstream()
        let machine = self.forwarding(exchange, over: upstream)
        guard case .holdUpstreamReads(let held, let hold, let watchUpstream, let watchClientSend) =
            machine.clientWritabilityChanged(isWritable: false)
        else {
            Issue.record("the upstream was not paused")
            return
        }
        #expect(held === upstream && hold && watchUpstream == nil && !watchClientSend, "no response yet: nothing to time")

        exchange.responseStarted = true
        guard case .holdUpstreamReads(_, _, _, let sendTimed) = machine.clientWritabilityChanged(isWritable: false),
            case .holdUpstreamReads(_, let resumedHold, let upstreamTimed, let sendTimedAgain) =
                machine.clientWritabilityChanged(isWritable: true)
        else {
            Issue.record("the upstream was not paused and resumed")
            return
        }
        #expect(sendTimed && !resumedHold && upstreamTimed === exchange && !sendTimedAgain)
        guard case .none = Machine().clientWritabilityChanged(isWritable: false) else {
            Issue.record("an idle connection paused something")
            return
        }
    }

    // MARK: The end of a response

    @Test func aCompleteExchangeReturnsAKeepAliveConnectionToThePool() {
        let exchange = self.exchange()
        exchange.requestEnded = true
        let upstream = FakeUpstream()
        var machine = self.forwarding(exchange, over: upstream)
        guard case .finish(let finished, let connection, let reusable) = machine.upstreamResponseEnded() else {
            Issue.record("the exchange did not finish")
            return
        }
        #expect(finished === exchange && connection === upstream && reusable)
        #expect(machine.isIdle)
    }

    @Test func anUnfinishedRequestOrAClosingUpstreamIsNotReused() {
        let unfinished = self.exchange(method: .POST, framing: .contentLength(10))
        var machine = self.forwarding(unfinished, over: FakeUpstream())
        guard case .finish(_, _, let reusable) = machine.upstreamResponseEnded() else {
            Issue.record("the exchange did not finish")
            return
        }
        #expect(!reusable, "half a request body is still on the connection")

        let ended = self.exchange()
        ended.requestEnded = true
        let closing = FakeUpstream()
        closing.keepAlive = false
        machine = self.forwarding(ended, over: closing)
        guard case .finish(_, _, let closingReusable) = machine.upstreamResponseEnded() else {
            Issue.record("the exchange did not finish")
            return
        }
        #expect(!closingReusable)
    }

    @Test func aWebSocketSwitchEndsInATunnelAndAnyOtherAnswerIsNotReused() {
        let switching = self.exchange()
        switching.isWebSocketUpgrade = true
        switching.requestEnded = true
        switching.switchingProtocols = true
        var machine = self.forwarding(switching, over: FakeUpstream())
        guard case .switchToWebSocket(let exchange, _) = machine.upstreamResponseEnded() else {
            Issue.record("a 101 to websocket did not switch")
            return
        }
        #expect(exchange === switching)

        let refused = self.exchange()
        refused.isWebSocketUpgrade = true
        refused.requestEnded = true
        machine = self.forwarding(refused, over: FakeUpstream())
        guard case .finish(_, _, let reusable) = machine.upstreamResponseEnded() else {
            Issue.record("a refused handshake did not finish")
            return
        }
        #expect(!reusable, "an upgrade's connection is never pooled")
    }

    @Test func aClosingResponseWithTheBodyUnreadLingersThenCloses() {
        var machine = self.forwarding(self.exchange(method: .POST, framing: .contentLength(10)), over: FakeUpstream())
        let ending = machine.responseEnds(closing: true, requestEnded: false)
        #expect(ending == .writeEndThenLinger)
        #expect(machine.isLingering)
        #expect(!machine.clientReadsHeld, "a lingering connection reads and discards")
        guard case .close = machine.deadlinePassed(.linger(until: .now())) else {
            Issue.record("the linger deadline did not close")
            return
        }
        #expect(machine.parserFailed(.invalidHeaderToken) == .none)

        var complete = Machine()
        let completeEnding = complete.responseEnds(closing: true, requestEnded: true)
        #expect(completeEnding == .writeEndThenClose)
        #expect(complete.clientReadsHeld)
    }

    @Test func aProxyAnswerAfterTheResponseBeganCanOnlyClose() {
        let exchange = self.exchange()
        var machine = self.forwarding(exchange, over: FakeUpstream())
        let answering = machine.answerStarts(exchange)
        #expect(answering)
        #expect(machine.clientReadsHeld, "nothing is read while the proxy answers")

        let started = self.exchange()
        started.responseStarted = true
        machine = self.forwarding(started, over: FakeUpstream())
        let answeringAfterResponse = machine.answerStarts(started)
        #expect(!answeringAfterResponse)
        #expect(machine.clientReadsHeld && !machine.isIdle && machine.upstream == nil)
    }

    // MARK: The upstream closing

    @Test func anUpstreamCutMidResponseClosesTheClient() {
        let exchange = self.exchange()
        exchange.responseStarted = true
        var machine = self.forwarding(exchange, over: FakeUpstream())
        guard case .cutShort(let cut) = machine.upstreamClosed() else {
            Issue.record("a response cut short was not closed")
            return
        }
        #expect(cut === exchange && machine.upstream == nil)
        guard case .none = machine.upstreamClosed() else {
            Issue.record("a second close acted again")
            return
        }
    }

    @Test func aStalePooledConnectionIsReplayedOnceThenAnswered502() {
        let exchange = self.exchange()
        exchange.triedUpstreams = [0]
        exchange.replay.startRecording()
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/")
        exchange.replay.record(.head(head))
        exchange.replay.record(.end(nil))
        exchange.requestEnded = true
        var machine = self.forwarding(exchange, over: FakeUpstream())
        guard case .replay(let replayed) = machine.upstreamClosed() else {
            Issue.record("a stale pooled connection was not replayed")
            return
        }
        #expect(replayed === exchange && machine.isConnecting(exchange))
        #expect(exchange.pendingParts == [.head(head), .end(nil)])
        #expect(exchange.triedUpstreams.isEmpty, "the same upstream may be picked again")

        // The retry goes on a fresh connection; were it pooled, no second replay.
        exchange.triedUpstreams = [0]
        exchange.pendingParts = []
        exchange.replay.startRecording()
        machine.forwarding(exchange, over: FakeUpstream())
        guard case .answerUnavailable(let answered) = machine.upstreamClosed() else {
            Issue.record("a request was replayed twice")
            return
        }
        #expect(answered === exchange)
    }

    @Test func anUpstreamThatAnsweredOrABodyPastTheLimitIsNotReplayed() {
        let answered = self.exchange()
        answered.triedUpstreams = [0]
        answered.replay.startRecording()
        answered.replay.record(.end(nil))
        answered.replay.stopRecording()  // the upstream's head arrived
        var machine = self.forwarding(answered, over: FakeUpstream())
        guard case .answerUnavailable = machine.upstreamClosed() else {
            Issue.record("a request the upstream answered was replayed")
            return
        }

        let large = self.exchange(method: .POST, framing: .chunked)
        large.triedUpstreams = [0]
        large.replay.startRecording()
        large.replay.record(.body(.byteBuffer(ByteBuffer(repeating: 0x61, count: StaleConnectionReplay.limit + 1))))
        machine = self.forwarding(large, over: FakeUpstream())
        guard case .answerUnavailable = machine.upstreamClosed() else {
            Issue.record("a body past the replay limit was replayed")
            return
        }

        let fresh = self.exchange()  // sent on a new connection: nothing recorded
        fresh.triedUpstreams = [0]
        machine = self.forwarding(fresh, over: FakeUpstream())
        guard case .answerUnavailable = machine.upstreamClosed() else {
            Issue.record("a request on a fresh connection was replayed")
            return
        }
    }

    // MARK: Connection events

    @Test func quiesceClosesAnIdleConnectionAndOtherwiseAfterTheResponse() {
        var idle = Machine()
        let quiesce = idle.quiesce()
        #expect(quiesce == .close)
        #expect(idle.clientReadsHeld && idle.quiescing)

        var busy = self.forwarding(self.exchange(), over: FakeUpstream())
        let busyQuiesce = busy.quiesce()
        #expect(busyQuiesce == .closeAfterResponse)
        #expect(busy.quiescing && busy.upstream != nil)
    }

    @Test func aClientGoingAwayAbandonsTheUpstreamRequest() {
        let exchange = self.exchange()
        let upstream = FakeUpstream()
        var machine = self.forwarding(exchange, over: upstream)
        guard case .abandon(let abandoned, let connection) = machine.clientClosed() else {
            Issue.record("a client leaving mid-exchange was not logged as 499")
            return
        }
        #expect(abandoned === exchange && connection === upstream)
        #expect(machine.upstream == nil)

        var idle = Machine()
        guard case .none = idle.clientClosed() else {
            Issue.record("an idle connection closing abandoned something")
            return
        }
    }

    @Test func parserErrorsAreAnsweredOnlyBetweenRequests() {
        let idle = Machine()
        #expect(idle.parserFailed(.headerOverflow) == .answer(.headerTooLarge))
        guard case .answer(let response) = idle.parserFailed(.invalidMethod) else {
            Issue.record("an invalid request was not answered")
            return
        }
        #expect(response.status == .badRequest)
        let forwarding = self.forwarding(self.exchange(), over: FakeUpstream())
        #expect(forwarding.parserFailed(.invalidChunkSize) == .close)
    }

    @Test func deadlinesAnswerTheCurrentExchangeOnly() {
        let exchange = self.exchange(method: .POST, framing: .contentLength(10))
        var machine = self.forwarding(exchange, over: FakeUpstream())
        guard case .answer(let timedOut, let response) = machine.deadlinePassed(.clientBody(exchange)) else {
            Issue.record("a slow body was not answered")
            return
        }
        #expect(timedOut === exchange && response == .requestTimeout)
        guard case .answer(_, let upstreamResponse) = machine.deadlinePassed(.upstreamRead(exchange)) else {
            Issue.record("a slow upstream was not answered")
            return
        }
        #expect(upstreamResponse == .upstreamTimeout)
        guard case .none = machine.deadlinePassed(.clientBody(self.exchange())) else {
            Issue.record("a past exchange's deadline acted")
            return
        }
        exchange.requestEnded = true
        guard case .none = machine.deadlinePassed(.clientBody(exchange)) else {
            Issue.record("a body deadline acted after the body ended")
            return
        }
        guard case .none = machine.deadlinePassed(.none) else {
            Issue.record("no phase acted")
            return
        }
        let upstream = machine.upstream
        guard case .abandonAndClose(let abandoned, let connection) = machine.deadlinePassed(.clientSend(since: .now()))
        else {
            Issue.record("a client not reading was not cut off")
            return
        }
        #expect(abandoned === exchange && connection === upstream && machine.upstream == nil)

        var waiting = Machine()
        guard case .close = waiting.deadlinePassed(.requestHead(since: .now())) else {
            Issue.record("a slow request head was not cut off")
            return
        }
        #expect(waiting.clientReadsHeld)
    }
}
