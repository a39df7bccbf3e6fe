import Foundation
import Loopback
import NIOHTTP1

/// Decides whether a request may reach the backend's API at all, before it
/// is routed: the checks that keep a web page in a browser on this machine,
/// and any process without the key, from using a server that listens on
/// loopback only.
///
/// - `Host` must name loopback (`127.0.0.1`, `localhost`, `[::1]`, with or
///   without a port): a DNS-rebinding page reaches 127.0.0.1
///   under its own name (`Host: rebind.example`), and is refused with 403
///   (the class of Ollama's CVE-2024-28224). HTTP/1.1 without `Host` is 400.
/// - With a ``BackendAPIKey`` (`lmgate serve` makes one at each start), every
///   request but `GET /health` must carry `Authorization: Bearer <key>` or
///   `x-api-key: <key>`, else 401.
/// - An `Origin` that is not a loopback page is refused (403): a browser
///   sends it on every cross-origin request, and a page must not drive the
///   API with the user's loopback access (CSRF). A request that carries
///   the key is exempt: a page cannot know the key, so such a request comes
///   from whoever holds it — the proxy, whose own CORS policy already
///   admitted the browser client whose `Origin` it forwards.
/// - A `POST` must be `Content-Type: application/json` (415 otherwise): a page
///   may post `text/plain` cross-origin without asking first (no preflight),
///   but not JSON.
struct LoopbackRequestGuard: Sendable {
    /// What to do with a request.
    enum Verdict: Equatable {
        case admit
        case refuse(APIError)
    }

    /// The key every request but health must carry; `nil` for none.
    var apiKey: BackendAPIKey?

    /// The verdict on a request head; `path` is its path without the query.
    func check(_ head: HTTPRequestHead, path: String) -> Verdict {
        let hosts = head.headers["host"]
        if hosts.isEmpty {
            let requiresHost = head.version.major > 1 || (head.version.major == 1 && head.version.minor >= 1)
            if requiresHost { return .refuse(.invalid("an HTTP/1.1 request needs a Host header")) }
        } else if hosts.count > 1 {
            return .refuse(.invalid("a request may carry only one Host header"))
        } else if !LoopbackAddress.isLoopback(authority: Substring(hosts[0])) {
            return .refuse(
                APIError(
                    status: .forbidden,
                    message: "this server answers only requests addressed to 127.0.0.1, localhost or [::1]",
                    type: "invalid_request_error", code: "host_not_allowed"))
        }

        var authenticated = false
        if let apiKey {
            let authorizations = head.headers["authorization"]
            let apiKeyHeaders = head.headers["x-api-key"]
            // `Authorization` decides when present: a proxy without authentication of its own adds the
            // backend's key there and passes the client's `x-api-key` on (Anthropic's SDK always sends one).
            // Several values of the header that decides are ambiguous, and refused.
            if !authorizations.isEmpty {
                authenticated = authorizations.count == 1 && apiKey.isPresented(inAuthorization: authorizations[0])
            } else {
                authenticated = apiKeyHeaders.count == 1 && apiKey.isPresented(inAPIKeyHeader: apiKeyHeaders[0])
            }
            // Health says only whether the model is loaded: the supervisor and probes ask without the key.
            let isHealth = head.method == .GET && (path == "/health" || path == "/v1/health")
            if !authenticated && !isHealth {
                return .refuse(
                    APIError(
                        status: .unauthorized,
                        message: authorizations.isEmpty && apiKeyHeaders.isEmpty
                            ? "this server needs its API key: send 'Authorization: Bearer <key>' or 'x-api-key: <key>'"
                            : "the API key is not valid for this server",
                        type: "invalid_request_error",
                        code: authorizations.isEmpty && apiKeyHeaders.isEmpty ? "missing_api_key" : "invalid_api_key"))
            }
        }

        if !authenticated, head.headers["origin"].contains(where: { !LoopbackAddress.isLoopback(origin: $0) }) {
            return .refuse(
                APIError(
                    status: .forbidden, message: "requests from web pages of other origins are refused",
                    type: "invalid_request_error", code: "origin_not_allowed"))
        }

        if head.method == .POST {
            let types = head.headers["content-type"]
            guard types.count == 1, Self.isJSON(types[0]) else {
                return .refuse(
                    APIError(
                        status: .unsupportedMediaType, message: "the request body must be sent as 'Content-Type: application/json'",
                        type: "invalid_request_error", code: "unsupported_media_type"))
            }
        }
        return .admit
    }

    /// Whether a `Content-Type` value is `application/json`, parameters
    /// (`; charset=utf-8`) allowed.
    static func isJSON(_ contentType: String) -> Bool {
        let mediaType = contentType.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false)[0]
        return mediaType.trimmingCharacters(in: .whitespaces).lowercased() == "application/json"
    }
}

