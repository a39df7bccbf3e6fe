import Loopback

/// A `host:port` pair as written in a configuration (`127.0.0.1:8443`,
/// `[::1]:8443`, `localhost:8080`).
public struct HostAndPort: Sendable, Hashable, CustomStringConvertible {
    /// The host without brackets: an IPv4 or IPv6 literal or a name.
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port`; IPv6 literals must be bracketed.
    public init?(parsing text: Substring) {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portText = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            if host.contains(":") { return nil }  // an unbracketed IPv6 literal is ambiguous
        }
        guard !host.isEmpty, let port = Int(portText), (0...65535).contains(port),
            portText.allSatisfy(\.isASCII)
        else { return nil }
        self.host = String(host)
        self.port = port
    }

    public var description: String {
        self.host.contains(":") ? "[\(self.host)]:\(self.port)" : "\(self.host):\(self.port)"
    }

    /// Whether the host is a loopback address or `localhost`: only such
    /// listeners may serve plain HTTP without an explicit opt-in.
    public var isLoopback: Bool { LoopbackAddress.isLoopback(host: self.host) }
}

/// One address the proxy accepts connections on, and whether it speaks TLS.
public struct ListenerConfiguration: Sendable, Hashable {
    /// How connections on a listener are secured.
    public enum Security: Sendable, Hashable {
        /// Plain HTTP.
        case plain
        /// TLS with the given PEM files.
        case tls(certificatePath: String, keyPath: String)
    }

    public var address: HostAndPort
    public var security: Security

    public init(address: HostAndPort, security: Security) {
        self.address = address
        self.security = security
    }

    /// Whether the listener terminates TLS.
    public var isTLS: Bool {
        if case .tls = self.security { return true }
        return false
    }
}
