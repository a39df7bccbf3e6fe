/// The password hash formats found in htpasswd files.
public enum HashFormat: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// bcrypt: `$2y$`, `$2b$` or `$2a$`, verified and produced by libcrypt.
    case bcrypt
    /// Apache's MD5 variant, `$apr1$`; HtpasswdKit's own implementation.
    case apr1
    /// FreeBSD/glibc MD5-crypt, `$1$`.
    case md5Crypt
    /// SHA-256-crypt, `$5$`.
    case sha256Crypt
    /// SHA-512-crypt, `$6$`.
    case sha512Crypt
    /// Unsalted SHA-1, `{SHA}` followed by base64.
    case sha1
    /// Salted SHA-1, `{SSHA}` followed by base64 of digest and salt.
    case saltedSHA1
    /// Traditional 13-character DES crypt.
    case des

    public var description: String {
        switch self {
        case .bcrypt: "bcrypt"
        case .apr1: "apr1"
        case .md5Crypt: "md5-crypt"
        case .sha256Crypt: "sha256-crypt"
        case .sha512Crypt: "sha512-crypt"
        case .sha1: "SHA"
        case .saltedSHA1: "SSHA"
        case .des: "DES-crypt"
        }
    }

    /// The formats ``PasswordHasher`` can produce for new passwords.
    public static let hashable: [HashFormat] = [.bcrypt, .apr1, .sha512Crypt, .sha256Crypt, .sha1]
}
