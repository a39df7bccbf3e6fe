"""Two `lmgate proxy` replicas sharing one PostgreSQL server (state.postgres),
with the real OpenAI SDK as the client and a scripted upstream whose every
answer reports the same usage:

- a token quota of N is enforced across both: a client alternating between
  the replicas is served at most N + one request's worth per replica;
- PostgreSQL stopped mid-run: requests of a key with a quota get 503 with
  Retry-After and an OpenAI-style body (state.on_unavailable: closed, the
  default), a key without one is still served, each replica logs
  `state.unavailable` once; PostgreSQL started again: both recover without
  a restart, and `lmgate usage` (reading PostgreSQL) counts every request,
  those answered during the outage included.
"""
import http.server
import json
import pathlib
import subprocess
import time

import openai
import pytest

from access_support import LoopbackUpstream, Proxy, create_key, wait_for
from conftest import free_port
from postgres_support import TemporaryPostgres

PROMPT_TOKENS, COMPLETION_TOKENS = 20, 10
PER_REQUEST = PROMPT_TOKENS + COMPLETION_TOKENS
QUOTA = 300


class MeteredUpstream(LoopbackUpstream):
    """An OpenAI-shaped upstream whose chat completions take `delay` seconds
    (longer than the replicas' 100 ms exchange) and report fixed usage."""

    def __init__(self, delay=0.25):
        self.port = free_port()
        self.served = 0
        upstream = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers.get("content-length") or 0))
                time.sleep(delay)
                upstream.served += 1
                data = json.dumps({
                    "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": "metered",
                    "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "ok"}}],
                    "usage": {"prompt_tokens": PROMPT_TOKENS, "completion_tokens": COMPLETION_TOKENS,
                              "total_tokens": PER_REQUEST},
                }).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.serve(Handler)


@pytest.fixture
def cluster():
    postgres = TemporaryPostgres()
    yield postgres
    postgres.destroy()


def ask(proxy, key):
    client = openai.OpenAI(base_url=f"{proxy.url}/v1", api_key=key, max_retries=0, timeout=20)
    return client.chat.completions.create(model="metered", messages=[{"role": "user", "content": "hi"}], max_tokens=4)


def status_of(proxy, key):
    try:
        ask(proxy, key)
        return 200
    except openai.APIStatusError as error:
        return error.status_code


def test_two_replicas_share_a_quota_and_ride_out_an_outage(bin_dir, tmp_path, cluster):
    upstream = MeteredUpstream()
    keys = tmp_path / "keys"
    quota = create_key(bin_dir, keys, "quota", "--tokens-per-day", str(QUOTA))
    spare = create_key(bin_dir, keys, "spare", "--tokens-per-day", "1000000")
    free = create_key(bin_dir, keys, "free")
    config = tmp_path / "lmgate.yaml"
    # The replicas' own --listen flags override the file's listen (which `lmgate usage` needs to load it).
    config.write_text(f"listen: [\"127.0.0.1:9\"]\nupstreams: [\"{upstream.url}\"]\n"
                      f"state:\n  postgres: {cluster.url}\n  postgres_password_file: {cluster.password_file}\n")
    replicas = [Proxy(bin_dir, tmp_path, upstream.url, "--keys", str(keys), "--config", str(config)) for _ in range(2)]
    try:
        # The quota, across both: alternate until refused by both.
        served, refusals = 0, []
        for attempt in range(40):
            try:
                ask(replicas[attempt % 2], quota)
                served += 1
            except openai.RateLimitError as error:
                refusals.append(error)
                if len(refusals) == 2:
                    break
        tokens = served * PER_REQUEST
        print(f"two replicas served {served} requests, {tokens} tokens, of a {QUOTA}-token quota")
        assert QUOTA <= tokens <= QUOTA + 2 * PER_REQUEST, (served, tokens)
        assert len(refusals) == 2, "the quota never took effect on both replicas"
        for refusal in refusals:
            assert refusal.body["code"] == "token_quota_exceeded"
            assert int(refusal.response.headers["retry-after"]) >= 1

        # PostgreSQL stops: closed, by default, for keys with a quota; a key without one is served.
        cluster.stop()
        for replica in replicas:
            assert wait_for(lambda: status_of(replica, spare) == 503, timeout=10), replica.log_text()
        for replica in replicas:
            with pytest.raises(openai.InternalServerError) as raised:
                ask(replica, spare)
            assert raised.value.status_code == 503
            assert raised.value.body["code"] == "shared_state_unavailable"
            assert int(raised.value.response.headers["retry-after"]) >= 1
            assert ask(replica, free).choices
        during_outage = 0
        for replica in replicas:
            for key in (spare, free):
                during_outage += 1
                status_of(replica, key)

        # Started again: both recover on their own (back-off at most 5 s).
        cluster.start()
        for replica in replicas:
            assert wait_for(lambda: status_of(replica, spare) == 200, timeout=20), replica.log_text()
        for replica in replicas:
            log = replica.log_text()
            events = [line.rsplit(" ", 1)[-1] for line in log.splitlines()]
            assert events.count("state.unavailable") == 1 and events.count("state.available") == 1, log
            assert "state.mode=closed" in log
            assert cluster.password not in log
    finally:
        for replica in replicas:
            replica.stop()
        upstream.stop()

    # Every request was counted in PostgreSQL (those of the outage written after it), read by `lmgate usage`.
    result = subprocess.run([str(pathlib.Path(bin_dir) / "lmgate"), "usage", "--json", "--by", "identity",
                             "--config", str(config)], check=True, capture_output=True, text=True)
    lines = {line["identity"]: line for line in json.loads(result.stdout)}
    assert lines["key:quota"]["requests"] == served + len(refusals)
    assert lines["key:quota"]["prompt_tokens"] == served * PROMPT_TOKENS
    assert lines["key:free"]["requests"] == 2 + 2
    # psql, an independent client, sees the day's shared quota count.
    day_tokens = cluster.psql("lmgate", "SELECT sum(tokens) FROM quota_windows WHERE identity = 'key:quota' AND quota_window = 'day'")
    assert int(day_tokens.strip()) == tokens
