/// A problem found while reading an htpasswd file, with the line it is on.
public struct HtpasswdDiagnostic: Sendable, Hashable, CustomStringConvertible {
    /// What was wrong with the line.
    public enum Kind: Sendable, Hashable {
        /// Not a comment, blank or `user:hash` line; skipped.
        case malformedLine
        /// A user already defined on an earlier line; the earlier line wins, as in Apache and nginx.
        case duplicateUser
        /// The hash cannot be verified (corrupted, unknown format, plain text); the user cannot log in.
        case unusableHash
    }

    /// The 1-based line number.
    public let lineNumber: Int
    public let kind: Kind
    /// A sentence for a person; never contains a hash or a password.
    public let message: String

    public var description: String { "line \(lineNumber): \(message)" }
}
