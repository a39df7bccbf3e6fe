/// A stored password hash whose format has been recognised and whose shape checked.
///
/// Creating one never hashes anything; it only reads the string, so it is cheap
/// and safe to do for every line of a large file.
public struct PasswordHash: Sendable, Hashable, CustomStringConvertible {
    /// The format, detected from the prefix.
    public let format: HashFormat
    /// The hash exactly as stored.
    public let encoded: String
    /// The bcrypt cost or SHA-crypt round count; nil for formats without one.
    public let cost: Int?

    /// Recognises `encoded`, throwing for truncated or corrupted hashes, unknown
    /// prefixes and plain-text passwords.
    public init(_ encoded: String) throws(HtpasswdError) {
        self.encoded = encoded
        (format, cost) = try Self.classify(encoded)
    }

    public var description: String { encoded }

    /// A rough cost of one verification in microseconds on a current x86 core
    /// (measured with scripts/bench-htpasswd),
    /// used only to rank hashes by strength (see ``HtpasswdFile/verify(user:password:)``).
    public var estimatedVerificationMicroseconds: Double {
        switch format {
        case .bcrypt: 41_000 * Double(1 << max(0, (cost ?? 10))) / 1024
        case .sha512Crypt: 0.23 * Double(cost ?? 5000)
        case .sha256Crypt: 0.3 * Double(cost ?? 5000)
        case .apr1, .md5Crypt: 130
        case .des: 5
        case .sha1, .saltedSHA1: 1
        }
    }

    private static func classify(_ text: String) throws(HtpasswdError) -> (HashFormat, Int?) {
        if text.hasPrefix("$2") { return try (.bcrypt, bcryptCost(text)) }
        if text.hasPrefix(APR1.magic) {
            try checkMD5Crypt(text, prefix: APR1.magic, format: .apr1)
            return (.apr1, nil)
        }
        if text.hasPrefix("$1$") {
            try checkMD5Crypt(text, prefix: "$1$", format: .md5Crypt)
            return (.md5Crypt, nil)
        }
        if text.hasPrefix("$5$") { return try (.sha256Crypt, shaCryptRounds(text, format: .sha256Crypt, hashLength: 43)) }
        if text.hasPrefix("$6$") { return try (.sha512Crypt, shaCryptRounds(text, format: .sha512Crypt, hashLength: 86)) }
        if text.hasPrefix(SHA1Password.saltedPrefix) {
            let decoded = SHA1Password.decode(text.dropFirst(SHA1Password.saltedPrefix.count))
            guard let decoded, decoded.count > SHA1Password.digestLength else {
                throw malformed(.saltedSHA1, "expected base64 of a 20-byte SHA-1 digest followed by a salt")
            }
            return (.saltedSHA1, nil)
        }
        if text.hasPrefix(SHA1Password.plainPrefix) {
            let decoded = SHA1Password.decode(text.dropFirst(SHA1Password.plainPrefix.count))
            guard decoded?.count == SHA1Password.digestLength else {
                throw malformed(.sha1, "expected base64 of a 20-byte SHA-1 digest")
            }
            return (.sha1, nil)
        }
        if text.hasPrefix("$") || text.hasPrefix("{") {
            let prefix = text.hasPrefix("$")
                ? "$" + (text.dropFirst().split(separator: "$", maxSplits: 1, omittingEmptySubsequences: false).first ?? "") + "$"
                : String(text.prefix { $0 != "}" }) + "}"
            throw HtpasswdError(.unknownFormat, "unknown hash format \(String(prefix.prefix(16)).debugDescription)")
        }
        // 13 characters of the crypt alphabet is DES; a plain-text password of
        // that shape cannot be told apart, and is treated as DES like Apache does.
        if text.utf8.count == 13 && CryptAlphabet.containsAll(text) { return (.des, nil) }
        throw HtpasswdError(.plainText,
            "the stored password is not a recognised hash (plain text?); plain-text passwords are refused, store a hash made with swift-htpasswd")
    }

    private static func malformed(_ format: HashFormat, _ reason: String) -> HtpasswdError {
        HtpasswdError(.malformedHash, "malformed \(format) hash: \(reason)")
    }

    /// `$2a$`/`$2b$`/`$2y$`, two-digit cost 04–31, `$`, 22 salt and 31 hash characters.
    private static func bcryptCost(_ text: String) throws(HtpasswdError) -> Int {
        let bytes = Array(text.utf8)
        guard bytes.count >= 4, [UInt8(ascii: "a"), UInt8(ascii: "b"), UInt8(ascii: "y")].contains(bytes[2]),
              bytes[3] == UInt8(ascii: "$")
        else {
            throw HtpasswdError(.unknownFormat, "unknown bcrypt variant \(String(text.prefix(4)).debugDescription)")
        }
        guard bytes.count == 60, bytes[6] == UInt8(ascii: "$"),
              let cost = Int(String(decoding: bytes[4..<6], as: UTF8.self)),
              bytes[7...].allSatisfy(CryptAlphabet.contains)
        else {
            throw malformed(.bcrypt, "expected $2y$NN$ and 53 characters")
        }
        guard (4...31).contains(cost) else {
            throw HtpasswdError(.costOutOfRange, "bcrypt cost \(cost) is outside 4...31")
        }
        return cost
    }

    /// `prefix`, a salt of up to 8 characters, `$`, 22 hash characters.
    private static func checkMD5Crypt(_ text: String, prefix: String, format: HashFormat) throws(HtpasswdError) {
        let parts = text.dropFirst(prefix.count).split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].utf8.count <= 8, parts[1].utf8.count == 22,
              CryptAlphabet.containsAll(parts[1])
        else {
            throw malformed(format, "expected \(prefix)salt$ and 22 characters")
        }
    }

    /// `$5$` or `$6$`, optional `rounds=N$`, a salt of up to 16 characters, `$`, the hash.
    private static func shaCryptRounds(_ text: String, format: HashFormat, hashLength: Int) throws(HtpasswdError) -> Int {
        var parts = text.dropFirst(3).split(separator: "$", omittingEmptySubsequences: false)
        var rounds = 5000
        if let first = parts.first, first.hasPrefix("rounds=") {
            guard let value = Int(first.dropFirst("rounds=".count)) else {
                throw malformed(format, "rounds is not a number")
            }
            guard (1000...999_999_999).contains(value) else {
                throw HtpasswdError(.costOutOfRange, "\(format) rounds \(value) is outside 1000...999999999")
            }
            rounds = value
            parts.removeFirst()
        }
        guard parts.count == 2, parts[0].utf8.count <= 16, parts[1].utf8.count == hashLength,
              CryptAlphabet.containsAll(parts[1])
        else {
            throw malformed(format, "expected salt$ and \(hashLength) characters")
        }
        return rounds
    }
}
