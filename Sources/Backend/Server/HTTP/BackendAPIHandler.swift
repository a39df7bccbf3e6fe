import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// Serves one connection of the backend's HTTP API: it moves bytes, and
/// decides nothing about what they say.
///
/// Each request head is first judged by the ``LoopbackRequestGuard`` (loopback
/// `Host`, no foreign `Origin`, JSON posts, the key under `lmgate serve`); a
/// refused request's body is read and dropped, not kept. An admitted
/// request's body is gathered (up to a limit), then ``BackendRoute`` says
/// what it asks for: health and metrics answer at once, the model endpoints
/// when ``ModelsAPI`` has its answer; a generation request is parsed, checked and tokenized on the
/// server's thread pool by its ``GenerationAPI`` (see ``PreparedGeneration``)
/// for the model it leases, then submitted to the ``InferenceScheduler``, whose events come back to
/// this handler's event loop; the API's ``GenerationResponder`` renders
/// them, and this handler writes what it renders as it arrives (streaming)
/// or as one body. When the client goes away mid-generation the generation
/// is cancelled, which frees its sequence before the next decoding step.
/// HTTP pipelining is serialised by NIO's `HTTPServerPipelineHandler` in
/// front, so one request is handled at a time.
final class BackendAPIHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// A generation in progress on this connection.
    private struct Generation {
        let serial: UInt64
        let endpoint: GenerationEndpoint
        let ticket: GenerationTicket
        let scheduler: InferenceScheduler
        /// Holds the model in memory until the generation is dropped (see ``ModelLease``).
        let lease: ModelLease
        var responder: any GenerationResponder
        let keepAlive: Bool
    }

    /// A generation request being prepared on the thread pool.
    private struct Preparation {
        let serial: UInt64
        let endpoint: GenerationEndpoint
        let keepAlive: Bool
    }

    private let host: ModelHost
    private let metrics: BackendMetrics
    private let maxBodyBytes: Int
    private let requestGuard: LoopbackRequestGuard
    private let threadPool: NIOThreadPool
    private var head: HTTPRequestHead?
    private var refusal: APIError?
    private var body = ByteBuffer()
    private var bodyTooLarge = false
    private var preparation: Preparation?
    private var generation: Generation?
    private var serial: UInt64 = 0
    private var context: ChannelHandlerContext?

    init(host: ModelHost, metrics: BackendMetrics, maxBodyBytes: Int, requestGuard: LoopbackRequestGuard, threadPool: NIOThreadPool) {
        self.host = host
        self.metrics = metrics
        self.maxBodyBytes = maxBodyBytes
        self.requestGuard = requestGuard
        self.threadPool = threadPool
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body.clear()
            bodyTooLarge = false
            if case .refuse(let error) = requestGuard.check(head, path: BackendRoute.path(of: head.uri)) {
                refusal = error
                return
            }
            refusal = nil
            // curl sends `Expect: 100-continue` with bodies over 1 KiB and
            // would otherwise wait a second before sending the body.
            if head.headers[canonicalForm: "expect"].contains(where: { $0.lowercased() == "100-continue" }) {
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))), promise: nil)
            }
        case .body(var chunk):
            if refusal != nil { return }
            if body.readableBytes + chunk.readableBytes > maxBodyBytes {
                bodyTooLarge = true
            } else {
                body.writeBuffer(&chunk)
            }
        case .end:
            guard let head else { return }
            self.head = nil
            route(head, context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let preparation {
            // Its result is dropped when it comes back; nothing was submitted.
            metrics.requestAnswered(endpoint: preparation.endpoint.rawValue, status: 499)
            self.preparation = nil
        }
        if let generation {
            generation.scheduler.cancel(generation.ticket)
            metrics.requestAnswered(endpoint: generation.endpoint.rawValue, status: 499)
            self.generation = nil
        }
        context.fireChannelInactive()
    }

    // MARK: - Routing

    private func route(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = BackendRoute.path(of: head.uri)
        let keepAlive = head.isKeepAlive
        if let refusal {
            self.refusal = nil
            return respond(error: refusal, endpoint: path, keepAlive: keepAlive, context: context)
        }
        if bodyTooLarge {
            return respond(
                error: APIError(status: .payloadTooLarge, message: "the request body is larger than \(maxBodyBytes) bytes", type: "invalid_request_error"),
                endpoint: path, keepAlive: false, context: context)
        }
        switch BackendRoute(method: head.method, path: path) {
        case .health:
            let (status, body) = BackendRoute.health(host.state)
            respond(status: status, json: body, endpoint: path, keepAlive: keepAlive, context: context)
        case .metrics:
            respond(status: .ok, contentType: "text/plain; version=0.0.4", text: metrics.render(), endpoint: path, keepAlive: keepAlive, context: context)
        case .models:
            answerModels(method: head.method, path: path, forwarded: head.headers.contains(name: "x-forwarded-for"), keepAlive: keepAlive, context: context)
        case .generation(let endpoint):
            startGeneration(endpoint, keepAlive: keepAlive, context: context)
        case .embeddings:
            answerEmbeddings(keepAlive: keepAlive, context: context)
        case .countTokens:
            countTokens(keepAlive: keepAlive, context: context)
        case .methodNotAllowed:
            respond(
                error: APIError(status: .methodNotAllowed, message: "\(head.method.rawValue) is not allowed on \(path)", type: "invalid_request_error"),
                endpoint: path, keepAlive: keepAlive, context: context)
        case .notFound:
            respond(
                error: APIError(status: .notFound, message: "no such endpoint: \(head.method.rawValue) \(path)", type: "invalid_request_error", code: "unknown_url"),
                endpoint: "other", keepAlive: keepAlive, context: context)
        }
    }

    /// Answers `POST /v1/messages/count_tokens`: the model is found as a
    /// generation's is, and the request read and tokenized on the thread pool.
    private func countTokens(keepAlive: Bool, context: ChannelHandlerContext) {
        let endpoint = "/v1/messages/count_tokens"
        do {
            try host.checkReady()
        } catch {
            return respond(error: error, endpoint: endpoint, keepAlive: keepAlive, context: context)
        }
        let body = self.body
        self.body = ByteBuffer()
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        let (host, threadPool, loop) = (self.host, self.threadPool, context.eventLoop)
        // The body is parsed once, before the model it names is found; the parsed request goes on to be tokenized.
        threadPool.runIfActive(eventLoop: loop) { () throws -> GenerationRequest in
            try TokenCount.request(from: RequestBody.object(body))
        }.flatMap { request in
            loop.makeFutureWithTask { () async throws -> (GenerationRequest, ModelLease) in (request, try await host.lease(for: request.model)) }
        }.flatMap { request, lease in
            threadPool.runIfActive(eventLoop: loop) { () throws -> JSONValue in
                // The lease holds the model in memory while its tokenizer runs.
                try withExtendedLifetime(lease) { () throws -> JSONValue in try TokenCount.answer(request, service: lease.service) }
            }
        }.whenComplete { result in
            let handler = handler.value
            guard let context = handler.context else { return }
            switch result {
            case .success(let json): handler.respond(status: .ok, json: json, endpoint: endpoint, keepAlive: keepAlive, context: context)
            case .failure(let error): handler.respond(error: error, endpoint: endpoint, keepAlive: keepAlive, context: context)
            }
        }
    }

    /// Answers a model endpoint (``ModelsAPI``), which may wait on a load, when its answer is ready.
    private func answerModels(method: HTTPMethod, path: String, forwarded: Bool, keepAlive: Bool, context: ChannelHandlerContext) {
        do {
            try host.checkReady()
        } catch {
            return respond(error: error, endpoint: ModelsAPI.endpointLabel(path: path), keepAlive: keepAlive, context: context)
        }
        let (host, body) = (self.host, self.body)
        self.body = ByteBuffer()
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.makeFutureWithTask {
            await ModelsAPI.answer(method: method, path: path, body: body, forwarded: forwarded, host: host)
        }.whenSuccess { status, json in
            guard let context = handler.value.context else { return }
            handler.value.respond(status: status, json: json, endpoint: ModelsAPI.endpointLabel(path: path), keepAlive: keepAlive, context: context)
        }
    }

    /// Answers `POST /v1/embeddings` (``EmbeddingsAPI``) when the vectors are computed.
    private func answerEmbeddings(keepAlive: Bool, context: ChannelHandlerContext) {
        let (host, body) = (self.host, self.body)
        self.body = ByteBuffer()
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.makeFutureWithTask {
            await EmbeddingsAPI.answer(body: body, host: host)
        }.whenSuccess { status, json in
            guard let context = handler.value.context else { return }
            handler.value.respond(status: status, json: json, endpoint: EmbeddingsAPI.path, keepAlive: keepAlive, context: context)
        }
    }

    // MARK: - Generation

    private func startGeneration(_ endpoint: GenerationEndpoint, keepAlive: Bool, context: ChannelHandlerContext) {
        // Answered here, on the event loop, while the server is not ready: no task is started for a request bound to fail.
        do {
            try host.checkReady()
        } catch {
            return respond(error: error, endpoint: endpoint.rawValue, keepAlive: keepAlive, context: context)
        }
        // Handed over whole (the next request starts a new buffer): no copy on the event loop.
        let body = self.body
        self.body = ByteBuffer()
        serial += 1
        let serial = serial
        preparation = Preparation(serial: serial, endpoint: endpoint, keepAlive: keepAlive)
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        // The next pipelined request waits (NIO's pipelining handler holds it
        // until this response ends), so requests are still answered in order.
        let (host, threadPool, loop) = (self.host, self.threadPool, context.eventLoop)
        // The body is parsed once; the model it names is found (and loaded, if
        // it is not in memory) before the parsed request is tokenized with it.
        threadPool.runIfActive(eventLoop: loop) { () throws -> GenerationRequest in
            try endpoint.api.request(from: RequestBody.object(body))
        }.flatMap { request in
            loop.makeFutureWithTask { () async throws -> (GenerationRequest, ModelLease) in (request, try await host.lease(for: request.model)) }
        }.flatMap { request, lease in
            threadPool.runIfActive(eventLoop: loop) { () throws -> LeasedGeneration in
                LeasedGeneration(prepared: try PreparedGeneration(endpoint: endpoint, request: request, service: lease.service), lease: lease)
            }
        }.whenComplete { result in
            handler.value.prepared(result, serial: serial)
        }
    }

    /// Continues a request once ``PreparedGeneration`` is done (on the event
    /// loop): submits it, or answers its error. Does nothing if the client
    /// has gone meanwhile.
    private func prepared(_ result: Result<LeasedGeneration, any Error>, serial: UInt64) {
        guard let context, let preparation, preparation.serial == serial else { return }
        self.preparation = nil
        let (endpoint, keepAlive) = (preparation.endpoint, preparation.keepAlive)
        do {
            let (prepared, lease) = try result.get().parts
            let service = lease.service
            let (request, promptTokens) = (prepared.request, prepared.promptTokens)
            let responseContext = ResponseContext(
                id: ResponseContext.makeID(prefix: endpoint.api.idPrefix),
                created: Int(Date().timeIntervalSince1970), model: service.id, promptTokens: promptTokens.count, tokenizer: service.tokenizer,
                toolCallFormat: service.template.toolSupport.format)
            var responder = endpoint.api.responder(for: request, context: responseContext)

            let loop = context.eventLoop
            let handler = NIOLoopBound(self, eventLoop: loop)
            let scheduler = try service.generationScheduler()
            let ticket: GenerationTicket
            do {
                ticket = try scheduler.submit(
                    promptTokens: promptTokens, options: request.options(roomLeft: service.contextLength - promptTokens.count)
                ) { event in
                    loop.execute { handler.value.deliver(event, serial: serial) }
                }
            } catch {
                throw APIError(status: .serviceUnavailable, message: error.description, type: "server_error", code: "queue_full")
            }
            generation = Generation(
                serial: serial, endpoint: endpoint, ticket: ticket, scheduler: scheduler, lease: lease, responder: responder,
                keepAlive: keepAlive)
            if request.stream {
                var headers = HTTPHeaders()
                headers.add(name: "content-type", value: "text/event-stream")
                headers.add(name: "cache-control", value: "no-cache")
                if !keepAlive { headers.add(name: "connection", value: "close") }
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
                write(responder.start(), context: context)
                generation?.responder = responder
            }
        } catch let error as APIError {
            respond(error: error, endpoint: endpoint.rawValue, keepAlive: keepAlive, context: context)
        } catch {
            respond(
                error: APIError(status: .internalServerError, message: "\(error)", type: "server_error"),
                endpoint: endpoint.rawValue, keepAlive: keepAlive, context: context)
        }
    }

    /// Handles one event of the current generation (on the event loop).
    private func deliver(_ event: GenerationEvent, serial: UInt64) {
        guard let context, var generation, generation.serial == serial else { return }
        let streaming = generation.responder.streaming
        switch event {
        case .step(let step):
            let text = generation.responder.step(step)
            self.generation = generation
            if streaming && !text.isEmpty { write(text, context: context) }
        case .finished(let summary):
            self.generation = nil
            let text = generation.responder.finish(summary)
            metrics.requestAnswered(endpoint: generation.endpoint.rawValue, status: 200)
            if streaming {
                write(text, context: context)
                end(keepAlive: generation.keepAlive, context: context)
            } else {
                respond(status: .ok, contentType: "application/json", text: text, endpoint: nil, keepAlive: generation.keepAlive, context: context)
            }
        case .failed(let message):
            self.generation = nil
            if streaming {
                metrics.requestAnswered(endpoint: generation.endpoint.rawValue, status: 500)
                write(generation.responder.failure(message), context: context)
                end(keepAlive: generation.keepAlive, context: context)
            } else {
                respond(
                    error: APIError(status: .internalServerError, message: message, type: "server_error"),
                    endpoint: generation.endpoint.rawValue, keepAlive: generation.keepAlive, context: context)
            }
        }
    }

    // MARK: - Writing

    private func write(_ text: String, context: ChannelHandlerContext) {
        guard !text.isEmpty else { return }
        context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: text)))), promise: nil)
    }

    private func end(keepAlive: Bool, context: ChannelHandlerContext) {
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            if !keepAlive { channel.close(promise: nil) }
        }
    }

    private func respond(error: any Error, endpoint: String, keepAlive: Bool, context: ChannelHandlerContext) {
        let apiError = error as? APIError ?? APIError(status: .internalServerError, message: "\(error)", type: "server_error")
        var headers = HTTPHeaders()
        if apiError.status == .unauthorized { headers.add(name: "www-authenticate", value: "Bearer") }
        respond(
            status: apiError.status, contentType: "application/json", text: apiError.serializedBody, endpoint: endpoint,
            keepAlive: keepAlive, extraHeaders: headers, context: context)
    }

    private func respond(status: HTTPResponseStatus, json: JSONValue, endpoint: String, keepAlive: Bool, context: ChannelHandlerContext) {
        respond(status: status, contentType: "application/json", text: json.serialized, endpoint: endpoint, keepAlive: keepAlive, context: context)
    }

    /// Writes a whole response; counts it under `endpoint` unless that is `nil` (already counted).
    private func respond(
        status: HTTPResponseStatus, contentType: String, text: String, endpoint: String?, keepAlive: Bool,
        extraHeaders: HTTPHeaders = [:], context: ChannelHandlerContext
    ) {
        if let endpoint { metrics.requestAnswered(endpoint: endpoint, status: Int(status.code)) }
        let buffer = context.channel.allocator.buffer(string: text)
        var headers = extraHeaders
        headers.add(name: "content-type", value: contentType)
        headers.add(name: "content-length", value: String(buffer.readableBytes))
        if !keepAlive { headers.add(name: "connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        end(keepAlive: keepAlive, context: context)
    }
}
