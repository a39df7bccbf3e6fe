/// Which client addresses may connect: the `allow` and `deny` lists of the
/// configuration, as nginx's `allow`/`deny` or a firewall would apply them.
///
/// A `deny` match always refuses. Otherwise, with an empty `allow` list every
/// address is allowed; with a non-empty one only addresses in it are. (Unlike
/// nginx, order does not matter: a narrower deny inside a wider allow works
/// whichever is written first.)
public struct SourceAllowlist: Sendable, Equatable {
    public var allow: [CIDRRange]
    public var deny: [CIDRRange]

    public init(allow: [CIDRRange] = [], deny: [CIDRRange] = []) {
        self.allow = allow
        self.deny = deny
    }

    /// Whether the list restricts anything at all.
    public var isUnrestricted: Bool { self.allow.isEmpty && self.deny.isEmpty }

    /// Whether `address` may connect.
    public func permits(_ address: IPAddress) -> Bool {
        if self.deny.contains(where: { $0.contains(address) }) { return false }
        return self.allow.isEmpty || self.allow.contains { $0.contains(address) }
    }
}
