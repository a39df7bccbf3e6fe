import Foundation
import Testing
@testable import Proxy

/// Usage accounting across restarts: token quotas read back from the file,
/// and nothing lost when the store fails.
@Suite struct UsageAccountingTests {
    @Test func tokenQuotasSurviveARestart() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("usage.sqlite")
        let quotas: [TokenQuotaLedger.Window: Int] = [.minute: 100_000, .day: 1000, .month: 5000]
        // Away from a minute's end, so the minute window is the same after the restart.
        var now = Date()
        if Int(now.timeIntervalSince1970) % 60 > 50 {
            try await Task.sleep(for: .seconds(11))
            now = Date()
        }
        var used = 0
        do {
            let accounting = try await UsageAccounting.open(
                store: try await SQLiteUsageStore.open(path: path, logger: quietLogger), logger: quietLogger)
            for _ in 0..<Int.random(in: 5...40) {
                let prompt = Int.random(in: 0...40)
                let completion = Int.random(in: 0...40)
                used += prompt + completion
                accounting.record(
                    RequestUsage(identity: "key:ci", model: "m", status: 200, promptTokens: prompt, completionTokens: completion, finished: now),
                    quotas: quotas)
                // An identity without quotas has no quota state to keep.
                accounting.record(
                    RequestUsage(identity: "alice", model: "m", status: 200, promptTokens: prompt, completionTokens: 1, finished: now),
                    quotas: [:])
            }
            #expect(accounting.quotas.used("key:ci", in: .day, now: now) == used)
            #expect(await accounting.close().isEmpty)
        }
        let restarted = try await UsageAccounting.open(
            store: try await SQLiteUsageStore.open(path: path, logger: quietLogger), logger: quietLogger, now: now)
        for window in TokenQuotaLedger.Window.allCases {
            #expect(restarted.quotas.used("key:ci", in: window, now: now) == used, "\(window)")
            #expect(restarted.quotas.used("alice", in: window, now: now) == 0)
        }
        // Over a quota before the restart is over it after.
        let tight: [TokenQuotaLedger.Window: Int] = [.day: max(1, used)]
        #expect(restarted.quotas.exhausted("key:ci", quotas: tight, now: now)?.window == .day)
        // A window that has ended is not read back.
        let nextMonth = Calendar(identifier: .gregorian).date(byAdding: .month, value: 1, to: now)!
        #expect(restarted.quotas.used("key:ci", in: .month, now: nextMonth) == 0)
        await restarted.close()
    }

    /// A store that refuses every write, as a full disk would.
    final class FailingStore: UsageStore {
        func write(_ batch: UsageBatch) async throws(UsageStoreError) {
            throw UsageStoreError(description: "cannot write the usage database /x: disk full")
        }
        func quotaCounts(now: Date) async throws(UsageStoreError) -> [QuotaWindowCount] { [] }
        func rows(_ query: UsageQuery) async throws(UsageStoreError) -> [UsageRow] { [] }
        func close() async {}
    }

    @Test func whatCannotBeWrittenAtShutdownIsReturnedAndLoggedRowByRow() async throws {
        let log = CapturedLog()
        let accounting = try await UsageAccounting.open(store: FailingStore(), logger: log.logger())
        var random = RandomUsage()
        var usages: [RequestUsage] = []
        for _ in 0..<50 {
            let usage = random.next(around: Date())
            usages.append(usage)
            accounting.record(usage, quotas: [:])
            if Bool.random() { await accounting.flush() }
        }
        let left = await accounting.close()
        let expected = expectedRows(usages)
        #expect(left.rows.values.sorted { ($0.hour, $0.identity, $0.model) < ($1.hour, $1.identity, $1.model) } == expected)
        #expect(log.text.components(separatedBy: "usage.write_failed").count - 1 <= 1, "a failure is logged once, not per retry")
        #expect(log.text.contains("these counts are lost"))
        #expect(log.text.components(separatedBy: "\n").filter { $0.contains("usage.unwritten") && $0.contains("usage.requests=") }.count == expected.count)
    }

    @Test func batchesMergeAsTheirRequestsAdd() {
        var random = RandomUsage()
        let usages = (0..<300).map { _ in random.next(around: Date()) }
        var whole = UsageBatch()
        var first = UsageBatch()
        var second = UsageBatch()
        for (index, usage) in usages.enumerated() {
            whole.add(usage, quotaWindows: [.minute, .day])
            if index % 3 == 0 { first.add(usage, quotaWindows: [.minute, .day]) } else { second.add(usage, quotaWindows: [.minute, .day]) }
        }
        first.merge(second)
        #expect(first == whole)
        #expect(whole.rows.values.sorted { ($0.hour, $0.identity, $0.model) < ($1.hour, $1.identity, $1.model) } == expectedRows(usages))
        let identified = usages.filter { $0.identity != nil }
        let dayTokens = whole.quotaCounts.values.filter { $0.window == .day }.map(\.tokens).reduce(0, +)
        #expect(dayTokens == Int64(identified.map(\.tokens).reduce(0, +)))
    }
}
