"""Reads a .safetensors file into numpy arrays (the format is a little-endian
u64 header length, a JSON header of dtype/shape/offsets, then the raw data),
so that the scripts need no torch or safetensors package."""
import json
import struct

import numpy as np

DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": None, "I64": np.int64}


def load(path):
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
        data = f.read()
    arrays = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        dtype = DTYPES[info["dtype"]]
        if dtype is None:  # bfloat16: the high half of a float32
            raw = np.frombuffer(data[start:end], dtype=np.uint16).astype(np.uint32) << 16
            array = raw.view(np.float32)
        else:
            array = np.frombuffer(data[start:end], dtype=dtype)
        arrays[name] = array.reshape(info["shape"]).astype(np.float32)
    return arrays
