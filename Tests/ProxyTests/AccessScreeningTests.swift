import Logging
import NIOCore
import NIOPosix
import Testing
@testable import Proxy

/// A ``ProxyServer`` given ``AccessControl`` screens peers at accept: a peer
/// outside the source-IP allowlist is closed before any TLS or HTTP, and
/// counted as a rejected connection.
@Suite struct AccessScreeningTests {
    @Test func aPeerOutsideTheAllowlistIsClosedAtAccept() async throws {
        let configuration = try ProxyConfigurationLoader.load(
            file: nil, environment: [:],
            overrides: [
                .init(key: "listen", values: ["127.0.0.1:0"]), .init(key: "upstreams", values: ["http://127.0.0.1:9"]),
                .init(key: "access_log", value: "false"),
            ])
        var access = AccessConfiguration()
        access.allow = [CIDRRange("192.0.2.0/24")!]  // loopback, where the test connects from, is not in it
        let server = ProxyServer(
            configuration: configuration, group: MultiThreadedEventLoopGroup.singleton, logger: quietLogger,
            admission: try AccessControl(configuration: access, logger: quietLogger, listeners: []))
        try await server.start()
        let address = try #require(server.listeningAddresses.first)
        let client = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(to: address).get()
        // Closed by the server without a byte: the channel closes on its own
        // (closed here after a bound, so a proxy that does not screen fails below instead of hanging).
        let bound = client.eventLoop.scheduleTask(in: .seconds(10)) { client.close(promise: nil) }
        try await client.closeFuture.get()
        bound.cancel()
        #expect(server.metrics.render().contains("lmgate_proxy_rejected_connections_total 1"))
        await server.shutdown()
    }
}
