import ServiceLifecycle

/// The supervised backend as a service: on graceful shutdown it asks the
/// backend to stop (SIGTERM, then SIGKILL after `grace`).
///
/// Started before the service group runs, like ``ProxyService``; listed
/// before the proxy in ``GatewayServices/serve(backend:proxy:announcement:logger:)``
/// so that it stops after it: open streams through the proxy still need it.
public struct BackendService: Service {
    let supervisor: BackendSupervisor
    let grace: Duration

    public init(supervisor: BackendSupervisor, grace: Duration = .seconds(10)) {
        self.supervisor = supervisor
        self.grace = grace
    }

    public func run() async throws {
        try? await gracefulShutdown()
        await self.supervisor.stop(grace: self.grace)
    }
}
