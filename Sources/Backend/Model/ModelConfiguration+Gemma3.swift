import Foundation

extension ModelConfiguration {
    /// The factor attention scores are multiplied by: 1/√`headDimension`, but
    /// 1/√(`embeddingLength` / `headCount`) for Gemma 3 27B.
    ///
    /// Gemma 3 scales queries by `query_pre_attn_scalar`^−½, which equals
    /// the head width in every size but the 27B (168 = 5376 / 32, against
    /// heads of 128). GGUF files do not carry that number; llama.cpp
    /// recognizes the 27B by its 62 layers, and so does this.
    static func attentionScale(family: ModelArchitecture, layerCount: Int, embeddingLength: Int, headCount: Int, headDimension: Int) -> Float {
        if family == .gemma3 && layerCount == 62 {
            return 1 / Float(embeddingLength / headCount).squareRoot()
        }
        return 1 / Float(headDimension).squareRoot()
    }

    /// `final_logit_softcapping`, when present and not 0 (llama.cpp's "none").
    static func finalLogitSoftcap(metadata: GGUFMetadata, architecture: String) throws(GGUFError) -> Float? {
        let key = "\(architecture).final_logit_softcapping"
        guard let cap = try metadata.float32(key), cap != 0 else { return nil }
        guard cap.isFinite, cap > 0 else {
            throw GGUFError(.invalidModel, "metadata key '\(key)' is \(cap), expected a positive number")
        }
        return cap
    }

    /// The configuration a layer's RoPE rotates with: sliding layers take
    /// their own base and no position scaling (llama.cpp's `freq_base_swa`
    /// and `freq_scale_swa` = 1); every other layer takes the model's.
    func ropeConfiguration(layer: Int) -> ModelConfiguration {
        guard let sliding = slidingWindow, sliding.slides(layer: layer) else { return self }
        var local = self
        local.ropeFrequencyBase = sliding.ropeFrequencyBase
        local.ropeScaling = .none
        return local
    }
}
