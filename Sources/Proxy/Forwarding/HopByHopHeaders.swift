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
        // Connection tokens that name a field beyond the fixed ones. The usual
        // `Connection: keep-alive` or `close` names none, so nothing is
        // allocated for it (this runs on every request and response head).
        var named: [Substring] = []
        for (name, value) in headers where HeaderName.equals(name, "connection") {
            self.forEachToken(of: value) { token in
                if !self.isProtected(token) && !self.isFixed(token) { named.append(token) }
            }
        }
        // Removed in place, one name at a time (`remove(name:)` takes every
        // spelling of it): most messages carry one such field at most
        // (`Connection`), so this neither rebuilds the fields nor allocates
        // a list of names on every head.
        while let found = headers.first(where: { isHopByHop($0.name, named: named) }) {
            headers.remove(name: found.name)
        }
    }

    /// Calls `body` with each comma-separated token of a field value, with
    /// surrounding spaces and tabs trimmed (empty tokens skipped).
    private static func forEachToken(of value: String, _ body: (Substring) -> Void) {
        var rest = Substring(value)
        while !rest.isEmpty {
            let end = rest.utf8.firstIndex(of: UInt8(ascii: ",")) ?? rest.endIndex
            let token = rest[..<end].drop { $0 == " " || $0 == "\t" }
            let trimmed = token[..<(token.lastIndex { $0 != " " && $0 != "\t" }.map(token.index(after:)) ?? token.startIndex)]
            if !trimmed.isEmpty { body(trimmed) }
            rest = end == rest.endIndex ? rest[end...] : rest[rest.index(after: end)...]
        }
    }

    private static func isFixed(_ token: Substring) -> Bool {
        self.fixedNames.contains { HeaderName.equals(token, $0) }
    }

    private static func isProtected(_ token: Substring) -> Bool {
        if HeaderName.hasPrefix(token, "x-forwarded-") { return true }
        return protectedNames.contains { HeaderName.equals(token, $0) }
    }

    /// Bit `n` set when a fixed name is `n` bytes long (all are under 64).
    private static let fixedNameLengths: UInt64 = fixedNames.reduce(0) { $0 | 1 << UInt64($1.utf8.count) }

    /// Runs on every field of every request and response: most names are
    /// ruled out by their length and first byte before any comparison.
    private static func isHopByHop(_ name: String, named: [Substring]) -> Bool {
        let length = name.utf8.count
        if length >= 6, name.utf8.first.map({ $0 | 0x20 }) == UInt8(ascii: "p"), HeaderName.hasPrefix(name, "proxy-") {
            return true
        }
        if length < 64 && self.fixedNameLengths & (1 << UInt64(length)) != 0 {
            for fixed in fixedNames where HeaderName.equals(name, fixed) { return true }
        }
        for token in named where HeaderName.equalsIgnoringCase(name, token) { return true }
        return false
    }
}
