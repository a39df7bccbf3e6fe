import Foundation
import NIOCore
import NIOHTTP1
import Testing
@testable import Proxy

/// Streams counted for every identity where usage is recorded, limits or
/// not: the proxy asks an OpenAI-style stream for its usage, and the client
/// receives, byte for byte, the stream the upstream sends when not asked.
///
/// The reference is ``OpenAIStyleUpstream``, written here from the format
/// OpenAI documents (and lmgate's backend and llama-server follow): asked
/// for usage, every chunk carries `"usage":null` and one more chunk carries
/// the usage with no choices. Each round draws random contents (some that
/// spell `usage` inside strings), JSON spacing, line endings and the places
/// where the stream is cut into parts.
@Suite struct StreamUsageForwardingTests {
    func accounting(_ directory: TemporaryDirectory) async throws -> UsageAccounting {
        try await UsageAccounting.open(
            store: try await SQLiteUsageStore.open(path: directory.file("usage.sqlite"), logger: quietLogger), logger: quietLogger)
    }

    func request(_ body: String, path: String = "/v1/chat/completions") -> String {
        "POST \(path) HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body
    }

    @Test func everyIdentitysStreamIsCountedAndTheClientSeesThePlainStream() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let accounting = try await self.accounting(directory)
        var generator = SystemRandomNumberGenerator()
        var expectedTokens = 0
        for round in 0..<40 {
            let upstream = OpenAIStyleUpstream.random(using: &generator)
            // Limits or none: a model limit, a quota, or nothing at all.
            let limits = [IdentityLimits(), IdentityLimits(models: [ModelPattern("m*")!]), IdentityLimits(tokenQuotas: [.day: 1 << 40])][
                round % 3]
            let proxy = try EmbeddedForwarding(admission: AccountedAdmission(limits: limits, usageAccounting: accounting))
            let body = #"{"model":"m1", "messages":[{"role":"user","content":"}"}],"stream":true}"#
            try proxy.clientSends(self.request(body))
            let parts = try proxy.upstreamReceived()
            #expect(bodyText(parts) == String(body.dropLast()) + #","stream_options":{"include_usage":true}}"#)
            #expect(parts.head?.headers["content-length"] == ["\(bodyText(parts).utf8.count)"])

            let asked = upstream.events(usageAsked: true)
            try proxy.upstreamResponds(
                headers: [("content-type", "text/event-stream"), ("transfer-encoding", "chunked")], body: nil, end: false)
            for piece in randomPieces(of: asked, using: &generator) {
                try proxy.upstreamChannel.writeInbound(HTTPClientResponsePart.body(ByteBuffer(bytes: piece)))
            }
            try proxy.upstreamChannel.writeInbound(HTTPClientResponsePart.end(nil))
            let received = try dechunkedBody(of: proxy.clientReceived())
            #expect(received == upstream.events(usageAsked: false), "round \(round): the client saw a changed stream")
            expectedTokens += upstream.promptTokens + upstream.completionTokens
        }
        #expect(accounting.unwritten.rows.values.reduce(Int64(0)) { $0 + $1.tokens } == Int64(expectedTokens))
        #expect(await accounting.close().isEmpty)
    }

    @Test func aStreamWhoseClientAskedForUsageIsCountedAndLeftAlone() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let accounting = try await self.accounting(directory)
        var generator = SystemRandomNumberGenerator()
        let upstream = OpenAIStyleUpstream.random(using: &generator)
        let proxy = try EmbeddedForwarding(admission: AccountedAdmission(limits: IdentityLimits(), usageAccounting: accounting))
        let body = #"{"model":"m","stream":true,"stream_options":{"include_usage":true}}"#
        try proxy.clientSends(self.request(body))
        #expect(bodyText(try proxy.upstreamReceived()) == body)
        let events = upstream.events(usageAsked: true)
        try proxy.upstreamResponds(
            headers: [("content-type", "text/event-stream"), ("transfer-encoding", "chunked")], body: String(decoding: events, as: UTF8.self))
        #expect(try dechunkedBody(of: proxy.clientReceived()) == events)
        #expect(accounting.unwritten.rows.values.first?.tokens == Int64(upstream.promptTokens + upstream.completionTokens))
        #expect(await accounting.close().isEmpty)
    }

    /// Without a limit that depends on it, a body the proxy cannot read or
    /// ask usage of is forwarded as it came, never refused.
    @Test func anUnlimitedIdentitysUncheckableBodiesPassUnchanged() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let accounting = try await self.accounting(directory)
        let bodies = [
            #"{"model":"m","stream":true,"stream_options":{"include_usage":false}}"#,
            #"{"model":"m","stream":true,"stream":true}"#,
            #"{"model":"m","stream":true} trailing"#,
            #"{"model":"m","stream":false}"#,
        ]
        for body in bodies {
            let proxy = try EmbeddedForwarding(admission: AccountedAdmission(limits: IdentityLimits(), usageAccounting: accounting))
            try proxy.clientSends(self.request(body))
            let parts = try proxy.upstreamReceived()
            #expect(bodyText(parts) == body, "\(body)")
            #expect(parts.head?.headers["content-length"] == ["\(body.utf8.count)"])
        }
        // With a quota the same stream_options is refused: the quota could not be counted.
        let limited = try EmbeddedForwarding(
            admission: AccountedAdmission(limits: IdentityLimits(tokenQuotas: [.day: 100]), usageAccounting: accounting))
        try limited.clientSends(self.request(bodies[0]))
        #expect(statusCode(of: try limited.clientReceived()) == 400)
        _ = await accounting.close()
    }

    /// A body too large to hold is forwarded whole for an identity without
    /// limits (uncounted), where a limited identity gets 413.
    @Test func aBodyTooLargeToHoldIsForwardedForAnUnlimitedIdentity() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let accounting = try await self.accounting(directory)
        let filler = String(repeating: "a", count: IdentityPolicy.maxInspectedBodyBytes)
        let body = #"{"model":"m","stream":true,"messages":[{"role":"user","content":""# + filler + #""}]}"#
        let proxy = try EmbeddedForwarding(admission: AccountedAdmission(limits: IdentityLimits(), usageAccounting: accounting))
        try proxy.clientSends(self.request(body))
        let parts = try proxy.upstreamReceived()
        #expect(bodyText(parts).utf8.count == body.utf8.count)
        #expect(bodyText(parts) == body)

        let limited = try EmbeddedForwarding(
            admission: AccountedAdmission(limits: IdentityLimits(tokenQuotas: [.day: 100]), usageAccounting: accounting))
        try limited.clientSends(self.request(body))
        #expect(statusCode(of: try limited.clientReceived()) == 413)
        _ = await accounting.close()
    }

    /// Anthropic's Messages streams report usage on their own: the input
    /// count in `message_start`, the output count growing in `message_delta`.
    @Test func anAnthropicStreamIsCountedAsItComes() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let accounting = try await self.accounting(directory)
        let proxy = try EmbeddedForwarding(admission: AccountedAdmission(limits: IdentityLimits(), usageAccounting: accounting))
        let body = #"{"model":"claude-like","max_tokens":20,"stream":true,"messages":[{"role":"user","content":"hi"}]}"#
        try proxy.clientSends(self.request(body, path: "/v1/messages"))
        #expect(bodyText(try proxy.upstreamReceived()) == body)
        let events = [
            #"event: message_start"# + "\n" + #"data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-like","content":[],"usage":{"input_tokens":12,"output_tokens":1}}}"#,
            #"event: content_block_delta"# + "\n" + #"data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"the usage"}}"#,
            #"event: message_delta"# + "\n" + #"data: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":9}}"#,
            #"event: message_stop"# + "\n" + #"data: {"type":"message_stop"}"#,
        ].map { $0 + "\n\n" }.joined()
        try proxy.upstreamResponds(headers: [("content-type", "text/event-stream"), ("transfer-encoding", "chunked")], body: events)
        #expect(try dechunkedBody(of: proxy.clientReceived()) == Array(events.utf8))
        let row = try #require(accounting.unwritten.rows.values.first)
        #expect((row.identity, row.model, row.promptTokens, row.completionTokens) == ("key:ci", "claude-like", 12, 9))
        _ = await accounting.close()
    }
}

/// An OpenAI-compatible upstream's stream for one completion, in either
/// form: not asked for usage, or asked (every chunk with `"usage":null`, and
/// a last chunk with the usage and no choices).
struct OpenAIStyleUpstream {
    var contents: [String]
    /// `", "` and `": "` between members (Python's `json.dumps`), or none.
    var spaced: Bool
    var lineEnd: String
    var promptTokens: Int
    var completionTokens: Int

    static func random(using generator: inout some RandomNumberGenerator) -> Self {
        let words = ["one", " two", "\"usage\":null", "usage", "\\n", "é", "}", "{\"usage\":{}}", " ", "data: x"]
        return Self(
            contents: (0..<Int.random(in: 1...8, using: &generator)).map { _ in words.randomElement(using: &generator)! },
            spaced: Bool.random(using: &generator), lineEnd: Bool.random(using: &generator) ? "\n" : "\r\n",
            promptTokens: Int.random(in: 1...4000, using: &generator), completionTokens: Int.random(in: 0...4000, using: &generator))
    }

    func events(usageAsked: Bool) -> [UInt8] {
        let (comma, colon) = self.spaced ? (", ", ": ") : (",", ":")
        func object(_ members: [(String, String)]) -> String {
            "{" + members.map { "\"\($0.0)\"\(colon)\($0.1)" }.joined(separator: comma) + "}"
        }
        func event(_ data: String) -> String { "data: " + data + self.lineEnd + self.lineEnd }
        var text = ""
        for content in self.contents {
            let escaped = String(decoding: try! JSONSerialization.data(withJSONObject: [content], options: [.fragmentsAllowed]), as: UTF8.self)
                .dropFirst().dropLast()
            var members = [
                ("id", "\"chatcmpl-1\""), ("object", "\"chat.completion.chunk\""), ("model", "\"m1\""),
                ("choices", "[" + object([("index", "0"), ("delta", object([("content", String(escaped))]))]) + "]"),
            ]
            if usageAsked { members.append(("usage", "null")) }
            text += event(object(members))
        }
        if usageAsked {
            let usage = object([
                ("prompt_tokens", "\(self.promptTokens)"), ("completion_tokens", "\(self.completionTokens)"),
                ("total_tokens", "\(self.promptTokens + self.completionTokens)"),
            ])
            text += event(object([("id", "\"chatcmpl-1\""), ("model", "\"m1\""), ("choices", "[]"), ("usage", usage)]))
        }
        text += event("[DONE]")
        return Array(text.utf8)
    }
}

/// `bytes` cut at random places into one to a dozen parts.
func randomPieces(of bytes: [UInt8], using generator: inout some RandomNumberGenerator) -> [[UInt8]] {
    let cuts = (0..<Int.random(in: 0...11, using: &generator)).map { _ in Int.random(in: 0...bytes.count, using: &generator) }
    let bounds = ([0] + cuts.sorted() + [bytes.count])
    return zip(bounds, bounds.dropFirst()).map { Array(bytes[$0..<$1]) }
}

/// The request body the upstream was sent, as text.
func bodyText(_ parts: [HTTPClientRequestPart]) -> String {
    parts.reduce(into: "") { text, part in
        if case .body(.byteBuffer(let buffer)) = part { text += String(buffer: buffer) }
    }
}

/// The body of a raw chunked response, its chunks joined.
func dechunkedBody(of response: String) throws -> [UInt8] {
    let bytes = Array(response.utf8)
    let separator = Array("\r\n\r\n".utf8)
    guard let headEnd = ResponseUsageMeter.range(of: separator, in: bytes)?.upperBound else { throw DechunkingError() }
    var body: [UInt8] = []
    var index = headEnd
    while true {
        guard let lineEnd = ResponseUsageMeter.range(of: Array("\r\n".utf8), in: Array(bytes[index...]))?.lowerBound,
            let size = Int(String(decoding: bytes[index..<index + lineEnd], as: UTF8.self), radix: 16)
        else { throw DechunkingError() }
        index += lineEnd + 2
        if size == 0 { return body }
        guard index + size + 2 <= bytes.count else { throw DechunkingError() }
        body += bytes[index..<index + size]
        index += size + 2
    }
}

struct DechunkingError: Error {}
