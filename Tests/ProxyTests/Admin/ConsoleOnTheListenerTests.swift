import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing
@testable import Proxy

/// The console on a real proxy listener: `/admin` is answered by the proxy
/// and never forwarded, and on a connection that pipelines API requests
/// around a console request every response comes back in request order.
@Suite struct ConsoleOnTheListenerTests {
    /// Writes `requests` in one go and reads until the proxy closes the connection.
    ///
    /// The requests are written, and the 10 s limit set, on the event loop as
    /// the connection becomes active: written after an `await`, they once
    /// waited 47 s for a thread of Swift's cooperative pool (taken by the
    /// suites computing beside this one) while the proxy's request-head
    /// timeout ran, and the write then found the connection closed.
    static func exchange(_ requests: String, port: Int) async throws -> String {
        let received = NIOLockedValueBox("")
        final class Collector: ChannelInboundHandler, Sendable {
            typealias InboundIn = ByteBuffer
            let received: NIOLockedValueBox<String>
            let requests: String
            init(_ received: NIOLockedValueBox<String>, requests: String) {
                self.received = received
                self.requests = requests
            }
            func channelActive(context: ChannelHandlerContext) {
                context.writeAndFlush(NIOAny(ByteBuffer(string: self.requests)), promise: nil)
                let channel = context.channel
                channel.eventLoop.scheduleTask(in: .seconds(10)) { channel.close(promise: nil) }
                context.fireChannelActive()
            }
            func channelRead(context: ChannelHandlerContext, data: NIOAny) {
                let text = String(buffer: self.unwrapInboundIn(data))
                self.received.withLockedValue { $0 += text }
            }
        }
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Collector(received, requests: requests))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        try await channel.closeFuture.get()
        return received.withLockedValue { $0 }
    }

    @Test func pipelinedConsoleAndAPIRequestsAreAnsweredInOrderAndAdminIsNeverForwarded() async throws {
        let upstream = try await TestUpstream.start(name: "u1", group: MultiThreadedEventLoopGroup.singleton)
        let fixtures = try AccessFixtures.make(users: ["alice"])
        defer { fixtures.remove() }
        let key = try fixtures.addKey("ops", scope: .admin)
        var configuration = try ProxyConfigurationLoader.load(file: nil, environment: [:], overrides: [
            .init(key: "listen", values: ["127.0.0.1:0"]), .init(key: "upstreams", values: [upstream.url]),
            .init(key: "access_log", value: "false"),
        ])
        configuration.access = try fixtures.control().configuration
        let access = try AccessControl(configuration: configuration.access, logger: quietLogger, listeners: configuration.listeners)
        let server = ProxyServer(configuration: configuration, group: MultiThreadedEventLoopGroup.singleton, logger: quietLogger, admission: access)
        try await server.start()
        let port = try #require(server.listeningAddresses.first?.port)

        let text = try await Self.exchange(
            "GET /sse/3 HTTP/1.1\r\nHost: gw\r\nx-api-key: \(key)\r\n\r\n"
                + "GET /admin/login HTTP/1.1\r\nHost: gw\r\n\r\n"
                + "GET /admin/keys HTTP/1.1\r\nHost: gw\r\nx-api-key: \(key)\r\n\r\n"
                + "GET /name HTTP/1.1\r\nHost: gw\r\nx-api-key: \(key)\r\nConnection: close\r\n\r\n",
            port: port)
        let marks = ["{\"index\":2}", "Log in to the lmgate console", "location: /admin/login", "\r\n\r\nu1"].map { text.range(of: $0)?.lowerBound }
        #expect(marks.allSatisfy { $0 != nil }, "\(text)")
        let positions = marks.compactMap { $0 }
        #expect(positions == positions.sorted(), "responses out of order: \(text)")
        // The stream and /name went upstream; neither console request did (an API key is no console session).
        #expect(upstream.requests == 2)

        // A connection whose first request is the console's (the console's
        // handler joins the pipeline then, in the middle of a read): the rest
        // of that read reaches it, and an API request behind it is forwarded after it.
        let consoleFirst = try await Self.exchange(
            "POST /admin/login HTTP/1.1\r\nHost: gw\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 21\r\n\r\n"
                + "user=nobody&password="
                + "GET /name HTTP/1.1\r\nHost: gw\r\nx-api-key: \(key)\r\nConnection: close\r\n\r\n",
            port: port)
        #expect(consoleFirst.components(separatedBy: "HTTP/1.1 ").count == 3, "two responses: \(consoleFirst)")
        #expect(consoleFirst.hasSuffix("u1"), "the API request answered last: \(consoleFirst)")
        #expect(upstream.requests == 3, "only /name went upstream")

        // Turned off, /admin is forwarded again for an admin key.
        await server.shutdown()
        configuration.console.enabled = false
        let plain = ProxyServer(configuration: configuration, group: MultiThreadedEventLoopGroup.singleton, logger: quietLogger, admission: access)
        try await plain.start()
        let forwarded = try await Self.exchange(
            "GET /admin/keys HTTP/1.1\r\nHost: gw\r\nx-api-key: \(key)\r\nConnection: close\r\n\r\n",
            port: try #require(plain.listeningAddresses.first?.port))
        #expect(forwarded.hasPrefix("HTTP/1.1 404") && forwarded.hasSuffix("not found") && upstream.requests == 4, "\(forwarded)")
        await plain.shutdown()
        try await upstream.stop()
    }
}
