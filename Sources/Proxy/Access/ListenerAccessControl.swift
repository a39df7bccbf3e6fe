import NIOCore

/// An admission step that also screens connections as they are accepted
/// and may differ per listener. ``ProxyServer`` asks ``permitsConnection(from:)``
/// before any TLS work, closing a refused peer, and uses
/// ``admission(for:)`` for the requests of each listener.
public protocol ListenerAccessControl: RequestAdmission {
    /// Whether a peer may connect at all (the source-IP allowlist).
    func permitsConnection(from address: SocketAddress) -> Bool
    /// The admission step for requests arriving on `listener`.
    func admission(for listener: ListenerConfiguration) -> any RequestAdmission
    /// Handlers put in each connection's pipeline between the HTTP codec and
    /// the forwarding handler (CORS). Called on the connection's event loop.
    func makeRequestHandlers() -> [any ChannelHandler]
}
