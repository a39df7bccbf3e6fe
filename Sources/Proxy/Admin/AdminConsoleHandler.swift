import NIOCore
import NIOHTTP1

/// Puts the admin console on a proxy listener: sits in front of the
/// ``ForwardingHandler`` and answers every request whose path is the
/// console's (``isConsolePath(_:)``) itself, so that `/admin` is never
/// forwarded; every other request part passes on untouched. The forwarding
/// handler adds it to a connection when the first console request comes
/// (and hands it that request), so connections that never ask for the
/// console go without this step.
///
/// It only moves bytes: the request is collected (body bounded by
/// ``ConsoleForm/maxBytes``, else 413 and close) and handed to the
/// ``AdminConsole``, whose answer is written back. Responses keep the order
/// of requests on a connection: a console request pipelined behind a
/// forwarded one waits until that response has ended, and requests pipelined
/// behind a console request are held (client reads paused) until its answer
/// is written.
final class AdminConsoleHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        case passing
        /// Collecting a console request; `ended` once its end arrived.
        case collecting(HTTPRequestHead, body: [UInt8], ended: Bool)
        /// The console is answering.
        case answering
    }

    private let console: AdminConsole
    private let listener: HostAndPort
    private var state = State.passing
    /// Forwarded requests whose response has not ended yet (the console's own
    /// responses are written past this handler's `write`, so they are not counted).
    private var forwardedInFlight = 0
    /// Parts that arrived behind a console request, replayed once it is answered.
    private var held: [HTTPServerRequestPart] = []
    private var readPending = false

    init(console: AdminConsole, listener: HostAndPort) {
        self.console = console
        self.listener = listener
    }

    /// Whether a request target belongs to the console: its normalized path
    /// is `/admin` or below it. A target only a lenient reading puts there
    /// (`/admin%2Fx`) is left to the forwarding path, which refuses such
    /// ambiguous targets before anything is forwarded.
    static func isConsolePath(_ target: String) -> Bool {
        // Every request on the listener comes here: most targets are ruled
        // out by one pass over their bytes, without reading the path.
        guard Self.mayNameConsole(target) else { return false }
        guard let path = RequestPath(target: target).normalized else { return false }
        return RequestPath.matches(path, [ConsoleRoute.root + "/"])
    }

    /// Whether a target's normalized path could be under the console's root:
    /// only if the root's last segment is written out in it, or a
    /// percent-escape could spell it (`/%61dmin`). Paths are case-sensitive
    /// (``RequestPath``), and dot segments and repeated slashes only remove
    /// bytes, so a target with neither cannot normalize to the console.
    static func mayNameConsole(_ target: String) -> Bool {
        let name = Self.consoleSegment
        var utf8 = target.utf8[...]
        while let index = utf8.firstIndex(where: { $0 == UInt8(ascii: "%") || $0 == name[0] }) {
            if utf8[index] == UInt8(ascii: "%") || utf8[index...].starts(with: name) { return true }
            utf8 = utf8[utf8.index(after: index)...]
        }
        return false
    }

    /// The last segment of the console's root (`admin`), as bytes.
    private static let consoleSegment = Array((ConsoleRoute.root.split(separator: "/").last ?? "admin").utf8)

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = self.unwrapInboundIn(data)
        switch (self.state, part) {
        case (.passing, .head(let head)) where Self.isConsolePath(head.uri):
            self.state = .collecting(head, body: [], ended: false)
        case (.passing, .head):
            self.forwardedInFlight += 1
            context.fireChannelRead(data)
        case (.passing, _):
            context.fireChannelRead(data)
        case (.collecting(let head, var body, false), .body(var buffer)):
            guard body.count + buffer.readableBytes <= ConsoleForm.maxBytes else {
                self.state = .answering
                self.write(ConsoleResponse.html("The form is too large.\n", status: .payloadTooLarge), for: head, close: true, context: context)
                return
            }
            self.state = .passing  // no copy-on-write of `body` while it grows
            body += buffer.readBytes(length: buffer.readableBytes) ?? []
            self.state = .collecting(head, body: body, ended: false)
        case (.collecting(let head, let body, false), .end):
            self.state = .collecting(head, body: body, ended: true)
            self.answerIfReady(context: context)
        case (.collecting, _), (.answering, _):
            self.held.append(part)
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = self.unwrapOutboundIn(data) {
            // Clamped: the forwarding handler may also answer what was no request (a head that could not be decoded).
            self.forwardedInFlight = max(0, self.forwardedInFlight - 1)
            context.write(data, promise: promise)
            self.answerIfReady(context: context)
            return
        }
        context.write(data, promise: promise)
    }

    func read(context: ChannelHandlerContext) {
        switch self.state {
        case .passing: context.read()
        case .collecting(_, _, let ended) where !ended: context.read()
        default: self.readPending = true
        }
    }

    /// Starts the console's answer once its request has ended and no forwarded response is still being written.
    private func answerIfReady(context: ChannelHandlerContext) {
        guard case .collecting(let head, let body, true) = self.state, self.forwardedInFlight == 0 else { return }
        self.state = .answering
        let request = ConsoleRequest(
            head: head, body: body, clientAddress: context.channel.remoteAddress?.ipAddress ?? "-", listener: self.listener,
            eventLoop: context.eventLoop)
        let promise = context.eventLoop.makePromise(of: ConsoleResponse.self)
        let console = self.console
        promise.completeWithTask { await console.respond(to: request) }
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        promise.futureResult.whenSuccess { response in
            let (handler, context) = bound.value
            handler.write(response, for: head, close: !head.isKeepAlive, context: context)
        }
    }

    private func write(_ response: ConsoleResponse, for head: HTTPRequestHead, close: Bool, context: ChannelHandlerContext) {
        var headers = response.headers
        let body = context.channel.allocator.buffer(string: response.body)
        headers.replaceOrAdd(name: "content-length", value: String(body.readableBytes))
        if close { headers.replaceOrAdd(name: "connection", value: "close") }
        context.write(self.wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: response.status, headers: headers))), promise: nil)
        if head.method != .HEAD { context.write(self.wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        guard !close else {
            let promise = context.eventLoop.makePromise(of: Void.self)
            context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: promise)
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            promise.futureResult.whenComplete { _ in bound.value.close(promise: nil) }
            return
        }
        context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
        self.state = .passing
        let held = self.held
        self.held = []
        for part in held {
            // Replayed as if just read: a console request among them is collected again.
            self.channelRead(context: context, data: self.wrapInboundOut(part))
        }
        // The forwarding handler flushes what it sends upstream at the end of a read.
        if !held.isEmpty { context.fireChannelReadComplete() }
        if self.readPending, case .passing = self.state {
            self.readPending = false
            context.read()
        }
    }
}
