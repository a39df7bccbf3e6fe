import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// The access policy in force and what goes with it (login failures, rate
/// limits, key usage), swapped whole on reload.
///
/// Everything it reads from files is reloaded by ``reload()`` (on SIGHUP)
/// and, once ``startWatching(interval:)`` has been called, whenever one of
/// the files changes; a reload that fails keeps the policy in force and logs
/// why. So does a reload that would turn authentication off while a
/// listener is on a non-loopback address (``ExposureCheck``): a proxy
/// started open on a LAN address on purpose stays as it was, but one that
/// authenticated never stops doing so.
final class AccessPolicyStore: Sendable {
    /// One consistent snapshot, read once per request.
    struct State {
        var policy: AccessPolicy
        var failures: LoginFailureTracker
        var rateLimiter: RequestRateLimiter?
        var usage: APIKeyUsage?
    }

    private let state: NIOLockedValueBox<State>
    private let hmac: ProcessKeyedHMAC
    private let threadPool: NIOThreadPool
    private let logger: Logger
    private let configurationSource: (@Sendable () throws -> AccessConfiguration)?
    private let watchedConfigurationFile: String?
    /// The listeners the policy guards (they do not change on reload).
    private let listeners: [ListenerConfiguration]
    private let tasks = NIOLockedValueBox<[Task<Void, Never>]>([])
    /// Requests in flight per identity; kept across reloads.
    let concurrentRequests = ConcurrentRequestLimit()
    /// Tokens used per identity; kept across reloads (and, with
    /// ``usageAccounting``, across restarts: it owns them).
    let tokenAccounts: TokenQuotaAccounts
    /// Usage accounting, persisted; `nil` when off.
    let usageAccounting: UsageAccounting?

    /// Loads the files the configuration names; see ``AccessControl``.
    init(
        configuration: AccessConfiguration,
        logger: Logger,
        threadPool: NIOThreadPool,
        configurationSource: (@Sendable () throws -> AccessConfiguration)?,
        configurationFile: String?,
        listeners: [ListenerConfiguration],
        usageAccounting: UsageAccounting? = nil
    ) throws(AccessControlError) {
        self.usageAccounting = usageAccounting
        self.tokenAccounts = usageAccounting?.quotas ?? TokenQuotaAccounts()
        let hmac = ProcessKeyedHMAC()
        self.hmac = hmac
        self.listeners = listeners
        self.threadPool = threadPool
        self.logger = logger
        self.configurationSource = configurationSource
        self.watchedConfigurationFile = configurationFile
        let policy: AccessPolicy
        do {
            policy = try AccessPolicy(configuration: configuration, hmac: hmac, threadPool: threadPool)
        } catch {
            throw AccessControlError(description: error.description)
        }
        let shared = usageAccounting?.sharedAccess
        self.state = NIOLockedValueBox(Self.state(for: policy, previous: nil, shared: shared))
        // Each exchange with the shared store follows the trackers in force (a reload may replace them).
        shared?.attach { [weak self] in
            let current = self?.current
            return SharedAccessCounts.Participants(failures: current?.failures, rateLimiter: current?.rateLimiter)
        }
        self.logLoaded(policy, event: "access.loaded")
    }

    /// The policy and its trackers in force now.
    var current: State { self.state.withLockedValue { $0 } }

    /// The settings in force.
    var configuration: AccessConfiguration { self.state.withLockedValue { $0.policy.configuration } }

    /// Re-reads the settings (through the configuration source) and the
    /// files; swaps them in if all load. Returns whether it did.
    @discardableResult
    func reload() -> Bool {
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
        let (previousUsage, previousKeys) = self.state.withLockedValue { state in
            let previous = (state.usage, state.policy.keys)
            state = Self.state(for: policy, previous: state, shared: self.usageAccounting?.sharedAccess)
            return previous
        }
        previousUsage?.flush()
        self.logLoaded(policy, event: "access.reloaded")
        KeyChangeAudit(from: previousKeys, to: policy.keys).log(to: self.logger)
        return true
    }

    /// Logs why a reload kept the policy in force (on one line, whatever the reason holds); false.
    private func keptPreviousPolicy(_ event: Logger.Message, because reason: String) -> Bool {
        self.logger.error(event, metadata: ["error": "\(LogField.escaped(reason, limit: 2048))"])
        return false
    }

    /// Reloads whenever the htpasswd, keys, user limits, allowlist or configuration file changes, and
    /// writes key last-use times every few seconds, until ``stop()``.
    func startWatching(interval: Duration = .seconds(1)) {
        let watcher = FileChangeWatcher(
            paths: { [weak self] in
                guard let self else { return [] }
                let configuration = self.configuration
                return [
                    configuration.htpasswdPath, configuration.keysPath, configuration.userLimitsPath,
                    configuration.allowlistPath, self.watchedConfigurationFile,
                ].compactMap { $0 }
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
    func stop() {
        for task in self.tasks.withLockedValue({ tasks in defer { tasks = [] }; return tasks }) { task.cancel() }
        self.state.withLockedValue { $0.usage }?.flush()
    }

    /// The state for `policy`: the trackers of `previous` kept unless their settings changed; new ones hand their counts to `shared`.
    private static func state(for policy: AccessPolicy, previous: State?, shared: SharedAccessCounts?) -> State {
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
                    lockout: TimeAmount(configuration.lockoutDuration), shared: shared),
            rateLimiter: limiter
                ?? configuration.rateLimit.map { RequestRateLimiter(perSecond: $0.perSecond, burst: Double($0.requests), shared: shared) },
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
    var summary: String {
        let policy = self.state.withLockedValue { $0.policy }
        var parts: [String] = []
        let methods = policy.configuration.methods
        if methods != .basic && !policy.keys.isEmpty { parts.append("API keys (\(policy.keys.count))") }
        if methods != .key, let basic = policy.basic { parts.append("HTTP Basic (\(basic.file.users.count) users)") }
        if parts.isEmpty { return "no authentication" }
        return parts.joined(separator: " or ")
    }
}
