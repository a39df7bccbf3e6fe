import Foundation
import Testing
@testable import Proxy

/// Token quotas: the ledger's windows, asking a stream for its usage, and
/// reading usage out of responses (with the injected parts taken out again).
@Suite struct TokenQuotaTests {
    let noon = Date(timeIntervalSince1970: 1_796_212_800)  // 2026-12-02T12:00:00Z

    @Test func aQuotaIsExhaustedUntilItsWindowEnds() throws {
        var ledger = TokenQuotaLedger()
        let quotas: [TokenQuotaLedger.Window: Int] = [.minute: 200, .day: 1000]
        #expect(ledger.exhausted("key:a", quotas: quotas, now: noon) == nil)
        ledger.record(150, for: "key:a", quotas: quotas, now: noon.addingTimeInterval(10))
        #expect(ledger.exhausted("key:a", quotas: quotas, now: noon.addingTimeInterval(11)) == nil)
        ledger.record(60, for: "key:a", quotas: quotas, now: noon.addingTimeInterval(20))
        let used = try #require(ledger.exhausted("key:a", quotas: quotas, now: noon.addingTimeInterval(45)))
        #expect(used == .init(window: .minute, quota: 200, used: 210, wait: 15))
        #expect(ledger.exhausted("key:b", quotas: quotas, now: noon.addingTimeInterval(45)) == nil, "counted for another key")
        #expect(ledger.exhausted("key:a", quotas: quotas, now: noon.addingTimeInterval(60)) == nil, "not served after the minute")
        #expect(ledger.used("key:a", in: .day, now: noon.addingTimeInterval(60)) == 210)
        ledger.record(800, for: "key:a", quotas: quotas, now: noon.addingTimeInterval(70))
        let day = try #require(ledger.exhausted("key:a", quotas: quotas, now: noon.addingTimeInterval(200)))
        #expect(day.window == .day && day.wait == 12 * 3600 - 200)
    }

    @Test func monthWindowsFollowTheCalendar() {
        let (start, end) = TokenQuotaLedger.Window.month.bounds(of: noon)
        #expect(start == Date(timeIntervalSince1970: 1_796_083_200))  // 2026-12-01T00:00:00Z
        #expect(end == Date(timeIntervalSince1970: 1_798_761_600))  // 2027-01-01T00:00:00Z
    }

    /// The month's bounds are computed by day arithmetic; Foundation's
    /// Gregorian calendar in UTC must agree on every day of 1900–2400
    /// (leap years, centuries, the 400-year rule) and before 1970.
    @Test func monthWindowsAgreeWithFoundationsCalendar() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let firstDay = -25_567  // 1900-01-01
        let lastDay = 157_054  // 2400-01-01
        var day = firstDay
        while day <= lastDay {
            // A random second of the day, so the bounds do not depend on the time of day.
            let date = Date(timeIntervalSince1970: Double(day) * 86_400 + Double.random(in: 0..<86_400).rounded(.down))
            let expected = calendar.dateInterval(of: .month, for: date)!
            let (start, end) = TokenQuotaLedger.Window.month.bounds(of: date)
            guard start == expected.start, end == expected.end else {
                Issue.record("month of \(date): \(start)–\(end), Foundation says \(expected.start)–\(expected.end)")
                return
            }
            day += 1
        }
    }

    @Test func aStreamIsAskedForUsageByAppendingAMember() {
        let body = Array(#"{"model":"m","stream":true,"temperature":0.70 }"#.utf8)
        #expect(StreamUsageRequest(body: body) == .rewritten(Array(
            #"{"model":"m","stream":true,"temperature":0.70 ,"stream_options":{"include_usage":true}}"#.utf8)))
        #expect(StreamUsageRequest(body: Array(#"{"model":"m"}"#.utf8)) == .unchanged)
        #expect(StreamUsageRequest(body: Array(#"{"stream":true,"stream_options":{"include_usage":true}}"#.utf8)) == .unchanged)
        guard case .refused = StreamUsageRequest(body: Array(#"{"stream":true,"stream_options":{}}"#.utf8)) else {
            Issue.record("stream_options without include_usage was edited")
            return
        }
    }

    /// Only JSON's literals decide: an upstream with a lenient parser reads
    /// `1` or `"true"` as true and would stream without the usage asked for.
    @Test func aStreamFlagOrUsageOptionThatIsNotALiteralIsRefused() {
        for body in [#"{"stream":1}"#, #"{"stream":"true"}"#, #"{"stream":[true]}"#, #"{"stream":{}}"#] {
            guard case .refused = StreamUsageRequest(body: Array(body.utf8)) else {
                Issue.record("\(body) was not refused")
                continue
            }
        }
        #expect(StreamUsageRequest(body: Array(#"{"stream":null}"#.utf8)) == .unchanged)
        #expect(StreamUsageRequest(body: Array(#"{"stream" : false ,"model":"m"}"#.utf8)) == .unchanged)
        for options in [#"{"include_usage":1}"#, #"{"include_usage":"true"}"#, #"{"include_usage":false,"include_usage":true}"#,
                        #"[{"include_usage":true}]"#, "true"] {
            guard case .refused = StreamUsageRequest(body: Array(#"{"stream":true,"stream_options":\#(options)}"#.utf8)) else {
                Issue.record("stream_options \(options) was not refused")
                continue
            }
        }
        #expect(StreamUsageRequest(body: Array(#"{"stream":true,"stream_options":{ "x":[1], "include_usage" : true }}"#.utf8))
            == .unchanged)
    }

    @Test func jsonResponsesAreCountedAndPassUnchanged() {
        var meter = ResponseUsageMeter(contentType: "application/json; charset=utf-8", stripsUsageChunk: true)
        let body = Array(#"{"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":30,"total_tokens":42}}"#.utf8)
        #expect(meter.pass(body[..<20]) == nil && meter.pass(body[20...]) == nil && !meter.rewritesBody)
        #expect(meter.finish() == [] && meter.tokens == 42)
        var anthropic = ResponseUsageMeter(contentType: "application/json", stripsUsageChunk: false)
        _ = anthropic.pass(Array(#"{"type":"message","usage":{"input_tokens":5,"output_tokens":7}}"#.utf8))
        _ = anthropic.finish()
        #expect(anthropic.tokens == 12)
    }

    /// The stream an upstream sends when asked for usage, and what the
    /// client must see instead: exactly the stream without usage.
    @Test func anInjectedStreamLosesItsUsageChunkAndNullUsages() {
        let asked =
            #"data: {"choices":[{"delta":{"content":"Hi"},"index":0}],"id":"x","usage":null}"# + "\n\n"
            + #"data: {"choices":[{"delta":{},"finish_reason":"stop","index":0}],"id":"x","usage":null}"# + "\n\n"
            + #"data: {"choices":[],"id":"x","usage":{"completion_tokens":2,"prompt_tokens":9,"total_tokens":11}}"# + "\n\n"
            + "data: [DONE]\n\n"
        let plain =
            #"data: {"choices":[{"delta":{"content":"Hi"},"index":0}],"id":"x"}"# + "\n\n"
            + #"data: {"choices":[{"delta":{},"finish_reason":"stop","index":0}],"id":"x"}"# + "\n\n"
            + "data: [DONE]\n\n"
        var meter = ResponseUsageMeter(contentType: "text/event-stream", stripsUsageChunk: true)
        var seen: [UInt8] = []
        let bytes = Array(asked.utf8)
        // Split at awkward places: inside events and inside the blank line.
        var index = 0
        for size in [5, 60, 1, 90, 3, 400] where index < bytes.count {
            let end = min(bytes.count, index + size)
            seen += meter.pass(bytes[index..<end]) ?? []
            index = end
        }
        seen += meter.pass(bytes[index...]) ?? []
        seen += meter.finish()
        #expect(String(decoding: seen, as: UTF8.self) == plain)
        #expect(meter.tokens == 11)
    }

    @Test func aStreamTheClientAskedUsageForIsCountedAndLeftAlone() {
        let stream = #"data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4}}"# + "\n\n"
            + #"event: message_delta"# + "\n" + #"data: {"type":"message_delta","usage":{"output_tokens":6}}"# + "\n\n"
        var meter = ResponseUsageMeter(contentType: "text/event-stream", stripsUsageChunk: false)
        _ = meter.pass(Array(stream.utf8))
        #expect(!meter.rewritesBody)
        _ = meter.finish()
        #expect(meter.tokens == 9, "the last count of each kind wins")
    }

    @Test func anyRepeatedTopLevelKeyIsRefused() {
        guard case .refused = RequestBodyModel(body: Array(#"{"model":"m","stream":false,"stream":true}"#.utf8)) else {
            Issue.record("a repeated stream key was accepted")
            return
        }
    }
}
