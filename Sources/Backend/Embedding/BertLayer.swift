/// The weights of one BERT encoder block, as llama.cpp's converter names them.
struct BertLayer: Sendable {
    let query: WeightMatrix
    let queryBias: [Float]
    let key: WeightMatrix
    let keyBias: [Float]
    let value: WeightMatrix
    let valueBias: [Float]
    let attentionOutput: WeightMatrix
    let attentionOutputBias: [Float]
    /// LayerNorm after the attention residual (post-norm).
    let attentionNorm: LayerNormWeights
    let up: WeightMatrix
    let upBias: [Float]
    let down: WeightMatrix
    let downBias: [Float]
    /// LayerNorm after the feed-forward residual.
    let outputNorm: LayerNormWeights

    init(index: Int, configuration c: BertConfiguration, loader: ModelTensorLoader) throws(GGUFError) {
        let d = c.embeddingLength
        let f = c.feedForwardLength
        func name(_ suffix: String) -> String { "blk.\(index).\(suffix)" }
        query = try loader.matrix(name("attn_q.weight"), rows: d, columns: d)
        queryBias = try loader.vector(name("attn_q.bias"), length: d)
        key = try loader.matrix(name("attn_k.weight"), rows: d, columns: d)
        keyBias = try loader.vector(name("attn_k.bias"), length: d)
        value = try loader.matrix(name("attn_v.weight"), rows: d, columns: d)
        valueBias = try loader.vector(name("attn_v.bias"), length: d)
        attentionOutput = try loader.matrix(name("attn_output.weight"), rows: d, columns: d)
        attentionOutputBias = try loader.vector(name("attn_output.bias"), length: d)
        attentionNorm = try LayerNormWeights(loader: loader, name: name("attn_output_norm"), length: d)
        up = try loader.matrix(name("ffn_up.weight"), rows: f, columns: d)
        upBias = try loader.vector(name("ffn_up.bias"), length: f)
        down = try loader.matrix(name("ffn_down.weight"), rows: d, columns: f)
        downBias = try loader.vector(name("ffn_down.bias"), length: d)
        outputNorm = try LayerNormWeights(loader: loader, name: name("layer_output_norm"), length: d)
    }
}
