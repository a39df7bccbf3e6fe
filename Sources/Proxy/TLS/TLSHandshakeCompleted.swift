/// Fired inbound (as a user event) by ``TLSHandler`` when the handshake
/// completes, before any application data is passed on.
public struct TLSHandshakeCompleted: Sendable, Hashable {
    /// The ALPN protocol agreed with the client (`"http/1.1"`), if any.
    public let negotiatedProtocol: String?
    /// The server name the client asked for (SNI), if it sent one.
    public let serverName: String?
    /// `"TLSv1.2"` or `"TLSv1.3"`.
    public let protocolVersion: String
    /// OpenSSL's name of the agreed cipher suite.
    public let cipherSuite: String
    /// SHA-256 fingerprint of the certificate the peer presented, if it
    /// presented one (in client mode: the server's certificate).
    public let peerCertificateSHA256: String?
}
