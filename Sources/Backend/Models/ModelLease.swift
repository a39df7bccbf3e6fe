import Synchronization

/// A request's hold on a loaded model: while a lease lives, the model is
/// neither evicted nor unloaded by its idle TTL.
///
/// The hold ends when the lease is released — by ``release()``, or when the
/// last reference goes (the connection handler drops its generation however
/// it ends: finished, failed, client gone), so that no path out of a request
/// can forget to release it.
public final class ModelLease: Sendable {
    /// The model.
    public let service: ModelService
    private let registry: ModelRegistry
    private let released: Synchronization.Atomic<Bool> = .init(false)

    init(service: ModelService, registry: ModelRegistry) {
        self.service = service
        self.registry = registry
    }

    /// Ends the hold now (later calls, and the end of the lease, do nothing more).
    public func release() {
        guard !released.exchange(true, ordering: .relaxed) else { return }
        let (registry, id) = (registry, service.id)
        Task { await registry.finished(id) }
    }

    deinit { release() }
}
