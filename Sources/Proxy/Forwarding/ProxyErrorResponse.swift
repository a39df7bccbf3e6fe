import NIOCore
import NIOHTTP1
import OpenAIWire

/// A response the proxy makes itself, with an OpenAI-style JSON body:
/// `{"error":{"message":...,"type":...,"param":null,"code":...}}`.
struct ProxyErrorResponse: Error, Equatable {
    let status: HTTPResponseStatus
    let message: String
    let type: String
    let code: String

    static func badRequest(_ message: String) -> Self {
        Self(status: .badRequest, message: message, type: "invalid_request_error", code: "bad_request")
    }
    static let headerTooLarge = Self(
        status: .requestHeaderFieldsTooLarge, message: "The request header fields are too large.",
        type: "invalid_request_error", code: "request_header_fields_too_large")
    static func bodyTooLarge(limit: Int) -> Self {
        Self(
            status: .payloadTooLarge, message: "The request body is larger than the limit of \(limit) bytes.",
            type: "invalid_request_error", code: "request_body_too_large")
    }
    static func methodNotAllowed(_ method: String) -> Self {
        Self(
            status: .methodNotAllowed, message: "The method \(method) is not allowed through this proxy.",
            type: "invalid_request_error", code: "method_not_allowed")
    }
    static let upgradeNotSupported = Self(
        status: .notImplemented, message: "Protocol upgrades (websocket, h2c) are not supported by this proxy.",
        type: "invalid_request_error", code: "upgrade_not_supported")
    /// A WebSocket handshake admitted without credentials (a public path,
    /// a loopback client with `skip_loopback`): passthrough is for
    /// authenticated requests only. Not a 401: the request needed no
    /// credentials to be admitted, so there is no challenge to send.
    static let webSocketNeedsAuthentication = Self(
        status: .forbidden, message: "WebSocket connections need an authenticated request.",
        type: "invalid_request_error", code: "websocket_needs_authentication")
    static let webSocketOriginNotAllowed = Self(
        status: .forbidden, message: "WebSocket connections from this origin are not allowed.",
        type: "invalid_request_error", code: "websocket_origin_not_allowed")
    static let webSocketLimitReached = Self(
        status: .serviceUnavailable, message: "Too many WebSocket connections are open on this listener.",
        type: "server_error", code: "websocket_limit_reached")
    static let upstreamSwitchedToAnotherProtocol = Self(
        status: .badGateway, message: "The upstream server switched to a protocol other than websocket.",
        type: "upstream_error", code: "bad_gateway")
    static let requestTimeout = Self(
        status: .requestTimeout, message: "The request body did not arrive in time.",
        type: "invalid_request_error", code: "request_timeout")
    static let upstreamUnavailable = Self(
        status: .badGateway, message: "The upstream server could not be reached or closed the connection.",
        type: "upstream_error", code: "bad_gateway")
    static let upstreamTimeout = Self(
        status: .gatewayTimeout, message: "The upstream server did not answer in time.",
        type: "upstream_error", code: "gateway_timeout")
    static let serviceUnavailable = Self(
        status: .serviceUnavailable, message: "The proxy is shutting down.",
        type: "server_error", code: "service_unavailable")

    /// The JSON body, written by ``OpenAIErrorBody`` as the backend's are.
    func body(allocator: ByteBufferAllocator) -> ByteBuffer {
        allocator.buffer(string: OpenAIErrorBody(message: self.message, type: self.type, code: self.code).json + "\n")
    }
}
