import NIOCore

/// A listener's WebSocket passthrough as its connections use it: the
/// limits in NIO's units and the listener's shared connection count.
struct WebSocketPassthrough: Sendable {
    let idleTimeout: TimeAmount
    let maxDuration: TimeAmount
    let limit: WebSocketConnectionLimit
    /// Browser origins allowed besides the proxy's own (``WebSocketOriginCheck``).
    let origins: [String]

    init(configuration: WebSocketConfiguration) {
        self.idleTimeout = TimeAmount(configuration.idleTimeout)
        self.maxDuration = TimeAmount(configuration.maxDuration)
        self.limit = WebSocketConnectionLimit(maximum: configuration.maxConnections)
        self.origins = configuration.origins
    }
}
