import NIOCore

/// Terminates (or, in client mode, originates) TLS on a channel: ciphertext
/// below, plaintext `ByteBuffer`s above.
///
/// Put it first in a server channel's pipeline, before the HTTP codec:
///
/// ```swift
/// try channel.pipeline.syncOperations.addHandler(TLSHandler(context: store.current))
/// ```
///
/// How it works. Bytes read from the socket go into OpenSSL's inbound memory
/// BIO; the handshake or `SSL_read` runs; whatever OpenSSL writes for the peer
/// is taken from the outbound memory BIO and written down the pipeline. The
/// decisions (what to do with a read, a flush, a close in each state) come
/// from ``TLSStateMachine``; this class only performs them.
///
/// - Writes are held until `flush`; small flushed writes are joined into one
///   record. Writes flushed before the handshake
///   completes are kept and encrypted right after it. Each write's promise
///   completes when its ciphertext has been written to the socket. A write
///   OpenSSL cannot take yet (it needs peer bytes first) stays queued, in
///   order, and is retried after the next read.
/// - Back-pressure passes straight through: ciphertext is written as soon as
///   it is made, so the channel's own writability is the plaintext's too.
/// - `close` sends close_notify after everything already flushed, then
///   closes the socket once it is written; a close_notify from the peer is
///   answered the same way. A TCP close in mid-session without close_notify
///   is reported as ``TLSError/Code/uncleanShutdown`` through `errorCaught`.
/// - If the handshake has not completed within `handshakeTimeout`, the
///   channel is closed and ``TLSError/Code/handshakeTimedOut`` reported.
/// - On completion, a ``TLSHandshakeCompleted`` user event is fired.
public final class TLSHandler: ChannelDuplexHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer
    public typealias OutboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    private struct PendingWrite {
        var data: ByteBuffer
        var promise: EventLoopPromise<Void>?
    }

    private var machine = TLSStateMachine()
    private let connection: TLSConnection
    private let handshakeTimeout: TimeAmount?
    private var handshakeTimer: Scheduled<Void>?
    private var closeTimer: Scheduled<Void>?
    /// Writes not yet encrypted; the mark is the last flushed one.
    private var pendingWrites = MarkedCircularBuffer<PendingWrite>(initialCapacity: 8)
    private var closePromise: EventLoopPromise<Void>?
    private var closeIssued = false
    /// Whether plaintext was passed on since the last `channelReadComplete`.
    private var deliveredPlaintext = false
    /// Whether the next handler asked for a read that no plaintext has answered yet.
    private var readPending = false

    /// Largest plaintext of one TLS record.
    private static let recordSize = 16 * 1024
    /// How many writes were joined in a write OpenSSL refused for want of peer bytes.
    private var blockedWriteCount: Int?
    /// The buffer writes are joined in, kept for the next join when small
    /// (``TLSConnection/keptBufferLimit``): OpenSSL copies it into a record,
    /// so nothing holds it once encrypted, and a response's head and body
    /// are joined again for every response on a keep-alive connection.
    private var joinBuffer: ByteBuffer?

    /// Time allowed for closing after our close_notify, if the peer does not read it.
    private static let closeNotifyGracePeriod: TimeAmount = .seconds(5)

    /// - Parameters:
    ///   - context: the TLS configuration; its role (server or client) sets the handler's.
    ///   - serverName: client mode only: the name sent as SNI.
    ///   - handshakeTimeout: close the connection if the handshake has not
    ///     completed this long after the channel became active; `nil` for no limit.
    public init(context: TLSContext, serverName: String? = nil, handshakeTimeout: TimeAmount? = .seconds(10)) throws {
        self.connection = try TLSConnection(context: context, serverName: serverName)
        self.handshakeTimeout = handshakeTimeout
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive {
            start(context: context)
        }
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        cancelHandshakeTimer()
        failPendingWrites(ChannelError.ioOnClosedChannel)
    }

    public func channelActive(context: ChannelHandlerContext) {
        // Passed on first, so that if the handshake fails at once the next
        // handlers see channelActive before channelInactive.
        context.fireChannelActive()
        start(context: context)
    }

    public func channelInactive(context: ChannelHandlerContext) {
        cancelHandshakeTimer()
        closeTimer?.cancel()
        closeTimer = nil
        let action = machine.channelInactive()
        failPendingWrites(ChannelError.ioOnClosedChannel)
        if let closePromise {
            // The channel is closed, which is what the close request wanted.
            self.closePromise = nil
            closePromise.succeed()
        }
        if action == .reportUncleanShutdown {
            context.fireErrorCaught(TLSError(.uncleanShutdown))
        }
        context.fireChannelInactive()
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let ciphertext = unwrapInboundIn(data)
        switch machine.bytesReceived() {
        case .continueHandshake:
            connection.receiveFromNetwork(ciphertext)
            stepHandshake(context: context)
        case .decrypt:
            connection.receiveFromNetwork(ciphertext)
            decrypt(context: context)
            // Writes OpenSSL refused for want of peer bytes can go now.
            encryptFlushedWrites(context: context)
        case .discard:
            break
        }
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        if deliveredPlaintext {
            deliveredPlaintext = false
            context.fireChannelReadComplete()
        } else if readPending {
            // The bytes were all handshake or partial records: the next handler
            // is still waiting for data, so ask the channel for more.
            context.read()
        }
    }

    public func read(context: ChannelHandlerContext) {
        readPending = true
        context.read()
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        pendingWrites.append(PendingWrite(data: unwrapOutboundIn(data), promise: promise))
    }

    public func flush(context: ChannelHandlerContext) {
        pendingWrites.mark()
        switch machine.flushRequested() {
        case .encrypt: encryptFlushedWrites(context: context)
        case .holdUntilHandshake: break
        case .fail: failPendingWrites(ChannelError.ioOnClosedChannel)
        }
    }

    public func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        guard mode == .all else {
            promise?.fail(ChannelError.operationUnsupported)
            return
        }
        perform(machine.closeRequested(), context: context, promise: promise)
    }

    // MARK: Performing the state machine's actions

    private func start(context: ChannelHandlerContext) {
        guard machine.channelActive() == .startHandshake else { return }
        if let handshakeTimeout {
            handshakeTimer = context.eventLoop.assumeIsolated().scheduleTask(in: handshakeTimeout) {
                self.handshakeTimedOut(context: context)
            }
        }
        stepHandshake(context: context)
    }

    private func stepHandshake(context: ChannelHandlerContext) {
        switch machine.handshakeStepped(connection.handshake()) {
        case .sendAndWait:
            sendCiphertext(context: context)
        case .complete:
            cancelHandshakeTimer()
            sendCiphertext(context: context)
            context.fireUserInboundEventTriggered(
                TLSHandshakeCompleted(
                    negotiatedProtocol: connection.negotiatedProtocol,
                    serverName: connection.serverName,
                    protocolVersion: connection.protocolVersion,
                    cipherSuite: connection.cipherSuite,
                    peerCertificateSHA256: connection.peerCertificateFingerprint))
            encryptFlushedWrites(context: context)
            // Application data may have arrived in the same read as the
            // handshake's last message.
            decrypt(context: context)
        case .fail(let error):
            cancelHandshakeTimer()
            sendCiphertext(context: context)  // OpenSSL's alert, if it wrote one.
            failPendingWrites(error)
            context.fireErrorCaught(error)
            closeChannel(context: context)
        case .none:
            break
        }
    }

    private func handshakeTimedOut(context: ChannelHandlerContext) {
        handshakeTimer = nil
        guard machine.handshakeTimedOut() == .closeWithTimeout else { return }
        let error = TLSError(.handshakeTimedOut)
        failPendingWrites(error)
        context.fireErrorCaught(error)
        closeChannel(context: context)
    }

    /// Decrypts and passes on every complete record received so far.
    private func decrypt(context: ChannelHandlerContext) {
        // Passing data on may make the next handler close us: re-check each time.
        while machine.state == .active {
            switch connection.read(allocator: context.channel.allocator) {
            case .data(let plaintext):
                deliveredPlaintext = true
                readPending = false
                context.fireChannelRead(wrapInboundOut(plaintext))
            case .needsPeerData:
                // SSL_read may have written records of its own: an alert
                // refusing renegotiation, a TLS 1.3 KeyUpdate answer.
                sendCiphertext(context: context)
                return
            case .closeNotify:
                perform(machine.closeNotifyReceived(), context: context, promise: nil)
                return
            case .failed(let error):
                machine.failed()
                failPendingWrites(error)
                context.fireErrorCaught(error)
                closeChannel(context: context)
                return
            }
        }
    }

    /// Encrypts flushed writes in order and sends the ciphertext.
    ///
    /// Consecutive small writes are joined into one TLS record of up to
    /// 16 KiB, as nginx's `ssl_buffer_size` does: an HTTP encoder writes a
    /// chunk's size line, data and CRLF separately, and three records for one
    /// event would cost three encryptions and three record overheads.
    private func encryptFlushedWrites(context: ChannelHandlerContext) {
        var completed: [EventLoopPromise<Void>] = []
        encrypting: while let markIndex = pendingWrites.markedElementIndex {
            let flushed = pendingWrites.distance(from: pendingWrites.startIndex, to: markIndex) + 1
            // After OpenSSL refused a write it must be retried with the same
            // length, so the same writes are joined again.
            let count = blockedWriteCount ?? Self.coalescedCount(pendingWrites.prefix(flushed))
            let outcome: TLSStepOutcome
            if count == 1, let only = pendingWrites.first {
                outcome = connection.write(only.data)
            } else {
                let bytes = pendingWrites.prefix(count).reduce(0) { $0 + $1.data.readableBytes }
                var joined = joinBuffer.take() ?? context.channel.allocator.buffer(capacity: bytes)
                joined.clear(minimumCapacity: bytes)
                for write in pendingWrites.prefix(count) {
                    joined.writeImmutableBuffer(write.data)
                }
                outcome = connection.write(joined)
                if joined.capacity <= TLSConnection.keptBufferLimit { joinBuffer = joined }
            }
            switch outcome {
            case .complete:
                blockedWriteCount = nil
                for _ in 0..<count {
                    if let promise = pendingWrites.removeFirst().promise { completed.append(promise) }
                }
            case .needsPeerData:
                blockedWriteCount = count
                break encrypting
            case .failed(let error):
                machine.failed()
                completed.forEach { $0.fail(error) }
                failPendingWrites(error)
                context.fireErrorCaught(error)
                closeChannel(context: context)
                return
            }
        }
        sendCiphertext(context: context, completing: completed)
    }

    /// How many of `writes` (at least one) fit together in one record.
    private static func coalescedCount(_ writes: CircularBuffer<PendingWrite>) -> Int {
        var count = 0
        var bytes = 0
        for write in writes {
            if count > 0, bytes + write.data.readableBytes > recordSize { break }
            count += 1
            bytes += write.data.readableBytes
        }
        return max(count, 1)
    }

    /// Writes whatever OpenSSL produced; `promises` complete with that write.
    ///
    /// A promise is made only to complete several: the proxy's own writes
    /// carry none, and one made for every flush was an allocation per response.
    private func sendCiphertext(context: ChannelHandlerContext, completing promises: [EventLoopPromise<Void>] = []) {
        let ciphertext = connection.takeCiphertext(allocator: context.channel.allocator)
        if ciphertext == nil, promises.isEmpty { return }
        let promise: EventLoopPromise<Void>?
        switch promises.count {
        case 0: promise = nil
        case 1: promise = promises[0]
        default:
            let joined = context.eventLoop.makePromise(of: Void.self)
            promises.forEach { joined.futureResult.cascade(to: $0) }
            promise = joined
        }
        // With nothing to send (empty writes), an empty write still completes
        // the promises in order, after the writes before them.
        context.writeAndFlush(wrapOutboundOut(ciphertext ?? context.channel.allocator.buffer(capacity: 0)), promise: promise)
    }

    private func perform(_ action: TLSStateMachine.CloseAction, context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        switch action {
        case .closeChannel:
            cancelHandshakeTimer()
            failPendingWrites(ChannelError.ioOnClosedChannel)
            if closeIssued {
                context.close(promise: promise)  // NIO completes it (already closed).
            } else {
                closePromise = promise
                closeChannel(context: context)
            }
        case .sendCloseNotifyThenClose:
            closePromise = promise
            encryptFlushedWrites(context: context)
            failPendingWrites(ChannelError.ioOnClosedChannel)  // written but never flushed
            connection.sendCloseNotify()
            let sent = context.eventLoop.makePromise(of: Void.self)
            sendCiphertext(context: context, completing: [sent])
            sent.futureResult.assumeIsolated().whenComplete { _ in
                self.closeChannel(context: context)
            }
            // A peer that never reads would hold the close forever.
            closeTimer = context.eventLoop.assumeIsolated().scheduleTask(in: Self.closeNotifyGracePeriod) {
                self.closeChannel(context: context)
            }
        case .joinPendingClose:
            guard let promise else { return }
            if let closePromise {
                closePromise.futureResult.cascade(to: promise)
            } else {
                closePromise = promise
            }
        }
    }

    /// Closes the channel (once), completing the pending close promise.
    private func closeChannel(context: ChannelHandlerContext) {
        guard !closeIssued else { return }
        closeIssued = true
        let promise = closePromise
        closePromise = nil
        context.close(promise: promise)
    }

    private func cancelHandshakeTimer() {
        handshakeTimer?.cancel()
        handshakeTimer = nil
    }

    private func failPendingWrites(_ error: Error) {
        while !pendingWrites.isEmpty {
            pendingWrites.removeFirst().promise?.fail(error)
        }
    }
}

/// A handler belongs to one channel and is used on its event loop only.
@available(*, unavailable)
extension TLSHandler: Sendable {}
