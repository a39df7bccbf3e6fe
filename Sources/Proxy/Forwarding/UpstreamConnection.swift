import NIOCore
import NIOHTTP1

/// What an ``UpstreamConnection`` reports to the client-side exchange that is
/// using it. Called on the event loop both channels share.
protocol UpstreamResponseReceiver: AnyObject {
    func upstreamResponsePart(_ part: HTTPClientResponsePart)
    func upstreamReadComplete()
    func upstreamWritabilityChanged(isWritable: Bool)
    /// The connection closed before the exchange finished; `error` is what
    /// closed it, if known.
    func upstreamClosed(error: (any Error)?)
}

/// The last handler of a pooled upstream connection: hands responses to the
/// exchange currently using it and lets that exchange hold its reads.
///
/// Back-pressure follows NIO's GlueHandler pattern: while the client cannot
/// take more bytes the exchange calls ``holdReads(_:)`` and this handler keeps
/// the `read()` it is asked for instead of passing it on, so the kernel's
/// receive window fills and the upstream server slows down.
final class UpstreamConnection: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

    /// The upstream's index in ``UpstreamBalancer/upstreams``.
    let upstream: Int
    /// The exchange using this connection; `nil` while it is idle in the pool.
    var receiver: (any UpstreamResponseReceiver)?
    /// Called once when the channel closes, so the pool can forget it.
    var onClose: ((UpstreamConnection) -> Void)?
    /// Since when the connection waits idle in the pool (its idle timeout counts from here).
    var idleSince = NIODeadline.distantFuture
    /// Whether the last response allows another request on this connection.
    private(set) var keepAlive = true
    private(set) var isActive = false

    private var context: ChannelHandlerContext?
    private var readsHeld = false
    private var readPending = false
    private var lastError: (any Error)?

    init(upstream: Int) {
        self.upstream = upstream
    }

    var isWritable: Bool { self.context?.channel.isWritable ?? false }
    /// The channel, while the handler is in its pipeline.
    var channel: (any Channel)? { self.context?.channel }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        self.isActive = context.channel.isActive
    }

    func channelActive(context: ChannelHandlerContext) {
        self.isActive = true
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = self.unwrapInboundIn(data)
        if case .head(let head) = part {
            self.keepAlive = head.isKeepAlive
        }
        guard let receiver = self.receiver else {
            // An idle connection must not receive anything: the upstream is confused.
            context.close(promise: nil)
            return
        }
        receiver.upstreamResponsePart(part)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        self.receiver?.upstreamReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        self.receiver?.upstreamWritabilityChanged(isWritable: context.channel.isWritable)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.lastError = error
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.isActive = false
        let receiver = self.receiver
        self.receiver = nil
        self.onClose?(self)
        self.onClose = nil
        receiver?.upstreamClosed(error: self.lastError)
    }

    func read(context: ChannelHandlerContext) {
        if self.readsHeld {
            self.readPending = true
        } else {
            context.read()
        }
    }

    /// Holds or releases reads from the upstream.
    func holdReads(_ hold: Bool) {
        self.readsHeld = hold
        if !hold, self.readPending, let context = self.context {
            self.readPending = false
            context.read()
        }
    }

    func write(_ part: HTTPClientRequestPart, flush: Bool) {
        guard let context = self.context else { return }
        if flush {
            context.writeAndFlush(self.wrapOutboundOut(part), promise: nil)
        } else {
            context.write(self.wrapOutboundOut(part), promise: nil)
        }
    }

    func flush() {
        self.context?.flush()
    }

    func close() {
        self.context?.close(promise: nil)
    }
}
