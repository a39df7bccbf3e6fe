import NIOCore

/// A listener's WebSocket passthrough as its connections use it: the
/// limits in NIO's units and the listener's shared connection count.
struct WebSocketPassthrough: Sendable {
    let idleTimeout: TimeAmount
    let maxDuration: TimeAmount
    let limit: WebSocketConnectionLimit

    init(configuration: WebSocketConfiguration) {
        self.idleTimeout = TimeAmount(configuration.idleTimeout)
        self.maxDuration = TimeAmount(configuration.maxDuration)
        self.limit = WebSocketConnectionLimit(maximum: configuration.maxConnections)
    }
}
