import Foundation

/// The path of a request target as access rules see it.
enum RequestPath {
    /// The path without query or fragment, with `.`/`..` segments resolved
    /// (also when percent-encoded as `%2e`) and repeated slashes collapsed,
    /// so that `/v1/../admin/x` or `//admin/x` cannot slip past a rule for
    /// `/admin/` that an upstream would then normalise to.
    static func normalized(_ target: String) -> Substring {
        var path = Substring(target)
        if let end = path.firstIndex(where: { $0 == "?" || $0 == "#" }) { path = path[..<end] }
        // The common case, a plain path, is recognised in one pass over its bytes.
        var previous: UInt8 = 0
        var needsWork = false
        for byte in path.utf8 {
            if (previous == UInt8(ascii: "/") && (byte == UInt8(ascii: "/") || byte == UInt8(ascii: ".")))
                || byte == UInt8(ascii: "%")
            {
                needsWork = true
                break
            }
            previous = byte
        }
        guard needsWork else { return path }
        var segments: [Substring] = []
        for segment in path.split(separator: "/", omittingEmptySubsequences: true) {
            let decoded = segment.lowercased().replacingOccurrences(of: "%2e", with: ".")
            if decoded == "." { continue }
            if decoded == ".." {
                _ = segments.popLast()
                continue
            }
            segments.append(segment)
        }
        let trailing = path.hasSuffix("/") && !segments.isEmpty ? "/" : ""
        return Substring("/" + segments.joined(separator: "/") + trailing)
    }
}
