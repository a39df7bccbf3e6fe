import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// Access control for the proxy: the source-IP allowlist at accept and per
/// request, Basic and API-key authentication, lockout and rate limits, and
/// the rewriting of admitted requests (credentials out, identity in).
///
/// Plugs into ``ProxyServer`` as its ``RequestAdmission`` (and
/// ``ListenerAccessControl``). Everything it reads from files is reloaded by
/// ``reload()`` (call it on SIGHUP) and, once ``startWatching(interval:)``
/// has been called, whenever one of the files changes; a reload that fails
/// keeps the policy in force and logs why. So does a reload that would turn
/// authentication off while a listener is on a non-loopback address
/// (``ExposureCheck``): a proxy started open on a LAN address on purpose
/// stays as it was, but one that authenticated never stops doing so.
///
/// For each request, in order: the client address (``ClientAddressResolver``)
/// must pass the allowlist (else 403); public paths and, if enabled, loopback
/// clients pass; a locked-out address gets 429 without any credential being
/// looked at; then the credentials are checked (401 when missing or wrong,
/// with the same answer for an unknown user and a wrong password), the scope
/// (403 for an admin path without admin scope) and the rate limit (429).
public final class AccessControl: ListenerAccessControl {
    private let state: NIOLockedValueBox<State>
    private let hmac = ProcessKeyedHMAC()
    private let threadPool: NIOThreadPool
    private let logger: Logger
    private let configurationSource: (@Sendable () throws -> AccessConfiguration)?
    private let watchedConfigurationFile: String?
    /// The listeners the policy guards (they do not change on reload).
    private let listeners: [ListenerConfiguration]
    private let tasks = NIOLockedValueBox<[Task<Void, Never>]>([])

    private struct State {
        var policy: AccessPolicy
        var failures: LoginFailureTracker
        var rateLimiter: RequestRateLimiter?
        var usage: APIKeyUsage?
    }

    /// Loads the files the configuration names.
    /// - Parameters:
    ///   - configurationSource: re-reads the settings on reload (e.g. the
    ///     configuration file again, for changed allowlists); without it a
    ///     reload re-reads only the htpasswd and keys files.
    ///   - configurationFile: a file to watch for changes along with the htpasswd and keys files.
    ///   - listeners: the listeners whose requests this admits, for the
    ///     ``ExposureCheck`` on reload.
    /// - Throws: ``AccessControlError`` if a file cannot be loaded: the proxy must not start without it.
    public init(
        configuration: AccessConfiguration,
        logger: Logger,
        threadPool: NIOThreadPool = .singleton,
        configurationSource: (@Sendable () throws -> AccessConfiguration)? = nil,
        configurationFile: String? = nil,
        listeners: [ListenerConfiguration]
    ) throws(AccessControlError) {
        self.listeners = listeners
        self.threadPool = threadPool
        self.logger = logger
        self.configurationSource = configurationSource
        self.watchedConfigurationFile = configurationFile
        let policy: AccessPolicy
        do {
            policy = try AccessPolicy(configuration: configuration, hmac: self.hmac, threadPool: threadPool)
        } catch {
            throw AccessControlError(description: error.description)
        }
        self.state = NIOLockedValueBox(Self.state(for: policy, previous: nil))
        self.logLoaded(policy, event: "access.loaded")
    }

    /// The settings in force.
    public var configuration: AccessConfiguration { self.state.withLockedValue { $0.policy.configuration } }

    // MARK: Reload

    /// Re-reads the settings (through the configuration source) and the
    /// files; swaps them in if all load. Returns whether it did.
    @discardableResult
    public func reload() -> Bool {
        let configuration: AccessConfiguration
        do {
            configuration = try self.configurationSource?() ?? self.configuration
        } catch {
            return self.keptPreviousPolicy("access.reload_failed: keeping the previous policy", because: "\(error)")
        }
        // Checked before any file is read: whatever the files hold, these settings must not open a listener.
        if ExposureCheck.authenticates(self.configuration),
            let problem = ExposureCheck.problem(access: configuration, listeners: self.listeners)
        {
            return self.keptPreviousPolicy("access.reload_refused: keeping the previous policy, which authenticates", because: problem)
        }
        let policy: AccessPolicy
        do {
            policy = try AccessPolicy(configuration: configuration, hmac: self.hmac, threadPool: self.threadPool)
        } catch {
            return self.keptPreviousPolicy("access.reload_failed: keeping the previous policy", because: error.description)
        }
        let previousUsage = self.state.withLockedValue { state in
            let previous = state.usage
            state = Self.state(for: policy, previous: state)
            return previous
        }
        previousUsage?.flush()
        self.logLoaded(policy, event: "access.reloaded")
        return true
    }

    /// Logs why a reload kept the policy in force (on one line, whatever the reason holds); false.
    private func keptPreviousPolicy(_ event: Logger.Message, because reason: String) -> Bool {
        self.logger.error(event, metadata: ["error": "\(LogField.escaped(reason, limit: 2048))"])
        return false
    }

    /// Reloads whenever the htpasswd, keys or configuration file changes, and
    /// writes key last-use times every few seconds, until ``stop()``.
    public func startWatching(interval: Duration = .seconds(1)) {
        let watcher = FileChangeWatcher(
            paths: { [weak self] in
                guard let self else { return [] }
                let configuration = self.configuration
                return [configuration.htpasswdPath, configuration.keysPath, self.watchedConfigurationFile].compactMap { $0 }
            },
            interval: interval
        ) { [weak self] in
            self?.logger.info("access files changed: reloading")
            self?.reload()
        }
        let watching = Task { await watcher.run() }
        let flushing = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(5))
                self?.state.withLockedValue { $0.usage }?.flush()
            }
        }
        self.tasks.withLockedValue { $0 += [watching, flushing] }
    }

    /// Stops watching and writes pending key last-use times.
    public func stop() {
        for task in self.tasks.withLockedValue({ tasks in defer { tasks = [] }; return tasks }) { task.cancel() }
        self.state.withLockedValue { $0.usage }?.flush()
    }

    private static func state(for policy: AccessPolicy, previous: State?) -> State {
        let configuration = policy.configuration
        var failures = previous?.failures
        if let tracker = failures,
            tracker.maxFailures != configuration.lockoutMaxFailures
                || tracker.window != TimeAmount(configuration.lockoutWindow)
                || tracker.lockout != TimeAmount(configuration.lockoutDuration)
                || previous?.policy.configuration.lockoutIPv6PrefixLength != configuration.lockoutIPv6PrefixLength
        {
            failures = nil
        }
        var limiter = previous?.rateLimiter
        if previous?.policy.configuration.rateLimit != configuration.rateLimit { limiter = nil }
        var usage = previous?.usage
        if usage?.path != configuration.keysPath.map(APIKeyUsage.path(forKeysFile:)) { usage = nil }
        return State(
            policy: policy,
            failures: failures
                ?? LoginFailureTracker(
                    maxFailures: configuration.lockoutMaxFailures, window: TimeAmount(configuration.lockoutWindow),
                    lockout: TimeAmount(configuration.lockoutDuration)),
            rateLimiter: limiter ?? configuration.rateLimit.map { RequestRateLimiter(perSecond: $0.perSecond, burst: Double($0.requests)) },
            usage: usage ?? configuration.keysPath.map { APIKeyUsage(keysPath: $0) })
    }

    private func logLoaded(_ policy: AccessPolicy, event: Logger.Message) {
        for warning in policy.warnings {
            self.logger.warning("access.file_warning", metadata: ["warning": "\(LogField.escaped(warning, limit: 2048))"])
        }
        self.logger.info(event, metadata: [
            "access.allow": "\(policy.allowlist.allow.count)", "access.deny": "\(policy.allowlist.deny.count)",
            "auth.users": "\(policy.basic?.file.users.count ?? 0)", "auth.keys": "\(policy.keys.count)",
        ])
    }

    /// What clients may authenticate with, in words (for a startup banner),
    /// e.g. `API keys (2) or HTTP Basic (3 users)`; never a secret.
    public var summary: String {
        let policy = self.state.withLockedValue { $0.policy }
        var parts: [String] = []
        let methods = policy.configuration.methods
        if methods != .basic && !policy.keys.isEmpty { parts.append("API keys (\(policy.keys.count))") }
        if methods != .key, let basic = policy.basic { parts.append("HTTP Basic (\(basic.file.users.count) users)") }
        if parts.isEmpty { return "no authentication" }
        return parts.joined(separator: " or ")
    }

    // MARK: ListenerAccessControl

    public func permitsConnection(from address: SocketAddress) -> Bool {
        guard let peer = IPAddress(address) else { return true }
        let policy = self.state.withLockedValue { $0.policy }
        // A trusted proxy's connections are judged per request, by the client it forwards for.
        if policy.configuration.trustedProxies.contains(where: { $0.contains(peer) }) { return true }
        if policy.allowlist.permits(peer) { return true }
        self.logger.info("access.denied_connection", metadata: ["client.address": "\(peer)"])
        return false
    }

    public func admission(for listener: ListenerConfiguration) -> any RequestAdmission {
        ListenerAdmission(control: self, listener: listener.address)
    }

    public func admit(_ request: AdmissionRequest) -> AdmissionResult {
        self.admit(request, listener: nil)
    }

    public func makeRequestHandlers() -> [any ChannelHandler] {
        // Decided per connection: without CORS origins the handler would only
        // cost a pipeline step per message; a reload that adds origins takes
        // effect on the next connections.
        guard !self.configuration.corsOrigins.isEmpty else { return [] }
        return [CORSHandler(allowedOrigins: { [weak self] in self?.configuration.corsOrigins ?? [] })]
    }

    // MARK: Admission

    func admit(_ request: AdmissionRequest, listener: HostAndPort?) -> AdmissionResult {
        let state = self.state.withLockedValue { $0 }
        let configuration = state.policy.configuration
        // Nothing to check (no credentials, no address lists): skip parsing
        // the address and the path; the head is still rewritten (identity
        // header out, upstream key in).
        if !configuration.requiresAuthentication && state.policy.allowlist.allow.isEmpty
            && state.policy.allowlist.deny.isEmpty
        {
            return .decided(.admit(UpstreamIdentity.head(request.head, identity: nil, configuration: configuration)))
        }
        let peer = IPAddress(request.clientAddress)
        let client = peer.map {
            ClientAddressResolver.client(peer: $0, headers: request.head.headers, trustedProxies: configuration.trustedProxies)
        }
        var audit = AuthenticationAudit(logger: self.logger, client: client, head: request.head)

        if let client, !state.policy.allowlist.permits(client) {
            audit.failed(method: "none", reason: "address_not_allowed")
            return .decided(AccessResponses.addressNotAllowed)
        }
        let path = RequestPath(target: request.head.uri)
        guard configuration.requiresAuthentication,
            !path.isEntirelyUnder(anyOf: configuration.publicPaths),
            !(configuration.skipLoopback && (client?.isLoopback ?? false))
        else {
            return .decided(.admit(UpstreamIdentity.head(request.head, identity: nil, configuration: configuration)))
        }
        let methods = listener.map(configuration.methods(for:)) ?? configuration.methods
        // Made only when a request is refused.
        var responses: AccessResponses { AccessResponses(realm: configuration.realm, methods: methods) }
        // An unparseable peer (not an IP socket) is tracked as one shared address.
        let failureKey = FailureCountingKey(client ?? IPAddress(ipv4: 0), ipv6PrefixLength: configuration.lockoutIPv6PrefixLength)
        if let wait = state.failures.lockedOut(failureKey) {
            audit.failed(method: "any", reason: "locked_out")
            return .decided(AccessResponses.lockedOut(retryAfter: wait))
        }

        switch PresentedCredentials(request.head.headers, methods: methods) {
        case .none:
            audit.failed(method: "none", reason: "missing_credentials")
            return .decided(responses.missing)
        case .malformed(let method):
            audit.failed(method: method, reason: "malformed_credentials")
            state.failures.recordFailure(failureKey)
            return .decided(responses.invalid)
        case .key(let text):
            let digest = SecretDigest.sha256(text.utf8)
            guard let key = state.policy.keys[digest] else {
                audit.failed(method: "key", reason: "unknown_key")
                state.failures.recordFailure(failureKey)
                return .decided(responses.invalid)
            }
            audit.keyName = key.name
            if key.isExpired(at: Date()) {
                audit.failed(method: "key", reason: "expired_key")
                state.failures.recordFailure(failureKey)
                return .decided(responses.expired)
            }
            if key.name != AccessPolicy.mainKeyName { state.usage?.record(key.name) }
            if key.scope < .admin && path.isUnder(anyOf: configuration.adminPaths) {
                audit.failed(method: "key", reason: "insufficient_scope")
                return .decided(AccessResponses.insufficientScope)
            }
            return .decided(self.authenticated(request.head, identity: "key:\(key.name)", state: state, audit: &audit))
        case .basic(let credentials):
            guard let basic = state.policy.basic else {
                audit.failed(method: "basic", reason: "basic_not_configured")
                return .decided(responses.missing)
            }
            let (head, baseAudit, realm) = (request.head, audit, configuration.realm)
            let finish: @Sendable (Bool) -> AdmissionDecision = { [self] verified in
                var audit = baseAudit
                audit.user = credentials.user
                guard verified else {
                    // Same reason and answer for an unknown user and a wrong password.
                    audit.failed(method: "basic", reason: "invalid_credentials")
                    state.failures.recordFailure(failureKey)
                    return AccessResponses(realm: realm, methods: methods).invalid
                }
                return self.authenticated(head, identity: credentials.user, state: state, audit: &audit)
            }
            // A hash is only queued if this address has attempts to spare
            // counting those under way, so a burst of parallel guesses is cut off too.
            var reserved = false
            let check = basic.check(
                user: credentials.user, password: credentials.password, client: failureKey, on: request.eventLoop
            ) {
                reserved = state.failures.beginVerification(failureKey)
                return reserved
            }
            switch check {
            case .decided(let verified):
                return .decided(finish(verified))
            case .pending(let future):
                // The outcome is recorded before the reservation goes (also when the pool has shut down).
                return .pending(future.map(finish).always { _ in state.failures.endVerification(failureKey) })
            case .notPermitted:
                audit.user = credentials.user
                audit.failed(method: "basic", reason: "too_many_attempts_in_flight")
                return .decided(AccessResponses.lockedOut(retryAfter: .seconds(1)))
            case .busy:
                if reserved { state.failures.endVerification(failureKey) }
                audit.user = credentials.user
                audit.failed(method: "basic", reason: "verification_queue_full")
                return .decided(AccessResponses.busy)
            }
        }
    }

    /// The decision for an authenticated request: the rate limit, then the rewritten head.
    private func authenticated(
        _ head: HTTPRequestHead, identity: String, state: State, audit: inout AuthenticationAudit
    ) -> AdmissionDecision {
        if let wait = state.rateLimiter?.take(identity) {
            audit.failed(method: identity.hasPrefix("key:") ? "key" : "basic", reason: "rate_limited")
            return AccessResponses.rateLimited(retryAfter: wait)
        }
        return .admit(
            UpstreamIdentity.head(head, identity: identity, configuration: state.policy.configuration), identity: identity)
    }
}

/// The admission of one listener: ``AccessControl`` with that listener's methods.
struct ListenerAdmission: RequestAdmission {
    let control: AccessControl
    let listener: HostAndPort

    func admit(_ request: AdmissionRequest) -> AdmissionResult {
        self.control.admit(request, listener: self.listener)
    }
}

/// Access control that cannot start (a file that cannot be read or parsed).
public struct AccessControlError: Error, CustomStringConvertible {
    public let description: String
}
