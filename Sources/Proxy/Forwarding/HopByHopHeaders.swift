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
    private static let fixedNames: [String] = [
        "connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade",
    ]

    static func remove(from headers: inout HTTPHeaders) {
        var named: [String] = []
        for value in headers[canonicalForm: "connection"] {
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

    private static func isHopByHop(_ name: String, named: [String]) -> Bool {
        if name.utf8.count >= 6, hasPrefixIgnoringCase(name, "proxy-") { return true }
        for fixed in fixedNames where equalsIgnoringCase(name, fixed) { return true }
        for token in named where equalsIgnoringCase(name, token) { return true }
        return false
    }

    /// ASCII case-insensitive equality; `lowercase` must already be lower case.
    private static func equalsIgnoringCase(_ name: String, _ lowercase: String) -> Bool {
        name.utf8.count == lowercase.utf8.count && hasPrefixIgnoringCase(name, lowercase)
    }

    private static func hasPrefixIgnoringCase(_ name: String, _ lowercase: String) -> Bool {
        var nameBytes = name.utf8.makeIterator()
        for expected in lowercase.utf8 {
            guard let byte = nameBytes.next() else { return false }
            let folded = (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 : byte
            if folded != expected { return false }
        }
        return true
    }
}
