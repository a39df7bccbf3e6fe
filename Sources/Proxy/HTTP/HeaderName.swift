/// ASCII case-insensitive comparisons of header field names and tokens,
/// without allocating (they run on every field of every request); the one
/// place that folds ASCII case for the proxy (forwarding, targets, access).
enum HeaderName {
    /// Whether `name` equals `lowercase` ignoring ASCII case; `lowercase` must already be lower case.
    static func equals(_ name: some StringProtocol, _ lowercase: String) -> Bool {
        name.utf8.count == lowercase.utf8.count && self.hasPrefix(name, lowercase)
    }

    /// Whether `name` starts with `lowercase` ignoring ASCII case; `lowercase` must already be lower case.
    static func hasPrefix(_ name: some StringProtocol, _ lowercase: String) -> Bool {
        var nameBytes = name.utf8.makeIterator()
        for expected in lowercase.utf8 {
            guard let byte = nameBytes.next() else { return false }
            if self.lowercased(byte) != expected { return false }
        }
        return true
    }

    /// Whether `a` equals `b` ignoring ASCII case, both in any case.
    static func equalsIgnoringCase(_ a: some StringProtocol, _ b: some StringProtocol) -> Bool {
        guard a.utf8.count == b.utf8.count else { return false }
        return zip(a.utf8, b.utf8).allSatisfy { self.lowercased($0) == self.lowercased($1) }
    }

    /// `byte` in lower case if it is an ASCII capital letter, else unchanged.
    static func lowercased(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 : byte
    }
}
