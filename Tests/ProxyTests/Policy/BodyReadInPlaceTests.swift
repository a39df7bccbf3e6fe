import NIOCore
import NIOHTTP1
import Testing
@testable import Proxy

/// A held request body is read where it is (one buffer, any start index)
/// or copied together (several parts): every way gives the array's decision.
@Suite struct BodyReadInPlaceTests {
    static let bodies = [
        #"{"model":"a","messages":[{"role":"user","content":"hi"}]}"#,
        #"{"model":"a","stream":true,"messages":[]}"#,
        " {\"stream\" : true , \"model\" : \"a\\u0062\" } ",
        #"{"model":"a","stream":true,"stream_options":{"include_usage":true}}"#,
        #"{"model":"a","stream":true,"stream_options":{}}"#,
        #"{"model":"b","stream":false}"#,
        #"{"model":"a","mod\u0065l":"b"}"#,
        #"{"Model":"a"}"#,
        #"{"stream":"yes","model":"a"}"#,
        #"{"model":"a"} x"#,
        #"{"model":"a\ud800"}"#,
        #"{"messages":[]}"#,
        "{}",
        "",
    ].map { Array($0.utf8) }

    static let policies = [
        IdentityLimits(models: [ModelPattern("a")!]),
        IdentityLimits(tokenQuotas: [.minute: 100]),
        IdentityLimits(models: [ModelPattern("a*")!], tokenQuotas: [.day: 10]),
    ].map { limits in
        var policy = IdentityPolicy(identity: "key:ci", limits: limits, concurrency: ConcurrentRequestLimit())
        policy.recordsUsage = true  // streams asked for their usage without a quota too
        return policy
    }

    static let path: Substring = "/v1/chat/completions"

    /// `bytes` in a buffer whose readable bytes start past others (a view's indices do not start at 0).
    static func buffer(_ bytes: [UInt8], offset: Int) -> ByteBuffer {
        var buffer = ByteBuffer(bytes: Array(repeating: UInt8(ascii: "{"), count: offset) + bytes)
        buffer.moveReaderIndex(forwardBy: offset)
        return buffer
    }

    @Test func aBufferIsReadAsTheArrayIs() {
        for policy in Self.policies {
            for body in Self.bodies {
                let expected = policy.inspectBody(body, path: Self.path)
                let view = Self.buffer(body, offset: 7).readableBytesView
                #expect(view.startIndex == 7)
                #expect(policy.inspectBody(view, path: Self.path) == expected, "\(String(decoding: body, as: UTF8.self))")
                let direct = body.withUnsafeBufferPointer { policy.inspectBody($0, path: Self.path) }
                #expect(direct == expected)
            }
        }
    }

    @Test func aBodyInOneOrSeveralPartsGetsTheArraysDecision() {
        for policy in Self.policies {
            for body in Self.bodies {
                let expected = policy.inspectBody(body, path: Self.path)
                let one: [HTTPClientRequestPart] = [.body(.byteBuffer(Self.buffer(body, offset: 3))), .end(nil)]
                #expect(ForwardingHandler.inspect(one, bytes: body.count, with: policy, path: Self.path) == expected)
                for cut in 0...body.count {
                    // Two parts at every cut, and three (the last byte on its own).
                    var parts: [HTTPClientRequestPart] = [
                        .body(.byteBuffer(Self.buffer(Array(body[..<cut]), offset: 1))),
                        .body(.byteBuffer(ByteBuffer(bytes: body[cut...].dropLast()))),
                    ]
                    if let last = body.last, cut < body.count { parts.append(.body(.byteBuffer(ByteBuffer(bytes: [last])))) }
                    parts.append(.end(nil))
                    let action = ForwardingHandler.inspect(parts, bytes: body.count, with: policy, path: Self.path)
                    #expect(action == expected, "cut at \(cut) of \(String(decoding: body, as: UTF8.self))")
                }
            }
        }
    }

    /// The rewritten stream body keeps the client's bytes, with the member before the last `}`.
    @Test func aStreamReadInABufferIsRewrittenFromItsOwnBytes() {
        let body = Array(#"{"model":"a","stream":true}  "#.utf8)
        let action = Self.policies[1].inspectBody(Self.buffer(body, offset: 5).readableBytesView, path: Self.path)
        #expect(action == .proceed(rewrittenBody: Array(#"{"model":"a","stream":true,"stream_options":{"include_usage":true}}  "#.utf8)))
    }
}

/// A JSON response's usage read from its one buffer (held, not copied) or
/// from its parts copied together: the same counts and model either way.
@Suite struct ResponseReadInPlaceTests {
    static let responses = [
        #"{"model":"m1","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12}}"#,
        #" {"type":"message","model":"c","usage":{"input_tokens":3,"output_tokens":4}} "#,
        #"{"model":"m1","usage":{"prompt_tokens":5,"completion_tokens":7}"#,
        #"{"usage":null}"#,
        "not json",
    ].map { Array($0.utf8) }

    struct Read: Equatable {
        var tokens: Int?
        var model: String?
        var passed: [UInt8]
    }

    static func read(_ parts: [ByteBuffer]) -> Read {
        var meter = ResponseUsageMeter(contentType: "application/json", stripsUsageChunk: false)
        var passed: [UInt8] = []
        for part in parts { passed += meter.pass(buffer: part) ?? [] }
        passed += meter.finish()
        return Read(tokens: meter.tokens, model: meter.model, passed: passed)
    }

    @Test func oneBufferOrSeveralReadAsTheBytesAre() {
        for response in Self.responses {
            var meter = ResponseUsageMeter(contentType: "application/json", stripsUsageChunk: false)
            _ = meter.pass(response)
            let finished = meter.finish()
            let expected = Read(tokens: meter.tokens, model: meter.model, passed: finished)
            #expect(Self.read([BodyReadInPlaceTests.buffer(response, offset: 9)]) == expected)
            for cut in 0..<response.count {
                // Before the cut, from it to the last byte, the last byte.
                let parts = [
                    BodyReadInPlaceTests.buffer(Array(response[..<cut]), offset: 2),
                    ByteBuffer(bytes: response[cut...].dropLast()), ByteBuffer(bytes: response.suffix(1)),
                ]
                #expect(Self.read(parts) == expected, "cut at \(cut)")
            }
        }
        #expect(Self.read([ByteBuffer(bytes: Self.responses[0])]).tokens == 12)
        #expect(Self.read([ByteBuffer(bytes: Self.responses[1])]).model == "c")
    }

    @Test func aResponseOverTheLimitIsNotRead() {
        let large = Array(#"{"usage":{"prompt_tokens":1},"pad":""#.utf8) + Array(repeating: UInt8(ascii: "x"), count: ResponseUsageMeter.maxJSONBytes)
            + Array(#""}"#.utf8)
        #expect(Self.read([ByteBuffer(bytes: large)]).tokens == nil)
        #expect(Self.read([ByteBuffer(bytes: large.prefix(10)), ByteBuffer(bytes: large.dropFirst(10))]).tokens == nil)
    }
}
