import NIOHTTP1

/// Removes the header fields that describe one connection rather than the
/// message (RFC 9110 §7.6.1), so they are never passed from one side of the
/// proxy to the other.
///
/// Removed: `Connection` and every field it names, `Keep-Alive`, every
/// `Proxy-*` field (`Proxy-Connection`, `Proxy-Authorization`, ...), `TE`,
/// `Trailer`, `Transfer-Encoding` and `Upgrade`. Message framing is then set
/// again by the proxy itself for the next hop.
///
/// A `Connection` token never removes a field the proxy relies on or
/// vouches for (``protectedNames``): `Connection: content-length` must not
/// leave a body unframed, nor `Connection: host` a request without a host.
/// On requests this runs on the client's head before admission, so nothing
/// admission adds (the identity header, an upstream key) can be removed.
enum HopByHopHeaders {
    private static let fixedNames: [String] = [
        "connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade",
    ]

    /// Fields a `Connection` token is not allowed to name (the `x-forwarded-`
    /// prefix is checked apart).
    static let protectedNames: [String] = ["content-length", "transfer-encoding", "host", "x-request-id"]

    static func remove(from headers: inout HTTPHeaders) {
        var named: [String] = []
        for value in headers[canonicalForm: "connection"] where !isProtected(value) {
            named.append(value.lowercased())
        }
        // Collect first, then remove in place: most messages carry one such
        // field at most (`Connection`), and this avoids rebuilding the fields.
        var found: [String] = []
        for (name, _) in headers where isHopByHop(name, named: named) && !found.contains(name) {
            found.append(name)
        }
        for name in found {
            headers.remove(name: name)
        }
    }

    private static func isProtected(_ token: Substring) -> Bool {
        if HeaderName.hasPrefix(token, "x-forwarded-") { return true }
        return protectedNames.contains { HeaderName.equals(token, $0) }
    }

    private static func isHopByHop(_ name: String, named: [String]) -> Bool {
        if name.utf8.count >= 6, HeaderName.hasPrefix(name, "proxy-") { return true }
        for fixed in fixedNames where HeaderName.equals(name, fixed) { return true }
        for token in named where HeaderName.equals(name, token) { return true }
        return false
    }
}
