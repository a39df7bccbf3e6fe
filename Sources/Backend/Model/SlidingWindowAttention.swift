/// Which layers attend only to a window of recent positions, and how wide
/// the window is: Gemma 3's interleaved local and global attention.
///
/// A sliding layer at position `p` sees positions `p − window + 1 … p`
/// (llama.cpp's "standard" window: masked when `p − p₀ ≥ window`), and
/// rotates with its own RoPE base and no RoPE scaling; a global layer sees
/// every earlier position.
public struct SlidingWindowAttention: Sendable, Equatable {
    /// The number of positions a sliding layer sees, its own included.
    public let window: Int
    /// Per layer, whether it slides.
    public let slidingLayers: [Bool]
    /// RoPE's frequency base θ on sliding layers (`rope.freq_base_swa`,
    /// 10 000 when absent, as llama.cpp assumes for Gemma 3).
    public let ropeFrequencyBase: Float

    /// Whether `layer` attends to a window only.
    public func slides(layer: Int) -> Bool {
        layer < slidingLayers.count && slidingLayers[layer]
    }

    /// Reads `{architecture}.attention.sliding_window` and the layer pattern;
    /// `nil` when the file has no window (or a window of 0, which llama.cpp
    /// reads as none) or the family is not one with sliding layers.
    ///
    /// The pattern is `attention.sliding_window_pattern`: an integer `n`
    /// (of every `n` layers the first `n − 1` slide; 0 makes every layer
    /// slide) or one boolean per layer; without it, the family's default
    /// (``ModelArchitecture/defaultSlidingWindowPattern``).
    static func read(
        metadata: GGUFMetadata, architecture: String, family: ModelArchitecture, layerCount: Int
    ) throws(GGUFError) -> SlidingWindowAttention? {
        let windowKey = "\(architecture).attention.sliding_window"
        let patternKey = "\(architecture).attention.sliding_window_pattern"
        // Other families' windows are ignored, as llama.cpp ignores them
        // (Phi-3 files carry one that its converter does not mean).
        guard let defaultPattern = family.defaultSlidingWindowPattern else { return nil }
        guard let window = try metadata.integer(windowKey), window != 0 else { return nil }
        guard (1...(1 << 24)).contains(window) else {
            throw GGUFError(.invalidModel, "metadata key '\(windowKey)' is \(window), expected 1 to \(1 << 24)")
        }
        let slidingLayers: [Bool]
        switch metadata[patternKey] {
        case nil:
            slidingLayers = pattern(every: defaultPattern, layerCount: layerCount)
        case .array(let array):
            let flags: [Bool]? = switch array {
            case .bool(let values): values
            default: try metadata.int32Array(patternKey)?.map { $0 != 0 }
            }
            guard let flags, flags.count == layerCount else {
                throw GGUFError(.invalidModel, "metadata key '\(patternKey)' has \(array.count) entries, expected one per layer (\(layerCount))")
            }
            slidingLayers = flags
        case let value?:
            guard let every = value.integer, (0...(1 << 24)).contains(every) else {
                throw GGUFError(.invalidModel, "metadata key '\(patternKey)' is \(value.typeName) \(value.integer.map(String.init) ?? ""), expected a layer count or one boolean per layer")
            }
            slidingLayers = pattern(every: every, layerCount: layerCount)
        }
        let baseKey = "\(architecture).rope.freq_base_swa"
        let base = try metadata.float32(baseKey) ?? 10_000
        guard base.isFinite, base > 1 else {
            throw GGUFError(.invalidModel, "metadata key '\(baseKey)' is \(base), expected a number above 1")
        }
        return SlidingWindowAttention(window: window, slidingLayers: slidingLayers, ropeFrequencyBase: base)
    }

    /// Of every `every` layers, the first `every − 1` slide (all of them for 0).
    private static func pattern(every: Int, layerCount: Int) -> [Bool] {
        (0..<layerCount).map { every == 0 || $0 % every < every - 1 }
    }
}

extension SlidingWindowAttention {
    /// The positions a sliding layer's ring holds: twice the window. One
    /// window is what the next token reads; the second lets a batch of up to
    /// `window + 1` tokens be written before its attention runs, and lets a
    /// kept cache be cut back by up to a window and continued (the next
    /// turn of a chat that rewrites the end of the last one).
    public var ringLength: Int { 2 * window }
}

extension ModelConfiguration {
    /// Per layer, the positions a cache of `capacity` stores: `capacity`, or
    /// for a sliding layer at most its ring.
    public func kvCacheSlots(capacity: Int) -> [Int] {
        (0..<layerCount).map { layer in
            guard let sliding = slidingWindow, sliding.slides(layer: layer) else { return capacity }
            return min(capacity, sliding.ringLength)
        }
    }
}
