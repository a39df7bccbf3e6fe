/// The path of a request target as access rules see it, read so that no
/// spelling of a path slips past a rule for it.
///
/// ``normalized`` is the path without query or fragment, in origin form
/// (`http://gw/admin/x` is `/admin/x`), with percent-escapes of unreserved
/// characters decoded (`/%61dmin` is `/admin`), other escapes' hex digits in
/// upper case, `.`/`..` segments resolved and repeated slashes collapsed.
/// Upstreams differ in how much more they decode: some read `%2F` or `\` as
/// a slash, some decode twice (`%2561` → `%61` → `a`), Java servers drop
/// `;parameters` from segments, C servers stop at a NUL. ``lenient`` is the
/// path as such an upstream would route it, when that differs; a target that
/// cannot be read as a path at all (`*`, `example.com:443`, a broken escape,
/// a `#`, which no request target may hold) has neither. Rules then fail closed: a path needs admin scope if *any*
/// reading of it is under an admin path, and is public only if *every*
/// reading is under a public path (see ``isUnder(anyOf:)`` and
/// ``isEntirelyUnder(anyOf:)``).
///
/// Paths are case-sensitive, as in nginx's `location` and in the routers of
/// the OpenAI-compatible servers lmgate fronts: `/ADMIN/x` is not `/admin/x`
/// (and is not routed to it upstream).
struct RequestPath: Equatable {
    /// The normalized path; nil when the target is not a readable path.
    let normalized: Substring?
    /// How an upstream that decodes `%2F`, `%5C`, `\` and `%25`, drops
    /// `;parameters` and stops at `%00` would read the path, when that differs
    /// from ``normalized``.
    let lenient: Substring?

    /// Reads the path of a request target (origin or absolute form).
    init(target: String) {
        guard let path = Self.pathPart(of: target) else {
            (self.normalized, self.lenient) = (nil, nil)
            return
        }
        // The common case, a plain path, is recognised in one pass over its
        // bytes and costs no allocation.
        var previous: UInt8 = 0
        var plain = true
        for byte in path.utf8 {
            if (previous == UInt8(ascii: "/") && (byte == UInt8(ascii: "/") || byte == UInt8(ascii: ".")))
                || byte == UInt8(ascii: "%") || byte == UInt8(ascii: "\\") || byte == UInt8(ascii: ";")
            {
                plain = false
                break
            }
            previous = byte
        }
        if plain {
            (self.normalized, self.lenient) = (path, nil)
            return
        }
        guard let strict = Self.decoded(Array(path.utf8), lenient: false),
            var lenient = Self.decoded(Array(path.utf8), lenient: true)
        else {
            (self.normalized, self.lenient) = (nil, nil)
            return
        }
        // Once more, for an upstream that decodes twice.
        if lenient.contains(UInt8(ascii: "%")) { lenient = Self.decoded(lenient, lenient: true) ?? lenient }
        let normalized = Self.resolvingSegments(strict)
        let alternative = Self.resolvingSegments(lenient)
        self.normalized = normalized
        self.lenient = alternative == normalized ? nil : alternative
    }

    /// Whether any reading of the path is in `paths` (for rules that
    /// restrict: an unreadable path matches).
    func isUnder(anyOf paths: [String]) -> Bool {
        guard let normalized = self.normalized else { return true }
        return Self.matches(normalized, paths) || self.lenient.map { Self.matches($0, paths) } ?? false
    }

    /// Whether every reading of the path is in `paths` (for rules that
    /// exempt: an unreadable path matches nothing).
    func isEntirelyUnder(anyOf paths: [String]) -> Bool {
        guard let normalized = self.normalized else { return false }
        return Self.matches(normalized, paths) && (self.lenient.map { Self.matches($0, paths) } ?? true)
    }

    /// Whether `path` is in `paths`: equal to an entry, or under an entry
    /// that ends in `/` (`/admin/` covers `/admin` and `/admin/x`, not `/administrator`).
    ///
    /// Compared byte for byte, as upstreams route and nginx's `location`
    /// matches (and without the cost of comparing Characters on every
    /// request): `/admin/` followed by a combining mark is under `/admin/`
    /// here, as it is for the upstream, though as Characters it is not.
    static func matches(_ path: Substring, _ paths: [String]) -> Bool {
        let path = path.utf8
        return paths.contains { entry in
            let entry = entry.utf8
            guard entry.last == UInt8(ascii: "/") else { return path.elementsEqual(entry) }
            return path.starts(with: entry) || path.elementsEqual(entry.dropLast())
        }
    }

    /// The path of an origin-form (`/p?q`) or absolute-form
    /// (`http://host/p?q`) target, without query or fragment; nil for
    /// anything else.
    private static func pathPart(of target: String) -> Substring? {
        var rest = Substring(target)
        if let end = rest.firstIndex(where: { $0 == "?" || $0 == "#" }) {
            // A fragment is never sent; an upstream might take what follows `#` as more path.
            guard rest[end] == "?" else { return nil }
            rest = rest[..<end]
        }
        if rest.hasPrefix("/") { return rest }
        // Absolute form: a scheme, `://`, an authority, then the path (empty means `/`).
        guard let colon = rest.firstIndex(of: ":"),
            rest[..<colon].lowercased() == "http" || rest[..<colon].lowercased() == "https",
            rest[colon...].hasPrefix("://")
        else { return nil }
        let authority = rest[rest.index(colon, offsetBy: 3)...]
        guard let slash = authority.firstIndex(where: { $0 == "/" || $0 == "\\" }) else { return "/" }
        return authority[slash...]
    }

    /// `bytes` with percent-escapes decoded: only those of unreserved
    /// characters (the rest with upper-case hex), or, when `lenient`, all of
    /// them, `\` read as `/`, `;parameters` dropped up to the next `/` and
    /// everything from a NUL on dropped. Nil for a broken escape.
    private static func decoded(_ bytes: [UInt8], lenient: Bool) -> [UInt8]? {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\\") && lenient {
                output.append(UInt8(ascii: "/"))
                index += 1
                continue
            }
            if byte == UInt8(ascii: ";") && lenient {
                while index < bytes.count && bytes[index] != UInt8(ascii: "/") && bytes[index] != UInt8(ascii: "\\") { index += 1 }
                continue
            }
            guard byte == UInt8(ascii: "%") else {
                output.append(byte)
                index += 1
                continue
            }
            guard index + 2 < bytes.count, let high = URICharacters.hexValue(bytes[index + 1]), let low = URICharacters.hexValue(bytes[index + 2])
            else { return nil }
            let value = high << 4 | low
            if lenient {
                if value == 0 { break }
                output.append(value == UInt8(ascii: "\\") ? UInt8(ascii: "/") : value)
            } else if URICharacters.isUnreserved(value) {
                output.append(value)
            } else {
                output += [UInt8(ascii: "%"), URICharacters.hexDigit(high), URICharacters.hexDigit(low)]
            }
            index += 3
        }
        return output
    }

    /// The path with `.` and `..` segments resolved and empty segments dropped.
    private static func resolvingSegments(_ bytes: [UInt8]) -> Substring {
        var segments: [ArraySlice<UInt8>] = []
        for segment in bytes.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true) {
            if segment.elementsEqual([UInt8(ascii: ".")]) { continue }
            if segment.elementsEqual([UInt8(ascii: "."), UInt8(ascii: ".")]) {
                _ = segments.popLast()
                continue
            }
            segments.append(segment)
        }
        let trailing = bytes.last == UInt8(ascii: "/") && !segments.isEmpty
        let joined = segments.map { String(decoding: $0, as: UTF8.self) }.joined(separator: "/")
        return Substring("/" + joined + (trailing ? "/" : ""))
    }
}
