/// The shape and hyperparameters of a BERT encoder, read from a GGUF file's
/// `bert.*` metadata.
public struct BertConfiguration: Sendable, Equatable {
    /// The width of the hidden states (and of the embeddings the model gives).
    public let embeddingLength: Int
    /// The number of encoder blocks.
    public let layerCount: Int
    /// The number of attention heads.
    public let headCount: Int
    /// The hidden width of the feed-forward network.
    public let feedForwardLength: Int
    /// The longest input (positions in `position_embd.weight`).
    public let contextLength: Int
    /// The epsilon of every LayerNorm.
    public let layerNormEpsilon: Float
    /// How the token states become one vector.
    public let pooling: EmbeddingPooling

    /// The width of one attention head.
    public var headDimension: Int { embeddingLength / headCount }

    /// The architecture name in `general.architecture`.
    public static let architecture = "bert"

    /// Reads the configuration from `metadata`.
    ///
    /// - Throws: ``GGUFError`` with ``GGUFError/Code/invalidModel`` for
    ///   another architecture, inconsistent numbers or a pooling lmgate
    ///   does not implement.
    public init(metadata: GGUFMetadata) throws(GGUFError) {
        let architecture = try metadata.requiredString("general.architecture")
        guard architecture == Self.architecture else {
            throw GGUFError(.invalidModel, "architecture '\(architecture)' is not bert")
        }
        func positive(_ suffix: String) throws(GGUFError) -> Int {
            let key = "bert.\(suffix)"
            guard let found = try metadata.integer(key) else { throw GGUFError(.missingMetadata, "metadata key '\(key)' is missing") }
            // As in ModelConfiguration: a bound far above any real model keeps products from overflowing.
            guard (1...(1 << 24)).contains(found) else {
                throw GGUFError(.invalidModel, "metadata key '\(key)' is \(found), expected 1 to \(1 << 24)")
            }
            return found
        }
        embeddingLength = try positive("embedding_length")
        layerCount = try positive("block_count")
        headCount = try positive("attention.head_count")
        guard embeddingLength % headCount == 0 else {
            throw GGUFError(.invalidModel, "embedding length \(embeddingLength) is not a multiple of the \(headCount) heads")
        }
        feedForwardLength = try positive("feed_forward_length")
        contextLength = try positive("context_length")
        layerNormEpsilon = try metadata.requiredFloat32("bert.attention.layer_norm_epsilon")
        guard layerNormEpsilon.isFinite, layerNormEpsilon > 0 else {
            throw GGUFError(.invalidModel, "LayerNorm epsilon \(layerNormEpsilon) is out of range")
        }
        // llama.cpp's numbering; a file without the key is pooled by the mean,
        // as sentence-transformers pools BERT models by default.
        let poolingType = try metadata.integer("bert.pooling_type") ?? 1
        guard let pooling = EmbeddingPooling(llamaPoolingType: poolingType) else {
            throw GGUFError(.invalidModel, "bert.pooling_type \(poolingType) is not supported (1 mean, 2 CLS, 3 last)")
        }
        self.pooling = pooling
    }
}
