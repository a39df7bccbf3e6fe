import NIOCore

/// The backend serves this machine only: it binds loopback addresses and
/// closes connections from anywhere else (a proxy on the same machine, such
/// as `lmgate proxy`, is what admits other clients).
///
/// This is the one place in Backend that says what counts as loopback: for
/// the address it binds, the peers it accepts, and the `Host` and `Origin`
/// names a request may carry (``LoopbackRequestGuard``).
public enum LoopbackAddress {
    /// Whether `host` (a name or an IP address) is a loopback address:
    /// `localhost`, 127.0.0.0/8 or `::1`.
    public static func isLoopback(host: String) -> Bool {
        if host.lowercased() == "localhost" { return true }
        guard let address = try? SocketAddress(ipAddress: host, port: 0) else { return false }
        return isLoopback(address)
    }

    /// Whether `address` is 127.0.0.0/8, `::1` or `::ffff:127.0.0.0/104`.
    public static func isLoopback(_ address: SocketAddress) -> Bool {
        switch address {
        case .v4(let v4):
            return UInt32(bigEndian: v4.address.sin_addr.s_addr) >> 24 == 127
        case .v6(let v6):
            let bytes = withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
            if bytes[0..<15].allSatisfy({ $0 == 0 }) && bytes[15] == 1 { return true }
            return bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF && bytes[12] == 127
        case .unixDomainSocket:
            return false
        }
    }

    /// Whether an HTTP authority (`host`, `host:port`, `[v6]`, `[v6]:port`,
    /// as in a `Host` header) names a loopback host, with any valid port.
    ///
    /// Only names that cannot be re-pointed are loopback here: `localhost`
    /// and IP literals. Any other name, even one that resolves to 127.0.0.1
    /// now, is what a DNS-rebinding page uses. The port is not compared with
    /// the server's: a rebinding page is refused for its name whatever the
    /// port, and a tunnel (`ssh -L 8080:127.0.0.1:1234`) or a container's
    /// port mapping rightly names another one.
    public static func isLoopback(authority: Substring) -> Bool {
        let host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return false }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let rest = authority[authority.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { return false }
                portText = rest.dropFirst()
            }
            // Only IPv6 literals go in brackets.
            guard host.contains(":") else { return false }
        } else {
            let parts = authority.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            host = parts[0]
            if parts.count == 2 { portText = parts[1] }
            // An unbracketed IPv6 literal is not a valid authority.
            guard !host.contains(":") else { return false }
        }
        if let portText {
            guard !portText.isEmpty, portText.utf8.count <= 5, portText.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
                let number = Int(portText), number <= 65535
            else { return false }
        }
        return !host.isEmpty && isLoopback(host: String(host))
    }

    /// Whether a browser `Origin` (`scheme://host[:port]`) is a page served
    /// from this machine's loopback: `http` or `https`, any port. `null`
    /// (sandboxed frames, `file:` pages) is not.
    public static func isLoopback(origin: String) -> Bool {
        let lowered = origin.lowercased()
        let authority: Substring
        if lowered.hasPrefix("http://") {
            authority = lowered.dropFirst("http://".count)
        } else if lowered.hasPrefix("https://") {
            authority = lowered.dropFirst("https://".count)
        } else {
            return false
        }
        // An origin has no path, query or user information.
        guard !authority.contains(where: { $0 == "/" || $0 == "?" || $0 == "#" || $0 == "@" }) else { return false }
        return isLoopback(authority: authority)
    }
}
