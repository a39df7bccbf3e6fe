import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing
@testable import Proxy

/// Server-sent events pass through the proxy one at a time, never in a lump.
@Suite struct StreamingTests {
    /// What the client saw: for each event, how many events the upstream had
    /// sent when the event arrived.
    private final class EventRecorder: ChannelInboundHandler {
        typealias InboundIn = HTTPClientResponsePart

        let upstream: TestUpstream
        let done: EventLoopPromise<[(index: Int, sentWhenReceived: Int)]>
        var arrivals: [(index: Int, sentWhenReceived: Int)] = []
        var pending = ""

        init(upstream: TestUpstream, done: EventLoopPromise<[(index: Int, sentWhenReceived: Int)]>) {
            self.upstream = upstream
            self.done = done
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch self.unwrapInboundIn(data) {
            case .head:
                break
            case .body(let buffer):
                let sent = self.upstream.eventsSent
                self.pending += String(buffer: buffer)
                while let end = self.pending.range(of: "\n\n") {
                    let event = self.pending[..<end.lowerBound]
                    self.pending = String(self.pending[end.upperBound...])
                    if let open = event.range(of: "\"index\":"), let index = Int(event[open.upperBound...].prefix { $0.isNumber }) {
                        self.arrivals.append((index, sent))
                    }
                }
            case .end:
                self.done.succeed(self.arrivals)
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            self.done.fail(error)
            context.close(promise: nil)
        }

        /// A connection that ends before the response does fails the test
        /// with that reason (a promise left open would crash the test run).
        func channelInactive(context: ChannelHandlerContext) {
            self.done.fail(ConnectionClosedEarly(arrivals: self.arrivals.count))
        }
    }

    private struct ConnectionClosedEarly: Error, CustomStringConvertible {
        let arrivals: Int
        var description: String { "the proxy closed the connection after \(arrivals) events, before the response ended" }
    }

    @Test func eventsArriveOneByOne() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let upstream = try await TestUpstream.start(name: "sse", group: group)
        let proxy = try await ProxyHarness.start(upstreams: [upstream.url])
        let eventCount = 20
        let loop = group.next()
        let done = loop.makePromise(of: [(index: Int, sentWhenReceived: Int)].self)
        let channel = try await ClientBootstrap(group: loop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(EventRecorder(upstream: upstream, done: done))
                }
            }
            .connect(host: "127.0.0.1", port: proxy.port)
            .get()
        // Whatever ends the test early, the promise is completed (NIO crashes on a leaked one).
        defer { done.fail(CancellationError()) }
        var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/sse/\(eventCount)")
        head.headers.add(name: "host", value: "localhost")
        head.headers.add(name: "accept", value: "text/event-stream")
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        try await channel.writeAndFlush(HTTPClientRequestPart.end(nil))

        let arrivals = try await done.futureResult.get()
        #expect(arrivals.map(\.index) == Array(0..<eventCount))
        // Event k reached the client before the upstream sent event k+6
        // (300 ms after event k): nothing was held back. A buffering proxy
        // would deliver event 0 only once all 20 were sent; the slack absorbs
        // the scheduling delays of a 2-core machine running the rest of the
        // suite in parallel (a slack of 2 failed there once).
        for arrival in arrivals {
            #expect(arrival.sentWhenReceived <= arrival.index + 6, "event \(arrival.index) arrived late")
        }
        try await channel.close()
        await proxy.stop()
        try await upstream.stop()
    }
}
