/// The keys and values one sequence has computed so far, for every layer,
/// in F32.
///
/// Position `p` of layer `l` holds ``ModelConfiguration/kvDimension`` floats
/// of keys (after RoPE) and as many of values. A sliding-window layer
/// (Gemma 3's local layers) of a cache longer than its ring keeps only the
/// last ``SlidingWindowAttention/ringLength`` positions, position `p` in slot
/// `p mod ring`: a long context costs those layers memory by the window, not
/// by the context. A cache belongs to one sequence and is used by one thread
/// at a time.
public final class KVCache {
    /// The number of positions the cache can hold.
    public let capacity: Int
    /// The number of positions filled so far: the position of the next token.
    public internal(set) var count: Int = 0

    let layerCount: Int
    let kvDimension: Int
    /// Per layer, the positions it stores: ``capacity``, or a ring shorter than it.
    let slots: [Int]
    /// Per layer, the first slot of its positions in ``keys`` and ``values``.
    private let offsets: [Int]
    /// The sliding layers' window, when the cache has rings.
    private let window: Int?
    /// The lowest position whose keys and values every ring still holds
    /// (writing position `p` overwrites `p − ring`).
    private var oldestHeld = 0
    let keys: UnsafeMutablePointer<Float>
    let values: UnsafeMutablePointer<Float>

    /// Makes an empty cache for `model` holding up to `capacity` positions
    /// (by default the model's context length).
    public init(for model: LanguageModel, capacity: Int? = nil) {
        let configuration = model.configuration
        self.capacity = max(1, min(capacity ?? configuration.contextLength, configuration.contextLength))
        layerCount = configuration.layerCount
        kvDimension = configuration.kvDimension
        slots = configuration.kvCacheSlots(capacity: self.capacity)
        var offsets: [Int] = []
        var total = 0
        for length in slots {
            offsets.append(total)
            total += length
        }
        self.offsets = offsets
        let capacity = self.capacity
        window = slots.contains { $0 < capacity } ? configuration.slidingWindow?.window : nil
        let size = total * kvDimension
        keys = .allocate(capacity: size)
        values = .allocate(capacity: size)
        keys.initialize(repeating: 0, count: size)
        values.initialize(repeating: 0, count: size)
    }

    deinit {
        keys.deallocate()
        values.deallocate()
    }

    /// The most positions one forward pass may write: with rings, the keys
    /// of a batch's last token must not overwrite what its first token's
    /// window still reads.
    var largestBatch: Int {
        guard let window, let ring = slots.min() else { return .max }
        return ring - window + 1
    }

    /// Forgets every position from `position` on (to reuse a common prefix,
    /// or to start over with 0). With sliding-window rings, a prefix whose
    /// window the rings have overwritten since cannot be continued: the cache
    /// is then emptied (``reusablePrefix(upTo:)`` says which beforehand).
    public func truncate(to position: Int) {
        count = reusablePrefix(upTo: position)
        if count == 0 { oldestHeld = 0 }
    }

    /// The longest prefix of at most `position` positions that the next
    /// token can continue from: `position` (at most ``count``), or 0 when
    /// a ring no longer holds the window the next token would read.
    public func reusablePrefix(upTo position: Int) -> Int {
        let target = max(0, min(count, position))
        if let window, target > 0, max(0, target - window + 1) < oldestHeld { return 0 }
        return target
    }

    /// Marks positions up to `newCount` as filled, after their keys and values were written.
    func advance(to newCount: Int) {
        count = newCount
        if window != nil, let ring = slots.min() {
            oldestHeld = max(oldestHeld, newCount - ring)
        }
    }

    /// The keys of `layer` at `position`.
    func key(layer: Int, position: Int) -> UnsafeMutablePointer<Float> {
        keys + (offsets[layer] + position % slots[layer]) * kvDimension
    }

    /// The values of `layer` at `position`.
    func value(layer: Int, position: Int) -> UnsafeMutablePointer<Float> {
        values + (offsets[layer] + position % slots[layer]) * kvDimension
    }

    /// Copies the filled positions into `larger`, a cache for the same model
    /// with at least this one's capacity (so with the same rings, or none
    /// where this one has none).
    func copyFilled(into larger: KVCache) {
        for layer in 0..<layerCount {
            // A ring that has wrapped is copied whole: slot p mod ring is the same in both.
            let filled = min(count, slots[layer]) * kvDimension
            larger.key(layer: layer, position: 0).update(from: key(layer: layer, position: 0), count: filled)
            larger.value(layer: layer, position: 0).update(from: value(layer: layer, position: 0), count: filled)
        }
        larger.count = count
        larger.oldestHeld = oldestHeld
    }
}
