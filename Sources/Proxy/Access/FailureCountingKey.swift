/// The unit that login failures (and anything else counted per client) are
/// counted against: an IPv4 address, or an IPv6 network of a configured
/// prefix length.
///
/// One IPv6 host is usually given a whole /64 (SLAAC, privacy addresses), so
/// counting per /128 would hand an attacker 2^64 fresh addresses, each with a
/// full set of guesses. IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) are
/// IPv4 here (``IPAddress`` holds IPv4 in that form), so a client cannot
/// double its allowance by reaching a dual-stack socket.
struct FailureCountingKey: Hashable, Sendable, CustomStringConvertible {
    /// The client address, IPv6 cut to the prefix.
    let network: IPAddress

    /// The key of `address`, counting IPv6 per `/ipv6PrefixLength`.
    init(_ address: IPAddress, ipv6PrefixLength: Int) {
        self.network = address.isIPv4 ? address : address.masked(toPrefixLength: ipv6PrefixLength)
    }

    var description: String { "\(self.network)" }
}
