#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Loopback
import NIOCore

/// An IPv4 or IPv6 address as 128 bits, IPv4 held in its IPv4-mapped IPv6
/// form (`::ffff:a.b.c.d`), so that a client reaching an IPv6 socket from an
/// IPv4 address matches the same IPv4 rules as one reaching an IPv4 socket.
public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    /// The upper and lower 64 bits, in network (big-endian) bit order.
    let high: UInt64
    let low: UInt64

    init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Parses an IPv4 (`192.0.2.7`) or IPv6 (`2001:db8::1`, `::ffff:192.0.2.7`) literal.
    public init?(_ text: some StringProtocol) {
        var text = String(text)
        if text.hasPrefix("[") && text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
        // A zone (`fe80::1%eth0`) names an interface, not part of the address.
        if let percent = text.firstIndex(of: "%") { text = String(text[..<percent]) }
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            self.init(ipv4: UInt32(bigEndian: v4.s_addr))
            return
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
        let bytes = withUnsafeBytes(of: &v6) { Array($0) }
        self.init(bytes: bytes)
    }

    /// The address of a connected peer, if it is an IP address.
    public init?(_ address: SocketAddress) {
        switch address {
        case .v4(let v4):
            self.init(ipv4: UInt32(bigEndian: v4.address.sin_addr.s_addr))
        case .v6(let v6):
            var raw = v6.address.sin6_addr
            self.init(bytes: withUnsafeBytes(of: &raw) { Array($0) })
        case .unixDomainSocket:
            return nil
        }
    }

    /// An IPv4 address from its 32 bits in host order.
    init(ipv4: UInt32) {
        self.init(high: 0, low: 0x0000_FFFF_0000_0000 | UInt64(ipv4))
    }

    private init(bytes: [UInt8]) {
        var high: UInt64 = 0
        var low: UInt64 = 0
        for index in 0..<8 { high = high << 8 | UInt64(bytes[index]) }
        for index in 8..<16 { low = low << 8 | UInt64(bytes[index]) }
        self.init(high: high, low: low)
    }

    /// Whether this is an IPv4 address (or an IPv4-mapped IPv6 one).
    public var isIPv4: Bool { self.high == 0 && self.low >> 32 == 0xFFFF }

    /// The address with all but its first `bits` (of 128) set to zero.
    func masked(toPrefixLength bits: Int) -> IPAddress {
        func keep(_ word: UInt64, _ bits: Int) -> UInt64 {
            bits <= 0 ? 0 : bits >= 64 ? word : word & ~(UInt64.max >> UInt64(bits))
        }
        return IPAddress(high: keep(self.high, bits), low: keep(self.low, bits - 64))
    }

    /// `127.0.0.0/8` or `::1` (``LoopbackAddress``).
    public var isLoopback: Bool { LoopbackAddress.isLoopback(high: self.high, low: self.low) }

    public var description: String {
        if self.isIPv4 {
            let value = UInt32(truncatingIfNeeded: self.low)
            return "\(value >> 24).\(value >> 16 & 0xFF).\(value >> 8 & 0xFF).\(value & 0xFF)"
        }
        var raw = in6_addr()
        withUnsafeMutableBytes(of: &raw) { bytes in
            for index in 0..<8 { bytes[index] = UInt8(truncatingIfNeeded: self.high >> (56 - 8 * index)) }
            for index in 0..<8 { bytes[8 + index] = UInt8(truncatingIfNeeded: self.low >> (56 - 8 * index)) }
        }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_ntop(AF_INET6, &raw, &buffer, socklen_t(buffer.count)) != nil else { return "?" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
