import NIOHTTP1

/// Turns a client's request target into the one policy checks and the
/// upstream receives, or refuses it as ambiguous.
///
/// Two readers of one target must not see two paths: if the proxy checked
/// `/%61dmin/x` against a rule for `/admin/` and the upstream decoded it, the
/// rule would be bypassed. So the proxy decides what the path is and forwards
/// exactly that:
/// - absolute-form (`http://gw/admin/x?q`) is reduced to its path and query
///   (RFC 9112 §3.2.2; the authority is not used);
/// - percent-encoded unreserved characters (ALPHA, DIGIT, `-` `.` `_` `~`)
///   in the path are decoded (`/%61dmin` → `/admin`), other escapes are kept
///   as sent;
/// - dot segments (also `%2e`) are resolved and repeated slashes collapsed,
///   as nginx does for `location` matching with `merge_slashes on`.
///
/// Refused (400): an encoded `/` (`%2F`), a raw or encoded NUL, backslash or
/// other control character, invalid percent-encoding, a fragment, a `..`
/// that climbs above the root (nginx refuses it too), and any target not
/// starting with `/` other than the absolute-form (the asterisk-form
/// `OPTIONS *` included). The query is kept as sent once it is checked to
/// hold no control characters or spaces.
///
/// The common target (a plain path) is checked in one pass over its bytes
/// and returned as it is, without allocating.
enum RequestTarget {
    /// Why a target was refused; the message goes into the 400 response.
    struct Violation: Error, Equatable {
        let message: String
    }

    /// The normalized target, or why `target` is refused.
    static func normalized(_ target: String) -> Result<String, Violation> {
        var utf8 = Substring(target).utf8
        guard let first = utf8.first else { return .failure(Violation(message: "the request target is empty")) }
        var isAbsoluteForm = false
        if first != UInt8(ascii: "/") {
            guard let pathStart = Self.pathStartOfAbsoluteForm(utf8) else {
                return .failure(Violation(message: "the request target must be a path starting with '/'"))
            }
            utf8 = utf8[pathStart...]
            isAbsoluteForm = true
        }
        switch Self.scan(utf8) {
        case .failure(let violation):
            return .failure(violation)
        case .success(let needsRewriting):
            if !needsRewriting && !isAbsoluteForm { return .success(target) }
            return Self.rewrite(utf8)
        }
    }

    // MARK: Absolute-form

    /// Where the path (or query) of an `http://` or `https://` target
    /// starts, `endIndex` if it has neither; `nil` if it is not absolute-form.
    private static func pathStartOfAbsoluteForm(_ utf8: Substring.UTF8View) -> Substring.UTF8View.Index? {
        var index = utf8.startIndex
        for expected in "http".utf8 {
            guard index < utf8.endIndex, HeaderName.lowercased(utf8[index]) == expected else { return nil }
            index = utf8.index(after: index)
        }
        if index < utf8.endIndex, HeaderName.lowercased(utf8[index]) == UInt8(ascii: "s") { index = utf8.index(after: index) }
        for expected in "://".utf8 {
            guard index < utf8.endIndex, utf8[index] == expected else { return nil }
            index = utf8.index(after: index)
        }
        let authorityStart = index
        while index < utf8.endIndex, utf8[index] != UInt8(ascii: "/"), utf8[index] != UInt8(ascii: "?") {
            index = utf8.index(after: index)
        }
        return index > authorityStart ? index : nil
    }

    // MARK: Checking

    /// Checks every byte; `true` if the path needs rewriting (an escape to
    /// decode, a dot segment, a repeated slash, or no path at all).
    private static func scan(_ utf8: Substring.UTF8View) -> Result<Bool, Violation> {
        var needsRewriting = utf8.first != UInt8(ascii: "/")
        var inQuery = false
        // Bytes of the current path segment seen so far, as far as they are
        // dots: 1 or 2 while the segment is "." or "..", -1 once it is anything else.
        var dots = 0
        var index = utf8.startIndex
        while index < utf8.endIndex {
            let byte = utf8[index]
            if byte <= 0x20 || byte == 0x7F {
                return .failure(Violation(message: "the request target must not contain control characters or spaces"))
            }
            if byte == UInt8(ascii: "#") {
                return .failure(Violation(message: "the request target must not contain a fragment"))
            }
            if inQuery {
                index = utf8.index(after: index)
                continue
            }
            switch byte {
            case UInt8(ascii: "?"):
                if dots > 0 { needsRewriting = true }
                inQuery = true
            case UInt8(ascii: "\\"):
                return .failure(Violation(message: "the request path must not contain a backslash"))
            case UInt8(ascii: "/"):
                if dots != -1 && index > utf8.startIndex { needsRewriting = true }  // "//", "/./" or "/../"
                dots = 0
            case UInt8(ascii: "%"):
                guard let decoded = Self.decodedEscape(utf8, at: index) else {
                    return .failure(Violation(message: "the request path has an invalid percent-encoding"))
                }
                if let refusal = Self.refusal(ofEncoded: decoded) { return .failure(refusal) }
                if URICharacters.isUnreserved(decoded) { needsRewriting = true }
                dots = -1
                index = utf8.index(index, offsetBy: 2)
            case UInt8(ascii: "."):
                if dots >= 0 { dots += 1 }
                if dots > 2 { dots = -1 }
            default:
                dots = -1
            }
            index = utf8.index(after: index)
        }
        if !inQuery && dots > 0 { needsRewriting = true }
        return .success(needsRewriting)
    }

    /// Why a percent-encoded byte in a path is refused, if it is.
    private static func refusal(ofEncoded byte: UInt8) -> Violation? {
        switch byte {
        case UInt8(ascii: "/"):
            return Violation(message: "the request path must not contain an encoded '/' (%2F)")
        case UInt8(ascii: "\\"):
            return Violation(message: "the request path must not contain an encoded backslash (%5C)")
        case 0..<0x20, 0x7F:
            return Violation(message: "the request path must not contain encoded control characters")
        default:
            return nil
        }
    }

    // MARK: Rewriting

    /// Decodes unreserved escapes and resolves the path's segments; the
    /// target has passed ``scan(_:)``.
    private static func rewrite(_ utf8: Substring.UTF8View) -> Result<String, Violation> {
        let queryStart = utf8.firstIndex(of: UInt8(ascii: "?")) ?? utf8.endIndex
        var decoded: [UInt8] = []
        decoded.reserveCapacity(utf8.count)
        var index = utf8.startIndex
        while index < queryStart {
            let byte = utf8[index]
            if byte == UInt8(ascii: "%"), let value = Self.decodedEscape(utf8, at: index), URICharacters.isUnreserved(value) {
                decoded.append(value)
                index = utf8.index(index, offsetBy: 3)
            } else {
                decoded.append(byte)
                index = utf8.index(after: index)
            }
        }

        var segments: [ArraySlice<UInt8>] = []
        var endsWithSlash = false
        for segment in decoded.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false) {
            if segment.isEmpty {
                endsWithSlash = true
            } else if segment.elementsEqual(".".utf8) {
                endsWithSlash = true
            } else if segment.elementsEqual("..".utf8) {
                guard segments.popLast() != nil else {
                    return .failure(Violation(message: "the request path climbs above the root"))
                }
                endsWithSlash = true
            } else {
                segments.append(segment)
                endsWithSlash = false
            }
        }

        var result: [UInt8] = []
        result.reserveCapacity(decoded.count + utf8.distance(from: queryStart, to: utf8.endIndex) + 1)
        for segment in segments {
            result.append(UInt8(ascii: "/"))
            result.append(contentsOf: segment)
        }
        if segments.isEmpty || endsWithSlash { result.append(UInt8(ascii: "/")) }
        result.append(contentsOf: utf8[queryStart...])
        return .success(String(decoding: result, as: UTF8.self))
    }

    // MARK: Bytes

    /// The byte a `%XX` escape at `index` stands for; `nil` if it is not one.
    private static func decodedEscape(_ utf8: Substring.UTF8View, at index: Substring.UTF8View.Index) -> UInt8? {
        guard utf8.distance(from: index, to: utf8.endIndex) >= 3 else { return nil }
        let high = utf8[utf8.index(index, offsetBy: 1)]
        let low = utf8[utf8.index(index, offsetBy: 2)]
        guard let high = URICharacters.hexValue(high), let low = URICharacters.hexValue(low) else { return nil }
        return high << 4 | low
    }
}
