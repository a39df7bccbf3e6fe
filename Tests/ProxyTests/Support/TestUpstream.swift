import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// A small HTTP/1.1 server on loopback standing in for an OpenAI-compatible
/// backend. What it does depends on the path:
/// - `/name`: answers with the server's name;
/// - `/headers`: answers with the request head's fields, one `name: value` a line;
/// - `/upload`: answers with the number of body bytes received;
/// - `/bytes/N`: answers with N bytes;
/// - `/sse/N`: sends N server-sent events 50 ms apart, counting them in ``eventsSent``;
/// - `/drip`: sends a line every 20 ms until the connection closes;
/// - `/hang`: never answers;
/// - `/reset`: resets the connection (RST) without answering;
/// - `/close-if-reused`: on a connection's first request answers with the
///   number of body bytes received; on a later one closes the connection
///   without answering, as a server does whose keep-alive timeout just passed.
final class TestUpstream: Sendable {
    let name: String
    let channel: any Channel
    private let state = NIOLockedValueBox(State())

    private struct State {
        var connectionsAccepted = 0
        var requests = 0
        var eventsSent = 0
        var closedWhileDripping = 0
        var children: [any Channel] = []
    }

    var port: Int { self.channel.localAddress?.port ?? 0 }
    var url: String { "http://127.0.0.1:\(self.port)" }
    var connectionsAccepted: Int { self.state.withLockedValue { $0.connectionsAccepted } }
    var requests: Int { self.state.withLockedValue { $0.requests } }
    var eventsSent: Int { self.state.withLockedValue { $0.eventsSent } }
    var closedWhileDripping: Int { self.state.withLockedValue { $0.closedWhileDripping } }

    static func start(name: String, group: any EventLoopGroup, port: Int = 0) async throws -> TestUpstream {
        let box = NIOLockedValueBox<TestUpstream?>(nil)
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    guard let upstream = box.withLockedValue({ $0 }) else { throw ChannelError.ioOnClosedChannel }
                    upstream.state.withLockedValue {
                        $0.connectionsAccepted += 1
                        $0.children.append(channel)
                    }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(upstream: upstream))
                }
            }
            .bind(host: "127.0.0.1", port: port)
            .get()
        let upstream = TestUpstream(name: name, channel: channel)
        box.withLockedValue { $0 = upstream }
        return upstream
    }

    private init(name: String, channel: any Channel) {
        self.name = name
        self.channel = channel
    }

    /// Stops listening and closes every open connection, as a crashed server would.
    func stop() async throws {
        try await self.channel.close()
        for child in self.state.withLockedValue({ $0.children }) {
            try? await child.close()
        }
    }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let upstream: TestUpstream
        var head: HTTPRequestHead?
        var bodyBytes = 0
        var dripping = false
        /// Requests answered on this connection.
        var answered = 0
        var timer: RepeatedTask?

        init(upstream: TestUpstream) { self.upstream = upstream }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch self.unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
                self.bodyBytes = 0
                self.upstream.state.withLockedValue { $0.requests += 1 }
                if head.uri == "/reset" {
                    // SO_LINGER with a zero timeout makes close() send RST instead of FIN.
                    let channel = context.channel
                    if let provider = channel as? any SocketOptionProvider {
                        provider.setSoLinger(linger(l_onoff: 1, l_linger: 0)).whenComplete { _ in channel.close(promise: nil) }
                    } else {
                        context.close(promise: nil)
                    }
                }
            case .body(let body):
                self.bodyBytes += body.readableBytes
            case .end:
                guard let head = self.head else { return }
                self.respond(to: head, context: context)
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            self.timer?.cancel()
            if self.dripping { self.upstream.state.withLockedValue { $0.closedWhileDripping += 1 } }
            context.fireChannelInactive()
        }

        private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
            let path = head.uri
            defer { self.answered += 1 }
            if path == "/close-if-reused" {
                if self.answered == 0 {
                    self.send(String(self.bodyBytes), context: context)
                } else {
                    context.close(promise: nil)
                }
            } else if path == "/name" {
                self.send(self.upstream.name, context: context)
            } else if path == "/headers" {
                self.send(head.headers.map { "\($0.name): \($0.value)\n" }.joined(), context: context)
            } else if path == "/upload" {
                self.send(String(self.bodyBytes), context: context)
            } else if path.hasPrefix("/bytes/"), let count = Int(path.dropFirst("/bytes/".count)) {
                var headers = HTTPHeaders()
                headers.add(name: "content-length", value: String(count))
                context.write(self.wrapOutboundOut(.head(.init(version: .http1_1, status: .ok, headers: headers))), promise: nil)
                var remaining = count
                while remaining > 0 {
                    let chunk = min(remaining, 64 * 1024)
                    context.write(self.wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(repeating: 0x61, count: chunk)))), promise: nil)
                    remaining -= chunk
                }
                context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
            } else if path.hasPrefix("/sse/"), let count = Int(path.dropFirst("/sse/".count)) {
                var headers = HTTPHeaders()
                headers.add(name: "content-type", value: "text/event-stream")
                context.writeAndFlush(self.wrapOutboundOut(.head(.init(version: .http1_1, status: .ok, headers: headers))), promise: nil)
                self.sendEvents(remaining: count, index: 0, context: context)
            } else if path == "/drip" {
                self.dripping = true
                context.writeAndFlush(self.wrapOutboundOut(.head(.init(version: .http1_1, status: .ok))), promise: nil)
                let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                self.timer = context.eventLoop.scheduleRepeatedTask(initialDelay: .zero, delay: .milliseconds(20)) { _ in
                    let (handler, context) = loopBound.value
                    context.writeAndFlush(handler.wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: "tick\n")))), promise: nil)
                }
            } else if path == "/hang" {
                // Never answer.
            } else {
                self.send("not found", status: .notFound, context: context)
            }
        }

        private func sendEvents(remaining: Int, index: Int, context: ChannelHandlerContext) {
            guard remaining > 0 else {
                context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
                return
            }
            self.upstream.state.withLockedValue { $0.eventsSent = index + 1 }
            let event = context.channel.allocator.buffer(string: "data: {\"index\":\(index)}\n\n")
            context.writeAndFlush(self.wrapOutboundOut(.body(.byteBuffer(event))), promise: nil)
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(in: .milliseconds(50)) {
                let (handler, context) = loopBound.value
                handler.sendEvents(remaining: remaining - 1, index: index + 1, context: context)
            }
        }

        private func send(_ text: String, status: HTTPResponseStatus = .ok, context: ChannelHandlerContext) {
            let body = context.channel.allocator.buffer(string: text)
            var headers = HTTPHeaders()
            headers.add(name: "content-length", value: String(body.readableBytes))
            context.write(self.wrapOutboundOut(.head(.init(version: .http1_1, status: status, headers: headers))), promise: nil)
            context.write(self.wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}
