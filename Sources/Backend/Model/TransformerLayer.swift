/// The weights of one transformer block: attention with RMSNorm before it,
/// then a gated feed-forward network (SwiGLU, GeGLU for Gemma, or a mixture
/// of SwiGLU experts) with RMSNorm before it; Gemma 3 also normalizes each
/// of the two outputs.
struct TransformerLayer: Sendable {
    /// A dense SwiGLU network, or a mixture of experts.
    enum FeedForward: Sendable {
        case dense(gate: WeightMatrix, up: WeightMatrix, down: WeightMatrix)
        case experts(MixtureOfExperts)
    }

    let attentionNorm: [Float]
    let query: WeightMatrix
    let key: WeightMatrix
    let value: WeightMatrix
    /// qwen2 adds biases to the query, key and value projections; llama has none.
    let queryBias: [Float]?
    let keyBias: [Float]?
    let valueBias: [Float]?
    /// Qwen3 normalizes each query and key head (RMSNorm, one weight per
    /// head dimension) before RoPE.
    let queryNorm: [Float]?
    let keyNorm: [Float]?
    let attentionOutput: WeightMatrix
    /// Gemma 3 normalizes attention's output before adding it to the residual stream.
    let attentionOutputNorm: [Float]?
    let feedForwardNorm: [Float]
    let feedForward: FeedForward
    /// Gemma 3 normalizes the feed-forward output before adding it to the residual stream.
    let feedForwardOutputNorm: [Float]?

    /// Loads block `index` (`blk.{index}.*`), checking every shape against `configuration`.
    init(index: Int, configuration c: ModelConfiguration, loader: ModelTensorLoader) throws(GGUFError) {
        let prefix = "blk.\(index)."
        let d = c.embeddingLength
        attentionNorm = try loader.vector(prefix + "attn_norm.weight", length: d)
        if loader.file.tensors[prefix + "attn_qkv.weight"] != nil {
            // One matrix of query, key and value rows (phi3), as llama.cpp accepts for any block.
            let parts = try loader.fusedMatrices(prefix + "attn_qkv.weight", parts: [c.queryDimension, c.kvDimension, c.kvDimension], columns: d)
            (query, key, value) = (parts[0], parts[1], parts[2])
        } else {
            query = try loader.matrix(prefix + "attn_q.weight", rows: c.queryDimension, columns: d)
            key = try loader.matrix(prefix + "attn_k.weight", rows: c.kvDimension, columns: d)
            value = try loader.matrix(prefix + "attn_v.weight", rows: c.kvDimension, columns: d)
        }
        queryBias = try loader.optionalVector(prefix + "attn_q.bias", length: c.queryDimension)
        keyBias = try loader.optionalVector(prefix + "attn_k.bias", length: c.kvDimension)
        valueBias = try loader.optionalVector(prefix + "attn_v.bias", length: c.kvDimension)
        if c.family.normalizesQueryKeyHeads {
            queryNorm = try loader.vector(prefix + "attn_q_norm.weight", length: c.headDimension)
            keyNorm = try loader.vector(prefix + "attn_k_norm.weight", length: c.headDimension)
        } else {
            queryNorm = nil
            keyNorm = nil
        }
        attentionOutput = try loader.matrix(prefix + "attn_output.weight", rows: d, columns: c.queryDimension)
        feedForwardNorm = try loader.vector(prefix + "ffn_norm.weight", length: d)
        if c.family.normalizesSublayerOutputs {
            attentionOutputNorm = try loader.vector(prefix + "post_attention_norm.weight", length: d)
            feedForwardOutputNorm = try loader.vector(prefix + "post_ffw_norm.weight", length: d)
        } else {
            attentionOutputNorm = nil
            feedForwardOutputNorm = nil
        }
        if let experts = c.experts {
            feedForward = .experts(try MixtureOfExperts(prefix: prefix, configuration: experts, embeddingLength: d, loader: loader))
        } else if c.family.fusesGateAndUp {
            // ffn_up holds the gate rows, then the up rows (llama.cpp's LLM_FFN_SWIGLU split).
            let parts = try loader.fusedMatrices(prefix + "ffn_up.weight", parts: [c.feedForwardLength, c.feedForwardLength], columns: d)
            feedForward = .dense(
                gate: parts[0], up: parts[1],
                down: try loader.matrix(prefix + "ffn_down.weight", rows: d, columns: c.feedForwardLength))
        } else {
            feedForward = .dense(
                gate: try loader.matrix(prefix + "ffn_gate.weight", rows: c.feedForwardLength, columns: d),
                up: try loader.matrix(prefix + "ffn_up.weight", rows: c.feedForwardLength, columns: d),
                down: try loader.matrix(prefix + "ffn_down.weight", rows: d, columns: c.feedForwardLength))
        }
    }
}
