import Logging
import NIOConcurrencyHelpers
import Proxy
import ServiceLifecycle
import Testing
@testable import Gateway

/// Start-up, signals and shutdown order of `lmgate serve` and `lmgate proxy`
/// as services: the proxy drains before the backend stops, a started proxy
/// stops accepting on graceful shutdown, and the banner waits for readiness.
@Suite struct GatewayServicesTests {
    private let logger: Logger = {
        var logger = Logger(label: "test.gateway")
        logger.logLevel = .critical
        return logger
    }()

    /// Records when graceful shutdown reached it.
    struct RecordingService: Service {
        let name: String
        let stops: NIOLockedValueBox<[String]>
        func run() async throws {
            try? await gracefulShutdown()
            self.stops.withLockedValue { $0.append(self.name) }
        }
    }

    @Test func serveStopsTheBannerThenTheProxyThenTheBackend() async throws {
        let stops = NIOLockedValueBox<[String]>([])
        let services = GatewayServices.serveOrder(
            backend: RecordingService(name: "backend", stops: stops),
            proxy: RecordingService(name: "proxy", stops: stops),
            announcement: RecordingService(name: "announcement", stops: stops))
        let group = GatewayServices.group(services, logger: self.logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        #expect(stops.withLockedValue { $0 } == ["announcement", "proxy", "backend"])
    }

    @Test func aProxyServiceStopsAcceptingOnGracefulShutdown() async throws {
        let runtime = try await ProxyRuntime.start(
            file: nil, environment: [:],
            overrides: [
                ConfigurationOverride(key: "listen", value: "127.0.0.1:0"),
                ConfigurationOverride(key: "upstreams", value: "http://127.0.0.1:9"),
                ConfigurationOverride(key: "access_log", value: "false"),
            ],
            logger: self.logger)
        #expect(!runtime.server.listeningAddresses.isEmpty)
        let group = GatewayServices.proxy(await ProxyService(runtime: runtime, logger: self.logger), logger: self.logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        #expect(runtime.server.listeningAddresses.isEmpty, "the listeners are closed")
    }

    @Test func theBannerComesOnceReadyOrLateAfterTheTimeout() async throws {
        let events = NIOLockedValueBox<[String]>([])
        let checks = NIOLockedValueBox(0)
        let ready = ReadinessAnnouncement(
            isReady: { checks.withLockedValue { $0 += 1; return $0 >= 3 } },
            late: { events.withLockedValue { $0.append("late") } },
            announce: { events.withLockedValue { $0.append("banner") } })
        let never = ReadinessAnnouncement(
            timeout: .milliseconds(1),
            isReady: { false },
            late: { events.withLockedValue { $0.append("late") } },
            announce: { events.withLockedValue { $0.append("banner after late") } })
        for service in [ready, never] {
            let group = GatewayServices.group([service], logger: self.logger)
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                // The banner goes out before shutdown is asked for: it does not wait for it.
                while events.withLockedValue({ $0.count }) < (service.timeout == .milliseconds(1) ? 3 : 1) {
                    try await Task.sleep(for: .milliseconds(10))
                }
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
        }
        #expect(events.withLockedValue { $0 } == ["banner", "late", "banner after late"])
        #expect(checks.withLockedValue { $0 } == 3)
    }
}
