import Logging
import NIOCore
import NIOPosix

/// Access control for the proxy, as ``ProxyServer`` uses it: a reloadable
/// policy (``AccessPolicyStore``), the admission step each request passes
/// (``AccessAdmission``: the source-IP allowlist, Basic and API-key
/// authentication, lockout and rate limits, credentials out and identity in)
/// and screening at accept (``ConnectionScreening``). The server also adds
/// CORS to each connection when origins are configured (``corsOrigins``).
public final class AccessControl: RequestAdmission {
    let store: AccessPolicyStore
    let screening: ConnectionScreening
    private let logger: Logger

    /// Loads the files the configuration names.
    /// - Parameters:
    ///   - configurationSource: re-reads the settings on reload (e.g. the
    ///     configuration file again, for changed allowlists); without it a
    ///     reload re-reads only the htpasswd and keys files.
    ///   - configurationFile: a file to watch for changes along with the htpasswd and keys files.
    ///   - listeners: the listeners whose requests this admits, for the
    ///     ``ExposureCheck`` on reload.
    ///   - usageAccounting: where finished requests are counted (and token
    ///     quotas kept across restarts); `nil` for none.
    /// - Throws: ``AccessControlError`` if a file cannot be loaded: the proxy must not start without it.
    public init(
        configuration: AccessConfiguration,
        logger: Logger,
        threadPool: NIOThreadPool = .singleton,
        configurationSource: (@Sendable () throws -> AccessConfiguration)? = nil,
        configurationFile: String? = nil,
        listeners: [ListenerConfiguration],
        usageAccounting: UsageAccounting? = nil
    ) throws(AccessControlError) {
        self.store = try AccessPolicyStore(
            configuration: configuration, logger: logger, threadPool: threadPool,
            configurationSource: configurationSource, configurationFile: configurationFile, listeners: listeners,
            usageAccounting: usageAccounting)
        self.screening = ConnectionScreening(store: self.store, logger: logger)
        self.logger = logger
    }

    /// The settings in force.
    public var configuration: AccessConfiguration { self.store.configuration }

    /// What clients may authenticate with, in words (for a startup banner),
    /// e.g. `API keys (2) or HTTP Basic (3 users)`; never a secret.
    public var summary: String { self.store.summary }

    /// Re-reads the settings and the files; swaps them in if all load.
    /// Returns whether it did.
    @discardableResult
    public func reload() -> Bool { self.store.reload() }

    /// Reloads whenever the htpasswd, keys or configuration file changes, and
    /// writes key last-use times every few seconds, until ``stop()``.
    public func startWatching(interval: Duration = .seconds(1)) { self.store.startWatching(interval: interval) }

    /// Stops watching and writes pending key last-use times.
    public func stop() { self.store.stop() }

    /// Whether a peer may connect at all (the source-IP allowlist), asked at accept.
    public func permitsConnection(from address: SocketAddress) -> Bool {
        self.screening.permitsConnection(from: address)
    }

    /// The admission step for requests arriving on `listener` (its own authentication methods).
    func admission(for listener: ListenerConfiguration) -> AccessAdmission {
        AccessAdmission(store: self.store, logger: self.logger, listener: listener.address)
    }

    public func admit(_ request: AdmissionRequest) -> AdmissionResult {
        AccessAdmission(store: self.store, logger: self.logger, listener: nil).admit(request)
    }

    public func identityPolicy(for identity: String) -> IdentityPolicy? {
        AccessAdmission(store: self.store, logger: self.logger, listener: nil).identityPolicy(for: identity)
    }

    public var usageAccounting: UsageAccounting? { self.store.usageAccounting }

    /// The origins allowed cross-origin requests now (empty: no CORS).
    var corsOrigins: [String] { self.store.configuration.corsOrigins }
}

/// Access control that cannot start (a file that cannot be read or parsed).
public struct AccessControlError: Error, CustomStringConvertible {
    public let description: String
}
