import NIOCore

/// Answers a client that speaks plain HTTP to a TLS listener with a readable
/// `400` instead of a failed handshake, as nginx does ("The plain HTTP request
/// was sent to HTTPS port").
///
/// Sits before the ``TLSHandler`` and looks only at the first byte a client
/// sends: every TLS connection starts with a handshake record (content type
/// 22), while an HTTP request starts with an upper-case method name. On a TLS
/// byte the handler leaves the pipeline at once, so it costs one check per
/// connection.
final class PlainHTTPOnTLSPortHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// The TLS record type of a handshake message.
    private static let handshakeRecordType: UInt8 = 22

    private var answered = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if self.answered { return }  // discard the rest of the plain request
        let bytes = self.unwrapInboundIn(data)
        guard let first = bytes.getInteger(at: bytes.readerIndex, as: UInt8.self) else { return }
        guard first != Self.handshakeRecordType, (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(first) else {
            context.fireChannelRead(data)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            return
        }
        self.answered = true
        let response = ProxyErrorResponse.badRequest(
            "A plain HTTP request was sent to a TLS port; use https:// for this address.")
        let body = response.body(allocator: context.channel.allocator)
        var out = context.channel.allocator.buffer(capacity: body.readableBytes + 128)
        out.writeString("HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\n")
        out.writeString("content-length: \(body.readableBytes)\r\nconnection: close\r\n\r\n")
        out.writeImmutableBuffer(body)
        context.writeAndFlush(self.wrapOutboundOut(out)).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }
}
