import Logging
import ServiceLifecycle

/// The service groups of the long-running commands: their start-up,
/// signals and shutdown order in one place.
///
/// SIGTERM and SIGINT begin a graceful shutdown, which a service group
/// carries out in the reverse order of its services: what was listed last
/// stops first. A second SIGINT or SIGTERM is not needed: every service's
/// shutdown is bounded (the proxy by its grace period, the backend by its
/// kill timeout).
public enum GatewayServices {
    /// `lmgate serve`: the banner goes first on shutdown, then the proxy
    /// drains (its open streams still need the backend), then the backend stops.
    public static func serve(
        backend: BackendService, proxy: ProxyService, announcement: ReadinessAnnouncement, logger: Logger
    ) -> ServiceGroup {
        self.group(self.serveOrder(backend: backend, proxy: proxy, announcement: announcement), logger: logger)
    }

    /// `serve`'s services in start-up order (the reverse of shutdown).
    static func serveOrder(backend: any Service, proxy: any Service, announcement: any Service) -> [any Service] {
        [backend, proxy, announcement]
    }

    /// `lmgate proxy`: the proxy alone.
    public static func proxy(_ proxy: ProxyService, logger: Logger) -> ServiceGroup {
        self.group([proxy], logger: logger)
    }

    /// A group of `services` (in start-up order) stopped by SIGTERM or SIGINT.
    static func group(_ services: [any Service], logger: Logger) -> ServiceGroup {
        ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
    }
}
