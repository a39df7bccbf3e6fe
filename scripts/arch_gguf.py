"""Writes small GGUF models of the architectures lmgate runs beyond qwen2
(qwen3, qwen3moe, llama with Llama 3.1's RoPE factors, gemma3, YaRN and LongRoPE scaling), with seeded random
weights and a real tokenizer copied from a vocabulary GGUF: the fixtures of
the parity checks (scripts/make-arch-fixtures.py) and the MoE bench model
(scripts/make-bench-model.py --arch qwen3moe)."""
from dataclasses import dataclass, field
import numpy as np
import gguf
from gguf import GGMLQuantizationType, GGUFReader, GGUFValueType, GGUFWriter
from gguf.quants import quantize
from qwen2_gguf import copy_tokenizer


@dataclass
class ArchShape:
    arch: str                  # general.architecture
    dim: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int              # attention.key_length (may differ from dim / heads, as in Qwen3)
    ffn: int                   # dense width (qwen3moe: feed_forward_length, unused by the experts)
    context: int
    rope_base: float = 1000000.0
    rms_eps: float = 1e-6
    experts: int = 0           # qwen3moe: expert_count
    experts_used: int = 0      # qwen3moe: expert_used_count
    expert_ffn: int = 0        # qwen3moe: expert_feed_forward_length
    rope_freqs: list = field(default_factory=list)  # llama 3.1: rope_freqs.weight (one factor per pair)
    tied: bool = True
    sliding_window: int = 0    # gemma3: attention.sliding_window (layers slide in llama.cpp's pattern of 6)
    rope_linear: float = 0.0   # rope.scaling.type linear with this factor (0: none)
    embedding_q8_0: bool = False  # token_embd.weight in Q8_0 (as Gemma 3's own files), to keep a 262k vocabulary small
    # More `{arch}.` keys (RoPE scaling: "rope.scaling.type": "yarn", ...): float → float32,
    # int → uint32, str → string.
    extra_metadata: dict = field(default_factory=dict)
    rope_factors_long: list = field(default_factory=list)   # LongRoPE (Phi-3.5): one factor per pair
    rope_factors_short: list = field(default_factory=list)


def llama31_rope_factors(head_dim, base, factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0, original_context=8192):
    """Llama 3.1's per-frequency RoPE factors, as its converter computes them
    from `rope_scaling` (rope_type llama3) into rope_freqs.weight."""
    factors = []
    low_wavelen = original_context / low_freq_factor
    high_wavelen = original_context / high_freq_factor
    for i in range(0, head_dim, 2):
        freq = 1.0 / (base ** (i / head_dim))
        wavelen = 2 * np.pi / freq
        if wavelen < high_wavelen:
            factors.append(1.0)
        elif wavelen > low_wavelen:
            factors.append(factor)
        else:
            smooth = (original_context / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
            factors.append(1 / ((1 - smooth) / factor + smooth))
    return factors


def write_model(path, name, shape, seed, vocab_path, matrix_type=np.float16, chat_template=None,
                token_patches=None, eos_token_id=None, out_scale=1.0):
    """Writes the model. `token_patches` maps token ids to (text, GGUF token
    type) replacing the vocabulary's entries (Qwen3's added tokens over the
    Qwen2 vocabulary); `chat_template` and `eos_token_id` replace the
    vocabulary's own."""
    rng = np.random.default_rng(seed)

    def matrix(*dims, scale):
        return (rng.standard_normal(dims, dtype=np.float32) * scale).astype(matrix_type)

    def vector(length, mean, spread):
        return (mean + rng.standard_normal(length, dtype=np.float32) * spread).astype(np.float32)

    a = shape.arch
    writer = GGUFWriter(path, a)
    writer.add_name(name)
    skip = set()
    if chat_template is not None:
        skip.add("tokenizer.chat_template")
        writer.add_chat_template(chat_template)
    if eos_token_id is not None:
        skip.add("tokenizer.ggml.eos_token_id")
        writer.add_eos_token_id(eos_token_id)
    if token_patches:
        skip |= {"tokenizer.ggml.tokens", "tokenizer.ggml.token_type"}
        reader = GGUFReader(vocab_path)
        f = reader.fields["tokenizer.ggml.tokens"]
        tokens = [bytes(f.parts[i]).decode("utf-8", errors="surrogateescape") for i in f.data]
        t = reader.fields["tokenizer.ggml.token_type"]
        types = [t.parts[i].tolist()[0] for i in t.data]
        for index, (text, kind) in token_patches.items():
            tokens[index], types[index] = text, kind
        writer.add_token_list(tokens)
        writer.add_token_types(types)
    vocab = copy_tokenizer(writer, vocab_path, skip=skip)
    writer.add_vocab_size(vocab)
    writer.add_context_length(shape.context)
    writer.add_embedding_length(shape.dim)
    writer.add_block_count(shape.layers)
    writer.add_feed_forward_length(shape.ffn)
    writer.add_head_count(shape.heads)
    writer.add_head_count_kv(shape.kv_heads)
    writer.add_key_length(shape.head_dim)
    writer.add_value_length(shape.head_dim)
    writer.add_rope_freq_base(shape.rope_base)
    writer.add_layer_norm_rms_eps(shape.rms_eps)
    writer.add_rope_dimension_count(shape.head_dim)
    if shape.sliding_window:
        writer.add_sliding_window(shape.sliding_window)
    if shape.rope_linear:
        writer.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
        writer.add_rope_scaling_factor(shape.rope_linear)
    for key, value in shape.extra_metadata.items():
        if isinstance(value, str):
            writer.add_string(f"{a}.{key}", value)
        elif isinstance(value, int):
            writer.add_uint32(f"{a}.{key}", value)
        else:
            writer.add_float32(f"{a}.{key}", float(value))
    if shape.experts:
        writer.add_expert_count(shape.experts)
        writer.add_expert_used_count(shape.experts_used)
        writer.add_expert_feed_forward_length(shape.expert_ffn)
    writer.add_file_type(1 if matrix_type == np.float16 else 0)

    q_dim = shape.heads * shape.head_dim
    kv_dim = shape.kv_heads * shape.head_dim
    s = 1 / np.sqrt(shape.dim)
    embedding = matrix(vocab, shape.dim, scale=0.5)
    if shape.embedding_q8_0:
        writer.add_tensor("token_embd.weight", quantize(embedding.astype(np.float32), GGMLQuantizationType.Q8_0),
                          raw_dtype=GGMLQuantizationType.Q8_0)
    else:
        writer.add_tensor("token_embd.weight", embedding)
    if shape.rope_freqs:
        writer.add_tensor("rope_freqs.weight", np.array(shape.rope_freqs, dtype=np.float32))
    if shape.rope_factors_long:
        writer.add_tensor("rope_factors_long.weight", np.array(shape.rope_factors_long, dtype=np.float32))
        writer.add_tensor("rope_factors_short.weight", np.array(shape.rope_factors_short, dtype=np.float32))
    for layer in range(shape.layers):
        p = f"blk.{layer}."
        writer.add_tensor(p + "attn_norm.weight", vector(shape.dim, 1.0, 0.1))
        if a == "phi3":  # query, key and value rows in one matrix
            writer.add_tensor(p + "attn_qkv.weight", matrix(q_dim + 2 * kv_dim, shape.dim, scale=s))
        else:
            writer.add_tensor(p + "attn_q.weight", matrix(q_dim, shape.dim, scale=s))
            writer.add_tensor(p + "attn_k.weight", matrix(kv_dim, shape.dim, scale=s))
            writer.add_tensor(p + "attn_v.weight", matrix(kv_dim, shape.dim, scale=s))
        if a in ("qwen3", "qwen3moe", "gemma3"):
            writer.add_tensor(p + "attn_q_norm.weight", vector(shape.head_dim, 1.0, 0.1))
            writer.add_tensor(p + "attn_k_norm.weight", vector(shape.head_dim, 1.0, 0.1))
        writer.add_tensor(p + "attn_output.weight", matrix(shape.dim, q_dim, scale=out_scale / np.sqrt(q_dim)))
        if a == "gemma3":  # norms of attention's and the feed-forward network's outputs
            writer.add_tensor(p + "post_attention_norm.weight", vector(shape.dim, 1.0, 0.1))
            writer.add_tensor(p + "post_ffw_norm.weight", vector(shape.dim, 1.0, 0.1))
        writer.add_tensor(p + "ffn_norm.weight", vector(shape.dim, 1.0, 0.1))
        if shape.experts:
            e, f = shape.experts, shape.expert_ffn
            # The router's scores spread wide enough that the choice of experts matters.
            writer.add_tensor(p + "ffn_gate_inp.weight", (rng.standard_normal((e, shape.dim), dtype=np.float32) * 2 * s).astype(np.float32))
            writer.add_tensor(p + "ffn_gate_exps.weight", matrix(e, f, shape.dim, scale=s))
            writer.add_tensor(p + "ffn_up_exps.weight", matrix(e, f, shape.dim, scale=s))
            writer.add_tensor(p + "ffn_down_exps.weight", matrix(e, shape.dim, f, scale=out_scale / np.sqrt(f)))
        elif a == "phi3":  # gate rows, then up rows, in ffn_up
            writer.add_tensor(p + "ffn_up.weight", matrix(2 * shape.ffn, shape.dim, scale=s))
            writer.add_tensor(p + "ffn_down.weight", matrix(shape.dim, shape.ffn, scale=out_scale / np.sqrt(shape.ffn)))
        else:
            writer.add_tensor(p + "ffn_gate.weight", matrix(shape.ffn, shape.dim, scale=s))
            writer.add_tensor(p + "ffn_up.weight", matrix(shape.ffn, shape.dim, scale=s))
            writer.add_tensor(p + "ffn_down.weight", matrix(shape.dim, shape.ffn, scale=out_scale / np.sqrt(shape.ffn)))
    writer.add_tensor("output_norm.weight", vector(shape.dim, 1.0, 0.1))
    if not shape.tied:
        writer.add_tensor("output.weight", matrix(vocab, shape.dim, scale=0.5))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
