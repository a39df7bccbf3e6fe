"""Random JSON Schemas of the kinds structured output is used with (nested
objects, arrays with item bounds, enums, bounded numbers, required and
optional properties, anyOf), and random values for them.

Used by test_structured_output.py (schemas sent to the server) and by
scripts/make-grammar-fixtures.py (values labelled by the `jsonschema`
package, replayed by the Swift grammar tests).
"""
import json
import random

WORDS = ["name", "age", "city", "tags", "score", "kind", "items", "id", "ok", "note", "size", "color", "level", "user"]
TEXT = "abc xyzé漢🙂\"\\\n/.-_0123456789"


def random_schema(rng: random.Random, depth: int = 0, small: bool = False) -> dict:
    """A schema; `small` keeps strings and arrays short enough for a small
    model to finish within a modest token budget."""
    if depth == 0:
        return _object(rng, depth, small)
    choices = ["string", "integer", "number", "boolean", "null", "enum"]
    if depth < 3:
        choices += ["object", "array", "anyOf"]
    kind = rng.choice(choices)
    if kind == "object":
        return _object(rng, depth, small)
    if kind == "array":
        low = rng.randint(0, 2)
        schema = {"type": "array", "items": random_schema(rng, depth + 1, small), "minItems": low}
        schema["maxItems"] = low + rng.randint(0, 2 if small else 4)
        return schema
    if kind == "anyOf":
        first, second = rng.sample(["string", "integer", "boolean", "null", "object"], 2)
        return {"anyOf": [_leaf(first, rng, depth + 1, small), _leaf(second, rng, depth + 1, small)]}
    return _leaf(kind, rng, depth, small)


def _leaf(kind, rng, depth, small):
    if kind == "object":
        return _object(rng, depth, small)
    if kind == "string":
        schema = {"type": "string"}
        if rng.random() < 0.5:
            schema["minLength"] = rng.randint(0, 3)
        if small or rng.random() < 0.5:
            schema["maxLength"] = schema.get("minLength", 0) + rng.randint(1, 12)
        return schema
    if kind in ("integer", "number"):
        schema = {"type": kind}
        if rng.random() < 0.7:
            low = rng.randint(-50, 50)
            schema["minimum"] = low
            schema["maximum"] = low + rng.randint(0, 200)
        elif rng.random() < 0.5:
            schema["exclusiveMinimum"] = rng.randint(-10, 10)
        return schema
    if kind == "enum":
        pool = ["red", "green", "blue", "small", "large", 1, 2, 42, True, None, "a b"]
        return {"enum": rng.sample(pool, rng.randint(1, 4))}
    return {"type": kind}


def _object(rng, depth, small):
    names = rng.sample(WORDS, rng.randint(1, 3 if small else 4))
    properties = {name: random_schema(rng, depth + 1, small) for name in names}
    required = [name for name in names if rng.random() < 0.7]
    schema = {"type": "object", "properties": properties, "required": required}
    if small or rng.random() < 0.8:
        schema["additionalProperties"] = False
    return schema


def random_value(schema: dict, rng: random.Random):
    """A value valid under `schema`, written as the grammar writes values
    (no exponents or fractions where bounds apply)."""
    if "anyOf" in schema:
        return random_value(rng.choice(schema["anyOf"]), rng)
    if "enum" in schema:
        return rng.choice(schema["enum"])
    kind = schema.get("type")
    if kind == "object":
        result = {}
        for name, sub in schema["properties"].items():
            if name in schema["required"] or rng.random() < 0.5:
                result[name] = random_value(sub, rng)
        return result
    if kind == "array":
        count = rng.randint(schema["minItems"], schema["maxItems"])
        return [random_value(schema["items"], rng) for _ in range(count)]
    if kind == "string":
        low = schema.get("minLength", 0)
        high = schema.get("maxLength", low + 8)
        return "".join(rng.choice(TEXT) for _ in range(rng.randint(low, high)))
    if kind == "integer" or kind == "number":
        low = schema.get("minimum", schema.get("exclusiveMinimum", -10**6 - 1) + 1)
        high = schema.get("maximum", 10**6)
        value = rng.randint(low, high)
        if kind == "number" and "minimum" not in schema and "exclusiveMinimum" not in schema:
            return value + rng.randint(0, 999) / 1000
        if kind == "number" and value >= 0 and value + 1 <= high and rng.random() < 0.5:
            return value + 0.25
        return value
    if kind == "boolean":
        return rng.random() < 0.5
    return None


def mutations(value, rng: random.Random):
    """Values near `value` that are often invalid: a member dropped, added or
    replaced, a number moved, a string grown, an item added."""
    replacements = ["x", 7, -1000, True, None, [], {}, 10**7, "a much longer string than any bound"]
    results = []
    if isinstance(value, dict) and value:
        key = rng.choice(sorted(value))
        dropped = dict(value)
        del dropped[key]
        results.append(dropped)
        replaced = dict(value)
        replaced[key] = rng.choice(replacements)
        results.append(replaced)
        nested = mutations(value[key], rng)
        if nested:
            changed = dict(value)
            changed[key] = rng.choice(nested)
            results.append(changed)
    if isinstance(value, dict):
        added = dict(value)
        added[rng.choice(WORDS + ["extra"])] = rng.choice(replacements)
        results.append(added)
    if isinstance(value, list):
        results.append(value + [rng.choice(replacements)])
        if value:
            results.append(value[1:])
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        results += [value + 1, value - 1, value * 10 + 3]
    if isinstance(value, str):
        results.append(value + "zz")
    return results


def dumps(value, rng: random.Random) -> str:
    """JSON text, compact or spaced."""
    separators = rng.choice([(",", ":"), (", ", ": ")])
    return json.dumps(value, ensure_ascii=False, separators=separators)
