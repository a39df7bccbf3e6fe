import Foundation
import Logging

extension UsageAccounting {
    /// One exchange with a shared store: writes what this proxy counted,
    /// then sets the quota ledger to every proxy's counts (read back) plus
    /// what is counted here and not written yet. Applies the failure mode
    /// on a change of reachability, logged once per change. Returns the error, if any.
    ///
    /// The consistency this gives (docs/POLICY.md, "Several proxies"): a
    /// proxy sees its own tokens at once and the others' within one
    /// ``Sharing/interval`` of their responses ending (plus a write's time),
    /// so the tokens served past a quota of N are at most those of the
    /// requests that were in flight, or admitted within that interval, when
    /// the shared count reached N: with requests longer than the interval,
    /// one request's worth per proxy.
    ///
    /// Then, with ``sharedAccess``, the same for login failures, lockouts
    /// and admitted requests (``SharedAccessCounts/exchange(with:now:)``).
    @discardableResult
    func synchronize(now: Date = Date()) async -> UsageStoreError? {
        if let error = await self.flush() {
            self.sharedStateFailed(error, now: now)
            return error
        }
        let counts: [QuotaWindowCount]
        do {
            counts = try await self.store.quotaCounts(now: now)
        } catch {
            self.sharedStateFailed(error, now: now)
            return error
        }
        self.pending.withLockedValue { pending in
            var merged: [QuotaWindowCount.Key: QuotaWindowCount] = [:]
            for count in counts { merged[count.key] = count }
            for count in pending.quotaCounts.values {
                var sum = merged[count.key] ?? QuotaWindowCount(
                    identity: count.identity, window: count.window, windowStart: count.windowStart, tokens: 0)
                let (total, overflow) = sum.tokens.addingReportingOverflow(count.tokens)
                sum.tokens = overflow ? .max : total
                merged[count.key] = sum
            }
            self.quotas.restore(Array(merged.values))
        }
        if let (sharedAccess, store) = self.sharedAccessExchange, let error = await sharedAccess.exchange(with: store, now: now) {
            self.sharedStateFailed(error, now: now)
            return error
        }
        let action = self.health.withLockedValue { $0.succeeded(at: now) }
        if case .recovered(let after) = action {
            self.quotas.setRefusesQuotaRequests(false)
            self.logger.notice(
                "state.available",
                metadata: [
                    "state.store": "\(self.sharedStoreName)",
                    "state.unavailable_seconds": "\(Int(after.rounded()))",
                ])
        }
        return nil
    }

    /// A last exchange of ``sharedAccess`` at shutdown, so that a lockout
    /// made in the last interval reaches the other replicas; an error is
    /// not logged again (the counts are lost with the process, as the
    /// trackers' own).
    func writeSharedAccess() async {
        guard let (sharedAccess, store) = self.sharedAccessExchange, !sharedAccess.unwritten.isEmpty else { return }
        _ = await sharedAccess.exchange(with: store)
    }

    /// ``sharedAccess`` and the store it is exchanged with; `nil` when the store shares no access counts.
    private var sharedAccessExchange: (counts: SharedAccessCounts, store: any SharedAccessStore)? {
        guard let counts = self.sharedAccess, let store = self.store as? any SharedAccessStore else { return nil }
        return (counts, store)
    }

    private func sharedStateFailed(_ error: UsageStoreError, now: Date) {
        let action = self.health.withLockedValue { $0.failed(error.description, at: now) }
        guard case .becameUnavailable(let description) = action else { return }
        let mode = self.sharing?.failureMode ?? .closed
        if mode == .closed { self.quotas.setRefusesQuotaRequests(true) }
        self.logger.error(
            "state.unavailable",
            metadata: [
                "error": "\(LogField.escaped(description, limit: 1024))",
                "state.mode": "\(mode.rawValue)",
                "state.store": "\(self.sharedStoreName)",
            ])
    }

    /// Whether the shared store was reachable at the last exchange.
    public var sharedStateAvailable: Bool { self.health.withLockedValue { $0.isAvailable } }

    private var sharedStoreName: String { self.sharing?.storeName ?? "shared" }
}

/// Makes the store over the PostgreSQL database `state.postgres` names, with
/// the password file `state.postgres_password_file` names. The executable
/// supplies it (`PostgresUsageStore`, in the PostgresState target): the
/// proxy's own target does not link the PostgreSQL client, so that the
/// coverage-instrumented fuzzer build of it (scripts/fuzz-proxy) need not
/// compile postgres-nio and its two BoringSSL copies.
public typealias SharedUsageStoreMaker = @Sendable (
    _ settings: PostgresSettings, _ passwordFile: String?, _ logger: Logger
) -> any UsageStore

extension UsageAccounting {
    /// Accounting over the PostgreSQL database `state.postgres` names,
    /// shared with every proxy configured with the same one. An unreachable
    /// server at start is logged and ridden out; a refused login, an
    /// unreadable password file or a newer schema stop the proxy.
    static func openShared(
        _ settings: PostgresSettings, state: StateConfiguration, store makeStore: SharedUsageStoreMaker, logger: Logger
    ) async throws(UsageStoreError) -> UsageAccounting {
        let store = makeStore(settings, state.postgresPasswordFile, logger)
        do {
            let accounting = try await UsageAccounting.open(
                store: store, sharing: Sharing(failureMode: state.onUnavailable, storeName: settings.displayName),
                logger: logger)
            logger.info(
                "usage.opened",
                metadata: ["usage.path": "\(settings.displayName)", "state.mode": "\(state.onUnavailable.rawValue)"])
            return accounting
        } catch {
            await store.close()
            throw error
        }
    }
}
