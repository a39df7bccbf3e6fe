import COpenSSL

// All of the TLS code's unsafe pointer work lives in this file.
//
// Why it is needed: OpenSSL calls back into us (to pick a certificate by SNI,
// to pick an ALPN protocol) through plain C function pointers. A Swift closure
// passed as a C function pointer may capture nothing, so the callback needs
// another way back to the Swift object that holds the configuration. OpenSSL
// gives each `SSL_CTX` "ex_data" slots for exactly this: we store an
// *unretained* pointer to the owning ``TLSContext`` in one slot of every
// `SSL_CTX` it builds, and the callbacks read it back from the `SSL*` they are
// handed.
//
// Why unretained is safe: a ``TLSContext`` owns its `SSL_CTX`s and frees them
// in `deinit`; every `SSL*` is owned by a ``TLSConnection`` that holds a strong
// reference to its ``TLSContext`` and frees the `SSL*` in its own `deinit`,
// before that reference is released. So whenever OpenSSL can call us with an
// `SSL*`, the ``TLSContext`` its `SSL_CTX` points to is alive. A retained
// pointer would instead form a cycle (context → SSL_CTX → context).
//
// The ALPN callback must also return a pointer to the chosen protocol name:
// we point into the client's own list, which OpenSSL keeps alive for the
// duration of the callback and copies from before it returns.

/// The ex_data slot, allocated once per process, that holds the owning
/// ``TLSContext`` of each `SSL_CTX`.
private let contextSlot: Int32 = lmgate_SSL_CTX_get_ex_new_index()

enum OpenSSLPointerTricks {
    /// Records `owner` in `sslContext`'s ex_data slot (unretained; see above).
    static func attach(owner: TLSContext, to sslContext: OpaquePointer) {
        SSL_CTX_set_ex_data(sslContext, contextSlot, Unmanaged.passUnretained(owner).toOpaque())
    }

    /// The ``TLSContext`` that built the `SSL_CTX` currently used by `ssl`.
    static func owner(of ssl: OpaquePointer) -> TLSContext? {
        guard let sslContext = SSL_get_SSL_CTX(ssl),
              let raw = SSL_CTX_get_ex_data(sslContext, contextSlot)
        else { return nil }
        return Unmanaged<TLSContext>.fromOpaque(raw).takeUnretainedValue()
    }

    /// Installs the SNI and ALPN callbacks on a server `SSL_CTX`.
    static func installServerCallbacks(on sslContext: OpaquePointer) {
        _ = lmgate_SSL_CTX_set_tlsext_servername_callback(sslContext, serverNameCallback)
        SSL_CTX_set_alpn_select_cb(sslContext, alpnSelectCallback, nil)
    }

    /// Called by OpenSSL once the ClientHello's server_name is known: switches
    /// the connection to the `SSL_CTX` whose certificate covers that name.
    private static let serverNameCallback: @convention(c) (OpaquePointer?, UnsafeMutablePointer<Int32>?, UnsafeMutableRawPointer?) -> Int32 = { ssl, _, _ in
        guard let ssl, let owner = owner(of: ssl) else { return SSL_TLSEXT_ERR_NOACK }
        guard let rawName = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name) else {
            // No SNI (an IP-address URL, or an old client): the default certificate serves.
            return SSL_TLSEXT_ERR_OK
        }
        let name = String(cString: rawName)
        if let chosen = owner.sslContext(forServerName: name), chosen != SSL_get_SSL_CTX(ssl) {
            guard SSL_set_SSL_CTX(ssl, chosen) != nil else { return SSL_TLSEXT_ERR_ALERT_FATAL }
        }
        return SSL_TLSEXT_ERR_OK
    }

    /// Called by OpenSSL with the client's ALPN list (length-prefixed names).
    private static let alpnSelectCallback: @convention(c) (
        OpaquePointer?, UnsafeMutablePointer<UnsafePointer<UInt8>?>?, UnsafeMutablePointer<UInt8>?,
        UnsafePointer<UInt8>?, UInt32, UnsafeMutableRawPointer?
    ) -> Int32 = { ssl, out, outLength, clientList, clientListLength, _ in
        guard let ssl, let out, let outLength, let clientList, let owner = owner(of: ssl) else {
            return SSL_TLSEXT_ERR_NOACK
        }
        let offered = UnsafeBufferPointer(start: clientList, count: Int(clientListLength))
        guard let chosen = ALPNSelection.choose(serverPreference: owner.alpnProtocols, clientWireList: offered) else {
            // Like nginx: no common protocol means no ALPN, not a failed handshake.
            return SSL_TLSEXT_ERR_NOACK
        }
        out.pointee = clientList + chosen.lowerBound
        outLength.pointee = UInt8(chosen.count)
        return SSL_TLSEXT_ERR_OK
    }
}
