/// Whether a WebSocket handshake's `Origin` may open a connection.
///
/// Browsers attach remembered Basic credentials to a WebSocket handshake to
/// a host whatever page opens it, and WebSockets are not bound by CORS: a
/// page on any site could otherwise open an authenticated connection
/// through the proxy (cross-site WebSocket hijacking). So a handshake that
/// carries an `Origin` must come from the proxy's own origin (the origin's
/// host and port are the request's `Host`) or from one listed in
/// `websocket.origins` (`*` for any). A handshake without `Origin` (not
/// from a browser) is not judged here.
enum WebSocketOriginCheck {
    static func permits(origin: String?, host: String?, allowed: [String]) -> Bool {
        guard let origin else { return true }
        if allowed.contains("*") || allowed.contains(where: { $0.lowercased() == origin.lowercased() }) { return true }
        guard let host, let (scheme, authority) = Self.split(origin) else { return false }
        let defaultPort = scheme == "https" ? "443" : scheme == "http" ? "80" : nil
        guard let defaultPort else { return false }
        return Self.hostAndPort(authority, defaultPort: defaultPort) == Self.hostAndPort(host, defaultPort: defaultPort)
    }

    /// `https://Example.org:8443` → (`https`, `Example.org:8443`); `nil` if not of that form.
    private static func split(_ origin: String) -> (scheme: String, authority: String)? {
        guard let range = origin.range(of: "://") else { return nil }
        let scheme = origin[..<range.lowerBound].lowercased()
        let authority = String(origin[range.upperBound...])
        guard !authority.isEmpty, !authority.contains("/"), !authority.contains("@") else { return nil }
        return (scheme, authority)
    }

    /// The host in lower case and the port, the scheme's default when none is written.
    private static func hostAndPort(_ authority: String, defaultPort: String) -> String {
        let lowered = authority.lowercased()
        // The port follows the last colon, unless that colon is inside an IPv6 literal.
        if let colon = lowered.lastIndex(of: ":"), !lowered[colon...].contains("]") {
            return lowered
        }
        return lowered + ":" + defaultPort
    }
}
