import Foundation
import NIOConcurrencyHelpers

/// The proxy's one ``TokenQuotaLedger``, shared by every event loop (hence
/// the lock) and kept across reloads, so a key's count survives a change of
/// its quota.
public final class TokenQuotaAccounts: Sendable {
    private let ledger = NIOLockedValueBox(TokenQuotaLedger())
    private let refusing = NIOLockedValueBox(false)

    public init() {}

    /// Whether requests of identities with a token quota are refused (503)
    /// because the counts shared with other proxies cannot be read and
    /// `state.on_unavailable` is `closed`; set by ``UsageAccounting``.
    public var refusesQuotaRequests: Bool { self.refusing.withLockedValue { $0 } }

    func setRefusesQuotaRequests(_ refusing: Bool) {
        self.refusing.withLockedValue { $0 = refusing }
    }

    /// See ``TokenQuotaLedger/exhausted(_:quotas:now:)``.
    public func exhausted(
        _ identity: String, quotas: [TokenQuotaLedger.Window: Int], now: Date = Date()
    ) -> TokenQuotaLedger.Exhausted? {
        guard !quotas.isEmpty else { return nil }  // every request of an identity without quotas asks
        return self.ledger.withLockedValue { $0.exhausted(identity, quotas: quotas, now: now) }
    }

    /// See ``TokenQuotaLedger/record(_:for:quotas:now:)``.
    public func record(_ tokens: Int, for identity: String, quotas: [TokenQuotaLedger.Window: Int], now: Date = Date()) {
        guard tokens > 0, !quotas.isEmpty else { return }  // the ledger would not change: no lock for it
        self.ledger.withLockedValue { $0.record(tokens, for: identity, quotas: quotas, now: now) }
    }

    /// See ``TokenQuotaLedger/used(_:in:now:)``.
    public func used(_ identity: String, in window: TokenQuotaLedger.Window, now: Date = Date()) -> Int {
        self.ledger.withLockedValue { $0.used(identity, in: window, now: now) }
    }

    /// Fills the ledger with counts read back from a ``UsageStore`` at start.
    public func restore(_ counts: [QuotaWindowCount]) {
        self.ledger.withLockedValue { ledger in
            for count in counts {
                ledger.restore(
                    Int(clamping: count.tokens), for: count.identity, in: count.window,
                    windowStart: Date(timeIntervalSince1970: TimeInterval(count.windowStart)))
            }
        }
    }
}
