/// A decoder GGUF (qwen3, qwen2, llama, …) whose metadata names a pooling
/// (`{architecture}.pooling_type`), served as an embedding model as
/// llama-server serves it with `--embeddings`: each input runs through the
/// causal model (``LanguageModel``'s blocks, no output projection), the
/// final-norm hidden states are pooled as the metadata says (the last
/// token's for Qwen3-Embedding) and scaled to unit length.
public final class DecoderEmbeddingModel: EmbeddingModel {
    /// The decoder whose hidden states are pooled.
    public let model: LanguageModel
    /// How the token states become one vector.
    public let pooling: EmbeddingPooling

    public var embeddingLength: Int { model.configuration.embeddingLength }
    public var contextLength: Int { model.configuration.contextLength }
    public var vocabularySize: Int { model.vocabularySize }
    public var file: GGUFFile { model.file }

    /// Serves `model` pooled by `pooling` (which may differ from its
    /// metadata's, as llama-server's `--pooling` overrides it).
    public init(model: LanguageModel, pooling: EmbeddingPooling) {
        self.model = model
        self.pooling = pooling
    }

    /// The model of `file`, pooled as its metadata says.
    ///
    /// - Throws: ``GGUFError`` for a file that is no model lmgate runs, or
    ///   whose metadata names no pooling or one lmgate does not implement.
    public convenience init(file: GGUFFile) throws(GGUFError) {
        let model = try LanguageModel(file: file)
        let architecture = model.configuration.architecture
        guard let pooling = try EmbeddingPooling.declared(in: file.metadata, architecture: architecture) else {
            throw GGUFError(.invalidModel, "metadata key '\(architecture).pooling_type' is missing: the model is not an embedding model")
        }
        self.init(model: model, pooling: pooling)
    }

    public func embed(_ inputs: [[Int32]], pool: ComputePool) throws(InferenceError) -> [[Float]] {
        try check(inputs)
        guard !inputs.isEmpty else { return [] }
        let states = try model.hiddenStates(of: inputs, pool: pool)
        return Self.spans(of: inputs).map { pooling.pooled(states, span: $0, length: embeddingLength) }
    }
}
