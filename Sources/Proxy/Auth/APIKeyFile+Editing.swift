import Foundation

/// The changes `lmgate keys` and the admin console make to a keys file, in
/// one place so both check a new key and a changed one the same way.
extension APIKeyFile {
    /// The word that stands for "no expiry" in `--expires` and the console's expiry field.
    public static let never = "never"

    /// Adds a new key named `name` and returns its text, to show once (only its hash is stored).
    /// - Parameter expires: `--expires` text (``expiry(_:now:)``); `nil` for never.
    public mutating func addKey(
        named name: String, scope: AccessScope, expires: String?, limits: IdentityLimits, now: Date = Date()
    ) throws(Problem) -> String {
        guard APIKey.isValidName(name) else {
            throw Problem(description: "'\(name)' is not a valid key name: use letters, digits, '-', '_' and '.'")
        }
        let expiry = try Self.expiry(expires, now: now)
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
        self.keys.remove(at: try self.index(ofKeyNamed: name))
    }

    /// Changes the key named `name` in place (`lmgate keys update`, the console's
    /// scope, expiry and limits forms); each part given replaces the key's own,
    /// `nil` keeps it. Its text, hash, prefix and creation date stay.
    /// - Parameter expires: ``expiry(_:now:)`` text; `never` removes the expiry.
    public mutating func updateKey(
        named name: String, scope: AccessScope? = nil, expires: String? = nil, limits: IdentityLimits? = nil, now: Date = Date()
    ) throws(Problem) {
        let index = try self.index(ofKeyNamed: name)
        // Read before anything changes, so a bad expiry leaves the scope as it was too;
        // `nil` when no expiry was given, `.some(nil)` for never.
        let expiry = try expires.map { text throws(Problem) in try Self.expiry(text, now: now) }
        if let scope { self.keys[index].scope = scope }
        if let expiry { self.keys[index].expires = expiry }
        if let limits { self.keys[index].limits = limits }
    }

    /// When a key given `text` at `now` expires: `nil` (never) for `nil` or
    /// `never`; otherwise a duration from now or a date (``APIKey/expiry(from:now:)``),
    /// which must be in the future: a date in the past is much more likely a
    /// typo than a wish to disable the key, which is what revoking is for.
    public static func expiry(_ text: String?, now: Date = Date()) throws(Problem) -> Date? {
        guard let text, text.trimmingCharacters(in: .whitespaces).lowercased() != Self.never else { return nil }
        guard let date = APIKey.expiry(from: text, now: now), date > now else {
            throw Problem(description: "the expiry must be a duration such as 30d, a future date such as 2027-01-31, or never")
        }
        return date
    }

    /// The keys file at `path`; one that does not exist yet has no keys.
    public static func loadOrEmpty(path: String) throws(Problem) -> APIKeyFile {
        guard FileManager.default.fileExists(atPath: path) else { return APIKeyFile() }
        return try APIKeyFile(contentsOfFile: path)
    }

    private func index(ofKeyNamed name: String) throws(Problem) -> Int {
        guard let index = self.keys.firstIndex(where: { $0.name == name }) else {
            throw Problem(description: "no key named '\(name)'")
        }
        return index
    }
}
