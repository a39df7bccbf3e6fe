/// A line of an htpasswd file as kept for writing back: either an entry, or
/// anything else (comments, blank and malformed lines) kept byte for byte.
enum HtpasswdLine: Sendable, Hashable {
    /// An entry and the bytes it was read from (nil when written by us, rendered as `user:hash`).
    case entry(HtpasswdEntry, original: [UInt8]?)
    /// A line kept as it was, without its line feed.
    case verbatim([UInt8])

    var bytes: [UInt8] {
        switch self {
        case .entry(_, let original?): original
        case .entry(let entry, nil): Array("\(entry.user):\(entry.storedHash)".utf8)
        case .verbatim(let bytes): bytes
        }
    }
}
