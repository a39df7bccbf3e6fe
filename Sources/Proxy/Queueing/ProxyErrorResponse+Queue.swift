/// The answers of an ``UpstreamQueue`` that cannot give a request a slot.
extension ProxyErrorResponse {
    /// 429 for a client with its whole share of the queue taken.
    static func queueShareFull(client: String, maximum: Int) -> Self {
        Self(
            status: .tooManyRequests,
            message: "\(Self.describe(queuedClient: client)) already has \(maximum) requests waiting or in flight, "
                + "its share of the queue for the upstream (queue.max_per_identity).",
            type: "rate_limit_error", code: "queue_share_exceeded")
    }

    /// 503 when the queue for the upstream is full.
    static func upstreamQueueFull(waiting: Int) -> Self {
        Self(
            status: .serviceUnavailable,
            message: "The upstream is busy and \(waiting) requests are waiting for it already (queue.max_waiting); "
                + "retry later (Retry-After).",
            type: "server_error", code: "queue_full")
    }

    /// 503 for a request that waited the whole queue timeout.
    static func upstreamQueueTimeout(after timeout: Duration) -> Self {
        Self(
            status: .serviceUnavailable,
            message: "The upstream stayed busy: the request waited \(timeout) for a free slot (queue.timeout); "
                + "retry later (Retry-After).",
            type: "server_error", code: "queue_timeout")
    }

    /// `The key 'laptop'`, `The user 'alice'` or `The client address 192.0.2.7`.
    private static func describe(queuedClient client: String) -> String {
        guard client.hasPrefix("address:") else { return IdentityPolicy.describe(client) }
        return "The client address \(LogField.escaped(client.dropFirst("address:".count), limit: 64))"
    }
}
