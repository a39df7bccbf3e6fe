"""End-to-end tests of the default model: SmolLM2-135M-Instruct (Q4_1), which
scripts/setup installs into models/ (CI runs scripts/setup first). `lmgate
backend` started in the repository without --model serves it, and its greedy
answer to a plain question is a real one; without it, every command says how
to name a model and how to install the default."""
import json
import subprocess

import openai
import pytest

from backend_support import BackendProcess
from conftest import REPO
from serve_support import Serve

DEFAULT_MODEL = REPO / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.fixture(scope="module")
def backend(bin_dir):
    assert DEFAULT_MODEL.is_file(), f"{DEFAULT_MODEL} is missing: run scripts/setup, which installs it"
    server = BackendProcess(bin_dir, DEFAULT_MODEL, "--parallel", "1")
    # No --model: started in the repository, `lmgate backend` finds the default model itself.
    at = server.args.index("--model")
    del server.args[at:at + 2]
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(REPO)
        with server:
            yield server


def test_backend_without_a_model_option_serves_the_installed_default(backend):
    client = openai.OpenAI(base_url=backend.base_url + "/v1", api_key="unused-local-key", max_retries=0)
    [model] = client.models.list().data
    assert "SmolLM2-135M-Instruct" in model.id


def test_greedy_chat_answer_to_a_plain_question_names_paris(backend):
    client = openai.OpenAI(base_url=backend.base_url + "/v1", api_key="unused-local-key", max_retries=0)
    model = client.models.list().data[0].id
    reply = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "What is the capital of France?"}],
        temperature=0, max_tokens=48)
    choice = reply.choices[0]
    assert "Paris" in choice.message.content, choice.message.content
    # The model's own template and end-of-turn token (<|im_end|>) end the answer.
    assert choice.finish_reason == "stop"
    assert "<|im_end|>" not in choice.message.content


def test_serve_without_a_model_serves_the_default_behind_tls_and_keys(bin_dir, tmp_path, monkeypatch):
    # The README's main command: `lmgate serve`, run from the repository, nothing else.
    assert DEFAULT_MODEL.is_file(), f"{DEFAULT_MODEL} is missing: run scripts/setup, which installs it"
    monkeypatch.chdir(REPO)
    serve = Serve(bin_dir, tmp_path, None)
    try:
        assert f"lmgate is serving {DEFAULT_MODEL} (the default model;" in serve.banner
        serve.wait_ready()
        body = {"model": DEFAULT_MODEL.stem, "temperature": 0, "max_tokens": 48,
                "messages": [{"role": "user", "content": "What is the capital of France?"}]}
        status, text = serve.curl("/v1/chat/completions", "-H", "Content-Type: application/json",
                                  "-d", json.dumps(body), key=serve.key)
        assert status == "200", text
        assert "Paris" in json.loads(text)["choices"][0]["message"]["content"]
        assert serve.curl("/v1/models")[0] == "401"
    finally:
        serve.stop()


@pytest.mark.parametrize("command", [["backend"], ["run", "--prompt", "Hi"], ["serve", "--listen", "127.0.0.1:0"]])
def test_without_the_default_model_each_command_says_how_to_name_one(bin_dir, tmp_path, command):
    # An empty current directory: no models/ folder, so no default model.
    result = subprocess.run(
        [str(bin_dir / "lmgate"), *command], cwd=tmp_path, capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LMGATE_HOME": str(tmp_path / "home")})
    assert result.returncode != 0
    message = " ".join(result.stderr.split())
    assert "no model: give --model FILE.gguf" in message, result.stderr
    assert "SmolLM2-135M-Instruct, with scripts/setup" in message, result.stderr
    assert f"models/SmolLM2-135M-Instruct.Q4_1.gguf in the current directory, {tmp_path}" in message, result.stderr
