import Logging
import Proxy
import ServiceLifecycle
import UnixSignals

/// A started proxy as a service: SIGHUP reloads its certificates and access
/// control until graceful shutdown begins; then it stops accepting and lets
/// open requests finish (bounded by its shutdown grace period).
///
/// The proxy is started before the service group runs, so that a bad
/// configuration or a port in use ends the command with a clear error
/// before anything else runs; this service owns it from then on.
public struct ProxyService: Service {
    let runtime: ProxyRuntime
    let logger: Logger
    /// Trapped when the service is made, right after the proxy started
    /// (until then SIGHUP's default action ends the process); a SIGHUP that
    /// arrives before the group runs waits in the sequence.
    let reloads: UnixSignalsSequence

    public init(runtime: ProxyRuntime, logger: Logger) async {
        self.runtime = runtime
        self.logger = logger
        self.reloads = await UnixSignalsSequence(trapping: .sighup)
    }

    public func run() async throws {
        for await _ in self.reloads.cancelOnGracefulShutdown() {
            self.runtime.reload()
        }
        self.logger.info("shutting down: no new connections, letting open requests finish")
        await self.runtime.shutdown()
    }
}
