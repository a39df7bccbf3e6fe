import Foundation
import PrometheusText
import Testing
@testable import Proxy

/// `lmgate usage`'s report: grouped sums equal the rows' sums, in the
/// table and in JSON (read back with Foundation's JSON parser).
@Suite struct UsageReportTests {
    @Test func groupedLinesAddUpToTheRows() throws {
        var random = RandomUsage()
        let rows = expectedRows((0..<400).map { _ in random.next(around: Date()) })
        for columns: [UsageReport.Column] in [[.identity, .model], [.identity], [.model], [.hour], [.day, .identity], []] {
            let report = UsageReport(rows: rows, by: columns)
            let decoded = try JSONSerialization.jsonObject(with: Data(report.json().utf8)) as! [[String: Any]]
            #expect(decoded.count == report.lines.count)
            let requests = decoded.map { ($0["requests"] as! NSNumber).int64Value }.reduce(0, +)
            let tokens = decoded.map { ($0["total_tokens"] as! NSNumber).int64Value }.reduce(0, +)
            #expect(requests == rows.map(\.requests).reduce(0, +))
            #expect(tokens == rows.map(\.tokens).reduce(0, +))
            for column in columns { #expect(decoded.allSatisfy { $0[column.rawValue] is String }) }
            // Each identity's line holds exactly its rows' sums.
            if columns == [.identity] {
                for line in report.lines {
                    let mine = rows.filter { $0.identity == line.identity }
                    #expect(line.promptTokens == mine.map(\.promptTokens).reduce(0, +))
                    #expect(line.serverErrors == mine.map(\.serverErrors).reduce(0, +))
                }
            }
            let table = report.table()
            let total = try #require(table.split(separator: "\n").last)
            if report.lines.count > 1 { #expect(total.hasPrefix("total")) }
            #expect(total.split(separator: " ").contains(Substring(String(requests))), "\(table)")
        }
    }

    @Test func timesAreDatesTimesOrSpans() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let spans = ["24h", "90m", "7d"].map { UsageQuery.time($0, now: now) ?? 0 }
        let expected: [Int64] = [1_800_000_000 - 86_400, 1_800_000_000 - 5400, 1_800_000_000 - 7 * 86_400]
        #expect(spans == expected)
        #expect(UsageQuery.time("2026-12-07") == Int64(ISO8601DateFormatter().date(from: "2026-12-07T00:00:00Z")!.timeIntervalSince1970))
        #expect(UsageQuery.time("2026-12-07T10:00:00Z") == Int64(ISO8601DateFormatter().date(from: "2026-12-07T10:00:00Z")!.timeIntervalSince1970))
        for bad in ["", "yesterday", "-5h", "5x", "2026-13-01"] { #expect(UsageQuery.time(bad, now: now) == nil, "\(bad)") }
    }

    @Test func identityLabelsAreEscapedForPrometheus() {
        var metrics = IdentityMetrics()
        metrics.answered("we\"ird\\user\n", tokens: 3)
        metrics.denied("we\"ird\\user\n", code: "model_not_allowed")
        metrics.denied("we\"ird\\user\n", code: "bad_request")
        var exposition = PrometheusExposition()
        metrics.render(into: &exposition)
        let text = exposition.text
        #expect(text.contains(#"lmgate_proxy_identity_requests_total{identity="we\"ird\\user\n"} 1"#))
        #expect(text.contains(#"lmgate_proxy_identity_denied_total{identity="we\"ird\\user\n",limit="models"} 1"#))
        #expect(!text.contains("bad_request"), "only limits are counted as denials")
    }
}
