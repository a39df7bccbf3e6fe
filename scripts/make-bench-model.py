#!/usr/bin/env python3
"""Writes a GGUF model with seeded random F16 weights, only for measuring speed
(`lmgate bench`, `llama-bench`, serving), which does not depend on the
weights' values:

- `--arch qwen2` (default): the shape of Qwen2.5-0.5B (dim 896, 24 layers,
  14 heads, 2 KV heads, FFN 4864, vocabulary 151,936, tied embeddings);
- `--arch qwen3moe`: a Qwen3-30B-A3B-shaped mixture of experts scaled down
  to run in seconds (dim 768, 12 layers, 12 heads of 64, 4 KV heads,
  8 experts of width 1024 of which 2 run per token, Q/K head norms, tied
  embeddings; ~360 M parameters, ~110 M of them read per token).

With `--vocab VOCAB.gguf` (a vocabulary-only GGUF such as llama.cpp's
models/ggml-vocab-qwen2.gguf) the tokenizer is copied from it and the
vocabulary size is its token count; llama.cpp refuses a model without a
tokenizer, lmgate's benchmark does not need one.
usage: make-bench-model.py OUT.gguf [--arch qwen2|qwen3moe] [--layers N] [--vocab VOCAB.gguf]"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qwen2_gguf import Shape, write_qwen2  # noqa: E402
from arch_gguf import ArchShape, write_model  # noqa: E402
from gguf import GGUFReader  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--arch", choices=["qwen2", "qwen3moe"], default="qwen2")
    parser.add_argument("--layers", type=int)
    parser.add_argument("--vocab", help="vocabulary-only GGUF whose tokenizer is copied")
    args = parser.parse_args()
    if args.arch == "qwen3moe":
        if not args.vocab:
            raise SystemExit("--arch qwen3moe needs --vocab (the model is written with its tokenizer)")
        shape = ArchShape(arch="qwen3moe", dim=768, layers=args.layers or 12, heads=12, kv_heads=4, head_dim=64,
                          ffn=2048, context=4096, experts=8, experts_used=2, expert_ffn=1024)
        write_model(args.out, "bench-qwen3moe-8x2", shape, seed=5, vocab_path=args.vocab)
        return
    vocab = 151936
    if args.vocab:
        vocab = len(GGUFReader(args.vocab).fields["tokenizer.ggml.tokens"].data)
    write_qwen2(args.out, "bench-qwen2-0.5b",
                Shape(dim=896, layers=args.layers or 24, heads=14, kv_heads=2, ffn=4864, vocab=vocab, context=4096),
                seed=5, vocab_path=args.vocab)


if __name__ == "__main__":
    main()
