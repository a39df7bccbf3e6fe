import NIOCore
import NIOHTTP1

/// Whether a request head is a WebSocket opening handshake (RFC 6455 §4.1)
/// that the proxy may pass through, decided on the client's head as sent.
///
/// Only the plain form is accepted: `GET`, HTTP/1.1, one `Upgrade` field
/// saying exactly `websocket`, a `Connection` field with the `upgrade`
/// token and nothing but `keep-alive` beside it (a `Connection` token
/// naming `Sec-WebSocket-Key` would have hop-by-hop removal drop the key on
/// its way up), no body, one `Sec-WebSocket-Key` that is 16 bytes in base64
/// and one `Sec-WebSocket-Version: 13`.
enum WebSocketUpgradeRequest {
    enum Verdict: Equatable {
        /// The head asks for no upgrade at all.
        case noUpgrade
        /// A WebSocket handshake the proxy may pass through.
        case webSocket
        /// An upgrade to another protocol (h2c, ...): refused as before.
        case otherProtocol
        /// `Upgrade: websocket`, but not a handshake the proxy passes on.
        case invalid(String)
    }

    static func verdict(for head: HTTPRequestHead) -> Verdict {
        let upgrades = head.headers[canonicalForm: "upgrade"]
        let connectionTokens = head.headers[canonicalForm: "connection"]
        let asksUpgrade = !upgrades.isEmpty || connectionTokens.contains { HeaderName.equals($0, "upgrade") }
        guard asksUpgrade else { return .noUpgrade }
        guard upgrades.count == 1, HeaderName.equals(upgrades[0], "websocket") else { return .otherProtocol }
        guard connectionTokens.contains(where: { HeaderName.equals($0, "upgrade") }) else {
            return .invalid("A WebSocket upgrade needs Connection: upgrade.")
        }
        guard connectionTokens.allSatisfy({ HeaderName.equals($0, "upgrade") || HeaderName.equals($0, "keep-alive") })
        else {
            return .invalid("A WebSocket upgrade may name only upgrade and keep-alive in Connection.")
        }
        guard head.method == .GET, head.version == .http1_1 else {
            return .invalid("A WebSocket upgrade must be a GET request over HTTP/1.1.")
        }
        guard !head.headers.contains(name: "transfer-encoding"),
            head.headers["content-length"].allSatisfy({ $0 == "0" })
        else {
            return .invalid("A WebSocket upgrade request has no body.")
        }
        let keys = head.headers["sec-websocket-key"]
        guard keys.count == 1, Self.isHandshakeKey(keys[0]) else {
            return .invalid("A WebSocket upgrade needs one Sec-WebSocket-Key of 16 bytes in base64.")
        }
        guard head.headers["sec-websocket-version"] == ["13"] else {
            return .invalid("Only WebSocket version 13 is supported.")
        }
        return .webSocket
    }

    /// Whether `text` is 16 bytes in base64 (24 characters ending in `==`).
    static func isHandshakeKey(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 24, bytes[22] == UInt8(ascii: "="), bytes[23] == UInt8(ascii: "=") else { return false }
        return bytes[..<22].allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "/"):
                return true
            default:
                return false
            }
        }
    }
}
