/// A transformer of one of the ``ModelArchitecture`` families whose weights
/// stay in a memory-mapped GGUF file, and its forward pass.
///
/// The forward pass reads top to bottom as the model computes:
/// embed the tokens (scaled by √d for Gemma); in each block, RMSNorm → Q/K/V
/// projections (+ biases for qwen2; per-head RMSNorm for qwen3 and gemma3) →
/// RoPE → append K/V to the cache → causal attention (over a window on
/// Gemma 3's sliding layers) → output projection (RMSNorm'd for Gemma),
/// added to the residual; RMSNorm → gated feed-forward (SwiGLU; GeGLU for
/// Gemma; a mixture of SwiGLU experts for qwen3moe; RMSNorm'd for Gemma),
/// added to the residual; finally RMSNorm and the output projection to
/// logits (soft-capped where the file says so).
/// Several tokens (a prompt) go through the matrices together
/// (``MatrixMultiply/matMul(_:x:tokens:y:pool:)``, BLAS); one token (decode)
/// goes through ``MatrixMultiply/matVec(_:x:y:pool:)``.
public final class LanguageModel: Sendable {
    /// The model's shape and hyperparameters.
    public let configuration: ModelConfiguration
    /// The file the weights are mapped from (kept alive with the model).
    public let file: GGUFFile
    /// The number of tokens in the vocabulary (rows of the embedding).
    public let vocabularySize: Int

    let tokenEmbedding: WeightMatrix
    let layers: [TransformerLayer]
    let outputNorm: [Float]
    /// `output.weight`, or the token embedding when the model ties them.
    let output: WeightMatrix
    let rope: RotaryPositionEmbedding
    /// The sliding-window layers' RoPE (their own base, no scaling), when some layers slide.
    let slidingRope: RotaryPositionEmbedding?

    /// Builds the model from an opened GGUF file, checking every tensor's shape.
    public init(file: GGUFFile) throws(GGUFError) {
        let c = try ModelConfiguration(metadata: file.metadata)
        let loader = ModelTensorLoader(file: file)
        let embedding = try file.tensor("token_embd.weight")
        guard embedding.dimensions.count == 2, embedding.dimensions[0] == c.embeddingLength, embedding.dimensions[1] > 0 else {
            throw GGUFError(.invalidModel, "tensor 'token_embd.weight' has shape \(embedding.dimensions), expected [\(c.embeddingLength), vocabulary size]")
        }
        vocabularySize = embedding.dimensions[1]
        tokenEmbedding = try loader.matrix("token_embd.weight", rows: vocabularySize, columns: c.embeddingLength)
        var layers: [TransformerLayer] = []
        for index in 0..<c.layerCount {
            layers.append(try TransformerLayer(index: index, configuration: c, loader: loader))
        }
        self.layers = layers
        outputNorm = try loader.vector("output_norm.weight", length: c.embeddingLength)
        output = try loader.optionalMatrix("output.weight", rows: vocabularySize, columns: c.embeddingLength) ?? tokenEmbedding
        let factors = try RotaryPositionEmbedding.frequencyFactors(configuration: c, loader: loader)
        rope = RotaryPositionEmbedding(configuration: c, frequencyFactors: factors)
        slidingRope = c.slidingWindow.flatMap { sliding in
            sliding.slidingLayers.firstIndex(of: true).map {
                RotaryPositionEmbedding(configuration: c.ropeConfiguration(layer: $0), frequencyFactors: factors)
            }
        }
        configuration = c
        self.file = file
    }

    /// Opens the GGUF file at `path` and builds the model from it.
    public convenience init(path: String) throws(GGUFError) {
        try self.init(file: GGUFFile(path: path))
    }

    /// Runs `tokens` at the positions that follow those already in `cache`,
    /// appends their keys and values to it, and returns the logits of the
    /// tokens from index `logitsFrom` on (by default only the last one),
    /// `vocabularySize` floats per token.
    public func forward(
        _ tokens: [Int32], cache: KVCache, pool: ComputePool, logitsFrom: Int? = nil
    ) throws(InferenceError) -> [Float] {
        let n = tokens.count
        guard n > 0 else { throw InferenceError(.emptyInput, "no tokens to run") }
        try checkTokens(tokens)
        try check(cache, room: n)
        let firstLogits = min(max(logitsFrom ?? n - 1, 0), n - 1)
        // A cache with sliding-window rings takes a long prompt in pieces
        // (``KVCache/largestBatch``); any other takes it whole.
        var result: [Float] = []
        var start = 0
        while start < n {
            let end = min(n, start + cache.largestBatch)
            let x = runBlocks(Array(tokens[start..<end]), sequences: [SequenceRows(cache: cache, start: cache.count, rows: 0..<end - start)], pool: pool)
            if firstLogits < end {
                result += logits(of: x, rows: Array(max(firstLogits, start) - start..<end - start), pool: pool)
            }
            start = end
        }
        return result
    }

    /// Throws unless every token is in the vocabulary.
    func checkTokens(_ tokens: [Int32]) throws(InferenceError) {
        if let bad = tokens.first(where: { $0 < 0 || Int($0) >= vocabularySize }) {
            throw InferenceError(.invalidToken, "token id \(bad) is outside the vocabulary of \(vocabularySize)")
        }
    }

    /// Throws unless `cache` was made for this model's shape and has room
    /// for `room` more positions.
    func check(_ cache: KVCache, room: Int) throws(InferenceError) {
        let c = configuration
        guard cache.layerCount == c.layerCount, cache.kvDimension == c.kvDimension else {
            throw InferenceError(.invalidCache, "the cache was made for a model with \(cache.layerCount) layers of \(cache.kvDimension) key/value floats, not \(c.layerCount) of \(c.kvDimension)")
        }
        guard room <= cache.capacity - cache.count else {
            throw InferenceError(.contextFull, "\(room) tokens after \(cache.count) exceed the context of \(cache.capacity)")
        }
    }
}
