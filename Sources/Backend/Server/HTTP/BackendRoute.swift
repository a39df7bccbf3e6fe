import NIOHTTP1

/// What a request's method and path ask the backend for, decided before
/// its body is read to the end and without touching the connection.
enum BackendRoute: Equatable, Sendable {
    case health
    case metrics
    /// The listing and the loading and unloading of models (``ModelsAPI``).
    case models
    /// A generation (`POST` to one of ``GenerationEndpoint``'s paths).
    case generation(GenerationEndpoint)
    /// `POST /v1/embeddings` (``EmbeddingsAPI``).
    case embeddings
    /// `POST /v1/messages/count_tokens`.
    case countTokens
    /// A known path with a method it does not take.
    case methodNotAllowed
    case notFound

    /// The paths that exist, whatever the method.
    private static let knownPaths = Set(["/health", "/v1/health", "/metrics", "/v1/models", "/v1/messages/count_tokens", EmbeddingsAPI.path])
        .union(GenerationEndpoint.allCases.map(\.rawValue))

    init(method: HTTPMethod, path: String) {
        switch (method, path) {
        case (.GET, "/health"), (.GET, "/v1/health"): self = .health
        case (.GET, "/metrics"): self = .metrics
        case (let method, let path) where ModelsAPI.handles(method: method, path: path): self = .models
        case (.POST, EmbeddingsAPI.path): self = .embeddings
        case (.POST, "/v1/messages/count_tokens"): self = .countTokens
        case (.POST, let path) where GenerationEndpoint(rawValue: path) != nil: self = .generation(GenerationEndpoint(rawValue: path)!)
        case (_, let path) where Self.knownPaths.contains(path): self = .methodNotAllowed
        default: self = .notFound
        }
    }

    /// The path of a request target, without its query.
    static func path(of uri: String) -> String {
        uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? uri
    }

    /// The answer to a health check in `state`: the status and body.
    static func health(_ state: ModelHost.State) -> (HTTPResponseStatus, JSONValue) {
        switch state {
        case .loading: (.serviceUnavailable, ["status": "loading"])
        case .ready: (.ok, ["status": "ok"])
        // Health answers without the key: the reason (a path, a file's defect) is in the
        // log and in the API's answers to clients that have the key, not here.
        case .failed: (.internalServerError, ["status": "error"])
        }
    }
}
