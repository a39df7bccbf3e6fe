/// The weights of one transformer block: attention with RMSNorm before it,
/// then a SwiGLU feed-forward network with RMSNorm before it.
struct TransformerLayer: Sendable {
    let attentionNorm: [Float]
    let query: WeightMatrix
    let key: WeightMatrix
    let value: WeightMatrix
    /// qwen2 adds biases to the query, key and value projections; llama has none.
    let queryBias: [Float]?
    let keyBias: [Float]?
    let valueBias: [Float]?
    let attentionOutput: WeightMatrix
    let feedForwardNorm: [Float]
    let gate: WeightMatrix
    let up: WeightMatrix
    let down: WeightMatrix

    /// Loads block `index` (`blk.{index}.*`), checking every shape against `configuration`.
    init(index: Int, configuration c: ModelConfiguration, loader: ModelTensorLoader) throws(GGUFError) {
        let prefix = "blk.\(index)."
        let d = c.embeddingLength
        attentionNorm = try loader.vector(prefix + "attn_norm.weight", length: d)
        query = try loader.matrix(prefix + "attn_q.weight", rows: c.queryDimension, columns: d)
        key = try loader.matrix(prefix + "attn_k.weight", rows: c.kvDimension, columns: d)
        value = try loader.matrix(prefix + "attn_v.weight", rows: c.kvDimension, columns: d)
        queryBias = try loader.optionalVector(prefix + "attn_q.bias", length: c.queryDimension)
        keyBias = try loader.optionalVector(prefix + "attn_k.bias", length: c.kvDimension)
        valueBias = try loader.optionalVector(prefix + "attn_v.bias", length: c.kvDimension)
        attentionOutput = try loader.matrix(prefix + "attn_output.weight", rows: d, columns: c.queryDimension)
        feedForwardNorm = try loader.vector(prefix + "ffn_norm.weight", length: d)
        gate = try loader.matrix(prefix + "ffn_gate.weight", rows: c.feedForwardLength, columns: d)
        up = try loader.matrix(prefix + "ffn_up.weight", rows: c.feedForwardLength, columns: d)
        down = try loader.matrix(prefix + "ffn_down.weight", rows: d, columns: c.feedForwardLength)
    }
}
