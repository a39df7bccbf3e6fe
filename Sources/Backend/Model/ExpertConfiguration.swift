/// How a mixture-of-experts block routes each token, from a GGUF file's
/// `{architecture}.expert_*` metadata.
///
/// The router scores every expert, softmax turns the scores into
/// probabilities, the ``usedCount`` most probable experts run, and their
/// outputs are summed weighted by those probabilities (renormalized to sum
/// to 1 when ``normalizesWeights``, then multiplied by ``weightsScale``).
public struct ExpertConfiguration: Sendable, Equatable {
    /// The number of experts in each block (`expert_count`).
    public let count: Int
    /// The number of experts each token runs (`expert_used_count`).
    public let usedCount: Int
    /// The hidden width of one expert (`expert_feed_forward_length`).
    public let feedForwardLength: Int
    /// Whether the chosen experts' probabilities are rescaled to sum to 1
    /// (`expert_weights_norm`; Qwen3-MoE's `norm_topk_prob`, true when absent,
    /// as llama.cpp always does for qwen3moe).
    public let normalizesWeights: Bool
    /// A factor on the experts' weights (`expert_weights_scale`; 1 when absent or 0).
    public let weightsScale: Float

    /// Reads the experts' metadata of `architecture`; `denseFeedForwardLength`
    /// is the expert width when the file does not name one (llama.cpp's
    /// `feed_forward_length / expert_used_count`).
    init(metadata: GGUFMetadata, architecture: String, denseFeedForwardLength: Int?) throws(GGUFError) {
        func key(_ suffix: String) -> String { "\(architecture).\(suffix)" }
        guard let count = try metadata.integer(key("expert_count")) else {
            throw GGUFError(.missingMetadata, "metadata key '\(key("expert_count"))' is missing; a mixture of experts needs it")
        }
        guard let used = try metadata.integer(key("expert_used_count")) else {
            throw GGUFError(.missingMetadata, "metadata key '\(key("expert_used_count"))' is missing; a mixture of experts needs it")
        }
        // 1 << 16 experts is far above any real model (Qwen3-235B has 128).
        guard (1...(1 << 16)).contains(count) else {
            throw GGUFError(.invalidModel, "metadata key '\(key("expert_count"))' is \(count), expected 1 to \(1 << 16)")
        }
        guard (1...count).contains(used) else {
            throw GGUFError(.invalidModel, "metadata key '\(key("expert_used_count"))' is \(used), expected 1 to the \(count) experts")
        }
        let width = try metadata.integer(key("expert_feed_forward_length")) ?? denseFeedForwardLength.map { $0 / used }
        guard let width, (1...(1 << 24)).contains(width) else {
            throw GGUFError(.invalidModel, "metadata key '\(key("expert_feed_forward_length"))' is missing or out of range (1 to \(1 << 24))")
        }
        let scale = try metadata.float32(key("expert_weights_scale")) ?? 0
        guard scale.isFinite, scale >= 0 else {
            throw GGUFError(.invalidModel, "metadata key '\(key("expert_weights_scale"))' is \(scale), expected a finite non-negative number")
        }
        self.count = count
        usedCount = used
        feedForwardLength = width
        normalizesWeights = try metadata.bool(key("expert_weights_norm")) ?? true
        weightsScale = scale == 0 ? 1 : scale
    }
}
