import NIOHTTP1

/// Finds the real client of a request: the connection's peer, or, when the
/// peer is a trusted proxy, the address its `X-Forwarded-For` names.
///
/// The header is read from the right (the hop nearest to us), skipping
/// trusted proxies; the first address not trusted is the client. Entries
/// further left were written by whoever sent the request and cannot be
/// believed. From a peer that is not trusted the header is ignored.
enum ClientAddressResolver {
    static func client(peer: IPAddress, headers: HTTPHeaders, trustedProxies: [CIDRRange]) -> IPAddress {
        guard !trustedProxies.isEmpty, trustedProxies.contains(where: { $0.contains(peer) }) else { return peer }
        let hops = headers[canonicalForm: "x-forwarded-for"].map { PresentedCredentials.trimmed($0) }
        var client = peer
        for hop in hops.reversed() {
            // An unreadable entry ends the chain: what lies left of it is unverifiable.
            guard let address = IPAddress(hop) else { return client }
            client = address
            if !trustedProxies.contains(where: { $0.contains(address) }) { return address }
        }
        return client
    }
}
