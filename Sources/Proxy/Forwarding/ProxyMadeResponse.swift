import NIOCore
import NIOHTTP1

/// A response the proxy writes itself for an exchange (a refusal, a
/// rejection, an upstream failure or timeout), as head and body, with the
/// decision whether the connection closes after it.
///
/// The connection closes after it unless the request was complete and the
/// error is the upstream's (502 or 504) and nothing else asks for a close.
struct ProxyMadeResponse {
    let head: HTTPResponseHead
    /// The JSON body; `nil` for a response to HEAD, which has none (its
    /// `Content-Length` still says how long it would be).
    let body: ByteBuffer?
    /// The bytes of the body as counted in the access log (also for HEAD).
    let bodyBytes: Int
    /// Whether the connection closes once the response is written.
    let closing: Bool
    /// Whether nothing more is read from the client: the connection closes as
    /// soon as the response is written, with no lingering.
    let closingAtOnce: Bool

    /// - Parameters:
    ///   - closingAtOnce: close without reading more of the client's request.
    ///   - quiescing: the proxy is shutting down (always closes).
    init(
        _ response: ProxyErrorResponse, for exchange: Exchange, extraHeaders: HTTPHeaders, closingAtOnce: Bool,
        quiescing: Bool, allocator: ByteBufferAllocator
    ) {
        // After a WebSocket handshake the decoder parses nothing more.
        let closingAtOnce = closingAtOnce || exchange.isWebSocketUpgrade
        let upstreamFault = response.status == .badGateway || response.status == .gatewayTimeout
        let closing =
            closingAtOnce || exchange.closeAfterResponse || !exchange.requestEnded || !upstreamFault || quiescing
        let body = response.body(allocator: allocator)
        var headers = extraHeaders
        headers.add(name: "content-type", value: "application/json")
        headers.add(name: "content-length", value: String(body.readableBytes))
        if exchange.requestID != "-" { headers.add(name: "x-request-id", value: exchange.requestID) }
        if closing { headers.add(name: "connection", value: "close") }
        let version = exchange.clientHead.version.major == 1 ? exchange.clientHead.version : .http1_1
        self.head = HTTPResponseHead(version: version, status: response.status, headers: headers)
        self.body = exchange.clientHead.method == .HEAD ? nil : body
        self.bodyBytes = body.readableBytes
        self.closing = closing
        self.closingAtOnce = closingAtOnce
    }
}
