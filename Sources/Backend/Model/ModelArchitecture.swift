/// The transformer families lmgate runs, named as `general.architecture`
/// names them, and what sets each apart from llama's block.
public enum ModelArchitecture: String, Sendable, CaseIterable {
    /// Llama 2/3.x (and SmolLM2): the reference block.
    case llama
    /// Qwen2/2.5: biases on the query, key and value projections, NeoX RoPE.
    case qwen2
    /// Qwen3: an RMSNorm over each query and key head before RoPE, no
    /// projection biases, NeoX RoPE.
    case qwen3
    /// Qwen3-MoE: Qwen3's attention, and a mixture of experts in place of
    /// the feed-forward network.
    case qwen3moe

    /// How RoPE pairs the dimensions of a head (llama.cpp's table of RoPE
    /// types: llama rotates adjacent pairs, the Qwen family halves).
    var ropeLayout: ModelConfiguration.RoPELayout {
        switch self {
        case .llama: .interleaved
        case .qwen2, .qwen3, .qwen3moe: .neox
        }
    }

    /// Whether each block normalizes every query and key head
    /// (`attn_q_norm`, `attn_k_norm`, one weight per head dimension).
    var normalizesQueryKeyHeads: Bool {
        switch self {
        case .qwen3, .qwen3moe: true
        case .llama, .qwen2: false
        }
    }

    /// Whether the feed-forward network is a mixture of experts.
    var isMixtureOfExperts: Bool { self == .qwen3moe }
}
