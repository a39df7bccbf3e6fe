#!/usr/bin/env python3
"""Writes a GGUF model with the shape of Qwen2.5-0.5B (qwen2, dim 896, 24 layers,
14 heads, 2 KV heads, FFN 4864, vocabulary 151,936, tied embeddings) and seeded
random F16 weights. It has no tokenizer: it is only for measuring speed
(`lmgate bench`, `llama-bench`), which does not depend on the weights' values.
usage: make-bench-model.py OUT.gguf [--layers N]"""
import argparse
import numpy as np
from gguf import GGUFWriter

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--layers", type=int, default=24)
    args = parser.parse_args()
    dim, heads, kv_heads, ffn, vocab = 896, 14, 2, 4864, 151936
    head_dim = dim // heads
    kv_dim = kv_heads * head_dim
    rng = np.random.default_rng(5)

    def matrix(rows, columns, scale):
        return (rng.standard_normal((rows, columns), dtype=np.float32) * scale).astype(np.float16)

    def vector(length, mean, spread):
        return (mean + rng.standard_normal(length, dtype=np.float32) * spread).astype(np.float32)

    writer = GGUFWriter(args.out, "qwen2")
    writer.add_name("bench-qwen2-0.5b")
    writer.add_context_length(4096)
    writer.add_embedding_length(dim)
    writer.add_block_count(args.layers)
    writer.add_feed_forward_length(ffn)
    writer.add_head_count(heads)
    writer.add_head_count_kv(kv_heads)
    writer.add_rope_freq_base(1000000.0)
    writer.add_layer_norm_rms_eps(1e-6)
    writer.add_rope_dimension_count(head_dim)
    writer.add_file_type(1)
    scale = 1 / np.sqrt(dim)
    writer.add_tensor("token_embd.weight", matrix(vocab, dim, 0.5))
    for layer in range(args.layers):
        p = f"blk.{layer}."
        writer.add_tensor(p + "attn_norm.weight", vector(dim, 1.0, 0.1))
        writer.add_tensor(p + "attn_q.weight", matrix(dim, dim, scale))
        writer.add_tensor(p + "attn_k.weight", matrix(kv_dim, dim, scale))
        writer.add_tensor(p + "attn_v.weight", matrix(kv_dim, dim, scale))
        writer.add_tensor(p + "attn_q.bias", vector(dim, 0.0, 0.1))
        writer.add_tensor(p + "attn_k.bias", vector(kv_dim, 0.0, 0.1))
        writer.add_tensor(p + "attn_v.bias", vector(kv_dim, 0.0, 0.1))
        writer.add_tensor(p + "attn_output.weight", matrix(dim, dim, scale))
        writer.add_tensor(p + "ffn_norm.weight", vector(dim, 1.0, 0.1))
        writer.add_tensor(p + "ffn_gate.weight", matrix(ffn, dim, scale))
        writer.add_tensor(p + "ffn_up.weight", matrix(ffn, dim, scale))
        writer.add_tensor(p + "ffn_down.weight", matrix(dim, ffn, 1 / np.sqrt(ffn)))
    writer.add_tensor("output_norm.weight", vector(dim, 1.0, 0.1))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()

if __name__ == "__main__":
    main()
