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
public struct IdentityPolicy: Sendable {
    /// The identity as admission names it (`key:NAME` or the Basic user).
    public let identity: String
    public let limits: IdentityLimits
    /// The proxy-wide counter of requests in flight per identity.
    public let concurrency: ConcurrentRequestLimit

    public init(identity: String, limits: IdentityLimits, concurrency: ConcurrentRequestLimit) {
        self.identity = identity
        self.limits = limits
        self.concurrency = concurrency
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

    /// The decision on an admitted head.
    func admitHead(hasBody: Bool) -> HeadAction {
        var permit: ConcurrentRequestLimit.Permit?
        if let maximum = self.limits.maxConcurrent {
            guard let taken = self.concurrency.take(self.identity, maximum: maximum) else {
                return .answer(.concurrencyLimitReached(identity: self.identity, maximum: maximum), ["retry-after": "1"])
            }
            permit = taken
        }
        guard self.limits.models != nil, hasBody else { return .proceed(permit) }
        return .inspectBody(permit)
    }

    enum BodyAction: Equatable {
        /// The model is allowed: forward the request.
        case proceed
        /// Refuse the request with this response.
        case answer(ProxyErrorResponse)
    }

    /// The decision on a restricted identity's complete body.
    func inspectBody(_ body: some Collection<UInt8>) -> BodyAction {
        switch RequestBodyModel(body: body) {
        case .refused(let reason):
            return .answer(.badRequest("The request body cannot be checked against this key's allowed models: \(reason)."))
        case .missing:
            return .answer(.modelNotAllowed(identity: self.identity, model: nil, limits: self.limits))
        case .model(let model):
            guard self.limits.allows(model: model) else {
                return .answer(.modelNotAllowed(identity: self.identity, model: model, limits: self.limits))
            }
            return .proceed
        }
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
