import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// The admission step of access control: for each request, in order, the
/// client address (``ClientAddressResolver``) must pass the allowlist (else
/// 403); public paths and, if enabled, loopback clients pass; a locked-out
/// address gets 429 without any credential being looked at; then the
/// credentials are checked (401 when missing or wrong, with the same answer
/// for an unknown user and a wrong password), the scope (403 for an admin
/// path without admin scope) and the rate limit (429). An admitted head
/// loses its credentials and gains the identity (``UpstreamIdentity``).
///
/// Reads the policy in force from the ``AccessPolicyStore`` once per request.
struct AccessAdmission: RequestAdmission {
    let store: AccessPolicyStore
    let logger: Logger
    /// The listener whose methods apply; `nil` for the configuration's own.
    let listener: HostAndPort?

    func admit(_ request: AdmissionRequest) -> AdmissionResult {
        self.admit(request, listener: self.listener)
    }

    var usageAccounting: UsageAccounting? { self.store.usageAccounting }

    /// The limits of an admitted identity in the policy in force.
    func identityPolicy(for identity: String) -> IdentityPolicy? {
        guard let limits = self.store.current.policy.limits[identity] else { return nil }
        return IdentityPolicy(
            identity: identity, limits: limits, concurrency: self.store.concurrentRequests, tokens: self.store.tokenAccounts)
    }

    private func admit(_ request: AdmissionRequest, listener: HostAndPort?) -> AdmissionResult {
        let state = self.store.current
        // The policy (a class) is kept, not its configuration: a copy of the
        // configuration, a struct of many fields, retained and released each of
        // them on every request.
        let policy = state.policy
        // Nothing to check (no credentials, no address lists): skip parsing
        // the address and the path; the head is still rewritten (identity
        // header out, upstream key in).
        if !policy.configuration.requiresAuthentication && policy.allowlist.allow.isEmpty
            && policy.allowlist.deny.isEmpty
        {
            return .decided(.admit(UpstreamIdentity.head(request.head, identity: nil, policy: policy)))
        }
        let peer = request.clientIPAddress
        let client = peer.map {
            ClientAddressResolver.client(peer: $0, headers: request.head.headers, trustedProxies: policy.configuration.trustedProxies)
        }
        var audit = AuthenticationAudit(logger: self.logger, client: client, head: request.head)

        if let client, !policy.allowlist.permits(client) {
            audit.failed(method: "none", reason: "address_not_allowed")
            return .decided(AccessResponses.addressNotAllowed)
        }
        let path = RequestPath(target: request.head.uri)
        guard policy.configuration.requiresAuthentication,
            !path.isEntirelyUnder(anyOf: policy.configuration.publicPaths),
            !(policy.configuration.skipLoopback && (client?.isLoopback ?? false))
        else {
            return .decided(.admit(UpstreamIdentity.head(request.head, identity: nil, policy: policy)))
        }
        let methods = listener.map(policy.configuration.methods(for:)) ?? policy.configuration.methods
        // Made only when a request is refused.
        var responses: AccessResponses { AccessResponses(realm: policy.configuration.realm, methods: methods) }
        // An unparseable peer (not an IP socket) is tracked as one shared address.
        let failureKey = FailureCountingKey(client ?? IPAddress(ipv4: 0), ipv6PrefixLength: policy.configuration.lockoutIPv6PrefixLength)
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
            let key: APIKey
            let now = Date()  // one clock read for the expiry and the last use
            switch state.verifyKey(text, at: now, failureKey: failureKey, audit: &audit) {
            case .valid(let valid): key = valid
            case .unknown: return .decided(responses.invalid)
            case .expired: return .decided(responses.expired)
            }
            if key.digest != policy.configurationKeyDigest { state.usage?.record(key.name, at: now) }
            if key.scope < .admin && path.isUnder(anyOf: policy.configuration.adminPaths) {
                audit.failed(method: "key", reason: "insufficient_scope")
                return .decided(AccessResponses.insufficientScope)
            }
            return .decided(self.authenticated(request.head, identity: key.identity, state: state, audit: &audit))
        case .basic(let credentials):
            guard let basic = policy.basic else {
                audit.failed(method: "basic", reason: "basic_not_configured")
                return .decided(responses.missing)
            }
            let (head, baseAudit, realm) = (request.head, audit, policy.configuration.realm)
            let finish: @Sendable (Bool) -> AdmissionDecision = { [self] verified in
                var audit = baseAudit
                audit.user = credentials.user
                guard verified else {
                    // Same reason and answer for an unknown user and a wrong password.
                    audit.failed(method: "basic", reason: "invalid_credentials")
                    return AccessResponses(realm: realm, methods: methods).invalid
                }
                return self.authenticated(head, identity: credentials.user, state: state, audit: &audit)
            }
            var userAudit = audit
            userAudit.user = credentials.user
            switch state.verifyPassword(
                user: credentials.user, password: credentials.password, with: basic, failureKey: failureKey,
                on: request.eventLoop, audit: userAudit, then: finish)
            {
            case .done(let decision):
                return .decided(decision)
            case .pending(let future):
                return .pending(future)
            case .tooManyInFlight:
                return .decided(AccessResponses.lockedOut(retryAfter: .seconds(1)))
            case .queueFull:
                return .decided(AccessResponses.busy)
            }
        }
    }

    /// The decision for an authenticated request: the rate limit, then the rewritten head.
    private func authenticated(
        _ head: HTTPRequestHead, identity: String, state: AccessPolicyStore.State, audit: inout AuthenticationAudit
    ) -> AdmissionDecision {
        if let wait = state.rateLimiter?.take(identity) {
            audit.failed(method: identity.hasPrefix("key:") ? "key" : "basic", reason: "rate_limited")
            return AccessResponses.rateLimited(retryAfter: wait)
        }
        return .admit(
            UpstreamIdentity.head(head, identity: identity, policy: state.policy), identity: identity)
    }
}
