import NIOCore
import NIOPosix
import Proxy

/// A client connection through a client-mode ``TLSHandler``, used to hold a
/// connection open across a certificate reload and to see which certificate
/// the server presented.
final class TLSTestClient {
    let channel: Channel
    let handshake: TLSHandshakeCompleted
    private var received: AsyncStream<String>.Iterator

    private init(channel: Channel, handshake: TLSHandshakeCompleted, received: AsyncStream<String>) {
        self.channel = channel
        self.handshake = handshake
        self.received = received.makeAsyncIterator()
    }

    static func connect(port: Int, context: TLSContext, serverName: String? = "localhost") async throws -> TLSTestClient {
        let handshakePromise = MultiThreadedEventLoopGroup.singleton.any().makePromise(of: TLSHandshakeCompleted.self)
        let (stream, continuation) = AsyncStream.makeStream(of: String.self)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers(
                        TLSHandler(context: context, serverName: serverName),
                        TLSHandshakeWaiter(promise: handshakePromise, received: continuation))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return TLSTestClient(channel: channel, handshake: try await handshakePromise.futureResult.get(), received: stream)
    }

    /// Sends `text` to the echoing test server and returns what came back.
    func echo(_ text: String) async throws -> String {
        try await channel.writeAndFlush(ByteBuffer(string: text))
        var answer = ""
        while answer.utf8.count < text.utf8.count, let chunk = await received.next() {
            answer += chunk
        }
        return answer
    }

    func close() async throws {
        try await channel.close()
    }
}

/// Completes a promise with the ``TLSHandshakeCompleted`` event (or fails
/// it) and passes received text to the client's stream.
private final class TLSHandshakeWaiter: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    private let promise: EventLoopPromise<TLSHandshakeCompleted>
    private let received: AsyncStream<String>.Continuation

    init(promise: EventLoopPromise<TLSHandshakeCompleted>, received: AsyncStream<String>.Continuation) {
        self.promise = promise
        self.received = received
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        received.yield(buffer.readString(length: buffer.readableBytes) ?? "")
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let completed = event as? TLSHandshakeCompleted { promise.succeed(completed) }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        promise.fail(error)
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(ChannelError.ioOnClosedChannel)
        received.finish()
        context.fireChannelInactive()
    }
}
