#!/usr/bin/env python3
"""Writes Tests/BackendTests/Fixtures/quants/<type>.blocks and <type>.expected.

For each quantized type, a few rows of stored blocks (adversarial blocks
first, then random ones) and gguf-py's `dequantize` of the same bytes as
little-endian float32: the independent reference the Swift tests compare
against without running Python. Run with the project's venv:
    .venv/bin/python scripts/make-quant-fixtures.py
"""
import pathlib
import numpy as np
from gguf.constants import GGMLQuantizationType as T
from gguf.quants import dequantize

# name: (type, weights per block, bytes per block, offsets of f16 fields, columns, rows)
TYPES = {
    "q4_1": (T.Q4_1, 32, 20, [0, 2], 544, 3),
    "q5_1": (T.Q5_1, 32, 24, [0, 2], 544, 3),
    "q5_K": (T.Q5_K, 256, 176, [0, 2], 512, 6),
    "q3_K": (T.Q3_K, 256, 110, [108], 512, 6),
    "q2_K": (T.Q2_K, 256, 84, [80, 82], 512, 6),
    "iq4_nl": (T.IQ4_NL, 32, 18, [0], 544, 3),
    "iq4_xs": (T.IQ4_XS, 256, 136, [0], 512, 6),
}

F16_MAX, F16_MIN_SUBNORMAL, F16_MAX_SUBNORMAL = 0x7BFF, 0x0001, 0x03FF


def half_bits(value):
    return int(np.array([value], dtype=np.float16).view(np.uint16)[0])


def block(rng, index, size, halves):
    """Adversarial block `index` (or a random one past the special cases)."""
    if index == 0:      # every quant byte zero, largest scales
        data, h = np.zeros(size, np.uint8), [F16_MAX] * len(halves)
    elif index == 1:    # every quant bit set (all-max scales), most negative scales
        data, h = np.full(size, 0xFF, np.uint8), [F16_MAX | 0x8000] * len(halves)
    elif index == 2:    # every byte value, so every quant value, subnormal scales
        data, h = (np.arange(size) * 7 % 256).astype(np.uint8), [F16_MIN_SUBNORMAL, F16_MAX_SUBNORMAL | 0x8000][: len(halves)]
    elif index == 3:    # every byte value descending, zero and negative zero scales
        data, h = (255 - np.arange(size) % 256).astype(np.uint8), [0x0000, 0x8000][: len(halves)]
    elif index == 4:    # alternating 0x00/0xFF, largest subnormal and a max scale
        data, h = np.tile(np.array([0x00, 0xFF], np.uint8), size)[:size], [F16_MAX_SUBNORMAL, F16_MAX][: len(halves)]
    else:
        data = rng.integers(0, 256, size, dtype=np.uint8)
        h = [half_bits(rng.uniform(-0.05, 0.05)) for _ in halves]
    data = data.copy()
    for offset, bits in zip(halves, h):
        data[offset] = bits & 0xFF
        data[offset + 1] = bits >> 8
    return data


def main():
    out = pathlib.Path(__file__).resolve().parent.parent / "Tests/BackendTests/Fixtures/quants"
    out.mkdir(parents=True, exist_ok=True)
    for name, (qtype, per_block, size, halves, columns, rows) in TYPES.items():
        rng = np.random.default_rng(sum(map(ord, name)))
        count = rows * columns // per_block
        data = np.concatenate([block(rng, i, size, halves) for i in range(count)])
        expected = dequantize(data.reshape(rows, -1), qtype).astype("<f4")
        assert expected.shape == (rows, columns)
        data.tofile(out / f"{name}.blocks")
        expected.tofile(out / f"{name}.expected")


if __name__ == "__main__":
    main()
