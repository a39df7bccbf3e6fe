import COpenSSL
import NIOCore

/// The outcome of one non-blocking step of OpenSSL (handshake, write, shutdown).
enum TLSStepOutcome: Equatable {
    /// The step finished.
    case complete
    /// OpenSSL needs more bytes from the peer before it can go on.
    case needsPeerData
    /// The step failed; the connection cannot continue.
    case failed(TLSError)
}

/// The outcome of one attempt to decrypt application data.
enum TLSReadOutcome {
    /// Decrypted bytes.
    case data(ByteBuffer)
    /// Nothing more can be decrypted until more bytes arrive.
    case needsPeerData
    /// The peer sent close_notify: it will send nothing more.
    case closeNotify
    /// Decryption failed (bad record, protocol error).
    case failed(TLSError)
}

/// One TLS connection: owns an OpenSSL `SSL*` and its two memory BIOs.
///
/// Ciphertext never touches a socket here. Bytes from the network are handed
/// to ``receiveFromNetwork(_:)``; ciphertext OpenSSL produced is taken with
/// ``takeCiphertext(allocator:)``. ``TLSHandler`` moves the bytes between
/// these and the channel. Not thread-safe: used on one event loop only.
final class TLSConnection {
    /// Kept alive as long as `ssl`: OpenSSL's callbacks reach it through the `SSL_CTX`.
    let context: TLSContext
    private let ssl: OpaquePointer
    /// Network → OpenSSL. Owned by `ssl`.
    private let inbound: OpaquePointer
    /// OpenSSL → network. Owned by `ssl`.
    private let outbound: OpaquePointer

    /// Largest plaintext in one TLS record; the unit we decrypt into.
    private static let maximumRecordSize = 16 * 1024

    /// - Parameter serverName: for client connections, the name sent as SNI.
    init(context: TLSContext, serverName: String? = nil) throws {
        OpenSSLErrorQueue.clear()
        guard let ssl = SSL_new(context.defaultSSLContext) else {
            throw OpenSSLErrorQueue.error(.openSSLFailure, "SSL_new")
        }
        guard let inbound = BIO_new(BIO_s_mem()), let outbound = BIO_new(BIO_s_mem()) else {
            SSL_free(ssl)
            throw OpenSSLErrorQueue.error(.openSSLFailure, "BIO_new")
        }
        // Takes ownership of both BIOs.
        SSL_set_bio(ssl, inbound, outbound)
        switch context.role {
        case .server:
            SSL_set_accept_state(ssl)
        case .client:
            SSL_set_connect_state(ssl)
            if let serverName, lmgate_SSL_set_tlsext_host_name(ssl, serverName) != 1 {
                SSL_free(ssl)
                throw OpenSSLErrorQueue.error(.invalidConfiguration, "server name \(serverName)")
            }
        }
        self.context = context
        self.ssl = ssl
        self.inbound = inbound
        self.outbound = outbound
    }

    deinit {
        SSL_free(ssl)
    }

    /// Hands ciphertext from the peer to OpenSSL.
    func receiveFromNetwork(_ buffer: ByteBuffer) {
        buffer.withUnsafeReadableBytes { bytes in
            guard let base = bytes.baseAddress, bytes.count > 0 else { return }
            // A memory BIO grows as needed, so a write takes all the bytes.
            _ = BIO_write(inbound, base, Int32(bytes.count))
        }
    }

    /// Everything OpenSSL has written for the peer since the last call, or
    /// `nil` if there is nothing.
    ///
    /// The buffer is reused from the previous call when the channel has
    /// written that one (then nothing else refers to its memory, and
    /// `clear` keeps it; while a write is still queued, `clear` gives this
    /// one fresh memory and the queued bytes stay intact), so a keep-alive
    /// connection's responses cost no allocation here.
    func takeCiphertext(allocator: ByteBufferAllocator) -> ByteBuffer? {
        let pending = Int(BIO_ctrl_pending(outbound))
        guard pending > 0 else { return nil }
        var buffer = self.keptCiphertext.take() ?? allocator.buffer(capacity: pending)
        buffer.clear(minimumCapacity: pending)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: pending) { bytes in
            Int(max(0, BIO_read(outbound, bytes.baseAddress, Int32(pending))))
        }
        if buffer.capacity <= Self.keptBufferLimit { self.keptCiphertext = buffer }
        return buffer
    }

    /// The largest buffer a connection keeps between writes for reuse
    /// (here and in ``TLSHandler``): small responses reuse theirs, large
    /// ones allocate as before, and an idle connection holds at most this
    /// much twice.
    static let keptBufferLimit = 4096
    private var keptCiphertext: ByteBuffer?

    /// Runs the handshake as far as the bytes received so far allow.
    func handshake() -> TLSStepOutcome {
        OpenSSLErrorQueue.clear()
        let result = SSL_do_handshake(ssl)
        return result == 1 ? .complete : classify(result, as: .handshakeFailed)
    }

    /// Decrypts at most one record's worth of application data.
    func read(allocator: ByteBufferAllocator) -> TLSReadOutcome {
        // Plaintext is never longer than the ciphertext it came from, so this
        // bounds the buffer for small messages and skips the call (and the
        // allocation) when nothing can be decrypted.
        let available = Int(BIO_ctrl_pending(inbound)) + Int(SSL_pending(ssl))
        guard available > 0 else { return .needsPeerData }
        let capacity = min(Self.maximumRecordSize, available)
        OpenSSLErrorQueue.clear()
        var buffer = allocator.buffer(capacity: capacity)
        var result: Int32 = 0
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: capacity) { bytes in
            result = SSL_read(ssl, bytes.baseAddress, Int32(bytes.count))
            return Int(max(0, result))
        }
        if result > 0 { return .data(buffer) }
        if SSL_get_error(ssl, result) == SSL_ERROR_ZERO_RETURN { return .closeNotify }
        switch classify(result, as: .readFailed) {
        case .needsPeerData, .complete: return .needsPeerData
        case .failed(let error): return .failed(error)
        }
    }

    /// Encrypts all of `buffer`. With memory BIOs a write is never partial:
    /// it either takes every byte or, when OpenSSL first needs bytes from the
    /// peer (a TLS 1.3 key update, say), none.
    func write(_ buffer: ByteBuffer) -> TLSStepOutcome {
        guard buffer.readableBytes > 0 else { return .complete }  // SSL_write rejects empty writes.
        OpenSSLErrorQueue.clear()
        let result = buffer.withUnsafeReadableBytes { bytes in
            SSL_write(ssl, bytes.baseAddress, Int32(bytes.count))
        }
        return result > 0 ? .complete : classify(result, as: .writeFailed)
    }

    /// Queues our close_notify. We do not wait for the peer's (RFC 8446 §6.1
    /// allows closing without it), so one call is the whole shutdown.
    func sendCloseNotify() {
        OpenSSLErrorQueue.clear()
        _ = SSL_shutdown(ssl)
        OpenSSLErrorQueue.clear()
    }

    /// The ALPN protocol agreed, if any.
    var negotiatedProtocol: String? {
        var name: UnsafePointer<UInt8>?
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &name, &length)
        guard let name, length > 0 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: name, count: Int(length)), as: UTF8.self)
    }

    /// The server name the client sent (SNI), if any.
    var serverName: String? {
        SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name).map { String(cString: $0) }
    }

    /// "TLSv1.2" or "TLSv1.3".
    var protocolVersion: String { String(cString: SSL_get_version(ssl)) }

    /// The cipher suite's OpenSSL name.
    var cipherSuite: String {
        SSL_get_current_cipher(ssl).flatMap { SSL_CIPHER_get_name($0) }.map { String(cString: $0) } ?? ""
    }

    /// SHA-256 fingerprint of the certificate the peer presented (client side).
    var peerCertificateFingerprint: String? {
        guard let certificate = SSL_get1_peer_certificate(ssl) else { return nil }
        defer { X509_free(certificate) }
        return CertificateFingerprint.sha256(of: certificate)
    }

    private func classify(_ result: Int32, as failure: TLSError.Code) -> TLSStepOutcome {
        switch SSL_get_error(ssl, result) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
            return .needsPeerData
        case SSL_ERROR_SYSCALL where ERR_peek_error() == 0:
            return .failed(TLSError(failure, "unexpected end of stream"))
        default:
            return .failed(TLSError(failure, OpenSSLErrorQueue.drain()))
        }
    }
}
