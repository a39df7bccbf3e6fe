import Logging
import NIOHTTP1

/// The audit line written when an identity's limit refuses a request
/// (``IdentityPolicy``: models, concurrency, token quota, WebSocket), and
/// the per-identity denial counter it goes with (``IdentityMetrics``).
///
/// `policy.denied` at `notice`, with `auth.identity` (`key:NAME` or the
/// user), `policy.code` (the OpenAI error code the client got),
/// `response.status`, `client.address`, `http.method` and `http.path`
/// (without its query, escaped). Format in docs/LOGGING.md.
enum PolicyAudit {
    static func denied(
        identity: String, response: ProxyErrorResponse, exchange: Exchange, client: String, metrics: ProxyMetrics, logger: Logger
    ) {
        metrics.identityDenied(identity, code: response.code)
        logger.notice(
            "policy.denied",
            metadata: [
                "auth.identity": "\(LogField.escaped(identity, limit: 64))",
                "policy.code": "\(response.code)",
                "response.status": "\(response.status.code)",
                "client.address": "\(client)",
                "http.method": "\(LogField.escaped(exchange.clientHead.method.rawValue, limit: 32))",
                "http.path": "\(LogField.path(of: exchange.clientHead.uri, limit: 200))",
            ])
    }
}
