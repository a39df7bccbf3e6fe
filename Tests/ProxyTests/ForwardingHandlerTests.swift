import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing
@testable import Proxy

/// ``ForwardingHandler`` on `EmbeddedChannel`s: what reaches the upstream,
/// what reaches the client, and what is refused.
@Suite struct ForwardingHandlerTests {
    @Test func requestHeadIsRewrittenForTheUpstream() throws {
        let proxy = try EmbeddedForwarding()
        try proxy.clientSends(
            "GET /v1/models HTTP/1.1\r\nHost: gateway.example\r\nConnection: keep-alive, X-Hop\r\n"
                + "X-Hop: 1\r\nKeep-Alive: timeout=5\r\nProxy-Authorization: Basic eA==\r\nTE: trailers\r\n"
                + "X-Forwarded-For: 198.51.100.1\r\nAuthorization: Bearer k\r\n\r\n")
        let head = try #require(try proxy.upstreamReceived().head)
        #expect(head.uri == "/v1/models")
        for name in ["connection", "x-hop", "keep-alive", "proxy-authorization", "te", "upgrade", "transfer-encoding"] {
            #expect(!head.headers.contains(name: name), "\(name) was forwarded")
        }
        #expect(head.headers["host"] == ["127.0.0.1:1234"])
        #expect(head.headers["x-forwarded-host"] == ["gateway.example"])
        #expect(head.headers["x-forwarded-for"] == ["198.51.100.1, 192.0.2.10"])
        #expect(head.headers["x-forwarded-proto"] == ["https"])
        #expect(head.headers["authorization"] == ["Bearer k"])
        let requestID = try #require(head.headers.first(name: "x-request-id"))
        #expect(requestID.count == 32 && requestID.allSatisfy(\.isHexDigit))

        try proxy.upstreamResponds(body: "{}")
        _ = try proxy.clientReceived()
        #expect(try proxy.client.finish().isClean)
        #expect(try proxy.upstreamChannel.finish().isClean)
    }

    @Test func anIdlePooledConnectionIsClosedAfterTheIdleTimeout() throws {
        let proxy = try EmbeddedForwarding()  // upstream idle timeout: 60 s
        try proxy.clientSends("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        _ = try proxy.upstreamReceived()
        try proxy.upstreamResponds(body: "ok")
        _ = try proxy.clientReceived()
        proxy.loop.advanceTime(by: .seconds(59))
        #expect(proxy.upstreamChannel.isActive, "closed before its idle timeout")
        proxy.loop.advanceTime(by: .seconds(2))
        #expect(!proxy.upstreamChannel.isActive, "still open past its idle timeout")
        #expect(proxy.pool.takeIdle(upstream: 0) == nil)
    }

    @Test func validRequestIDIsKeptAndInvalidOneReplaced() throws {
        let proxy = try EmbeddedForwarding()
        try proxy.clientSends("GET / HTTP/1.1\r\nHost: a\r\nX-Request-ID: abc-123.x\r\n\r\n")
        #expect(try proxy.upstreamReceived().head?.headers["x-request-id"] == ["abc-123.x"])
        try proxy.upstreamResponds(body: "ok")
        _ = try proxy.clientReceived()

        try proxy.clientSends("GET / HTTP/1.1\r\nHost: a\r\nX-Request-ID: bad id\\n{}\r\n\r\n")
        let replaced = try #require(try proxy.upstreamReceived().head?.headers.first(name: "x-request-id"))
        #expect(replaced != "bad id\\n{}" && RequestID.isValid(replaced))
        try proxy.upstreamResponds(body: "ok")
        _ = try proxy.clientReceived()
        #expect(try proxy.client.finish().isClean)
        #expect(try proxy.upstreamChannel.finish().isClean)
    }

    @Test func responseHopByHopHeadersAreRemovedAndConnectionIsPooled() throws {
        let proxy = try EmbeddedForwarding()
        try proxy.clientSends("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        _ = try proxy.upstreamReceived()
        try proxy.upstreamResponds(
            headers: [("Connection", "keep-alive, X-Internal"), ("X-Internal", "1"), ("Keep-Alive", "timeout=5"),
                ("Content-Length", "2"), ("X-Model", "m")],
            body: "ok")
        let response = try proxy.clientReceived().lowercased()
        #expect(statusCode(of: response) == 200)
        #expect(response.contains("x-model: m"))
        #expect(response.contains("content-length: 2"))
        #expect(!response.contains("x-internal") && !response.contains("keep-alive"))
        #expect(response.hasSuffix("\r\n\r\nok"))
        // The exchange finished cleanly, so the connection went back to the pool.
        #expect(proxy.pool.takeIdle(upstream: 0) === proxy.connection)
        #expect(proxy.balancer.outstanding(0) == 0)
        #expect(try proxy.client.finish().isClean)
        #expect(try proxy.upstreamChannel.finish().isClean)
    }

    @Test func chunkedResponseIsReframedAndStreamedPartByPart() throws {
        let proxy = try EmbeddedForwarding()
        try proxy.clientSends("GET /stream HTTP/1.1\r\nHost: a\r\n\r\n")
        _ = try proxy.upstreamReceived()
        try proxy.upstreamResponds(headers: [("Transfer-Encoding", "chunked")], end: false)
        try proxy.upstreamChannel.writeInbound(HTTPClientResponsePart.body(ByteBuffer(string: "data: 1\n\n")))
        let first = try proxy.clientReceived()
        #expect(first.lowercased().contains("transfer-encoding: chunked"))
        #expect(first.hasSuffix("9\r\ndata: 1\n\n\r\n"))
        try proxy.upstreamChannel.writeInbound(HTTPClientResponsePart.body(ByteBuffer(string: "data: 2\n\n")))
        #expect(try proxy.clientReceived() == "9\r\ndata: 2\n\n\r\n")
        try proxy.upstreamChannel.writeInbound(HTTPClientResponsePart.end(nil))
        #expect(try proxy.clientReceived() == "0\r\n\r\n")
        #expect(try proxy.client.finish().isClean)
        #expect(try proxy.upstreamChannel.finish().isClean)
    }

    @Test func upstreamAskingToCloseIsNotPooled() throws {
        let proxy = try EmbeddedForwarding()
        try proxy.clientSends("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        _ = try proxy.upstreamReceived()
        try proxy.upstreamResponds(headers: [("Connection", "close"), ("Content-Length", "2")], body: "ok")
        let response = try proxy.clientReceived().lowercased()
        #expect(!response.contains("connection: close"))  // the client's connection stays open
        #expect(!proxy.upstreamChannel.isActive)
        #expect(proxy.pool.takeIdle(upstream: 0) == nil)
        #expect(try proxy.client.finish().isClean)
    }

    @Test func requestBodyIsStreamedWithExplicitFraming() throws {
        let proxy = try EmbeddedForwarding()
        try proxy.clientSends("POST /v1/chat HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
        var parts = try proxy.upstreamReceived()
        #expect(parts.head?.headers["transfer-encoding"] == ["chunked"])
        #expect(parts.count == 2)
        try proxy.clientSends("6\r\n world\r\n0\r\n\r\n")
        parts = try proxy.upstreamReceived()
        guard case .body(.byteBuffer(let body)) = parts.first, case .end = parts.last else {
            Issue.record("expected body then end, got \(parts)")
            return
        }
        #expect(String(buffer: body) == " world")
        try proxy.upstreamResponds(body: "{}")
        _ = try proxy.clientReceived()
        #expect(try proxy.client.finish().isClean)
        #expect(try proxy.upstreamChannel.finish().isClean)
    }

    @Test(arguments: [
        ("both lengths", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        ("repeated length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc"),
        ("list length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\nabc"),
        ("signed length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -3\r\n\r\nabc"),
        ("unknown coding", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n"),
        ("chunked twice", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n"),
        ("obsolete folding", "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n\tcontinued\r\n\r\n"),
        ("space before colon", "GET / HTTP/1.1\r\nHost: a\r\nContent-Length : 0\r\n\r\n"),
    ])
    func smugglingIsRefusedWith400(_ name: String, _ request: String) throws {
        let proxy = try EmbeddedForwarding()
        try proxy.clientSends(request)
        let response = try proxy.clientReceived()
        #expect(statusCode(of: response) == 400, "\(name)")
        #expect(response.contains(#""type":"invalid_request_error""#))
        #expect(try proxy.upstreamReceived().isEmpty, "\(name) reached the upstream")
        #expect(proxy.balancer.outstanding(0) == 0)
        _ = try? proxy.client.finish()
    }

    @Test func oversizedHeadGets431() throws {
        let proxy = try EmbeddedForwarding { $0.limits.maxHeaderBytes = 2048 }
        try proxy.clientSends("GET / HTTP/1.1\r\nHost: a\r\nX-Big: \(String(repeating: "b", count: 4096))\r\n\r\n")
        #expect(statusCode(of: try proxy.clientReceived()) == 431)
        #expect(try proxy.upstreamReceived().isEmpty)
        _ = try? proxy.client.finish()
    }

    @Test func declaredOversizedBodyGets413BeforeForwarding() throws {
        let proxy = try EmbeddedForwarding { $0.limits.maxBodyBytes = 10 }
        try proxy.clientSends("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n")
        let response = try proxy.clientReceived()
        #expect(statusCode(of: response) == 413)
        #expect(response.lowercased().contains("connection: close"))
        #expect(try proxy.upstreamReceived().isEmpty)
        _ = try? proxy.client.finish()
    }

    @Test func chunkedBodyOverTheLimitGets413AndClosesTheUpstream() throws {
        let proxy = try EmbeddedForwarding { $0.limits.maxBodyBytes = 10 }
        try proxy.clientSends("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n")
        #expect(try proxy.upstreamReceived().count == 2)
        try proxy.clientSends("8\r\n12345678\r\n")
        #expect(statusCode(of: try proxy.clientReceived()) == 413)
        #expect(!proxy.upstreamChannel.isActive)  // half a request must not be reused
        #expect(proxy.balancer.outstanding(0) == 0)
        _ = try? proxy.client.finish()
    }

    /// The pooled connection closing unanswered is retried once on a new
    /// connection, which cannot be made on an embedded loop: so a 502.
    @Test func upstreamClosingBeforeAnsweringGives502() throws {
        let proxy = try EmbeddedForwarding()
        try proxy.clientSends("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        _ = try proxy.upstreamReceived()
        try proxy.upstreamChannel.close().wait()
        let response = try proxy.clientReceived()
        #expect(statusCode(of: response) == 502)
        #expect(response.contains(#"{"error":{"message":"#) && response.contains(#""param":null,"code":"bad_gateway"}}"#))
        // The request was complete and the fault was upstream: the client may keep its connection.
        #expect(proxy.client.isActive)
        #expect(try proxy.client.finish().isClean)
    }

    @Test func clientLeavingClosesTheUpstreamRequest() throws {
        let proxy = try EmbeddedForwarding()
        try proxy.clientSends("POST /v1/chat/completions HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{}")
        _ = try proxy.upstreamReceived()
        try proxy.upstreamResponds(headers: [("Content-Type", "text/event-stream")], body: "data: 1\n\n", end: false)
        _ = try proxy.clientReceived()
        try proxy.client.close().wait()
        #expect(!proxy.upstreamChannel.isActive)
        #expect(proxy.balancer.outstanding(0) == 0)
        #expect(proxy.pool.takeIdle(upstream: 0) == nil)
    }

    @Test func upstreamReadsAreHeldWhileTheClientCannotTakeMore() throws {
        let proxy = try EmbeddedForwarding()
        let upstreamReads = ReadCounter()
        try proxy.upstreamChannel.pipeline.syncOperations.addHandler(upstreamReads, position: .first)
        try proxy.clientSends("GET /big HTTP/1.1\r\nHost: a\r\n\r\n")
        _ = try proxy.upstreamReceived()
        try proxy.upstreamResponds(body: "part", end: false)

        proxy.client.isWritable = false  // a slow reader: the socket buffer is full
        proxy.client.pipeline.fireChannelWritabilityChanged()
        proxy.upstreamChannel.read()
        #expect(upstreamReads.count == 0)  // held: the upstream is not read while the client is full

        proxy.client.isWritable = true
        proxy.client.pipeline.fireChannelWritabilityChanged()
        #expect(upstreamReads.count == 1)  // released once the client drained

        try proxy.upstreamChannel.writeInbound(HTTPClientResponsePart.end(nil))
        _ = try proxy.clientReceived()
        #expect(try proxy.client.finish().isClean)
        #expect(try proxy.upstreamChannel.finish().isClean)
    }

    @Test func clientReadsAreHeldWhileTheUpstreamCannotTakeMore() throws {
        let proxy = try EmbeddedForwarding()
        let clientReads = ReadCounter()
        try proxy.client.pipeline.syncOperations.addHandler(clientReads, position: .first)
        try proxy.clientSends("POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 8\r\n\r\n1234")
        _ = try proxy.upstreamReceived()

        proxy.upstreamChannel.isWritable = false
        proxy.upstreamChannel.pipeline.fireChannelWritabilityChanged()
        proxy.client.read()
        #expect(clientReads.count == 0)

        proxy.upstreamChannel.isWritable = true
        proxy.upstreamChannel.pipeline.fireChannelWritabilityChanged()
        #expect(clientReads.count == 1)

        try proxy.clientSends("5678")
        #expect(try proxy.upstreamReceived().count == 2)  // the rest of the body, then the end
        try proxy.upstreamResponds(body: "8")
        _ = try proxy.clientReceived()
        #expect(try proxy.client.finish().isClean)
        #expect(try proxy.upstreamChannel.finish().isClean)
    }
}

/// Counts the `read()` calls that pass it on their way to the socket.
final class ReadCounter: ChannelOutboundHandler {
    typealias OutboundIn = Any
    private(set) var count = 0
    func read(context: ChannelHandlerContext) {
        self.count += 1
        context.read()
    }
}
