/// A BERT sentence-embedding encoder (`general.architecture = "bert"`:
/// all-MiniLM, bge, …) whose weights stay in a memory-mapped GGUF file.
///
/// The forward pass, as llama.cpp's `bert` graph: the sum of the token,
/// position and token-type-0 embeddings, LayerNorm; in each block,
/// Q/K/V projections with biases → attention of every token over every
/// token of its own input (bidirectional, no cache) → output projection +
/// bias, added to the residual, LayerNorm (post-norm); up projection + bias
/// → GELU → down projection + bias, added, LayerNorm. Then the input's
/// states are pooled (``EmbeddingPooling``) and scaled to unit length.
///
/// Several inputs run as one batch: every matrix is multiplied with all
/// their tokens at once; only attention is per input.
public final class BertModel: EmbeddingModel {
    /// The model's shape and hyperparameters.
    public let configuration: BertConfiguration
    /// The file the weights are mapped from (kept alive with the model).
    public let file: GGUFFile
    /// The number of tokens in the vocabulary.
    public let vocabularySize: Int

    let tokenEmbedding: WeightMatrix
    let positionEmbedding: WeightMatrix
    /// Row 0 of `token_types.weight`: every token is of type 0 (one segment).
    let tokenTypeEmbedding: [Float]
    let embeddingNorm: LayerNormWeights
    let layers: [BertLayer]

    /// Builds the model from an opened GGUF file, checking every tensor's shape.
    public init(file: GGUFFile) throws(GGUFError) {
        let c = try BertConfiguration(metadata: file.metadata)
        let loader = ModelTensorLoader(file: file)
        let embedding = try file.tensor("token_embd.weight")
        guard embedding.dimensions.count == 2, embedding.dimensions[0] == c.embeddingLength, embedding.dimensions[1] > 0 else {
            throw GGUFError(.invalidModel, "tensor 'token_embd.weight' has shape \(embedding.dimensions), expected [\(c.embeddingLength), vocabulary size]")
        }
        vocabularySize = embedding.dimensions[1]
        tokenEmbedding = try loader.matrix("token_embd.weight", rows: vocabularySize, columns: c.embeddingLength)
        positionEmbedding = try loader.matrix("position_embd.weight", rows: c.contextLength, columns: c.embeddingLength)
        let types = try file.tensor("token_types.weight")
        guard types.dimensions.count == 2, types.dimensions[0] == c.embeddingLength, types.dimensions[1] > 0 else {
            throw GGUFError(.invalidModel, "tensor 'token_types.weight' has shape \(types.dimensions), expected [\(c.embeddingLength), type count]")
        }
        let typeMatrix = try loader.matrix("token_types.weight", rows: types.dimensions[1], columns: c.embeddingLength)
        tokenTypeEmbedding = [Float](unsafeUninitializedCapacity: c.embeddingLength) { buffer, initialized in
            if let base = buffer.baseAddress { typeMatrix.dequantizeRow(0, into: base) }
            initialized = c.embeddingLength
        }
        embeddingNorm = try LayerNormWeights(loader: loader, name: "token_embd_norm", length: c.embeddingLength)
        var layers: [BertLayer] = []
        for index in 0..<c.layerCount {
            layers.append(try BertLayer(index: index, configuration: c, loader: loader))
        }
        self.layers = layers
        configuration = c
        self.file = file
    }

    /// Opens the GGUF file at `path` and builds the model from it.
    public convenience init(path: String) throws(GGUFError) {
        try self.init(file: GGUFFile(path: path))
    }

    /// The width of the vectors (``BertConfiguration/embeddingLength``).
    public var embeddingLength: Int { configuration.embeddingLength }
    /// The longest input (``BertConfiguration/contextLength``).
    public var contextLength: Int { configuration.contextLength }

    /// The unit-length embedding of each input (``BertConfiguration/embeddingLength``
    /// floats each, in order), all inputs computed as one batch.
    ///
    /// - Throws: ``InferenceError`` for an empty input, a token outside the
    ///   vocabulary, or an input longer than the context.
    public func embed(_ inputs: [[Int32]], pool: ComputePool) throws(InferenceError) -> [[Float]] {
        try check(inputs)
        guard !inputs.isEmpty else { return [] }
        let spans = Self.spans(of: inputs)
        let states = encode(inputs.flatMap { $0 }, spans: spans, pool: pool)
        return spans.map { configuration.pooling.pooled(states, span: $0, length: embeddingLength) }
    }

    /// The final hidden states (`tokens.count × embeddingLength`) of the
    /// inputs laid out in `spans` of `tokens`.
    func encode(_ tokens: [Int32], spans: [Range<Int>], pool: ComputePool) -> FloatBuffer {
        let c = configuration
        let n = tokens.count
        let d = c.embeddingLength
        let x = FloatBuffer(count: n * d)
        let q = FloatBuffer(count: n * d)
        let k = FloatBuffer(count: n * d)
        let v = FloatBuffer(count: n * d)
        let attention = FloatBuffer(count: n * d)
        let residual = FloatBuffer(count: n * d)
        let hidden = FloatBuffer(count: n * c.feedForwardLength)
        let position = FloatBuffer(count: d)

        for span in spans {
            for t in span {
                let row = x.row(t, length: d)
                tokenEmbedding.dequantizeRow(Int(tokens[t]), into: row)
                positionEmbedding.dequantizeRow(t - span.lowerBound, into: position.pointer)
                for index in 0..<d { row[index] += position.pointer[index] + tokenTypeEmbedding[index] }
                embeddingNorm.normalize(row, epsilon: c.layerNormEpsilon)
            }
        }
        for layer in layers {
            MatrixMultiply.matMul(layer.query, x: x.pointer, tokens: n, y: q.pointer, pool: pool)
            MatrixMultiply.matMul(layer.key, x: x.pointer, tokens: n, y: k.pointer, pool: pool)
            MatrixMultiply.matMul(layer.value, x: x.pointer, tokens: n, y: v.pointer, pool: pool)
            VectorOperations.addBias(layer.queryBias, to: q.pointer, rows: n)
            VectorOperations.addBias(layer.keyBias, to: k.pointer, rows: n)
            VectorOperations.addBias(layer.valueBias, to: v.pointer, rows: n)
            BidirectionalAttention.attend(
                queries: q.pointer, keys: k.pointer, values: v.pointer, spans: spans,
                headCount: c.headCount, headDimension: c.headDimension, output: attention.pointer, pool: pool)
            MatrixMultiply.matMul(layer.attentionOutput, x: attention.pointer, tokens: n, y: residual.pointer, pool: pool)
            VectorOperations.addBias(layer.attentionOutputBias, to: residual.pointer, rows: n)
            VectorOperations.add(residual.pointer, to: x.pointer, count: n * d)
            for t in 0..<n { layer.attentionNorm.normalize(x.row(t, length: d), epsilon: c.layerNormEpsilon) }

            MatrixMultiply.matMul(layer.up, x: x.pointer, tokens: n, y: hidden.pointer, pool: pool)
            VectorOperations.addBias(layer.upBias, to: hidden.pointer, rows: n)
            GELU.apply(hidden.pointer, count: n * c.feedForwardLength)
            MatrixMultiply.matMul(layer.down, x: hidden.pointer, tokens: n, y: residual.pointer, pool: pool)
            VectorOperations.addBias(layer.downBias, to: residual.pointer, rows: n)
            VectorOperations.add(residual.pointer, to: x.pointer, count: n * d)
            for t in 0..<n { layer.outputNorm.normalize(x.row(t, length: d), epsilon: c.layerNormEpsilon) }
        }
        return x
    }
}
