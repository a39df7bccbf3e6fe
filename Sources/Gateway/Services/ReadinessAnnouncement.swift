import ServiceLifecycle

/// Announces once that the gateway is ready (the start-up banner), when
/// `isReady` first holds or after `timeout` with `late` called instead of
/// nothing; then waits for graceful shutdown. Polls every 100 ms.
///
/// A banner invites requests, so it comes once the model is loaded: the
/// backend shows its loading progress meanwhile, and the proxy answers 503
/// until then anyway.
public struct ReadinessAnnouncement: Service {
    let isReady: @Sendable () async -> Bool
    let announce: @Sendable () -> Void
    let late: @Sendable () -> Void
    let timeout: Duration

    public init(
        timeout: Duration = .seconds(600),
        isReady: @escaping @Sendable () async -> Bool,
        late: @escaping @Sendable () -> Void,
        announce: @escaping @Sendable () -> Void
    ) {
        self.isReady = isReady
        self.announce = announce
        self.late = late
        self.timeout = timeout
    }

    public func run() async throws {
        let deadline = ContinuousClock.now + self.timeout
        var ready = await self.isReady()
        while !ready, !Task.isShuttingDownGracefully, !Task.isCancelled {
            guard ContinuousClock.now < deadline else {
                self.late()
                break
            }
            try? await Task.sleep(for: .milliseconds(100))
            ready = await self.isReady()
        }
        if !Task.isShuttingDownGracefully { self.announce() }
        try? await gracefulShutdown()
    }
}
