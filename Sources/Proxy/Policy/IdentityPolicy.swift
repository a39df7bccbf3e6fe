import NIOHTTP1

/// The limits of one authenticated identity applied to one request: the
/// decisions, as values the ``ForwardingHandler`` carries out.
///
/// After admission, ``admitHead(hasBody:)`` takes a place under the
/// identity's concurrency limit and says whether the body must be read
/// first: with allowed models, every request with a body is held until its
/// end (up to ``maxInspectedBodyBytes``) and ``inspectBody(_:)`` reads its
/// `model` (``RequestBodyModel``) before anything goes upstream. The body is
/// then forwarded unchanged, byte for byte and with the client's framing.
///
/// Failing closed: a restricted identity's body that names no model, or
/// cannot be read unambiguously, is refused, whatever the endpoint; requests
/// without a body (`GET /v1/models`) pass.
///
/// Where usage is recorded (``recordsUsage``), every identity's streams are
/// asked for their usage (``StreamUsageRequest``), limits or not: the body
/// of a streaming request to a usage endpoint is held for that too. Only
/// limits refuse, though: an identity without them whose body cannot be
/// read, asks for no usage in its own way, or is larger than
/// ``maxInspectedBodyBytes`` is forwarded as it came (its stream uncounted).
public struct IdentityPolicy: Sendable {
    /// The identity as admission names it (`key:NAME` or the Basic user).
    public let identity: String
    public let limits: IdentityLimits
    /// The proxy-wide counter of requests in flight per identity.
    public let concurrency: ConcurrentRequestLimit
    /// The proxy-wide token counts per identity.
    public let tokens: TokenQuotaAccounts

    public init(
        identity: String, limits: IdentityLimits, concurrency: ConcurrentRequestLimit,
        tokens: TokenQuotaAccounts = TokenQuotaAccounts()
    ) {
        self.identity = identity
        self.limits = limits
        self.concurrency = concurrency
        self.tokens = tokens
    }

    /// Whether the proxy records this identity's usage (usage accounting
    /// is on), so its streams are asked for their usage even without a quota.
    public var recordsUsage = false

    /// The policy of an identity without limits, whose usage is recorded.
    static func recordingUsage(identity: String) -> IdentityPolicy {
        // No limits: the concurrency and token counters are never asked.
        // Shared, not made per request: a fresh `TokenQuotaAccounts` (the
        // default argument) cost three allocations on every counted request.
        var policy = IdentityPolicy(
            identity: identity, limits: IdentityLimits(), concurrency: Self.noConcurrencyLimit, tokens: Self.noTokenQuotas)
        policy.recordsUsage = true
        return policy
    }

    private static let noConcurrencyLimit = ConcurrentRequestLimit()
    private static let noTokenQuotas = TokenQuotaAccounts()

    /// Whether a stream is asked for its usage: the identity's tokens are
    /// counted against a quota, or recorded.
    var asksStreamUsage: Bool { self.recordsUsage || !self.limits.tokenQuotas.isEmpty }

    /// Whether a held body the proxy cannot read or ask usage of is refused
    /// (a limit depends on it) rather than forwarded as it came.
    var refusesUncheckedBody: Bool { self.limits.models != nil || !self.limits.tokenQuotas.isEmpty }

    /// The endpoints whose streams report usage only when asked
    /// (``StreamUsageRequest``); Anthropic's Messages streams always do.
    static let usageOnRequestPaths = ["/v1/chat/completions", "/v1/completions"]

    /// Whether `path` is one of ``usageOnRequestPaths``; compared as it is,
    /// since a `String` made of it (longer than 15 bytes) is a heap allocation.
    static func asksUsageOnRequest(path: Substring) -> Bool {
        Self.usageOnRequestPaths.contains { path == $0 }
    }

    /// The most body bytes held to read the model from. A restricted
    /// identity's larger body is answered 413 (the proxy-wide body limit
    /// still applies when it is lower).
    public static let maxInspectedBodyBytes = 8 * 1024 * 1024

    enum HeadAction {
        /// Forward the request now (holding the permit, if any).
        case proceed(ConcurrentRequestLimit.Permit?)
        /// Hold the body until its end, then ``IdentityPolicy/inspectBody(_:)``.
        case inspectBody(ConcurrentRequestLimit.Permit?)
        /// Refuse the request with this response and headers.
        case answer(ProxyErrorResponse, HTTPHeaders)
    }

    /// The decision on an admitted head whose path (before any `?`) is `path`.
    ///
    /// A WebSocket handshake (`webSocket`) is refused to an identity with
    /// allowed models or token quotas: what goes over the tunnel (a model in
    /// the URL or in a message, the tokens used) is never seen by the proxy.
    func admitHead(hasBody: Bool, path: Substring, webSocket: Bool = false) -> HeadAction {
        if webSocket && (self.limits.models != nil || !self.limits.tokenQuotas.isEmpty) {
            return .answer(.webSocketNotCheckable(identity: self.identity), [:])
        }
        if !self.limits.tokenQuotas.isEmpty && self.tokens.refusesQuotaRequests {
            return .answer(.sharedStateUnavailable, ["retry-after": String(ProxyErrorResponse.sharedStateRetryAfterSeconds)])
        }
        if let used = self.tokens.exhausted(self.identity, quotas: self.limits.tokenQuotas) {
            let seconds = max(1, Int(used.wait.rounded(.up)))
            return .answer(
                .tokenQuotaExceeded(identity: self.identity, exhausted: used),
                ["retry-after": String(seconds)])
        }
        var permit: ConcurrentRequestLimit.Permit?
        if let maximum = self.limits.maxConcurrent {
            guard let taken = self.concurrency.take(self.identity, maximum: maximum) else {
                return .answer(.concurrencyLimitReached(identity: self.identity, maximum: maximum), ["retry-after": "1"])
            }
            permit = taken
        }
        let needsBody =
            self.limits.models != nil || (self.asksStreamUsage && Self.asksUsageOnRequest(path: path))
        guard needsBody, hasBody else { return .proceed(permit) }
        return .inspectBody(permit)
    }

    enum BodyAction: Equatable {
        /// Forward the request; with a rewritten body (usage asked for), in
        /// place of the client's, and the response's usage chunk stripped.
        case proceed(rewrittenBody: [UInt8]?)
        /// Refuse the request with this response.
        case answer(ProxyErrorResponse)
    }

    /// The decision on a held, complete body (read where it is: nothing of
    /// `body` is kept past the call).
    func inspectBody<Bytes: RandomAccessCollection<UInt8>>(_ body: Bytes, path: Substring) -> BodyAction
    where Bytes.Index == Int {
        let reading = RequestBodyReadingOf(body: body)
        switch reading.model {
        case .refused(let reason):
            guard self.refusesUncheckedBody else { return .proceed(rewrittenBody: nil) }
            return .answer(.badRequest("The request body cannot be checked against this key's limits: \(reason)."))
        case .missing:
            if self.limits.models != nil {
                return .answer(.modelNotAllowed(identity: self.identity, model: nil, limits: self.limits))
            }
        case .model(let model):
            guard self.limits.allows(model: model) else {
                return .answer(.modelNotAllowed(identity: self.identity, model: model, limits: self.limits))
            }
        }
        guard self.asksStreamUsage, Self.asksUsageOnRequest(path: path) else {
            return .proceed(rewrittenBody: nil)
        }
        switch StreamUsageRequest(reading: reading) {
        case .unchanged: return .proceed(rewrittenBody: nil)
        case .rewritten(let rewritten): return .proceed(rewrittenBody: rewritten)
        case .refused(let reason):
            guard !self.limits.tokenQuotas.isEmpty else { return .proceed(rewrittenBody: nil) }
            return .answer(.badRequest("The request cannot be counted against this key's token quota: \(reason)."))
        }
    }

    /// Counts a finished response's tokens against the identity's quotas.
    func record(tokens: Int) {
        self.tokens.record(tokens, for: self.identity, quotas: self.limits.tokenQuotas)
    }
}

extension ProxyErrorResponse {
    /// 403 for a model outside the identity's allowed models (or none named).
    static func modelNotAllowed(identity: String, model: String?, limits: IdentityLimits) -> Self {
        let allowed = (limits.models ?? []).map(\.text).joined(separator: ", ")
        let asked = model.map { "the model '\(LogField.escaped($0, limit: 128))'" } ?? "a request that names no model"
        return Self(
            status: .forbidden,
            message: "\(IdentityPolicy.describe(identity)) may not use \(asked): its models limit allows only \(allowed).",
            type: "permission_error", code: "model_not_allowed")
    }

    /// 403 for a WebSocket handshake of an identity whose limits cannot be checked in a tunnel.
    static func webSocketNotCheckable(identity: String) -> Self {
        Self(
            status: .forbidden,
            message: "\(IdentityPolicy.describe(identity)) has a models limit or a token quota, which cannot be checked "
                + "over a WebSocket connection.",
            type: "permission_error", code: "websocket_not_allowed_with_limits")
    }

    /// 429 for an identity that used up a token quota.
    static func tokenQuotaExceeded(identity: String, exhausted: TokenQuotaLedger.Exhausted) -> Self {
        Self(
            status: .tooManyRequests,
            message: "\(IdentityPolicy.describe(identity)) used \(exhausted.used) tokens of its \(exhausted.window.fieldName) "
                + "quota of \(exhausted.quota); retry when the \(exhausted.window.rawValue) ends (Retry-After).",
            type: "rate_limit_error", code: "token_quota_exceeded")
    }

    /// 429 for an identity with its most requests in flight.
    static func concurrencyLimitReached(identity: String, maximum: Int) -> Self {
        Self(
            status: .tooManyRequests,
            message: "\(IdentityPolicy.describe(identity)) already has \(maximum) requests in flight, its max_concurrent limit.",
            type: "rate_limit_error", code: "concurrency_limit_exceeded")
    }
}

extension IdentityPolicy {
    /// `The key 'laptop'` or `The user 'alice'`, for messages to the client.
    static func describe(_ identity: String) -> String {
        identity.hasPrefix("key:")
            ? "The key '\(LogField.escaped(identity.dropFirst(4), limit: 64))'"
            : "The user '\(LogField.escaped(identity, limit: 64))'"
    }
}
