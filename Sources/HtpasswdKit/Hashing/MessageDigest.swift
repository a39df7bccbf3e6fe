import COpenSSL

/// A libcrypto message digest (SHA-1, MD5), fetched once and shared.
///
/// OpenSSL 3's one-shot functions (`SHA256()`, `EVP_Digest` with `EVP_sha1()`,
/// `EVP_DigestInit_ex` with `EVP_md5()`) look the algorithm up by name on
/// every call: provider store, property query, locks. In apr1's thousand
/// rounds that cost more than the digest itself. (The proxy's SHA-256, made
/// on every authenticated request, is its `SHA256Hasher`, which allocates
/// nothing at all.) A fetched `EVP_MD` is immutable and safe to share
/// between threads; each digest gets its own context (or one ``Context``
/// reused through a loop).
public struct MessageDigest: Sendable {
    private final class Algorithm: @unchecked Sendable {
        // Immutable once fetched; OpenSSL documents fetched algorithms as shareable.
        let md: OpaquePointer
        init(_ name: String) {
            // Fails only if the default provider is missing, when no TLS would work either.
            guard let md = EVP_MD_fetch(nil, name, nil) else { fatalError("OpenSSL has no \(name)") }
            self.md = md
        }
    }

    private let algorithm: Algorithm
    /// The digest's length in bytes.
    public let length: Int

    private init(_ name: String, length: Int) {
        self.algorithm = Algorithm(name)
        self.length = length
    }

    public static let sha1 = MessageDigest("SHA1", length: 20)
    public static let md5 = MessageDigest("MD5", length: 16)

    /// The digest of the concatenation of `parts`.
    public func digest(_ parts: [UInt8]...) -> [UInt8] {
        self.digest(parts: parts)
    }

    /// The digest of the concatenation of `parts`.
    public func digest(parts: [[UInt8]]) -> [UInt8] {
        Context(self).digest(parts: parts)
    }

    /// One digest context, reused for digest after digest (apr1's rounds).
    /// Not Sendable: one per computation.
    public final class Context {
        private let context: OpaquePointer
        private let digest: MessageDigest

        public init(_ digest: MessageDigest) {
            // Only memory exhaustion makes this fail.
            guard let context = EVP_MD_CTX_new() else { fatalError("out of memory") }
            self.context = context
            self.digest = digest
        }

        deinit { EVP_MD_CTX_free(self.context) }

        /// The digest of the concatenation of `parts`.
        public func digest(parts: [[UInt8]]) -> [UInt8] {
            var output = [UInt8](repeating: 0, count: self.digest.length)
            var ok = EVP_DigestInit_ex2(self.context, self.digest.algorithm.md, nil)
            for part in parts where !part.isEmpty {
                ok &= part.withUnsafeBytes { EVP_DigestUpdate(self.context, $0.baseAddress, $0.count) }
            }
            var length: UInt32 = 0
            ok &= EVP_DigestFinal_ex(self.context, &output, &length)
            // A fetched algorithm fails only on memory exhaustion.
            precondition(ok == 1 && Int(length) == self.digest.length, "OpenSSL digest failed")
            return output
        }

        /// The digest of the concatenation of `parts`.
        public func digest(_ parts: [UInt8]...) -> [UInt8] {
            self.digest(parts: parts)
        }
    }
}
