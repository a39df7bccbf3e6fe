extension HtpasswdFile {
    /// Whether ``setHash(_:for:)`` added a user or replaced a hash.
    public enum SetResult: Sendable, Hashable {
        case added
        case updated
    }

    /// Checks that `user` can be written to a file and read back as the same name.
    public static func validate(user: String) throws(HtpasswdError) {
        guard !user.isEmpty else { throw HtpasswdError(.invalidUserName, "the user name is empty") }
        if let bad = user.unicodeScalars.first(where: { $0 == ":" || $0.value < 0x20 || $0.value == 0x7f }) {
            let shown = bad == ":" ? "':'" : "U+\(String(bad.value, radix: 16, uppercase: true))"
            throw HtpasswdError(.invalidUserName, "username contains illegal character \(shown)")
        }
        if user.first == " " || user.first == "\t" || user.last == " " || user.last == "\t" || user.first == "#" {
            throw HtpasswdError(.invalidUserName, "a user name cannot start with '#' or start or end with white space")
        }
    }

    /// Sets `user`'s hash, replacing the first line for that user in place or
    /// appending a line; later duplicate lines for the user are removed so the
    /// file says one thing. Every other line is kept as it was.
    @discardableResult
    public mutating func setHash(_ hash: PasswordHash, for user: String) throws(HtpasswdError) -> SetResult {
        try Self.validate(user: user)
        let entry = HtpasswdEntry(user: user, storedHash: hash.encoded, hash: .success(hash), lineNumber: nil)
        if let position = index[user] {
            lines[position] = .entry(entry, original: nil)
            removeEntries(of: user, from: position + 1)
            return .updated
        }
        index[user] = lines.count
        lines.append(.entry(entry, original: nil))
        considerAsDecoy(entry)
        return .added
    }

    /// Removes every line for `user`; returns whether there was one.
    @discardableResult
    public mutating func removeUser(_ user: String) -> Bool {
        guard let position = index[user] else { return false }
        removeEntries(of: user, from: position)
        return true
    }

    /// Drops the entries of `user` at or after `start`.
    private mutating func removeEntries(of user: String, from start: Int) {
        lines = lines.enumerated().compactMap { position, line in
            if position >= start, case .entry(let entry, _) = line, entry.user == user { return nil }
            return line
        }
        rebuildIndex()
    }

    private mutating func rebuildIndex() {
        index = [:]
        strongestHash = nil
        for (position, line) in lines.enumerated() {
            guard case .entry(let entry, _) = line else { continue }
            if index[entry.user] == nil { index[entry.user] = position }
            considerAsDecoy(entry)
        }
    }
}
