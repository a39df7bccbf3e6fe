/// The shape and hyperparameters of a llama-family transformer, read from
/// a GGUF file's `{architecture}.*` metadata.
public struct ModelConfiguration: Sendable, Equatable {
    /// How RoPE pairs up the dimensions of a head.
    public enum RoPELayout: Sendable, Equatable {
        /// Adjacent pairs `(2i, 2i+1)`: llama (GGML's "normal" mode).
        case interleaved
        /// Pairs `(i, i + d/2)`: qwen2 (GGML's "NeoX" mode).
        case neox
    }

    /// The architecture named by `general.architecture` (one of ``supportedArchitectures``).
    public let architecture: String
    /// The same, as the family whose block the forward pass builds.
    public let family: ModelArchitecture
    /// The width of the residual stream.
    public let embeddingLength: Int
    /// The number of transformer blocks.
    public let layerCount: Int
    /// The number of query heads.
    public let headCount: Int
    /// The number of key/value heads (fewer than ``headCount`` for grouped-query attention).
    public let kvHeadCount: Int
    /// The width of one attention head.
    public let headDimension: Int
    /// The hidden width of the feed-forward network (of a dense one; a
    /// mixture of experts has ``ExpertConfiguration/feedForwardLength``).
    public let feedForwardLength: Int
    /// How tokens are routed among experts, for a mixture-of-experts model.
    public let experts: ExpertConfiguration?
    /// The longest sequence the model was trained for.
    public let contextLength: Int
    /// The epsilon of every RMSNorm.
    public let rmsEpsilon: Float
    /// RoPE's frequency base θ (of the global layers, when some slide).
    public internal(set) var ropeFrequencyBase: Float
    /// How many dimensions of each head RoPE rotates (the first ones).
    public let ropeDimensionCount: Int
    /// How RoPE pairs the dimensions.
    public let ropeLayout: RoPELayout
    /// How RoPE is stretched beyond the original training context (linear,
    /// YaRN, LongRoPE); settable so that Gemma 3's sliding layers can run
    /// without it (``ropeConfiguration(layer:)``).
    public internal(set) var ropeScaling: RoPEScaling
    /// Gemma 3's sliding-window layers; `nil` when every layer is global.
    public let slidingWindow: SlidingWindowAttention?
    /// The factor attention scores are multiplied by (1/√``headDimension``
    /// but for Gemma 3 27B, see ``attentionScale(family:metadata:)``).
    public let attentionScale: Float
    /// Gemma's final logit soft-capping `c` (logits become `c · tanh(logit / c)`),
    /// from `final_logit_softcapping`; `nil` for none.
    public let finalLogitSoftcap: Float?

    /// The architectures lmgate runs.
    public static let supportedArchitectures = ModelArchitecture.allCases.map(\.rawValue)

    /// The width of all query heads together.
    public var queryDimension: Int { headCount * headDimension }
    /// The width of all key (or value) heads together.
    public var kvDimension: Int { kvHeadCount * headDimension }

    /// Reads the configuration from `metadata`.
    ///
    /// - Throws: ``GGUFError`` with ``GGUFError/Code/invalidModel`` for an
    ///   unsupported architecture or inconsistent numbers, or a metadata error.
    public init(metadata: GGUFMetadata) throws(GGUFError) {
        let architecture = try metadata.requiredString("general.architecture")
        guard let family = ModelArchitecture(rawValue: architecture) else {
            throw GGUFError(.invalidModel, "architecture '\(architecture)' is not supported (supported: \(Self.supportedArchitectures.joined(separator: ", ")))")
        }
        func key(_ suffix: String) -> String { "\(architecture).\(suffix)" }
        func positive(_ suffix: String, default value: Int? = nil) throws(GGUFError) -> Int {
            let found = try metadata.integer(key(suffix)) ?? value
            guard let found else { throw GGUFError(.missingMetadata, "metadata key '\(key(suffix))' is missing") }
            // 1 << 24 bounds every width and count far above any real model,
            // so that products of them cannot overflow.
            guard (1...(1 << 24)).contains(found) else {
                throw GGUFError(.invalidModel, "metadata key '\(key(suffix))' is \(found), expected 1 to \(1 << 24)")
            }
            return found
        }
        self.architecture = architecture
        self.family = family
        embeddingLength = try positive("embedding_length")
        layerCount = try positive("block_count")
        headCount = try positive("attention.head_count")
        kvHeadCount = try positive("attention.head_count_kv", default: headCount)
        guard headCount % kvHeadCount == 0 else {
            throw GGUFError(.invalidModel, "\(headCount) query heads cannot be shared among \(kvHeadCount) key/value heads")
        }
        guard embeddingLength % headCount == 0 || metadata[key("attention.key_length")] != nil else {
            throw GGUFError(.invalidModel, "embedding length \(embeddingLength) is not a multiple of the \(headCount) heads")
        }
        headDimension = try positive("attention.key_length", default: embeddingLength / headCount)
        let valueLength = try positive("attention.value_length", default: headDimension)
        guard valueLength == headDimension else {
            throw GGUFError(.invalidModel, "value heads of \(valueLength) differ from key heads of \(headDimension)")
        }
        if family.isMixtureOfExperts {
            let dense = try metadata.integer(key("feed_forward_length"))
            let experts = try ExpertConfiguration(metadata: metadata, architecture: architecture, denseFeedForwardLength: dense)
            self.experts = experts
            feedForwardLength = experts.feedForwardLength
        } else {
            experts = nil
            feedForwardLength = try positive("feed_forward_length")
        }
        contextLength = try positive("context_length")
        rmsEpsilon = try metadata.requiredFloat32(key("attention.layer_norm_rms_epsilon"))
        ropeFrequencyBase = try metadata.float32(key("rope.freq_base")) ?? 10_000
        ropeDimensionCount = try positive("rope.dimension_count", default: headDimension)
        guard ropeDimensionCount <= headDimension, ropeDimensionCount % 2 == 0 else {
            throw GGUFError(.invalidModel, "RoPE rotates \(ropeDimensionCount) dimensions of heads of \(headDimension); it must be even and no more")
        }
        guard rmsEpsilon.isFinite, rmsEpsilon > 0, ropeFrequencyBase.isFinite, ropeFrequencyBase > 1 else {
            throw GGUFError(.invalidModel, "RMS epsilon \(rmsEpsilon) or RoPE base \(ropeFrequencyBase) is out of range")
        }
        ropeLayout = family.ropeLayout
        ropeScaling = try Self.ropeScaling(
            metadata: metadata, architecture: architecture, contextLength: contextLength,
            frequencyBase: ropeFrequencyBase, rotatedDimensions: ropeDimensionCount)
        slidingWindow = try SlidingWindowAttention.read(metadata: metadata, architecture: architecture, family: family, layerCount: layerCount)
        attentionScale = Self.attentionScale(family: family, layerCount: layerCount, embeddingLength: embeddingLength, headCount: headCount, headDimension: headDimension)
        finalLogitSoftcap = try Self.finalLogitSoftcap(metadata: metadata, architecture: architecture)
    }
}
