/// Finds the upstream connection for an exchange: picks an upstream with
/// the balancer (skipping those the request already tried), then takes an
/// idle keep-alive connection to it from the event loop's pool, or says to
/// open a new one. What follows a failed connection is ``UpstreamFailover``'s.
struct UpstreamAcquisition {
    let balancer: UpstreamBalancer
    let pool: UpstreamConnectionPool

    enum Outcome {
        /// No upstream is up, or every one was tried: answer 502.
        case noUpstream
        /// A pooled connection. It may have been closed by the upstream an
        /// instant ago (its keep-alive timeout), so what is sent on it is
        /// recorded for a replay (``StaleConnectionReplay``).
        case pooled(UpstreamConnection)
        /// Open a new connection to this upstream.
        case connect(upstream: Int)
    }

    /// Picks the upstream for `exchange` and counts the exchange against it.
    /// - Parameter freshConnection: never take a pooled connection (the
    ///   retry after a stale one).
    func acquire(for exchange: Exchange, freshConnection: Bool) -> Outcome {
        // A request with a queue slot takes one at the upstream it goes to (again, when it tries another).
        let holdingSlot = exchange.upstreamSlot != nil
        exchange.releaseUpstreamSlotHolding(in: self.balancer)
        guard let upstream = self.balancer.pick(excluding: exchange.triedUpstreams, holdingSlot: holdingSlot) else {
            return .noUpstream
        }
        if holdingSlot { exchange.slotUpstream = upstream }
        exchange.upstream = upstream
        exchange.triedUpstreams.append(upstream)
        // An upgrade takes its connection for good: always a new one, never pooled afterwards.
        if !freshConnection, !exchange.isWebSocketUpgrade, let connection = self.pool.takeIdle(upstream: upstream) {
            exchange.replay.startRecording()
            return .pooled(connection)
        }
        return .connect(upstream: upstream)
    }
}
