import Logging
import Loopback
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// The backend's HTTP server: OpenAI- and Anthropic-compatible endpoints on
/// a loopback address (127.0.0.1:1234 by default, LM Studio's).
///
/// It starts listening before the model has loaded, so that `/health`
/// answers 503 until ``ModelHost/ready()`` and 200 after.
///
/// ```swift
/// let server = try BackendServer(host: "127.0.0.1", port: 1234, models: modelHost, metrics: metrics, logger: logger)
/// let address = try await server.start()
/// // … on SIGTERM:
/// await server.shutdown()
/// ```
public final class BackendServer: Sendable {
    /// The largest request body accepted (a long conversation fits many times over).
    public static let maxBodyBytes = 16 << 20

    public let host: String
    public let port: Int
    public let models: ModelHost
    public let metrics: BackendMetrics
    /// The key every request but health must carry (`lmgate serve`'s per-start secret); `nil` for none.
    private let apiKey: BackendAPIKey?
    private let logger: Logger
    private let group: MultiThreadedEventLoopGroup
    /// Where requests are parsed, templated and tokenized, off the event loops.
    private let threadPool: NIOThreadPool
    private let channel = Mutex<(any Channel)?>(nil)

    /// - Parameter apiKey: the key clients must send as `Authorization: Bearer …`
    ///   on every endpoint but `/health`; `nil` for none (LM Studio's default).
    /// - Throws: ``BackendServerError`` when `host` is not a loopback address.
    public init(
        host: String, port: Int, models: ModelHost, metrics: BackendMetrics, apiKey: BackendAPIKey? = nil, logger: Logger
    ) throws(BackendServerError) {
        guard LoopbackAddress.isLoopback(host: host) else {
            throw BackendServerError(
                "refusing to listen on '\(host)': the backend serves loopback addresses only (127.0.0.1, ::1, localhost); put `lmgate proxy` in front of it to admit other machines")
        }
        guard (0...65535).contains(port) else { throw BackendServerError("port \(port) is not between 0 and 65535") }
        self.host = host
        self.port = port
        self.models = models
        self.metrics = metrics
        self.apiKey = apiKey
        self.logger = logger
        // Two event loops are plenty: the model runs on the scheduler's threads.
        group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        // Two threads for request preparation: one large request does not hold up a small one.
        threadPool = NIOThreadPool(numberOfThreads: 2)
        threadPool.start()
    }

    /// Binds the listener; returns the address it is bound to (useful with port 0).
    public func start() async throws -> SocketAddress {
        let (models, metrics, logger, threadPool, apiKey) = (self.models, self.metrics, self.logger, self.threadPool, self.apiKey)
        let listener = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                guard let peer = channel.remoteAddress, LoopbackAddress.isLoopback(peer) else {
                    logger.info("closing a connection from a non-loopback peer", metadata: ["peer.address": "\(channel.remoteAddress.map { "\($0)" } ?? "-")"])
                    return channel.close()
                }
                let requestGuard = LoopbackRequestGuard(apiKey: apiKey)
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withPipeliningAssistance: true, withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(
                        BackendAPIHandler(
                            host: models, metrics: metrics, maxBodyBytes: Self.maxBodyBytes, requestGuard: requestGuard,
                            threadPool: threadPool))
                }
            }
            .bind(host: host, port: port)
            .get()
        channel.withLock { $0 = listener }
        guard let address = listener.localAddress else { throw BackendServerError("the listener has no local address") }
        logger.info("backend listening", metadata: ["listener.address": "\(address)"])
        return address
    }

    /// Stops accepting, stops the scheduler and closes the event loops.
    public func shutdown() async {
        let listener = channel.withLock { channel in
            defer { channel = nil }
            return channel
        }
        try? await listener?.close()
        await models.registry?.shutdown()
        try? await group.shutdownGracefully()
        try? await threadPool.shutdownGracefully()
    }
}

/// The server cannot start as asked.
public struct BackendServerError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}
