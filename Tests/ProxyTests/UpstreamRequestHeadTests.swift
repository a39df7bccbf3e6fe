import NIOHTTP1
import Testing
@testable import Proxy

/// The head sent upstream, field by field: ``UpstreamRequestHead`` reads the
/// admitted fields in one pass, and what it leaves, moves and adds must be
/// what the forwarding rules say, in a fixed order (the client's own fields
/// where they were, then the proxy's).
@Suite("Upstream request head")
struct UpstreamRequestHeadTests {
    private func make(
        _ fields: [(String, String)], method: HTTPMethod = .POST, framing: RequestFraming,
        version: HTTPVersion = .http1_1
    ) -> (head: HTTPRequestHead, requestID: String, expectsContinue: Bool) {
        var generator = RequestID.Generator()
        return UpstreamRequestHead.make(
            from: HTTPRequestHead(version: version, method: method, uri: "/v1/chat", headers: HTTPHeaders(fields)),
            framing: framing, client: .init(address: "192.0.2.7", usesTLS: true), upstreamHost: "up:1234",
            requestIDs: &generator)
    }

    private func names(_ head: HTTPRequestHead) -> [String] { head.headers.map { $0.name.lowercased() } }

    @Test func theProxysFieldsReplaceTheClientsAndFollowItsOwn() {
        let made = self.make(
            [
                ("Host", "gw.example"), ("Accept", "*/*"), ("X-Forwarded-For", "198.51.100.1"),
                ("X-Forwarded-Host", "spoofed"), ("Content-Length", "5"), ("X-Forwarded-Proto", "http"),
                ("x-forwarded-for", "198.51.100.2"), ("Connection", "close"), ("X-Request-ID", "client-id.1"),
                ("Expect", "100-continue"), ("User-Agent", "t"),
            ], framing: .contentLength(5))
        #expect(made.expectsContinue)
        #expect(made.requestID == "client-id.1")
        // The client's length is kept where it was (already the proxy's framing), its valid ID too.
        #expect(
            self.names(made.head) == [
                "accept", "content-length", "x-request-id", "user-agent", "host", "x-forwarded-host",
                "x-forwarded-for", "x-forwarded-proto",
            ])
        #expect(made.head.headers["host"] == ["up:1234"])
        #expect(made.head.headers["x-forwarded-host"] == ["gw.example"])
        #expect(made.head.headers["x-forwarded-for"] == ["198.51.100.1, 198.51.100.2, 192.0.2.7"])
        #expect(made.head.headers["x-forwarded-proto"] == ["https"])
        #expect(made.head.headers["content-length"] == ["5"])
    }

    @Test func withoutAHostNoForwardedHostAndAnInvalidOrRepeatedIDIsReplaced() {
        let invalid = self.make(
            [("X-Forwarded-Host", "spoofed"), ("X-Request-ID", "bad id"), ("Accept", "*/*")], method: .GET,
            framing: .none)
        #expect(!invalid.head.headers.contains(name: "x-forwarded-host"))
        #expect(invalid.head.headers["x-request-id"] == [invalid.requestID])
        #expect(invalid.requestID != "bad id" && RequestID.isValid(invalid.requestID))
        #expect(self.names(invalid.head) == ["accept", "host", "x-forwarded-for", "x-forwarded-proto", "x-request-id"])

        let repeated = self.make([("X-Request-ID", "a"), ("X-Request-ID", "b")], method: .GET, framing: .none)
        #expect(repeated.head.headers["x-request-id"] == [repeated.requestID])
        #expect(repeated.requestID != "a" && repeated.requestID != "b")
    }

    @Test func framingIsTheProxysAndEmptyEarlierForwardedForValuesAreKept() {
        // A length written with a leading zero, and a stray Transfer-Encoding: both rewritten.
        let rewritten = self.make(
            [("Content-Length", "05"), ("X-Forwarded-For", ""), ("Transfer-Encoding", "gzip")], framing: .contentLength(5),
            version: .http1_0)
        #expect(rewritten.head.headers["content-length"] == ["5"])
        #expect(!rewritten.head.headers.contains(name: "transfer-encoding"))
        #expect(rewritten.head.headers["x-forwarded-for"] == ["192.0.2.7"], "an empty earlier value adds nothing")
        #expect(rewritten.head.version == .http1_1)
        #expect(self.names(rewritten.head).last == "content-length")

        let twoEmpty = self.make([("X-Forwarded-For", ""), ("X-Forwarded-For", "")], method: .GET, framing: .none)
        #expect(twoEmpty.head.headers["x-forwarded-for"] == [", , 192.0.2.7"], "values joined as they came")

        let bodiless = self.make([("Expect", "something-else")], framing: .none)
        #expect(!bodiless.expectsContinue)
        #expect(bodiless.head.headers["expect"] == ["something-else"])
        #expect(bodiless.head.headers["content-length"] == ["0"], "a POST without a body says so")
    }

    /// A metered response is read as it passes, so its request asks for no
    /// encoding: `Accept-Encoding` (any case, every instance) is left out in
    /// the same pass, and kept, where it was, otherwise.
    @Test func acceptEncodingIsDroppedOnlyWhenAsked() {
        let fields = [
            ("Accept-Encoding", "gzip"), ("Accept", "*/*"), ("accept-encoding", "br"), ("X-Forwarded-Proto", "http"),
        ]
        var generator = RequestID.Generator()
        let head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/v1/chat", headers: HTTPHeaders(fields))
        let dropped = UpstreamRequestHead.make(
            from: head, framing: .contentLength(0), dropsAcceptEncoding: true,
            client: .init(address: "192.0.2.7", usesTLS: true), upstreamHost: "up:1234", requestIDs: &generator)
        #expect(dropped.head.headers["accept-encoding"] == [])
        #expect(!self.names(dropped.head).contains("accept-encoding") && self.names(dropped.head).first == "accept")
        let kept = self.make(fields, framing: .contentLength(0))
        #expect(kept.head.headers["accept-encoding"] == ["gzip", "br"])
        #expect(Array(self.names(kept.head).prefix(3)) == ["accept-encoding", "accept", "accept-encoding"])
    }
}
