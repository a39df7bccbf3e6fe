import PrometheusText
/// Per-identity counters of ``ProxyMetrics``: requests answered, tokens
/// counted from the upstream's usage, and requests refused by a limit.
///
/// Bounded: an identity is only ever one that admission authenticated (a
/// key in the keys file, a user in the htpasswd file), never a name a
/// client chose, and a limit is one of ``limitCodes``. Requests admitted
/// without credentials are not counted here.
///
/// - `lmgate_proxy_identity_requests_total{identity}`
/// - `lmgate_proxy_identity_tokens_total{identity}`
/// - `lmgate_proxy_identity_denied_total{identity,limit}`
struct IdentityMetrics {
    /// The error codes of the refusals counted as denials by a limit
    /// (``IdentityPolicy``), and the `limit` label each is counted under.
    static let limitCodes: [String: String] = [
        "token_quota_exceeded": "tokens",
        "concurrency_limit_exceeded": "max_concurrent",
        "model_not_allowed": "models",
        "websocket_not_allowed_with_limits": "websocket",
    ]

    private struct Counters {
        var requests = 0
        var tokens = 0
        var denied: [String: Int] = [:]
    }

    private var counters: [String: Counters] = [:]

    mutating func answered(_ identity: String, tokens: Int) {
        self.counters[identity, default: Counters()].requests += 1
        self.counters[identity, default: Counters()].tokens += max(0, tokens)
    }

    /// Counts a refusal with error `code`, if it is a limit's.
    mutating func denied(_ identity: String, code: String) {
        guard let limit = Self.limitCodes[code] else { return }
        self.counters[identity, default: Counters()].denied[limit, default: 0] += 1
    }

    /// Appends the counters in Prometheus text format.
    func render(into text: inout PrometheusExposition) {
        let identities = self.counters.keys.sorted()
        text.family("lmgate_proxy_identity_requests_total", type: .counter, help: "Requests answered, by authenticated key or user.")
        for identity in identities {
            text.sample("lmgate_proxy_identity_requests_total", labels: [("identity", identity)], value: self.counters[identity]!.requests)
        }
        text.family("lmgate_proxy_identity_tokens_total", type: .counter, help: "Prompt and completion tokens the upstream reported, by key or user.")
        for identity in identities {
            text.sample("lmgate_proxy_identity_tokens_total", labels: [("identity", identity)], value: self.counters[identity]!.tokens)
        }
        text.family("lmgate_proxy_identity_denied_total", type: .counter, help: "Requests refused by a key's or user's limit.")
        for identity in identities {
            for (limit, count) in self.counters[identity]!.denied.sorted(by: { $0.key < $1.key }) {
                text.sample("lmgate_proxy_identity_denied_total", labels: [("identity", identity), ("limit", limit)], value: count)
            }
        }
    }
}
