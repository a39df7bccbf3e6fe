#!/usr/bin/env python3
"""Writes the tests' synthetic bert model (random weights, llama.cpp's
bert-bge vocabulary from the tests' fixtures, tiny dimensions) and, with
--llama-server, records llama.cpp's embeddings of SENTENCES from
`llama-server --embeddings --pooling mean` next to it as JSON.
usage: make-bert-test-model.py OUT.gguf [--llama-server PATH OUT.json]"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bert_gguf import random_bert_tensors, write_bert  # noqa: E402
from qwen2_gguf import copy_tokenizer  # noqa: E402
from llama_server_embeddings import embeddings  # noqa: E402

VOCAB = os.path.join(HERE, "..", "Tests", "BackendTests", "Fixtures", "vocab", "ggml-vocab-bert-bge.gguf")
CONFIG = {"dim": 24, "layers": 2, "heads": 3, "ffn": 48, "context": 64, "eps": 1e-12}
VOCAB_SIZE = 30522
SENTENCES = [
    "Hello world",
    "The quick brown fox jumps over the lazy dog.",
    "Embeddings map text to vectors; similar texts, similar vectors!",
    "Ünïcödé àccents and CJK 中文 are split as BERT does",
    "a",
    "unaffable tokenization of don't and 3.14159",
]


def write_model(out):
    temporary = out + ".partial"
    tensors = random_bert_tensors(CONFIG, VOCAB_SIZE, seed=16)
    write_bert(temporary, "lmgate bert test model (random weights)", CONFIG, tensors,
               lambda writer: copy_tokenizer(writer, VOCAB), pooling="mean",
               f16_names={"token_embd.weight"})
    os.replace(temporary, out)


def record(model, server, out):
    vectors, tokens = embeddings(
        server, model, SENTENCES,
        ["--pooling", "mean", "-c", str(CONFIG["context"] * len(SENTENCES)), "-ub", "512", "-b", "512"])
    with open(out, "w") as f:
        json.dump({"recorded_by": "llama-server --embeddings --pooling mean (scripts/make-bert-test-model.py)",
                   "inputs": SENTENCES, "tokens": tokens, "embeddings": vectors}, f)
        f.write("\n")


def main():
    args = sys.argv[1:]
    if len(args) not in (1, 4) or (len(args) == 4 and args[1] != "--llama-server"):
        raise SystemExit(__doc__)
    write_model(args[0])
    if len(args) == 4:
        record(args[0], args[2], args[3])


if __name__ == "__main__":
    main()
