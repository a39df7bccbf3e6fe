import Logging
import NIOCore
import NIOPosix
@testable import Proxy

/// A ``ProxyServer`` on a loopback port chosen by the kernel, for integration tests.
struct ProxyHarness {
    let server: ProxyServer

    var port: Int { self.server.listeningAddresses.first?.port ?? 0 }
    var url: String { "http://127.0.0.1:\(self.port)" }

    /// - Parameter tls: certificate and key files; the listener uses TLS when given.
    static func start(
        upstreams: [String],
        tls: TestCertificate? = nil,
        adjust: (inout ProxyConfiguration) -> Void = { _ in }
    ) async throws -> ProxyHarness {
        var overrides: [ConfigurationOverride] = [
            .init(key: "listen", values: ["127.0.0.1:0"]),
            .init(key: "upstreams", values: upstreams),
            .init(key: "access_log", value: "false"),
        ]
        if let tls {
            overrides.append(.init(key: "tls.certificate", value: tls.certificatePath))
            overrides.append(.init(key: "tls.key", value: tls.keyPath))
        }
        var configuration = try ProxyConfigurationLoader.load(file: nil, environment: [:], overrides: overrides)
        configuration.health.probeInterval = .milliseconds(200)
        adjust(&configuration)
        let server = ProxyServer(
            configuration: configuration, group: MultiThreadedEventLoopGroup.singleton,
            logger: { var logger = Logger(label: "test.proxy"); logger.logLevel = .warning; return logger }())
        try await server.start()
        return ProxyHarness(server: server)
    }

    func stop() async {
        await self.server.shutdown()
    }
}

/// Polls `condition` every 20 ms for up to `seconds`; returns whether it came true.
/// Only used to wait for something that must happen, never to judge speed.
func eventually(within seconds: Double = 10, _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return condition()
}
