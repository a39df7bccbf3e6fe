extension ProxyErrorResponse {
    /// 503 for a request whose token quota is counted in PostgreSQL while
    /// the server cannot be reached (`state.on_unavailable: closed`).
    static let sharedStateUnavailable = Self(
        status: .serviceUnavailable,
        message: "The token quota of this request cannot be checked: the state this proxy shares with its replicas "
            + "is unreachable. Retry later (Retry-After).",
        type: "server_error", code: "shared_state_unavailable")

    /// The `Retry-After` of ``sharedStateUnavailable``: about one reconnection attempt at the longest back-off.
    static let sharedStateRetryAfterSeconds = 5
}
