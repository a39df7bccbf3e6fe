/// Everything the proxy needs to run, after defaults, the configuration file,
/// the environment and command-line flags have been merged and validated.
///
/// Build one with ``ProxyConfigurationLoader``; the memberwise values here are
/// the defaults.
public struct ProxyConfiguration: Sendable, Equatable {
    /// Where clients connect.
    public var listeners: [ListenerConfiguration] = []
    /// Whether a plain-HTTP listener may bind a non-loopback address.
    public var allowPlainNonLoopback = false
    /// The servers requests are forwarded to, balanced by least outstanding requests.
    public var upstreams: [UpstreamAddress] = []
    /// The admin listener serving metrics; `nil` for none.
    public var adminAddress: HostAndPort?
    /// The path of the Prometheus metrics on the admin listener.
    public var metricsPath = "/metrics"
    /// Whether one log line is written per request.
    public var accessLog = true
    /// Event loop threads; `nil` for one per CPU core.
    public var eventLoops: Int?
    public var limits = Limits()
    public var timeouts = Timeouts()
    public var health = HealthChecking()
    /// Allowlists and authentication.
    public var access = AccessConfiguration()
    /// WebSocket passthrough (off unless enabled).
    public var webSocket = WebSocketConfiguration()
    /// Fair queuing for the upstreams' slots (off unless slots are set).
    public var queue = UpstreamQueueConfiguration()
    /// Where usage and token-quota state are kept.
    public var state = StateConfiguration()
    /// The admin console at `/admin` (on unless turned off).
    public var console = ConsoleConfiguration()

    public init() {}

    /// Sizes and counts that bound what one client can make the proxy hold.
    public struct Limits: Sendable, Equatable {
        /// Largest request head (request line and header fields); larger gets 431.
        public var maxHeaderBytes = 32 * 1024
        /// Largest request body; larger gets 413.
        public var maxBodyBytes = 64 * 1024 * 1024
        /// Most client connections open at once; further connections are closed at accept.
        public var maxConnections = 4096
        /// Most client connections open at once from one address (IPv6: one
        /// /64, what a single host usually gets); further ones are closed at accept.
        /// An eighth of ``maxConnections``: one host cannot take every slot,
        /// while an office behind one NAT address (browsers open six
        /// connections per site) still fits.
        public var maxConnectionsPerAddress = 512
        /// Slowest average rate, in bytes per second, at which a request body
        /// may arrive once ``Timeouts/bodyRateGrace`` has passed (then 408);
        /// 0 for no minimum. 1k lets a 16 MiB body take over four hours.
        public var minBodyRate = 1024
        /// Most idle keep-alive connections kept per upstream on each event loop.
        public var maxIdleUpstreamConnections = 64
        public init() {}
    }

    /// How long the proxy waits for each side before giving up on it.
    public struct Timeouts: Sendable, Equatable {
        /// A connection must deliver a complete request head within this time of
        /// being opened or of its previous response ending (slow-header defence).
        public var requestHead: Duration = .seconds(30)
        /// Longest pause between two reads of a request body.
        public var clientBody: Duration = .seconds(60)
        /// Longest time a whole request body may take, from its head on (then
        /// 408): 16 MiB at 1 Mbit/s takes about 135 s.
        public var clientBodyTotal: Duration = .seconds(300)
        /// How long a body may arrive at any rate before ``Limits/minBodyRate`` applies.
        public var bodyRateGrace: Duration = .seconds(10)
        /// Longest time a client may leave the response unread (its socket
        /// not writable) before it is cut off, like nginx's `send_timeout`:
        /// a client that stops reading cannot hold an upstream connection.
        public var clientSend: Duration = .seconds(60)
        /// Longest time to open a connection to an upstream.
        public var upstreamConnect: Duration = .seconds(5)
        /// Longest wait for the response head, and between two reads of the
        /// response body. Generous: a model may think for a while before its
        /// first token.
        public var upstreamRead: Duration = .seconds(300)
        /// How long an idle pooled upstream connection is kept.
        public var upstreamIdle: Duration = .seconds(60)
        /// How long shutdown waits for open requests to finish.
        public var shutdownGrace: Duration = .seconds(30)
        public init() {}
    }

    /// How a failed upstream is probed back into service.
    public struct HealthChecking: Sendable, Equatable {
        /// First wait before probing a failed upstream; doubled after each failed probe.
        public var probeInterval: Duration = .seconds(1)
        /// Longest wait between two probes of a failed upstream.
        public var maxProbeInterval: Duration = .seconds(30)
        public init() {}
    }
}
