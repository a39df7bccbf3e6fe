/// A llama or qwen2 transformer whose weights stay in a memory-mapped GGUF
/// file, and its forward pass.
///
/// The forward pass reads top to bottom as the model computes:
/// embed the tokens; in each block, RMSNorm → Q/K/V projections (+ biases
/// for qwen2) → RoPE → append K/V to the cache → causal attention → output
/// projection, added to the residual; RMSNorm → SwiGLU feed-forward, added
/// to the residual; finally RMSNorm and the output projection to logits.
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
        let factors = try loader.optionalVector("rope_freqs.weight", length: c.ropeDimensionCount / 2)
        rope = RotaryPositionEmbedding(configuration: c, frequencyFactors: factors)
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
        let c = configuration
        let n = tokens.count
        let start = cache.count
        guard n > 0 else { throw InferenceError(.emptyInput, "no tokens to run") }
        guard n <= cache.capacity - start else {
            throw InferenceError(.contextFull, "\(n) tokens after \(start) exceed the context of \(cache.capacity)")
        }
        if let bad = tokens.first(where: { $0 < 0 || Int($0) >= vocabularySize }) {
            throw InferenceError(.invalidToken, "token id \(bad) is outside the vocabulary of \(vocabularySize)")
        }
        let firstLogits = min(max(logitsFrom ?? n - 1, 0), n - 1)
        let d = c.embeddingLength

        let x = FloatBuffer(count: n * d)
        let normed = FloatBuffer(count: n * d)
        let q = FloatBuffer(count: n * c.queryDimension)
        let k = FloatBuffer(count: n * c.kvDimension)
        let v = FloatBuffer(count: n * c.kvDimension)
        let attention = FloatBuffer(count: n * c.queryDimension)
        let residual = FloatBuffer(count: n * d)
        let gate = FloatBuffer(count: n * c.feedForwardLength)
        let up = FloatBuffer(count: n * c.feedForwardLength)

        for (t, token) in tokens.enumerated() {
            tokenEmbedding.dequantizeRow(Int(token), into: x.row(t, length: d))
        }
        let angles = (0..<n).map { rope.angles(at: start + $0) }

        for (index, layer) in layers.enumerated() {
            // Attention.
            for t in 0..<n {
                VectorOperations.rmsNorm(x.row(t, length: d), weight: layer.attentionNorm, epsilon: c.rmsEpsilon, into: normed.row(t, length: d))
            }
            MatrixMultiply.matMul(layer.query, x: normed.pointer, tokens: n, y: q.pointer, pool: pool)
            MatrixMultiply.matMul(layer.key, x: normed.pointer, tokens: n, y: k.pointer, pool: pool)
            MatrixMultiply.matMul(layer.value, x: normed.pointer, tokens: n, y: v.pointer, pool: pool)
            if let bias = layer.queryBias { VectorOperations.addBias(bias, to: q.pointer, rows: n) }
            if let bias = layer.keyBias { VectorOperations.addBias(bias, to: k.pointer, rows: n) }
            if let bias = layer.valueBias { VectorOperations.addBias(bias, to: v.pointer, rows: n) }
            for t in 0..<n {
                rope.rotate(q.row(t, length: c.queryDimension), heads: c.headCount, cosines: angles[t].cosines, sines: angles[t].sines)
                rope.rotate(k.row(t, length: c.kvDimension), heads: c.kvHeadCount, cosines: angles[t].cosines, sines: angles[t].sines)
                cache.key(layer: index, position: start + t).update(from: k.row(t, length: c.kvDimension), count: c.kvDimension)
                cache.value(layer: index, position: start + t).update(from: v.row(t, length: c.kvDimension), count: c.kvDimension)
            }
            CausalAttention.attend(
                queries: q.pointer, tokens: n, start: start, layer: index,
                cache: cache, configuration: c, output: attention.pointer, pool: pool)
            MatrixMultiply.matMul(layer.attentionOutput, x: attention.pointer, tokens: n, y: residual.pointer, pool: pool)
            VectorOperations.add(residual.pointer, to: x.pointer, count: n * d)

            // Feed-forward.
            for t in 0..<n {
                VectorOperations.rmsNorm(x.row(t, length: d), weight: layer.feedForwardNorm, epsilon: c.rmsEpsilon, into: normed.row(t, length: d))
            }
            MatrixMultiply.matMul(layer.gate, x: normed.pointer, tokens: n, y: gate.pointer, pool: pool)
            MatrixMultiply.matMul(layer.up, x: normed.pointer, tokens: n, y: up.pointer, pool: pool)
            VectorOperations.swiGLU(gate: gate.pointer, up: up.pointer, count: n * c.feedForwardLength)
            MatrixMultiply.matMul(layer.down, x: gate.pointer, tokens: n, y: residual.pointer, pool: pool)
            VectorOperations.add(residual.pointer, to: x.pointer, count: n * d)
        }
        cache.count = start + n

        let logitRows = n - firstLogits
        for t in firstLogits..<n {
            VectorOperations.rmsNorm(x.row(t, length: d), weight: outputNorm, epsilon: c.rmsEpsilon, into: normed.row(t - firstLogits, length: d))
        }
        return [Float](unsafeUninitializedCapacity: logitRows * vocabularySize) { buffer, initialized in
            if let base = buffer.baseAddress {
                MatrixMultiply.matMul(output, x: normed.pointer, tokens: logitRows, y: base, pool: pool)
            }
            initialized = logitRows * vocabularySize
        }
    }
}
