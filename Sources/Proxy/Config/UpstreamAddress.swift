/// One upstream server, written as `http://host:port` in a configuration.
///
/// Only plain HTTP upstreams are supported: lmgate terminates TLS and speaks
/// plain HTTP to servers that are expected to listen on loopback or a
/// trusted network.
public struct UpstreamAddress: Sendable, Hashable, CustomStringConvertible {
    public var endpoint: HostAndPort

    public init(endpoint: HostAndPort) {
        self.endpoint = endpoint
    }

    /// Parses `http://host[:port][/]`, or returns why it cannot.
    static func parse(_ text: String) -> Result<UpstreamAddress, UpstreamAddressProblem> {
        guard text.lowercased().hasPrefix("http://") else {
            return .failure(.init("expected an http:// URL such as http://127.0.0.1:1234, got '\(text)'"))
        }
        var rest = text.dropFirst("http://".count)
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        if rest.contains("/") || rest.contains("?") || rest.contains("@") {
            return .failure(.init("an upstream URL has no path, query or credentials: '\(text)'"))
        }
        if let endpoint = HostAndPort(parsing: rest) {
            return .success(UpstreamAddress(endpoint: endpoint))
        }
        // No port given: HTTP's default.
        if !rest.isEmpty, !rest.contains(":") || (rest.hasPrefix("[") && rest.hasSuffix("]")) {
            let host = rest.hasPrefix("[") ? rest.dropFirst().dropLast() : rest
            return .success(UpstreamAddress(endpoint: HostAndPort(host: String(host), port: 80)))
        }
        return .failure(.init("expected http://host:port, got '\(text)'"))
    }

    /// The value of the `Host` header sent to this upstream.
    public var hostHeader: String { self.endpoint.description }

    public var description: String { "http://\(self.endpoint)" }
}

/// Why an upstream URL was rejected.
struct UpstreamAddressProblem: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
