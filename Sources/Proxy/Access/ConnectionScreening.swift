import Logging
import NIOCore

/// Screening at accept, before any TLS work: a peer outside the source-IP
/// allowlist is closed at once. A trusted proxy's connections pass: they are
/// judged per request, by the client they forward for.
struct ConnectionScreening: Sendable {
    let store: AccessPolicyStore
    let logger: Logger

    /// Whether a peer may connect at all. Peers that are not IP sockets pass.
    func permitsConnection(from address: SocketAddress) -> Bool {
        guard let peer = IPAddress(address) else { return true }
        let policy = self.store.current.policy
        if policy.configuration.trustedProxies.contains(where: { $0.contains(peer) }) { return true }
        if policy.allowlist.permits(peer) { return true }
        self.logger.info("access.denied_connection", metadata: ["client.address": "\(peer)"])
        return false
    }
}
