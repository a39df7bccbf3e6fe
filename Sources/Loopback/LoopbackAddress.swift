import NIOCore

/// What counts as a loopback address, for the proxy and the backend alike:
/// `localhost`, 127.0.0.0/8, `::1` and the IPv4-mapped `::ffff:127.0.0.0/104`.
///
/// The one place that says so: the backend asks it for the address it
/// binds, the peers it accepts and the `Host` and `Origin` names a request
/// may carry (its `LoopbackRequestGuard`); the proxy for its listeners
/// (plain HTTP is allowed on loopback ones) and for client addresses
/// (`auth.skip_loopback`).
public enum LoopbackAddress {
    /// Whether the 128-bit address `high`·`low` (an IPv4 address mapped as
    /// `::ffff:a.b.c.d`) is `::1` or in 127.0.0.0/8: the rule itself, which
    /// every other form here reduces to.
    public static func isLoopback(high: UInt64, low: UInt64) -> Bool {
        guard high == 0 else { return false }
        if low == 1 { return true }
        return low >> 32 == 0xFFFF && (low >> 24) & 0xFF == 127
    }

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
            return isLoopback(high: 0, low: 0xFFFF_0000_0000 | UInt64(UInt32(bigEndian: v4.address.sin_addr.s_addr)))
        case .v6(let v6):
            let (high, low) = withUnsafeBytes(of: v6.address.sin6_addr) { bytes in
                (UInt64(bigEndian: bytes.loadUnaligned(as: UInt64.self)),
                 UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
            }
            return isLoopback(high: high, low: low)
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
