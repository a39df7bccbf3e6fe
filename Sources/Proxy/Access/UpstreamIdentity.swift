import NIOHTTP1

/// What an admitted request tells the upstream about who sent it: the
/// client's credentials and any identity it claimed removed, the identity
/// access control established and the upstream's own key added.
enum UpstreamIdentity {
    /// The head as it goes upstream.
    ///
    /// Without authentication configured, the client's credentials are not
    /// lmgate's to judge: they pass through to the upstream (unless the
    /// configuration gives the upstream key itself).
    static func head(_ head: HTTPRequestHead, identity: String?, configuration: AccessConfiguration) -> HTTPRequestHead {
        Self.head(
            head, identity: identity, requiresAuthentication: configuration.requiresAuthentication,
            identityHeader: configuration.identityHeader, upstreamAPIKey: configuration.upstreamAPIKey)
    }

    /// The head as it goes upstream under `policy`'s configuration. (Passing
    /// the configuration itself out of the policy copied it, retaining
    /// every one of its fields, on each request.)
    static func head(_ head: HTTPRequestHead, identity: String?, policy: AccessPolicy) -> HTTPRequestHead {
        Self.head(
            head, identity: identity, requiresAuthentication: policy.configuration.requiresAuthentication,
            identityHeader: policy.configuration.identityHeader, upstreamAPIKey: policy.configuration.upstreamAPIKey)
    }

    private static func head(
        _ head: HTTPRequestHead, identity: String?, requiresAuthentication: Bool, identityHeader: String,
        upstreamAPIKey: String?
    ) -> HTTPRequestHead {
        var head = head
        // When a field will be added, the fields of the shared head are
        // copied anyway: copied once, with room, here, instead of once by
        // removing the credentials and again by adding to a full array.
        if (identity != nil && !identityHeader.isEmpty) || upstreamAPIKey != nil {
            head.headers.reserveCapacity(head.headers.count + 2)
        }
        // Each field is removed only when present: NIO's `remove(name:)`
        // copies the fields of a shared head even when it removes nothing,
        // and the usual request carries none of them.
        if requiresAuthentication {
            for name in Self.credentialFields { Self.remove(name, from: &head.headers) }
        } else if upstreamAPIKey != nil {
            Self.remove("authorization", from: &head.headers)
        }
        if !identityHeader.isEmpty {
            Self.remove(identityHeader, from: &head.headers)
            // WSGI, CGI and PHP upstreams read `X_Authenticated_User` as the
            // same header (both become HTTP_X_AUTHENTICATED_USER): a client
            // must not be able to claim an identity that way either. (Looked
            // for first, so the usual request allocates nothing here.)
            if head.headers.contains(where: { Self.isSpelling($0.name, of: identityHeader) }) {
                let spoofed = head.headers.map(\.name).filter { Self.isSpelling($0, of: identityHeader) }
                for name in spoofed { head.headers.remove(name: name) }
            }
            if let identity, identity.utf8.allSatisfy({ $0 >= 0x20 && $0 != 0x7F }) {
                head.headers.add(name: identityHeader, value: identity)
            }
        }
        if let key = upstreamAPIKey {
            head.headers.add(name: "authorization", value: "Bearer \(key)")
        }
        return head
    }

    private static let credentialFields = ["authorization", "x-api-key", "proxy-authorization"]

    private static func remove(_ name: String, from headers: inout HTTPHeaders) {
        if headers.contains(name: name) { headers.remove(name: name) }
    }

    /// Whether `name` is `header` with any of its `-` written `_`, in any case.
    static func isSpelling(_ name: String, of header: String) -> Bool {
        guard name.utf8.count == header.utf8.count else { return false }
        return zip(name.utf8, header.utf8).allSatisfy { pair in
            func folded(_ byte: UInt8) -> UInt8 {
                byte == UInt8(ascii: "_") ? UInt8(ascii: "-") : HeaderName.lowercased(byte)
            }
            return folded(pair.0) == folded(pair.1)
        }
    }
}
