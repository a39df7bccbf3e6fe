import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import Proxy

/// A ``UsageStore`` in a PostgreSQL database that several proxies share, so
/// that they count usage together and enforce the same token quotas, and a
/// ``SharedAccessStore``, so that they enforce the same login lockouts and
/// request rates (PostgresUsageStore+Access.swift).
///
/// One connection, made on first use and made again after it is lost: an
/// operation while the server is unreachable fails at once with an error
/// whose ``UsageStoreError/isUnreachable`` is set, and the next connection
/// is tried only after a back-off (``ReconnectBackoff``, 0.1 s doubling to
/// 5 s), so a down server costs one connection attempt per back-off, not one
/// per request. Every operation runs under ``statementTimeout``: a server
/// that stops answering closes the connection rather than hanging the writer.
///
/// The tables (made, or migrated, on each new connection, under an advisory
/// lock so replicas starting together do not race):
///
/// - `lmgate_schema(version)`: one row, the schema version; a database made
///   by a newer lmgate is refused;
/// - `usage_hourly(hour, identity, model, requests, prompt_tokens,
///   completion_tokens, client_errors, server_errors)`, as in ``SQLiteUsageStore``;
/// - `quota_windows(identity, quota_window, window_start, tokens)`: every
///   replica adds its tokens with one atomic `INSERT … ON CONFLICT … DO
///   UPDATE` per count, and reads the sums back (``quotaCounts(now:)``);
/// - `login_failures(address, replica, failed_second, failures)`: failed
///   authentications per client address (``FailureCountingKey``: an IPv4
///   address or an IPv6 network, never a credential), per replica (a random
///   id per process) and second; rows older than `auth.lockout_window` are
///   deleted as new ones are written;
/// - `login_lockouts(address, locked_at, locked_until)`: the latest lockout
///   of each address (milliseconds since 1970); failures before `locked_at`
///   were spent on it and are no longer counted;
/// - `request_counts(identity, replica, period, window_start, requests)`:
///   requests admitted per identity, replica and fixed window of the rate
///   limit's period (seconds), kept for two periods.
///
/// Each replica reads back the other replicas' rows only: its own are
/// counted in its memory (``SharedAccessCounts``).
public actor PostgresUsageStore: UsageStore {
    /// The schema this code writes.
    ///
    /// 1: `usage_hourly`, `quota_windows`. 2: adds `login_failures`,
    /// `login_lockouts`, `request_counts` (a database at 1 is migrated on
    /// the next connection; its rows are kept).
    static let schemaVersion = 2
    /// The longest one operation (a transaction, a read) or a connection
    /// attempt may take by default: longer, and the server is taken for gone.
    public static let defaultStatementTimeout: TimeAmount = .seconds(5)
    /// The advisory-lock key that serialises schema changes between replicas ("lmgate" in ASCII).
    static let schemaLockKey: Int64 = 0x6C_6D_67_61_74_65

    public nonisolated let settings: PostgresSettings
    public nonisolated let passwordFile: String?
    /// The longest one operation or a connection attempt may take (``defaultStatementTimeout`` unless a test says otherwise).
    public nonisolated let statementTimeout: TimeAmount
    private let logger: Logger
    private var connection: PostgresConnection?
    private var backoff = ReconnectBackoff()
    /// Why the last connection attempt failed: repeated while the back-off
    /// holds, so a refused login reads as one, not as "unreachable".
    private var lastConnectionFailure: UsageStoreError?
    private var connectionCount = 0

    /// A store over `settings`; nothing is connected until the first operation (or ``connect()``).
    public init(
        settings: PostgresSettings, passwordFile: String?, logger: Logger, statementTimeout: TimeAmount = defaultStatementTimeout
    ) {
        self.settings = settings
        self.passwordFile = passwordFile
        self.statementTimeout = statementTimeout
        self.logger = logger
    }

    /// Connects now (if not connected) and checks or makes the schema.
    /// - Throws: ``UsageStoreError``: unreachable (``UsageStoreError/isUnreachable``),
    ///   or a problem no retry fixes: the login refused, the password file
    ///   unreadable, a schema from a newer lmgate.
    public func connect() async throws(UsageStoreError) {
        _ = try await self.connected()
    }

    public func write(_ batch: UsageBatch) async throws(UsageStoreError) {
        guard !batch.isEmpty else { return }
        // A month window is the longest: anything that started over 32 days ago has ended.
        let oldest = Int64(Date().timeIntervalSince1970) - 32 * 86_400
        // Every replica locks the rows it adds to in the same (sorted) order,
        // or two replicas writing the same keys at once could deadlock.
        let rows = batch.rows.values.sorted { ($0.hour, $0.identity, $0.model) < ($1.hour, $1.identity, $1.model) }
        let counts = batch.quotaCounts.values.sorted {
            ($0.identity, $0.window.rawValue, $0.windowStart) < ($1.identity, $1.window.rawValue, $1.windowStart)
        }
        try await self.run("write") { connection, logger in
            try await connection.withTransaction(logger: logger) { connection in
                for row in rows {
                    try await connection.query(
                        """
                        INSERT INTO usage_hourly VALUES (\(row.hour), \(row.identity), \(row.model), \(row.requests),
                            \(row.promptTokens), \(row.completionTokens), \(row.clientErrors), \(row.serverErrors))
                        ON CONFLICT (hour, identity, model) DO UPDATE SET
                            requests = usage_hourly.requests + excluded.requests,
                            prompt_tokens = usage_hourly.prompt_tokens + excluded.prompt_tokens,
                            completion_tokens = usage_hourly.completion_tokens + excluded.completion_tokens,
                            client_errors = usage_hourly.client_errors + excluded.client_errors,
                            server_errors = usage_hourly.server_errors + excluded.server_errors
                        """, logger: logger)
                }
                for count in counts {
                    try await connection.query(
                        """
                        INSERT INTO quota_windows VALUES (\(count.identity), \(count.window.rawValue), \(count.windowStart), \(count.tokens))
                        ON CONFLICT (identity, quota_window, window_start) DO UPDATE SET tokens = quota_windows.tokens + excluded.tokens
                        """, logger: logger)
                }
                if !counts.isEmpty {
                    try await connection.query("DELETE FROM quota_windows WHERE window_start < \(oldest)", logger: logger)
                }
            }
        }
    }

    public func quotaCounts(now: Date) async throws(UsageStoreError) -> [QuotaWindowCount] {
        let starts = TokenQuotaLedger.Window.allCases.map { ($0, Int64($0.bounds(of: now).start.timeIntervalSince1970)) }
        return try await self.run("read") { connection, logger in
            // One statement for the three windows: a consistent snapshot, one round trip.
            let rows = try await connection.query(
                """
                SELECT identity, quota_window, window_start, tokens FROM quota_windows
                WHERE (quota_window = \(starts[0].0.rawValue) AND window_start = \(starts[0].1))
                   OR (quota_window = \(starts[1].0.rawValue) AND window_start = \(starts[1].1))
                   OR (quota_window = \(starts[2].0.rawValue) AND window_start = \(starts[2].1))
                """, logger: logger)
            var counts: [QuotaWindowCount] = []
            for try await (identity, window, start, tokens) in rows.decode((String, String, Int64, Int64).self) {
                guard let window = TokenQuotaLedger.Window(rawValue: window) else { continue }
                counts.append(QuotaWindowCount(identity: identity, window: window, windowStart: start, tokens: tokens))
            }
            return counts
        }
    }

    public func rows(_ query: UsageQuery) async throws(UsageStoreError) -> [UsageRow] {
        try await self.run("read") { connection, logger in
            // NULL filters match every row: one statement whatever the query's filters.
            let rows = try await connection.query(
                """
                SELECT hour, identity, model, requests, prompt_tokens, completion_tokens, client_errors, server_errors
                FROM usage_hourly
                WHERE hour >= \(query.from) AND hour < \(query.to)
                  AND (\(query.identity)::text IS NULL OR identity = \(query.identity))
                  AND (\(query.model)::text IS NULL OR model = \(query.model))
                ORDER BY hour, identity, model
                """, logger: logger)
            var result: [UsageRow] = []
            for try await (hour, identity, model, requests, prompt, completion, clientErrors, serverErrors) in rows.decode(
                (Int64, String, String, Int64, Int64, Int64, Int64, Int64).self)
            {
                result.append(
                    UsageRow(
                        hour: hour, identity: identity, model: model, requests: requests, promptTokens: prompt,
                        completionTokens: completion, clientErrors: clientErrors, serverErrors: serverErrors))
            }
            return result
        }
    }

    public func close() async {
        let connection = self.connection
        self.connection = nil
        try? await connection?.close()
    }

    // MARK: - Connection

    /// Runs `operation` on the connection, under ``statementTimeout`` (see
    /// ``PostgresConnection/guarded(timeout:_:)``, which also keeps a closed
    /// connection from hanging it); a lost connection is dropped (the next
    /// operation reconnects, after the back-off).
    func run<Value: Sendable>(
        _ doing: String, _ operation: @escaping @Sendable (PostgresConnection, Logger) async throws -> Value
    ) async throws(UsageStoreError) -> Value {
        let connection = try await self.connected()
        let logger = self.logger
        do {
            return try await connection.guarded(timeout: self.statementTimeout) { try await operation($0, logger) }
        } catch {
            let problem = self.problem(doing: doing, error)
            if problem.isUnreachable || connection.isClosed {
                self.drop(connection)
            }
            throw problem
        }
    }

    /// The open connection, or a new one (with the schema checked) when the back-off allows.
    private func connected() async throws(UsageStoreError) -> PostgresConnection {
        if let connection = self.connection {
            if !connection.isClosed { return connection }
            // Closed by the server since the last use: try a new one at once,
            // so a lasting outage is reported by its cause (connection refused…).
            self.connection = nil
        }
        let now = ContinuousClock.now
        guard self.backoff.mayTry(at: now) else {
            throw self.lastConnectionFailure
                ?? UsageStoreError(
                    description: "PostgreSQL at \(self.settings.displayName) is unreachable; the next connection attempt is due shortly",
                    isUnreachable: true)
        }
        let configuration = try self.connectionConfiguration()
        self.connectionCount += 1
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(
                configuration: configuration, id: self.connectionCount, logger: self.logger)
        } catch {
            throw self.connectionFailed(self.problem(doing: "connect to", error))
        }
        do {
            try await self.prepareSchema(connection)
        } catch {
            try? await connection.close()
            throw self.connectionFailed(error)
        }
        self.backoff.succeeded()
        self.lastConnectionFailure = nil
        self.connection = connection
        return connection
    }

    private func connectionFailed(_ error: UsageStoreError) -> UsageStoreError {
        self.backoff.failed(at: ContinuousClock.now)
        self.lastConnectionFailure = error
        return error
    }

    private func drop(_ connection: PostgresConnection) {
        if self.connection === connection { self.connection = nil }
        connection.closeInBackground()
        self.backoff.failed(at: ContinuousClock.now)
    }

    deinit {
        self.connection?.closeInBackground()
    }

    private func connectionConfiguration() throws(UsageStoreError) -> PostgresConnection.Configuration {
        let password = try self.password()
        let tls: PostgresConnection.Configuration.TLS
        do {
            switch self.settings.tls {
            case .disable: tls = .disable
            case .prefer: tls = .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
            case .require: tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
            }
        } catch {
            throw UsageStoreError(description: "cannot set up TLS for PostgreSQL at \(self.settings.displayName): \(error)")
        }
        var configuration = PostgresConnection.Configuration(
            host: self.settings.host, port: self.settings.port, username: self.settings.user, password: password,
            database: self.settings.database, tls: tls)
        configuration.options.connectTimeout = self.statementTimeout
        return configuration
    }

    /// The password file's first line (read at each connection, so a rotated password is used on the next).
    private func password() throws(UsageStoreError) -> String? {
        guard let path = self.passwordFile else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw UsageStoreError(description: "cannot read the PostgreSQL password file \(path) (state.postgres_password_file)")
        }
        let text = String(decoding: data, as: UTF8.self)
        return String(text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).first ?? "")
    }

    /// Makes the tables, or checks them: under an advisory lock held for the
    /// transaction, so two replicas starting together do not both create them;
    /// under ``statementTimeout``, as every operation.
    private func prepareSchema(_ connection: PostgresConnection) async throws(UsageStoreError) {
        let version: Int
        let logger = self.logger
        do {
            version = try await connection.guarded(timeout: self.statementTimeout) { connection in
                try await Self.makeOrReadSchema(connection, logger: logger)
            }
        } catch let error as PostgresTransactionError {
            throw self.problem(doing: "set up the tables in", error.closureError ?? error.beginError ?? error.commitError ?? error)
        } catch {
            throw self.problem(doing: "set up the tables in", error)
        }
        guard version <= Self.schemaVersion else {
            throw UsageStoreError(
                description: "the shared state database \(self.settings.displayName) has schema version \(version), newer than "
                    + "this lmgate's (\(Self.schemaVersion)): upgrade this lmgate, or point state.postgres at another database")
        }
    }

    /// The schema version the database had, after making the tables if it had none (or an older one).
    private static func makeOrReadSchema(_ connection: PostgresConnection, logger: Logger) async throws -> Int {
        try await connection.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.schemaLockKey))", logger: logger)
            try await connection.query("CREATE TABLE IF NOT EXISTS lmgate_schema (version INTEGER NOT NULL)", logger: logger)
            var found: Int?
            let rows = try await connection.query("SELECT max(version) FROM lmgate_schema", logger: logger)
            for try await version in rows.decode(Int?.self) {
                found = version
            }
            let version = found ?? 0
            guard version < Self.schemaVersion else { return version }
            try await connection.query(
                """
                CREATE TABLE IF NOT EXISTS usage_hourly (
                    hour BIGINT NOT NULL, identity TEXT NOT NULL, model TEXT NOT NULL,
                    requests BIGINT NOT NULL, prompt_tokens BIGINT NOT NULL, completion_tokens BIGINT NOT NULL,
                    client_errors BIGINT NOT NULL, server_errors BIGINT NOT NULL,
                    PRIMARY KEY (hour, identity, model))
                """, logger: logger)
            try await connection.query(
                """
                CREATE TABLE IF NOT EXISTS quota_windows (
                    identity TEXT NOT NULL, quota_window TEXT NOT NULL, window_start BIGINT NOT NULL,
                    tokens BIGINT NOT NULL, PRIMARY KEY (identity, quota_window, window_start))
                """, logger: logger)
            // Version 2: shared lockouts and request rates (made on a version 1 database too).
            try await connection.query(
                """
                CREATE TABLE IF NOT EXISTS login_failures (
                    address TEXT NOT NULL, replica TEXT NOT NULL, failed_second BIGINT NOT NULL,
                    failures BIGINT NOT NULL, PRIMARY KEY (address, replica, failed_second))
                """, logger: logger)
            try await connection.query(
                """
                CREATE TABLE IF NOT EXISTS login_lockouts (
                    address TEXT PRIMARY KEY, locked_at BIGINT NOT NULL, locked_until BIGINT NOT NULL)
                """, logger: logger)
            try await connection.query(
                """
                CREATE TABLE IF NOT EXISTS request_counts (
                    identity TEXT NOT NULL, replica TEXT NOT NULL, period BIGINT NOT NULL, window_start BIGINT NOT NULL,
                    requests BIGINT NOT NULL, PRIMARY KEY (identity, replica, period, window_start))
                """, logger: logger)
            try await connection.query("DELETE FROM lmgate_schema", logger: logger)
            try await connection.query("INSERT INTO lmgate_schema VALUES (\(Self.schemaVersion))", logger: logger)
            return version
        }
    }

    /// The operator's words for a PostgreSQL failure, classified: unreachable
    /// (retried) or not. postgres-nio hides its errors' details from
    /// `description` (they may hold query values); the server's message and
    /// SQLSTATE are safe to show, and no password is ever in them.
    private func problem(doing: String, _ error: any Error) -> UsageStoreError {
        let server = self.settings.displayName
        if let error = error as? UsageStoreError { return error }
        if let error = error as? PostgresTransactionError {
            return self.problem(doing: doing, error.closureError ?? error.beginError ?? error.commitError ?? error.rollbackError ?? error)
        }
        guard let error = error as? PSQLError else {
            return UsageStoreError(description: "cannot \(doing) PostgreSQL at \(server): \(error)", isUnreachable: true)
        }
        if error.code == .server, let info = error.serverInfo {
            let state = info[.sqlState] ?? ""
            let message = info[.message] ?? "an error"
            switch state {
            case _ where state.hasPrefix("28"):
                return UsageStoreError(
                    description: "PostgreSQL at \(server) refused the login (\(message), SQLSTATE \(state)): check the user "
                        + "and state.postgres_password_file, and the server's pg_hba.conf")
            case "3D000":
                return UsageStoreError(description: "PostgreSQL at \(server): \(message) (create it, or fix state.postgres)")
            case _ where state.hasPrefix("08") || state.hasPrefix("57P") || state.hasPrefix("53"):
                // Connection exceptions, the server shutting down or out of resources: it will come back.
                return UsageStoreError(
                    description: "PostgreSQL at \(server) is unavailable: \(message) (SQLSTATE \(state))", isUnreachable: true)
            default:
                return UsageStoreError(description: "cannot \(doing) PostgreSQL at \(server): \(message) (SQLSTATE \(state))")
            }
        }
        switch error.code {
        case .authMechanismRequiresPassword:
            return UsageStoreError(
                description: "PostgreSQL at \(server) asks for a password: set state.postgres_password_file")
        case .unsupportedAuthMechanism, .saslError:
            return UsageStoreError(
                description: "PostgreSQL at \(server) refused the login (\(error.code)): check the user and state.postgres_password_file")
        case .sslUnsupported:
            return UsageStoreError(description: "PostgreSQL at \(server) does not offer TLS, which sslmode=require asks for")
        default:
            let cause = error.underlying.map { "\($0)" } ?? "\(error.code)"
            return UsageStoreError(description: "cannot \(doing) PostgreSQL at \(server): \(cause)", isUnreachable: true)
        }
    }
}

extension PostgresUsageStore {
    /// Makes the store `state.postgres` names: what the commands hand to
    /// ``ProxyRuntime`` (the proxy's own target does not link this one).
    public static let maker: SharedUsageStoreMaker = { settings, passwordFile, logger in
        PostgresUsageStore(settings: settings, passwordFile: passwordFile, logger: logger)
    }
}
