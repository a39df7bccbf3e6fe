import NIOCore

/// When a switched WebSocket connection must close: after
/// ``WebSocketPassthrough/idleTimeout`` without a byte either way, or
/// ``WebSocketPassthrough/maxDuration`` after the switch, whichever is first.
///
/// The tunnel notes activity by setting ``lastActivity`` (no timer work per
/// read) and asks ``check(now:)`` when its single timer fires.
struct WebSocketTunnelDeadline {
    enum Action: Equatable {
        /// Nothing is due yet: check again at this time.
        case checkAgain(at: NIODeadline)
        case closeIdle
        case closeAtMaximumDuration
    }

    let idleTimeout: TimeAmount
    let endsAt: NIODeadline
    var lastActivity: NIODeadline

    init(idleTimeout: TimeAmount, maxDuration: TimeAmount, switchedAt: NIODeadline) {
        self.idleTimeout = idleTimeout
        self.endsAt = switchedAt + maxDuration
        self.lastActivity = switchedAt
    }

    /// The first time anything can be due.
    var nextCheck: NIODeadline { min(self.lastActivity + self.idleTimeout, self.endsAt) }

    func check(now: NIODeadline) -> Action {
        if now >= self.endsAt { return .closeAtMaximumDuration }
        if now >= self.lastActivity + self.idleTimeout { return .closeIdle }
        return .checkAgain(at: self.nextCheck)
    }
}
