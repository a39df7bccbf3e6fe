import Synchronization

/// Where the server finds its model: loading at first (`/health` answers
/// 503 and the API refuses with 503), then ready, or failed to load.
public final class ModelHost: Sendable {
    /// The model's state.
    public enum State: Sendable {
        case loading
        case ready(ModelService)
        case failed(String)
    }

    private let current = Mutex(State.loading)
    private let metrics: BackendMetrics

    public init(metrics: BackendMetrics) {
        self.metrics = metrics
    }

    /// The state now.
    public var state: State { current.withLock { $0 } }

    /// The loaded model is ready to serve.
    public func ready(_ service: ModelService) {
        current.withLock { $0 = .ready(service) }
        metrics.setModelLoaded()
    }

    /// The model could not be loaded; the API answers with `message`.
    public func failed(_ message: String) {
        current.withLock { $0 = .failed(message) }
    }
}
