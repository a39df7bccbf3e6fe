"""`lmgate serve` as a user meets it: first run, then real clients over TLS
with the generated CA, users and keys added and taken away while it runs,
clients from allowed and denied subnets, and the backend killed mid-run."""
import json
import os
import pathlib
import secrets
import signal
import ssl
import stat
import subprocess
import time

import anthropic
import httpx2 as httpx
import openai
import pytest

from access_support import NetworkNamespaceLab, create_key, lmgate_keys, wait_for
from serve_support import Serve

MODEL = "tiny-qwen2-f16.gguf"
# Qwen2's end-of-generation tokens, banned where a stream must run its full length.
NO_END = {"151643": -100, "151645": -100}


@pytest.fixture(scope="module")
def lab():
    with NetworkNamespaceLab(count=2) as lab:
        yield lab


@pytest.fixture(scope="module")
def serve(bin_dir, fixtures, tmp_path_factory, lab):
    # Listening on every address (IPv6 and IPv4-mapped), as on a LAN: the
    # first namespace's subnet and loopback are allowed, the second's denied.
    server = Serve(bin_dir, tmp_path_factory.mktemp("serve"), fixtures / "models" / MODEL,
                   "--allow", lab.subnet_v4(1), "--allow", lab.subnet_v6(1),
                   "--allow", "127.0.0.1", "--allow", "::1",
                   "--deny", lab.subnet_v4(2), "--deny", lab.subnet_v6(2),
                   # The tests poll with credentials that become valid (or invalid) when a
                   # file reloads; those misses must not lock loopback out (lockout has its own tests).
                   "--set", "auth.lockout.max_failures=1000",
                   listen=["[::]:{port}"])
    server.wait_ready()
    yield server
    server.stop()


def openai_client(serve, key):
    return openai.OpenAI(base_url=serve.url + "/v1", api_key=key,
                         http_client=httpx.Client(verify=ssl.create_default_context(cafile=serve.ca), timeout=60))


def model_id(serve):
    status, body = serve.curl("/v1/models", key=serve.key)
    assert status == "200", body
    return json.loads(body)["data"][0]["id"]


def test_first_run_makes_a_safe_configuration_and_says_how_to_connect(serve):
    banner = serve.banner
    assert "listening on https://[::]:" in banner
    assert "authentication: API keys (1) or HTTP Basic (0 users)" in banner
    fingerprint = subprocess.run(["openssl", "x509", "-in", serve.ca, "-noout", "-fingerprint", "-sha256"],
                                 capture_output=True, text=True, check=True).stdout.strip().split("=")[1]
    assert f"SHA-256 fingerprint: {fingerprint}" in banner
    # The main key works and is stored only as a hash.
    assert serve.key.startswith("lmg_")
    assert serve.key not in (serve.home / "keys").read_text()
    assert serve.curl("/v1/models", key=serve.key)[0] == "200"
    # No credentials, a wrong key: 401 with OpenAI's error shape.
    status, body = serve.curl("/v1/models")
    assert status == "401" and json.loads(body)["error"]["code"] == "missing_api_key"
    status, body = serve.curl("/v1/models", key="lmg_" + secrets.token_urlsafe(32))
    assert status == "401" and json.loads(body)["error"]["code"] == "invalid_api_key"
    # /health is public; plain HTTP is refused on the TLS port.
    assert serve.curl("/health")[0] == "200"
    plain = subprocess.run(["curl", "-s", "-w", "%{http_code}", "-o", "/dev/null",
                            f"http://127.0.0.1:{serve.port}/health"], capture_output=True, text=True)
    assert plain.stdout == "400"


def test_openai_sdk_over_https_with_the_generated_ca(serve):
    client = openai_client(serve, serve.key)
    model = model_id(serve)
    reply = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Hello"}],
                                           max_tokens=8, temperature=0)
    assert reply.choices[0].finish_reason in ("stop", "length")
    assert reply.usage.completion_tokens >= 1
    chunks = list(client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Hello"}],
                                                 max_tokens=8, temperature=0, stream=True))
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason in ("stop", "length")
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert streamed == reply.choices[0].message.content  # greedy: the same text both ways


def test_anthropic_sdk_with_x_api_key(serve):
    client = anthropic.Anthropic(base_url=serve.url, api_key=serve.key,
                                 http_client=httpx.Client(verify=ssl.create_default_context(cafile=serve.ca), timeout=60))
    model = model_id(serve)
    # Greedy, so that both forms give the same text (this SDK takes sampling settings as extra body fields).
    message = client.messages.create(model=model, max_tokens=8, extra_body={"temperature": 0},
                                     messages=[{"role": "user", "content": "Hello"}])
    assert message.role == "assistant" and message.stop_reason in ("end_turn", "max_tokens")
    with client.messages.stream(model=model, max_tokens=8, extra_body={"temperature": 0},
                                messages=[{"role": "user", "content": "Hello"}]) as stream:
        text = "".join(stream.text_stream)
    assert text == message.content[0].text


def test_basic_auth_with_a_user_added_by_swift_htpasswd(serve, bin_dir):
    password = secrets.token_urlsafe(12)
    subprocess.run([str(bin_dir / "swift-htpasswd"), "-b", "-B", "-C", "5", str(serve.home / "users.htpasswd"),
                    "alice", password], check=True, capture_output=True)
    # The file is watched: no restart, no signal.
    assert wait_for(lambda: serve.curl("/v1/models", "-u", f"alice:{password}")[0] == "200", timeout=10)
    assert serve.curl("/v1/models", "-u", "alice:wrong-" + password)[0] == "401"


def test_revoked_key_and_removed_user_stop_new_requests_while_open_streams_complete(serve, bin_dir):
    keys_file = serve.home / "keys"
    key = create_key(bin_dir, keys_file, "laptop")
    password = secrets.token_urlsafe(12)
    users = serve.home / "users.htpasswd"
    subprocess.run([str(bin_dir / "swift-htpasswd"), "-b", "-B", "-C", "5", str(users), "bob", password],
                   check=True, capture_output=True)
    assert wait_for(lambda: serve.curl("/v1/models", key=key)[0] == "200"
                    and serve.curl("/v1/models", "-u", f"bob:{password}")[0] == "200", timeout=10)
    model = model_id(serve)
    request = {"model": model, "prompt": "Once upon a time", "max_tokens": 400, "temperature": 0,
               "logit_bias": NO_END, "stream": True}
    with httpx.Client(verify=ssl.create_default_context(cafile=serve.ca), timeout=60) as http:
        with http.stream("POST", serve.url + "/v1/completions", json=request,
                         headers={"Authorization": f"Bearer {key}"}) as by_key, \
             http.stream("POST", serve.url + "/v1/completions", json=request,
                         auth=("bob", password)) as by_user:
            assert by_key.status_code == 200 and by_user.status_code == 200
            key_lines, user_lines = by_key.iter_lines(), by_user.iter_lines()
            assert next(key_lines).startswith("data: ") and next(user_lines).startswith("data: ")

            lmgate_keys(bin_dir, keys_file, "revoke", "laptop")
            subprocess.run([str(bin_dir / "swift-htpasswd"), "-D", str(users), "bob"], check=True, capture_output=True)
            os.kill(serve.process.pid, signal.SIGHUP)  # as an administrator would, instead of waiting for the watcher
            assert wait_for(lambda: serve.curl("/v1/models", key=key)[0] == "401", timeout=10)
            assert wait_for(lambda: serve.curl("/v1/models", "-u", f"bob:{password}")[0] == "401", timeout=10)

            # Both streams were admitted before: they run to their end.
            for lines in (key_lines, user_lines):
                events = [line for line in lines if line.startswith("data: ")]
                assert events[-1] == "data: [DONE]"
                last = json.loads(events[-2][len("data: "):])
                assert last["choices"][0]["finish_reason"] == "length"
                assert len(events) > 100  # most of the 400 tokens arrived after the revocation


def test_clients_from_allowed_and_denied_subnets(serve, lab):
    def curl(index, host):
        result = lab.run(index, "curl", "-s", "-g", "-o", "/dev/null", "-w", "%{http_code}", "-m", "10",
                         "--cacert", serve.ca, "--resolve", f"localhost:{serve.port}:{host}",
                         "-H", f"Authorization: Bearer {serve.key}", f"https://localhost:{serve.port}/v1/models")
        return result.stdout, result.returncode

    assert curl(1, lab.host_v4(1)) == ("200", 0)
    assert curl(1, lab.host_v6(1)) == ("200", 0)
    # The denied subnet is closed at accept, before any TLS: no HTTP answer.
    status, code = curl(2, lab.host_v4(2))
    assert status == "000" and code in (35, 52, 56), (status, code)
    status, code = curl(2, lab.host_v6(2))
    assert status == "000" and code in (35, 52, 56), (status, code)


def test_the_backend_answers_only_the_proxy_with_its_per_start_key(serve):
    backend = f"http://127.0.0.1:{serve.backend_port}"
    # A local process (or a browser page) going around the proxy's authentication:
    error = httpx.get(backend + "/v1/models").json()["error"]
    assert httpx.get(backend + "/v1/models").status_code == 401 and error["code"] == "missing_api_key"
    # A client's own key is the proxy's business, not the backend's.
    assert httpx.get(backend + "/v1/models", headers={"authorization": f"Bearer {serve.key}"}).status_code == 401
    assert httpx.post(backend + "/v1/chat/completions", json={"model": "m", "messages": []}).status_code == 401
    # Health answers without the key (the supervisor and probes use it), and says nothing more.
    assert httpx.get(backend + "/health").json() == {"status": "ok"}
    # Through the proxy with a client key: the proxy sends the backend's key.
    status, body = serve.curl("/v1/models", key=serve.key)
    assert status == "200", body
    # A browser client the proxy admitted keeps its Origin upstream: with the key, the backend serves it.
    status, body = serve.curl("/v1/models", "-H", "Origin: https://app.example", key=serve.key)
    assert status == "200", body
    # The key is in a file only the owner reads, for `lmgate status`, and on no command line.
    key_file = serve.home / f"backend-{serve.backend_port}.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    secret = key_file.read_text().strip()
    assert httpx.get(backend + "/v1/models", headers={"authorization": f"Bearer {secret}"}).status_code == 200
    for pid in (serve.process.pid, serve.backend_pid()):
        assert secret.encode() not in pathlib.Path(f"/proc/{pid}/cmdline").read_bytes()


def test_status_shows_the_model_request_counts_keys_and_users(serve, bin_dir):
    # Runs after requests were made above; reads the same LMGATE_HOME.
    result = subprocess.run([str(bin_dir / "lmgate"), "status"], capture_output=True, text=True, timeout=30,
                            env={**os.environ, "LMGATE_HOME": str(serve.home)})
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"serving {model_id(serve)} (qwen2, F16, 512, pinned)" in out
    requests = int(out.split("  requests ")[1].split(" ")[0])
    assert requests >= 5
    assert "main" in out and "admin" in out and serve.key not in out  # names and prefixes, never the key
    assert "users (" in out


def test_killed_backend_gives_502_then_comes_back(serve):
    pid = serve.backend_pid()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: serve.backend_pid() != pid, timeout=5)
    status, body = serve.curl("/v1/models", key=serve.key)
    assert status in ("502", "503"), body  # down, or up but still loading its model
    # Supervised: started again, and served once its model is loaded.
    assert wait_for(lambda: serve.curl("/v1/models", key=serve.key)[0] == "200", timeout=60)
    assert serve.backend_pid() not in (None, pid)
    assert "backend stopped, starting it again" in serve.log_text()


def test_sigterm_drains_both_parts(bin_dir, fixtures, tmp_path):
    server = Serve(bin_dir, tmp_path, fixtures / "models" / MODEL)
    try:
        server.wait_ready()
        backend = server.backend_pid()
        client = openai_client(server, server.key)
        stream = client.completions.create(model=model_id(server), prompt="Once", max_tokens=200, temperature=0,
                                           logit_bias=NO_END, stream=True)
        first = next(iter(stream))
        assert first.choices[0].text is not None
        server.process.send_signal(signal.SIGTERM)
        rest = list(stream)  # the open stream finishes during the drain
        assert rest[-1].choices[0].finish_reason == "length"
        assert server.process.wait(timeout=30) == 0
        assert wait_for(lambda: subprocess.run(["kill", "-0", str(backend)], capture_output=True).returncode != 0,
                        timeout=15)
    finally:
        server.stop()


def test_backend_does_not_outlive_a_killed_serve(bin_dir, fixtures, tmp_path):
    server = Serve(bin_dir, tmp_path, fixtures / "models" / MODEL)
    try:
        server.wait_ready()
        backend = server.backend_pid()
        server.process.kill()  # no chance to stop the backend itself
        server.process.wait()
        assert wait_for(lambda: subprocess.run(["kill", "-0", str(backend)], capture_output=True).returncode != 0,
                        timeout=15)
    finally:
        server.stop()
