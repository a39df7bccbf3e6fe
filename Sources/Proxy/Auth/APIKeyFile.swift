import Foundation
import HtpasswdKit

/// A keys file: one API key a line, stored as a hash.
///
/// ```
/// # NAME SCOPE CREATED EXPIRES PREFIX SHA256 [LIMITS]
/// laptop inference 2026-12-02T13:00:00Z never lmg_Ab12Cd sha256:9f86d0…
/// ci inference 2026-12-02T13:00:00Z never lmg_Xy34Ef sha256:1b4f0e… models=qwen3-* max_concurrent=2
/// ```
///
/// Optional `name=value` fields after the hash are the key's
/// ``IdentityLimits``; an unknown one makes the file invalid.
///
/// Lines starting with `#` and blank lines are ignored. Any other line that
/// does not parse makes the whole file invalid, so that a half-written or
/// mistyped file is refused (and the keys in force kept) rather than read
/// with keys silently missing. `lmgate keys` writes it; the proxy reads it.
public struct APIKeyFile: Sendable, Equatable {
    public var keys: [APIKey]

    public init(keys: [APIKey] = []) {
        self.keys = keys
    }

    /// Why a keys file cannot be used.
    public struct Problem: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// Parses the text of a keys file.
    public init(text: String) throws(Problem) {
        var keys: [APIKey] = []
        var names = Set<String>()
        for rule in LineFileRules.rules(of: text) {
            let fields = rule.fields
            func problem(_ text: String) -> Problem { Problem(description: "line \(rule.line): \(text)") }
            guard fields.count >= 6 else {
                throw problem("expected NAME SCOPE CREATED EXPIRES PREFIX sha256:HASH [LIMITS], got \(fields.count) fields")
            }
            let name = String(fields[0])
            guard APIKey.isValidName(name) else { throw problem("'\(name)' is not a valid key name") }
            guard names.insert(name).inserted else { throw problem("the key name '\(name)' is used twice") }
            guard let scope = AccessScope(rawValue: String(fields[1])) else {
                throw problem("scope must be \(AccessScope.allCases.map(\.rawValue).joined(separator: " or "))")
            }
            guard let created = Self.date(fields[2]) else { throw problem("CREATED is not a date such as 2026-01-31T12:00:00Z") }
            var expires: Date?
            if fields[3] != "never" {
                guard let date = Self.date(fields[3]) else { throw problem("EXPIRES is not 'never' or a date") }
                expires = date
            }
            guard fields[5].hasPrefix("sha256:"), let digest = SecretDigest(hex: fields[5].dropFirst("sha256:".count)) else {
                throw problem("the hash must be sha256: followed by 64 hexadecimal digits")
            }
            var key = APIKey(name: name, scope: scope, created: created, expires: expires, prefix: String(fields[4]), digest: digest)
            do {
                key.limits = try IdentityLimits(fields: fields.dropFirst(6))
            } catch {
                throw problem(error.description)
            }
            keys.append(key)
        }
        self.keys = keys
    }

    /// Reads and parses the file at `path`.
    public init(contentsOfFile path: String) throws(Problem) {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw Problem(description: "cannot read \(path): \(error.localizedDescription)")
        }
        try self.init(text: text)
    }

    /// The file's text.
    public func serialized() -> String {
        var text = "# lmgate API keys (only hashes; `lmgate keys create` prints a key once)\n"
        text += "# NAME SCOPE CREATED EXPIRES PREFIX SHA256 [models=A,B max_concurrent=N]\n"
        for key in self.keys {
            text += "\(key.name) \(key.scope.rawValue) \(Self.text(key.created)) \(key.expires.map(Self.text) ?? "never") "
            text += "\(key.prefix) sha256:\(key.digest.hex)"
            for field in key.limits.fields { text += " " + field }
            text += "\n"
        }
        return text
    }

    /// Writes the file atomically (a temporary file renamed over it), mode 0600.
    public func write(to path: String) throws(Problem) {
        do {
            // Always 0600, whatever the file's mode was: it holds the keys' hashes.
            try AtomicFileWriter.replaceContents(of: path, with: Array(self.serialized().utf8), mode: 0o600)
        } catch {
            throw Problem(description: error.message)
        }
    }

    static func date(_ text: some StringProtocol) -> Date? {
        try? Date(String(text), strategy: .iso8601)
    }

    /// A date as the keys file writes it (`2027-01-31T12:00:00Z`).
    public static func text(_ date: Date) -> String {
        date.formatted(.iso8601)
    }
}
