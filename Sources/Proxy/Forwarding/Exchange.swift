import NIOCore
import NIOHTTP1

/// One request and its response as it passes through a ``ForwardingHandler``.
final class Exchange {
    /// The head as the client sent it (for the access log).
    let clientHead: HTTPRequestHead
    let started: NIODeadline
    var requestID = ""
    /// The head to send upstream, once admitted.
    var upstreamHead: HTTPRequestHead?
    /// The upstream counted against in the balancer, while one is.
    var upstream: Int?
    /// Upstreams already tried for this request (failover skips them).
    var triedUpstreams: [Int] = []
    /// Request parts received before the upstream connection was ready.
    var pendingParts: [HTTPClientRequestPart] = []
    var requestBodyBytes = 0
    var requestEnded = false
    var requestHasBody: Bool
    var sentUpstreamAt: NIODeadline?
    var responseStatus: Int?
    var responseStarted = false
    var responseBytes = 0
    /// Whether the client connection closes once the response is written.
    var closeAfterResponse: Bool
    /// Last time bytes moved for the phase being timed (request body or response).
    var lastActivity: NIODeadline

    init(clientHead: HTTPRequestHead, now: NIODeadline) {
        self.clientHead = clientHead
        self.started = now
        self.lastActivity = now
        self.closeAfterResponse = !clientHead.isKeepAlive
        let length = clientHead.headers.first(name: "content-length").flatMap { Int($0) } ?? 0
        self.requestHasBody = length > 0 || clientHead.headers.contains(name: "transfer-encoding")
    }
}
