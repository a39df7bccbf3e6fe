import COpenSSL
import HtpasswdKit

/// A 256-bit digest (SHA-256 or HMAC-SHA256), usable as a dictionary key.
///
/// Digests are what the access-control code keeps instead of secrets: an API
/// key is stored and looked up by its SHA-256, a verified password by its
/// HMAC under a per-process key. Looking a digest up in a dictionary is not
/// constant-time, which is safe because the attacker does not control the
/// digest's bits: learning which digest prefixes exist says nothing usable
/// about any secret.
struct SecretDigest: Hashable, Sendable {
    private let words: (UInt64, UInt64, UInt64, UInt64)

    init(bytes: [UInt8]) {
        precondition(bytes.count == 32, "a SHA-256 digest has 32 bytes")
        func word(_ index: Int) -> UInt64 {
            bytes[index * 8..<index * 8 + 8].reduce(0) { $0 << 8 | UInt64($1) }
        }
        self.words = (word(0), word(1), word(2), word(3))
    }

    static func == (lhs: Self, rhs: Self) -> Bool {
        // Compared without early exit (constant time): equality is how a presented secret is judged.
        ((lhs.words.0 ^ rhs.words.0) | (lhs.words.1 ^ rhs.words.1) | (lhs.words.2 ^ rhs.words.2)
            | (lhs.words.3 ^ rhs.words.3)) == 0
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(self.words.0)
        hasher.combine(self.words.1)
        hasher.combine(self.words.2)
        hasher.combine(self.words.3)
    }

    /// Lower-case hexadecimal, as written in a keys file.
    var hex: String {
        [self.words.0, self.words.1, self.words.2, self.words.3].map { word in
            let text = String(word, radix: 16)
            return String(repeating: "0", count: 16 - text.count) + text
        }.joined()
    }

    /// Parses 64 hexadecimal digits.
    init?(hex: Substring) {
        guard hex.utf8.count == 64 else { return nil }
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            guard let byte = UInt8(hex[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        self.init(bytes: bytes)
    }

    /// SHA-256 of `bytes`.
    static func sha256(_ bytes: some Collection<UInt8>) -> SecretDigest {
        SecretDigest(bytes: SHA256Digester.digest([Array(bytes)]))
    }
}

/// SHA-256 and HMAC-SHA256 for access control, on HtpasswdKit's
/// ``MessageDigest`` (the algorithm fetched once).
enum SHA256Digester {
    /// SHA-256 of the concatenation of `parts`.
    static func digest(_ parts: [[UInt8]]) -> [UInt8] {
        MessageDigest.sha256.digest(parts: parts)
    }

    /// HMAC-SHA256 (RFC 2104) of `message` under `key`.
    static func hmac(key: [UInt8], message: [UInt8]) -> [UInt8] {
        let (inner, outer) = paddedKeys(key)
        return hmac(innerKey: inner, outerKey: outer, message: message)
    }

    /// The key XORed with the inner and outer pads, computed once per key.
    static func paddedKeys(_ key: [UInt8]) -> (inner: [UInt8], outer: [UInt8]) {
        var block = key.count > 64 ? digest([key]) : key
        block += [UInt8](repeating: 0, count: 64 - block.count)
        return (block.map { $0 ^ 0x36 }, block.map { $0 ^ 0x5C })
    }

    static func hmac(innerKey: [UInt8], outerKey: [UInt8], message: [UInt8]) -> [UInt8] {
        digest([outerKey, digest([innerKey, message])])
    }
}

/// HMAC-SHA256 under a key made at random when the process starts and never
/// stored: digests of passwords kept in memory cannot be checked against a
/// guess by anyone who reads them out of a core dump, without also the key.
struct ProcessKeyedHMAC: Sendable {
    private let innerKey: [UInt8]
    private let outerKey: [UInt8]

    /// A fresh random key (from OpenSSL's CSPRNG).
    init() {
        var key = [UInt8](repeating: 0, count: 32)
        let ok = key.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32($0.count)) }
        // Without randomness there is no safe key; OpenSSL only fails here if the OS has no entropy source.
        precondition(ok == 1, "OpenSSL RAND_bytes failed")
        (self.innerKey, self.outerKey) = SHA256Digester.paddedKeys(key)
    }

    /// The HMAC of the given parts, each preceded by its length so that
    /// (`ab`, `c`) and (`a`, `bc`) never collide.
    func digest(_ parts: [UInt8]...) -> SecretDigest {
        var message: [UInt8] = []
        for part in parts {
            let count = UInt32(truncatingIfNeeded: part.count)
            message += [UInt8(count >> 24), UInt8(count >> 16 & 0xFF), UInt8(count >> 8 & 0xFF), UInt8(count & 0xFF)]
            message += part
        }
        return SecretDigest(bytes: SHA256Digester.hmac(innerKey: self.innerKey, outerKey: self.outerKey, message: message))
    }
}
