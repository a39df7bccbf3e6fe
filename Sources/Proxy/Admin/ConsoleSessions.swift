import Foundation
import NIOConcurrencyHelpers

/// The console's sessions: made at login, looked up by the cookie on every
/// request, gone at logout, at expiry, or when the oldest must make room.
final class ConsoleSessions: Sendable {
    /// Most sessions kept; a login beyond it ends the oldest one.
    let capacity: Int
    let lifetime: Duration
    private let sessions = NIOLockedValueBox([SecretDigest: ConsoleSession]())

    init(lifetime: Duration, capacity: Int = 1000) {
        self.lifetime = lifetime
        self.capacity = capacity
    }

    /// A new session for `identity`; returns its id, the cookie's value, shown only to this client.
    func open(for identity: ConsoleIdentity, now: Date = Date()) -> (id: String, session: ConsoleSession) {
        let id = SecureRandom.token(bytes: 32)
        let session = ConsoleSession(
            identity: identity, csrfToken: SecureRandom.token(bytes: 32),
            expires: now.addingTimeInterval(Double(self.lifetime.components.seconds)))
        self.sessions.withLockedValue { sessions in
            sessions = sessions.filter { $0.value.expires > now }
            if sessions.count >= self.capacity, let oldest = sessions.min(by: { $0.value.expires < $1.value.expires }) {
                sessions[oldest.key] = nil
            }
            sessions[SecretDigest.sha256(id.utf8)] = session
        }
        return (id, session)
    }

    /// The live session with this id, if any (an expired one is forgotten here).
    func session(id: String?, now: Date = Date()) -> ConsoleSession? {
        guard let id, !id.isEmpty else { return nil }
        let digest = SecretDigest.sha256(id.utf8)
        return self.sessions.withLockedValue { sessions in
            guard let session = sessions[digest] else { return nil }
            guard session.expires > now else {
                sessions[digest] = nil
                return nil
            }
            return session
        }
    }

    /// Ends the session with this id.
    func close(id: String?) {
        guard let id else { return }
        self.sessions.withLockedValue { _ = $0.removeValue(forKey: SecretDigest.sha256(id.utf8)) }
    }

    /// Ends every session of `identity` (its key was revoked or its user removed).
    func closeAll(of identity: ConsoleIdentity) {
        self.sessions.withLockedValue { sessions in sessions = sessions.filter { $0.value.identity != identity } }
    }

    /// Sessions open now (for tests and the dashboard).
    var count: Int { self.sessions.withLockedValue { $0.count } }
}
