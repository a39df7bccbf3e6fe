import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

/// A WebSocket echo server on a loopback port, built on NIO's own WebSocket
/// support, for the passthrough tests.
///
/// It switches on any path but `/refuse` (answered 403 as plain HTTP),
/// sends a text frame `hello` right after its 101 (so the proxy must relay
/// bytes that arrive with the 101), and echoes every text and binary frame.
final class WebSocketEchoUpstream: Sendable {
    private let channel: any Channel
    private let state: NIOLockedValueBox<State>

    private struct State {
        var open = 0
        var handshakes: [HTTPRequestHead] = []
    }

    var port: Int { self.channel.localAddress?.port ?? 0 }
    var url: String { "http://127.0.0.1:\(self.port)" }
    /// WebSocket connections open now.
    var openConnections: Int { self.state.withLockedValue { $0.open } }
    /// Every handshake head received, switched or not.
    var handshakes: [HTTPRequestHead] { self.state.withLockedValue { $0.handshakes } }

    private init(channel: any Channel, state: NIOLockedValueBox<State>) {
        self.channel = channel
        self.state = state
    }

    static func start(group: any EventLoopGroup) async throws -> WebSocketEchoUpstream {
        let state = NIOLockedValueBox(State())
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                let upgrader = NIOWebSocketServerUpgrader(
                    maxFrameSize: 1 << 20,
                    shouldUpgrade: { channel, head in
                        state.withLockedValue { $0.handshakes.append(head) }
                        return channel.eventLoop.makeSucceededFuture(head.uri == "/refuse" ? nil : HTTPHeaders())
                    },
                    upgradePipelineHandler: { channel, _ in
                        channel.eventLoop.makeCompletedFuture {
                            let pipeline = channel.pipeline.syncOperations
                            _ = pipeline.removeHandler(try pipeline.handler(type: RefusingHandler.self))
                            try pipeline.addHandler(EchoHandler(state: state))
                        }
                    })
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                        withServerUpgrade: (upgraders: [upgrader], completionHandler: { _ in }))
                    try channel.pipeline.syncOperations.addHandler(RefusingHandler())
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        return WebSocketEchoUpstream(channel: channel, state: state)
    }

    func stop() async throws {
        try await self.channel.close()
    }

    /// Answers a request that did not switch: 403.
    private final class RefusingHandler: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard case .end = self.unwrapInboundIn(data) else { return }
            let head = HTTPResponseHead(version: .http1_1, status: .forbidden, headers: ["content-length": "0"])
            context.write(self.wrapOutboundOut(.head(head)), promise: nil)
            context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
        }
    }

    /// Greets, then echoes data frames and answers pings and closes.
    private final class EchoHandler: ChannelInboundHandler {
        typealias InboundIn = WebSocketFrame
        typealias OutboundOut = WebSocketFrame
        let state: NIOLockedValueBox<State>

        init(state: NIOLockedValueBox<State>) {
            self.state = state
        }

        func handlerAdded(context: ChannelHandlerContext) {
            self.state.withLockedValue { $0.open += 1 }
            let greeting = WebSocketFrame(fin: true, opcode: .text, data: context.channel.allocator.buffer(string: "hello"))
            context.writeAndFlush(self.wrapOutboundOut(greeting), promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            self.state.withLockedValue { $0.open -= 1 }
            context.fireChannelInactive()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let frame = self.unwrapInboundIn(data)
            switch frame.opcode {
            case .text, .binary, .continuation:
                let echo = WebSocketFrame(fin: frame.fin, opcode: frame.opcode, data: frame.unmaskedData)
                context.writeAndFlush(self.wrapOutboundOut(echo), promise: nil)
            case .ping:
                context.writeAndFlush(self.wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)), promise: nil)
            case .connectionClose:
                let close = WebSocketFrame(fin: true, opcode: .connectionClose, data: frame.unmaskedData)
                context.writeAndFlush(self.wrapOutboundOut(close)).assumeIsolated().whenComplete { _ in
                    context.close(promise: nil)
                }
            default:
                break
            }
        }
    }
}
