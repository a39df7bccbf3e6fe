import COpenSSL

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
        var output = [UInt8](repeating: 0, count: 32)
        let input = Array(bytes)
        input.withUnsafeBufferPointer { buffer in
            _ = SHA256(buffer.baseAddress, buffer.count, &output)
        }
        return SecretDigest(bytes: output)
    }
}

/// HMAC-SHA256 under a key made at random when the process starts and never
/// stored: digests of passwords kept in memory cannot be checked against a
/// guess by anyone who reads them out of a core dump, without also the key.
struct ProcessKeyedHMAC: Sendable {
    private let key: [UInt8]

    /// A fresh random key (from OpenSSL's CSPRNG).
    init() {
        var key = [UInt8](repeating: 0, count: 32)
        let ok = key.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32($0.count)) }
        // Without randomness there is no safe key; OpenSSL only fails here if the OS has no entropy source.
        precondition(ok == 1, "OpenSSL RAND_bytes failed")
        self.key = key
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
        var output = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        self.key.withUnsafeBufferPointer { key in
            message.withUnsafeBufferPointer { message in
                _ = HMAC(EVP_sha256(), key.baseAddress, Int32(key.count), message.baseAddress, message.count, &output, &length)
            }
        }
        return SecretDigest(bytes: output)
    }
}
