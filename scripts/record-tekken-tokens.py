#!/usr/bin/env python3
"""Records llama.cpp's tokens for Mistral's Tekken pre-tokenizer into
Tests/BackendTests/Fixtures/vocab/tekken-llama-tokenize.json.

llama.cpp ships no Tekken vocabulary file, so the Llama 3 vocabulary
(Fixtures/vocab/ggml-vocab-llama-bpe.gguf) is copied with
`tokenizer.ggml.pre = tekken` into a temporary file, and llama-tokenize
tokenizes, with that file, a corpus of:
  - the inputs (.inp) of every ggml-vocab test file in llama.cpp's models folder;
  - hand-written strings aimed at each branch of Tekken's expression;
  - random strings (fixed seed) built from runs of ASCII and non-ASCII
    capitals and small letters, digits and other numbers, punctuation with
    line breaks and slashes, symbols, combining marks and whitespace.
The Swift test (TokenizerTekkenReferenceTests) builds the same vocabulary
from the committed Llama 3 file and must give the same ids for every string.

  scripts/record-tekken-tokens.py [--llama-cpp DIR] [--bin DIR]
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

import gguf

ROOT = Path(__file__).resolve().parent.parent
VOCAB_DIR = ROOT / "Tests/BackendTests/Fixtures/vocab"
SOURCE_VOCAB = VOCAB_DIR / "ggml-vocab-llama-bpe.gguf"
OUTPUT = VOCAB_DIR / "tekken-llama-tokenize.json"
MARKER = "\n__ggml_vocab_test__\n"


def copy_with_pre(source: Path, destination: Path, pre: str) -> None:
    """Writes `source` again with `tokenizer.ggml.pre` set to `pre` (a vocabulary file has no tensors)."""
    reader = gguf.GGUFReader(str(source))
    arch = reader.fields["general.architecture"].contents()
    writer = gguf.GGUFWriter(str(destination), arch)
    for name, field in reader.fields.items():
        if name.startswith("GGUF.") or name == "general.architecture":
            continue
        value = pre if name == "tokenizer.ggml.pre" else field.contents()
        kind = field.types[0]
        sub = field.types[-1] if kind == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(name, value, kind, sub_type=sub)
    if len(reader.tensors) != 0:
        sys.exit(f"{source} has tensors; expected a vocabulary-only file")
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.close()


def vocab_test_inputs(models: Path) -> list[str]:
    inputs = []
    for path in sorted(models.glob("ggml-vocab-*.gguf.inp")):
        parts = path.read_text(encoding="utf-8").split(MARKER)
        inputs.extend(part for part in parts[:-1])
    return inputs


HAND_WRITTEN = [
    "HelloWorld", "XMLHttpRequest", "iPhone", "McDonald's", "ÉCOLE école ÉcoleNormale",
    "ΣίσυφοςΣΊΣΥΦΟΣ", "ǅemal ǅEMAL", "ʰello ʰELLO", "中文English混合Text", "ABCé", "éABC", "AÉB", "aÉB",
    "ALLCAPS then lower", "camelCaseIdentifierName", "snake_case_name", "kebab-case-name",
    "path/to/file.txt", "a/b//c///\n", "!!\n/\n/b", "end.\n\n/next", " /usr/bin/env", "x = y // comment\n/",
    "12345", "3.14159", "١٢٣٤ ²³ Ⅻ", "v1.2.3-beta+build.7", "$100,000.00 + 5% = ?",
    "cafe\u0301 CAFE\u0301S", "e\u0301\u0301x", "\u0301abc", "नमस्ते दुनिया", "ไทย ภาษา",
    "  leading", "trailing   ", "a\u00a0b\u2003c\u3000d", "tab\tsep\t\tx", "\r\n\r\nwindows\r\n", "\u0085next",
    "don't I'LL we've THEY'RE", "'s 's 'S", "😀 emoji 👍🏽 family 👨‍👩‍👧", "<html><body>Hi</body></html>",
    "def f(x):\n\treturn x**2  # square\n", "    \n\n  \n", "\n", " ", "", "A", "a", "1", ".",
]

PIECES = {
    "upper": list("ABCXYZ") + ["É", "Σ", "Ж", "Ǆ"],
    "lower": list("abcxyz") + ["é", "σ", "ж", "ß"],
    "title": ["ǅ", "ǈ"],
    "modifier": ["ʰ", "ˆ"],
    "other_letter": ["中", "文", "ا", "あ"],
    "digit": list("0123456789"),
    "number": ["٣", "²", "Ⅷ", "½"],
    "punct": list("!?.,;:'\"()[]{}-_*#@&%\\") + ["—", "«", "»", "。"],
    "symbol": list("$+<=>^`|~") + ["€", "©", "→"],
    "slash": ["/"],
    "newline": ["\n", "\r", "\r\n"],
    "space": [" ", " ", "  ", "\t", "\u00a0", "\u2003", "\u3000", "\u0085", "\u000b", "\u000c"],
    "mark": ["\u0301", "\u0300", "\u093f", "\u20dd"],
    "emoji": ["😀", "👍🏽"],
}


def random_strings(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    names = list(PIECES)
    result = []
    for _ in range(count):
        runs = []
        for _ in range(rng.randint(1, 8)):
            name = rng.choice(names)
            runs.append("".join(rng.choice(PIECES[name]) for _ in range(rng.randint(1, 5))))
        result.append("".join(runs))
    return result


SEPARATOR = "<|reserved_special_token_5|>"


def llama_tokenize_all(binary: Path, vocab: Path, texts: list[str], scratch: Path) -> list[list[int]]:
    """One llama-tokenize run for all texts (loading the vocabulary takes seconds):
    they are joined by a control token, which llama.cpp (parsing control
    tokens) cuts out first and tokenizes the text between it independently;
    the ids are cut at the control token's id."""
    if any(SEPARATOR in text for text in texts):
        sys.exit("a corpus string contains the separator")
    scratch.write_text(SEPARATOR.join(texts), encoding="utf-8", newline="")
    output = subprocess.run(
        [str(binary), "-m", str(vocab), "-f", str(scratch), "--ids", "--no-escape", "--no-bos", "--log-disable"],
        check=True, capture_output=True, text=True).stdout
    ids = json.loads([l for l in output.splitlines() if l.startswith("[")][-1])
    separator_id = json.loads([l for l in subprocess.run(
        [str(binary), "-m", str(vocab), "-p", SEPARATOR, "--ids", "--no-bos", "--log-disable"],
        check=True, capture_output=True, text=True).stdout.splitlines() if l.startswith("[")][-1])
    if len(separator_id) != 1:
        sys.exit(f"{SEPARATOR} is not one token: {separator_id}")
    result: list[list[int]] = [[]]
    for token in ids:
        if token == separator_id[0]:
            result.append([])
        else:
            result[-1].append(token)
    if len(result) != len(texts):
        sys.exit(f"expected {len(texts)} token lists, got {len(result)}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--llama-cpp", type=Path, default=Path.home()
                        / ".cache/llamacpp-peer/src/llama_cpp_python-0.3.36/vendor/llama.cpp")
    parser.add_argument("--bin", type=Path, default=Path.home() / ".cache/llamacpp-peer/bin")
    args = parser.parse_args()

    corpus = vocab_test_inputs(args.llama_cpp / "models") + HAND_WRITTEN + random_strings(400, seed=14)
    seen = set()
    corpus = [t for t in corpus if t and not (t in seen or seen.add(t))]
    with tempfile.TemporaryDirectory() as directory:
        vocab = Path(directory) / "ggml-vocab-tekken.gguf"
        copy_with_pre(SOURCE_VOCAB, vocab, "tekken")
        scratch = Path(directory) / "input.txt"
        ids = llama_tokenize_all(args.bin / "llama-tokenize", vocab, corpus, scratch)
        records = [{"text": t, "ids": i} for t, i in zip(corpus, ids)]
    OUTPUT.write_text(json.dumps(records, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    print(f"{len(records)} strings -> {OUTPUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
