import Logging
import NIOHTTP1

/// The audit log line written for every refused request: who (address,
/// user name or key name when known), how (method) and why (reason), never
/// the password or key.
struct AuthenticationAudit: Sendable {
    let logger: Logger
    let client: IPAddress?
    /// Kept whole; the log line is only made for a failure.
    let head: HTTPRequestHead
    var user: String?
    var keyName: String?

    init(logger: Logger, client: IPAddress?, head: HTTPRequestHead) {
        self.logger = logger
        self.client = client
        self.head = head
    }

    func failed(method: String, reason: String) {
        // Everything the client chose is escaped (a newline in a user name
        // would forge a log line); the path goes without its query, which
        // may carry a key (`?api_key=`).
        var metadata: Logger.Metadata = [
            "client.address": "\(self.client.map { "\($0)" } ?? "-")",
            "auth.method": "\(method)",
            "auth.reason": "\(reason)",
            "http.method": "\(LogField.escaped(self.head.method.rawValue, limit: 32))",
            "http.path": "\(LogField.path(of: self.head.uri, limit: 200))",
        ]
        if let user = self.user { metadata["auth.user"] = "\(LogField.escaped(user, limit: 64))" }
        if let keyName = self.keyName { metadata["auth.key"] = "\(LogField.escaped(keyName, limit: 64))" }
        self.logger.warning("auth.failure", metadata: metadata)
    }
}
