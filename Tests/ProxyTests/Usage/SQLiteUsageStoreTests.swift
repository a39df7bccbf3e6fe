import Foundation
import Testing
@testable import Proxy

/// The SQLite store on real files: what is written reads back as the sums
/// of the requests (also through the `sqlite3` program, an independent
/// reader), and bad files are clear errors.
@Suite struct SQLiteUsageStoreTests {
    @Test func randomRequestsWrittenInSeveralBatchesReadBackAsTheirSums() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await SQLiteUsageStore.open(path: directory.file("usage.sqlite"), logger: quietLogger)
        let accounting = try await UsageAccounting.open(store: store, logger: quietLogger)
        var random = RandomUsage()
        var usages: [RequestUsage] = []
        let now = Date()
        for round in 0..<5 {
            for _ in 0..<Int.random(in: 1...200) {
                let usage = random.next(around: now)
                usages.append(usage)
                accounting.record(usage, quotas: [:])
            }
            if round % 2 == 0 { #expect(await accounting.flush() == nil) }
        }
        #expect(await accounting.close().isEmpty)

        let reopened = try await SQLiteUsageStore.open(path: directory.file("usage.sqlite"), create: false, logger: quietLogger)
        let rows = try await reopened.rows(UsageQuery())
        #expect(rows == expectedRows(usages))
        let alice = try await reopened.rows(UsageQuery(identity: "alice"))
        #expect(alice == expectedRows(usages).filter { $0.identity == "alice" })
        let lastHour = UsageRow.hour(of: now)
        let recent = try await reopened.rows(UsageQuery(from: lastHour, model: "qwen3-8b"))
        #expect(recent == expectedRows(usages).filter { $0.hour >= lastHour && $0.model == "qwen3-8b" })
        await reopened.close()

        // The sqlite3 program reads the same totals from the file.
        let output = try ExternalTools.run([
            "sqlite3", directory.file("usage.sqlite"),
            "SELECT sum(requests), sum(prompt_tokens), sum(completion_tokens), sum(client_errors), sum(server_errors) FROM usage_hourly",
        ])
        #expect(output.status == 0, "\(output.stderr)")
        let prompt: Int = usages.map(\.promptTokens).reduce(0, +)
        let completion: Int = usages.map(\.completionTokens).reduce(0, +)
        let clientErrors: Int = usages.filter { (400..<500).contains($0.status) }.count
        let serverErrors: Int = usages.filter { $0.status >= 500 }.count
        let expected = "\(usages.count)|\(prompt)|\(completion)|\(clientErrors)|\(serverErrors)"
        #expect(output.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == expected)
        let mode = try ExternalTools.run(["sqlite3", directory.file("usage.sqlite"), "PRAGMA journal_mode"])
        #expect(mode.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "wal")
    }

    @Test func aFileThatIsNotADatabaseIsAClearError() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("usage.sqlite")
        try Data(repeating: 0x41, count: 4096).write(to: URL(fileURLWithPath: path))
        let error = await #expect(throws: UsageStoreError.self) {
            _ = try await SQLiteUsageStore.open(path: path, logger: quietLogger)
        }
        #expect(error?.description.contains(path) == true)
        #expect(error?.description.contains("not a usable SQLite database") == true, "\(String(describing: error))")
    }

    @Test func aDirectoryThatDoesNotExistIsAClearError() async throws {
        let path = "/nonexistent-\(UUID().uuidString)/usage.sqlite"
        let error = await #expect(throws: UsageStoreError.self) {
            _ = try await SQLiteUsageStore.open(path: path, logger: quietLogger)
        }
        #expect(error?.description.contains(path) == true)
        #expect(error?.description.contains("cannot open") == true, "\(String(describing: error))")
    }

    @Test func aMissingFileIsNotMadeForAReader() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("usage.sqlite")
        await #expect(throws: UsageStoreError.self) {
            _ = try await SQLiteUsageStore.open(path: path, create: false, logger: quietLogger)
        }
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func aNewerSchemaIsRefused() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("usage.sqlite")
        let made = try ExternalTools.run(["sqlite3", path, "PRAGMA user_version = 99"])
        #expect(made.status == 0)
        let error = await #expect(throws: UsageStoreError.self) {
            _ = try await SQLiteUsageStore.open(path: path, logger: quietLogger)
        }
        #expect(error?.description.contains("schema version 99") == true, "\(String(describing: error))")
    }

    @Test func aLockHeldByAnotherProcessKeepsTheRowsUntilItIsReleased() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("usage.sqlite")
        let log = CapturedLog()
        let store = try await SQLiteUsageStore.open(path: path, logger: quietLogger)
        let accounting = try await UsageAccounting.open(store: store, logger: log.logger())
        let usage = RequestUsage(identity: "alice", model: "m", status: 200, promptTokens: 3, completionTokens: 4, finished: Date())

        // Another process takes the write lock and holds it for 3 s, longer
        // than the store waits; the row is recorded once the lock is held
        // (it says so), so no write can slip in before it, however loaded
        // the machine.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        holder.arguments = ["sqlite3", path]
        let input = Pipe()
        let output = Pipe()
        holder.standardInput = input
        holder.standardOutput = output
        try holder.run()
        input.fileHandleForWriting.write(Data("BEGIN IMMEDIATE;\nINSERT INTO usage_hourly VALUES (0,'x','x',0,0,0,0,0);\n.print locked\n.shell sleep 3\nROLLBACK;\n".utf8))
        let said = output.fileHandleForReading.availableData
        #expect(String(decoding: said, as: UTF8.self).hasPrefix("locked"))
        accounting.record(usage, quotas: [:])

        let failure = await accounting.flush()
        #expect(failure?.description.contains("locked") == true, "\(String(describing: failure))")
        #expect(accounting.unwritten.rows.count == 1, "the row was dropped")
        #expect(log.text.contains("usage.write_failed"))

        try input.fileHandleForWriting.close()
        holder.waitUntilExit()
        accounting.record(usage, quotas: [:])
        #expect(await accounting.flush() == nil)
        #expect(log.text.contains("usage.write_recovered"))
        #expect(await accounting.close().isEmpty)
        let reopened = try await SQLiteUsageStore.open(path: path, create: false, logger: quietLogger)
        #expect(try await reopened.rows(UsageQuery()) == expectedRows([usage, usage]))
        await reopened.close()
    }
}
