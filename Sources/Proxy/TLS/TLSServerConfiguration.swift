/// A certificate chain and its private key, as PEM files on disk.
public struct TLSCertificateFiles: Sendable, Hashable {
    /// PEM file with the leaf certificate first, then any intermediates.
    public var certificateChainPath: String
    /// PEM file with the leaf certificate's private key (unencrypted).
    public var privateKeyPath: String

    public init(certificateChainPath: String, privateKeyPath: String) {
        self.certificateChainPath = certificateChainPath
        self.privateKeyPath = privateKeyPath
    }
}

/// What a server ``TLSContext`` is built from.
///
/// Protocol versions (TLS 1.2 and 1.3), cipher suites (Mozilla
/// "intermediate" for TLS 1.2, OpenSSL's defaults for TLS 1.3) and the
/// disabling of compression and renegotiation are fixed, not configurable:
/// they are the safe choice and there is nothing to gain by weakening them.
public struct TLSServerConfiguration: Sendable, Hashable {
    /// The certificates to serve. The first is the default; when the client
    /// sends a server name (SNI), the first certificate whose subjectAltName
    /// (or, failing that, common name) matches it is served instead.
    public var certificates: [TLSCertificateFiles]
    /// ALPN protocols in order of preference.
    public var alpnProtocols: [String]

    public init(certificates: [TLSCertificateFiles], alpnProtocols: [String] = ["http/1.1"]) {
        self.certificates = certificates
        self.alpnProtocols = alpnProtocols
    }

    /// Mozilla's "intermediate" TLS 1.2 suites (ECDHE with AES-GCM and
    /// ChaCha20-Poly1305), without the DHE ones that need configured DH parameters.
    static let tls12CipherList = [
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    ].joined(separator: ":")

    /// Key-exchange groups, as in Mozilla's "intermediate" profile.
    static let groups = "X25519:P-256:P-384"
}
