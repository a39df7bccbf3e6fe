import Foundation

/// How a model stretches RoPE beyond the context it was first trained for,
/// read from the GGUF keys `{architecture}.rope.scaling.*`, with the numbers
/// llama.cpp derives from them.
///
/// - `linear` divides every frequency by ``factor``.
/// - `yarn` divides only the low frequencies (long wavelengths) by
///   ``factor``: pairs below ``YaRN/rampStart`` keep their frequency, pairs
///   above ``YaRN/rampEnd`` are divided, and a linear ramp mixes the two in
///   between. It also scales the rotated vectors by ``magnitude``, which
///   multiplies every attention score by its square.
/// - LongRoPE (Phi-3.5, Phi-4-mini) divides each frequency by a factor of its
///   own from the tensor `rope_factors_long.weight` or
///   `rope_factors_short.weight` (``LanguageModel`` picks one), and scales the
///   rotated vectors by `rope.scaling.attn_factor` (``magnitude``).
public struct RoPEScaling: Sendable, Equatable {
    /// The frequency ramp of YaRN, in pair indices.
    public struct YaRN: Sendable, Equatable {
        /// Pairs before this one keep their frequency (extrapolation).
        public let rampStart: Double
        /// Pairs from this one on are divided by the factor (interpolation).
        public let rampEnd: Double
    }

    /// The scaling type's name as the file writes it (`none`, `linear`, `yarn`, `longrope`).
    public let type: String
    /// What frequencies are divided by (`rope.scaling.factor`; 1 when absent).
    public let factor: Double
    /// The context length the model was trained for before the extension
    /// (`rope.scaling.original_context_length`; the context length when absent).
    public let originalContextLength: Int
    /// YaRN's ramp, for `yarn`.
    public let yarn: YaRN?
    /// What the rotated query and key are multiplied by.
    public let magnitude: Double
    /// Llama 4's attention temperature (`attention.temperature_scale`, Ministral 3):
    /// queries at position `p` are multiplied by
    /// `1 + temperatureScale · ln(1 + ⌊p / originalContextLength⌋)`; 0 for none.
    public let temperatureScale: Double

    /// No scaling: plain RoPE.
    static let none = RoPEScaling(type: "none", factor: 1, originalContextLength: 1, yarn: nil, magnitude: 1, temperatureScale: 0)

    /// The multiplier of the queries at `position` (Llama 4's attention temperature).
    func queryScale(at position: Int) -> Float {
        guard temperatureScale != 0 else { return 1 }
        let blocks = (Double(position) / Double(originalContextLength)).rounded(.down)
        return Float(Foundation.log(blocks + 1) * temperatureScale + 1)
    }
}

extension ModelConfiguration {
    /// Reads the RoPE scaling of `architecture` from `metadata`.
    ///
    /// Follows llama.cpp: a file with a factor and no type is `linear`;
    /// YaRN's ramp uses `yarn_beta_fast` (default 32)
    /// and `yarn_beta_slow` (default 1) over `rotatedDimensions` dimensions
    /// of base `frequencyBase`; YaRN's magnitude is `1 + 0.1 ln factor`,
    /// divided by `1 + 0.1 · yarn_log_multiplier · ln factor` when the file
    /// gives that multiplier (Ministral 3's `mscale_all_dim`), times
    /// `attn_factor`. The keys `yarn_ext_factor` and `yarn_attn_factor` are
    /// not read, as llama.cpp does not read them for these architectures.
    static func ropeScaling(
        metadata: GGUFMetadata, architecture: String, contextLength: Int, frequencyBase: Float, rotatedDimensions: Int
    ) throws(GGUFError) -> RoPEScaling {
        func key(_ suffix: String) -> String { "\(architecture).\(suffix)" }
        func number(_ suffix: String, default value: Float, positive: Bool = true) throws(GGUFError) -> Double {
            let found = try metadata.float32(key(suffix)) ?? value
            guard found.isFinite, positive ? found > 0 : found >= 0 else {
                throw GGUFError(.invalidModel, "metadata key '\(key(suffix))' is \(found), expected a \(positive ? "positive" : "non-negative") number")
            }
            return Double(found)
        }
        let factorValue = try metadata.float32(key("rope.scaling.factor"))
        let type = try metadata.string(key("rope.scaling.type")) ?? (factorValue == nil ? "none" : "linear")
        guard ["none", "linear", "yarn", "longrope"].contains(type) else {
            throw GGUFError(.invalidModel, "RoPE scaling '\(type)' (\(key("rope.scaling.type"))) is not supported (supported: none, linear, yarn, longrope, and Llama 3.1's rope_freqs.weight)")
        }
        if type == "yarn", factorValue == nil {
            throw GGUFError(.missingMetadata, "metadata key '\(key("rope.scaling.factor"))' is missing (YaRN needs its factor)")
        }
        if let factorValue, !(factorValue.isFinite && factorValue > 0) {
            throw GGUFError(.invalidModel, "metadata key '\(key("rope.scaling.factor"))' is \(factorValue), expected a positive number")
        }
        // llama.cpp ignores the factor of type none.
        let factor = type == "none" ? 1 : Double(factorValue ?? 1)
        let original = try metadata.integer(key("rope.scaling.original_context_length")) ?? contextLength
        guard (1...(1 << 24)).contains(original) else {
            throw GGUFError(.invalidModel, "metadata key '\(key("rope.scaling.original_context_length"))' is \(original), expected 1 to \(1 << 24)")
        }
        let attentionFactor = try number("rope.scaling.attn_factor", default: 1)
        let temperatureScale = try number("attention.temperature_scale", default: 0, positive: false)
        guard type == "yarn" else {
            return RoPEScaling(
                type: type, factor: factor, originalContextLength: original, yarn: nil,
                magnitude: attentionFactor, temperatureScale: temperatureScale)
        }
        let betaFast = try number("rope.scaling.yarn_beta_fast", default: 32)
        let betaSlow = try number("rope.scaling.yarn_beta_slow", default: 1)
        let logMultiplier = try number("rope.scaling.yarn_log_multiplier", default: 0, positive: false)
        // The pair whose wavelength fits `turns` times into the original context.
        func pair(turns: Double) -> Double {
            Double(rotatedDimensions) * Foundation.log(Double(original) / (turns * 2 * Double.pi)) / (2 * Foundation.log(Double(frequencyBase)))
        }
        let ramp = RoPEScaling.YaRN(
            rampStart: max(0, pair(turns: betaFast).rounded(.down)),
            rampEnd: min(Double(rotatedDimensions - 1), pair(turns: betaSlow).rounded(.up)))
        func magnitude(_ multiplier: Double) -> Double { factor <= 1 ? 1 : 0.1 * multiplier * Foundation.log(factor) + 1 }
        let yarnMagnitude = logMultiplier == 0 ? magnitude(1) : magnitude(1) / magnitude(logMultiplier)
        return RoPEScaling(
            type: type, factor: factor, originalContextLength: original, yarn: ramp,
            magnitude: yarnMagnitude * attentionFactor, temperatureScale: temperatureScale)
    }
}
