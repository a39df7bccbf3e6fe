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
enum ClientHTTPPipeline {
    /// The handlers, in pipeline order: response encoder, request decoder,
    /// response header validation.
    static func makeHandlers(maxHeaderBytes: Int) -> [any ChannelHandler] {
        var limits = NIOHTTPDecoderLimitConfiguration()
        limits.maxHeaderListSize = maxHeaderBytes
        limits.maxHeaderFieldSize = maxHeaderBytes
        var encoderConfiguration = HTTPResponseEncoder.Configuration()
        encoderConfiguration.automaticallySetFramingHeaders = false
        let decoder = HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes, limitConfiguration: limits)
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
}
