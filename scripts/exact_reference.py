#!/usr/bin/env python3
"""Exact F32 forward pass of a llama/qwen2/qwen3/qwen3moe GGUF in numpy (weights dequantized with
gguf-py), teacher-forced over a reference JSON written by reference_outputs.py; adds `exact_top` to
each case and `llamacpp_vs_exact` (how far llama.cpp itself is from exact) to the file.
Extends the numpy reference of the lab's tools with: attention.key_length (heads wider than
dim / heads), Qwen3's per-head Q/K RMSNorm, Qwen3-MoE's experts (softmax router, top-k,
renormalized weights), Llama 3.1's rope_freqs.weight and linear RoPE scaling, SmolLM3's NoPE layers,
mistral3's text part (llama's block), phi3's fused attn_qkv and ffn_up, YaRN and LongRoPE scaling,
Llama 4's attention temperature (Ministral 3), gemma3 (embedding scaled by sqrt(dim), post-attention
and post-FFN norms, GeGLU with tanh GELU, sliding-window layers in llama.cpp's pattern of 6 with their
own RoPE base and no scaling, final logit soft-capping).
usage: exact_reference.py MODEL.gguf MODEL.reference.json
       exact_reference.py MODEL.gguf --random-sequences MODEL.exact.json"""
import sys, json, numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize

def load(path):
    r = GGUFReader(path)
    arch = bytes(r.fields["general.architecture"].parts[-1]).decode()
    def kv(k):
        f = r.fields.get(f"{arch}.{k}")
        return None if f is None else f.parts[f.data[0]].tolist()[0]
    cfg = dict(arch=arch, dim=kv("embedding_length"), layers=kv("block_count"), heads=kv("attention.head_count"),
               kv_heads=kv("attention.head_count_kv"), eps=kv("attention.layer_norm_rms_epsilon"),
               base=kv("rope.freq_base") or 10000.0, head_dim=kv("attention.key_length"),
               experts=kv("expert_count"), experts_used=kv("expert_used_count"),
               expert_norm=kv("expert_weights_norm"), expert_scale=kv("expert_weights_scale") or 0.0,
               scaling=None if r.fields.get(f"{arch}.rope.scaling.type") is None
               else bytes(r.fields[f"{arch}.rope.scaling.type"].parts[-1]).decode(),
               scaling_factor=kv("rope.scaling.factor") or 1.0, context=kv("context_length"),
               rope_dims=kv("rope.dimension_count"),
               original_context=kv("rope.scaling.original_context_length") or kv("context_length"),
               beta_fast=kv("rope.scaling.yarn_beta_fast") or 32.0, beta_slow=kv("rope.scaling.yarn_beta_slow") or 1.0,
               log_mul=kv("rope.scaling.yarn_log_multiplier") or 0.0, attn_factor=kv("rope.scaling.attn_factor") or 1.0,
               temperature=kv("attention.temperature_scale") or 0.0,
               window=kv("attention.sliding_window") or 0, base_swa=kv("rope.freq_base_swa") or 10000.0,
               softcap=kv("final_logit_softcapping") or 0.0)
    T = {}
    for t in r.tensors:
        a = dequantize(t.data, t.tensor_type).astype(np.float32)
        shape = [int(x) for x in reversed(t.shape)]
        T[t.name] = a.reshape(shape)
    return cfg, T

def experts(cfg, T, p, h):
    """Qwen3-MoE's feed-forward: softmax over the router's scores, the top expert_used_count
    experts, their probabilities renormalized (expert_weights_norm, true when absent) and scaled."""
    scores = h @ T[p + "ffn_gate_inp.weight"].T                      # [n, experts]
    probs = np.exp(scores - scores.max(-1, keepdims=True)); probs /= probs.sum(-1, keepdims=True)
    out = np.zeros_like(h)
    for t in range(h.shape[0]):
        chosen = np.argsort(-probs[t], kind="stable")[:cfg["experts_used"]]
        w = probs[t, chosen]
        if cfg["expert_norm"] is None or cfg["expert_norm"]:
            w = w / max(w.sum(), 6.103515625e-5)
        if cfg["expert_scale"] not in (0.0, 1.0):
            w = w * cfg["expert_scale"]
        for e, we in zip(chosen, w):
            g = T[p + "ffn_gate_exps.weight"][e] @ h[t]; u = T[p + "ffn_up_exps.weight"][e] @ h[t]
            out[t] += we * (T[p + "ffn_down_exps.weight"][e] @ ((g / (1 + np.exp(-g))) * u))
    return out

def rope_frequencies(cfg, T, hd):
    """The per-pair inverse frequencies and the factor cos/sin are multiplied by. Written from the
    papers' and transformers' formulations (YaRN: arXiv 2309.00071; LongRoPE: Phi-3's su scaling),
    with the GGUF keys as llama.cpp reads them: the factor divides the frequencies (linear: all of
    them; YaRN: a ramp between the pairs whose wavelength fits beta_fast and beta_slow times into the
    original context, extrapolated below, interpolated above; magnitude 0.1 ln(factor) + 1, divided by
    0.1 * yarn_log_multiplier * ln(factor) + 1 when given), times rope.scaling.attn_factor; LongRoPE
    divides each frequency by its long factor when the context length is beyond the original one,
    else by its short factor."""
    d = cfg["rope_dims"] or hd
    extrapolated = 1.0 / (cfg["base"] ** (np.arange(0, d, 2, dtype=np.float64) / d))
    if "rope_freqs.weight" in T:                 # llama 3.1: per-frequency factors divide the frequencies
        extrapolated = extrapolated / T["rope_freqs.weight"].reshape(-1)
    elif "rope_factors_long.weight" in T:        # LongRoPE
        which = "long" if cfg["context"] > cfg["original_context"] else "short"
        extrapolated = extrapolated / T[f"rope_factors_{which}.weight"].reshape(-1)
    mscale = cfg["attn_factor"]
    kind = cfg["scaling"] or ("linear" if cfg["scaling_factor"] != 1.0 else "none")
    factor = 1.0 if kind == "none" else cfg["scaling_factor"]
    interpolated = extrapolated / factor
    if kind != "yarn":
        inv = interpolated
    else:
        def correction_dim(rotations):           # the pair index whose wavelength fits `rotations` times
            return (d * np.log(cfg["original_context"] / (rotations * 2 * np.pi))) / (2 * np.log(cfg["base"]))
        low = max(np.floor(correction_dim(cfg["beta_fast"])), 0)
        high = min(np.ceil(correction_dim(cfg["beta_slow"])), d - 1)
        if low == high:
            high += 0.001
        ramp = np.clip((np.arange(d // 2, dtype=np.float64) - low) / (high - low), 0, 1)
        keep = 1 - ramp                          # 1: extrapolated (high frequencies), 0: interpolated
        inv = interpolated * (1 - keep) + extrapolated * keep
        def m(scale, mul): return 1.0 if scale <= 1 else 0.1 * mul * np.log(scale) + 1.0
        mscale *= m(factor, 1.0) / m(factor, cfg["log_mul"]) if cfg["log_mul"] else m(factor, 1.0)
    assert d == hd, "partial rotation is not modelled here"
    return inv, mscale

def forward(cfg, T, toks):
    """Log-probabilities of the next token at every position of `toks`."""
    x = hidden_states(cfg, T, toks)
    out = T.get("output.weight", T["token_embd.weight"])
    logits = x @ out.T
    if cfg["softcap"]:
        logits = cfg["softcap"] * np.tanh(logits / cfg["softcap"])
    m = logits.max(-1, keepdims=True)
    return logits - m - np.log(np.exp(logits - m).sum(-1, keepdims=True))

def hidden_states(cfg, T, toks):
    """The final hidden states of `toks` ([n, dim], after output_norm): what an embedding model pools."""
    d, H, KV = cfg["dim"], cfg["heads"], cfg["kv_heads"]; hd = cfg["head_dim"] or d // H
    gemma = cfg["arch"] == "gemma3"
    x = T["token_embd.weight"][toks]            # [n, d]
    if gemma:                                    # Gemma scales the embedding by sqrt(dim)
        x = x * np.sqrt(np.float32(d))
    n = len(toks)
    pos = np.arange(n)
    def sliding(i):                              # gemma3: of every 6 layers the first 5 slide
        return gemma and cfg["window"] > 0 and i % 6 < 5
    def angles(i):
        if sliding(i):                           # gemma3's sliding layers: their own base, no scaling
            inv, mscale = cfg["base_swa"] ** (-np.arange(0, hd, 2) / hd), 1.0
        else:
            inv, mscale = rope_frequencies(cfg, T, hd)
        ang = pos[:, None] * inv[None, :]       # [n, hd/2]
        return np.cos(ang) * mscale, np.sin(ang) * mscale
    if cfg["temperature"]:                       # Llama 4's attention temperature (Ministral 3): queries only
        q_temp = 1 + cfg["temperature"] * np.log(1 + np.floor(pos / cfg["original_context"]))
    else:
        q_temp = np.ones(n)
    def rope(q, cos, sin):                       # q: [n, h, hd]
        if cfg["arch"] in ("qwen2", "qwen3", "qwen3moe", "phi3", "gemma3"):  # neox: pairs (i, i+hd/2)
            a, b = q[..., :hd // 2], q[..., hd // 2:]
            return np.concatenate([a * cos[:, None] - b * sin[:, None], a * sin[:, None] + b * cos[:, None]], -1)
        a, b = q[..., 0::2], q[..., 1::2]
        out = np.empty_like(q); out[..., 0::2] = a * cos[:, None] - b * sin[:, None]; out[..., 1::2] = a * sin[:, None] + b * cos[:, None]
        return out
    def rms(v, w): return v / np.sqrt((v * v).mean(-1, keepdims=True) + cfg["eps"]) * w
    for i in range(cfg["layers"]):
        p = f"blk.{i}."
        h = rms(x, T[p + "attn_norm.weight"])
        if p + "attn_qkv.weight" in T:           # phi3: query, key and value rows in one matrix
            qkv = h @ T[p + "attn_qkv.weight"].T
            q, k, v = qkv[:, :H * hd], qkv[:, H * hd:(H + KV) * hd], qkv[:, (H + KV) * hd:]
        else:
            q = h @ T[p + "attn_q.weight"].T; k = h @ T[p + "attn_k.weight"].T; v = h @ T[p + "attn_v.weight"].T
        if p + "attn_q.bias" in T: q += T[p + "attn_q.bias"]; k += T[p + "attn_k.bias"]; v += T[p + "attn_v.bias"]
        q = q.reshape(n, H, hd); k = k.reshape(n, KV, hd); v = v.reshape(n, KV, hd)
        if p + "attn_q_norm.weight" in T:      # qwen3: RMSNorm over each head before RoPE
            q = rms(q, T[p + "attn_q_norm.weight"]); k = rms(k, T[p + "attn_k_norm.weight"])
        if not (cfg["arch"] == "smollm3" and (i + 1) % 4 == 0):  # smollm3: NoPE in every fourth layer
            cos, sin = angles(i)
            q = rope(q, cos, sin) * q_temp[:, None, None]; k = rope(k, cos, sin)
        rep = H // KV; k = np.repeat(k, rep, 1); v = np.repeat(v, rep, 1)
        s = np.einsum("qhd,khd->hqk", q, k) / np.sqrt(hd)
        s += np.triu(np.full((n, n), -np.inf), 1)[None]
        if sliding(i):                           # a query sees its own position and the window - 1 before it
            s += np.tril(np.full((n, n), -np.inf), -cfg["window"])[None]
        s = np.exp(s - s.max(-1, keepdims=True)); s /= s.sum(-1, keepdims=True)
        o = np.einsum("hqk,khd->qhd", s, v).reshape(n, H * hd)
        o = o @ T[p + "attn_output.weight"].T
        if gemma:
            o = rms(o, T[p + "post_attention_norm.weight"])
        x = x + o
        h = rms(x, T[p + "ffn_norm.weight"])
        if gemma:                                # GeGLU (tanh GELU), then the post-FFN norm
            g = h @ T[p + "ffn_gate.weight"].T; u = h @ T[p + "ffn_up.weight"].T
            gelu = 0.5 * g * (1 + np.tanh(np.sqrt(2 / np.pi) * (g + 0.044715 * g ** 3)))
            x = x + rms((gelu * u) @ T[p + "ffn_down.weight"].T, T[p + "post_ffw_norm.weight"])
        elif p + "ffn_gate_inp.weight" in T:
            x = x + experts(cfg, T, p, h)
        elif p + "ffn_gate.weight" not in T:     # phi3: gate rows, then up rows, in ffn_up
            gu = h @ T[p + "ffn_up.weight"].T; g, u = np.split(gu, 2, axis=-1)
            x = x + ((g / (1 + np.exp(-g))) * u) @ T[p + "ffn_down.weight"].T
        else:
            g = h @ T[p + "ffn_gate.weight"].T; u = h @ T[p + "ffn_up.weight"].T
            x = x + ((g / (1 + np.exp(-g))) * u) @ T[p + "ffn_down.weight"].T
    return rms(x, T["output_norm.weight"])

def random_sequences(model, out, seed=7, lengths=(40, 90)):
    """Writes the exact top-5 log-probabilities at every position of seeded random token
    sequences (longer than a small sliding window): a check of the forward pass that needs no
    llama.cpp references."""
    cfg, T = load(model)
    rng = np.random.default_rng(seed)
    vocab = T["token_embd.weight"].shape[0]
    sequences = []
    for n in lengths:
        toks = [2] + [int(t) for t in rng.integers(0, vocab, n - 1)]
        lp = forward(cfg, T, np.array(toks))
        top = [[[int(t), round(float(row[t]), 6)] for t in np.argsort(-row)[:5]] for row in lp]
        sequences.append({"tokens": toks, "exact_top": top})
    json.dump({"exact": "F32 forward pass of scripts/exact_reference.py on weights dequantized by gguf-py; "
                        "top 5 log-probabilities at every position of seeded random token sequences",
               "sequences": sequences}, open(out, "w"), indent=1)

def main():
    """Annotate a reference JSON with the exact F32 distributions and llama.cpp's distance from them."""
    if len(sys.argv) == 4 and sys.argv[2] == "--random-sequences":
        return random_sequences(sys.argv[1], sys.argv[3])
    cfg, T = load(sys.argv[1]); path = sys.argv[2]; ref = json.load(open(path))
    devs = []; top1_miss = 0; total = 0
    for c in ref["cases"]:
        toks = c["prompt_tokens"] + c["generated_tokens"]
        lp = forward(cfg, T, np.array(toks))
        P = len(c["prompt_tokens"])
        exact = []
        for j in range(len(c["generated_tokens"])):
            row = lp[P - 1 + j]
            top = np.argsort(-row)[:5]
            exact.append([[int(t), round(float(row[t]), 6)] for t in top])
            st = c["llamacpp_steps"][j]
            if st is None:
                continue
            total += 1
            if int(top[0]) != st["top"][0][0]:
                top1_miss += 1
            devs += [abs(float(row[tok]) - l) for tok, l in st["top"]]
        c["exact_top"] = exact
    d = np.array(devs)
    ref["exact"] = ("teacher-forced over prompt_tokens + generated_tokens; F32 arithmetic on weights "
                    "dequantized by gguf-py (ggml's reference dequantization); top 5 per generated position")
    ref["llamacpp_vs_exact"] = {"steps": total, "top1_disagreements": top1_miss,
                                "median": round(float(np.median(d)), 6), "p95": round(float(np.percentile(d, 95)), 6),
                                "max": round(float(d.max()), 6)}
    json.dump(ref, open(path, "w"), indent=1, ensure_ascii=False)
    print(sys.argv[1].split("/")[-1], ref["llamacpp_vs_exact"])

if __name__ == "__main__":
    main()
