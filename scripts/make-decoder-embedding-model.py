#!/usr/bin/env python3
"""Writes a decoder embedding model: the tests' tiny-qwen3-f16 fixture (random
weights, Qwen3's tokenizer) with `qwen3.pooling_type` set, and, as
Qwen3-Embedding's files, `<|endoftext|>` as EOS added after every input. With
--record, runs llama.cpp's `llama-server --embeddings` on it (once with the
pooling of the metadata, last token, once with `--pooling mean`) and writes
the vectors of INPUTS, asked for in one batched request, with llama.cpp's
tokens of each input, as JSON: the reference of the tests
(Tests/BackendTests/Fixtures/models/tiny-qwen3-embedding.embeddings.json).

usage: make-decoder-embedding-model.py OUT.gguf [--pooling last|mean|cls|NUMBER]
                                       [--record LLAMA_SERVER OUT.json]
                                       [--record-library LLAMA_CPP_PYTHON_SOURCE LIBLLAMA_DIR OUT.json]

--record-library records the same from llama.cpp's library (libllama, through the
ctypes bindings of the llama-cpp-python source package, the package's Python code
only) when llama-server is not built: the vectors come from the same llama.cpp
code (llama_decode with embeddings on, pooled and L2-normalized by llama.cpp's
pooling), the inputs tokenized with control tokens parsed, as the server does."""
import json
import os
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from llama_server_embeddings import embeddings  # noqa: E402

SOURCE = os.path.join(HERE, "..", "Tests", "BackendTests", "Fixtures", "models", "tiny-qwen3-f16.gguf")
POOLING = {"mean": 1, "cls": 2, "last": 3}
QWEN_ENDOFTEXT = 151643
CONTEXT = 512  # the fixture's qwen3.context_length
LONG = " ".join(f"word{i % 37} and the number {i}," for i in range(30))
INPUTS = [
    "Hello world",
    "The quick brown fox jumps over the lazy dog.",
    "Embeddings map text to vectors; similar texts, similar vectors!",
    "Ünïcödé àccents and CJK 中文 in one line",
    "a",
    "<|im_start|>user\nIs this markup or text?<|im_end|>",
    LONG,
]


# GGUF value types (the spec's numbering) and the sizes of the fixed-size ones.
UINT32, BOOL, STRING, ARRAY = 4, 7, 8, 9
FIXED_SIZE = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}


def skip_value(data, at, kind):
    """The offset after a value of GGUF type `kind` starting at `at`."""
    if kind in FIXED_SIZE:
        return at + FIXED_SIZE[kind]
    if kind == STRING:
        return at + 8 + struct.unpack_from("<Q", data, at)[0]
    if kind == ARRAY:
        item, count = struct.unpack_from("<IQ", data, at)
        at += 12
        if item in FIXED_SIZE:
            return at + count * FIXED_SIZE[item]
        for _ in range(count):
            at = skip_value(data, at, item)
        return at
    raise ValueError(f"unknown GGUF value type {kind}")


def encoded(key, kind, value):
    """One metadata entry as GGUF bytes."""
    name = key.encode()
    head = struct.pack("<Q", len(name)) + name + struct.pack("<I", kind)
    if kind == UINT32:
        return head + struct.pack("<I", value)
    if kind == BOOL:
        return head + struct.pack("<B", 1 if value else 0)
    text = value.encode()
    return head + struct.pack("<Q", len(text)) + text


def write_model(out, pooling):
    """Copies SOURCE to `out` with `qwen3.pooling_type` = `pooling` (a
    llama.cpp pooling number) and Qwen3-Embedding's EOS handling.

    The file is patched as bytes (the metadata entries copied but for the
    replaced ones, the tensor directory and data unchanged): the gguf
    package's reader takes seconds of Python over the 151k-token vocabulary,
    and an end-to-end test writes this model."""
    with open(SOURCE, "rb") as f:
        data = f.read()
    magic, version, tensor_count, kv_count = struct.unpack_from("<4sIQQ", data, 0)
    assert magic == b"GGUF" and version == 3, "the source is not a GGUF version 3 file"
    architecture = None
    kept = []
    at = 24
    for _ in range(kv_count):
        start = at
        length = struct.unpack_from("<Q", data, at)[0]
        key = data[at + 8:at + 8 + length].decode()
        kind = struct.unpack_from("<I", data, at + 8 + length)[0]
        at = skip_value(data, at + 12 + length, kind)
        if key == "general.architecture":
            architecture = data[start + 12 + length + 8:at].decode()
        kept.append((key, data[start:at]))
    directory_start = at
    for _ in range(tensor_count):
        length = struct.unpack_from("<Q", data, at)[0]
        dimensions = struct.unpack_from("<I", data, at + 8 + length)[0]
        at += 8 + length + 4 + 8 * dimensions + 4 + 8
    directory = data[directory_start:at]
    assert all(key != "general.alignment" for key, _ in kept), "the source sets its own alignment"
    alignment = 32  # GGUF's default
    data_start = (at + alignment - 1) // alignment * alignment
    replaced = {
        "general.name": (STRING, "tiny-qwen3-embedding (random weights)"),
        "tokenizer.ggml.eos_token_id": (UINT32, QWEN_ENDOFTEXT),
        "tokenizer.ggml.add_eos_token": (BOOL, True),
        f"{architecture}.pooling_type": (UINT32, pooling),
    }
    entries = [raw for key, raw in kept if key not in replaced]
    entries += [encoded(key, kind, value) for key, (kind, value) in replaced.items()]
    header = struct.pack("<4sIQQ", b"GGUF", 3, tensor_count, len(entries)) + b"".join(entries) + directory
    header += b"\0" * (-len(header) % alignment)
    temporary = out + ".partial"
    with open(temporary, "wb") as f:
        f.write(header)
        f.write(data[data_start:])
    os.replace(temporary, out)


def numpy_vectors(tokens):
    """Last-token and mean pooled, L2-normalized vectors of each token list from the numpy
    forward pass of scripts/exact_reference.py (F32): a cross-check of llama.cpp's."""
    import numpy as np
    import exact_reference
    config, tensors = exact_reference.load(SOURCE)
    last, mean = [], []
    for ids in tokens:
        states = exact_reference.hidden_states(config, tensors, np.array(ids))
        for vectors, vector in ((last, states[-1]), (mean, states.mean(0))):
            vectors.append((vector / np.linalg.norm(vector)).tolist())
    return last, mean


def min_cosine(a, b):
    import numpy as np
    return min(float(np.dot(x, y) / (np.linalg.norm(x) * np.linalg.norm(y))) for x, y in zip(a, b))


LIBRARY_RUNNER = r"""
import json, sys, types
sys.path.insert(0, sys.argv[1])
# The bindings' cache module needs diskcache, which embeddings never use.
sys.modules.setdefault("diskcache", types.ModuleType("diskcache")).Cache = object
import llama_cpp
llm = llama_cpp.Llama(model_path=sys.argv[2], embedding=True, n_ctx=512, n_batch=512, n_ubatch=512, n_threads=2,
                      verbose=False, pooling_type=int(sys.argv[3]))
tokenize = llm.tokenize
# As llama-server tokenizes an embedding input: special tokens added and control tokens parsed.
llm.tokenize = lambda text, add_bos=True, special=False: tokenize(text, add_bos, True)
texts = json.load(sys.stdin)
print(json.dumps({"tokens": [llm.tokenize(t.encode()) for t in texts], "vectors": llm.embed(texts, normalize=True)}))
"""


def run_library(source, library, model, pooling):
    """The vectors and tokens of INPUTS from libllama (pooling -1: the model's own)."""
    result = subprocess.run(
        [sys.executable, "-c", LIBRARY_RUNNER, source, model, str(pooling)], input=json.dumps(INPUTS),
        capture_output=True, text=True, check=True, env=dict(os.environ, LLAMA_CPP_LIB_PATH=library))
    body = json.loads(result.stdout)
    return body["vectors"], body["tokens"]


def record(server, out, library=None):
    """Records the reference with llama-server, or with (source, library dir) of libllama."""
    with tempfile.TemporaryDirectory() as folder:
        model = os.path.join(folder, "tiny-qwen3-embedding.gguf")
        write_model(model, POOLING["last"])
        if library:
            last, tokens = run_library(*library, model, -1)
            mean, mean_tokens = run_library(*library, model, POOLING["mean"])
            recorder = "llama.cpp's libllama (llama-cpp-python's bindings), pooling last (from the metadata) and mean"
        else:
            arguments = ["-c", str(CONTEXT), "-np", "1", "-b", str(CONTEXT), "-ub", str(CONTEXT)]
            last, tokens = embeddings(server, model, INPUTS, arguments)
            mean, mean_tokens = embeddings(server, model, INPUTS, arguments + ["--pooling", "mean"])
            recorder = "llama-server --embeddings, pooling last (from the metadata) and --pooling mean"
    assert tokens == mean_tokens
    assert max(len(t) for t in tokens) <= CONTEXT
    numpy_last, numpy_mean = numpy_vectors(tokens)
    with open(out, "w") as f:
        json.dump({"recorded_by": recorder + " (scripts/make-decoder-embedding-model.py)",
                   "llamacpp_vs_numpy_min_cosine": {"last": round(min_cosine(last, numpy_last), 7),
                                                    "mean": round(min_cosine(mean, numpy_mean), 7)},
                   "inputs": INPUTS, "tokens": tokens, "last": last, "mean": mean}, f)
        f.write("\n")


def main():
    args = sys.argv[1:]
    if not args or args[0].startswith("-"):
        raise SystemExit(__doc__)
    out, pooling, server, reference, library = args[0], POOLING["last"], None, None, None
    rest = args[1:]
    while rest:
        if rest[0] == "--pooling" and len(rest) >= 2:
            pooling = POOLING[rest[1]] if rest[1] in POOLING else int(rest[1])
            rest = rest[2:]
        elif rest[0] == "--record" and len(rest) >= 3:
            server, reference = rest[1], rest[2]
            rest = rest[3:]
        elif rest[0] == "--record-library" and len(rest) >= 4:
            library, reference = (rest[1], rest[2]), rest[3]
            rest = rest[4:]
        else:
            raise SystemExit(__doc__)
    write_model(out, pooling)
    if reference:
        record(server, reference, library)


if __name__ == "__main__":
    main()
