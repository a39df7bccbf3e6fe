/// Opt-in WebSocket passthrough: which listeners relay `Upgrade: websocket`
/// requests to the upstream, and the limits on the connections that result.
///
/// Off by default: every upgrade request is then refused (501). When on, only
/// an authenticated WebSocket handshake is passed through; every other
/// upgrade (h2c, ...) is still refused.
public struct WebSocketConfiguration: Sendable, Equatable {
    /// Whether passthrough is on.
    public var enabled = false
    /// The listeners it is on for; empty for every listener.
    public var listeners: [HostAndPort] = []
    /// Most WebSocket connections open at once on one listener; more get 503.
    public var maxConnections = 64
    /// A connection on which no byte moved either way for this long is closed.
    public var idleTimeout: Duration = .seconds(300)
    /// A connection is closed this long after it was switched, however busy.
    public var maxDuration: Duration = .seconds(3600)
    /// Browser origins (`https://chat.example.org`) allowed to open a
    /// WebSocket besides the proxy's own; `*` for any. A handshake with
    /// another `Origin` gets 403 (see ``WebSocketOriginCheck``).
    public var origins: [String] = []

    public init() {}

    /// Whether WebSocket requests on `listener` are passed through.
    public func isEnabled(on listener: HostAndPort) -> Bool {
        self.enabled && (self.listeners.isEmpty || self.listeners.contains(listener))
    }

    /// What is wrong with these settings given the configured listeners.
    func problems(listeners configured: [ListenerConfiguration]) -> [String] {
        var problems: [String] = []
        for listener in self.listeners where !configured.contains(where: { $0.address == listener }) {
            problems.append("websocket.listeners: \(listener) is not one of the addresses in 'listen'")
        }
        if self.maxConnections < 1 {
            problems.append("websocket.max_connections must be at least 1")
        }
        if self.idleTimeout <= .zero {
            problems.append("websocket.idle_timeout must be longer than zero")
        }
        if self.maxDuration <= .zero {
            problems.append("websocket.max_duration must be longer than zero")
        }
        return problems
    }
}
