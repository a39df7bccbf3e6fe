/// The keys and values one sequence has computed so far, for every layer,
/// in F32.
///
/// Position `p` of layer `l` holds ``ModelConfiguration/kvDimension`` floats
/// of keys (after RoPE) and as many of values. A cache belongs to one
/// sequence and is used by one thread at a time.
public final class KVCache {
    /// The number of positions the cache can hold.
    public let capacity: Int
    /// The number of positions filled so far: the position of the next token.
    public internal(set) var count: Int = 0

    let layerCount: Int
    let kvDimension: Int
    let keys: UnsafeMutablePointer<Float>
    let values: UnsafeMutablePointer<Float>

    /// Makes an empty cache for `model` holding up to `capacity` positions
    /// (by default the model's context length).
    public init(for model: LanguageModel, capacity: Int? = nil) {
        let configuration = model.configuration
        self.capacity = max(1, min(capacity ?? configuration.contextLength, configuration.contextLength))
        layerCount = configuration.layerCount
        kvDimension = configuration.kvDimension
        let size = layerCount * self.capacity * kvDimension
        keys = .allocate(capacity: size)
        values = .allocate(capacity: size)
        keys.initialize(repeating: 0, count: size)
        values.initialize(repeating: 0, count: size)
    }

    deinit {
        keys.deallocate()
        values.deallocate()
    }

    /// Forgets every position from `position` on (to reuse a common prefix,
    /// or to start over with 0).
    public func truncate(to position: Int) {
        count = max(0, min(count, position))
    }

    /// The keys of `layer` at `position`.
    func key(layer: Int, position: Int) -> UnsafeMutablePointer<Float> {
        keys + (layer * capacity + position) * kvDimension
    }

    /// The values of `layer` at `position`.
    func value(layer: Int, position: Int) -> UnsafeMutablePointer<Float> {
        values + (layer * capacity + position) * kvDimension
    }
}
