import NIOHTTP1

/// Requests the proxy answers itself and never forwards, decided on the
/// client's head before anything else looks at it.
///
/// - An HTTP/1.1 request without `Host`, or any request with more than one,
///   is a 400 (RFC 9112 §3.2): two readers could pick different hosts.
/// - TRACE (it would echo credentials back) and CONNECT (a tunnel) have no
///   business here: 405.
/// - A request asking to switch protocols (an `Upgrade` field or a
///   `Connection: upgrade` token: websocket, h2c, ...) is a 501. NIO's
///   decoder stops parsing after such a head (after a CONNECT head too), so
///   whatever follows is not HTTP the proxy can read: the connection is
///   closed right after the response, without reading further. With
///   WebSocket passthrough on for the listener, a valid WebSocket handshake
///   (``WebSocketUpgradeRequest``) goes on; an invalid one is a 400, and
///   every other upgrade still a 501. A request that goes on as a WebSocket
///   handshake and is refused later (a second `Host`) also closes at once.
struct RequestRefusal: Equatable {
    let response: ProxyErrorResponse
    /// Whether the connection closes as soon as the response is written,
    /// reading nothing more from the client.
    let closesAtOnce: Bool

    /// Fields the response carries besides the error body: `Allow` on a 405.
    var headers: HTTPHeaders {
        self.response.status == .methodNotAllowed ? ["allow": "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"] : [:]
    }

    /// Why the request with this head is answered by the proxy; `nil` if it may go on.
    /// - Parameter webSocketPassthrough: whether the listener passes WebSocket handshakes through.
    static func refusal(for head: HTTPRequestHead, webSocketPassthrough: Bool = false) -> RequestRefusal? {
        var hosts = 0
        var asksUpgrade = false
        // One pass over the fields, allocating only for a `Connection` field.
        for (name, _) in head.headers {
            if HeaderName.equals(name, "host") {
                hosts += 1
            } else if HeaderName.equals(name, "upgrade") {
                asksUpgrade = true
            } else if HeaderName.equals(name, "connection") {
                asksUpgrade = asksUpgrade || head.headers[canonicalForm: "connection"].contains { HeaderName.equals($0, "upgrade") }
            }
        }
        if head.method == .CONNECT {
            return RequestRefusal(response: .methodNotAllowed("CONNECT"), closesAtOnce: true)
        }
        if asksUpgrade {
            switch webSocketPassthrough ? WebSocketUpgradeRequest.verdict(for: head) : .otherProtocol {
            case .webSocket:
                break
            case .invalid(let message):
                return RequestRefusal(response: .badRequest(message), closesAtOnce: true)
            case .noUpgrade, .otherProtocol:
                return RequestRefusal(response: .upgradeNotSupported, closesAtOnce: true)
            }
        }
        if hosts > 1 {
            return RequestRefusal(response: .badRequest("The request has more than one Host field."), closesAtOnce: asksUpgrade)
        }
        if hosts == 0 && head.version.major == 1 && head.version.minor >= 1 {
            return RequestRefusal(response: .badRequest("An HTTP/1.1 request must have a Host field."), closesAtOnce: asksUpgrade)
        }
        if head.method == .TRACE {
            return RequestRefusal(response: .methodNotAllowed("TRACE"), closesAtOnce: false)
        }
        return nil
    }
}
