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
        var hasher = SHA256Hasher()
        hasher.update(bytes)
        return hasher.finish()
    }

    /// The digest from its 32 bytes, as SHA-256 writes them.
    init(bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count == 32, "a SHA-256 digest has 32 bytes")
        func word(_ index: Int) -> UInt64 {
            UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self))
        }
        self.words = (word(0), word(1), word(2), word(3))
    }
}

/// SHA-256 computed incrementally with its context on the stack: no heap
/// allocation and no algorithm lookup (see `lmgate_SHA256_Init` in the
/// COpenSSL shim), for the digests made on every authenticated request.
struct SHA256Hasher {
    private var context = SHA256_CTX()

    init() {
        lmgate_SHA256_Init(&self.context)
    }

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        lmgate_SHA256_Update(&self.context, base, bytes.count)
    }

    /// Adds `bytes` (copied first only if they are not contiguous in memory).
    mutating func update(_ bytes: some Collection<UInt8>) {
        let done: Void? = bytes.withContiguousStorageIfAvailable { self.update(UnsafeRawBufferPointer($0)) }
        if done == nil { Array(bytes).withUnsafeBytes { self.update($0) } }
    }

    /// Writes the digest's 32 bytes to `output`; the hasher is spent.
    mutating func finish(into output: UnsafeMutableRawBufferPointer) {
        precondition(output.count == 32, "a SHA-256 digest has 32 bytes")
        lmgate_SHA256_Final(output.baseAddress!.assumingMemoryBound(to: UInt8.self), &self.context)
    }

    /// The digest; the hasher is spent.
    mutating func finish() -> SecretDigest {
        var bytes = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        return withUnsafeMutableBytes(of: &bytes) { output in
            self.finish(into: output)
            return SecretDigest(bytes: UnsafeRawBufferPointer(output))
        }
    }
}

/// SHA-256 and HMAC-SHA256 over byte arrays (keys files, tests), on ``SHA256Hasher``.
enum SHA256Digester {
    /// SHA-256 of the concatenation of `parts`.
    static func digest(_ parts: [[UInt8]]) -> [UInt8] {
        var hasher = SHA256Hasher()
        for part in parts { hasher.update(part) }
        var output = [UInt8](repeating: 0, count: 32)
        output.withUnsafeMutableBytes { hasher.finish(into: $0) }
        return output
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
        self.init(key: SecureRandom.bytes(32))
    }

    /// The HMAC under `key` (tests compare it with ``SHA256Digester/hmac(key:message:)``).
    init(key: [UInt8]) {
        (self.innerKey, self.outerKey) = SHA256Digester.paddedKeys(key)
    }

    /// The HMAC of the given parts, each preceded by its length so that
    /// (`ab`, `c`) and (`a`, `bc`) never collide. Hashed as it goes: no
    /// message is assembled (this runs on every Basic-authenticated request).
    func digest(_ parts: [UInt8]...) -> SecretDigest {
        self.digest(parts: parts)
    }

    func digest(parts: [[UInt8]]) -> SecretDigest {
        var inner = SHA256Hasher()
        inner.update(self.innerKey)
        for part in parts {
            let count = UInt32(truncatingIfNeeded: part.count).bigEndian
            withUnsafeBytes(of: count) { inner.update($0) }
            inner.update(part)
        }
        var innerDigest = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        var outer = SHA256Hasher()
        outer.update(self.outerKey)
        withUnsafeMutableBytes(of: &innerDigest) { bytes in
            inner.finish(into: bytes)
            outer.update(UnsafeRawBufferPointer(bytes))
        }
        return outer.finish()
    }
}
