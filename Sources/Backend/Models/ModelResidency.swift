/// Which models are in memory, and the decisions about them: which to load
/// for a request, which to evict to make room, which an idle TTL unloads.
///
/// A value type that returns actions and does no I/O (the
/// ``ModelRegistry`` actor carries them out), so that every decision is
/// tested without loading a model. Times are seconds on a monotonic clock.
///
/// The rules:
/// - a request for a model in memory (or being loaded) uses it;
/// - a request for another model loads it, first evicting the least
///   recently used models until ``Limits/maxLoaded`` and
///   ``Limits/maxMemory`` allow it; a model with running requests, a model
///   being loaded and a pinned model are never evicted, and when no room
///   can be made the request is refused rather than kept waiting;
/// - a model idle (no running request) for its TTL is unloaded, unless pinned;
/// - pins and per-model TTLs come from the configuration and may change while
///   the server runs (`lmgate models load --pin|--ttl`, `lmgate models unpin`).
public struct ModelResidency: Sendable {
    /// The limits in force.
    public struct Limits: Sendable, Equatable {
        /// The most models in memory at once; `nil` for no limit.
        public var maxLoaded: Int?
        /// The most bytes the models in memory may take (see ``ModelEntry/estimatedMemory``); `nil` for no limit.
        public var maxMemory: Int?
        /// Seconds an idle model stays in memory; `nil` to keep it.
        public var idleTTL: Double?
        /// Per-model TTLs by id, overriding ``idleTTL``.
        public var idleTTLByModel: [String: Double] = [:]
        /// Models never unloaded (by TTL or eviction) once loaded.
        public var pinned: Set<String> = []

        public init(maxLoaded: Int? = nil, maxMemory: Int? = nil, idleTTL: Double? = nil) {
            self.maxLoaded = maxLoaded
            self.maxMemory = maxMemory
            self.idleTTL = idleTTL
        }

        /// The TTL of model `id`.
        public func idleTTL(of id: String) -> Double? { idleTTLByModel[id] ?? idleTTL }
    }

    /// A model in memory or being loaded.
    struct Resident: Sendable, Equatable {
        var loading: Bool
        var memory: Int
        /// Requests holding the model (waiting for its load or generating).
        var activeRequests: Int
        var lastUsed: Double
    }

    /// What the registry must do.
    enum Action: Sendable, Equatable {
        /// Start loading the model (its requests wait for the load).
        case load(String)
        /// Stop the model and drop it from memory.
        case unload(String)
    }

    /// The answer to a request for a model.
    enum Admission: Sendable, Equatable {
        /// The model is loaded: use it now.
        case ready
        /// The model is being loaded (by `actions`, or already): wait for it.
        case waitForLoad(actions: [Action])
        /// No room can be made; the reason says why.
        case refused(String)
    }

    private(set) var limits: Limits
    private(set) var residents: [String: Resident] = [:]

    init(limits: Limits) {
        self.limits = limits
    }

    /// The ids of the models loaded (not loading), sorted.
    var loaded: [String] { residents.filter { !$0.value.loading }.keys.sorted() }

    /// Whether model `id` is loaded and ready.
    func isLoaded(_ id: String) -> Bool { residents[id].map { !$0.loading } ?? false }

    /// A request for model `id` (whose memory is `memory` bytes) arrives at
    /// `now`; unless refused, it holds the model until ``finished(_:now:)``.
    mutating func request(_ id: String, memory: Int, now: Double) -> Admission {
        admit(id, memory: memory, now: now, holding: 1)
    }

    /// An explicit load (`lmgate models load`): as a request that does not hold the model.
    mutating func preload(_ id: String, memory: Int, now: Double) -> Admission {
        admit(id, memory: memory, now: now, holding: 0)
    }

    private mutating func admit(_ id: String, memory: Int, now: Double, holding: Int) -> Admission {
        if var resident = residents[id] {
            resident.activeRequests += holding
            resident.lastUsed = now
            residents[id] = resident
            return resident.loading ? .waitForLoad(actions: []) : .ready
        }
        if let maxMemory = limits.maxMemory, memory > maxMemory {
            return .refused("the model needs about \(Self.megabytes(memory)) of memory, more than the \(Self.megabytes(maxMemory)) allowed (max_memory)")
        }
        var evicted: [String] = []
        var count = residents.count
        var used = residents.values.reduce(0) { $0 + $1.memory }
        func fits() -> Bool {
            (limits.maxLoaded.map { count + 1 <= $0 } ?? true) && (limits.maxMemory.map { used + memory <= $0 } ?? true)
        }
        // Least recently used first; ties by id so that the choice is reproducible.
        let candidates = residents.filter { isEvictable($0.key, $0.value) }.sorted {
            ($0.value.lastUsed, $0.key) < ($1.value.lastUsed, $1.key)
        }
        var next = candidates.makeIterator()
        while !fits() {
            guard let (victim, resident) = next.next() else {
                let busy = residents.keys.filter { !evicted.contains($0) }.sorted()
                return .refused(
                    "no room to load it: the models in memory (\(busy.joined(separator: ", "))) are busy, loading or pinned, and max_loaded/max_memory allow no more; try again later")
            }
            evicted.append(victim)
            count -= 1
            used -= resident.memory
        }
        for victim in evicted { residents[victim] = nil }
        residents[id] = Resident(loading: true, memory: memory, activeRequests: holding, lastUsed: now)
        return .waitForLoad(actions: evicted.map { .unload($0) } + [.load(id)])
    }

    private func isEvictable(_ id: String, _ resident: Resident) -> Bool {
        !resident.loading && resident.activeRequests == 0 && !limits.pinned.contains(id)
    }

    /// The load of model `id` finished.
    mutating func loadSucceeded(_ id: String, now: Double) {
        residents[id]?.loading = false
        residents[id]?.lastUsed = now
    }

    /// The load of model `id` failed: it leaves, and its waiting requests with it.
    mutating func loadFailed(_ id: String) {
        residents[id] = nil
    }

    /// A request that held model `id` is done.
    mutating func finished(_ id: String, now: Double) {
        guard var resident = residents[id] else { return }
        resident.activeRequests = max(0, resident.activeRequests - 1)
        resident.lastUsed = now
        residents[id] = resident
    }

    /// An explicit unload: refused for a model with running requests or one being loaded.
    mutating func unload(_ id: String) -> Result<[Action], ModelResidencyRefusal> {
        guard let resident = residents[id] else { return .success([]) }
        if resident.loading { return .failure(ModelResidencyRefusal("'\(id)' is being loaded")) }
        if resident.activeRequests > 0 {
            return .failure(ModelResidencyRefusal("'\(id)' has \(resident.activeRequests) running requests"))
        }
        residents[id] = nil
        return .success([.unload(id)])
    }

    /// Whether model `id` is pinned.
    func isPinned(_ id: String) -> Bool { limits.pinned.contains(id) }

    /// Pins model `id` (never unloaded by a TTL or an eviction) or unpins it;
    /// an unpinned model's idle time counts from `now`, not from its last
    /// request before the pin.
    mutating func setPinned(_ pinned: Bool, _ id: String, now: Double) {
        if pinned {
            limits.pinned.insert(id)
        } else if limits.pinned.remove(id) != nil, var resident = residents[id] {
            resident.lastUsed = max(resident.lastUsed, now)
            residents[id] = resident
        }
    }

    /// Sets model `id`'s idle TTL in seconds, overriding the default one.
    mutating func setIdleTTL(_ ttl: Double, _ id: String) {
        limits.idleTTLByModel[id] = ttl
    }

    /// The models whose idle TTL has run out at `now`, removed and returned as unloads.
    mutating func expire(now: Double) -> [Action] {
        let expired = residents.filter { id, resident in
            guard isEvictable(id, resident), let ttl = limits.idleTTL(of: id) else { return false }
            return now - resident.lastUsed >= ttl
        }.keys.sorted()
        for id in expired { residents[id] = nil }
        return expired.map { .unload($0) }
    }

    /// When the next idle TTL runs out (if no request comes first), or `nil` for none.
    var nextExpiry: Double? {
        residents.compactMap { id, resident -> Double? in
            guard isEvictable(id, resident), let ttl = limits.idleTTL(of: id) else { return nil }
            return resident.lastUsed + ttl
        }.min()
    }

    static func megabytes(_ bytes: Int) -> String { "\(bytes / 1_000_000) MB" }
}

/// Why ``ModelResidency`` refuses an unload.
struct ModelResidencyRefusal: Error, Equatable {
    let reason: String
    init(_ reason: String) { self.reason = reason }
}
