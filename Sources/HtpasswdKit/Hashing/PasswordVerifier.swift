/// Checks a password against a stored hash.
///
/// Verification is synchronous and, for bcrypt and SHA-crypt, deliberately slow
/// (about 60 ms for bcrypt at cost 10): callers on an event loop must run it on
/// a thread pool. Results are compared in constant time.
public enum PasswordVerifier {
    /// Whether `password` (its UTF-8 bytes) matches `hash`.
    public static func verify(password: String, against hash: PasswordHash) -> Bool {
        verify(password: Array(password.utf8), against: hash)
    }

    /// Whether the password bytes match `hash`.
    ///
    /// A password containing a NUL byte never matches: crypt(3) would silently
    /// stop at the NUL. For bcrypt, bytes after the 72nd are ignored, as by
    /// Apache and nginx, so that files they accept keep working.
    public static func verify(password: [UInt8], against hash: PasswordHash) -> Bool {
        guard !password.contains(0) else { return false }
        let computed: String?
        switch hash.format {
        case .apr1:
            computed = APR1.hash(password: password, salt: salt(of: hash, prefix: APR1.magic))
        case .sha1:
            computed = SHA1Password.hash(password: password)
        case .saltedSHA1:
            guard let decoded = SHA1Password.decode(hash.encoded.dropFirst(SHA1Password.saltedPrefix.count)) else {
                return false
            }
            let salt = Array(decoded.dropFirst(SHA1Password.digestLength))
            computed = SHA1Password.hash(password: password, salt: salt)
        case .bcrypt, .md5Crypt, .sha256Crypt, .sha512Crypt, .des:
            computed = Crypt.hash(password: password, setting: hash.encoded)
        }
        guard let computed else { return false }
        return SecureBytes.constantTimeEqual(computed.utf8, hash.encoded.utf8)
    }

    private static func salt(of hash: PasswordHash, prefix: String) -> String {
        String(hash.encoded.dropFirst(prefix.count).prefix { $0 != "$" })
    }
}
