import COpenSSL

/// An immutable, shareable TLS configuration: one or more OpenSSL `SSL_CTX`
/// objects, fully set up, from which each connection's ``TLSConnection`` is made.
///
/// A context never changes after `init`; to serve a new certificate, build a
/// new context (see ``TLSCertificateStore``). Connections keep the context
/// they were created with, so swapping contexts never disturbs open ones.
public final class TLSContext: @unchecked Sendable {
    // @unchecked: the only stored state is immutable after `init`, and OpenSSL
    // allows concurrent `SSL_new` on a configured `SSL_CTX` from many threads.

    enum Role { case server, client }

    let role: Role
    /// ALPN protocols in order of preference.
    let alpnProtocols: [String]
    /// The `SSL_CTX` of each configured certificate, in configuration order;
    /// the first is the default one every connection starts with.
    private let sslContexts: [OpaquePointer]
    /// SHA-256 fingerprints (colon-separated hex) of each configured leaf
    /// certificate, in configuration order.
    public let certificateFingerprints: [String]

    /// Builds a server context: loads and checks every certificate and key.
    ///
    /// - Throws: ``TLSError`` naming the file and OpenSSL's reason when a file
    ///   is missing or unreadable, is not PEM, or the key does not match.
    public init(server configuration: TLSServerConfiguration) throws {
        guard !configuration.certificates.isEmpty else {
            throw TLSError(.invalidConfiguration, "at least one certificate is required")
        }
        var built: [OpaquePointer] = []
        var fingerprints: [String] = []
        do {
            for files in configuration.certificates {
                let sslContext = try Self.makeServerSSLContext(files)
                built.append(sslContext)
                fingerprints.append(CertificateFingerprint.sha256(of: SSL_CTX_get0_certificate(sslContext)))
            }
        } catch {
            built.forEach { SSL_CTX_free($0) }
            throw error
        }
        self.role = .server
        self.alpnProtocols = configuration.alpnProtocols
        self.sslContexts = built
        self.certificateFingerprints = fingerprints
        for sslContext in built {
            OpenSSLPointerTricks.attach(owner: self, to: sslContext)
        }
    }

    /// Builds a client context, used by tests and by anything that dials TLS.
    ///
    /// - Parameters:
    ///   - trustRootsPath: PEM file of trusted certificates; when given, the
    ///     server's certificate must chain to one of them. When `nil` the
    ///     server's certificate is not verified.
    ///   - alpnProtocols: protocols to offer.
    public init(clientTrustingRootsAt trustRootsPath: String?, alpnProtocols: [String] = ["http/1.1"]) throws {
        OpenSSLErrorQueue.clear()
        guard let sslContext = SSL_CTX_new(TLS_client_method()) else {
            throw OpenSSLErrorQueue.error(.openSSLFailure, "SSL_CTX_new")
        }
        do {
            try Self.applyProtocolPolicy(sslContext)
            if let trustRootsPath {
                guard SSL_CTX_load_verify_locations(sslContext, trustRootsPath, nil) == 1 else {
                    throw OpenSSLErrorQueue.error(.certificateUnreadable, trustRootsPath)
                }
                SSL_CTX_set_verify(sslContext, SSL_VERIFY_PEER, nil)
            }
            let wire = ALPNSelection.wireFormat(alpnProtocols)
            if !wire.isEmpty {
                // Unusually, this function returns 0 on success.
                guard SSL_CTX_set_alpn_protos(sslContext, wire, UInt32(wire.count)) == 0 else {
                    throw OpenSSLErrorQueue.error(.invalidConfiguration, "ALPN protocols")
                }
            }
        } catch {
            SSL_CTX_free(sslContext)
            throw error
        }
        self.role = .client
        self.alpnProtocols = alpnProtocols
        self.sslContexts = [sslContext]
        self.certificateFingerprints = []
        OpenSSLPointerTricks.attach(owner: self, to: sslContext)
    }

    deinit {
        sslContexts.forEach { SSL_CTX_free($0) }
    }

    /// The `SSL_CTX` every new connection starts from.
    var defaultSSLContext: OpaquePointer { sslContexts[0] }

    /// The `SSL_CTX` whose leaf certificate covers `serverName`, if any.
    func sslContext(forServerName serverName: String) -> OpaquePointer? {
        sslContexts.first { sslContext in
            guard let leaf = SSL_CTX_get0_certificate(sslContext) else { return false }
            return X509_check_host(leaf, serverName, serverName.utf8.count, 0, nil) == 1
        }
    }

    private static func applyProtocolPolicy(_ sslContext: OpaquePointer) throws {
        guard lmgate_SSL_CTX_set_min_proto_version(sslContext, TLS1_2_VERSION) == 1,
              lmgate_SSL_CTX_set_max_proto_version(sslContext, TLS1_3_VERSION) == 1
        else { throw OpenSSLErrorQueue.error(.openSSLFailure, "setting protocol versions") }
        _ = lmgate_SSL_CTX_set_options(
            sslContext, Int(bitPattern: UInt(lmgate_SSL_OP_NO_COMPRESSION() | lmgate_SSL_OP_NO_RENEGOTIATION())))
        guard SSL_CTX_set_cipher_list(sslContext, TLSServerConfiguration.tls12CipherList) == 1,
              lmgate_SSL_CTX_set1_groups_list(sslContext, TLSServerConfiguration.groups) == 1
        else { throw OpenSSLErrorQueue.error(.openSSLFailure, "setting cipher suites") }
        // Idle connections hold no read/write buffers (as nginx does). A write
        // OpenSSL refused is retried from a freshly joined buffer, at a new address.
        _ = lmgate_SSL_CTX_set_mode(sslContext, Int(SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER))
    }

    private static func makeServerSSLContext(_ files: TLSCertificateFiles) throws -> OpaquePointer {
        OpenSSLErrorQueue.clear()
        guard let sslContext = SSL_CTX_new(TLS_server_method()) else {
            throw OpenSSLErrorQueue.error(.openSSLFailure, "SSL_CTX_new")
        }
        do {
            try applyProtocolPolicy(sslContext)
            let sessionContext = Array("lmgate".utf8)
            _ = SSL_CTX_set_session_id_context(sslContext, sessionContext, UInt32(sessionContext.count))
            guard SSL_CTX_use_certificate_chain_file(sslContext, files.certificateChainPath) == 1 else {
                throw OpenSSLErrorQueue.error(.certificateUnreadable, files.certificateChainPath)
            }
            // The key is parsed on its own first so that an unreadable key and a
            // key that belongs to another certificate give different errors.
            let key = try PrivateKeyFile.load(files.privateKeyPath)
            defer { EVP_PKEY_free(key) }
            guard SSL_CTX_use_PrivateKey(sslContext, key) == 1, SSL_CTX_check_private_key(sslContext) == 1 else {
                throw OpenSSLErrorQueue.error(
                    .privateKeyMismatch, "\(files.privateKeyPath) does not belong to \(files.certificateChainPath)")
            }
            OpenSSLPointerTricks.installServerCallbacks(on: sslContext)
        } catch {
            SSL_CTX_free(sslContext)
            throw error
        }
        return sslContext
    }
}
