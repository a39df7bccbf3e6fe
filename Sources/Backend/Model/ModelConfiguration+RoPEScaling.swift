extension ModelConfiguration {
    /// The factor RoPE divides positions by, from `rope.scaling.type` and
    /// `rope.scaling.factor`.
    ///
    /// `linear` stretches positions by the factor, as llama.cpp's
    /// `freq_scale = 1 / factor`. Llama 3.1's scaling is not a type here:
    /// its converter writes per-frequency factors as the tensor
    /// `rope_freqs.weight`, which ``RotaryPositionEmbedding`` applies. YaRN
    /// and LongRoPE change attention too, so they are refused rather than
    /// run wrongly.
    static func ropePositionScale(metadata: GGUFMetadata, architecture: String) throws(GGUFError) -> Float {
        let typeKey = "\(architecture).rope.scaling.type"
        let factorKey = "\(architecture).rope.scaling.factor"
        switch try metadata.string(typeKey) {
        case nil, "none":
            return 1
        case "linear":
            let factor = try metadata.float32(factorKey) ?? 1
            guard factor.isFinite, factor > 0 else {
                throw GGUFError(.invalidModel, "metadata key '\(factorKey)' is \(factor), expected a positive number")
            }
            // llama.cpp treats a factor of 0 or 1 as no scaling.
            return factor
        case let other?:
            throw GGUFError(.invalidModel, "RoPE scaling '\(other)' (\(typeKey)) is not supported (supported: none, linear, and Llama 3.1's rope_freqs.weight)")
        }
    }
}
