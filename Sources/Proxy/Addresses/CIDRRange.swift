/// A range of addresses written in CIDR notation: `10.0.0.0/8`,
/// `2001:db8::/32`, or a single address (`192.0.2.7`, `::1`).
///
/// IPv4 ranges also match the IPv4-mapped IPv6 form of their addresses (see
/// ``IPAddress``); `::ffff:10.0.0.0/104` and `10.0.0.0/8` are the same range.
public struct CIDRRange: Sendable, Hashable, CustomStringConvertible {
    public let network: IPAddress
    /// Leading bits that must match, out of 128 (an IPv4 `/8` is 104 here).
    let prefixLength: Int
    public let description: String

    /// Parses `address[/bits]`; nil when either part is invalid or host bits
    /// are set beyond the prefix (`10.0.0.1/8`, almost always a typo).
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress(parts[0]) else { return nil }
        let width = address.isIPv4 && !parts[0].contains(":") ? 32 : 128
        var bits = width
        if parts.count == 2 {
            guard let parsed = Int(parts[1]), (0...width).contains(parsed), parts[1].allSatisfy(\.isASCII) else {
                return nil
            }
            bits = parsed
        }
        let prefixLength = bits + (128 - width)
        guard address.masked(toPrefixLength: prefixLength) == address else { return nil }
        self.network = address
        self.prefixLength = prefixLength
        self.description = text
    }

    /// Whether `address` lies in this range.
    public func contains(_ address: IPAddress) -> Bool {
        address.masked(toPrefixLength: self.prefixLength) == self.network
    }
}
