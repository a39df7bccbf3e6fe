#!/usr/bin/env python3
"""Writes lmgate's demo model: a small qwen2 model (2 layers, width 128) with
Qwen2's real tokenizer and chat template (from llama.cpp's vocabulary file in
the tests' fixtures) and RANDOM weights. It is not a trained model: its
answers are gibberish. It exists so that the whole chain (TLS, authentication,
the OpenAI and Anthropic APIs, streaming) runs on a fresh machine without a
download; point lmgate at a real GGUF model (--model) for real answers.
usage: make-demo-model.py OUT.gguf"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qwen2_gguf import Shape, write_qwen2  # noqa: E402

VOCAB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                     "Tests", "BackendTests", "Fixtures", "vocab", "ggml-vocab-qwen2.gguf")


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    out = sys.argv[1]
    temporary = out + ".partial"
    write_qwen2(
        temporary, "lmgate-demo (random weights, not a trained model)",
        Shape(dim=128, layers=2, heads=4, kv_heads=2, ffn=384, vocab=151936, context=4096),
        seed=7, vocab_path=VOCAB,
        description="Made by lmgate's scripts/make-demo-model.py: Qwen2 tokenizer, random weights. "
                    "Its output is meaningless; use a real model for real answers.")
    os.replace(temporary, out)  # never leave a half-written model behind


if __name__ == "__main__":
    main()
