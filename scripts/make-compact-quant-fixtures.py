#!/usr/bin/env python3
"""Writes Tests/BackendTests/Fixtures/models/compact-llama-spm-<type>.gguf and
its `.reference.json` for the quantization types llama.cpp's own
`llama-quantize` must check lmgate against: Q5_K (Q5_K_S), Q3_K (Q3_K_M),
Q2_K, IQ4_NL, IQ4_XS, Q5_0, Q4_1 and Q5_1.

Each starts from one compact F32 llama model (llama-spm vocabulary, dim 256,
2 layers, 4 heads, 2 kv heads, ffn 512, tied output, seed 14, out-scale 8 as
the other compact fixtures), quantized by llama-quantize with the token
embedding (which is also the tied output) in the same type, so each file stays
a few MB. llama.cpp's references come from the peers' `reference_outputs.py`
(running `llama-server`), the exact F32 ones from `numpy_reference.py`.

Run with the project's venv (gguf, numpy):
    .venv/bin/python scripts/make-compact-quant-fixtures.py TOOLS_DIR LLAMA_BIN_DIR VOCAB.gguf [TYPE...]
TOOLS_DIR holds make_test_model.py, reference_outputs.py and numpy_reference.py;
LLAMA_BIN_DIR holds llama-quantize and llama-server (and their shared libraries);
VOCAB.gguf is llama.cpp's ggml-vocab-llama-spm.gguf.
"""
import os
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "Tests/BackendTests/Fixtures/models"
# fixture suffix -> (llama-quantize file type, ggml type of the token embedding / output)
TYPES = {
    "q5_k_s": ("Q5_K_S", "q5_K"),
    "q3_k_m": ("Q3_K_M", "q3_K"),
    "q2_k": ("Q2_K", "q2_K"),
    "iq4_nl": ("IQ4_NL", "iq4_nl"),
    "iq4_xs": ("IQ4_XS", "iq4_xs"),
    "q5_0": ("Q5_0", "q5_0"),
    "q4_1": ("Q4_1", "q4_1"),
    "q5_1": ("Q5_1", "q5_1"),
}


def run(*args, env=None):
    print("+", " ".join(str(a) for a in args), flush=True)
    subprocess.run([str(a) for a in args], check=True, env=env)


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    tools, bin_dir, vocab = (pathlib.Path(a).resolve() for a in sys.argv[1:4])
    wanted = sys.argv[4:] or list(TYPES)
    env = dict(os.environ, LD_LIBRARY_PATH=str(bin_dir))
    python = sys.executable
    with tempfile.TemporaryDirectory() as scratch:
        f32 = pathlib.Path(scratch) / "compact-llama-spm-f32.gguf"
        run(python, tools / "make_test_model.py", vocab, f32, "--f32", "--dim", 256, "--layers", 2,
            "--heads", 4, "--kv-heads", 2, "--ffn", 512, "--seed", 14, "--out-scale", 8,
            "--name", "compact-llama-spm")
        for name in wanted:
            file_type, embedding_type = TYPES[name]
            model = OUT_DIR / f"compact-llama-spm-{name}.gguf"
            reference = OUT_DIR / f"compact-llama-spm-{name}.reference.json"
            run(bin_dir / "llama-quantize", "--token-embedding-type", embedding_type,
                "--output-tensor-type", embedding_type, f32, model, file_type, 2, env=env)
            run(python, tools / "reference_outputs.py", bin_dir / "llama-server", model, reference, env=env)
            run(python, tools / "numpy_reference.py", model, reference)


if __name__ == "__main__":
    main()
