"""Writes qwen2-architecture GGUF models with seeded random weights: the
shared part of make-demo-model.py (a small model with a real tokenizer) and
make-bench-model.py (Qwen2.5-0.5B's shape, for speed only)."""
from dataclasses import dataclass
import numpy as np
from gguf import GGUFReader, GGUFValueType, GGUFWriter


@dataclass
class Shape:
    dim: int
    layers: int
    heads: int
    kv_heads: int
    ffn: int
    vocab: int
    context: int


def copy_tokenizer(writer, vocab_path, skip=()):
    """Copies every tokenizer.* key of a vocabulary GGUF (llama.cpp's
    ggml-vocab-*.gguf) but those in `skip` into the model being written,
    with its GGUF types unchanged; returns the vocabulary size."""
    reader = GGUFReader(vocab_path)
    for key, field in reader.fields.items():
        if not key.startswith("tokenizer.") or key in skip:
            continue
        kind = field.types[0]
        if kind == GGUFValueType.ARRAY:
            sub = field.types[1]
            if sub == GGUFValueType.STRING:
                values = [bytes(field.parts[i]).decode("utf-8", errors="surrogateescape") for i in field.data]
            else:
                values = [field.parts[i].tolist()[0] for i in field.data]
            writer.add_key_value(key, values, kind, sub_type=sub)
        elif kind == GGUFValueType.STRING:
            writer.add_key_value(key, bytes(field.parts[field.data[0]]).decode("utf-8"), kind)
        else:
            writer.add_key_value(key, field.parts[field.data[0]].tolist()[0], kind)
    return len(reader.fields["tokenizer.ggml.tokens"].data)


def write_qwen2(path, name, shape, seed=5, vocab_path=None, description=None):
    """Writes an F16 qwen2 model; with vocab_path, its tokenizer too."""
    head_dim = shape.dim // shape.heads
    kv_dim = shape.kv_heads * head_dim
    rng = np.random.default_rng(seed)

    def matrix(rows, columns, scale):
        return (rng.standard_normal((rows, columns), dtype=np.float32) * scale).astype(np.float16)

    def vector(length, mean, spread):
        return (mean + rng.standard_normal(length, dtype=np.float32) * spread).astype(np.float32)

    writer = GGUFWriter(path, "qwen2")
    writer.add_name(name)
    if description:
        writer.add_description(description)
    if vocab_path:
        size = copy_tokenizer(writer, vocab_path)
        if size != shape.vocab:
            raise SystemExit(f"{vocab_path} has {size} tokens, the shape says {shape.vocab}")
        writer.add_vocab_size(size)
    writer.add_context_length(shape.context)
    writer.add_embedding_length(shape.dim)
    writer.add_block_count(shape.layers)
    writer.add_feed_forward_length(shape.ffn)
    writer.add_head_count(shape.heads)
    writer.add_head_count_kv(shape.kv_heads)
    writer.add_rope_freq_base(1000000.0)
    writer.add_layer_norm_rms_eps(1e-6)
    writer.add_rope_dimension_count(head_dim)
    writer.add_file_type(1)
    scale = 1 / np.sqrt(shape.dim)
    writer.add_tensor("token_embd.weight", matrix(shape.vocab, shape.dim, 0.5))
    for layer in range(shape.layers):
        p = f"blk.{layer}."
        writer.add_tensor(p + "attn_norm.weight", vector(shape.dim, 1.0, 0.1))
        writer.add_tensor(p + "attn_q.weight", matrix(shape.dim, shape.dim, scale))
        writer.add_tensor(p + "attn_k.weight", matrix(kv_dim, shape.dim, scale))
        writer.add_tensor(p + "attn_v.weight", matrix(kv_dim, shape.dim, scale))
        writer.add_tensor(p + "attn_q.bias", vector(shape.dim, 0.0, 0.1))
        writer.add_tensor(p + "attn_k.bias", vector(kv_dim, 0.0, 0.1))
        writer.add_tensor(p + "attn_v.bias", vector(kv_dim, 0.0, 0.1))
        writer.add_tensor(p + "attn_output.weight", matrix(shape.dim, shape.dim, scale))
        writer.add_tensor(p + "ffn_norm.weight", vector(shape.dim, 1.0, 0.1))
        writer.add_tensor(p + "ffn_gate.weight", matrix(shape.ffn, shape.dim, scale))
        writer.add_tensor(p + "ffn_up.weight", matrix(shape.ffn, shape.dim, scale))
        writer.add_tensor(p + "ffn_down.weight", matrix(shape.dim, shape.ffn, 1 / np.sqrt(shape.ffn)))
    writer.add_tensor("output_norm.weight", vector(shape.dim, 1.0, 0.1))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
