import NIOHTTP1

/// The request parts sent on a reused keep-alive connection, kept until the
/// upstream answers, so the request can go once more on a new connection if
/// the reused one turns out to be stale (the upstream closed it as idle while
/// the request was on its way).
///
/// Recording stops when the upstream answers, past ``limit`` body bytes (a
/// larger request is not retried), and after the one retry.
struct StaleConnectionReplay {
    /// The most body bytes kept for a replay.
    static let limit = 256 * 1024

    /// The parts recorded so far; `nil` when not recording.
    private(set) var parts: [HTTPClientRequestPart]?
    private var bodyBytes = 0
    /// Whether the request was already sent again after a stale connection.
    private(set) var retried = false

    /// The request is about to go on a reused connection: record it, unless
    /// this is already the retry.
    mutating func startRecording() {
        if !self.retried { self.parts = [] }
    }

    /// Keeps a part for a possible replay, giving up past the limit.
    mutating func record(_ part: HTTPClientRequestPart) {
        guard self.parts != nil else { return }
        if case .body(.byteBuffer(let body)) = part {
            self.bodyBytes += body.readableBytes
            if self.bodyBytes > Self.limit {
                self.parts = nil
                return
            }
        }
        self.parts?.append(part)
    }

    /// The upstream answered: the request was seen, nothing is replayed.
    mutating func stopRecording() {
        self.parts = nil
    }

    /// The connection closed before any answer: the parts to send again, or
    /// `nil` if the request cannot be replayed (not recorded, too large, or
    /// already retried once).
    mutating func takeForRetry() -> [HTTPClientRequestPart]? {
        guard let parts = self.parts, !self.retried else { return nil }
        self.retried = true
        self.parts = nil
        return parts
    }
}
