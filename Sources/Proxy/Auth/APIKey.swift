import Foundation

/// What a key (or a user) may do.
public enum AccessScope: String, Sendable, CaseIterable, Comparable {
    /// Model requests: everything except the configured admin paths.
    case inference
    /// Everything, including the admin paths.
    case admin

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs == .inference && rhs == .admin }
}

/// One API key as stored: its name, scope and dates, and the SHA-256 of the
/// key, never the key itself.
///
/// Keys are 256 random bits, so a plain SHA-256 suffices (no slow hash is
/// needed against guessing, unlike a password) and checking one costs a
/// microsecond.
public struct APIKey: Sendable, Equatable {
    public var name: String {
        didSet { self.identity = Self.identity(ofKeyNamed: self.name) }
    }
    public var scope: AccessScope
    public var created: Date
    public var expires: Date?
    /// The first characters of the key, to recognise it in a list.
    public var prefix: String
    var digest: SecretDigest
    /// Allowed models and concurrency (``IdentityLimits``); empty for none.
    public var limits: IdentityLimits
    /// The identity a request with this key is admitted as (`key:NAME`):
    /// made with the key, not on every request.
    private(set) var identity: String

    init(
        name: String, scope: AccessScope, created: Date, expires: Date?, prefix: String, digest: SecretDigest,
        limits: IdentityLimits = IdentityLimits()
    ) {
        self.name = name
        self.scope = scope
        self.created = created
        self.expires = expires
        self.prefix = prefix
        self.digest = digest
        self.limits = limits
        self.identity = Self.identity(ofKeyNamed: name)
    }

    /// The identity of the key named `name`.
    public static func identity(ofKeyNamed name: String) -> String { "key:" + name }

    /// Whether the key has expired at `now`.
    public func isExpired(at now: Date) -> Bool {
        self.expires.map { $0 <= now } ?? false
    }

    /// The prefix every generated key starts with, so a leaked key is recognisable (secret scanners).
    public static let keyPrefix = "lmg_"

    /// Makes a new key: returns the key's text, to show once, and what to store.
    public static func generate(name: String, scope: AccessScope, expires: Date?, now: Date = Date()) -> (key: String, stored: APIKey) {
        let key = keyPrefix + SecureRandom.token(bytes: 32)
        let stored = APIKey(
            name: name, scope: scope, created: now, expires: expires,
            prefix: String(key.prefix(keyPrefix.count + 6)), digest: .sha256(Array(key.utf8)))
        return (key, stored)
    }

    /// Whether `name` can name a key: letters, digits, `-`, `_`, `.`, 1 to 64 of them.
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64
            && name.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "-_.".unicodeScalars.contains($0)) }
    }

    /// Unpadded base64url (RFC 4648 §5) of `bytes`.
    static func base64URL(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var output: [UInt8] = []
        var accumulator: UInt32 = 0
        var bits = 0
        for byte in bytes {
            accumulator = accumulator << 8 | UInt32(byte)
            bits += 8
            while bits >= 6 {
                bits -= 6
                output.append(alphabet[Int(accumulator >> UInt32(bits) & 63)])
            }
        }
        if bits > 0 { output.append(alphabet[Int(accumulator << UInt32(6 - bits) & 63)]) }
        return String(decoding: output, as: UTF8.self)
    }
}

extension APIKey {
    /// When a key given `--expires TEXT` at `now` expires: a duration from
    /// now (`30d`, `12h`, `90m`, `45s`) or a date (`2027-01-31` or
    /// `2027-01-31T12:00:00Z`); nil if `text` is neither.
    public static func expiry(from text: String, now: Date = Date()) -> Date? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        if trimmed.hasSuffix("d"), let days = Double(trimmed.dropLast()), days > 0, days.isFinite {
            return now.addingTimeInterval(days * 86_400)
        }
        if let duration = SettingValueParsing.duration(trimmed), duration > .zero, trimmed.contains(where: \.isLetter) {
            return now.addingTimeInterval(Double(duration.components.seconds))
        }
        if let date = APIKeyFile.date(text) { return date }
        return APIKeyFile.date(text + "T00:00:00Z")
    }
}
