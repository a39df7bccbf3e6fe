#!/usr/bin/env python3
"""Writes a GGUF model with the shape of Qwen2.5-0.5B (qwen2, dim 896, 24 layers,
14 heads, 2 KV heads, FFN 4864, vocabulary 151,936, tied embeddings) and seeded
random F16 weights. It is only for measuring speed (`lmgate bench`,
`llama-bench`, serving), which does not depend on the weights' values.

With `--vocab VOCAB.gguf` (a vocabulary-only GGUF such as llama.cpp's
models/ggml-vocab-qwen2.gguf) the tokenizer is copied from it and the
vocabulary size is its token count; llama.cpp refuses a model without a
tokenizer, lmgate's benchmark does not need one.
usage: make-bench-model.py OUT.gguf [--layers N] [--vocab VOCAB.gguf]"""
import argparse
import numpy as np
from gguf import GGUFReader, GGUFValueType, GGUFWriter

TOKENIZER_KEYS = [
    "tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.ggml.tokens",
    "tokenizer.ggml.scores", "tokenizer.ggml.token_type", "tokenizer.ggml.merges",
    "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id",
    "tokenizer.ggml.unknown_token_id", "tokenizer.ggml.padding_token_id",
    "tokenizer.ggml.add_bos_token", "tokenizer.ggml.add_eos_token",
    "tokenizer.chat_template",
]


def copy_tokenizer(writer, reader):
    """Copies the tokenizer keys present in `reader` to `writer`."""
    for key in TOKENIZER_KEYS:
        field = reader.fields.get(key)
        if field is None:
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

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--layers", type=int, default=24)
    parser.add_argument("--vocab", help="vocabulary-only GGUF whose tokenizer is copied")
    args = parser.parse_args()
    dim, heads, kv_heads, ffn, vocab = 896, 14, 2, 4864, 151936
    reader = GGUFReader(args.vocab) if args.vocab else None
    if reader is not None:
        vocab = len(reader.fields["tokenizer.ggml.tokens"].data)
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
    if reader is not None:
        writer.add_vocab_size(vocab)
        copy_tokenizer(writer, reader)
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
