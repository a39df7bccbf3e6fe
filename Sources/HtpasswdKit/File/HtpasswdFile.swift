/// A parsed htpasswd file: its entries, every other line kept for writing back,
/// and the problems found while reading it.
///
/// Lines are read as Apache's `mod_authn_file` reads them: leading and trailing
/// white space (including the CR of CRLF files) is ignored, lines that are
/// empty or start with `#` are comments, and the hash ends at the end of the
/// line or at a second `:`. A malformed line is reported and skipped, never
/// fatal; for a duplicated user the first line wins.
public struct HtpasswdFile: Sendable {
    var lines: [HtpasswdLine]
    /// Index into `lines` of each user's first entry.
    var index: [String: Int]
    /// Problems found while reading, in line order.
    public private(set) var diagnostics: [HtpasswdDiagnostic]
    /// The usable hash that takes longest to verify; unknown users are checked
    /// against it (see ``verify(user:password:)``). Kept up to date on every
    /// change so that a verification never scans the file.
    public internal(set) var strongestHash: PasswordHash?

    /// An empty file.
    public init() {
        lines = []
        index = [:]
        diagnostics = []
        strongestHash = nil
    }

    /// Parses the bytes of an htpasswd file.
    public init(contents: some Sequence<UInt8>) {
        self.init()
        let bytes = Array(contents)
        var lineNumber = 0
        var start = 0
        while start < bytes.count {
            let end = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
            lineNumber += 1
            parseLine(Array(bytes[start..<end]), lineNumber: lineNumber)
            start = end + 1
        }
    }

    /// The entries in file order, duplicates included.
    public var entries: [HtpasswdEntry] {
        lines.compactMap { if case .entry(let entry, _) = $0 { entry } else { nil } }
    }

    /// The user names in file order, each once.
    public var users: [String] {
        var seen = Set<String>()
        return entries.map(\.user).filter { seen.insert($0).inserted }
    }

    /// The entry that applies to `user` (the first, if duplicated).
    public func entry(for user: String) -> HtpasswdEntry? {
        guard let position = index[user], case .entry(let entry, _) = lines[position] else { return nil }
        return entry
    }

    /// The file's bytes: every line kept as read, changed entries rendered as `user:hash`, each ending in LF.
    public func serialized() -> [UInt8] {
        var output: [UInt8] = []
        for line in lines {
            output += line.bytes
            output.append(UInt8(ascii: "\n"))
        }
        return output
    }

    private mutating func parseLine(_ raw: [UInt8], lineNumber: Int) {
        let content = raw.trimmingWhitespace()
        guard let first = content.first, first != UInt8(ascii: "#") else {
            lines.append(.verbatim(raw))
            return
        }
        func skip(_ message: String) {
            diagnostics.append(HtpasswdDiagnostic(lineNumber: lineNumber, kind: .malformedLine, message: message))
            lines.append(.verbatim(raw))
        }
        guard let colon = content.firstIndex(of: UInt8(ascii: ":")) else {
            return skip("no ':' between user name and hash; line skipped")
        }
        guard let user = String(validatingUTF8Bytes: content[..<colon]) else {
            return skip("user name is not valid UTF-8; line skipped")
        }
        guard !user.isEmpty else { return skip("empty user name; line skipped") }
        let hashBytes = content[(colon + 1)...].prefix { $0 != UInt8(ascii: ":") }
        let hash: Result<PasswordHash, HtpasswdError>
        let storedHash: String
        if let text = String(validatingUTF8Bytes: hashBytes) {
            storedHash = text
            do { hash = .success(try PasswordHash(text)) } catch { hash = .failure(error) }
        } else {
            storedHash = String(decoding: hashBytes, as: UTF8.self)
            hash = .failure(HtpasswdError(.malformedHash, "hash is not valid UTF-8"))
        }
        if case .failure(let error) = hash {
            diagnostics.append(HtpasswdDiagnostic(lineNumber: lineNumber, kind: .unusableHash,
                                                  message: "user \(user.debugDescription): \(error.message)"))
        }
        let entry = HtpasswdEntry(user: user, storedHash: storedHash, hash: hash, lineNumber: lineNumber)
        if let earlier = index[user], case .entry(let first, _) = lines[earlier] {
            diagnostics.append(HtpasswdDiagnostic(lineNumber: lineNumber, kind: .duplicateUser,
                message: "user \(user.debugDescription) already defined on line \(first.lineNumber ?? 0); this line is ignored"))
        } else {
            index[user] = lines.count
        }
        lines.append(.entry(entry, original: raw))
        considerAsDecoy(entry)
    }

    /// Makes `entry`'s hash the decoy if it is the most expensive so far.
    mutating func considerAsDecoy(_ entry: HtpasswdEntry) {
        guard case .success(let hash) = entry.hash else { return }
        if let current = strongestHash,
           current.estimatedVerificationMicroseconds >= hash.estimatedVerificationMicroseconds {
            return
        }
        strongestHash = hash
    }
}

extension String {
    /// The string, or nil when the bytes are not valid UTF-8.
    init?(validatingUTF8Bytes bytes: some Collection<UInt8>) {
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        var result = ""
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): result.unicodeScalars.append(scalar)
            case .emptyInput:
                self = result
                return
            case .error: return nil
            }
        }
    }
}

extension Array<UInt8> {
    /// The bytes without leading and trailing spaces, tabs and carriage returns.
    func trimmingWhitespace() -> ArraySlice<UInt8> {
        let isWhitespace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
        guard let first = firstIndex(where: { !isWhitespace($0) }),
              let last = lastIndex(where: { !isWhitespace($0) })
        else { return [] }
        return self[first...last]
    }
}
