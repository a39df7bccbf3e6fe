/// What one `swift-htpasswd` invocation asks for, after parsing its arguments.
public struct HtpasswdOptions: Sendable, Hashable {
    /// The operation.
    public enum Action: Sendable, Hashable {
        /// Add or update a user in an existing file.
        case update
        /// Create (or overwrite) the file with just this user (`-c`).
        case create
        /// Print the record instead of writing a file (`-n`).
        case printOnly
        /// Delete the user (`-D`).
        case delete
        /// Check the user's password (`-v`).
        case verify
    }

    /// Where the password comes from.
    public enum PasswordSource: Sendable, Hashable {
        /// From the command line (`-b`).
        case argument([UInt8])
        /// From standard input, read once without confirmation (`-i`).
        case standardInput
        /// Prompted for without echo; twice when setting a password.
        case prompt
    }

    public var action: Action = .update
    /// The password file; nil with `-n`.
    public var passwordFile: String?
    public var user: String = ""
    public var passwordSource: PasswordSource = .prompt
    /// The hash format for new passwords; bcrypt unless a flag says otherwise.
    public var format: HashFormat = .bcrypt
    /// `-C`: the bcrypt cost.
    public var bcryptCost: Int?
    /// `-r`: the SHA-crypt rounds.
    public var rounds: Int?

    public init() {}

    /// The cost passed to ``PasswordHasher`` for ``format``.
    var hashingCost: Int? {
        switch format {
        case .bcrypt: bcryptCost
        case .sha256Crypt, .sha512Crypt: rounds
        default: nil
        }
    }

    /// Whether a `-C` or `-r` was given that the chosen format does not use.
    var hasIgnoredCost: Bool {
        switch format {
        case .bcrypt: rounds != nil
        case .sha256Crypt, .sha512Crypt: bcryptCost != nil
        default: bcryptCost != nil || rounds != nil
        }
    }
}
