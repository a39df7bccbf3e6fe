#!/usr/bin/env python3
"""Writes Tests/BackendTests/Fixtures/grammar/differential.json: random
schemas (Tests/EndToEnd/schema_generator.py) with JSON texts labelled valid
or invalid by the `jsonschema` package, for the Swift grammar tests to check
their grammar against an independent validator.

Run at development time (needs `jsonschema`, installed by scripts/setup):
    .venv/bin/python scripts/make-grammar-fixtures.py
"""
import json
import pathlib
import random
import sys

import jsonschema

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "Tests" / "EndToEnd"))
from schema_generator import dumps, mutations, random_schema, random_value  # noqa: E402


def main():
    rng = random.Random(20261206)
    suites = []
    for _ in range(120):
        schema = random_schema(rng)
        validator = jsonschema.Draft202012Validator(schema)
        cases = []
        for _ in range(3):
            value = random_value(schema, rng)
            for candidate in [value] + mutations(value, rng):
                text = dumps(candidate, rng)
                cases.append({"text": text, "valid": validator.is_valid(candidate)})
            text = dumps(value, rng)
            cases.append({"text": text[: rng.randint(1, len(text) - 1)], "valid": False})  # cut short
            cases.append({"text": text + rng.choice(["}", "]", ",", "x", "1"]), "valid": False})  # trailing bytes
        suites.append({"schema": schema, "cases": cases})
    out = ROOT / "Tests" / "BackendTests" / "Fixtures" / "grammar" / "differential.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(suites, ensure_ascii=False, indent=0) + "\n")
    total = sum(len(s["cases"]) for s in suites)
    print(f"{out}: {len(suites)} schemas, {total} texts, {sum(c['valid'] for s in suites for c in s['cases'])} valid")


if __name__ == "__main__":
    main()
