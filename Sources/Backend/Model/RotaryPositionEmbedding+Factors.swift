extension RotaryPositionEmbedding {
    /// The per-pair frequency factors of a model, from its tensors:
    /// Llama 3.1's `rope_freqs.weight`, or LongRoPE's `rope_factors_long.weight`
    /// and `rope_factors_short.weight`; `nil` when it has none.
    ///
    /// Of LongRoPE's two, the long factors apply when the model runs
    /// contexts beyond the original training length (llama.cpp's choice by
    /// its context size, made once so cached keys stay valid). lmgate serves
    /// up to the model's context length, so a Phi-3.5 or Phi-4-mini file
    /// (131072 against 4096) runs with the long factors, as llama.cpp does at
    /// that context size; the short ones only when the context length is not
    /// beyond the original.
    static func frequencyFactors(configuration c: ModelConfiguration, loader: ModelTensorLoader) throws(GGUFError) -> [Float]? {
        let length = c.ropeDimensionCount / 2
        let long = "rope_factors_long.weight"
        let short = "rope_factors_short.weight"
        let hasLongRoPE = loader.file.tensors[long] != nil || loader.file.tensors[short] != nil
        if loader.file.tensors["rope_freqs.weight"] != nil {
            // llama.cpp prefers rope_freqs when a file has both.
            return try checked(loader.vector("rope_freqs.weight", length: length), name: "rope_freqs.weight")
        }
        guard hasLongRoPE else {
            if c.ropeScaling.type == "longrope" {
                throw GGUFError(.invalidModel, "RoPE scaling 'longrope' needs the tensors '\(long)' and '\(short)', which the file does not have")
            }
            return nil
        }
        var factors: [String: [Float]] = [:]
        for name in [long, short] {
            guard loader.file.tensors[name] != nil else {
                throw GGUFError(.invalidModel, "tensor '\(name)' is missing: LongRoPE needs both its long and its short factors")
            }
            factors[name] = try checked(loader.vector(name, length: length), name: name)
        }
        return factors[c.contextLength > c.ropeScaling.originalContextLength ? long : short]
    }

    /// `factors`, unless one of them is not a positive finite number (a
    /// frequency divided by it would be infinite or negative).
    private static func checked(_ factors: [Float], name: String) throws(GGUFError) -> [Float] {
        if let bad = factors.firstIndex(where: { !($0.isFinite && $0 > 0) }) {
            throw GGUFError(.invalidModel, "tensor '\(name)' has factor \(factors[bad]) at pair \(bad), expected positive numbers")
        }
        return factors
    }
}
