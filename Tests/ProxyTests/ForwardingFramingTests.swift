import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing
@testable import Proxy

/// The proxy frames every upstream request itself, and refuses what it
/// must not forward (on ``ForwardingHandler`` over `EmbeddedChannel`s).
@Suite struct ForwardingFramingTests {
    /// The reported attack: `Connection: content-length` made hop-by-hop
    /// removal drop the length, and the GET body reached the upstream
    /// unframed, where it read as a second request.
    @Test func connectionTokenCannotUnframeABody() throws {
        let proxy = try EmbeddedForwarding()
        let smuggled = "GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n"
        try proxy.clientSends(
            "GET /health HTTP/1.1\r\nHost: gw\r\nConnection: content-length, host, x-forwarded-for, x-request-id\r\n"
                + "Content-Length: \(smuggled.utf8.count)\r\n\r\n\(smuggled)")
        let parts = try proxy.upstreamReceived()
        let head = try #require(parts.head)
        #expect(head.uri == "/health")
        #expect(head.headers["content-length"] == ["\(smuggled.utf8.count)"])
        #expect(!head.headers.contains(name: "transfer-encoding"))
        #expect(head.headers["host"] == ["127.0.0.1:1234"])
        #expect(head.headers["x-forwarded-host"] == ["gw"])
        #expect(head.headers["x-forwarded-for"] == ["192.0.2.10"])
        #expect(head.headers.contains(name: "x-request-id"))
        #expect(parts.count == 3)  // head, the 36 bytes as body, end: one request
        try proxy.upstreamResponds(headers: [("Content-Length", "2")], body: "ok")
        _ = try proxy.clientReceived()
        #expect(try proxy.client.finish().isClean)
    }

    @Test func connectionTokenCannotUnframeAChunkedBody() throws {
        let proxy = try EmbeddedForwarding()
        try proxy.clientSends(
            "POST /v1/chat HTTP/1.1\r\nHost: a\r\nConnection: transfer-encoding\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "3\r\nabc\r\n0\r\n\r\n")
        let head = try #require(try proxy.upstreamReceived().head)
        #expect(head.headers["transfer-encoding"] == ["chunked"])
        #expect(!head.headers.contains(name: "content-length"))
        try proxy.upstreamResponds(headers: [("Content-Length", "0")])
        _ = try proxy.clientReceived()
        #expect(try proxy.client.finish().isClean)
    }

    @Test(arguments: [("POST", ["0"]), ("PUT", ["0"]), ("GET", []), ("DELETE", [])])
    func bodilessRequestsGetTheLengthNginxSends(_ method: String, _ expected: [String]) throws {
        let proxy = try EmbeddedForwarding()
        try proxy.clientSends("\(method) /x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n")
        let head = try #require(try proxy.upstreamReceived().head)
        #expect(head.headers["content-length"] == expected)
        try proxy.upstreamResponds(headers: [("Content-Length", "0")])
        _ = try proxy.clientReceived()
        #expect(try proxy.client.finish().isClean)
    }

    /// Hop-by-hop removal runs on the client's head before admission, so a
    /// `Connection` token cannot remove the identity header admission adds.
    @Test func connectionTokenCannotRemoveTheIdentityAdmissionAdds() throws {
        let admission = RecordingAdmission()
        let proxy = try EmbeddedForwarding(admission: admission)
        try proxy.clientSends(
            "GET /v1/models HTTP/1.1\r\nHost: a\r\nConnection: x-authenticated-user, authorization\r\n"
                + "X-Authenticated-User: forged\r\n\r\n")
        let head = try #require(try proxy.upstreamReceived().head)
        #expect(head.headers["x-authenticated-user"] == ["alice"])
        #expect(admission.seen.first?.headers.contains(name: "connection") == false)
        try proxy.upstreamResponds(headers: [("Content-Length", "0")])
        _ = try proxy.clientReceived()
        #expect(try proxy.client.finish().isClean)
    }

    /// Policy sees the normalized target, and the upstream receives exactly it.
    @Test func admissionAndUpstreamSeeTheNormalizedTarget() throws {
        let admission = RecordingAdmission()
        let proxy = try EmbeddedForwarding(admission: admission)
        try proxy.clientSends("GET http://gw//v1/./x/../%61dmin/keys?q=%2F HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(admission.seen.map(\.uri) == ["/v1/admin/keys?q=%2F"])
        #expect(try proxy.upstreamReceived().head?.uri == "/v1/admin/keys?q=%2F")
        try proxy.upstreamResponds(headers: [("Content-Length", "0")])
        _ = try proxy.clientReceived()
        #expect(try proxy.client.finish().isClean)
    }

    @Test(arguments: ["/admin%2Fkeys", "/a%00", "/a%5Cb", "/../admin", "/a%zz", "*"])
    func ambiguousTargetsGet400(_ target: String) throws {
        let admission = RecordingAdmission()
        let proxy = try EmbeddedForwarding(admission: admission)
        try proxy.clientSends("OPTIONS \(target) HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(statusCode(of: try proxy.clientReceived()) == 400)
        #expect(admission.seen.isEmpty)
        #expect(try proxy.upstreamReceived().isEmpty)
        _ = try? proxy.client.finish()
    }

    @Test(arguments: [
        ("no host", "GET / HTTP/1.1\r\n\r\n"),
        ("two hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
        ("two hosts in 1.0", "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"),
    ])
    func missingOrRepeatedHostGets400(_ name: String, _ request: String) throws {
        let proxy = try EmbeddedForwarding()
        try proxy.clientSends(request)
        #expect(statusCode(of: try proxy.clientReceived()) == 400, "\(name)")
        #expect(try proxy.upstreamReceived().isEmpty, "\(name)")
        _ = try? proxy.client.finish()
    }

    @Test func http10WithoutHostIsForwarded() throws {
        let proxy = try EmbeddedForwarding()
        try proxy.clientSends("GET /x HTTP/1.0\r\n\r\n")
        #expect(try proxy.upstreamReceived().head?.uri == "/x")
        try proxy.upstreamResponds(headers: [("Content-Length", "0")])
        _ = try proxy.clientReceived()
        _ = try? proxy.client.finish()
    }

    @Test func traceIsRefusedWith405() throws {
        let proxy = try EmbeddedForwarding()
        try proxy.clientSends("TRACE / HTTP/1.1\r\nHost: a\r\n\r\n")
        let response = try proxy.clientReceived()
        #expect(statusCode(of: response) == 405)
        #expect(response.lowercased().contains("allow: get, head, post"))
        #expect(response.contains(#""code":"method_not_allowed""#))
        #expect(try proxy.upstreamReceived().isEmpty)
        _ = try? proxy.client.finish()
    }

    @Test(arguments: [
        ("websocket", "GET /health HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"),
        ("h2c", "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n"),
        ("upgrade field alone", "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n"),
        ("connection token alone", "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, upgrade\r\n\r\n"),
        ("connect", "CONNECT 127.0.0.1:1234 HTTP/1.1\r\nHost: 127.0.0.1:1234\r\n\r\n"),
    ])
    func upgradesAndTunnelsAreRefusedAndTheConnectionClosed(_ name: String, _ request: String) throws {
        let proxy = try EmbeddedForwarding()
        // What follows the head is never read as HTTP, and never forwarded.
        try proxy.clientSends(request + "GET /v1/models HTTP/1.1\r\nHost: a\r\n\r\n")
        let response = try proxy.clientReceived()
        #expect([405, 501].contains(statusCode(of: response)), "\(name)")
        #expect(response.lowercased().contains("connection: close"), "\(name)")
        #expect(!proxy.client.isActive, "\(name)")
        #expect(try proxy.upstreamReceived().isEmpty, "\(name)")
        _ = try? proxy.client.finish()
    }

    /// Megabytes after an upgrade head: the connection is closed with the
    /// refusal, and nothing the client sends after it is read.
    @Test func bytesAfterAnUpgradeHeadAreNotRead() throws {
        let proxy = try EmbeddedForwarding()
        let reads = ReadCounter()
        try proxy.client.pipeline.syncOperations.addHandler(reads, position: .first)
        try proxy.clientSends("GET /health HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
        #expect(statusCode(of: try proxy.clientReceived()) == 501)
        #expect(!proxy.client.isActive)
        let before = reads.count
        proxy.client.read()
        #expect(reads.count == before)
        _ = try? proxy.client.finish()
    }

    /// The request decoder's buffer is bounded: after an upgrade head NIO's
    /// decoder stops parsing, and without a bound it kept every later byte.
    @Test func decoderBufferIsBoundedAfterAnUpgradeHead() throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandlers(ClientHTTPPipeline.makeHandlers(maxHeaderBytes: 32 * 1024))
        try channel.writeInbound(
            ByteBuffer(string: "GET /health HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"))
        let chunk = ByteBuffer(repeating: 0x41, count: 64 * 1024)
        var fed = 0
        var refused = false
        while fed < 16 * 1024 * 1024 {
            do {
                try channel.writeInbound(chunk)
                fed += chunk.readableBytes
            } catch is ByteToMessageDecoderError.PayloadTooLargeError {
                refused = true
                break
            }
        }
        #expect(refused)
        #expect(fed <= ClientHTTPPipeline.maximumDecoderBufferBytes(maxHeaderBytes: 32 * 1024))
        _ = try? channel.finish()
    }

    /// No response head leaves the client pipeline with a control character
    /// in a field value (CR LF would split the response in two) or a name
    /// that is no token, whichever handler wrote it (forwarding, console,
    /// CORS): the head is refused and no byte of it is written. What any
    /// cheaper replacement of the pipeline's header validation must keep.
    @Test(arguments: [("x-note", "a\r\nSet-Cookie: session=stolen"), ("x-note", "a\u{0}b"), ("x note", "a")])
    func aResponseHeadThatCouldSplitTheResponseIsNeverWritten(field: (String, String)) throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandlers(ClientHTTPPipeline.makeHandlers(maxHeaderBytes: 32 * 1024))
        var head = HTTPResponseHead(version: .http1_1, status: .ok)
        head.headers.add(name: "content-length", value: "0")
        head.headers.add(name: field.0, value: field.1)
        #expect(throws: (any Error).self) {
            try channel.writeOutbound(HTTPServerResponsePart.head(head))
            try channel.writeOutbound(HTTPServerResponsePart.end(nil))
        }
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        _ = try? channel.finish()
    }

    @Test func tooManyPipelinedRequestsCloseTheConnection() throws {
        let proxy = try EmbeddedForwarding()
        try proxy.clientSends("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(try proxy.upstreamReceived().head != nil)
        let tiny = String(repeating: "GET / HTTP/1.1\r\nHost: a\r\n\r\n", count: ForwardingHandler.maxPipelinedParts)
        try proxy.clientSends(tiny)
        #expect(!proxy.client.isActive)
        #expect(!proxy.upstreamChannel.isActive)
        _ = try? proxy.client.finish()
    }

    /// A body held back because the upstream takes no more is the
    /// upstream's wait, timed by the upstream read timeout, not the client's
    /// body deadline (which would answer 408 for the upstream's slowness).
    @Test func bodyHeldByTheUpstreamIsTimedAsTheUpstreamsWait() throws {
        let proxy = try EmbeddedForwarding()
        let handler = try proxy.client.pipeline.syncOperations.handler(type: ForwardingHandler.self)
        try proxy.clientSends("POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 8\r\n\r\n1234")
        _ = try proxy.upstreamReceived()
        #expect(handler.watchdog.map { if case .clientBody = $0.phase { true } else { false } } == true)

        proxy.upstreamChannel.isWritable = false
        proxy.upstreamChannel.pipeline.fireChannelWritabilityChanged()
        #expect(handler.watchdog.map { if case .upstreamRead = $0.phase { true } else { false } } == true)

        proxy.upstreamChannel.isWritable = true
        proxy.upstreamChannel.pipeline.fireChannelWritabilityChanged()
        guard case .clientBody(let exchange)? = handler.watchdog?.phase else {
            Issue.record("the client body is not timed again once the upstream takes more")
            return
        }
        #expect(exchange.waitingOnUpstreamSince == nil && exchange.bodyTimeNotCounted > .zero)

        try proxy.clientSends("5678")
        try proxy.upstreamResponds(headers: [("Content-Length", "0")])
        _ = try proxy.clientReceived()
        #expect(try proxy.client.finish().isClean)
    }

    /// NIO's encoder, not told which request a response answers, would
    /// frame an answer to HEAD as chunked and end it with `0\r\n\r\n`, which
    /// the client reads as the start of the next response.
    @Test func responsesToHeadCarryNoBody() throws {
        let proxy = try EmbeddedForwarding()
        try proxy.clientSends("HEAD /v1/models HTTP/1.1\r\nHost: a\r\n\r\n")
        _ = try proxy.upstreamReceived()
        try proxy.upstreamResponds(headers: [("Content-Type", "application/json")])
        let response = try proxy.clientReceived()
        #expect(statusCode(of: response) == 200)
        #expect(response.hasSuffix("\r\n\r\n") && !response.contains("0\r\n\r\n"))
        #expect(!response.lowercased().contains("transfer-encoding"))

        try proxy.clientSends("HEAD /%zz HTTP/1.1\r\nHost: a\r\n\r\n")
        let refused = try proxy.clientReceived()
        #expect(statusCode(of: refused) == 400)
        #expect(refused.hasSuffix("\r\n\r\n"))  // the JSON body's length is given, the body is not sent
        _ = try? proxy.client.finish()
    }
}

/// Records the heads it is asked about and admits them as an access step
/// would: the client's identity header replaced by the authenticated one.
final class RecordingAdmission: RequestAdmission, Sendable {
    private let heads = NIOLockedValueBox<[HTTPRequestHead]>([])
    var seen: [HTTPRequestHead] { self.heads.withLockedValue { $0 } }

    func admit(_ request: AdmissionRequest) -> AdmissionResult {
        self.heads.withLockedValue { $0.append(request.head) }
        var head = request.head
        head.headers.replaceOrAdd(name: "X-Authenticated-User", value: "alice")
        return .decided(.admit(head))
    }
}

/// ``RequestFraming`` on header values alone.
@Suite struct RequestFramingTests {
    @Test(arguments: [
        // framing, method, fields before, content-length after, transfer-encoding after
        (RequestFraming.contentLength(3), HTTPMethod.POST, [("Content-Length", "3")], ["3"], [String]()),
        (.contentLength(3), .POST, [("Content-Length", "003")], ["3"], []),
        (.contentLength(3), .GET, [], ["3"], []),
        (.contentLength(3), .POST, [("Transfer-Encoding", "chunked")], ["3"], []),
        (.chunked, .POST, [("Transfer-Encoding", "chunked")], [], ["chunked"]),
        (.chunked, .POST, [("Content-Length", "3")], [], ["chunked"]),
        (.none, .POST, [], ["0"], []),
        (.none, .PATCH, [("Content-Length", "7")], ["0"], []),
        (.none, .GET, [("Transfer-Encoding", "chunked")], [], []),
    ])
    func framingReplacesWhateverTheHeadHeld(
        _ framing: RequestFraming, _ method: HTTPMethod, _ fields: [(String, String)], _ length: [String],
        _ coding: [String]
    ) {
        var headers = HTTPHeaders(fields)
        framing.apply(to: &headers, method: method)
        #expect(headers["content-length"] == length)
        #expect(headers["transfer-encoding"] == coding)
    }
}
