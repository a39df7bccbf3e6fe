import NIOCore
import NIOHTTP1

/// The request parts sent on a reused keep-alive connection, kept until the
/// upstream answers, so the request can go once more on a new connection if
/// the reused one turns out to be stale (the upstream closed it as idle while
/// the request was on its way).
///
/// Recording stops when the upstream answers, past ``limit`` body bytes (a
/// larger request is not retried), and after the one retry.
///
/// Kept as fields rather than a list of parts: a request has at most one
/// head and one end, so a request without a body (most of them) is recorded
/// without allocating; only body parts go in an array.
struct StaleConnectionReplay {
    /// The most body bytes kept for a replay.
    static let limit = 256 * 1024

    private var recording = false
    private var head: HTTPRequestHead?
    private var bodyParts: [IOData] = []
    private var bodyBytes = 0
    private var ended = false
    private var trailers: HTTPHeaders?
    /// Whether the request was already sent again after a stale connection.
    private(set) var retried = false

    /// The parts recorded so far, in order; `nil` when not recording.
    var parts: [HTTPClientRequestPart]? {
        guard self.recording else { return nil }
        var parts: [HTTPClientRequestPart] = []
        if let head = self.head { parts.append(.head(head)) }
        parts += self.bodyParts.map { .body($0) }
        if self.ended { parts.append(.end(self.trailers)) }
        return parts
    }

    /// The request is about to go on a reused connection: record it, unless
    /// this is already the retry.
    mutating func startRecording() {
        guard !self.retried else { return }
        self.stopRecording()
        self.recording = true
    }

    /// Keeps a part for a possible replay, giving up past the limit.
    mutating func record(_ part: HTTPClientRequestPart) {
        guard self.recording else { return }
        switch part {
        case .head(let head):
            self.head = head
        case .body(let body):
            self.bodyBytes += body.readableBytes
            guard self.bodyBytes <= Self.limit else { return self.stopRecording() }
            self.bodyParts.append(body)
        case .end(let trailers):
            self.ended = true
            self.trailers = trailers
        }
    }

    /// The upstream answered: the request was seen, nothing is replayed.
    mutating func stopRecording() {
        self.recording = false
        self.head = nil
        if !self.bodyParts.isEmpty { self.bodyParts = [] }
        self.bodyBytes = 0
        self.ended = false
        self.trailers = nil
    }

    /// The connection closed before any answer: the parts to send again, or
    /// `nil` if the request cannot be replayed (not recorded, too large, or
    /// already retried once).
    mutating func takeForRetry() -> [HTTPClientRequestPart]? {
        guard let parts = self.parts, !self.retried else { return nil }
        self.retried = true
        self.stopRecording()
        return parts
    }
}
