import NIOCore
import NIOHTTP1

/// Serves the admin listener: Prometheus metrics at the configured path and
/// `/healthz` for liveness checks.
final class AdminHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let metrics: ProxyMetrics
    private let metricsPath: String
    private var requestHead: HTTPRequestHead?

    init(metrics: ProxyMetrics, metricsPath: String) {
        self.metrics = metrics
        self.metricsPath = metricsPath
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.unwrapInboundIn(data) {
        case .head(let head):
            self.requestHead = head
        case .body:
            break
        case .end:
            guard let head = self.requestHead else { return }
            self.requestHead = nil
            let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
            let (status, contentType, text): (HTTPResponseStatus, String, String)
            if head.method != .GET && head.method != .HEAD {
                (status, contentType, text) = (.methodNotAllowed, "text/plain", "method not allowed\n")
            } else if path == self.metricsPath {
                (status, contentType, text) = (.ok, "text/plain; version=0.0.4", self.metrics.render())
            } else if path == "/healthz" {
                (status, contentType, text) = (.ok, "text/plain", "ok\n")
            } else {
                (status, contentType, text) = (.notFound, "text/plain", "not found\n")
            }
            let body = context.channel.allocator.buffer(string: text)
            var headers = HTTPHeaders()
            headers.add(name: "content-type", value: contentType)
            headers.add(name: "content-length", value: String(body.readableBytes))
            context.write(self.wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
            context.write(self.wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}
