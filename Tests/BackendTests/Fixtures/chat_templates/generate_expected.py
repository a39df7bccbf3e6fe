#!/usr/bin/env python3
"""Renders the chat templates in this folder with the reference Jinja (Python
jinja2), configured as Hugging Face transformers and llama.cpp configure it,
and writes expected.json for the Swift tests (ChatTemplateReferenceTests).

    .venv/bin/python Tests/BackendTests/Fixtures/chat_templates/generate_expected.py

The environment copies transformers' (ImmutableSandboxedEnvironment with
trim_blocks, lstrip_blocks and loop controls; its tojson; raise_exception;
strftime_now). The variables are llama.cpp's: messages, add_generation_prompt,
bos_token, eos_token, with `tools` absent when there are none. strftime_now
formats a fixed moment, FIXED_NOW (UTC), which the Swift tests also use.
"""

import datetime
import json
import pathlib

import jinja2
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = pathlib.Path(__file__).resolve().parent
FIXED_NOW = datetime.datetime(2025, 3, 7, 14, 5, 9)

# bos_token and eos_token of each model, from its tokenizer_config.json.
TEMPLATES = {
    "meta-llama-Llama-3.1-8B-Instruct": ("<|begin_of_text|>", "<|eot_id|>"),
    "meta-llama-Llama-3.2-3B-Instruct": ("<|begin_of_text|>", "<|eot_id|>"),
    "Qwen-Qwen2.5-7B-Instruct": ("", "<|im_end|>"),
    "mistralai-Mistral-Nemo-Instruct-2407": ("<s>", "</s>"),
    "microsoft-Phi-3.5-mini-instruct": ("<s>", "<|endoftext|>"),
    "google-gemma-2-2b-it": ("<bos>", "<eos>"),
    "google-gemma-3-it": ("<bos>", "<eos>"),
    "HuggingFaceTB-SmolLM2-135M-Instruct": ("<|im_start|>", "<|im_end|>"),
}


def message(role, content):
    return {"role": role, "content": content}


CONVERSATIONS = {
    "user": [message("user", "Hello!")],
    "system-user": [message("system", "You are terse."), message("user", "Name a colour.")],
    "multi-turn": [
        message("system", "You are a helpful assistant"),
        message("user", "Hello"),
        message("assistant", "Hi there"),
        message("user", "Who are you"),
        message("assistant", "   I am an assistant   "),
        message("user", "Another question"),
    ],
    "multi-turn-no-system": [
        message("user", "What is 2+2?"),
        message("assistant", "4."),
        message("user", "And 3+3?"),
    ],
    "assistant-last": [message("user", "Say hi."), message("assistant", "Hi.")],
    "not-alternating": [message("user", "One."), message("user", "Two.")],
    "unicode-and-whitespace": [
        message("user", "  Grüße, 世界! 🌍\n\n"),
        message("assistant", "\tTabs\tand\nnewlines \n"),
        message("user", "quotes ' \" and {{ braces }} {% tags %}"),
    ],
}


class TemplateError(Exception):
    pass


def raise_exception(message):
    raise TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    # transformers' tojson: no HTML escaping, keys in insertion order.
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def strftime_now(format):
    return FIXED_NOW.strftime(format)


def environment():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def render(env, source, context):
    """{"output": text} or {"error": message}; a raise_exception message is
    kept, other errors only as their kind (our wording differs from Python's)."""
    try:
        return {"output": env.from_string(source).render(**context)}
    except TemplateError as error:
        return {"error": str(error), "raised": True}
    except jinja2.TemplateSyntaxError as error:
        return {"error": "syntax", "line": error.lineno}
    except Exception as error:  # noqa: BLE001 - any failure is an expected failure
        return {"error": type(error).__name__}


def main():
    env = environment()
    cases = []
    for name, (bos, eos) in TEMPLATES.items():
        source = (HERE / f"{name}.jinja").read_text()
        for conversation, messages in CONVERSATIONS.items():
            for add_generation_prompt in (True, False):
                context = {
                    "messages": messages,
                    "add_generation_prompt": add_generation_prompt,
                    "bos_token": bos,
                    "eos_token": eos,
                }
                case = {
                    "template": name,
                    "conversation": conversation,
                    "messages": messages,
                    "add_generation_prompt": add_generation_prompt,
                    "bos_token": bos,
                    "eos_token": eos,
                }
                case.update(render(env, source, context))
                cases.append(case)

    features = []
    feature_messages = CONVERSATIONS["multi-turn"]
    for feature in json.loads((HERE / "features.json").read_text()):
        context = {
            "messages": feature_messages,
            "add_generation_prompt": True,
            "bos_token": "<s>",
            "eos_token": "</s>",
        }
        features.append({**feature, **render(env, feature["template"], context)})

    document = {
        "generator": f"generate_expected.py with jinja2 {jinja2.__version__}",
        "now": FIXED_NOW.isoformat() + "Z",
        "feature_messages": feature_messages,
        "templates": cases,
        "features": features,
    }
    (HERE / "expected.json").write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n")


if __name__ == "__main__":
    main()
