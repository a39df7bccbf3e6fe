import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing
@testable import Proxy

/// The value-level pieces the ``ForwardingHandler`` runs besides its state
/// machine: the proxy's own responses, the client's response head, failover.
@Suite("Forwarding decisions")
struct ForwardingDecisionsTests {
    private func exchange(
        method: HTTPMethod = .GET, version: HTTPVersion = .http1_1, framing: RequestFraming = .none,
        requestEnded: Bool = true
    ) -> Exchange {
        let exchange = Exchange(
            clientHead: HTTPRequestHead(version: version, method: method, uri: "/"), framing: framing, now: .now())
        exchange.requestEnded = requestEnded
        return exchange
    }

    private func made(
        _ response: ProxyErrorResponse, for exchange: Exchange, closingAtOnce: Bool = false, quiescing: Bool = false
    ) -> ProxyMadeResponse {
        ProxyMadeResponse(
            response, for: exchange, extraHeaders: [:], closingAtOnce: closingAtOnce, quiescing: quiescing,
            allocator: ByteBufferAllocator())
    }

    // MARK: ProxyMadeResponse

    @Test func anUpstreamFaultAfterACompleteRequestKeepsTheConnection() {
        let exchange = self.exchange()
        exchange.requestID = "abc"
        let response = self.made(.upstreamUnavailable, for: exchange)
        #expect(!response.closing && !response.closingAtOnce)
        #expect(response.head.status == .badGateway)
        #expect(response.head.headers["connection"].isEmpty)
        #expect(response.head.headers["x-request-id"] == ["abc"])
        #expect(response.head.headers["content-type"] == ["application/json"])
        #expect(response.head.headers["content-length"] == [String(response.bodyBytes)])
        #expect(response.body?.readableBytes == response.bodyBytes)
    }

    @Test func anyOtherAnswerAnUnfinishedRequestOrQuiesceCloses() {
        #expect(self.made(.requestTimeout, for: self.exchange()).closing, "not the upstream's fault")
        #expect(self.made(.upstreamTimeout, for: self.exchange(requestEnded: false)).closing, "body unread")
        #expect(self.made(.upstreamUnavailable, for: self.exchange(), quiescing: true).closing)
        let closing = self.made(.upstreamUnavailable, for: self.exchange(), closingAtOnce: true)
        #expect(closing.closing && closing.closingAtOnce)
        #expect(closing.head.headers["connection"] == ["close"])
        let webSocket = self.exchange()
        webSocket.isWebSocketUpgrade = true
        #expect(self.made(.upstreamUnavailable, for: webSocket).closingAtOnce, "nothing is parsed after an upgrade")
        let http10 = self.exchange(version: .http1_0)
        #expect(self.made(.upstreamUnavailable, for: http10).closing, "HTTP/1.0 closes unless asked to keep alive")
    }

    @Test func aResponseToHEADHasALengthButNoBody() {
        let response = self.made(.badRequest("no"), for: self.exchange(method: .HEAD))
        #expect(response.body == nil)
        #expect(response.bodyBytes > 0)
        #expect(response.head.headers["content-length"] == [String(response.bodyBytes)])
        #expect(self.made(.badRequest("no"), for: self.exchange(version: HTTPVersion(major: 2, minor: 0)))
            .head.version == .http1_1)
    }

    // MARK: ClientResponseHead

    @Test func theClientHeadDropsHopByHopFieldsAndSaysWhetherTheConnectionStays() {
        var upstream = HTTPResponseHead(version: .http1_1, status: .ok)
        upstream.headers.add(name: "Connection", value: "keep-alive, X-Internal")
        upstream.headers.add(name: "X-Internal", value: "1")
        upstream.headers.add(name: "Content-Length", value: "2")
        let exchange = self.exchange()
        let kept = ClientResponseHead(
            for: upstream, clientHead: exchange.clientHead, requestEnded: true, closeAfterResponse: false,
            quiescing: false)
        #expect(!kept.closeAfterResponse)
        #expect(!kept.head.headers.contains(name: "x-internal") && !kept.head.headers.contains(name: "connection"))

        let quiescing = ClientResponseHead(
            for: upstream, clientHead: exchange.clientHead, requestEnded: true, closeAfterResponse: false,
            quiescing: true)
        #expect(quiescing.closeAfterResponse && quiescing.head.headers["connection"] == ["close"])
        let bodyUnread = ClientResponseHead(
            for: upstream, clientHead: exchange.clientHead, requestEnded: false, closeAfterResponse: false,
            quiescing: false)
        #expect(bodyUnread.closeAfterResponse)
    }

    @Test func anHTTP10ClientGetsKeepAliveOrAClosingResponse() {
        let http10 = self.exchange(version: .http1_0)
        var withLength = HTTPResponseHead(version: .http1_1, status: .ok)
        withLength.headers.add(name: "Content-Length", value: "2")
        let kept = ClientResponseHead(
            for: withLength, clientHead: http10.clientHead, requestEnded: true, closeAfterResponse: false,
            quiescing: false)
        #expect(!kept.closeAfterResponse && kept.head.headers["connection"] == ["keep-alive"])
        #expect(kept.head.version == .http1_0)

        let streamed = HTTPResponseHead(version: .http1_1, status: .ok)  // no length: chunked upstream
        let closing = ClientResponseHead(
            for: streamed, clientHead: http10.clientHead, requestEnded: true, closeAfterResponse: false,
            quiescing: false)
        #expect(closing.closeAfterResponse, "HTTP/1.0 has no chunked framing")
    }

    // MARK: UpstreamAcquisition

    @Test func acquisitionPicksEachUpstreamOnceThenHasNone() throws {
        let upstreams = (0..<2).map { UpstreamAddress(endpoint: HostAndPort(host: "127.0.0.1", port: 1000 + $0)) }
        let balancer = UpstreamBalancer(upstreams: upstreams, health: ProxyConfiguration.HealthChecking())
        let loop = EmbeddedEventLoop()
        defer { try? loop.syncShutdownGracefully() }
        let pool = UpstreamConnectionPool(
            eventLoop: loop, upstreams: upstreams, maxIdlePerUpstream: 1, connectTimeout: .seconds(1),
            idleTimeout: .seconds(1))
        let acquisition = UpstreamAcquisition(balancer: balancer, pool: pool)
        let exchange = self.exchange()
        guard case .connect(let first) = acquisition.acquire(for: exchange, freshConnection: false) else {
            Issue.record("an empty pool did not say to connect")
            return
        }
        #expect(exchange.upstream == first && exchange.triedUpstreams == [first])
        #expect(balancer.outstanding(first) == 1)
        #expect(exchange.replay.parts == nil, "a new connection is not recorded for a replay")
        guard case .connect(let second) = acquisition.acquire(for: exchange, freshConnection: true) else {
            Issue.record("the second upstream was not picked")
            return
        }
        #expect(second != first && exchange.triedUpstreams == [first, second])
        guard case .noUpstream = acquisition.acquire(for: exchange, freshConnection: false) else {
            Issue.record("a tried upstream was picked again")
            return
        }
    }

    // MARK: UpstreamFailover

    @Test func aFailedConnectionTriesAnotherUpstreamThenAnswers() {
        struct Refused: Error {}
        #expect(UpstreamFailover.afterConnectFailure(Refused(), tried: 1, upstreams: 2) == .tryAnother)
        #expect(UpstreamFailover.afterConnectFailure(Refused(), tried: 2, upstreams: 2) == .answer(.upstreamUnavailable))
        #expect(
            UpstreamFailover.afterConnectFailure(ChannelError.connectTimeout(.seconds(1)), tried: 1, upstreams: 1)
                == .answer(.upstreamTimeout))
    }
}
