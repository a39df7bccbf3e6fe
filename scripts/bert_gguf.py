"""Writes bert-architecture GGUF files as llama.cpp's converter lays them
out: the shared part of make-bert-test-model.py (random weights, tests) and
convert-minilm.py (all-MiniLM-L6-v2's real weights)."""
import numpy as np
from gguf import GGMLQuantizationType, GGUFWriter, TokenType

POOLING = {"mean": 1, "cls": 2}


def bert_vocabulary(hf_tokens):
    """llama.cpp's rewriting of a BERT vocab.txt: a word-start token gets a
    leading U+2581, a `##` continuation loses its `##`, `[X]` stays."""
    tokens, types = [], []
    for token in hf_tokens:
        if token.startswith("[") and token.endswith("]"):
            tokens.append(token)
            types.append(TokenType.CONTROL)
        elif token.startswith("##"):
            tokens.append(token[2:])
            types.append(TokenType.NORMAL)
        else:
            tokens.append("\u2581" + token)
            types.append(TokenType.NORMAL)
    return tokens, types


def write_bert(path, name, config, tensors, add_tokenizer, pooling="mean", f16_names=()):
    """Writes a bert GGUF. `config`: dim, layers, heads, ffn, context, eps;
    `tensors`: llama.cpp tensor name -> numpy array in PyTorch's
    (out, in) layout; `add_tokenizer(writer)` writes the tokenizer.* keys."""
    writer = GGUFWriter(path, "bert")
    writer.add_name(name)
    writer.add_context_length(config["context"])
    writer.add_embedding_length(config["dim"])
    writer.add_block_count(config["layers"])
    writer.add_feed_forward_length(config["ffn"])
    writer.add_head_count(config["heads"])
    writer.add_layer_norm_eps(config["eps"])
    writer.add_causal_attention(False)
    writer.add_uint32("bert.pooling_type", POOLING[pooling])
    writer.add_file_type(1 if f16_names else 0)
    add_tokenizer(writer)
    for tensor_name, array in tensors.items():
        if tensor_name in f16_names:
            writer.add_tensor(tensor_name, array.astype(np.float16), raw_dtype=GGMLQuantizationType.F16)
        else:
            writer.add_tensor(tensor_name, array.astype(np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def random_bert_tensors(config, vocab, seed):
    """Seeded random weights of a bert model's every tensor."""
    rng = np.random.default_rng(seed)
    d, f = config["dim"], config["ffn"]

    def normal(*shape, scale=0.5):
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    tensors = {
        "token_embd.weight": normal(vocab, d),
        "token_types.weight": normal(2, d),
        "position_embd.weight": normal(config["context"], d),
        "token_embd_norm.weight": 1 + normal(d, scale=0.1),
        "token_embd_norm.bias": normal(d, scale=0.1),
    }
    for i in range(config["layers"]):
        b = f"blk.{i}."
        for part in ("attn_q", "attn_k", "attn_v", "attn_output"):
            tensors[b + part + ".weight"] = normal(d, d, scale=d ** -0.5)
            tensors[b + part + ".bias"] = normal(d, scale=0.1)
        tensors[b + "ffn_up.weight"] = normal(f, d, scale=d ** -0.5)
        tensors[b + "ffn_up.bias"] = normal(f, scale=0.1)
        tensors[b + "ffn_down.weight"] = normal(d, f, scale=f ** -0.5)
        tensors[b + "ffn_down.bias"] = normal(d, scale=0.1)
        for norm in ("attn_output_norm", "layer_output_norm"):
            tensors[b + norm + ".weight"] = 1 + normal(d, scale=0.1)
            tensors[b + norm + ".bias"] = normal(d, scale=0.1)
    return tensors
