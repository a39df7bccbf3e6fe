/// An error from reading, verifying, hashing or writing htpasswd data.
///
/// The error is a struct over a private enum, so that new codes can be added
/// without breaking callers that switch over them; compare ``code`` with the
/// static members of ``HtpasswdError/Code``.
public struct HtpasswdError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Hashable {
            case malformedHash
            case unknownFormat
            case plainText
            case costOutOfRange
            case passwordTooLong
            case invalidPassword
            case invalidUserName
            case unsupportedForHashing
            case randomFailure
            case hashingFailed
            case fileUnreadable
            case fileWriteFailed
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A stored hash has a known prefix but the wrong shape (truncated, corrupted).
        public static let malformedHash = Code(.malformedHash)
        /// A stored hash starts with a prefix no supported format uses.
        public static let unknownFormat = Code(.unknownFormat)
        /// A stored "hash" is a plain-text password, which is refused.
        public static let plainText = Code(.plainText)
        /// A bcrypt cost or SHA-crypt round count outside the allowed range.
        public static let costOutOfRange = Code(.costOutOfRange)
        /// A password longer than the format can hash without truncating it.
        public static let passwordTooLong = Code(.passwordTooLong)
        /// A password that cannot be hashed (it contains a NUL byte).
        public static let invalidPassword = Code(.invalidPassword)
        /// A user name that cannot be stored in an htpasswd file.
        public static let invalidUserName = Code(.invalidUserName)
        /// A format that can be verified but is not offered for new passwords.
        public static let unsupportedForHashing = Code(.unsupportedForHashing)
        /// The system random number generator failed.
        public static let randomFailure = Code(.randomFailure)
        /// libcrypt refused to hash.
        public static let hashingFailed = Code(.hashingFailed)
        /// A file could not be opened or read.
        public static let fileUnreadable = Code(.fileUnreadable)
        /// A file could not be written or replaced.
        public static let fileWriteFailed = Code(.fileWriteFailed)

        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public let code: Code
    /// A sentence for a person; never contains a password.
    public let message: String

    init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
