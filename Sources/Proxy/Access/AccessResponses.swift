import NIOCore
import NIOHTTP1

/// The answers access control gives instead of forwarding. Bodies are
/// OpenAI-style errors (`authentication_error` with `invalid_api_key` or
/// `missing_api_key`, as OpenAI's API answers) and never say whether a
/// user or key exists.
struct AccessResponses {
    let missing: AdmissionDecision
    let invalid: AdmissionDecision
    let expired: AdmissionDecision

    init(realm: String, methods: AccessConfiguration.Methods) {
        var headers = HTTPHeaders()
        if methods.acceptsBasic {
            headers.add(name: "www-authenticate", value: "Basic realm=\"\(realm)\", charset=\"UTF-8\"")
        } else {
            headers.add(name: "www-authenticate", value: "Bearer realm=\"\(realm)\"")
        }
        let wanted: String
        switch methods {
        case .basic: wanted = "a user name and password (HTTP Basic authentication)"
        case .key: wanted = "an API key (Authorization: Bearer KEY or x-api-key: KEY)"
        case .either: wanted = "an API key (Authorization: Bearer KEY or x-api-key: KEY) or a user name and password"
        }
        self.missing = .reject(
            status: .unauthorized, headers: headers, message: "Authentication required: send \(wanted).",
            code: "missing_api_key")
        self.invalid = .reject(
            status: .unauthorized, headers: headers, message: "The credentials provided are not valid.",
            code: "invalid_api_key")
        self.expired = .reject(
            status: .unauthorized, headers: headers, message: "The API key provided has expired.",
            code: "invalid_api_key")
    }

    static let addressNotAllowed = AdmissionDecision.reject(
        status: .forbidden, headers: [:], message: "Requests from this address are not allowed.",
        code: "address_not_allowed")

    static let insufficientScope = AdmissionDecision.reject(
        status: .forbidden, headers: [:], message: "This API key does not have the admin scope this path needs.",
        code: "insufficient_scope")

    static func lockedOut(retryAfter wait: TimeAmount) -> AdmissionDecision {
        .reject(
            status: .tooManyRequests, headers: retryAfter(wait),
            message: "Too many failed authentication attempts from this address; try again later.",
            code: "too_many_failed_attempts")
    }

    static let busy = AdmissionDecision.reject(
        status: .tooManyRequests, headers: ["retry-after": "1"],
        message: "Too many password checks are under way; try again shortly.", code: "authentication_busy")

    static func rateLimited(retryAfter wait: TimeAmount) -> AdmissionDecision {
        .reject(
            status: .tooManyRequests, headers: retryAfter(wait),
            message: "Rate limit reached for these credentials; slow down.", code: "rate_limit_exceeded")
    }

    private static func retryAfter(_ wait: TimeAmount) -> HTTPHeaders {
        let seconds = max(1, (wait.nanoseconds + 999_999_999) / 1_000_000_000)
        return ["retry-after": String(seconds)]
    }

    /// The `type` of the JSON error body for a status access control answers with.
    static func errorType(for status: HTTPResponseStatus) -> String {
        switch status {
        case .unauthorized: "authentication_error"
        case .forbidden: "permission_error"
        case .tooManyRequests: "rate_limit_error"
        default: "invalid_request_error"
        }
    }
}
