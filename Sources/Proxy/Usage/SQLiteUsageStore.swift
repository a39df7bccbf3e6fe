import Foundation
import Logging
import NIOPosix
import SQLiteNIO

/// A ``UsageStore`` in an SQLite file, in WAL mode so `lmgate usage` can
/// read it while the proxy writes.
///
/// Every SQLite call runs on the store's own one-thread pool, never on an
/// event loop, and never on the pool that hashes passwords: a write that
/// waits for a lock (up to ``busyTimeoutMilliseconds``) delays only the next
/// write. The tables:
///
/// - `usage_hourly(hour, identity, model, requests, prompt_tokens,
///   completion_tokens, client_errors, server_errors)`: one row per UTC hour,
///   identity and model;
/// - `quota_windows(identity, window, window_start, tokens)`: the tokens each
///   identity used in each token-quota window; windows that ended over a
///   month ago are deleted as writes go.
///
/// `PRAGMA user_version` holds the schema version: a file made by a newer
/// lmgate is refused rather than written in a layout this one does not know.
public final class SQLiteUsageStore: UsageStore {
    /// The schema this code writes.
    static let schemaVersion = 1
    /// How long a statement waits for another process's lock before failing.
    /// (sqlite-nio's own busy handler would wait for ever.)
    static let busyTimeoutMilliseconds = 2000

    public let path: String
    private let connection: SQLiteConnection
    private let threadPool: NIOThreadPool

    private init(path: String, connection: SQLiteConnection, threadPool: NIOThreadPool) {
        self.path = path
        self.connection = connection
        self.threadPool = threadPool
    }

    /// Opens (`create`: or makes) the database at `path` and checks its schema.
    /// - Throws: ``UsageStoreError`` naming the file and the problem: a
    ///   missing file (without `create`), a directory that cannot be written,
    ///   a file that is not an SQLite database, a lock held too long, a newer schema.
    public static func open(path: String, create: Bool = true, logger: Logger) async throws(UsageStoreError) -> SQLiteUsageStore {
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        if isDirectory.boolValue {
            throw UsageStoreError(description: "the usage database \(path) is a directory")
        }
        if !exists && !create {
            throw UsageStoreError(description: "there is no usage database at \(path) (the proxy makes it when it starts with state.path set, or beside its keys file)")
        }
        let threadPool = NIOThreadPool(numberOfThreads: 1)
        threadPool.start()
        let connection: SQLiteConnection
        do {
            connection = try await SQLiteConnection.open(
                storage: .file(path: path), threadPool: threadPool, logger: logger,
                on: MultiThreadedEventLoopGroup.singleton.any())
        } catch {
            try? await threadPool.shutdownGracefully()
            throw Self.problem(path: path, doing: "open", error)
        }
        let store = SQLiteUsageStore(path: path, connection: connection, threadPool: threadPool)
        do {
            try await store.prepareSchema(create: create)
        } catch {
            await store.close()
            throw error
        }
        return store
    }

    private func prepareSchema(create: Bool) async throws(UsageStoreError) {
        try await self.run("set up", "PRAGMA busy_timeout = \(Self.busyTimeoutMilliseconds)")
        // Reading the version is the first read of the file: a file that is not a database fails here.
        let version = try await self.run("read", "PRAGMA user_version").first?.column("user_version")?.integer ?? 0
        guard version <= Self.schemaVersion else {
            throw UsageStoreError(
                description: "the usage database \(self.path) has schema version \(version), newer than this lmgate's "
                    + "(\(Self.schemaVersion)): use a newer lmgate, or another state.path")
        }
        // A damaged file (a torn copy, a disk error) is refused at start rather than found by a later write.
        let check = try await self.run("read", "PRAGMA quick_check(1)").first?.column("quick_check")?.string ?? "ok"
        guard check == "ok" else {
            throw UsageStoreError(
                description: "the usage database \(self.path) is damaged (\(check)): move it aside (the proxy then "
                    + "starts a new one), restore a copy, or set state.path")
        }
        guard create else {
            guard version >= 1 else {
                throw UsageStoreError(description: "\(self.path) holds no lmgate usage (its schema version is 0)")
            }
            return
        }
        try await self.run("set up", "PRAGMA journal_mode = WAL")
        try await self.run("set up", "PRAGMA synchronous = NORMAL")
        try await self.run(
            "set up",
            """
            CREATE TABLE IF NOT EXISTS usage_hourly (
                hour INTEGER NOT NULL, identity TEXT NOT NULL, model TEXT NOT NULL,
                requests INTEGER NOT NULL, prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL,
                client_errors INTEGER NOT NULL, server_errors INTEGER NOT NULL,
                PRIMARY KEY (hour, identity, model)) WITHOUT ROWID
            """)
        try await self.run(
            "set up",
            """
            CREATE TABLE IF NOT EXISTS quota_windows (
                identity TEXT NOT NULL, window TEXT NOT NULL, window_start INTEGER NOT NULL, tokens INTEGER NOT NULL,
                PRIMARY KEY (identity, window, window_start)) WITHOUT ROWID
            """)
        if version < Self.schemaVersion { try await self.run("set up", "PRAGMA user_version = \(Self.schemaVersion)") }
    }

    public func write(_ batch: UsageBatch) async throws(UsageStoreError) {
        guard !batch.isEmpty else { return }
        try await self.run("write", "BEGIN IMMEDIATE")
        do {
            for row in batch.rows.values {
                try await self.run(
                    "write",
                    """
                    INSERT INTO usage_hourly VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (hour, identity, model) DO UPDATE SET
                        requests = requests + excluded.requests,
                        prompt_tokens = prompt_tokens + excluded.prompt_tokens,
                        completion_tokens = completion_tokens + excluded.completion_tokens,
                        client_errors = client_errors + excluded.client_errors,
                        server_errors = server_errors + excluded.server_errors
                    """,
                    [
                        .integer(Int(row.hour)), .text(row.identity), .text(row.model), .integer(Int(row.requests)),
                        .integer(Int(row.promptTokens)), .integer(Int(row.completionTokens)),
                        .integer(Int(row.clientErrors)), .integer(Int(row.serverErrors)),
                    ])
            }
            for count in batch.quotaCounts.values {
                try await self.run(
                    "write",
                    """
                    INSERT INTO quota_windows VALUES (?, ?, ?, ?)
                    ON CONFLICT (identity, window, window_start) DO UPDATE SET tokens = tokens + excluded.tokens
                    """,
                    [.text(count.identity), .text(count.window.rawValue), .integer(Int(count.windowStart)), .integer(Int(count.tokens))])
            }
            // A month window is the longest: anything that started over 32 days ago has ended.
            let oldest = Int(Date().timeIntervalSince1970) - 32 * 86_400
            try await self.run("write", "DELETE FROM quota_windows WHERE window_start < ?", [.integer(oldest)])
            try await self.run("write", "COMMIT")
        } catch {
            _ = try? await self.run("write", "ROLLBACK")
            throw error
        }
    }

    public func quotaCounts(now: Date) async throws(UsageStoreError) -> [QuotaWindowCount] {
        var counts: [QuotaWindowCount] = []
        for window in TokenQuotaLedger.Window.allCases {
            let start = Int64(window.bounds(of: now).start.timeIntervalSince1970)
            let rows = try await self.run(
                "read", "SELECT identity, tokens FROM quota_windows WHERE window = ? AND window_start = ?",
                [.text(window.rawValue), .integer(Int(start))])
            for row in rows {
                guard let identity = row.column("identity")?.string, let tokens = row.column("tokens")?.integer else { continue }
                counts.append(QuotaWindowCount(identity: identity, window: window, windowStart: start, tokens: Int64(tokens)))
            }
        }
        return counts
    }

    public func rows(_ query: UsageQuery) async throws(UsageStoreError) -> [UsageRow] {
        var sql = "SELECT * FROM usage_hourly WHERE hour >= ? AND hour < ?"
        var binds: [SQLiteData] = [.integer(Int(query.from)), .integer(Int(clamping: query.to))]
        if let identity = query.identity {
            sql += " AND identity = ?"
            binds.append(.text(identity))
        }
        if let model = query.model {
            sql += " AND model = ?"
            binds.append(.text(model))
        }
        sql += " ORDER BY hour, identity, model"
        return try await self.run("read", sql, binds).compactMap { row in
            func integer(_ name: String) -> Int64 { Int64(row.column(name)?.integer ?? 0) }
            guard let identity = row.column("identity")?.string, let model = row.column("model")?.string else { return nil }
            return UsageRow(
                hour: integer("hour"), identity: identity, model: model, requests: integer("requests"),
                promptTokens: integer("prompt_tokens"), completionTokens: integer("completion_tokens"),
                clientErrors: integer("client_errors"), serverErrors: integer("server_errors"))
        }
    }

    public func close() async {
        try? await self.connection.close()
        try? await self.threadPool.shutdownGracefully()
    }

    /// Runs one statement; an SQLite error becomes a ``UsageStoreError`` naming the file.
    @discardableResult
    private func run(_ doing: String, _ sql: String, _ binds: [SQLiteData] = []) async throws(UsageStoreError) -> [SQLiteRow] {
        do {
            return try await self.connection.query(sql, binds)
        } catch {
            throw Self.problem(path: self.path, doing: doing, error)
        }
    }

    /// The operator's words for an SQLite failure, with what to do about the usual ones.
    static func problem(path: String, doing: String, _ error: any Error) -> UsageStoreError {
        let text = (error as? SQLiteError)?.message ?? "\(error)"
        let advice: String
        switch text {
        case _ where text.contains("not a database") || text.contains("malformed"):
            advice = ": the file is not a usable SQLite database; move it aside (the proxy then starts a new one) or set state.path"
        case _ where text.contains("locked") || text.contains("busy"):
            advice = ": another process holds a lock on it for over \(busyTimeoutMilliseconds) ms"
        case _ where text.contains("unable to open") || text.contains("readonly") || text.contains("read-only"):
            advice = ": check that the file and its directory exist and can be written"
        default:
            advice = ""
        }
        return UsageStoreError(description: "cannot \(doing) the usage database \(path): \(text)\(advice)")
    }
}
