import NIOCore
import NIOHTTP1

/// Cross-origin resource sharing for browser clients, between the HTTP codec
/// and the ``ForwardingHandler``.
///
/// A preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`)
/// from a configured origin is answered here, 204 and no credentials needed,
/// as browsers send preflights without them. Every other request passes on;
/// its response (whether the upstream's or a 401 made by the proxy, which the
/// page must be able to read) gets `Access-Control-Allow-Origin` when the
/// request's origin is allowed. Responses come back in request order, so one
/// queue entry per forwarded request head pairs them up.
///
/// A request from an allowed origin goes upstream without its `Origin`
/// field: the proxy has judged the origin, and a loopback backend that
/// refuses foreign origins (DNS-rebinding and CSRF defence) must not refuse
/// what the proxy admitted. A request from any other origin keeps the field,
/// so the upstream can refuse it too.
final class CORSHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let allowedOrigins: @Sendable () -> [String]
    /// The allowed origin of each forwarded request whose response head has not been written.
    private var awaiting = CircularBuffer<String?>()
    /// Set while the parts of a preflight answered here are arriving.
    private var discarding = false

    init(allowedOrigins: @escaping @Sendable () -> [String]) {
        self.allowedOrigins = allowedOrigins
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = self.unwrapInboundIn(data)
        switch part {
        case .head(let head):
            let origin = head.headers.first(name: "origin").flatMap { self.allowed($0) }
            if let origin, head.method == .OPTIONS, head.headers.contains(name: "access-control-request-method"),
                self.awaiting.isEmpty
            {
                self.discarding = true
                self.answerPreflight(head, origin: origin, context: context)
                return
            }
            self.awaiting.append(origin)
            if origin != nil {
                var forwarded = head
                forwarded.headers.remove(name: "origin")
                context.fireChannelRead(self.wrapInboundOut(.head(forwarded)))
                return
            }
        case .body:
            if self.discarding { return }
        case .end:
            if self.discarding {
                self.discarding = false
                return
            }
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .head(var head) = self.unwrapOutboundIn(data), head.status.code >= 200, !self.awaiting.isEmpty {
            if let origin = self.awaiting.removeFirst() {
                head.headers.replaceOrAdd(name: "access-control-allow-origin", value: origin)
                head.headers.add(name: "vary", value: "Origin")
                head.headers.replaceOrAdd(name: "access-control-expose-headers", value: "x-request-id, retry-after, www-authenticate")
            }
            context.write(self.wrapOutboundOut(.head(head)), promise: promise)
            return
        }
        context.write(data, promise: promise)
    }

    /// The value for `Access-Control-Allow-Origin` if `origin` is allowed.
    private func allowed(_ origin: String) -> String? {
        let origins = self.allowedOrigins()
        if origins.contains(origin) { return origin }
        return origins.contains("*") ? "*" : nil
    }

    private func answerPreflight(_ request: HTTPRequestHead, origin: String, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "access-control-allow-origin", value: origin)
        headers.add(name: "access-control-allow-methods", value: "GET, POST, PUT, PATCH, DELETE, OPTIONS")
        let requested = request.headers.first(name: "access-control-request-headers")
        headers.add(
            name: "access-control-allow-headers",
            value: requested ?? "authorization, content-type, x-api-key, anthropic-version, openai-organization")
        headers.add(name: "access-control-max-age", value: "600")
        headers.add(name: "vary", value: "Origin")
        headers.add(name: "content-length", value: "0")
        let head = HTTPResponseHead(version: request.version, status: .noContent, headers: headers)
        context.write(self.wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
    }
}
