extension HtpasswdFile {
    /// The outcome of checking a user's password against the file.
    public enum VerificationResult: Sendable, Hashable {
        /// The password matches the user's hash.
        case verified
        /// The user exists and the password does not match.
        case wrongPassword
        /// No such user.
        case unknownUser
        /// The user's line has a hash that cannot be verified; see ``HtpasswdError/message``.
        case unusableHash(HtpasswdError)

        /// Whether access should be granted.
        public var isVerified: Bool { self == .verified }
    }

    /// Checks `password` for `user`.
    ///
    /// An unknown user costs as much time as a known one: the password is
    /// checked against the file's most expensive hash and the answer thrown
    /// away, so response times do not reveal which users exist. Using a real
    /// hash rather than a made-up one gives exactly the same work (format,
    /// cost, rounds) and cannot verify anything, since the result is ignored.
    public func verify(user: String, password: [UInt8]) -> VerificationResult {
        guard let entry = entry(for: user) else {
            if let decoy = strongestHash {
                _ = PasswordVerifier.verify(password: password, against: decoy)
            }
            return .unknownUser
        }
        switch entry.hash {
        case .failure(let error):
            return .unusableHash(error)
        case .success(let hash):
            return PasswordVerifier.verify(password: password, against: hash) ? .verified : .wrongPassword
        }
    }

    /// Checks `password` (its UTF-8 bytes) for `user`.
    public func verify(user: String, password: String) -> VerificationResult {
        verify(user: user, password: Array(password.utf8))
    }
}
