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
        // The path only: a query string may carry a key (`?api_key=`), which must not be logged.
        let path = String(self.head.uri.prefix { $0 != "?" }.prefix(200))
        var metadata: Logger.Metadata = [
            "client.address": "\(self.client.map { "\($0)" } ?? "-")",
            "auth.method": "\(method)",
            "auth.reason": "\(reason)",
            "http.method": "\(self.head.method.rawValue)",
            "http.path": "\(path)",
        ]
        if let user = self.user { metadata["auth.user"] = "\(String(user.prefix(64)))" }
        if let keyName = self.keyName { metadata["auth.key"] = "\(keyName)" }
        self.logger.warning("auth.failure", metadata: metadata)
    }
}
