import NIOHTTP1

/// The response head the client gets for an upstream's head: hop-by-hop
/// fields removed, framed for the client's HTTP version
/// (``ResponseFraming``), and `Connection` saying whether the connection
/// stays open.
struct ClientResponseHead {
    let head: HTTPResponseHead
    /// Whether the client connection closes once the response is written.
    let closeAfterResponse: Bool

    /// - Parameters:
    ///   - closeAfterResponse: whether the connection was already going to close.
    ///   - quiescing: the proxy is shutting down (always closes).
    init(
        for upstreamHead: HTTPResponseHead, clientHead: HTTPRequestHead, requestEnded: Bool,
        closeAfterResponse: Bool, quiescing: Bool
    ) {
        var close = closeAfterResponse
        var headers = upstreamHead.headers
        HopByHopHeaders.remove(from: &headers)
        let clientVersion = clientHead.version
        let chunked = ResponseFraming.apply(
            to: &headers, status: upstreamHead.status, requestMethod: clientHead.method,
            clientVersion: clientVersion)
        if !chunked && clientVersion.major == 1 && clientVersion.minor == 0 && !headers.contains(name: "content-length")
            && clientHead.method != .HEAD
        {
            close = true  // HTTP/1.0 has no chunked framing: end by closing
        }
        // A request still coming in when the response begins is not read to its end.
        if !requestEnded || quiescing { close = true }
        if close {
            headers.add(name: "connection", value: "close")
        } else if clientVersion.major == 1 && clientVersion.minor == 0 {
            headers.add(name: "connection", value: "keep-alive")
        }
        // The upstream's head with these fields, rather than a new head: it
        // shares the upstream head's storage for status and version instead
        // of allocating its own (copied only if the version has to change).
        var head = upstreamHead
        head.headers = headers
        if head.version != clientVersion { head.version = clientVersion }
        self.head = head
        self.closeAfterResponse = close
    }

    /// The 101 the client gets when the upstream switches a WebSocket
    /// handshake, or `nil` if the upstream switches to anything but exactly
    /// `websocket` (answered 502). `Upgrade` and `Connection` are the proxy's.
    static func webSocketSwitch(for upstreamHead: HTTPResponseHead) -> HTTPResponseHead? {
        let protocols = upstreamHead.headers[canonicalForm: "upgrade"]
        guard protocols.count == 1, HeaderName.equals(protocols[0], "websocket") else { return nil }
        var headers = upstreamHead.headers
        HopByHopHeaders.remove(from: &headers)
        headers.add(name: "connection", value: "upgrade")
        headers.add(name: "upgrade", value: "websocket")
        return HTTPResponseHead(version: .http1_1, status: .switchingProtocols, headers: headers)
    }
}
