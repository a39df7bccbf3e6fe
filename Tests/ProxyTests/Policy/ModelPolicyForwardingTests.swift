import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing
@testable import Proxy

/// Admits every request as one identity with the given limits.
struct LimitedIdentityAdmission: RequestAdmission {
    let identity = "key:ci"
    let limits: IdentityLimits
    let concurrency = ConcurrentRequestLimit()
    let tokens = TokenQuotaAccounts()

    func admit(_ request: AdmissionRequest) -> AdmissionResult {
        .decided(.admit(request.head, identity: self.identity))
    }

    func identityPolicy(for identity: String) -> IdentityPolicy? {
        identity == self.identity ? IdentityPolicy(identity: identity, limits: self.limits, concurrency: self.concurrency, tokens: self.tokens)
            : nil
    }
}

/// Allowed models and concurrency applied by the ``ForwardingHandler``:
/// the body is held and read before anything goes upstream, and forwarded
/// byte for byte when allowed.
@Suite struct ModelPolicyForwardingTests {
    static let limits = IdentityLimits(models: [ModelPattern("qwen3-*")!, ModelPattern("local-model")!])

    func bodyBytes(_ parts: [HTTPClientRequestPart]) -> String {
        parts.reduce(into: "") { text, part in
            if case .body(.byteBuffer(let buffer)) = part { text += String(buffer: buffer) }
        }
    }

    @Test func anAllowedModelIsForwardedUnchangedAfterTheWholeBodyArrived() throws {
        let proxy = try EmbeddedForwarding(admission: LimitedIdentityAdmission(limits: Self.limits))
        let body = #"{ "model" : "qwen3-8b", "messages": [] }"#
        try proxy.clientSends(
            "POST /v1/chat/completions HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
                + "Content-Length: \(body.utf8.count)\r\n\r\n" + body.prefix(10))
        #expect(try proxy.upstreamReceived().isEmpty, "forwarded before the model was known")
        try proxy.clientSends(String(body.dropFirst(10)))
        let parts = try proxy.upstreamReceived()
        #expect(parts.head?.headers["content-length"] == ["\(body.utf8.count)"])
        #expect(bodyBytes(parts) == body)
        try proxy.upstreamResponds(body: "{}")
        #expect(try proxy.clientReceived().hasPrefix("HTTP/1.1 200 OK"))
        #expect(try proxy.client.finish().isClean)
    }

    @Test func aChunkedBodyIsReadWholeAndForwardedChunked() throws {
        let proxy = try EmbeddedForwarding(admission: LimitedIdentityAdmission(limits: Self.limits))
        try proxy.clientSends(
            "POST /v1/embeddings HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "6\r\n{\"mode\r\n17\r\nl\":\"local-model\",\"x\":1}\r\n")
        #expect(try proxy.upstreamReceived().isEmpty)
        try proxy.clientSends("0\r\n\r\n")
        let parts = try proxy.upstreamReceived()
        #expect(parts.head?.headers["transfer-encoding"] == ["chunked"])
        #expect(bodyBytes(parts) == #"{"model":"local-model","x":1}"#)
    }

    @Test func aModelOutsideTheLimitIsRefused403AndNothingGoesUpstream() throws {
        // A proxy-made client error closes the connection: one connection per case.
        for body in [#"{"model":"llama-70b"}"#, #"{"messages":[]}"#] {
            let proxy = try EmbeddedForwarding(admission: LimitedIdentityAdmission(limits: Self.limits))
            try proxy.clientSends(
                "POST /v1/chat/completions HTTP/1.1\r\nHost: a\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body)
            let answer = try proxy.clientReceived()
            #expect(answer.hasPrefix("HTTP/1.1 403 Forbidden"), "\(answer)")
            #expect(answer.contains("\"code\":\"model_not_allowed\"") && answer.contains("models limit"))
            #expect(try proxy.upstreamReceived().isEmpty)
        }
    }

    @Test func aSecondModelKeyIsRefused400() throws {
        let proxy = try EmbeddedForwarding(admission: LimitedIdentityAdmission(limits: Self.limits))
        let body = #"{"model":"local-model","model":"llama-70b"}"#
        try proxy.clientSends(
            "POST /v1/completions HTTP/1.1\r\nHost: a\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body)
        #expect(try proxy.clientReceived().hasPrefix("HTTP/1.1 400 Bad Request"))
        #expect(try proxy.upstreamReceived().isEmpty)
    }

    @Test func aRestrictedBodyOverTheInspectionLimitIs413() throws {
        let proxy = try EmbeddedForwarding(admission: LimitedIdentityAdmission(limits: Self.limits)) {
            $0.limits.maxBodyBytes = 64 * 1024 * 1024
        }
        let size = IdentityPolicy.maxInspectedBodyBytes + 1
        try proxy.clientSends(
            "POST /v1/completions HTTP/1.1\r\nHost: a\r\nContent-Length: \(size)\r\n\r\n{\"model\":\"local-model\",\"x\":\"")
        try proxy.clientSends(String(repeating: "a", count: IdentityPolicy.maxInspectedBodyBytes))
        #expect(try proxy.clientReceived().hasPrefix("HTTP/1.1 413"))
        #expect(try proxy.upstreamReceived().isEmpty)
    }

    @Test func requestsWithoutABodyPassAModelLimit() throws {
        let proxy = try EmbeddedForwarding(admission: LimitedIdentityAdmission(limits: Self.limits))
        try proxy.clientSends("GET /v1/models HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(try proxy.upstreamReceived().head?.uri == "/v1/models")
    }

    @Test func overTheConcurrencyLimitIs429WithRetryAfterUntilARequestEnds() throws {
        let admission = LimitedIdentityAdmission(limits: IdentityLimits(maxConcurrent: 1))
        let first = try EmbeddedForwarding(admission: admission)
        let second = try EmbeddedForwarding(admission: admission)
        try first.clientSends("GET /v1/models HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(try first.upstreamReceived().head != nil)
        #expect(admission.concurrency.count("key:ci") == 1)

        try second.clientSends("GET /v1/models HTTP/1.1\r\nHost: a\r\n\r\n")
        let refused = try second.clientReceived()
        #expect(refused.hasPrefix("HTTP/1.1 429"), "\(refused)")
        #expect(refused.lowercased().contains("retry-after: 1\r\n"))
        #expect(refused.contains("max_concurrent") && refused.contains("concurrency_limit_exceeded"))
        #expect(try second.upstreamReceived().isEmpty)

        try first.upstreamResponds(body: "{}")
        _ = try first.clientReceived()
        #expect(admission.concurrency.count("key:ci") == 0)
        let third = try EmbeddedForwarding(admission: admission)
        try third.clientSends("GET /v1/models HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(try third.upstreamReceived().head != nil)
    }

    @Test func aClientLeavingMidRequestGivesItsPlaceBack() throws {
        let admission = LimitedIdentityAdmission(limits: IdentityLimits(maxConcurrent: 1))
        let proxy = try EmbeddedForwarding(admission: admission)
        try proxy.clientSends("GET /v1/models HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(admission.concurrency.count("key:ci") == 1)
        proxy.client.pipeline.fireChannelInactive()
        #expect(admission.concurrency.count("key:ci") == 0)
    }
}
