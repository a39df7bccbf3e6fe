/// An error from the TLS layer: loading certificates, building a context,
/// or running a connection.
///
/// A struct over a private enum, so that new cases can be added without
/// breaking callers; compare against the static members of ``Code``.
public struct TLSError: Error, Hashable, CustomStringConvertible, Sendable {
    /// What kind of failure this is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Backing: String, Hashable, Sendable {
            case certificateUnreadable = "certificate unreadable"
            case privateKeyUnreadable = "private key unreadable"
            case privateKeyMismatch = "private key does not match certificate"
            case invalidConfiguration = "invalid TLS configuration"
            case openSSLFailure = "OpenSSL call failed"
            case handshakeFailed = "TLS handshake failed"
            case handshakeTimedOut = "TLS handshake timed out"
            case uncleanShutdown = "connection closed without TLS close_notify"
            case readFailed = "TLS read failed"
            case writeFailed = "TLS write failed"
            case certificateGenerationFailed = "certificate generation failed"
        }
        fileprivate let backing: Backing

        public static let certificateUnreadable = Code(backing: .certificateUnreadable)
        public static let privateKeyUnreadable = Code(backing: .privateKeyUnreadable)
        public static let privateKeyMismatch = Code(backing: .privateKeyMismatch)
        public static let invalidConfiguration = Code(backing: .invalidConfiguration)
        public static let openSSLFailure = Code(backing: .openSSLFailure)
        public static let handshakeFailed = Code(backing: .handshakeFailed)
        public static let handshakeTimedOut = Code(backing: .handshakeTimedOut)
        public static let uncleanShutdown = Code(backing: .uncleanShutdown)
        public static let readFailed = Code(backing: .readFailed)
        public static let writeFailed = Code(backing: .writeFailed)
        public static let certificateGenerationFailed = Code(backing: .certificateGenerationFailed)

        public var description: String { backing.rawValue }
    }

    /// The kind of failure.
    public let code: Code
    /// Human-readable detail: a file path, OpenSSL's error queue, and so on.
    public let reason: String

    public init(_ code: Code, _ reason: String = "") {
        self.code = code
        self.reason = reason
    }

    public var description: String {
        reason.isEmpty ? code.description : "\(code): \(reason)"
    }
}
