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
    /// Gemma 3, the text model: the embedding scaled by √`embedding_length`,
    /// Qwen3's per-head Q/K norms, an RMSNorm after attention and after the
    /// feed-forward network as well as before, GeGLU, NeoX RoPE, and
    /// sliding-window layers interleaved with global ones.
    case gemma3

    /// How RoPE pairs the dimensions of a head (llama.cpp's table of RoPE
    /// types: llama rotates adjacent pairs, the Qwen family halves).
    var ropeLayout: ModelConfiguration.RoPELayout {
        switch self {
        case .llama, .smollm3, .mistral3: .interleaved
        case .qwen2, .qwen3, .qwen3moe, .phi3, .gemma3: .neox
        }
    }

    /// Whether each block normalizes every query and key head
    /// (`attn_q_norm`, `attn_k_norm`, one weight per head dimension).
    var normalizesQueryKeyHeads: Bool {
        switch self {
        case .qwen3, .qwen3moe, .gemma3: true
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

    /// Whether each block also normalizes the outputs of attention and of
    /// the feed-forward network before adding them to the residual stream
    /// (`post_attention_norm`, `post_ffw_norm`).
    var normalizesSublayerOutputs: Bool { self == .gemma3 }

    /// Whether the token embedding is multiplied by √`embedding_length`
    /// before the first block (Gemma's input scaling).
    var scalesEmbedding: Bool { self == .gemma3 }

    /// The gate's activation in the gated feed-forward network.
    var feedForwardActivation: FeedForwardActivation { self == .gemma3 ? .geluTanh : .silu }

    /// The layer pattern llama.cpp assumes when a file has a sliding window
    /// but no `attention.sliding_window_pattern`: of every `n` layers the
    /// first `n − 1` slide and the last is global (Gemma 3: 5 local, 1 global).
    var defaultSlidingWindowPattern: Int? { self == .gemma3 ? 6 : nil }
}

/// The activation applied to the gate of a gated feed-forward network
/// before it multiplies the up projection.
enum FeedForwardActivation: Sendable {
    /// SiLU (SwiGLU): `g / (1 + e^−g)`.
    case silu
    /// GELU in its tanh approximation (GeGLU, as Gemma and ggml's `gelu`).
    case geluTanh

    /// The activation of one gate value, times its up value.
    var combine: @Sendable (Float, Float) -> Float {
        switch self {
        case .silu: VectorOperations.swiGLU
        case .geluTanh: VectorOperations.geGLU
        }
    }
}
