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
    /// SmolLM3: llama's block, with no RoPE in every fourth layer (NoPE).
    case smollm3
    /// Ministral 3 / Mistral Small 3.x, the text part: llama's block.
    case mistral3
    /// Phi-3 / Phi-4-mini: query, key and value in one matrix (`attn_qkv`),
    /// gate and up in one (`ffn_up`), NeoX RoPE.
    case phi3

    /// How RoPE pairs the dimensions of a head (llama.cpp's table of RoPE
    /// types: llama rotates adjacent pairs, the Qwen family halves).
    var ropeLayout: ModelConfiguration.RoPELayout {
        switch self {
        case .llama, .smollm3, .mistral3: .interleaved
        case .qwen2, .qwen3, .qwen3moe, .phi3: .neox
        }
    }

    /// Whether each block normalizes every query and key head
    /// (`attn_q_norm`, `attn_k_norm`, one weight per head dimension).
    var normalizesQueryKeyHeads: Bool {
        switch self {
        case .qwen3, .qwen3moe: true
        case .llama, .qwen2, .smollm3, .mistral3, .phi3: false
        }
    }

    /// Whether `ffn_up` holds the gate's rows and then the up projection's
    /// (there is no `ffn_gate`).
    var fusesGateAndUp: Bool { self == .phi3 }

    /// Whether block `layer` rotates queries and keys. SmolLM3 leaves out
    /// every fourth (layers 3, 7, …), a step llama.cpp fixes at 4 for the
    /// architecture (its GGUF files carry no key for it).
    func usesRoPE(layer: Int) -> Bool {
        self == .smollm3 ? (layer + 1) % 4 != 0 : true
    }

    /// Whether the feed-forward network is a mixture of experts.
    var isMixtureOfExperts: Bool { self == .qwen3moe }
}
