/// One `user:hash` line of an htpasswd file.
public struct HtpasswdEntry: Sendable, Hashable {
    /// The user name, before the first `:`.
    public let user: String
    /// The hash text as stored, between the first and any second `:`.
    public let storedHash: String
    /// The recognised hash, or why it cannot be used.
    public let hash: Result<PasswordHash, HtpasswdError>
    /// The 1-based line number in the file it was read from; nil for entries added since.
    public let lineNumber: Int?
}
