import Foundation
import Logging
import NIOConcurrencyHelpers

/// Usage accounting and token-quota state, persisted: what the forwarding
/// handler reports when a request finishes, counted at once in memory (the
/// quota ledger, ``quotas``, and a pending ``UsageBatch``) and written to the
/// ``UsageStore`` in batches, off the event loop, every ``flushInterval``.
///
/// - Nothing on a request's path waits for the store: ``record(_:quotas:)``
///   takes a lock for a dictionary update and returns.
/// - At start, ``open(store:logger:now:)`` reads the quota windows current now
///   back from the store, so a restart does not reset a quota.
/// - A failed write (a lock held by another process, a full disk) keeps the
///   batch pending, logs `usage.write_failed` once, and is retried with the
///   next; `usage.write_recovered` says when it worked again. ``close()``
///   makes a last write and logs `usage.unwritten`, with every row it could
///   not write, if that fails too.
public final class UsageAccounting: Sendable {
    public let store: any UsageStore
    /// The token counts quotas are checked against; see ``IdentityPolicy``.
    public let quotas: TokenQuotaAccounts
    public let flushInterval: Duration
    /// Set when the store is shared with other proxies (PostgreSQL): see ``Sharing``.
    public let sharing: Sharing?
    /// Login failures, lockouts and request counts shared through the store
    /// (UsageAccounting+Sharing.swift); set when the store is shared and can.
    let sharedAccess: SharedAccessCounts?
    let logger: Logger
    let health = NIOLockedValueBox(SharedStateHealth())
    /// Counted, not written yet (internal: the shared-store sync reads it, UsageAccounting+Sharing.swift).
    let pending = NIOLockedValueBox(UsageBatch())
    private struct Writer {
        var task: Task<Void, Never>?
        var failing = false
    }
    private let writer = NIOLockedValueBox(Writer())

    private init(store: any UsageStore, quotas: TokenQuotaAccounts, flushInterval: Duration, sharing: Sharing?, logger: Logger) {
        self.store = store
        self.quotas = quotas
        self.flushInterval = flushInterval
        self.sharing = sharing
        self.sharedAccess = sharing != nil && store is any SharedAccessStore ? SharedAccessCounts() : nil
        self.logger = logger
    }

    /// How accounting over a store shared with other proxies runs: every
    /// ``interval`` it writes what it counted and reads back every proxy's
    /// quota counts (``synchronize(now:)``); while the store is unreachable,
    /// ``failureMode`` applies.
    public struct Sharing: Sendable, Equatable {
        public var interval: Duration
        public var failureMode: SharedStateFailureMode
        /// How the shared store is named in log lines (``PostgresSettings/displayName``: no password).
        public var storeName: String

        public init(
            interval: Duration = .milliseconds(100), failureMode: SharedStateFailureMode = .closed, storeName: String = "shared"
        ) {
            self.interval = interval
            self.failureMode = failureMode
            self.storeName = storeName
        }
    }

    /// Accounting over `store`, its quota ledger filled with the windows current at `now`.
    ///
    /// With `sharing`, an unreachable store is no error: accounting starts
    /// in its failure mode (logged as `state.unavailable`) and recovers when
    /// the store can be reached.
    /// - Throws: ``UsageStoreError`` if the quota state cannot be read (for a
    ///   shared store: for a reason other than being unreachable).
    public static func open(
        store: any UsageStore, flushInterval: Duration = .seconds(1), sharing: Sharing? = nil, logger: Logger,
        now: Date = Date()
    ) async throws(UsageStoreError) -> UsageAccounting {
        let accounting = UsageAccounting(
            store: store, quotas: TokenQuotaAccounts(), flushInterval: flushInterval, sharing: sharing, logger: logger)
        guard sharing != nil else {
            accounting.quotas.restore(try await store.quotaCounts(now: now))
            return accounting
        }
        if let error = await accounting.synchronize(now: now), !error.isUnreachable { throw error }
        return accounting
    }

    /// Counts a finished request: its tokens against the identity's `quotas`
    /// (the windows it has quotas for) and its row of usage. Never blocks.
    public func record(_ usage: RequestUsage, quotas: [TokenQuotaLedger.Window: Int]) {
        // Both under the pending lock: ``synchronize(now:)`` sets the ledger
        // to the shared counts plus what is pending, under the same lock.
        self.pending.withLockedValue { pending in
            if let identity = usage.identity {
                self.quotas.record(usage.tokens, for: identity, quotas: quotas, now: usage.finished)
            }
            pending.add(usage, quotaWindows: quotas.keys)
        }
    }

    /// What is counted but not written yet.
    public var unwritten: UsageBatch { self.pending.withLockedValue { $0 } }

    /// Starts writing pending usage every ``flushInterval`` until ``close()``.
    public func startWriting() {
        self.writer.withLockedValue { writer in
            guard writer.task == nil else { return }
            writer.task = Task { [weak self, flushInterval, sharing] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: sharing?.interval ?? flushInterval)
                    guard let self, !Task.isCancelled else { return }
                    if sharing != nil {
                        await self.synchronize()
                    } else {
                        await self.flush()
                    }
                }
            }
        }
    }

    /// Writes what is pending now; on failure keeps it pending and returns why.
    /// Called by one task at a time (the writer, then ``close()``).
    @discardableResult
    public func flush() async -> UsageStoreError? {
        let batch = self.pending.withLockedValue { pending in
            defer { pending = UsageBatch() }
            return pending
        }
        guard !batch.isEmpty else { return nil }
        do {
            try await self.store.write(batch)
        } catch {
            self.pending.withLockedValue { $0.merge(batch) }
            // A shared store's outages are logged as state.unavailable/state.available instead.
            let firstFailure = self.sharing == nil && self.writer.withLockedValue { writer in
                defer { writer.failing = true }
                return !writer.failing
            }
            if firstFailure {
                self.logger.error(
                    "usage.write_failed: keeping the usage in memory and retrying",
                    metadata: ["error": "\(LogField.escaped(error.description, limit: 1024))", "usage.rows": "\(batch.rows.count)"])
            }
            return error
        }
        let recovered = self.writer.withLockedValue { writer in
            defer { writer.failing = false }
            return writer.failing
        }
        if recovered && self.sharing == nil { self.logger.notice("usage.write_recovered", metadata: ["usage.rows": "\(batch.rows.count)"]) }
        return nil
    }

    /// Stops the writer, writes what is pending and closes the store.
    /// Returns what could not be written (empty when all was), after logging
    /// each such row as `usage.unwritten`.
    @discardableResult
    public func close() async -> UsageBatch {
        let task = self.writer.withLockedValue { writer in
            defer { writer.task = nil }
            return writer.task
        }
        task?.cancel()
        await task?.value
        let error = await self.flush()
        // Not when the store just proved unreachable: a second connection attempt would only delay the shutdown.
        if error?.isUnreachable != true { await self.writeSharedAccess() }
        let left = self.unwritten
        if let error, !left.isEmpty {
            self.logger.error(
                "usage.unwritten: the usage database could not be written at shutdown; these counts are lost",
                metadata: ["error": "\(LogField.escaped(error.description, limit: 1024))", "usage.rows": "\(left.rows.count)"])
            for row in left.rows.values.sorted(by: { ($0.hour, $0.identity, $0.model) < ($1.hour, $1.identity, $1.model) }) {
                self.logger.error(
                    "usage.unwritten",
                    metadata: [
                        "usage.hour": "\(row.hour)", "usage.identity": "\(LogField.escaped(row.identity, limit: 64))",
                        "usage.model": "\(row.model)", "usage.requests": "\(row.requests)",
                        "usage.prompt_tokens": "\(row.promptTokens)", "usage.completion_tokens": "\(row.completionTokens)",
                        "usage.client_errors": "\(row.clientErrors)", "usage.server_errors": "\(row.serverErrors)",
                    ])
            }
        }
        await self.store.close()
        return left
    }
}

extension UsageAccounting {
    /// The accounting a proxy with these settings runs with: over the shared
    /// PostgreSQL database `state.postgres` names (its store made by
    /// `sharedStore`), else over the SQLite file
    /// ``StateConfiguration/databasePath(keysPath:)`` names, or `nil` when
    /// there is none.
    /// - Throws: ``UsageStoreError`` if the file cannot be opened or read, or
    ///   `state.postgres` is set and no `sharedStore` was given.
    public static func open(
        state: StateConfiguration, keysPath: String?, sharedStore: SharedUsageStoreMaker? = nil, logger: Logger
    ) async throws(UsageStoreError) -> UsageAccounting? {
        if let postgres = state.postgres {
            guard let sharedStore else {
                throw UsageStoreError(description: "state.postgres is set, but this program was built without the PostgreSQL store")
            }
            return try await Self.openShared(postgres, state: state, store: sharedStore, logger: logger)
        }
        guard let path = state.databasePath(keysPath: keysPath) else { return nil }
        let store = try await SQLiteUsageStore.open(path: path, logger: logger)
        do {
            let accounting = try await UsageAccounting.open(store: store, logger: logger)
            logger.info("usage.opened", metadata: ["usage.path": "\(LogField.escaped(path, limit: 1024))"])
            return accounting
        } catch {
            await store.close()
            throw error
        }
    }
}
