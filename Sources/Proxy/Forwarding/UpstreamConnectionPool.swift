import NIOCore
import NIOHTTP1
import NIOPosix

/// Idle keep-alive connections to the upstreams, for one event loop.
///
/// Each client connection borrows upstream connections from the pool of its
/// own event loop, so both channels of an exchange share a thread and hand
/// bytes to each other without locks or hops. Not thread-safe: used only on
/// ``eventLoop``.
final class UpstreamConnectionPool {
    let eventLoop: any EventLoop
    private let upstreams: [UpstreamAddress]
    private let maxIdlePerUpstream: Int
    private let connectTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    /// The most bytes an upstream response decoder may hold undecoded.
    static let maximumDecoderBufferBytes = 1024 * 1024
    /// Idle connections per upstream; the most recently used is last, so
    /// the first has been idle longest.
    private var idle: [[UpstreamConnection]]
    /// The one scheduled check that closes connections idle past the idle
    /// timeout. One per pool rather than one per released connection: a
    /// timer scheduled and cancelled for every request cost several
    /// allocations and a heap insertion each time.
    private var idleCheck: Scheduled<Void>?

    init(
        eventLoop: any EventLoop,
        upstreams: [UpstreamAddress],
        maxIdlePerUpstream: Int,
        connectTimeout: TimeAmount,
        idleTimeout: TimeAmount
    ) {
        self.eventLoop = eventLoop
        self.upstreams = upstreams
        self.maxIdlePerUpstream = maxIdlePerUpstream
        self.connectTimeout = connectTimeout
        self.idleTimeout = idleTimeout
        self.idle = Array(repeating: [], count: upstreams.count)
    }

    /// An idle open connection to `upstream`, if the pool has one.
    func takeIdle(upstream: Int) -> UpstreamConnection? {
        while let connection = self.idle[upstream].popLast() {
            connection.idleSince = .distantFuture
            if connection.isActive { return connection }
        }
        return nil
    }

    /// Opens a new connection to `upstream` on this pool's event loop.
    /// - Parameter forUpgrade: whether the connection carries an upgrade
    ///   request: its response decoder then hands on, when removed by
    ///   ``switchToRelay(_:relay:)``, the bytes that followed a 101.
    func connect(upstream: Int, forUpgrade: Bool = false) -> EventLoopFuture<UpstreamConnection> {
        let endpoint = self.upstreams[upstream].endpoint
        // An event loop that cannot make sockets (an `EmbeddedEventLoop` in
        // tests) fails the connection instead of trapping.
        guard let bootstrap = ClientBootstrap(validatingGroup: self.eventLoop) else {
            return self.eventLoop.makeFailedFuture(ChannelError.operationUnsupported)
        }
        return bootstrap
            .connectTimeout(self.connectTimeout)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // No outbound header validator: every request head sent
                    // upstream was parsed from the client by llhttp and checked
                    // by RequestFramingCheck, or made by the proxy itself.
                    try channel.pipeline.syncOperations.addHandlers([
                        HTTPRequestEncoder(),
                        // Bounded like the client side (ClientHTTPPipeline): after a
                        // 101 the decoder stops parsing and would keep every byte.
                        ByteToMessageHandler(
                            HTTPResponseDecoder(leftOverBytesStrategy: forUpgrade ? .forwardBytes : .dropBytes),
                            maximumBufferSize: Self.maximumDecoderBufferBytes),
                        UpstreamConnection(upstream: upstream),
                    ])
                }
            }
            .connect(host: endpoint.host, port: endpoint.port)
            .flatMapThrowing { channel in
                try channel.pipeline.syncOperations.handler(type: UpstreamConnection.self)
            }
    }

    /// Returns a connection whose exchange completed cleanly; it is kept for
    /// reuse, or closed if the pool is full or the upstream asked to close.
    func release(_ connection: UpstreamConnection) {
        connection.receiver = nil
        connection.holdReads(false)
        guard connection.isActive, connection.keepAlive,
            self.idle[connection.upstream].count < self.maxIdlePerUpstream
        else {
            connection.close()
            return
        }
        if connection.onClose == nil {
            // Set once per connection; a connection not in the pool is not found there.
            connection.onClose = { [weak self] closed in
                self?.remove(closed)
            }
        }
        connection.idleSince = self.eventLoop.now
        self.idle[connection.upstream].append(connection)
        self.scheduleIdleCheck()
    }

    /// Schedules the idle check for when the longest-idle connection
    /// expires, unless one is scheduled.
    private func scheduleIdleCheck() {
        guard self.idleCheck == nil else { return }
        var oldest = NIODeadline.distantFuture
        for connections in self.idle {
            if let first = connections.first, first.idleSince < oldest { oldest = first.idleSince }
        }
        guard oldest != .distantFuture else { return }
        self.idleCheck = self.eventLoop.assumeIsolatedUnsafeUnchecked().scheduleTask(
            deadline: oldest + self.idleTimeout
        ) { [weak self] in
            self?.closeExpiredIdle()
        }
    }

    /// Closes the connections idle past the idle timeout, then schedules the next check.
    private func closeExpiredIdle() {
        self.idleCheck = nil
        // The loop's clock (the one scheduled tasks follow), not the wall clock.
        let now = self.eventLoop.now
        for upstream in self.idle.indices {
            while let first = self.idle[upstream].first, first.idleSince + self.idleTimeout <= now {
                self.idle[upstream].removeFirst()
                first.close()
            }
        }
        self.scheduleIdleCheck()
    }

    /// Turns a connection whose upstream switched protocols into a raw byte
    /// stream: `relay` goes after the response decoder, the request encoder
    /// and the ``UpstreamConnection`` leave at once, and the decoder leaves
    /// after the current event-loop turn, handing `relay` the bytes that
    /// followed the 101. Until the returned future completes, nothing may be
    /// written to `relay`: the decoder watches writes and takes only HTTP
    /// request parts. The connection was never pooled and never will be.
    static func switchToRelay(_ connection: UpstreamConnection, relay: some ChannelHandler) throws -> EventLoopFuture<Void> {
        guard let pipeline = connection.channel?.pipeline.syncOperations else { throw ChannelError.ioOnClosedChannel }
        let decoder = try pipeline.handler(type: ByteToMessageHandler<HTTPResponseDecoder>.self)
        try pipeline.addHandler(relay, position: .after(decoder))
        _ = pipeline.removeHandler(connection)
        _ = pipeline.removeHandler(try pipeline.handler(type: HTTPRequestEncoder.self))
        return pipeline.removeHandler(decoder)
    }

    /// Closes every idle connection (shutdown).
    func closeAll() {
        self.idleCheck?.cancel()
        self.idleCheck = nil
        let all = self.idle.flatMap { $0 }
        self.idle = Array(repeating: [], count: self.upstreams.count)
        for connection in all { connection.close() }
    }

    private func remove(_ connection: UpstreamConnection) {
        self.idle[connection.upstream].removeAll { $0 === connection }
    }
}
