/// The key a client must present to the backend: `Authorization: Bearer …`
/// (OpenAI's clients) or `x-api-key: …` (Anthropic's).
///
/// `lmgate serve` makes a new one at each start and gives it only to its
/// backend and its proxy, so that nothing else on the machine (another
/// user's process, a browser page) can go around the proxy's policy by
/// talking to 127.0.0.1:1234 directly. `lmgate backend` alone needs none,
/// as LM Studio, unless given `--api-key`.
public struct BackendAPIKey: Sendable {
    private let bytes: [UInt8]

    /// `nil` for an empty key (an empty key would admit everyone who sends `Bearer `).
    public init?(_ key: String) {
        guard !key.isEmpty else { return nil }
        bytes = Array(key.utf8)
    }

    /// Whether an `Authorization` header value is `Bearer <this key>`.
    func isPresented(inAuthorization authorization: String) -> Bool {
        let value = Array(authorization.utf8)
        let scheme = "bearer "
        // The scheme is case-insensitive.
        guard value.count > scheme.utf8.count, String(decoding: value[0..<scheme.utf8.count], as: UTF8.self).lowercased() == scheme
        else { return false }
        var presented = value[scheme.utf8.count...].drop { $0 == 0x20 }
        while presented.last == 0x20 { presented = presented.dropLast() }
        return matches(presented)
    }

    /// Whether an `x-api-key` header value is this key.
    func isPresented(inAPIKeyHeader value: String) -> Bool {
        matches(ArraySlice(value.utf8))
    }

    /// Compares in constant time (every byte of the key, no early exit), so
    /// that response times do not tell a guesser how many leading bytes were
    /// right; only the length of the presented value shows.
    private func matches(_ presented: ArraySlice<UInt8>) -> Bool {
        var difference = presented.count ^ bytes.count
        for index in bytes.indices {
            // Reads within `presented` whatever its length, so the loop always runs over the whole key.
            let other = presented.isEmpty ? 0 : presented[presented.startIndex + index % presented.count]
            difference |= Int(other ^ bytes[index])
        }
        return difference == 0
    }
}
