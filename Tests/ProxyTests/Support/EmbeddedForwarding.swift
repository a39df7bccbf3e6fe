import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
@testable import Proxy

/// A ``ForwardingHandler`` on an `EmbeddedChannel` (the client side, with
/// NIO's real HTTP server codec in front of it) and one pooled
/// ``UpstreamConnection`` on a second `EmbeddedChannel` (the upstream side,
/// seen as request and response parts), both on one `EmbeddedEventLoop`.
final class EmbeddedForwarding {
    let loop = EmbeddedEventLoop()
    let client: EmbeddedChannel
    let upstreamChannel: EmbeddedChannel
    let connection: UpstreamConnection
    let pool: UpstreamConnectionPool
    let balancer: UpstreamBalancer
    let metrics: ProxyMetrics

    init(
        admission: any RequestAdmission = AdmitEveryRequest(), upstreamQueue: UpstreamQueue? = nil,
        clientAddress: String = "192.0.2.10", configure: (inout ProxyConfiguration) -> Void = { _ in }
    ) throws {
        var configuration = ProxyConfiguration()
        configuration.upstreams = [UpstreamAddress(endpoint: HostAndPort(host: "127.0.0.1", port: 1234))]
        configuration.accessLog = false
        configure(&configuration)
        self.balancer = UpstreamBalancer(upstreams: configuration.upstreams, health: configuration.health)
        self.metrics = ProxyMetrics(balancer: self.balancer)
        self.pool = UpstreamConnectionPool(
            eventLoop: self.loop, upstreams: configuration.upstreams, maxIdlePerUpstream: 4,
            connectTimeout: .seconds(1), idleTimeout: .seconds(60))

        self.connection = UpstreamConnection(upstream: 0)
        self.upstreamChannel = EmbeddedChannel(handler: self.connection, loop: self.loop)
        try self.upstreamChannel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1234)).wait()
        self.pool.release(self.connection)

        self.client = EmbeddedChannel(loop: self.loop)
        try self.client.pipeline.syncOperations.addHandlers(
            ClientHTTPPipeline.makeHandlers(maxHeaderBytes: configuration.limits.maxHeaderBytes))
        try self.client.pipeline.syncOperations.addHandler(
            ForwardingHandler(
                settings: ForwardingSettings(configuration: configuration, usesTLS: true, upstreamQueue: upstreamQueue),
                balancer: self.balancer, pool: self.pool, admission: admission,
                metrics: self.metrics, logger: Logger(label: "test")))
        try self.client.connect(to: SocketAddress(ipAddress: clientAddress, port: 50000)).wait()
    }

    /// Sends raw request bytes from the client.
    func clientSends(_ text: String) throws {
        try self.client.writeInbound(ByteBuffer(string: text))
    }

    /// Everything the client has been sent so far, as text.
    func clientReceived() throws -> String {
        var text = ""
        while let data = try self.client.readOutbound(as: IOData.self) {
            if case .byteBuffer(let buffer) = data { text += String(buffer: buffer) }
        }
        return text
    }

    /// Every request part the upstream has been sent so far.
    func upstreamReceived() throws -> [HTTPClientRequestPart] {
        var parts: [HTTPClientRequestPart] = []
        while let part = try self.upstreamChannel.readOutbound(as: HTTPClientRequestPart.self) {
            parts.append(part)
        }
        return parts
    }

    /// The upstream answers with a head (and optionally a body and the end).
    func upstreamResponds(
        status: HTTPResponseStatus = .ok, headers: [(String, String)] = [], body: String? = nil, end: Bool = true
    ) throws {
        try self.upstreamChannel.writeInbound(
            HTTPClientResponsePart.head(HTTPResponseHead(version: .http1_1, status: status, headers: HTTPHeaders(headers))))
        if let body { try self.upstreamChannel.writeInbound(HTTPClientResponsePart.body(ByteBuffer(string: body))) }
        if end { try self.upstreamChannel.writeInbound(HTTPClientResponsePart.end(nil)) }
    }
}

extension [HTTPClientRequestPart] {
    var head: HTTPRequestHead? {
        for part in self { if case .head(let head) = part { return head } }
        return nil
    }
}

/// The status code on the first line of a raw response.
func statusCode(of response: String) -> Int? {
    let parts = response.split(separator: " ", maxSplits: 2)
    return parts.count > 1 ? Int(parts[1]) : nil
}
