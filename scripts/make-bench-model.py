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
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qwen2_gguf import Shape, write_qwen2  # noqa: E402
from gguf import GGUFReader  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--layers", type=int, default=24)
    parser.add_argument("--vocab", help="vocabulary-only GGUF whose tokenizer is copied")
    args = parser.parse_args()
    vocab = 151936
    if args.vocab:
        vocab = len(GGUFReader(args.vocab).fields["tokenizer.ggml.tokens"].data)
    write_qwen2(args.out, "bench-qwen2-0.5b",
                Shape(dim=896, layers=args.layers, heads=14, kv_heads=2, ffn=4864, vocab=vocab, context=4096),
                seed=5, vocab_path=args.vocab)


if __name__ == "__main__":
    main()
