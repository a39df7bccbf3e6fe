import Foundation

/// The changes `lmgate keys` and the admin console make to a keys file, in
/// one place so both check a new key the same way.
extension APIKeyFile {
    /// Adds a new key named `name` and returns its text, to show once (only its hash is stored).
    /// - Parameter expires: `--expires` text (``APIKey/expiry(from:now:)``); `nil` for never.
    public mutating func addKey(
        named name: String, scope: AccessScope, expires: String?, limits: IdentityLimits, now: Date = Date()
    ) throws(Problem) -> String {
        guard APIKey.isValidName(name) else {
            throw Problem(description: "'\(name)' is not a valid key name: use letters, digits, '-', '_' and '.'")
        }
        var expiry: Date?
        if let expires {
            guard let date = APIKey.expiry(from: expires, now: now), date > now else {
                throw Problem(description: "the expiry must be a duration such as 30d or a future date such as 2027-01-31")
            }
            expiry = date
        }
        guard !self.keys.contains(where: { $0.name == name }) else {
            throw Problem(description: "a key named '\(name)' exists already: revoke it first or pick another name")
        }
        var (key, stored) = APIKey.generate(name: name, scope: scope, expires: expiry, now: now)
        stored.limits = limits
        self.keys.append(stored)
        return key
    }

    /// Removes the key named `name`.
    public mutating func revokeKey(named name: String) throws(Problem) {
        guard self.keys.contains(where: { $0.name == name }) else {
            throw Problem(description: "no key named '\(name)'")
        }
        self.keys.removeAll { $0.name == name }
    }

    /// Gives the key named `name` these limits in place of its own.
    public mutating func setLimits(_ limits: IdentityLimits, ofKeyNamed name: String) throws(Problem) {
        guard let index = self.keys.firstIndex(where: { $0.name == name }) else {
            throw Problem(description: "no key named '\(name)'")
        }
        self.keys[index].limits = limits
    }

    /// The keys file at `path`; one that does not exist yet has no keys.
    public static func loadOrEmpty(path: String) throws(Problem) -> APIKeyFile {
        guard FileManager.default.fileExists(atPath: path) else { return APIKeyFile() }
        return try APIKeyFile(contentsOfFile: path)
    }
}
