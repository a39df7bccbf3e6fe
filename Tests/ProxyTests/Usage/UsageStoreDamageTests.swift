import Foundation
import Testing
@testable import Proxy

/// A usage database damaged or locked before the proxy starts: a clear
/// error naming the file, never a crash, a hang, or rows silently lost.
@Suite struct UsageStoreDamageTests {
    /// A database with enough rows to span many pages, then pages past the
    /// first overwritten (the header stays valid, so SQLite opens it).
    @Test func aDatabaseWithDamagedPagesIsRefusedAtStart() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("usage.sqlite")
        let store = try await SQLiteUsageStore.open(path: path, logger: quietLogger)
        var batch = UsageBatch()
        for index in 0..<1500 {
            batch.add(
                RequestUsage(
                    identity: "key:k\(index)-" + String(repeating: "x", count: 40), model: "model-\(index % 7)", status: 200, promptTokens: index, completionTokens: 1,
                    finished: Date()),
                quotaWindows: [])
        }
        try await store.write(batch)
        await store.close()
        // Fold the write-ahead log into the file, so the damage below hits the rows.
        #expect(try ExternalTools.run(["sqlite3", path, "PRAGMA wal_checkpoint(TRUNCATE)"]).status == 0)

        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        #expect(size > 16 * 4096, "too few pages to damage")
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        for page in stride(from: 2, to: size / 4096, by: 3) {
            try handle.seek(toOffset: UInt64(page * 4096 + 100))
            try handle.write(contentsOf: Data((0..<512).map { UInt8(truncatingIfNeeded: $0 &* 37) }))
        }
        try handle.close()

        let text = await self.openingError(path)
        #expect(text.contains(path), "\(text)")
        #expect(text.contains("damaged") || text.contains("not a usable SQLite database"), "\(text)")
    }

    /// Another process holds an exclusive lock on a (rollback-journal)
    /// database for longer than the store waits (its busy timeout): the
    /// start fails, saying so, rather than waiting for the lock.
    @Test func aDatabaseLockedAtStartIsAClearErrorAfterTheWait() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("usage.sqlite")
        #expect(try ExternalTools.run(["sqlite3", path, "CREATE TABLE t (x)"]).status == 0)
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        holder.arguments = ["sqlite3", path]
        let input = Pipe()
        holder.standardInput = input
        holder.standardOutput = FileHandle.nullDevice
        try holder.run()
        // The holder keeps its transaction open until its input ends: no timing to win. It waits
        // for the lock (`.timeout`): a probe below may hold a shared lock just then, and the
        // shell's default is not to wait, so BEGIN failed and the INSERT ran without a lock held
        // (the probe then never saw a lock: a CI run failed so).
        input.fileHandleForWriting.write(Data(".timeout 20000\nBEGIN EXCLUSIVE;\nINSERT INTO t VALUES (1);\n".utf8))
        var tries = 0
        while try ExternalTools.run(["sqlite3", path, "SELECT count(*) FROM t"]).status == 0 {
            tries += 1
            try #require(tries < 600, "the holder never took the lock")
            try await Task.sleep(for: .milliseconds(50))
        }

        let text = await self.openingError(path)
        #expect(text.contains(path) && text.contains("another process holds a lock"), "\(text)")
        // The holder exits at the end of its input (signals may reach it blocked);
        // waited for without blocking a thread of the test pool.
        input.fileHandleForWriting.write(Data("ROLLBACK;\n".utf8))
        try input.fileHandleForWriting.close()
        while holder.isRunning { try await Task.sleep(for: .milliseconds(50)) }
    }

    /// Why opening `path` failed; an issue (and the store closed) if it opened.
    func openingError(_ path: String) async -> String {
        do {
            let store = try await SQLiteUsageStore.open(path: path, logger: quietLogger)
            await store.close()
            Issue.record("the database at \(path) was opened")
            return ""
        } catch {
            return error.description
        }
    }
}
