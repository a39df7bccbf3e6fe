import NIOCore
import NIOHTTP1

/// The step every request passes before it is forwarded: the place where
/// access control (authentication, source allowlists, rate limits) plugs in.
///
/// The proxy asks ``admit(_:)`` once per request head. A decision may be
/// immediate (the common, allocation-free case) or pending on a future, for
/// checks that must leave the event loop (password hashing on a thread pool).
/// The request may be rewritten on the way, e.g. to strip credentials.
public protocol RequestAdmission: Sendable {
    func admit(_ request: AdmissionRequest) -> AdmissionResult
    /// The limits (allowed models, concurrency) of an identity that
    /// ``admit(_:)`` admitted, or `nil` when it has none.
    func identityPolicy(for identity: String) -> IdentityPolicy?
    /// Where finished requests are counted, or `nil` when usage is not accounted.
    var usageAccounting: UsageAccounting? { get }
}

extension RequestAdmission {
    /// No identity has limits unless the step says so.
    public func identityPolicy(for identity: String) -> IdentityPolicy? { nil }

    /// No usage accounting unless the step has it.
    public var usageAccounting: UsageAccounting? { nil }
}

/// What an admission step knows about a request.
public struct AdmissionRequest {
    /// The request head as it will be forwarded, before the step's own changes:
    /// - its target is normalized (``RequestTarget``): origin-form, unreserved
    ///   characters decoded, dot segments resolved, repeated slashes
    ///   collapsed; ambiguous targets (`%2F`, NUL, backslash, ...) never get
    ///   here. Path rules can compare `uri` up to its `?` as it is, and the
    ///   upstream receives exactly that path;
    /// - hop-by-hop fields are already removed, so nothing the step adds
    ///   (an identity header, an upstream key) can be removed by a
    ///   `Connection` token;
    /// - `Host` is present at most once (exactly once for HTTP/1.1), and the
    ///   method is not TRACE or CONNECT, nor is an upgrade asked for.
    ///
    /// Framing fields are set by the proxy after admission, from what the
    /// client sent; changing them here has no effect.
    public var head: HTTPRequestHead
    /// The client's address as text, e.g. `192.0.2.7`.
    public var clientAddress: String
    public var eventLoop: any EventLoop
    /// ``clientAddress`` parsed, when the caller already has it (the proxy
    /// parses it once per connection, not once per request); `nil` means
    /// "parse ``clientAddress``".
    public var parsedClientAddress: IPAddress? = nil

    /// The client's address as an ``IPAddress``; `nil` for a peer that is not an IP socket.
    var clientIPAddress: IPAddress? { self.parsedClientAddress ?? IPAddress(self.clientAddress) }
}

/// An admission decision.
public enum AdmissionDecision: Sendable {
    /// Forward the request, with this (possibly rewritten) head. `identity`
    /// is the authenticated user or key (`key:NAME`), `nil` when the request
    /// was admitted without credentials (no authentication configured, a
    /// public path, a loopback client with `skip_loopback`): WebSocket
    /// passthrough is only for requests admitted with an identity.
    case admit(HTTPRequestHead, identity: String? = nil)
    /// Answer the request directly and forward nothing.
    case reject(status: HTTPResponseStatus, headers: HTTPHeaders, message: String, code: String)
}

/// An admission decision, now or later.
public enum AdmissionResult {
    case decided(AdmissionDecision)
    case pending(EventLoopFuture<AdmissionDecision>)
}

/// Admits every request unchanged: the behaviour until access control is configured.
public struct AdmitEveryRequest: RequestAdmission {
    public init() {}
    public func admit(_ request: AdmissionRequest) -> AdmissionResult {
        .decided(.admit(request.head))
    }
}
