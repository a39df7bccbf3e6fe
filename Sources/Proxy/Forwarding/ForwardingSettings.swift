import NIOCore

/// The part of ``ProxyConfiguration`` a ``ForwardingHandler`` needs, in NIO's units.
struct ForwardingSettings: Sendable {
    var maxBodyBytes: Int
    var requestHeadTimeout: TimeAmount
    var clientBodyTimeout: TimeAmount
    /// Longest time a whole request body may take.
    var clientBodyTotal: TimeAmount
    /// Slowest average body rate in bytes per second after ``bodyRateGrace``; 0 for none.
    var minBodyRate: Int
    var bodyRateGrace: TimeAmount
    var upstreamReadTimeout: TimeAmount
    var clientSendTimeout: TimeAmount
    /// How long a connection that is being closed after an error keeps
    /// reading (and discarding) what the client still sends, so the client
    /// can read the error instead of getting a reset.
    var lingerTimeout: TimeAmount = .seconds(2)
    var accessLog: Bool
    /// Whether the listener terminates TLS (sets `X-Forwarded-Proto`).
    var usesTLS: Bool
    /// The listener's WebSocket passthrough; `nil` when off (upgrades get 501).
    var webSocket: WebSocketPassthrough?
    /// The proxy's fair queue for the upstreams' slots; `nil` when off.
    var upstreamQueue: UpstreamQueue?

    init(
        configuration: ProxyConfiguration, usesTLS: Bool, webSocket: WebSocketPassthrough? = nil,
        upstreamQueue: UpstreamQueue? = nil
    ) {
        self.maxBodyBytes = configuration.limits.maxBodyBytes
        self.requestHeadTimeout = TimeAmount(configuration.timeouts.requestHead)
        self.clientBodyTimeout = TimeAmount(configuration.timeouts.clientBody)
        self.clientBodyTotal = TimeAmount(configuration.timeouts.clientBodyTotal)
        self.minBodyRate = configuration.limits.minBodyRate
        self.bodyRateGrace = TimeAmount(configuration.timeouts.bodyRateGrace)
        self.upstreamReadTimeout = TimeAmount(configuration.timeouts.upstreamRead)
        self.clientSendTimeout = TimeAmount(configuration.timeouts.clientSend)
        self.accessLog = configuration.accessLog
        self.usesTLS = usesTLS
        self.webSocket = webSocket
        self.upstreamQueue = upstreamQueue
    }
}
