import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

/// Admits requests to the upstreams' slots (``UpstreamQueueConfiguration``),
/// in the order a ``FairQueue`` of clients decides: when every slot is
/// taken, waiting requests go up round-robin across keys and users (and
/// anonymous client addresses), higher ``QueuePriority`` first, so one
/// client's 50 queued requests do not delay another's one.
///
/// One per proxy, shared by every event loop (hence the lock). A request
/// that ``enter(client:priority:on:)`` admits, at once or later, holds a
/// slot until its ``Ticket`` is released, which the ``ForwardingHandler``
/// does wherever the exchange ends; releasing a waiting ticket (the client
/// left) takes the request out of the queue at once. A request that waits
/// longer than the configured timeout leaves the queue with
/// ``Failure/timedOut``.
///
/// Only requests that make an upstream work take a slot
/// (``takesSlot(method:webSocket:)``); listings and health checks pass.
///
/// The settings can change while the proxy runs (a configuration reload,
/// ``reconfigure(_:)``) without dropping a request: see
/// ``FairQueue/changeLimits(concurrency:totalCapacity:perClientCapacity:)``.
/// Turned off (no slots), it admits everything that waits and queues
/// nothing more; turned on, it counts only the requests admitted from then on.
public final class UpstreamQueue: Sendable {
    private let state: NIOLockedValueBox<State>
    /// How many upstreams share the slots (each has its own: their sum is
    /// the queue's; the ``UpstreamBalancer`` sends each admitted request to
    /// an upstream with a free one).
    let upstreams: Int

    /// A request waiting for a slot: completed when it leaves the queue.
    struct Waiter: Sendable {
        let promise: EventLoopPromise<Void>
        let since: NIODeadline
    }

    private struct State: Sendable {
        var configuration: UpstreamQueueConfiguration
        /// Which upstreams are up (``setUpstreamsUp(_:)``); `nil`: all.
        var upstreamsUp: [Bool]?
        var queue: FairQueue<String, Waiter>
        var counters = Counters()
        /// A moving average of the wait of recently admitted requests, in
        /// seconds: what `Retry-After` suggests when the queue is full.
        var recentWait = 0.0

        mutating func recordAdmission(after wait: TimeAmount) {
            let seconds = Double(wait.nanoseconds) / 1e9
            self.counters.admittedAfterWaiting += 1
            self.counters.waitSeconds += seconds
            self.recentWait = self.recentWait * 0.8 + seconds * 0.2
        }
    }

    /// What the queue has done so far (the metrics' counters).
    struct Counters: Sendable, Equatable {
        var admittedAtOnce = 0
        var admittedAfterWaiting = 0
        var refusedClientShareFull = 0
        var refusedQueueFull = 0
        var timedOut = 0
        /// Requests whose client left while they waited.
        var abandoned = 0
        var waitSeconds = 0.0
    }

    /// Why a waiting request left the queue without a slot.
    enum Failure: Error, Equatable {
        /// It waited the configured timeout.
        case timedOut
        /// Its ticket was released while it waited (the client left).
        case released
    }

    public init(configuration: UpstreamQueueConfiguration, upstreams: Int = 1) {
        self.upstreams = max(1, upstreams)
        let limits = Self.limits(of: configuration, upstreams: self.upstreams, up: nil)
        self.state = NIOLockedValueBox(
            State(
                configuration: configuration,
                queue: FairQueue(
                    concurrency: limits.concurrency, totalCapacity: limits.totalCapacity,
                    perClientCapacity: limits.perClientCapacity)))
    }

    /// The settings in force.
    public var configuration: UpstreamQueueConfiguration { self.state.withLockedValue { $0.configuration } }

    /// Whether requests are queued now (slots configured).
    public var isEnabled: Bool { self.configuration.isEnabled }

    /// The ``FairQueue`` limits for `configuration`; turned off, room for
    /// everything (nothing is queued then, and what waited starts). Only
    /// the slots of upstreams that are `up` count, or all of them when none
    /// is (the proxy still tries them then).
    private static func limits(
        of configuration: UpstreamQueueConfiguration, upstreams: Int, up: [Bool]?
    ) -> (concurrency: Int, totalCapacity: Int, perClientCapacity: Int) {
        guard configuration.isEnabled else { return (Int.max, Int.max, Int.max) }
        let each = configuration.slots(upstreams: upstreams)
        var slots = each.reduce(0, +)
        if let up, up.count == each.count, up.contains(true) {
            slots = zip(each, up).reduce(0) { $0 + ($1.1 ? $1.0 : 0) }
        }
        return (slots, slots + configuration.maxWaiting, configuration.maxPerIdentity)
    }

    /// Puts the limits of the state's configuration and upstreams in force;
    /// returns the waiting requests that start now (to be completed outside the lock).
    private static func applyLimits(_ state: inout State, upstreams: Int) -> [FairQueue<String, Waiter>.Start] {
        let limits = Self.limits(of: state.configuration, upstreams: upstreams, up: state.upstreamsUp)
        let started = state.queue.changeLimits(
            concurrency: limits.concurrency, totalCapacity: limits.totalCapacity, perClientCapacity: limits.perClientCapacity)
        let now = NIODeadline.now()
        for start in started { state.recordAdmission(after: now - start.job.since) }
        return started
    }

    /// Which upstreams are up, in the order of the ``UpstreamBalancer``'s
    /// upstreams: the slots of one that is down admit nothing until it is
    /// back (its running requests run on; no waiting request is dropped).
    /// Otherwise the queue would admit requests for its slots that the
    /// others, already full, can only queue in their own order.
    func setUpstreamsUp(_ up: [Bool]) {
        let upstreams = self.upstreams
        let started = self.state.withLockedValue { state -> [FairQueue<String, Waiter>.Start] in
            guard state.upstreamsUp != up else { return [] }
            state.upstreamsUp = up
            return Self.applyLimits(&state, upstreams: upstreams)
        }
        for start in started { start.job.promise.succeed() }
    }

    /// Puts new settings in force, keeping every waiting and running
    /// request (more slots admit waiting requests at once; fewer let the
    /// running ones finish). A new timeout applies to requests that start
    /// waiting from now on. Returns whether anything changed.
    @discardableResult
    public func reconfigure(_ configuration: UpstreamQueueConfiguration) -> Bool {
        let upstreams = self.upstreams
        let started = self.state.withLockedValue { state -> [FairQueue<String, Waiter>.Start]? in
            guard state.configuration != configuration else { return nil }
            state.configuration = configuration
            return Self.applyLimits(&state, upstreams: upstreams)
        }
        guard let started else { return false }
        // Completed outside the lock: callbacks may run at once on this thread.
        for start in started { start.job.promise.succeed() }
        return true
    }

    /// Whether a request takes an upstream slot: not listings, health
    /// checks and CORS preflights (GET, HEAD, OPTIONS), which an upstream
    /// answers beside its generation slots, nor WebSocket handshakes.
    static func takesSlot(method: HTTPMethod, webSocket: Bool) -> Bool {
        !webSocket && method != .GET && method != .HEAD && method != .OPTIONS
    }

    /// The client a request is queued as: its identity (`key:NAME`, or the
    /// Basic user), or for a request admitted without credentials its
    /// address (`address:192.0.2.7`; IPv6 per /64, what one host usually
    /// has), so anonymous clients take turns with each other too.
    static func client(identity: String?, address: String) -> String {
        if let identity { return identity }
        guard let parsed = IPAddress(address) else { return "address:\(address)" }
        return "address:\(FailureCountingKey(parsed, ipv6PrefixLength: 64))"
    }

    /// The outcome of ``enter(client:priority:on:)``.
    enum Entry {
        /// A slot is the request's now.
        case admitted(Ticket)
        /// The request waits: `admission` succeeds on the event loop when a
        /// slot is its, or fails with a ``Failure``.
        case queued(Ticket, admission: EventLoopFuture<Void>)
        /// The request is refused with this response and headers.
        case refused(ProxyErrorResponse, HTTPHeaders)
    }

    /// Asks for a slot for a request of `client`, from a channel on `eventLoop`.
    func enter(client: String, priority: QueuePriority, on eventLoop: any EventLoop) -> Entry {
        let waiter = Waiter(promise: eventLoop.makePromise(of: Void.self), since: .now())
        let (admission, retryAfter, configuration) = self.state.withLockedValue { state in
            let admission = state.queue.enqueue(waiter, for: client, priority: priority)
            switch admission {
            case .start: state.counters.admittedAtOnce += 1
            case .queued: break
            case .clientShareFull: state.counters.refusedClientShareFull += 1
            case .queueFull: state.counters.refusedQueueFull += 1
            }
            return (admission, Self.retryAfter(recentWait: state.recentWait), state.configuration)
        }
        switch admission {
        case .start(_, let number):
            waiter.promise.succeed()
            return .admitted(Ticket(queue: self, number: number))
        case .queued(let number):
            let timeout = eventLoop.scheduleTask(in: TimeAmount(configuration.timeout)) {
                self.expire(number)
            }
            waiter.promise.futureResult.whenComplete { _ in timeout.cancel() }
            return .queued(Ticket(queue: self, number: number), admission: waiter.promise.futureResult)
        case .clientShareFull:
            waiter.promise.fail(Failure.released)
            return .refused(
                .queueShareFull(client: client, maximum: configuration.maxPerIdentity), ["retry-after": "1"])
        case .queueFull:
            waiter.promise.fail(Failure.released)
            return .refused(
                .upstreamQueueFull(waiting: configuration.maxWaiting), ["retry-after": String(retryAfter)])
        }
    }

    /// `Retry-After` for a full queue or a timed-out wait: the recent mean
    /// wait, from 1 s to a minute.
    static func retryAfter(recentWait: Double) -> Int {
        min(60, max(1, Int(recentWait.rounded(.up))))
    }

    /// The suggested `Retry-After` now.
    var retryAfter: Int { Self.retryAfter(recentWait: self.state.withLockedValue { $0.recentWait }) }

    /// Ends a ticket: frees its slot for the next waiting request, or takes
    /// it out of the queue.
    fileprivate func end(_ number: FairQueue<String, Waiter>.Ticket) {
        let now = NIODeadline.now()
        let ending = self.state.withLockedValue { state in
            let ending = state.queue.end(number)
            switch ending {
            case .leftQueue: state.counters.abandoned += 1
            case .finished(let next?): state.recordAdmission(after: now - next.job.since)
            case .finished(nil), .unknown: break
            }
            return ending
        }
        // Completed outside the lock: callbacks may run at once on this thread.
        switch ending {
        case .leftQueue(let waiter): waiter.promise.fail(Failure.released)
        case .finished(let next?): next.job.promise.succeed()
        case .finished(nil), .unknown: break
        }
    }

    /// A waiting request's time is up: it leaves the queue, unless a slot
    /// became its meanwhile.
    private func expire(_ number: FairQueue<String, Waiter>.Ticket) {
        let waiter = self.state.withLockedValue { state -> Waiter? in
            guard state.queue.isWaiting(number), case .leftQueue(let waiter) = state.queue.end(number) else { return nil }
            state.counters.timedOut += 1
            return waiter
        }
        waiter?.promise.fail(Failure.timedOut)
    }

    /// A request's claim on a slot, waiting or holding. ``release()`` ends
    /// it once (later calls do nothing); so does the ticket going away.
    final class Ticket: Sendable {
        private let queue: UpstreamQueue
        private let number: FairQueue<String, Waiter>.Ticket

        fileprivate init(queue: UpstreamQueue, number: FairQueue<String, Waiter>.Ticket) {
            self.queue = queue
            self.number = number
        }

        func release() { self.queue.end(self.number) }

        deinit { self.queue.end(self.number) }
    }

    /// What the metrics show, taken at once.
    struct Snapshot {
        let slots: Int
        let slotsInUse: Int
        let waitingByPriority: [QueuePriority: Int]
        let counters: Counters
    }

    var snapshot: Snapshot {
        self.state.withLockedValue { state in
            Snapshot(
                slots: state.queue.concurrency, slotsInUse: state.queue.running,
                waitingByPriority: state.queue.waitingByPriority, counters: state.counters)
        }
    }
}
