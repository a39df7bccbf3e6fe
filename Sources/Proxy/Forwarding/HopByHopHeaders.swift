import NIOHTTP1

/// Removes the header fields that describe one connection rather than the
/// message (RFC 9110 §7.6.1), so they are never passed from one side of the
/// proxy to the other.
///
/// Removed: `Connection` and every field it names, `Keep-Alive`, every
/// `Proxy-*` field (`Proxy-Connection`, `Proxy-Authorization`, ...), `TE`,
/// `Trailer`, `Transfer-Encoding` and `Upgrade`. Message framing is then set
/// again by the proxy itself for the next hop.
enum HopByHopHeaders {
    private static let fixedNames: Set<String> = [
        "connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade",
    ]

    static func remove(from headers: inout HTTPHeaders) {
        var named = Set<String>()
        for value in headers[canonicalForm: "connection"] {
            named.insert(value.lowercased())
        }
        // Fast path: most messages carry none of these fields.
        var found = !named.isEmpty
        if !found {
            for (name, _) in headers where isHopByHop(name.lowercased(), named: named) {
                found = true
                break
            }
        }
        guard found else { return }
        var kept = HTTPHeaders()
        kept.reserveCapacity(headers.count)
        for (name, value) in headers where !isHopByHop(name.lowercased(), named: named) {
            kept.add(name: name, value: value)
        }
        headers = kept
    }

    private static func isHopByHop(_ lowercasedName: String, named: Set<String>) -> Bool {
        fixedNames.contains(lowercasedName) || lowercasedName.hasPrefix("proxy-") || named.contains(lowercasedName)
    }
}
