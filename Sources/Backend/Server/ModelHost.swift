import Synchronization

/// Where the server finds its models: the ``ModelRegistry`` (names, loading
/// on demand, unloading), and whether the server is ready — `/health`
/// answers 503 while the models it must have at start (`--model`, pinned
/// ones) load, 500 if one of them failed, 200 after.
public final class ModelHost: Sendable {
    /// The server's state.
    public enum State: Sendable, Equatable {
        case loading
        case ready
        case failed(String)
    }

    private let current = Mutex(State.loading)
    private let attached = Mutex<ModelRegistry?>(nil)

    /// A host whose registry comes later (``attach(_:)``): the server can
    /// listen, and answer 503, before even the models' headers are read.
    public init() {}

    public init(registry: ModelRegistry) {
        attached.withLock { $0 = registry }
    }

    /// The models, once attached.
    public var registry: ModelRegistry? { attached.withLock { $0 } }

    /// Gives the host its models (the server stays loading until ``ready()``).
    public func attach(_ registry: ModelRegistry) {
        attached.withLock { $0 = registry }
    }

    /// The state now.
    public var state: State { current.withLock { $0 } }

    /// The models the server needs at start are loaded (or it needs none): requests are served.
    public func ready() {
        current.withLock { $0 = .ready }
    }

    /// A model the server needed at start could not be loaded; the API answers with `message`.
    public func failed(_ message: String) {
        current.withLock { $0 = .failed(message) }
    }

    /// The model a request names, loaded; throws when the server is not ready yet.
    func lease(for requested: String?) async throws(APIError) -> ModelLease {
        return try await readyRegistry().lease(for: requested)
    }

    /// The registry of a ready server.
    func readyRegistry() throws(APIError) -> ModelRegistry {
        try checkReady()
        guard let registry else {
            throw APIError(status: .serviceUnavailable, message: "the models are not attached yet", type: "server_error", code: "model_loading")
        }
        return registry
    }

    /// Throws the answer to give while the server is loading or failed.
    func checkReady() throws(APIError) {
        switch state {
        case .ready: return
        case .loading: throw APIError(status: .serviceUnavailable, message: "the model is still loading; try again shortly", type: "server_error", code: "model_loading")
        case .failed(let message): throw APIError(status: .internalServerError, message: "the model failed to load: \(message)", type: "server_error")
        }
    }
}
