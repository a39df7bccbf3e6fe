"""End-to-end tests of `lmgate backend`: the real binary on loopback with a
fixture model, driven by the real OpenAI and Anthropic Python SDKs and by
raw HTTP for the wire format and every error case."""
import json
import os
import pathlib
import secrets
import socket
import stat
import subprocess
import threading
import time

import anthropic
import httpx2 as httpx  # the HTTP client the OpenAI and Anthropic SDKs install
import openai
import pytest

from backend_support import MODEL, BackendProcess, reference, sse_events
from conftest import REPO
from conftest import free_port


@pytest.fixture(scope="module")
def backend(bin_dir, fixtures):
    with BackendProcess(bin_dir, fixtures / "models" / f"{MODEL}.gguf", "--parallel", "4") as server:
        yield server


@pytest.fixture
def openai_client(backend):
    return openai.OpenAI(base_url=backend.base_url + "/v1", api_key="unused-local-key", max_retries=0)


@pytest.fixture
def anthropic_client(backend):
    return anthropic.Anthropic(base_url=backend.base_url, api_key="unused-local-key", max_retries=0)


def greedy(**extra):
    return {"temperature": 0, "seed": 1, **extra}


# --- Listing, health, metrics ---------------------------------------------------------------

def test_models_lists_the_model_with_lm_studio_fields(backend, openai_client):
    models = openai_client.models.list().data
    assert [m.id for m in models] == [MODEL]
    raw = httpx.get(backend.base_url + "/v1/models").json()["data"][0]
    assert raw["object"] == "model" and raw["owned_by"] == "lmgate"
    assert raw["arch"] == "llama" and raw["quantization"] == "F16"
    assert raw["max_context_length"] == 512
    assert httpx.get(backend.base_url + "/health").status_code == 200


def test_health_answers_503_while_the_model_loads(bin_dir, tmp_path):
    # A FIFO as the model file: opening it blocks until a writer comes, so
    # the server stays "loading" for as long as the test wants.
    fifo = tmp_path / "slow.gguf"
    os.mkfifo(fifo)
    server = BackendProcess(bin_dir, fifo, wait_ready=False)
    with server:
        server.wait_for_health(503)
        body = httpx.get(server.base_url + "/health").json()
        assert body == {"status": "loading"}
        response = server.post("/v1/chat/completions", {"model": "slow", "messages": [{"role": "user", "content": "hi"}]})
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "model_loading"
        try:
            with open(fifo, "wb") as writer:
                writer.write(b"not a gguf file")
        except BrokenPipeError:
            pass  # the loader gave up on the file as soon as it opened

        server.process.wait(timeout=20)
        assert server.process.returncode != 0
        assert "could not be loaded" in server.stop()


# --- OpenAI chat completions ------------------------------------------------------------------

def test_openai_sdk_chat_non_streaming_and_streaming_agree(openai_client):
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hello."}]
    whole = openai_client.chat.completions.create(model=MODEL, messages=messages, max_tokens=8, **greedy())
    choice = whole.choices[0]
    assert choice.message.role == "assistant"
    assert choice.finish_reason in ("stop", "length")
    assert whole.usage.completion_tokens <= 8 and whole.usage.prompt_tokens > 5
    assert whole.usage.total_tokens == whole.usage.prompt_tokens + whole.usage.completion_tokens

    chunks = list(openai_client.chat.completions.create(
        model=MODEL, messages=messages, max_tokens=8, stream=True, **greedy()))
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == choice.finish_reason
    assert all(c.choices[0].finish_reason is None for c in chunks[:-1])
    assert all(c.usage is None for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == choice.message.content


def test_chat_stream_usage_chunk_only_with_include_usage(backend):
    body = {"model": MODEL, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4, "stream": True,
            "stream_options": {"include_usage": True}, **greedy()}
    events = sse_events(backend.post("/v1/chat/completions", body))
    assert events[-1] == (None, "[DONE]")
    chunks = [json.loads(data) for _, data in events[:-1]]
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 4
    assert chunks[-2]["choices"][0]["finish_reason"] == "length"
    assert all(c["usage"] is None for c in chunks[:-1])
    body.pop("stream_options")
    chunks = [json.loads(data) for _, data in sse_events(backend.post("/v1/chat/completions", body))[:-1]]
    assert all("usage" not in c for c in chunks) and chunks[-1]["choices"][0]["finish_reason"] == "length"


def test_chat_logprobs_carry_token_ids(openai_client, backend):
    response = openai_client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Hi"}], max_tokens=5, logprobs=True, top_logprobs=3, **greedy())
    content = response.choices[0].logprobs.content
    assert len(content) == 5
    for entry in content:
        extra = entry.model_extra
        assert isinstance(extra["id"], int)
        assert len(entry.top_logprobs) == 3
        # Greedy: the chosen token is the most likely one.
        assert entry.top_logprobs[0].model_extra["id"] == extra["id"]
        assert entry.logprob == pytest.approx(entry.top_logprobs[0].logprob)
        assert bytes(entry.bytes).decode("utf-8", "replace") == entry.token


def test_stop_sequence_ends_chat_before_it(openai_client):
    messages = [{"role": "user", "content": "Tell me something."}]
    free = openai_client.chat.completions.create(model=MODEL, messages=messages, max_tokens=12, **greedy())
    text = free.choices[0].message.content
    stop = text[len(text) // 2: len(text) // 2 + 3]
    assert stop.strip()
    stopped = openai_client.chat.completions.create(model=MODEL, messages=messages, max_tokens=12, stop=[stop], **greedy())
    assert stopped.choices[0].finish_reason == "stop"
    assert stopped.choices[0].message.content == text[: text.index(stop)]


def test_seed_repeats_sampled_text(openai_client):
    args = dict(model=MODEL, messages=[{"role": "user", "content": "Hi"}], max_tokens=6, temperature=1.0, seed=42)
    first = openai_client.chat.completions.create(**args).choices[0].message.content
    second = openai_client.chat.completions.create(**args).choices[0].message.content
    assert first == second


def test_a_repeated_conversation_reuses_its_kv_cache(openai_client, backend):
    messages = [{"role": "system", "content": "A long shared system prompt about proxies and models."},
                {"role": "user", "content": "First question?"}]
    first = openai_client.chat.completions.create(model=MODEL, messages=messages, max_tokens=3, **greedy())
    cached_before = backend.metric("lmgate_backend_prompt_tokens_cached_total")
    messages += [{"role": "assistant", "content": first.choices[0].message.content},
                 {"role": "user", "content": "And a second one?"}]
    second = openai_client.chat.completions.create(model=MODEL, messages=messages, max_tokens=3, **greedy())
    cached = second.usage.prompt_tokens_details.cached_tokens
    assert cached >= first.usage.prompt_tokens - 1
    assert backend.metric("lmgate_backend_prompt_tokens_cached_total") - cached_before == cached


# --- OpenAI completions ---------------------------------------------------------------------

def test_completions_greedy_tokens_equal_llama_cpp(backend, fixtures):
    # Two of the five cases: debug builds (which the suite runs) decode slowly.
    for case in reference(fixtures)["cases"][:2]:
        body = {"model": MODEL, "prompt": case["prompt_tokens"], "max_tokens": len(case["generated_tokens"]),
                "logprobs": 1, "ignore_eos": True, **greedy()}
        response = backend.post("/v1/completions", body)
        assert response.status_code == 200, response.text
        choice = response.json()["choices"][0]
        assert choice["logprobs"]["token_ids"] == case["generated_tokens"], case["prompt"][:40]
        assert choice["finish_reason"] == "length"
        assert response.json()["usage"]["prompt_tokens"] == len(case["prompt_tokens"])


def test_openai_sdk_completions_text_prompt_streaming_and_not(openai_client, fixtures):
    case = reference(fixtures)["cases"][1]
    whole = openai_client.completions.create(model=MODEL, prompt=case["prompt"], max_tokens=8, logprobs=2, **greedy())
    choice = whole.choices[0]
    assert whole.usage.prompt_tokens == len(case["prompt_tokens"])
    assert choice.logprobs.model_extra["token_ids"] == case["generated_tokens"][:8] or choice.finish_reason == "stop"
    assert len(choice.logprobs.top_logprobs[0]) == 2
    assert "".join(choice.logprobs.tokens) == choice.text
    streamed = list(openai_client.completions.create(model=MODEL, prompt=case["prompt"], max_tokens=8, stream=True, **greedy()))
    assert "".join(c.choices[0].text for c in streamed) == choice.text
    assert streamed[-1].choices[0].finish_reason == choice.finish_reason


# --- Anthropic messages -----------------------------------------------------------------------

def test_anthropic_sdk_messages_non_streaming_and_streaming(anthropic_client):
    args = dict(model=MODEL, max_tokens=8, system="Be brief.", messages=[{"role": "user", "content": "Say hello."}],
                extra_body={"temperature": 0})
    message = anthropic_client.messages.create(**args)
    assert message.role == "assistant" and message.type == "message"
    assert message.stop_reason in ("end_turn", "max_tokens")
    assert message.usage.output_tokens <= 8
    with anthropic_client.messages.stream(**args) as stream:
        streamed = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert streamed == message.content[0].text
    assert final.stop_reason == message.stop_reason and final.usage.output_tokens == message.usage.output_tokens


def test_anthropic_stream_event_names(backend):
    body = {"model": MODEL, "max_tokens": 5, "stream": True, "temperature": 0,
            "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]}
    names = [name for name, _ in sse_events(backend.post("/v1/messages", body))]
    assert names[:2] == ["message_start", "content_block_start"]
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert set(names[2:-3]) <= {"ping", "content_block_delta"} and "content_block_delta" in names


def test_anthropic_stop_sequence_is_reported(anthropic_client):
    args = dict(model=MODEL, max_tokens=12, messages=[{"role": "user", "content": "Tell me something."}],
                extra_body={"temperature": 0})
    text = anthropic_client.messages.create(**args).content[0].text
    stop = text[len(text) // 2: len(text) // 2 + 3]
    stopped = anthropic_client.messages.create(stop_sequences=[stop], **args)
    assert stopped.stop_reason == "stop_sequence" and stopped.stop_sequence == stop
    assert stopped.content[0].text == text[: text.index(stop)]


# --- Errors ------------------------------------------------------------------------------------

def error_of(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return error


CHAT = {"model": MODEL, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2}


def test_malformed_json_is_400(backend):
    error = error_of(backend.post("/v1/chat/completions", b'{"model": '), 400)
    assert "not valid JSON" in error["message"]
    error = error_of(backend.post("/v1/messages", b"[1, 2]"), 400)
    assert "JSON object" in error["message"]


@pytest.mark.parametrize("field,value,param,words", [
    ("temperature", "hot", "temperature", "must be a number"),
    ("temperature", 3, "temperature", "between 0 and 2"),
    ("top_p", 1.5, "top_p", "between 0 and 1"),
    ("max_tokens", 0, "max_tokens", "between 1"),
    ("logit_bias", {"abc": 1}, "logit_bias", "token ids"),
    ("stop", 5, "stop", "string or an array"),
    ("n", 2, "n", "not supported"),
    ("tools", [{"type": "function", "function": {"name": "f", "parameters": "x"}}], "tools", "must be an object"),
    ("response_format", {"type": "xml"}, "response_format", "must be \"text\", \"json_object\" or \"json_schema\""),
    ("response_format", {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "string", "pattern": "a+"}}},
     "response_format", "cannot be enforced"),
    ("messages", [], "messages", "must not be empty"),
    ("messages", [{"role": "tool", "content": "x"}], "messages[0].role", "tool messages"),
])
def test_bad_chat_parameters_are_400(backend, field, value, param, words):
    error = error_of(backend.post("/v1/chat/completions", {**CHAT, field: value}), 400)
    assert error["param"] == param and words in error["message"]
    assert error["type"] == "invalid_request_error"


def test_bad_anthropic_and_completion_parameters_are_400(backend):
    error = error_of(backend.post("/v1/messages", {"model": MODEL, "messages": [{"role": "user", "content": "x"}]}), 400)
    assert error["param"] == "max_tokens"
    error = error_of(backend.post("/v1/completions", {"model": MODEL, "prompt": ["a", "b"]}), 400)
    assert error["param"] == "prompt" and "one request per prompt" in error["message"]
    error = error_of(backend.post("/v1/completions", {"model": MODEL, "prompt": [1, 99999999]}), 400)
    assert "outside the vocabulary" in error["message"]


def test_any_model_name_is_served_by_the_one_model_and_unknown_paths_are_404(backend, openai_client):
    # One model answers to any name, as llama-server does; the response names the real model.
    response = backend.post("/v1/chat/completions", {**CHAT, "model": "gpt-4o"})
    assert response.status_code == 200 and response.json()["model"] == MODEL
    error_of(httpx.get(backend.base_url + "/v1/nothing-here"), 404)


def test_prompt_longer_than_context_is_400_with_both_numbers(backend, openai_client):
    prompt = list(range(100, 700))
    error = error_of(backend.post("/v1/completions", {"model": MODEL, "prompt": prompt}), 400)
    assert error["code"] == "context_length_exceeded"
    assert "512" in error["message"] and "600" in error["message"]
    with pytest.raises(openai.BadRequestError) as raised:
        openai_client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "word " * 600}])
    assert raised.value.body["code"] == "context_length_exceeded"


def test_queue_full_is_503(bin_dir):
    # The demo model scripts/setup makes: its 4,096-token context keeps the one
    # sequence busy for seconds (a tiny fixture's 480 tokens take well under one).
    demo = REPO / "models" / "lmgate-demo.gguf"
    with BackendProcess(bin_dir, demo, "--parallel", "1", "--queue", "0") as server:
        body = {"model": "lmgate-demo", "prompt": "Hello", "max_tokens": 4000, "ignore_eos": True, "stream": True}
        with httpx.stream("POST", server.base_url + "/v1/completions", json=body, timeout=60) as busy:
            assert busy.status_code == 200
            # Keep the iterator: a discarded one closes the response (a disconnect).
            lines = busy.iter_lines()
            next(lines)
            error = error_of(server.post("/v1/completions", {**body, "stream": False}), 503)
            assert error["code"] == "queue_full"


# --- Scheduling ---------------------------------------------------------------------------------

def test_disconnect_mid_stream_frees_the_sequence(backend):
    cancelled_before = backend.metric("lmgate_backend_requests_cancelled_total")
    generated_before = backend.metric("lmgate_backend_generated_tokens_total")
    body = {"model": MODEL, "prompt": "Once upon a time", "max_tokens": 480, "ignore_eos": True, "stream": True}
    with httpx.stream("POST", backend.base_url + "/v1/completions", json=body, timeout=60) as response:
        lines = response.iter_lines()
        received = [line for line, _ in zip(lines, range(6))]
        assert any(line.startswith("data: ") for line in received)
        assert backend.metric("lmgate_backend_active_sequences") == 1
    # The connection is closed: the sequence leaves within a step or two.
    assert backend.wait_for_metric("lmgate_backend_active_sequences", lambda v: v == 0) == 0
    assert backend.metric("lmgate_backend_requests_cancelled_total") == cancelled_before + 1
    generated = backend.metric("lmgate_backend_generated_tokens_total") - generated_before
    assert generated < 480
    time.sleep(0.3)
    assert backend.metric("lmgate_backend_generated_tokens_total") - generated_before == generated


def test_concurrent_requests_share_decoding_steps(backend):
    body = {"model": MODEL, "prompt": "Count with me:", "max_tokens": 12, "ignore_eos": True, "stream": True}
    steps_before = backend.metric("lmgate_backend_decode_steps_total")
    served_before = backend.metric("lmgate_backend_decode_step_sequences_total")
    texts = [None] * 4

    def run(index):
        texts[index] = "".join(sse_events_text(httpx.post(backend.base_url + "/v1/completions", json=body, timeout=120)))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(text for text in texts)
    steps = backend.metric("lmgate_backend_decode_steps_total") - steps_before
    served = backend.metric("lmgate_backend_decode_step_sequences_total") - served_before
    assert served == 4 * 11  # every token after the first comes from a decoding step
    assert steps < served  # so some steps served several sequences
    assert backend.metric("lmgate_backend_decode_batch_size_max") >= 2


def sse_events_text(response):
    assert response.status_code == 200, response.text
    return [json.loads(data)["choices"][0]["text"] for _, data in sse_events(response)[:-1]]


# --- Loopback only ------------------------------------------------------------------------------

def test_non_loopback_host_is_refused_at_start(bin_dir, fixtures):
    result = subprocess.run(
        [str(bin_dir / "lmgate"), "backend", "--model", str(fixtures / "models" / f"{MODEL}.gguf"),
         "--host", "0.0.0.0", "--port", str(free_port())],
        capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert "loopback" in result.stderr


def test_keep_alive_connection_serves_several_requests(backend):
    with httpx.Client(base_url=backend.base_url) as client:
        for _ in range(3):
            assert client.post("/v1/chat/completions", json={**CHAT, **greedy()}).status_code == 200
            assert client.get("/health").status_code == 200


# --- A browser on the same machine, and other local processes -------------------------------------

def test_a_dns_rebinding_host_is_refused(backend):
    # A page on rebind.example whose name now resolves to 127.0.0.1 sends its own name as Host.
    error = error_of(httpx.get(backend.base_url + "/v1/models", headers={"Host": "rebind.example"}), 403)
    assert error["code"] == "host_not_allowed"
    error_of(httpx.get(backend.base_url + "/v1/models", headers={"Host": f"rebind.example:{backend.port}"}), 403)
    assert httpx.get(f"http://localhost:{backend.port}/v1/models").status_code == 200


def test_cross_origin_and_non_json_posts_are_refused(backend):
    url = backend.base_url + "/v1/chat/completions"
    body = json.dumps({**CHAT, **greedy()})
    # A form or fetch() with text/plain needs no CORS preflight: the browser just sends it.
    error = error_of(httpx.post(url, content=body, headers={"content-type": "text/plain"}), 415)
    assert error["code"] == "unsupported_media_type"
    error = error_of(httpx.post(url, content=body, headers={"content-type": "application/json",
                                                            "origin": "https://evil.example"}), 403)
    assert error["code"] == "origin_not_allowed"
    local = httpx.post(url, content=body, headers={"content-type": "application/json; charset=utf-8",
                                                   "origin": "http://localhost:3000"}, timeout=60)
    assert local.status_code == 200, local.text


def test_an_api_key_from_the_environment_guards_everything_but_health(bin_dir, fixtures):
    key = secrets.token_urlsafe(32)
    with BackendProcess(bin_dir, fixtures / "models" / f"{MODEL}.gguf", env={"LMGATE_BACKEND_KEY": key}) as server:
        missing = httpx.get(server.base_url + "/v1/models")
        assert error_of(missing, 401)["code"] == "missing_api_key"
        assert missing.headers["www-authenticate"].lower().startswith("bearer")
        assert error_of(httpx.get(server.base_url + "/metrics",
                                  headers={"authorization": "Bearer " + key[:-1]}), 401)["code"] == "invalid_api_key"
        client = openai.OpenAI(base_url=server.base_url + "/v1", api_key=key, max_retries=0)
        assert client.models.list().data[0].id == MODEL
        # Anthropic's clients send the key as x-api-key.
        reply = anthropic.Anthropic(base_url=server.base_url, api_key=key, max_retries=0).messages.create(
            model=MODEL, max_tokens=2, messages=[{"role": "user", "content": "Hi"}])
        assert reply.usage.output_tokens >= 1
        assert httpx.get(server.base_url + "/health").json() == {"status": "ok"}
        # Not on the command line, which every user can read.
        cmdline = pathlib.Path(f"/proc/{server.process.pid}/cmdline").read_bytes()
        assert key.encode() not in cmdline
