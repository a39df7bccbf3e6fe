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
}

/// What an admission step knows about a request.
public struct AdmissionRequest {
    public var head: HTTPRequestHead
    /// The client's address as text, e.g. `192.0.2.7`.
    public var clientAddress: String
    public var eventLoop: any EventLoop
}

/// An admission decision.
public enum AdmissionDecision: Sendable {
    /// Forward the request, with this (possibly rewritten) head.
    case admit(HTTPRequestHead)
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
