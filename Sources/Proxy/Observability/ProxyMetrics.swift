import NIOConcurrencyHelpers
import PrometheusText

/// The proxy's counters, rendered in the Prometheus text exposition format
/// (version 0.0.4) by ``render()``.
///
/// - `lmgate_proxy_requests_total{status}`: answered requests by status code;
/// - `lmgate_proxy_upstream_response_seconds{upstream}`: histogram of the time
///   from sending a request upstream to receiving its response head;
/// - `lmgate_proxy_open_connections`: client connections open now;
/// - `lmgate_proxy_rejected_connections_total`: connections closed at
///   accept, of which `lmgate_proxy_rejected_connections_per_address_total`
///   for exceeding the per-address limit;
/// - `lmgate_proxy_upstream_up{upstream}`: 1 while an upstream is in rotation;
/// - with fair queuing, the ``UpstreamQueue``'s slots and queue depth
///   (``UpstreamQueue/renderMetrics(into:)``).
/// - per authenticated key or user: requests, tokens and refusals by limit
///   (``IdentityMetrics``).
///
/// No label value comes from a client: `status` is a number (from the
/// upstream or the proxy, kept to 100–599 so a misbehaving upstream cannot
/// grow the series without bound either) and `upstream` names configured
/// upstreams.
public final class ProxyMetrics: Sendable {
    /// Upper bounds of the latency histogram buckets, in seconds.
    static let latencyBuckets: [Double] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

    private struct Histogram {
        var counts = [Int](repeating: 0, count: ProxyMetrics.latencyBuckets.count)
        var sum = 0.0
        var count = 0
    }

    private struct State {
        var requestsByStatus: [Int: Int] = [:]
        var latency: [Histogram]
        var openConnections = 0
        var rejectedConnections = 0
        var rejectedPerAddress = 0
        var identities = IdentityMetrics()
    }

    private let state: NIOLockedValueBox<State>
    private let balancer: UpstreamBalancer
    private let upstreamQueue: UpstreamQueue?

    public init(balancer: UpstreamBalancer, upstreamQueue: UpstreamQueue? = nil) {
        self.balancer = balancer
        self.upstreamQueue = upstreamQueue
        self.state = NIOLockedValueBox(State(latency: Array(repeating: Histogram(), count: balancer.upstreams.count)))
    }

    /// A request was answered; `identity` (if admission established one)
    /// used `tokens`, from the upstream's usage.
    func requestAnswered(status: Int, identity: String? = nil, tokens: Int = 0) {
        // A status outside the valid range is counted under 0 (499 is nginx's "client went away").
        let label = (100...599).contains(status) ? status : 0
        self.state.withLockedValue { state in
            state.requestsByStatus[label, default: 0] += 1
            if let identity { state.identities.answered(identity, tokens: tokens) }
        }
    }

    func upstreamResponded(upstream: Int, seconds: Double) {
        let bucket = Self.latencyBuckets.firstIndex(where: { seconds <= $0 })
        self.state.withLockedValue { state in
            // Mutated in place: a local copy would copy the bucket array on every request.
            if let bucket { state.latency[upstream].counts[bucket] += 1 }
            state.latency[upstream].sum += seconds
            state.latency[upstream].count += 1
        }
    }

    /// A request of an authenticated identity was refused with error `code`.
    func identityDenied(_ identity: String, code: String) {
        self.state.withLockedValue { $0.identities.denied(identity, code: code) }
    }

    func connectionOpened() { self.state.withLockedValue { $0.openConnections += 1 } }
    func connectionClosed() { self.state.withLockedValue { $0.openConnections -= 1 } }
    /// A connection closed at accept; `perAddress` if for its address's limit.
    func connectionRejected(perAddress: Bool = false) {
        self.state.withLockedValue { state in
            state.rejectedConnections += 1
            if perAddress { state.rejectedPerAddress += 1 }
        }
    }

    /// Client connections open now.
    public var openConnections: Int { self.state.withLockedValue { $0.openConnections } }

    /// Requests answered since start, by status (0 for a status outside 100–599).
    public var requestsByStatus: [Int: Int] { self.state.withLockedValue { $0.requestsByStatus } }

    /// The metrics in Prometheus text format (``PrometheusExposition``).
    public func render() -> String {
        let state = self.state.withLockedValue { $0 }
        var text = PrometheusExposition()
        text.family("lmgate_proxy_requests_total", type: .counter, help: "Requests answered, by HTTP status.")
        for (status, count) in state.requestsByStatus.sorted(by: { $0.key < $1.key }) {
            text.sample("lmgate_proxy_requests_total", labels: [("status", String(status))], value: count)
        }
        text.family(
            "lmgate_proxy_upstream_response_seconds", type: .histogram,
            help: "Time from request sent to response head received.")
        for (index, histogram) in state.latency.enumerated() {
            text.histogram(
                "lmgate_proxy_upstream_response_seconds", labels: [("upstream", "\(self.balancer.upstreams[index])")],
                bounds: Self.latencyBuckets, counts: histogram.counts, sum: histogram.sum, count: histogram.count)
        }
        text.single(
            "lmgate_proxy_open_connections", type: .gauge, help: "Client connections open now.",
            value: state.openConnections)
        text.single(
            "lmgate_proxy_rejected_connections_total", type: .counter,
            help: "Connections closed at accept for exceeding the limit.", value: state.rejectedConnections)
        text.single(
            "lmgate_proxy_rejected_connections_per_address_total", type: .counter,
            help: "Connections closed at accept for exceeding the per-address limit.", value: state.rejectedPerAddress)
        text.family("lmgate_proxy_upstream_up", type: .gauge, help: "Whether an upstream is in rotation.")
        for (index, upstream) in self.balancer.upstreams.enumerated() {
            text.sample("lmgate_proxy_upstream_up", labels: [("upstream", "\(upstream)")], value: self.balancer.isUp(index) ? 1 : 0)
        }
        upstreamQueue?.renderMetrics(into: &text)
        state.identities.render(into: &text)
        return text.text
    }
}
