import Foundation
import NIOCore

/// The checks of a presented key or password that API admission
/// (``AccessAdmission``) and the console's login (``AdminConsole``) share, so
/// both count failures towards the same lockout and log the same reasons.
extension AccessPolicyStore.State {
    /// What a presented API key is.
    enum KeyVerification {
        case valid(APIKey)
        case unknown
        case expired
    }

    /// Looks a presented key up; an unknown or expired key (at `now`) is
    /// logged and counted as a failure of `failureKey`.
    func verifyKey(
        _ text: some StringProtocol, at now: Date = Date(), failureKey: FailureCountingKey, audit: inout AuthenticationAudit
    ) -> KeyVerification {
        guard let key = self.policy.keys[SecretDigest.sha256(text.utf8)] else {
            audit.failed(method: "key", reason: "unknown_key")
            self.failures.recordFailure(failureKey)
            return .unknown
        }
        audit.keyName = key.name
        guard !key.isExpired(at: now) else {
            audit.failed(method: "key", reason: "expired_key")
            self.failures.recordFailure(failureKey)
            return .expired
        }
        return .valid(key)
    }

    /// How a password check ends: now, later, or refused for load (already logged).
    enum PasswordVerification<Outcome: Sendable> {
        case done(Outcome)
        case pending(EventLoopFuture<Outcome>)
        /// This address has as many checks under way as its remaining attempts.
        case tooManyInFlight
        /// The hashing queue, or this address's share of it, is full.
        case queueFull
    }

    /// Checks a password with `basic`, records a wrong one as a failure of
    /// `failureKey`, and hands whether it was right to `finish`. A hash is
    /// only queued if the address has attempts to spare counting those under
    /// way (so a burst of parallel guesses is cut off too); a pending check
    /// gives its reservation back as its outcome is recorded, in one step
    /// (also when the pool has shut down).
    func verifyPassword<Outcome: Sendable>(
        user: String, password: [UInt8], with basic: BasicAuthenticator, failureKey: FailureCountingKey,
        on eventLoop: any EventLoop, audit: AuthenticationAudit, then finish: @escaping @Sendable (Bool) -> Outcome
    ) -> PasswordVerification<Outcome> {
        var reserved = false
        let check = basic.check(user: user, password: password, client: failureKey, on: eventLoop) {
            reserved = self.failures.beginVerification(failureKey)
            return reserved
        }
        let failures = self.failures
        switch check {
        case .decided(let verified):
            if !verified { failures.recordFailure(failureKey) }
            return .done(finish(verified))
        case .pending(let future):
            let settled = future.map { verified in
                failures.endVerification(failureKey, failed: !verified)
                return finish(verified)
            }
            return .pending(settled.flatMapErrorThrowing { error in
                failures.endVerification(failureKey)
                throw error
            })
        case .notPermitted:
            audit.failed(method: "basic", reason: "too_many_attempts_in_flight")
            return .tooManyInFlight
        case .busy:
            if reserved { failures.endVerification(failureKey) }
            audit.failed(method: "basic", reason: "verification_queue_full")
            return .queueFull
        }
    }
}
