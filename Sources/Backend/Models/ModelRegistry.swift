import Dispatch
import Foundation
import Logging

/// The models this backend serves and the ones in memory: carries out what
/// ``ModelResidency`` decides (loading, unloading, idle TTLs), and nothing else.
///
/// A request asks for a ``ModelLease`` by the name it sent; the registry
/// resolves the name (``ModelNameResolver``), and when the model is not in
/// memory loads it — off the cooperative pool, the load's progress logged —
/// while the request waits. Concurrent requests for a model being loaded
/// wait on the same load. A model that cannot be loaded gets its requests a
/// clear error and leaves the other models as they were.
public actor ModelRegistry {
    /// Resolves clients' names to ids.
    public nonisolated let resolver: ModelNameResolver
    /// The models served, by id.
    public nonisolated let entries: [String: ModelEntry]
    private var residency: ModelResidency
    private var services: [String: ModelService] = [:]
    private var loads: [String: Task<Result<ModelService, APIError>, Never>] = [:]
    private var expiryTimer: Task<Void, Never>?
    private var stopping = false
    private let configuration: SchedulerConfiguration
    private let metrics: BackendMetrics
    private let logger: Logger
    private let started = ContinuousClock.now

    /// - Parameters:
    ///   - entries: the models served (from ``ModelFolder/scan(_:)``, or the one `--model` file).
    ///   - aliases: more names for them (alias → id).
    ///   - limits: when models are loaded and unloaded; a pinned id must be one of `entries`.
    /// - Throws: ``ModelFolderError`` for an alias or pin naming no model, or two entries with one id.
    public init(
        entries: [ModelEntry], aliases: [String: String] = [:], limits: ModelResidency.Limits = .init(),
        configuration: SchedulerConfiguration, metrics: BackendMetrics, logger: Logger
    ) throws(ModelFolderError) {
        var byID: [String: ModelEntry] = [:]
        for entry in entries {
            guard byID.updateValue(entry, forKey: entry.id) == nil else { throw ModelFolderError("two models have the id '\(entry.id)'") }
        }
        let resolver = try ModelNameResolver(ids: Array(byID.keys), aliases: aliases)
        // Pins and per-model TTLs may name a model as clients do (any case, with `.gguf`); the residency keeps ids.
        func id(of name: String) throws(ModelFolderError) -> String {
            guard let id = ModelNameResolver.match(name, in: resolver.ids) else {
                throw ModelFolderError("'\(name)' is named in the models settings but is not a model here (models: \(ModelNameResolver.list(resolver.ids)))")
            }
            return id
        }
        var limits = limits
        var pinned: Set<String> = []
        for name in limits.pinned { pinned.insert(try id(of: name)) }
        var ttls: [String: Double] = [:]
        for (name, ttl) in limits.idleTTLByModel { ttls[try id(of: name)] = ttl }
        limits.pinned = pinned
        limits.idleTTLByModel = ttls
        self.entries = byID
        self.resolver = resolver
        self.residency = ModelResidency(limits: limits)
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
    }

    private var now: Double {
        let elapsed = ContinuousClock.now - started
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    /// The model a request names (`nil`: it named none, which only a one-model server accepts), loaded if need be.
    public func lease(for requested: String?) async throws(APIError) -> ModelLease {
        let entry = try entry(for: requested)
        let admission = residency.request(entry.id, memory: entry.estimatedMemory, now: now)
        let service = try await carryOut(admission, for: entry)
        armExpiry()
        return ModelLease(service: service, registry: self)
    }

    /// Loads the model `name` names (`lmgate models load`) and returns its
    /// id; it stays until its TTL or an eviction. With `pin`, it is pinned
    /// once loaded (never unloaded by a TTL or an eviction); with
    /// `idleTTL`, that is its TTL in seconds from now on. Both last until
    /// changed (an unload keeps them, for the model's next load).
    public func load(_ name: String, pin: Bool = false, idleTTL: Double? = nil) async throws(APIError) -> String {
        let entry = try entry(for: name)
        let admission = residency.preload(entry.id, memory: entry.estimatedMemory, now: now)
        _ = try await carryOut(admission, for: entry)
        if pin { residency.setPinned(true, entry.id, now: now) }
        if let idleTTL { residency.setIdleTTL(idleTTL, entry.id) }
        armExpiry()
        return entry.id
    }

    /// Unpins the model `name` names (`lmgate models unpin`): its idle TTL
    /// applies again, counted from now. Returns its id.
    public func unpin(_ name: String) throws(APIError) -> String {
        let entry = try entry(for: name)
        residency.setPinned(false, entry.id, now: now)
        armExpiry()
        return entry.id
    }

    /// Unloads the model `name` names (`lmgate models unload`); refused while it has running requests. Returns its id.
    public func unload(_ name: String) throws(APIError) -> String {
        let entry = try entry(for: name)
        switch residency.unload(entry.id) {
        case .success(let actions): perform(actions)
        case .failure(let refusal):
            throw APIError(status: .conflict, message: "cannot unload: \(refusal.reason)", type: "invalid_request_error", code: "model_busy")
        }
        armExpiry()
        return entry.id
    }

    /// Whether the model `id` is pinned.
    public func isPinned(_ id: String) -> Bool { residency.isPinned(id) }

    /// The ids of the models in memory, sorted.
    public var loadedIDs: [String] { residency.loaded }

    /// The `/v1/models` entries, by id.
    public func listing() -> [JSONValue] {
        entries.values.sorted { $0.id < $1.id }.map(listing)
    }

    /// The `/v1/models/{name}` entry.
    public func listing(of name: String) throws(APIError) -> JSONValue {
        guard let id = ModelNameResolver.match(name, in: resolver.ids), let entry = entries[id] else {
            throw APIError(
                status: .notFound, message: "the model '\(name.prefix(200))' does not exist; available models: \(ModelNameResolver.list(resolver.ids))",
                type: "not_found_error", parameter: "model", code: "model_not_found")
        }
        return listing(entry)
    }

    private func listing(_ entry: ModelEntry) -> JSONValue {
        entry.listing(
            loaded: residency.isLoaded(entry.id), pinned: residency.isPinned(entry.id), idleTTL: residency.limits.idleTTL(of: entry.id))
    }

    /// Stops every model's scheduler; loads still running are stopped when they end.
    public func shutdown() {
        stopping = true
        expiryTimer?.cancel()
        for service in services.values { service.shutdown() }
        services = [:]
    }

    /// A lease ended.
    func finished(_ id: String) {
        residency.finished(id, now: now)
        armExpiry()
    }

    // MARK: - Carrying out decisions

    /// The entry a request names; one whose file cannot be served is refused here, with the reason.
    private func entry(for requested: String?) throws(APIError) -> ModelEntry {
        let id: String
        if let requested, !requested.isEmpty {
            id = try resolver.resolve(requested)
        } else if resolver.ids.count == 1 {
            id = resolver.ids[0]
        } else {
            throw APIError.invalid("'model' is required (models: \(ModelNameResolver.list(resolver.ids)))", parameter: "model")
        }
        guard let entry = entries[id] else { throw APIError(status: .internalServerError, message: "model '\(id)' vanished", type: "server_error") }
        if let problem = entry.problem { throw Self.loadFailure(id, problem) }
        return entry
    }

    private func carryOut(_ admission: ModelResidency.Admission, for entry: ModelEntry) async throws(APIError) -> ModelService {
        switch admission {
        case .ready:
            if let service = services[entry.id] { return service }
            throw APIError(status: .internalServerError, message: "model '\(entry.id)' is not in memory", type: "server_error")
        case .refused(let reason):
            throw APIError(
                status: .serviceUnavailable, message: "the model '\(entry.id)' cannot be loaded now: \(reason)", type: "server_error",
                code: "model_capacity")
        case .waitForLoad(let actions):
            perform(actions)
            guard let load = loads[entry.id] else {
                throw APIError(status: .internalServerError, message: "model '\(entry.id)' has no load under way", type: "server_error")
            }
            return try await load.value.get()
        }
    }

    private func perform(_ actions: [ModelResidency.Action]) {
        for action in actions {
            switch action {
            case .unload(let id):
                services.removeValue(forKey: id)?.shutdown()
                metrics.modelUnloaded(id, loaded: services.count)
                logger.info("model unloaded", metadata: ["model.id": "\(id)"])
            case .load(let id):
                guard let entry = entries[id] else { continue }
                let (configuration, metrics, logger) = (configuration, metrics, logger)
                loads[id] = Task {
                    let result = await Self.loadOffThePool(entry, configuration: configuration, metrics: metrics, logger: logger)
                    self.loadEnded(id, result)
                    return result
                }
            }
        }
    }

    private func loadEnded(_ id: String, _ result: Result<ModelService, APIError>) {
        loads[id] = nil
        switch result {
        case .success(let service):
            if stopping {
                service.shutdown()
                return
            }
            services[id] = service
            residency.loadSucceeded(id, now: now)
            metrics.modelLoad(succeeded: true, loaded: services.count)
            logger.info(
                "model loaded",
                metadata: ["model.id": "\(id)", "model.context": "\(service.contextLength)", "model.quantization": "\(service.quantization)"])
        case .failure(let error):
            residency.loadFailed(id)
            metrics.modelLoad(succeeded: false, loaded: services.count)
            logger.error("model could not be loaded", metadata: ["model.id": "\(id)", "error": "\(error.message)"])
        }
        armExpiry()
    }

    /// Maps, pages in and starts a model on a dispatch thread: loading blocks (page faults, the tokenizer's tables).
    private static func loadOffThePool(
        _ entry: ModelEntry, configuration: SchedulerConfiguration, metrics: BackendMetrics, logger: Logger
    ) async -> Result<ModelService, APIError> {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                logger.info("loading model", metadata: ["model.id": "\(entry.id)", "model.bytes": "\(entry.fileSize)"])
                var lastQuarter = -1
                let result = Result { () throws -> ModelService in
                    try ModelService(path: entry.path, id: entry.id, configuration: configuration, metrics: metrics) { fraction in
                        let quarter = Int(fraction * 4)
                        guard quarter != lastQuarter else { return }
                        lastQuarter = quarter
                        logger.info("loading model", metadata: ["model.id": "\(entry.id)", "load.progress": "\(quarter * 25)%"])
                    }
                }.mapError { Self.loadFailure(entry.id, String(describing: $0)) }
                continuation.resume(returning: result)
            }
        }
    }

    static func loadFailure(_ id: String, _ reason: String) -> APIError {
        APIError(
            status: .internalServerError, message: "the model '\(id)' could not be loaded: \(reason)", type: "server_error",
            code: "model_load_failed")
    }

    /// Schedules the next idle-TTL check (replacing any earlier one).
    private func armExpiry() {
        expiryTimer?.cancel()
        expiryTimer = nil
        guard !stopping, let next = residency.nextExpiry else { return }
        let delay = max(0, next - now)
        expiryTimer = Task {
            try? await Task.sleep(for: .milliseconds(Int(delay * 1000) + 1))
            guard !Task.isCancelled else { return }
            self.expire()
        }
    }

    private func expire() {
        perform(residency.expire(now: now))
        armExpiry()
    }
}
