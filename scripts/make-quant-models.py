#!/usr/bin/env python3
"""Writes Tests/BackendTests/Fixtures/quants/tiny-llama-spm-<type>.gguf:
the tiny F16 llama fixture with every matrix re-quantized by gguf-py to
Q4_1 and Q5_1 (the 32-weight types gguf-py can quantize; the fixture's
64-wide rows are too short for the 256-weight K-quants), and beside each
`tiny-llama-spm-<type>.exact.json`: the F16 fixture's reference cases with
the exact F32 top-5 log-probabilities of the re-quantized model (its weights
dequantized by gguf-py), from the numpy forward pass in the directory given
as the first argument (the peers' tools' `numpy_reference.py`). Run with the
project's venv:
    .venv/bin/python scripts/make-quant-models.py PATH/TO/TOOLS
"""
import json
import pathlib
import sys
import numpy as np
from gguf import GGUFReader, GGUFWriter, GGUFValueType, GGMLQuantizationType as T, LlamaFileType as F
from gguf.quants import quantize, dequantize

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOURCE = ROOT / "Tests/BackendTests/Fixtures/models/tiny-llama-spm-f16.gguf"
TARGETS = {"q4_1": (T.Q4_1, F.MOSTLY_Q4_1), "q5_1": (T.Q5_1, F.MOSTLY_Q5_1)}


def main():
    reader = GGUFReader(SOURCE)
    architecture = reader.fields["general.architecture"].contents()
    for name, (qtype, file_type) in TARGETS.items():
        out = ROOT / f"Tests/BackendTests/Fixtures/quants/tiny-llama-spm-{name}.gguf"
        writer = GGUFWriter(out, architecture)
        for key, field in reader.fields.items():
            if key.startswith("GGUF.") or key == "general.architecture":
                continue
            value = file_type.value if key == "general.file_type" else field.contents()
            vtype = field.types[0]
            sub_type = field.types[-1] if vtype == GGUFValueType.ARRAY else None
            writer.add_key_value(key, value, vtype, sub_type=sub_type)
        for tensor in reader.tensors:
            data = dequantize(tensor.data, tensor.tensor_type).astype(np.float32)
            if data.ndim == 2:
                writer.add_tensor(tensor.name, quantize(data, qtype), raw_dtype=qtype)
            else:
                writer.add_tensor(tensor.name, data)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        write_exact(out, ROOT / "Tests/BackendTests/Fixtures/models/tiny-llama-spm-f16.reference.json")


def write_exact(model, reference):
    """Exact top-5 log-probabilities of `model` at each generated position of `reference`'s cases."""
    sys.path.insert(0, sys.argv[1])
    import numpy_reference
    config, tensors = numpy_reference.load(str(model))
    cases = []
    for case in json.loads(reference.read_text())["cases"]:
        tokens = case["prompt_tokens"] + case["generated_tokens"]
        log_probs = numpy_reference.forward(config, tensors, np.array(tokens))
        first = len(case["prompt_tokens"]) - 1
        top = []
        for row in log_probs[first:first + len(case["generated_tokens"])]:
            top.append([[int(t), round(float(row[t]), 6)] for t in np.argsort(-row)[:5]])
        cases.append({"prompt": case["prompt"], "prompt_tokens": case["prompt_tokens"], "generated_tokens": case["generated_tokens"], "exact_top": top})
    model.with_suffix(".exact.json").write_text(json.dumps({"cases": cases}, indent=1))


if __name__ == "__main__":
    main()
