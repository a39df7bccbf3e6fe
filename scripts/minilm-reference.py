#!/usr/bin/env python3
"""An independent reference for all-MiniLM-L6-v2's sentence embeddings: a
plain numpy forward pass of the original Hugging Face weights
(model.safetensors, FP32, exact erf GELU) with its own BERT tokenizer
(vocab.txt with `##` continuations, not the GGUF's rewriting), mean pooling
over the attention mask and L2 normalization, as sentence-transformers
computes them. Shares no code with lmgate's Swift nor with the converter.
usage: minilm-reference.py MODEL_DIR < sentences.json > embeddings.json"""
import json
import math
import os
import sys
import unicodedata

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_numpy import load  # noqa: E402


def basic_tokens(text):
    """BERT's BasicTokenizer (lowercase, strip accents, split punctuation and CJK)."""
    text = "".join(c for c in text if not (ord(c) in (0, 0xFFFD) or unicodedata.category(c).startswith("C") and c not in "\t\n\r"))
    words = []
    for word in text.lower().split():
        word = "".join(c for c in unicodedata.normalize("NFD", word) if unicodedata.category(c) != "Mn")
        current = ""
        for c in word:
            cp = ord(c)
            punct = unicodedata.category(c).startswith("P") or (33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126)
            cjk = 0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0xF900 <= cp <= 0xFAFF
            if punct or cjk:
                if current:
                    words.append(current)
                words.append(c)
                current = ""
            else:
                current += c
        if current:
            words.append(current)
    return words


def wordpiece(words, vocab):
    ids = []
    for word in words:
        pieces, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in vocab:
                    pieces.append(vocab[piece])
                    break
                end -= 1
            if end == start:
                pieces = [vocab["[UNK]"]]
                break
            start = end
        ids.extend(pieces)
    return [vocab["[CLS]"]] + ids + [vocab["[SEP]"]]


def layer_norm(x, w, b, eps):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


def gelu(x):
    return 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))


def embed(ids, W, config):
    heads, eps = config["num_attention_heads"], config["layer_norm_eps"]
    x = W["embeddings.word_embeddings.weight"][ids] + W["embeddings.position_embeddings.weight"][: len(ids)] \
        + W["embeddings.token_type_embeddings.weight"][0]
    x = layer_norm(x, W["embeddings.LayerNorm.weight"], W["embeddings.LayerNorm.bias"], eps)
    n, d = x.shape
    hd = d // heads
    for i in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{i}."

        def linear(name, h):
            return h @ W[p + name + ".weight"].T + W[p + name + ".bias"]

        q = linear("attention.self.query", x).reshape(n, heads, hd).transpose(1, 0, 2)
        k = linear("attention.self.key", x).reshape(n, heads, hd).transpose(1, 0, 2)
        v = linear("attention.self.value", x).reshape(n, heads, hd).transpose(1, 0, 2)
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(hd)
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        scores /= scores.sum(-1, keepdims=True)
        attended = (scores @ v).transpose(1, 0, 2).reshape(n, d)
        x = layer_norm(linear("attention.output.dense", attended) + x,
                       W[p + "attention.output.LayerNorm.weight"], W[p + "attention.output.LayerNorm.bias"], eps)
        hidden = gelu(linear("intermediate.dense", x))
        x = layer_norm(linear("output.dense", hidden) + x, W[p + "output.LayerNorm.weight"], W[p + "output.LayerNorm.bias"], eps)
    pooled = x.mean(0)
    return pooled / np.linalg.norm(pooled)


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    model_dir = sys.argv[1]
    with open(os.path.join(model_dir, "config.json")) as f:
        config = json.load(f)
    with open(os.path.join(model_dir, "vocab.txt"), encoding="utf-8") as f:
        vocab = {line.rstrip("\n"): i for i, line in enumerate(f)}
    W = {name: array.astype(np.float64) for name, array in load(os.path.join(model_dir, "model.safetensors")).items()}
    sentences = json.load(sys.stdin)
    result = []
    for sentence in sentences:
        ids = wordpiece(basic_tokens(sentence), vocab)
        result.append({"tokens": ids, "embedding": embed(ids, W, config).tolist()})
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
