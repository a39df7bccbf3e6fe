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
    private let logger: Logger
    private let pending = NIOLockedValueBox(UsageBatch())
    private struct Writer {
        var task: Task<Void, Never>?
        var failing = false
    }
    private let writer = NIOLockedValueBox(Writer())

    private init(store: any UsageStore, quotas: TokenQuotaAccounts, flushInterval: Duration, logger: Logger) {
        self.store = store
        self.quotas = quotas
        self.flushInterval = flushInterval
        self.logger = logger
    }

    /// Accounting over `store`, its quota ledger filled with the windows current at `now`.
    /// - Throws: ``UsageStoreError`` if the quota state cannot be read.
    public static func open(
        store: any UsageStore, flushInterval: Duration = .seconds(1), logger: Logger, now: Date = Date()
    ) async throws(UsageStoreError) -> UsageAccounting {
        let quotas = TokenQuotaAccounts()
        quotas.restore(try await store.quotaCounts(now: now))
        return UsageAccounting(store: store, quotas: quotas, flushInterval: flushInterval, logger: logger)
    }

    /// Counts a finished request: its tokens against the identity's `quotas`
    /// (the windows it has quotas for) and its row of usage. Never blocks.
    public func record(_ usage: RequestUsage, quotas: [TokenQuotaLedger.Window: Int]) {
        if let identity = usage.identity {
            self.quotas.record(usage.tokens, for: identity, quotas: quotas, now: usage.finished)
        }
        self.pending.withLockedValue { $0.add(usage, quotaWindows: quotas.keys) }
    }

    /// What is counted but not written yet.
    public var unwritten: UsageBatch { self.pending.withLockedValue { $0 } }

    /// Starts writing pending usage every ``flushInterval`` until ``close()``.
    public func startWriting() {
        self.writer.withLockedValue { writer in
            guard writer.task == nil else { return }
            writer.task = Task { [weak self, flushInterval] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: flushInterval)
                    guard let self else { return }
                    await self.flush()
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
            let firstFailure = self.writer.withLockedValue { writer in
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
        if recovered { self.logger.notice("usage.write_recovered", metadata: ["usage.rows": "\(batch.rows.count)"]) }
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
    /// The accounting a proxy with these settings runs with: over the SQLite
    /// file ``StateConfiguration/databasePath(keysPath:)`` names, or `nil`
    /// when there is none.
    /// - Throws: ``UsageStoreError`` if the file cannot be opened or read.
    public static func open(
        state: StateConfiguration, keysPath: String?, logger: Logger
    ) async throws(UsageStoreError) -> UsageAccounting? {
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
