import NIOCore
import NIOHTTP1

/// The HTTP/1.1 handlers between a client connection (after TLS) and the
/// ``ForwardingHandler``: what `configureHTTPServerPipeline` would add, but
/// with every buffer bounded.
///
/// NIO's request decoder stops parsing after a head that asks for an
/// upgrade (or a CONNECT), and `ByteToMessageHandler` then keeps every byte
/// that follows: a client sending `Upgrade: websocket` and a stream of
/// bytes grew the proxy by hundreds of megabytes. Here the decoder's buffer
/// has a maximum (``maximumDecoderBufferBytes(maxHeaderBytes:)``): past it the
/// decoder fails and the connection is closed. In normal operation the
/// decoder consumes each read whole, so the bound is only ever reached
/// when parsing has stopped.
///
/// The response encoder does not set framing itself: `configureHTTPServerPipeline`
/// pairs it with the decoder (so it knows a response answers a HEAD), and
/// that pairing is not public. The ``ForwardingHandler`` frames every
/// response it writes (``ResponseFraming``) instead.
///
/// On a listener with WebSocket passthrough the decoder keeps the bytes
/// that follow an upgrade head (within the same bound) and hands them on
/// when it is removed by ``removeDecoder(from:)``; elsewhere it drops them.
enum ClientHTTPPipeline {
    /// The handlers, in pipeline order: response encoder, request decoder,
    /// response header validation.
    /// - Parameter keepingBytesAfterUpgrade: whether the decoder passes on,
    ///   when removed, what it holds after an upgrade head.
    static func makeHandlers(maxHeaderBytes: Int, keepingBytesAfterUpgrade: Bool = false) -> [any ChannelHandler] {
        var limits = NIOHTTPDecoderLimitConfiguration()
        limits.maxHeaderListSize = maxHeaderBytes
        limits.maxHeaderFieldSize = maxHeaderBytes
        var encoderConfiguration = HTTPResponseEncoder.Configuration()
        encoderConfiguration.automaticallySetFramingHeaders = false
        let decoder = HTTPRequestDecoder(
            leftOverBytesStrategy: keepingBytesAfterUpgrade ? .forwardBytes : .dropBytes, limitConfiguration: limits)
        return [
            HTTPResponseEncoder(configuration: encoderConfiguration),
            ByteToMessageHandler(decoder, maximumBufferSize: self.maximumDecoderBufferBytes(maxHeaderBytes: maxHeaderBytes)),
            NIOHTTPResponseHeadersValidator(),
        ]
    }

    /// The most bytes the request decoder may hold undecoded: room for a
    /// whole head plus one large read.
    static func maximumDecoderBufferBytes(maxHeaderBytes: Int) -> Int {
        maxHeaderBytes + 64 * 1024
    }

    /// Takes the HTTP handlers out of a connection that switched protocols,
    /// but the decoder: `relay` goes where the decoder is, and the response
    /// encoder and header validation leave at once. Handlers after the
    /// decoder (``ForwardingHandler``, CORS) are removed by their owners or,
    /// receiving nothing more, left in place.
    static func insertRelay(_ relay: some ChannelHandler, into pipeline: ChannelPipeline.SynchronousOperations) throws {
        let decoder = try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
        try pipeline.addHandler(relay, position: .after(decoder))
        _ = pipeline.removeHandler(try pipeline.handler(type: NIOHTTPResponseHeadersValidator.self))
        _ = pipeline.removeHandler(try pipeline.handler(type: HTTPResponseEncoder.self))
    }

    /// Removes the request decoder after ``insertRelay(_:into:)``. It leaves
    /// after the current event-loop turn, handing the bytes it held (sent
    /// after the upgrade head, within its bound) to the relay as it goes.
    static func removeDecoder(from pipeline: ChannelPipeline.SynchronousOperations) -> EventLoopFuture<Void> {
        do {
            return pipeline.removeHandler(try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self))
        } catch {
            return pipeline.eventLoop.makeFailedFuture(error)
        }
    }
}
