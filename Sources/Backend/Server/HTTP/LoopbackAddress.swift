import NIOCore

/// The backend serves this machine only: it binds loopback addresses and
/// closes connections from anywhere else (a proxy on the same machine, such
/// as `lmgate proxy`, is what admits other clients).
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
}
