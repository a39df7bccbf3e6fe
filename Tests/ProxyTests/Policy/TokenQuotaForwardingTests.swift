import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing
@testable import Proxy

/// Token quotas carried out by the ``ForwardingHandler``: the stream asked
/// for its usage with a well-framed body, the usage taken out of what the
/// client sees and counted, and 429 with `Retry-After` once the quota is used.
@Suite struct TokenQuotaForwardingTests {
    let limits = IdentityLimits(tokenQuotas: [.minute: 10])

    func bodyBytes(_ parts: [HTTPClientRequestPart]) -> String {
        parts.reduce(into: "") { text, part in
            if case .body(.byteBuffer(let buffer)) = part { text += String(buffer: buffer) }
        }
    }

    @Test func aStreamIsAskedForUsageCountedAndTheQuotaEnforced() throws {
        let admission = LimitedIdentityAdmission(limits: limits)
        let proxy = try EmbeddedForwarding(admission: admission)
        let body = #"{"model":"m","stream":true}"#
        try proxy.clientSends(
            "POST /v1/chat/completions HTTP/1.1\r\nHost: a\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body)
        let parts = try proxy.upstreamReceived()
        let sent = bodyBytes(parts)
        #expect(sent == #"{"model":"m","stream":true,"stream_options":{"include_usage":true}}"#)
        #expect(parts.head?.headers["content-length"] == ["\(sent.utf8.count)"], "the length was not redone")

        let events =
            #"data: {"choices":[{"delta":{"content":"Hi"}}],"usage":null}"# + "\n\n"
            + #"data: {"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":6,"total_tokens":11}}"# + "\n\n"
            + "data: [DONE]\n\n"
        try proxy.upstreamResponds(headers: [("content-type", "text/event-stream"), ("transfer-encoding", "chunked")], body: events)
        let received = try proxy.clientReceived()
        #expect(received.contains(#"data: {"choices":[{"delta":{"content":"Hi"}}]}"# + "\n\ndata: [DONE]\n\n"), "\(received)")
        #expect(!received.contains("usage"))
        #expect(admission.tokens.used("key:ci", in: .minute) == 11)

        let second = try EmbeddedForwarding(admission: admission)
        try second.clientSends(
            "POST /v1/chat/completions HTTP/1.1\r\nHost: a\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body)
        let refused = try second.clientReceived()
        #expect(refused.hasPrefix("HTTP/1.1 429"), "\(refused)")
        #expect(refused.contains("token_quota_exceeded") && refused.contains("tokens_per_minute"))
        let retryAfter = try #require(refused.lowercased().split(separator: "\r\n").first { $0.hasPrefix("retry-after: ") })
        let seconds = try #require(Int(retryAfter.dropFirst("retry-after: ".count)))
        #expect((1...60).contains(seconds))
        #expect(try second.upstreamReceived().isEmpty)
    }

    @Test func aClientLeavingAfterTheLastEventIsStillCounted() throws {
        let admission = LimitedIdentityAdmission(limits: limits)
        let proxy = try EmbeddedForwarding(admission: admission)
        let body = #"{"model":"m","stream":true}"#
        try proxy.clientSends(
            "POST /v1/chat/completions HTTP/1.1\r\nHost: a\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body)
        _ = try proxy.upstreamReceived()
        let events = #"data: {"choices":[],"usage":{"prompt_tokens":4,"completion_tokens":3}}"# + "\n\ndata: [DONE]\n\n"
        try proxy.upstreamResponds(
            headers: [("content-type", "text/event-stream"), ("transfer-encoding", "chunked")], body: events, end: false)
        proxy.client.pipeline.fireChannelInactive()
        #expect(admission.tokens.used("key:ci", in: .minute) == 7)
    }

    @Test func aChunkedStreamRequestStaysChunkedWithTheNewBody() throws {
        let proxy = try EmbeddedForwarding(admission: LimitedIdentityAdmission(limits: limits))
        try proxy.clientSends(
            "POST /v1/completions HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "f\r\n{\"stream\":true}\r\n0\r\n\r\n")
        let parts = try proxy.upstreamReceived()
        #expect(parts.head?.headers["transfer-encoding"] == ["chunked"])
        #expect(parts.head?.headers["content-length"] == [])
        #expect(bodyBytes(parts) == #"{"stream":true,"stream_options":{"include_usage":true}}"#)
    }

    @Test func aJSONResponseIsCountedAndPassesByteForByte() throws {
        let admission = LimitedIdentityAdmission(limits: limits)
        let proxy = try EmbeddedForwarding(admission: admission)
        let body = #"{"model":"m"}"#
        try proxy.clientSends(
            "POST /v1/chat/completions HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip, deflate\r\n"
                + "Content-Length: \(body.utf8.count)\r\n\r\n" + body)
        let parts = try proxy.upstreamReceived()
        #expect(bodyBytes(parts) == body, "a non-stream body was changed")
        #expect(parts.head?.headers["accept-encoding"] == [], "a compressed answer could not be counted")
        let answer = #"{"choices":[],"usage":{"prompt_tokens":2,"completion_tokens":3}}"#
        try proxy.upstreamResponds(
            headers: [("content-type", "application/json"), ("content-length", "\(answer.utf8.count)")], body: answer)
        #expect(try proxy.clientReceived().hasSuffix("\r\n\r\n" + answer))
        #expect(admission.tokens.used("key:ci", in: .minute) == 5)
    }
}
