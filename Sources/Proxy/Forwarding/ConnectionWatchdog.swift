import NIOCore

/// Holds a client connection to the deadline of the phase it is in, with a
/// single scheduled check.
///
/// Changing phase only records the new phase; the scheduled check is moved
/// only when the new phase needs an earlier one. When the check runs and the
/// deadline has moved on (activity was recorded, or the phase changed), it
/// re-arms for the new deadline. So a keep-alive connection in steady state
/// schedules no timer per request. Used only on the connection's event loop.
final class ConnectionWatchdog {
    /// What is being timed.
    enum Phase {
        case none
        /// A complete request head must arrive by `since` + the request head timeout.
        case requestHead(since: NIODeadline)
        /// A pause in the request body may not exceed the client body
        /// timeout, nor the whole body its ``RequestBodyDeadline`` (counted
        /// from the head, less the time the proxy held the client's reads).
        case clientBody(Exchange)
        /// The upstream must answer, and keep answering, within the upstream read timeout.
        case upstreamRead(Exchange)
        /// The client has not taken response bytes since this time (its
        /// socket is not writable); it must within the client send timeout.
        case clientSend(since: NIODeadline)
        /// A connection closing after an error is closed at this time.
        case linger(until: NIODeadline)
    }

    private let settings: ForwardingSettings
    private let eventLoop: any EventLoop
    /// Called with the phase whose deadline passed.
    private let expired: (Phase) -> Void
    private(set) var phase = Phase.none
    private var check: Scheduled<Void>?
    private var checkAt = NIODeadline.distantFuture

    init(settings: ForwardingSettings, eventLoop: any EventLoop, expired: @escaping (Phase) -> Void) {
        self.settings = settings
        self.eventLoop = eventLoop
        self.expired = expired
    }

    /// Enters a phase (``Phase/none`` to stop timing).
    func enter(_ phase: Phase) {
        self.phase = phase
        let deadline = self.deadline(of: phase)
        if deadline < self.checkAt { self.schedule(at: deadline) }
    }

    /// Stops timing for good (the connection closed).
    func stop() {
        self.phase = .none
        self.check?.cancel()
        self.check = nil
        self.checkAt = .distantFuture
    }

    private func deadline(of phase: Phase) -> NIODeadline {
        switch phase {
        case .none: return .distantFuture
        case .requestHead(let since): return since + self.settings.requestHeadTimeout
        case .clientBody(let exchange):
            let idle = exchange.lastActivity + self.settings.clientBodyTimeout
            let body = RequestBodyDeadline(started: exchange.started + exchange.bodyTimeNotCounted, settings: self.settings)
            return min(idle, body.deadline(bytesReceived: exchange.requestBodyBytes))
        case .upstreamRead(let exchange): return exchange.lastActivity + self.settings.upstreamReadTimeout
        case .clientSend(let since): return since + self.settings.clientSendTimeout
        case .linger(let until): return until
        }
    }

    private func schedule(at deadline: NIODeadline) {
        self.check?.cancel()
        self.checkAt = deadline
        self.check = self.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) {
            self.checkDeadline()
        }
    }

    private func checkDeadline() {
        self.check = nil
        self.checkAt = .distantFuture
        let deadline = self.deadline(of: self.phase)
        if deadline > .now() {
            if deadline != .distantFuture { self.schedule(at: deadline) }
            return
        }
        let phase = self.phase
        self.phase = .none
        self.expired(phase)
    }
}
