import Logging
import NIOCore
import NIOPosix
import Proxy

/// A real TLS server on 127.0.0.1 for the integration tests: ``TLSHandler``
/// in front of ``TLSTestResponder``, each connection taking the store's
/// current context.
final class TLSTestServer {
    let channel: Channel
    let events: TLSTestEventLog
    var port: Int { channel.localAddress?.port ?? 0 }

    private init(channel: Channel, events: TLSTestEventLog) {
        self.channel = channel
        self.events = events
    }

    static func start(store: TLSCertificateStore, handshakeTimeout: TimeAmount = .seconds(10)) async throws -> TLSTestServer {
        let events = TLSTestEventLog()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let tls = try TLSHandler(context: store.current, handshakeTimeout: handshakeTimeout)
                    try channel.pipeline.syncOperations.addHandlers(tls, TLSTestResponder(events: events))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        return TLSTestServer(channel: channel, events: events)
    }

    func stop() async throws {
        try await channel.close()
    }
}

/// Answers `GET` with a tiny HTTP response and closes; echoes anything else.
/// Records handshake events and errors in the server's event log.
final class TLSTestResponder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    static let body = "hello over TLS"
    private let events: TLSTestEventLog
    private var received = ""

    init(events: TLSTestEventLog) {
        self.events = events
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let completed = event as? TLSHandshakeCompleted {
            events.append("handshake \(completed.protocolVersion) alpn=\(completed.negotiatedProtocol ?? "-") sni=\(completed.serverName ?? "-")")
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if let error = error as? TLSError {
            events.append("error \(error.code)")
        } else {
            events.append("error \(error)")
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        let text = buffer.readString(length: buffer.readableBytes) ?? ""
        received += text
        if received.hasPrefix("GET ") {
            guard received.contains("\r\n\r\n") else { return }
            let response = "HTTP/1.1 200 OK\r\nContent-Length: \(Self.body.utf8.count)\r\nConnection: close\r\n\r\n\(Self.body)"
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: response))).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        } else {
            received = ""
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: text)), promise: nil)
        }
    }
}
