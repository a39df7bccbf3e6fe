import NIOCore

/// One side of a switched WebSocket connection: passes every byte read on
/// its channel to its partner on the other channel, unchanged (the proxy
/// does not parse frames; both ends speak WebSocket to each other).
///
/// Back-pressure as in NIO's GlueHandler: a `read()` is held while the
/// partner's channel is not writable and released when it becomes writable
/// again, so a side that stops reading slows the other instead of growing a
/// buffer. Both relays of a connection share one ``WebSocketTunnel``, which
/// times the connection and closes both channels when either closes.
final class WebSocketRelayHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// The relay on the other channel; set before either joins a pipeline,
    /// cleared when this one leaves (breaking the reference cycle).
    var partner: WebSocketRelayHandler?
    var tunnel: WebSocketTunnel?
    private var context: ChannelHandlerContext?
    private var readPending = false

    var isWritable: Bool { self.context?.channel.isWritable ?? false }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        self.partner = nil
        self.tunnel = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.tunnel?.noteActivity()
        self.partner?.write(self.unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        self.partner?.flush()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.tunnel?.close()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { self.partner?.partnerBecameWritable() }
        context.fireChannelWritabilityChanged()
    }

    func read(context: ChannelHandlerContext) {
        if self.partner?.isWritable ?? false {
            context.read()
        } else {
            self.readPending = true
        }
    }

    /// Asks for a read, or notes it for when the partner can take more: the
    /// HTTP handlers this relay replaced may have kept the channel's last `read()`.
    func startReading() {
        self.context?.channel.read()
    }

    func flush() {
        self.context?.flush()
    }

    /// Flushes what was written and closes the channel; a relay that never
    /// joined a pipeline only lets go of its partner and tunnel.
    func close() {
        guard let context = self.context else {
            (self.partner, self.tunnel) = (nil, nil)
            return
        }
        context.flush()
        context.close(promise: nil)
    }

    private func write(_ buffer: ByteBuffer) {
        self.context?.write(self.wrapOutboundOut(buffer), promise: nil)
    }

    private func partnerBecameWritable() {
        guard self.readPending, let context = self.context else { return }
        self.readPending = false
        context.read()
    }
}
