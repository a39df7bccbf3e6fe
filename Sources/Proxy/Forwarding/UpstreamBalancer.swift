import NIOConcurrencyHelpers
import NIOCore

/// Chooses the upstream for each request and tracks which upstreams are up.
///
/// Balancing is by least outstanding requests, counted across all event
/// loops; ties go round-robin. An upstream that refuses or times out a
/// connection is marked down and receives no requests until a probe by
/// ``UpstreamHealthProber`` reaches it; probes back off from
/// `probeInterval` to `maxProbeInterval`. When every upstream is down the
/// proxy still tries them, so a single upstream that restarted is found again
/// without waiting for a probe.
public final class UpstreamBalancer: Sendable {
    /// The upstreams, in configuration order; indices identify them elsewhere.
    public let upstreams: [UpstreamAddress]
    /// The `Host` header value for each upstream, made once.
    let hostHeaders: [String]
    private let health: ProxyConfiguration.HealthChecking
    private let state: NIOLockedValueBox<State>

    private struct UpstreamState {
        var outstanding = 0
        var isUp = true
        var probeDelay: TimeAmount = .zero
        var nextProbe: NIODeadline = .distantPast
    }

    private struct State {
        var upstreams: [UpstreamState]
        var nextTieBreak = 0
    }

    public init(upstreams: [UpstreamAddress], health: ProxyConfiguration.HealthChecking) {
        self.upstreams = upstreams
        self.hostHeaders = upstreams.map(\.hostHeader)
        self.health = health
        self.state = NIOLockedValueBox(State(upstreams: Array(repeating: UpstreamState(), count: upstreams.count)))
    }

    /// Picks an upstream not in `excluded` and counts a request against it;
    /// every successful pick must be matched by ``finished(_:)``.
    func pick(excluding excluded: [Int] = []) -> Int? {
        self.state.withLockedValue { state in
            let count = state.upstreams.count
            guard count > 0 else { return nil }
            let start = state.nextTieBreak % count
            state.nextTieBreak &+= 1
            var best: Int?
            for wantUp in [true, false] {
                for offset in 0..<count {
                    let index = (start + offset) % count
                    let candidate = state.upstreams[index]
                    guard candidate.isUp == wantUp, !excluded.contains(index) else { continue }
                    if best == nil || candidate.outstanding < state.upstreams[best!].outstanding {
                        best = index
                    }
                }
                if best != nil { break }
            }
            if let best { state.upstreams[best].outstanding += 1 }
            return best
        }
    }

    /// Ends a request counted by ``pick(excluding:)``.
    func finished(_ index: Int) {
        self.state.withLockedValue { $0.upstreams[index].outstanding -= 1 }
    }

    /// Takes an upstream out of rotation after a failed connection or probe.
    func markDown(_ index: Int, now: NIODeadline = .now()) {
        self.state.withLockedValue { state in
            var upstream = state.upstreams[index]
            let first = TimeAmount(self.health.probeInterval)
            upstream.probeDelay =
                upstream.isUp ? first : min(upstream.probeDelay * 2, TimeAmount(self.health.maxProbeInterval))
            upstream.isUp = false
            upstream.nextProbe = now + upstream.probeDelay
            state.upstreams[index] = upstream
        }
    }

    /// Puts an upstream back into rotation.
    func markUp(_ index: Int) {
        self.state.withLockedValue { state in
            state.upstreams[index].isUp = true
            state.upstreams[index].probeDelay = .zero
        }
    }

    /// Whether an upstream is currently in rotation.
    public func isUp(_ index: Int) -> Bool {
        self.state.withLockedValue { $0.upstreams[index].isUp }
    }

    /// Requests currently in flight to an upstream.
    public func outstanding(_ index: Int) -> Int {
        self.state.withLockedValue { $0.upstreams[index].outstanding }
    }

    /// Down upstreams whose next probe is due; each is scheduled out of the
    /// way until the probe reports back.
    func upstreamsDueForProbe(now: NIODeadline = .now()) -> [Int] {
        self.state.withLockedValue { state in
            var due: [Int] = []
            for index in state.upstreams.indices where !state.upstreams[index].isUp && state.upstreams[index].nextProbe <= now {
                due.append(index)
                state.upstreams[index].nextProbe = .distantFuture
            }
            return due
        }
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
