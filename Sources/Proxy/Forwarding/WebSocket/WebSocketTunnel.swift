import Logging
import NIOCore

/// A switched WebSocket connection: the two ``WebSocketRelayHandler``s (one
/// for the client channel, one for the upstream channel), the timer that
/// enforces ``WebSocketTunnelDeadline``, and the listener's permit, given
/// back when the connection closes.
///
/// Used only on the event loop both channels share. The relays keep the
/// tunnel (and each other) alive until they leave their pipelines; the
/// tunnel refers to them weakly.
final class WebSocketTunnel {
    private(set) weak var clientSide: WebSocketRelayHandler?
    private(set) weak var upstreamSide: WebSocketRelayHandler?
    private var deadline: WebSocketTunnelDeadline
    private let eventLoop: any EventLoop
    private var timer: Scheduled<Void>?
    private var permit: WebSocketConnectionLimit.Permit?
    private let logger: Logger
    private let clientAddress: String
    private var closed = false

    /// Makes the two relays, partnered with each other. Put
    /// ``clientSide`` and ``upstreamSide`` in their pipelines, then ``start()``.
    init(
        passthrough: WebSocketPassthrough, permit: WebSocketConnectionLimit.Permit, eventLoop: any EventLoop,
        clientAddress: String, logger: Logger
    ) {
        self.deadline = WebSocketTunnelDeadline(
            idleTimeout: passthrough.idleTimeout, maxDuration: passthrough.maxDuration, switchedAt: .now())
        self.eventLoop = eventLoop
        self.permit = permit
        self.clientAddress = clientAddress
        self.logger = logger
        let client = WebSocketRelayHandler()
        let upstream = WebSocketRelayHandler()
        (client.partner, upstream.partner) = (upstream, client)
        (client.tunnel, upstream.tunnel) = (self, self)
        (self.clientSide, self.upstreamSide) = (client, upstream)
    }

    /// Starts the timer and reading on both sides.
    func start() {
        self.scheduleCheck(at: self.deadline.nextCheck)
        self.clientSide?.startReading()
        self.upstreamSide?.startReading()
    }

    /// Bytes moved one way or the other.
    func noteActivity() {
        self.deadline.lastActivity = .now()
    }

    /// Closes both channels and gives the permit back; once.
    func close() {
        guard !self.closed else { return }
        self.closed = true
        self.timer?.cancel()
        self.timer = nil
        self.permit?.release()
        self.permit = nil
        for relay in [self.clientSide, self.upstreamSide].compactMap({ $0 }) {
            relay.close()
        }
    }

    private func scheduleCheck(at time: NIODeadline) {
        guard !self.closed else { return }
        self.timer = self.eventLoop.assumeIsolated().scheduleTask(deadline: time) { [weak self] in
            self?.check()
        }
    }

    private func check() {
        switch self.deadline.check(now: .now()) {
        case .checkAgain(let time):
            self.scheduleCheck(at: time)
        case .closeIdle:
            self.logger.info("websocket idle, closing", metadata: ["client.address": "\(self.clientAddress)"])
            self.close()
        case .closeAtMaximumDuration:
            self.logger.info(
                "websocket reached its maximum duration, closing", metadata: ["client.address": "\(self.clientAddress)"])
            self.close()
        }
    }
}
