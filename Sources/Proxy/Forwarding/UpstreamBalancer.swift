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
///
/// With fair queuing (``UpstreamQueue``), each upstream has its own slots
/// (``setSlots(_:)``): a request admitted to a slot goes to the up upstream
/// with the most free slots, so no upstream gets more than its slots while
/// another has one free. The queue admits no more requests than all the
/// up upstreams' slots together (``observeAvailability(_:)`` tells it which
/// are up), so one is always free for an admitted request.
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
        /// Requests holding one of its queue slots.
        var slotsInUse = 0
    }

    private struct State {
        var upstreams: [UpstreamState]
        var nextTieBreak = 0
        /// Each upstream's queue slots; `nil` without fair queuing.
        var slots: [Int]?
        /// Told which upstreams are up whenever one goes down or comes back.
        var availabilityObserver: (@Sendable ([Bool]) -> Void)?
    }

    public init(upstreams: [UpstreamAddress], health: ProxyConfiguration.HealthChecking) {
        self.upstreams = upstreams
        self.hostHeaders = upstreams.map(\.hostHeader)
        self.health = health
        self.state = NIOLockedValueBox(State(upstreams: Array(repeating: UpstreamState(), count: upstreams.count)))
    }

    /// Sets each upstream's queue slots (in the order of ``upstreams``), or
    /// `nil` without fair queuing. Requests holding slots keep them.
    func setSlots(_ slots: [Int]?) {
        self.state.withLockedValue { $0.slots = slots?.count == $0.upstreams.count ? slots : nil }
    }

    /// Calls `observer` with which upstreams are up (in the order of
    /// ``upstreams``) now and whenever one goes down or comes back.
    func observeAvailability(_ observer: @escaping @Sendable ([Bool]) -> Void) {
        let up = self.state.withLockedValue { state in
            state.availabilityObserver = observer
            return state.upstreams.map(\.isUp)
        }
        observer(up)
    }

    /// Tells the observer, outside the lock, when `change` turned an upstream's state.
    private func changingAvailability(_ change: (inout State) -> Bool) {
        let notice = self.state.withLockedValue { state -> (([Bool]) -> Void, [Bool])? in
            guard change(&state), let observer = state.availabilityObserver else { return nil }
            return (observer, state.upstreams.map(\.isUp))
        }
        if let (observer, up) = notice { observer(up) }
    }

    /// Picks an upstream not in `excluded` and counts a request against it;
    /// every successful pick must be matched by ``finished(_:)``. A request
    /// `holdingSlot` (admitted by the ``UpstreamQueue``) goes to the up
    /// upstream with the most free slots, and counts against them until
    /// ``releaseSlot(_:)``.
    func pick(excluding excluded: TriedUpstreams = [], holdingSlot: Bool = false) -> Int? {
        self.state.withLockedValue { state in
            let count = state.upstreams.count
            guard count > 0 else { return nil }
            let start = state.nextTieBreak % count
            state.nextTieBreak &+= 1
            if holdingSlot, let slots = state.slots {
                var most: (index: Int, free: Int)?
                for offset in 0..<count {
                    let index = (start + offset) % count
                    let candidate = state.upstreams[index]
                    guard candidate.isUp, !excluded.contains(index) else { continue }
                    let free = slots[index] - candidate.slotsInUse
                    if free > (most?.free ?? 0) { most = (index, free) }
                }
                if let most {
                    state.upstreams[most.index].outstanding += 1
                    state.upstreams[most.index].slotsInUse += 1
                    return most.index
                }
            }
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
            if let best {
                state.upstreams[best].outstanding += 1
                if holdingSlot { state.upstreams[best].slotsInUse += 1 }
            }
            return best
        }
    }

    /// Gives back a slot a request held at `index` (``pick(excluding:holdingSlot:)``).
    func releaseSlot(_ index: Int) {
        self.state.withLockedValue { $0.upstreams[index].slotsInUse -= 1 }
    }

    /// Requests holding a queue slot at each upstream.
    func slotsInUse(_ index: Int) -> Int {
        self.state.withLockedValue { $0.upstreams[index].slotsInUse }
    }

    /// Ends a request counted by ``pick(excluding:)``.
    func finished(_ index: Int) {
        self.state.withLockedValue { $0.upstreams[index].outstanding -= 1 }
    }

    /// Takes an upstream out of rotation after a failed connection or probe.
    func markDown(_ index: Int, now: NIODeadline = .now()) {
        self.changingAvailability { state in
            var upstream = state.upstreams[index]
            let wasUp = upstream.isUp
            let first = TimeAmount(self.health.probeInterval)
            upstream.probeDelay = wasUp ? first : min(upstream.probeDelay * 2, TimeAmount(self.health.maxProbeInterval))
            upstream.isUp = false
            upstream.nextProbe = now + upstream.probeDelay
            state.upstreams[index] = upstream
            return wasUp
        }
    }

    /// Puts an upstream back into rotation.
    func markUp(_ index: Int) {
        self.changingAvailability { state in
            let wasUp = state.upstreams[index].isUp
            state.upstreams[index].isUp = true
            state.upstreams[index].probeDelay = .zero
            return !wasUp
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
