"""Model names, a models folder loaded on demand, and `lmgate models`, with
the real `lmgate backend` and `lmgate serve` binaries and the OpenAI SDK.

The folder holds three small models made at test time from what the
repository has: links to `models/lmgate-demo.gguf` and the default SmolLM2
model (made by scripts/setup) and to a committed fixture model, laid out as
LM Studio lays out its folder (`publisher/model/file.gguf`)."""
import concurrent.futures
import json
import os
import pathlib
import shutil
import subprocess
import tempfile
import time

import httpx2 as httpx
import openai
import pytest

from backend_support import BackendProcess
from conftest import REPO
from serve_support import Serve

DEMO = "demo"
SMOL = "HuggingFaceTB/SmolLM2-135M-Instruct/SmolLM2-135M-Instruct.Q4_1"
TINY = "tiny/tiny-qwen2-f16"
HI = [{"role": "user", "content": "Hi"}]


@pytest.fixture
def folder(tmp_path, fixtures):
    """A models folder of three models in LM Studio's layout."""
    root = tmp_path / "models"
    links = {
        f"{DEMO}.gguf": REPO / "models" / "lmgate-demo.gguf",
        f"{SMOL}.gguf": REPO / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf",
        f"{TINY}.gguf": fixtures / "models" / "tiny-qwen2-f16.gguf",
    }
    for name, target in links.items():
        assert target.exists(), f"{target} is missing: run scripts/setup"
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).symlink_to(target)
    return root


def folder_backend(bin_dir, folder, *extra, wait_ready=True):
    """`lmgate backend --models-dir FOLDER` (BackendProcess starts `--model`; its arguments are replaced)."""
    backend = BackendProcess(bin_dir, folder, wait_ready=wait_ready)
    backend.args = [str(bin_dir / "lmgate"), "backend", "--models-dir", str(folder), "--port", str(backend.port),
                    "--threads", "1", *extra]
    return backend


def client(backend):
    return openai.OpenAI(base_url=backend.base_url + "/v1", api_key="unused", timeout=120, max_retries=0)


def listing(backend):
    response = httpx.get(backend.base_url + "/v1/models", timeout=10)
    assert response.status_code == 200, response.text
    return {entry["id"]: entry for entry in response.json()["data"]}


def loaded(backend):
    return sorted(id for id, entry in listing(backend).items() if entry["state"] == "loaded")


def rss_bytes(backend):
    status = pathlib.Path(f"/proc/{backend.process.pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))) * 1024


def chat(backend, model, max_tokens=2):
    return client(backend).chat.completions.create(model=model, messages=HI, max_tokens=max_tokens, temperature=0)


def test_local_model_against_a_one_model_backend(bin_dir, fixtures):
    with BackendProcess(bin_dir, fixtures / "models" / "tiny-qwen2-f16.gguf") as backend:
        answer = chat(backend, "local-model")
        assert answer.model == "tiny-qwen2-f16"  # the real model, as llama-server names it
        assert listing(backend)["tiny-qwen2-f16"]["state"] == "loaded"


def test_local_model_through_lmgate_serve_and_models_list_with_the_backend_key(bin_dir, fixtures, tmp_path):
    import ssl
    server = Serve(bin_dir, tmp_path, fixtures / "models" / "tiny-qwen2-f16.gguf")
    try:
        server.wait_ready()
        sdk = openai.OpenAI(base_url=server.url + "/v1", api_key=server.key, max_retries=0,
                            http_client=httpx.Client(verify=ssl.create_default_context(cafile=server.ca), timeout=60))
        answer = sdk.chat.completions.create(model="local-model", messages=HI, max_tokens=2)
        assert answer.model == "tiny-qwen2-f16"
        # An API key lets a client generate, not unload the model everyone uses.
        status, body = server.curl("/api/v1/models/unload", "-X", "POST", "-H", "Content-Type: application/json",
                                   "-d", '{"model": "tiny-qwen2-f16"}', key=server.key)
        assert status == "403" and json.loads(body)["error"]["code"] == "admin_only", body
        env = {**os.environ, "LMGATE_HOME": str(server.home)}
        result = subprocess.run([str(bin_dir / "lmgate"), "models", "list"], capture_output=True, text=True,
                                timeout=30, env=env)
        assert result.returncode == 0, result.stderr
        assert "loaded" in result.stdout and "tiny-qwen2-f16" in result.stdout
        status = subprocess.run([str(bin_dir / "lmgate"), "status"], capture_output=True, text=True, timeout=30, env=env)
        assert "serving tiny-qwen2-f16 (qwen2, F16, 512, pinned)" in status.stdout, status.stdout
        # The admin endpoints want serve's per-start backend key, which `lmgate models` reads from LMGATE_HOME.
        backend = f"http://127.0.0.1:{server.backend_port}"
        refused = httpx.post(backend + "/api/v1/models/unload", json={"model": "tiny-qwen2-f16"}, timeout=10)
        assert refused.status_code == 401
        for command, words in (("unload", "unloaded tiny-qwen2-f16"), ("load", "loaded tiny-qwen2-f16")):
            result = subprocess.run([str(bin_dir / "lmgate"), "models", command, "local-model"], capture_output=True,
                                    text=True, timeout=120, env=env)
            assert result.returncode == 0 and words in result.stdout, result.stderr
    finally:
        server.stop()


def test_a_models_folder_through_lmgate_serve(bin_dir, folder, tmp_path):
    import ssl
    server = Serve(bin_dir, tmp_path, None, "--models-dir", str(folder))
    try:
        server.wait_ready()
        status, body = server.curl("/v1/models", key=server.key)
        assert status == "200" and sorted(entry["id"] for entry in json.loads(body)["data"]) == sorted([DEMO, SMOL, TINY])
        sdk = openai.OpenAI(base_url=server.url + "/v1", api_key=server.key, max_retries=0,
                            http_client=httpx.Client(verify=ssl.create_default_context(cafile=server.ca), timeout=60))
        assert sdk.chat.completions.create(model=TINY, messages=HI, max_tokens=2).model == TINY
        with pytest.raises(openai.NotFoundError):
            sdk.chat.completions.create(model="local-model", messages=HI, max_tokens=2)
    finally:
        server.stop()


def test_aliases_and_the_404_listing_with_several_models(bin_dir, folder):
    with folder_backend(bin_dir, folder, "--alias", f"gpt-4o-mini={TINY}") as backend:
        assert chat(backend, "gpt-4o-mini").model == TINY
        with pytest.raises(openai.NotFoundError) as raised:
            chat(backend, "local-model")
        error = raised.value.body
        assert error["code"] == "model_not_found"
        for id in (DEMO, SMOL, TINY):
            assert f"'{id}'" in error["message"]
        entry = listing(backend)[SMOL]
        assert entry["arch"] == "llama" and entry["quantization"] == "Q4_1" and entry["publisher"] == "HuggingFaceTB"
        assert entry["max_context_length"] > 0 and entry["type"] == "llm" and entry["object"] == "model"
        # One model's entry, its id's slashes and all; any case, with or without .gguf.
        one = httpx.get(f"{backend.base_url}/v1/models/{SMOL.lower()}.gguf", timeout=10)
        assert one.status_code == 200 and one.json()["id"] == SMOL and one.json()["state"] == "not-loaded"
        assert httpx.get(backend.base_url + "/v1/models/nope", timeout=10).json()["error"]["code"] == "model_not_found"
        # LM Studio's REST listing, for clients written against it.
        lm_studio = httpx.get(backend.base_url + "/api/v0/models", timeout=10).json()["data"]
        assert {entry["id"]: entry for entry in lm_studio} == listing(backend)


def test_requests_load_each_model_in_turn_and_the_idle_ttl_unloads_them(bin_dir, folder):
    # 10 s: long enough that the first model is still loaded when the third
    # has answered on a loaded machine (a debug backend's chats take seconds).
    with folder_backend(bin_dir, folder, "--idle-ttl", "10s") as backend:
        assert loaded(backend) == []
        idle = rss_bytes(backend)
        for model in (DEMO, SMOL, TINY):
            assert chat(backend, model).model == model
            assert model in loaded(backend)
        assert loaded(backend) == sorted([DEMO, SMOL, TINY])
        busy = rss_bytes(backend)
        # The weights are paged in at load: the demo and SmolLM2 files alone are ~140 MB.
        assert busy - idle > 100_000_000, (idle, busy)
        deadline = time.monotonic() + 30
        while loaded(backend) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert loaded(backend) == []
        after = rss_bytes(backend)
        assert busy - after > 100_000_000, (busy, after)
        output = backend.stop()
    assert "model unloaded" in output and "load.progress=100%" in output


def test_a_pinned_model_is_loaded_at_start_and_outlives_the_idle_ttl(bin_dir, folder):
    with folder_backend(bin_dir, folder, "--idle-ttl", "1s", "--pin", TINY, "--model-ttl", f"{SMOL}=60s") as backend:
        assert loaded(backend) == [TINY]
        chat(backend, DEMO)
        chat(backend, SMOL)
        deadline = time.monotonic() + 20
        while DEMO in loaded(backend) and time.monotonic() < deadline:
            time.sleep(0.2)
        # The demo went after 1 s; SmolLM2 has its own 60 s; the pinned model stays.
        assert loaded(backend) == sorted([SMOL, TINY])


def test_a_memory_limit_that_fits_two_evicts_the_least_recently_used(bin_dir, folder):
    with folder_backend(bin_dir, folder) as lister:
        memory = {id: entry["memory_bytes"] for id, entry in listing(lister).items()}
    limit = memory[DEMO] + memory[SMOL]
    assert memory[TINY] <= memory[DEMO]  # so that evicting the demo makes room for tiny
    with folder_backend(bin_dir, folder, "--max-memory", str(limit)) as backend:
        chat(backend, DEMO)
        chat(backend, SMOL)
        assert loaded(backend) == sorted([DEMO, SMOL])
        chat(backend, TINY)  # the demo is the least recently used
        assert loaded(backend) == sorted([SMOL, TINY])
        chat(backend, SMOL)
        chat(backend, DEMO)  # now tiny is
        assert loaded(backend) == sorted([DEMO, SMOL])


def test_eight_concurrent_requests_over_two_models_all_complete(bin_dir, folder):
    with folder_backend(bin_dir, folder, "--max-loaded", "2") as backend:
        models = [DEMO, TINY] * 4
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda model: chat(backend, model, max_tokens=8), models))
        assert [answer.model for answer in answers] == models
        assert all(answer.choices[0].finish_reason in ("stop", "length") for answer in answers)
        assert loaded(backend) == sorted([DEMO, TINY])
        # Each model was loaded once, however many requests waited for it.
        assert backend.metric('lmgate_backend_model_loads_total{result="ok"}') == 2


def test_models_that_fail_to_load_get_a_clear_error_and_the_others_keep_serving(bin_dir, folder):
    (folder / "fake.gguf").write_text("<html>not a model</html>")
    with open(REPO / "models" / "lmgate-demo.gguf", "rb") as demo:
        (folder / "truncated.gguf").write_bytes(demo.read(1 << 20))
    with folder_backend(bin_dir, folder) as backend:
        entries = listing(backend)
        assert "not a GGUF file" in entries["fake"]["error"] and "error" in entries["truncated"]
        for name, words in (("fake", "not a GGUF file"), ("truncated", "truncated")):
            response = backend.post("/v1/chat/completions", {"model": name, "messages": HI, "max_tokens": 2})
            error = response.json()["error"]
            assert response.status_code == 500 and error["code"] == "model_load_failed", error
            assert f"'{name}' could not be loaded" in error["message"]
        assert chat(backend, TINY).model == TINY
        assert httpx.get(backend.base_url + "/health").status_code == 200


def test_models_command_loads_and_unloads(bin_dir, folder):
    with folder_backend(bin_dir, folder) as backend:
        def models(*args):
            return subprocess.run([str(bin_dir / "lmgate"), "models", *args, "--port", str(backend.port)],
                                  capture_output=True, text=True, timeout=120)
        result = models("load", TINY)
        assert result.returncode == 0 and f"loaded {TINY}" in result.stdout, result.stderr
        assert loaded(backend) == [TINY]
        listed = models("list").stdout
        assert any(line.startswith("loaded") and TINY in line for line in listed.splitlines()), listed
        assert any(line.startswith("-") and SMOL in line for line in listed.splitlines()), listed
        result = models("unload", TINY)
        assert result.returncode == 0 and f"unloaded {TINY}" in result.stdout
        assert loaded(backend) == []
        # --pin and --ttl: shown by `models list` and /v1/models; unpin lets the TTL run again.
        result = models("load", TINY, "--pin", "--ttl", "600")
        assert result.returncode == 0 and "(pinned)" in result.stdout, result.stderr
        assert listing(backend)[TINY]["pinned"] is True
        assert any(TINY in line and line.rstrip().endswith("pinned") for line in models("list").stdout.splitlines())
        result = models("unpin", TINY)
        assert result.returncode == 0 and f"unpinned {TINY}" in result.stdout, result.stderr
        entry = listing(backend)[TINY]
        assert entry["pinned"] is False and entry["ttl"] == 600 and entry["state"] == "loaded"
        assert any(TINY in line and "idle 600s" in line for line in models("list").stdout.splitlines())
        result = models("load", TINY, "--ttl", "0")
        assert result.returncode != 0 and "'ttl' must be between 1" in result.stderr
        result = models("load", "no-such-model")
        assert result.returncode != 0 and "does not exist" in result.stderr


def test_an_unreadable_models_folder_is_refused_with_the_reason(bin_dir):
    # Root reads any folder: the backend runs as `nobody` then, the folder in a directory it may pass through.
    # In /tmp itself, not $TMPDIR: a private TMPDIR (mode 0700) would stop `nobody` before the folder.
    parent = pathlib.Path(tempfile.mkdtemp(prefix="lmgate-unreadable-", dir="/tmp"))
    try:
        parent.chmod(0o711)
        root = parent / "models"
        root.mkdir()
        (root / "a.gguf").write_bytes(b"GGUF")
        root.chmod(0)
        command = [str(bin_dir / "lmgate"), "backend", "--models-dir", str(root), "--port", "0"]
        if os.geteuid() == 0:
            command = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert result.returncode != 0
        assert "cannot be read: permission denied" in result.stderr, result.stderr
    finally:
        (parent / "models").chmod(0o700)
        shutil.rmtree(parent)


@pytest.mark.parametrize("make, words", [
    (lambda root: root.mkdir(), "holds no .gguf file"),
    (lambda root: None, "does not exist"),
    (lambda root: root.write_text("a file"), "is not a folder"),
    (lambda root: (root.mkdir(), (root / "a.gguf").write_bytes(b"GGUF"), (root / "A.GGUF").write_bytes(b"GGUF")),
     "two files in"),
])
def test_bad_models_folders_are_refused_with_the_reason(bin_dir, tmp_path, make, words):
    root = tmp_path / "bad"
    make(root)
    result = subprocess.run([str(bin_dir / "lmgate"), "backend", "--models-dir", str(root), "--port", "0"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert words in result.stderr, result.stderr
