import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// The running proxy: its listeners, the admin listener, the upstream pools
/// and health probing, and graceful shutdown.
///
/// ```swift
/// let server = ProxyServer(configuration: configuration, logger: logger)
/// try await server.start()
/// // ... on SIGTERM:
/// await server.shutdown()
/// ```
public final class ProxyServer: Sendable {
    public let configuration: ProxyConfiguration
    public let balancer: UpstreamBalancer
    public let metrics: ProxyMetrics
    /// The fair queue for the upstreams' slots; it queues while
    /// `queue.upstream_slots` is set (``reloadQueue(_:)`` changes it).
    let upstreamQueue: UpstreamQueue
    private let group: any EventLoopGroup
    /// Set when the server made its own event loop group, which it then shuts down.
    private let ownedGroup: MultiThreadedEventLoopGroup?
    private let logger: Logger
    /// The admission step of listeners without access control.
    private let admission: any RequestAdmission
    /// Access control, when configured: screening at accept, each
    /// listener's admission and CORS.
    private let access: AccessControl?
    private let registry: ConnectionRegistry
    /// The admin console at `/admin`: with access control that authenticates, unless turned off.
    private let console: AdminConsole?
    private let running = NIOLockedValueBox(Running())

    private struct Running {
        var serverChannels: [any Channel] = []
        var adminChannel: (any Channel)?
        var pools: [ObjectIdentifier: NIOLoopBound<UpstreamConnectionPool>] = [:]
        var prober: UpstreamHealthProber?
        /// One store per TLS listener, reloaded on file change or ``reloadCertificates()``.
        var certificateStores: [TLSCertificateStore] = []
        var certificateWatchers: [Task<Void, Never>] = []
    }

    /// - Parameters:
    ///   - admission: the step run on every request.
    public convenience init(
        configuration: ProxyConfiguration,
        group: any EventLoopGroup,
        logger: Logger,
        admission: any RequestAdmission = AdmitEveryRequest()
    ) {
        self.init(
            configuration: configuration, group: group, ownedGroup: nil, logger: logger, admission: admission,
            access: nil)
    }

    /// A server with access control: peers are screened at accept, each
    /// listener's requests pass its admission step, and CORS is answered
    /// when origins are configured.
    public convenience init(
        configuration: ProxyConfiguration,
        group: any EventLoopGroup,
        logger: Logger,
        admission access: AccessControl
    ) {
        self.init(
            configuration: configuration, group: group, ownedGroup: nil, logger: logger, admission: access,
            access: access)
    }

    /// A server on its own event loops: `configuration.eventLoops` of them,
    /// or one per CPU core.
    public convenience init(
        configuration: ProxyConfiguration,
        logger: Logger,
        admission: any RequestAdmission = AdmitEveryRequest()
    ) {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: configuration.eventLoops ?? System.coreCount)
        self.init(
            configuration: configuration, group: group, ownedGroup: group, logger: logger, admission: admission,
            access: nil)
    }

    /// A server with access control on its own event loops: `configuration.eventLoops`
    /// of them, or one per CPU core.
    public convenience init(configuration: ProxyConfiguration, logger: Logger, admission access: AccessControl) {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: configuration.eventLoops ?? System.coreCount)
        self.init(
            configuration: configuration, group: group, ownedGroup: group, logger: logger, admission: access,
            access: access)
    }

    private init(
        configuration: ProxyConfiguration,
        group: any EventLoopGroup,
        ownedGroup: MultiThreadedEventLoopGroup?,
        logger: Logger,
        admission: any RequestAdmission,
        access: AccessControl?
    ) {
        self.configuration = configuration
        self.access = access
        self.group = group
        self.ownedGroup = ownedGroup
        self.logger = logger
        self.admission = admission
        self.balancer = UpstreamBalancer(upstreams: configuration.upstreams, health: configuration.health)
        self.upstreamQueue = UpstreamQueue(configuration: configuration.queue, upstreams: configuration.upstreams.count)
        self.balancer.setSlots(
            configuration.queue.isEnabled ? configuration.queue.slots(upstreams: configuration.upstreams.count) : nil)
        // A down upstream's slots admit nothing until it is back.
        self.balancer.observeAvailability { [upstreamQueue] up in upstreamQueue.setUpstreamsUp(up) }
        self.metrics = ProxyMetrics(balancer: self.balancer, upstreamQueue: self.upstreamQueue)
        self.registry = ConnectionRegistry(
            maxConnections: configuration.limits.maxConnections,
            maxConnectionsPerAddress: configuration.limits.maxConnectionsPerAddress)
        self.console =
            if let access, configuration.console.enabled, access.configuration.requiresAuthentication {
                AdminConsole(
                    configuration: configuration.console, store: access.store, metrics: self.metrics, balancer: self.balancer,
                    logger: logger)
            } else {
                nil
            }
    }

    /// The addresses the proxy listeners are bound to (useful with port 0).
    public var listeningAddresses: [SocketAddress] {
        self.running.withLockedValue { $0.serverChannels.compactMap(\.localAddress) }
    }

    /// The address the admin listener is bound to, if any.
    public var adminAddress: SocketAddress? {
        self.running.withLockedValue { $0.adminChannel?.localAddress }
    }

    /// Client connections open now.
    public var openConnections: Int { self.registry.count }

    /// Binds every listener and starts health probing.
    public func start() async throws {
        var pools: [ObjectIdentifier: NIOLoopBound<UpstreamConnectionPool>] = [:]
        let configuration = self.configuration
        for loop in self.group.makeIterator() {
            pools[ObjectIdentifier(loop)] = try await loop.submit {
                let pool = UpstreamConnectionPool(
                    eventLoop: loop,
                    upstreams: configuration.upstreams,
                    maxIdlePerUpstream: configuration.limits.maxIdleUpstreamConnections,
                    connectTimeout: TimeAmount(configuration.timeouts.upstreamConnect),
                    idleTimeout: TimeAmount(configuration.timeouts.upstreamIdle))
                return NIOLoopBound(pool, eventLoop: loop)
            }.get()
        }
        let poolsByLoop = pools
        self.running.withLockedValue { $0.pools = poolsByLoop }

        var channels: [any Channel] = []
        do {
            for listener in configuration.listeners {
                channels.append(try await self.bind(listener, pools: poolsByLoop))
            }
        } catch {
            for channel in channels { try? await channel.close() }
            throw error
        }
        let admin = try await configuration.adminAddress.asyncMap { try await self.bindAdmin($0) }
        let probeEvery = TimeAmount(configuration.health.probeInterval)
        let prober = UpstreamHealthProber(
            balancer: self.balancer, eventLoop: self.group.next(),
            checkEvery: probeEvery < .milliseconds(100) ? probeEvery : .milliseconds(100),
            connectTimeout: TimeAmount(configuration.timeouts.upstreamConnect))
        self.running.withLockedValue { running in
            running.serverChannels = channels
            running.adminChannel = admin
            running.prober = prober
        }
        for channel in channels {
            self.logger.info("proxy listening", metadata: ["listener.address": "\(channel.localAddress.map { "\($0)" } ?? "-")"])
        }
    }

    /// Puts reloaded `queue` settings in force without dropping a waiting
    /// or running request (``UpstreamQueue/reconfigure(_:)``), and logs a change.
    public func reloadQueue(_ configuration: UpstreamQueueConfiguration) {
        guard self.upstreamQueue.reconfigure(configuration) else { return }
        self.balancer.setSlots(configuration.isEnabled ? configuration.slots(upstreams: self.balancer.upstreams.count) : nil)
        self.logger.info(
            "queue.reconfigured",
            metadata: [
                "queue.upstream_slots": "\(configuration.slots(upstreams: self.balancer.upstreams.count))",
                "queue.max_waiting": "\(configuration.maxWaiting)",
                "queue.max_per_identity": "\(configuration.maxPerIdentity)", "queue.timeout": "\(configuration.timeout)",
            ])
    }

    /// Reloads every TLS listener's certificate and key (what SIGHUP does).
    /// New connections use the new pair; open ones keep theirs; a bad new
    /// pair keeps the old one, and the store logs why.
    public func reloadCertificates() {
        let stores = self.running.withLockedValue { $0.certificateStores }
        for store in stores {
            _ = try? store.reload()
        }
    }

    /// Stops accepting, lets open requests finish for up to the configured
    /// shutdown grace period, then closes whatever is left.
    public func shutdown() async {
        let (channels, admin, prober, pools, watchers) = self.running.withLockedValue { running in
            defer { running = Running() }
            return (running.serverChannels, running.adminChannel, running.prober, running.pools, running.certificateWatchers)
        }
        for watcher in watchers { watcher.cancel() }
        for channel in channels { try? await channel.close() }
        self.registry.quiesceAll()
        let loop = self.group.next()
        let grace = TimeAmount(self.configuration.timeouts.shutdownGrace)
        let deadline = loop.scheduleTask(in: grace) { self.registry.closeAll() }
        try? await self.registry.waitUntilEmpty(on: loop).get()
        deadline.cancel()
        prober?.stop()
        for (_, pool) in pools {
            try? await pool.eventLoop.submit { pool.value.closeAll() }.get()
        }
        try? await admin?.close()
        try? await self.ownedGroup?.shutdownGracefully()
        self.logger.info("proxy stopped")
    }

    private func bind(
        _ listener: ListenerConfiguration,
        pools: [ObjectIdentifier: NIOLoopBound<UpstreamConnectionPool>]
    ) async throws -> any Channel {
        // TLS listeners put a TLSHandler first; the store keeps the context
        // new connections use (and is where a certificate reload plugs in).
        let certificates: TLSCertificateStore?
        if case .tls(let certificatePath, let keyPath) = listener.security {
            certificates = try TLSCertificateStore(
                configuration: TLSServerConfiguration(certificates: [
                    TLSCertificateFiles(certificateChainPath: certificatePath, privateKeyPath: keyPath)
                ]),
                logger: self.logger)
        } else {
            certificates = nil
        }
        if let certificates {
            // Files replaced on disk (certbot renewals) take effect without a signal.
            let watcher = Task { await TLSCertificateWatcher(store: certificates).run() }
            self.running.withLockedValue { running in
                running.certificateStores.append(certificates)
                running.certificateWatchers.append(watcher)
            }
        }
        let webSocket =
            self.configuration.webSocket.isEnabled(on: listener.address)
            ? WebSocketPassthrough(configuration: self.configuration.webSocket) : nil
        let settings = ForwardingSettings(
            configuration: self.configuration, usesTLS: listener.isTLS, webSocket: webSocket,
            upstreamQueue: self.upstreamQueue)
        let maxHeaderBytes = self.configuration.limits.maxHeaderBytes
        // Access control screens peers at accept (before any TLS work) and may differ per listener.
        let screening = self.access?.screening
        let admission: any RequestAdmission = self.access?.admission(for: listener) ?? self.admission
        let (access, console) = (self.access, self.console)
        let (balancer, metrics, registry, logger) = (self.balancer, self.metrics, self.registry, self.logger)

        return try await ServerBootstrap(group: self.group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                if let screening, let peer = channel.remoteAddress, !screening.permitsConnection(from: peer) {
                    metrics.connectionRejected()
                    return channel.close()
                }
                switch registry.admit(channel) {
                case .admitted:
                    break
                case .overLimit:
                    metrics.connectionRejected()
                    return channel.close()
                case .overAddressLimit:
                    metrics.connectionRejected(perAddress: true)
                    return channel.close()
                }
                metrics.connectionOpened()
                channel.closeFuture.whenComplete { _ in metrics.connectionClosed() }
                return channel.eventLoop.makeCompletedFuture {
                    guard let pool = pools[ObjectIdentifier(channel.eventLoop)]?.value else {
                        throw ProxyServerError("no upstream pool for this event loop")
                    }
                    if let certificates {
                        try channel.pipeline.syncOperations.addHandlers(
                            PlainHTTPOnTLSPortHandler(), TLSHandler(context: certificates.current))
                    }
                    try channel.pipeline.syncOperations.addHandlers(
                        ClientHTTPPipeline.makeHandlers(
                            maxHeaderBytes: maxHeaderBytes, keepingBytesAfterUpgrade: webSocket != nil))
                    // Decided per connection: without origins the handler would only cost a
                    // pipeline step per message; a reload that adds origins takes effect on
                    // the next connections.
                    if let access, !access.corsOrigins.isEmpty {
                        try channel.pipeline.syncOperations.addHandler(
                            CORSHandler(allowedOrigins: { access.corsOrigins }))
                    }
                    // The console's handler joins a connection's pipeline on its first console request.
                    let makeConsoleHandler = console.map { console in
                        { AdminConsoleHandler(console: console, listener: listener.address) }
                    }
                    try channel.pipeline.syncOperations.addHandler(
                        ForwardingHandler(
                            settings: settings, balancer: balancer, pool: pool, admission: admission,
                            metrics: metrics, logger: logger, makeConsoleHandler: makeConsoleHandler))
                }
            }
            .bind(host: listener.address.host, port: listener.address.port)
            .get()
    }

    private func bindAdmin(_ address: HostAndPort) async throws -> any Channel {
        let (metrics, path) = (self.metrics, self.configuration.metricsPath)
        return try await ServerBootstrap(group: self.group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(AdminHandler(metrics: metrics, metricsPath: path))
                }
            }
            .bind(host: address.host, port: address.port)
            .get()
    }
}

/// A listener that cannot be started.
public struct ProxyServerError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

extension Optional {
    fileprivate func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let self else { return nil }
        return try await transform(self)
    }
}
