/// Makes hashes for new passwords, with salts from the system CSPRNG.
///
/// Like verification, hashing is synchronous and slow for bcrypt; the caller
/// decides where it runs.
public enum PasswordHasher {
    /// The bcrypt cost used when none is given.
    public static let defaultBcryptCost = 10
    /// The bcrypt costs accepted for new hashes, as Apache's htpasswd allows.
    public static let bcryptCostRange = 4...17
    /// The SHA-crypt round counts accepted for new hashes (libcrypt's own limits).
    public static let shaCryptRoundsRange = 1000...999_999_999
    /// bcrypt reads at most this many password bytes; longer passwords are refused
    /// rather than silently truncated.
    public static let bcryptMaximumPasswordLength = 72

    /// Hashes `password` in `format`.
    ///
    /// - Parameter cost: the bcrypt cost (default 10) or SHA-crypt rounds
    ///   (default 5000, written without a `rounds=` field); ignored by other formats.
    public static func hash(_ password: String, format: HashFormat, cost: Int? = nil) throws(HtpasswdError) -> PasswordHash {
        try hash(Array(password.utf8), format: format, cost: cost)
    }

    /// Hashes the password bytes in `format`.
    public static func hash(_ password: [UInt8], format: HashFormat, cost: Int? = nil) throws(HtpasswdError) -> PasswordHash {
        guard !password.contains(0) else {
            throw HtpasswdError(.invalidPassword, "a password cannot contain a NUL byte")
        }
        let encoded: String
        switch format {
        case .bcrypt:
            guard password.count <= bcryptMaximumPasswordLength else {
                throw HtpasswdError(.passwordTooLong,
                    "bcrypt uses at most \(bcryptMaximumPasswordLength) bytes of a password; this one has \(password.count). Use a shorter password or another format (-5)")
            }
            let cost = cost ?? defaultBcryptCost
            guard bcryptCostRange.contains(cost) else {
                throw HtpasswdError(.costOutOfRange, "bcrypt cost must be between \(bcryptCostRange.lowerBound) and \(bcryptCostRange.upperBound), not \(cost)")
            }
            encoded = try crypt(password, setting: Crypt.generateSetting(prefix: "$2y$", count: UInt(cost), randomByteCount: 16))
        case .sha256Crypt, .sha512Crypt:
            let rounds = cost ?? 5000
            guard shaCryptRoundsRange.contains(rounds) else {
                throw HtpasswdError(.costOutOfRange, "SHA-crypt rounds must be between \(shaCryptRoundsRange.lowerBound) and \(shaCryptRoundsRange.upperBound), not \(rounds)")
            }
            let prefix = format == .sha256Crypt ? "$5$" : "$6$"
            // A count of 0 asks libcrypt for its default (5000) without a rounds= field, as Apache writes.
            let setting = try Crypt.generateSetting(prefix: prefix, count: rounds == 5000 ? 0 : UInt(rounds), randomByteCount: 16)
            encoded = try crypt(password, setting: setting)
        case .apr1:
            encoded = try APR1.hash(password: password, salt: CryptAlphabet.randomString(count: 8))
        case .sha1:
            encoded = SHA1Password.hash(password: password)
        case .md5Crypt, .saltedSHA1, .des:
            throw HtpasswdError(.unsupportedForHashing,
                "\(format) is accepted when verifying but not offered for new passwords; use bcrypt, apr1, sha512-crypt, sha256-crypt or SHA")
        }
        return try PasswordHash(encoded)
    }

    private static func crypt(_ password: [UInt8], setting: String) throws(HtpasswdError) -> String {
        guard let result = Crypt.hash(password: password, setting: setting) else {
            throw HtpasswdError(.hashingFailed, "libcrypt could not hash with setting \(setting.prefix(7))…")
        }
        return result
    }
}
