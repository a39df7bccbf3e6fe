import Foundation

/// Who logged in to the console: an admin-scope key or a Basic user with the admin right.
enum ConsoleIdentity: Equatable, Hashable, Sendable {
    case key(String)
    case user(String)

    /// As the audit log and usage name identities: `key:NAME` or the user.
    var logName: String {
        switch self {
        case .key(let name): APIKey.identity(ofKeyNamed: name)
        case .user(let name): name
        }
    }
}

/// One logged-in console session, kept only in the proxy's memory.
///
/// Its id (the cookie) and its CSRF token are 256 random bits each; the
/// store keeps the id only as its SHA-256, and the token is compared in
/// constant time (``SecretDigest``).
struct ConsoleSession: Equatable, Sendable {
    let identity: ConsoleIdentity
    /// The token every form of this session carries, to show in pages.
    let csrfToken: String
    let expires: Date

    /// Whether `presented` is this session's CSRF token (constant time; a missing token never is).
    func acceptsCSRFToken(_ presented: String?) -> Bool {
        ConsoleSession.tokensMatch(presented, self.csrfToken)
    }

    /// Whether `presented` equals `expected`: both hashed, and the digests
    /// compared without early exit, so timing says nothing about how much of a guess was right.
    static func tokensMatch(_ presented: String?, _ expected: String) -> Bool {
        guard let presented, !presented.isEmpty else { return false }
        return SecretDigest.sha256(presented.utf8) == SecretDigest.sha256(expected.utf8)
    }
}
