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
  those answered during the outage included;
- login lockouts and a key's request rate are shared too: failures spread
  over both replicas lock the address out on both, a rate of N per hour
  admits at most N + one request per replica across both; PostgreSQL
  stopped: both go on counting alone (nobody is locked out for it, a rated
  key is still served), and what they counted meanwhile is merged when it
  is back.
"""
import http.server
import json
import pathlib
import subprocess
import time

import openai
import pytest

from access_support import LoopbackUpstream, Proxy, create_key, request, wait_for
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


def alternate_until_refused(replicas, key, attempts):
    """Asks the replicas in turn with `key` until one refusal (429) from each, or `attempts`
    requests; returns how many were served and the refusals."""
    served, refusals = 0, []
    for index in range(attempts):
        try:
            ask(replicas[index % len(replicas)], key)
            served += 1
        except openai.RateLimitError as error:
            refusals.append(error)
            if len(refusals) == len(replicas):
                break
    return served, refusals


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
        served, refusals = alternate_until_refused(replicas, quota, attempts=40)
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


MAX_FAILURES, RATE = 6, 8


def attempt(replica, key, address):
    """A request with `key` from the client `address` (X-Forwarded-For: the replicas trust loopback); its status."""
    status, _, _ = request(replica.port, headers={"Authorization": f"Bearer {key}", "X-Forwarded-For": address})
    return status


def locked_out(replica, key, address):
    """Whether `address` is locked out on `replica`: refused before its (valid) `key` is looked at."""
    status, _, body = request(replica.port, headers={"Authorization": f"Bearer {key}", "X-Forwarded-For": address})
    return status == 429 and body["error"]["code"] == "too_many_failed_attempts"


def test_two_replicas_share_lockouts_and_a_rate_limit_and_count_alone_in_an_outage(bin_dir, tmp_path, cluster):
    upstream = MeteredUpstream()
    keys = tmp_path / "keys"
    rated = create_key(bin_dir, keys, "rated")
    probe = create_key(bin_dir, keys, "probe")
    served = create_key(bin_dir, keys, "served")
    wrong = "sk-lmgate-" + "0" * 40
    config = tmp_path / "lmgate.yaml"
    config.write_text(f"listen: [\"127.0.0.1:9\"]\nupstreams: [\"{upstream.url}\"]\n"
                      f"state:\n  postgres: {cluster.url}\n  postgres_password_file: {cluster.password_file}\n"
                      f"access:\n  trusted_proxies: [\"127.0.0.1\"]\n"
                      f"auth:\n  lockout:\n    max_failures: {MAX_FAILURES}\n    window: 5m\n    duration: 5m\n"
                      f"  rate_limit: {RATE}/h\n")
    replicas = [Proxy(bin_dir, tmp_path, upstream.url, "--keys", str(keys), "--config", str(config)) for _ in range(2)]
    try:
        # Lockout: 3 failures on one replica, 2 on the other: not yet (5 of 6), on either.
        for index in range(MAX_FAILURES - 1):
            assert attempt(replicas[index % 2], wrong, "198.51.100.7") == 401
        time.sleep(0.5)  # a few exchanges (every 100 ms)
        for replica in replicas:
            assert not locked_out(replica, probe, "198.51.100.7")
        # The sixth, on either, locks the address out on both (within an exchange on the other).
        assert attempt(replicas[1], wrong, "198.51.100.7") == 401
        assert locked_out(replicas[1], probe, "198.51.100.7")
        assert wait_for(lambda: locked_out(replicas[0], probe, "198.51.100.7"), timeout=2), replicas[0].log_text()
        assert not locked_out(replicas[0], probe, "198.51.100.8")

        # The rate: a client alternating between the replicas, each answer slower than an exchange.
        admitted, refusals = alternate_until_refused(replicas, rated, attempts=3 * RATE)
        print(f"two replicas admitted {admitted} requests at a rate of {RATE}/h")
        # Not charged twice (at least the rate), and past it by at most one request per replica.
        assert RATE <= admitted <= RATE + 2, admitted
        assert len(refusals) == 2
        for refusal in refusals:
            assert refusal.body["code"] == "rate_limit_exceeded"
            assert int(refusal.response.headers["retry-after"]) >= 1

        # PostgreSQL stops: each replica counts alone. Nobody is locked out for it, a key with a
        # rate limit (and no token quota) is served, and the lockout in force holds.
        cluster.stop()
        for replica in replicas:
            assert wait_for(lambda: "state.unavailable" in replica.log_text(), timeout=10), replica.log_text()
            assert ask(replica, served).choices
            assert locked_out(replica, probe, "198.51.100.7")
        # Failures of another address during the outage: 2 + 2 of 6, locked out on neither.
        for index in range(4):
            assert attempt(replicas[index % 2], wrong, "203.0.113.5") == 401
        for replica in replicas:
            assert not locked_out(replica, probe, "203.0.113.5")

        # Started again: both recover on their own and merge what they counted alone: 4, so two more lock it out.
        cluster.start()
        for replica in replicas:
            assert wait_for(lambda: "state.available" in replica.log_text(), timeout=20), replica.log_text()
        time.sleep(0.5)
        assert attempt(replicas[0], wrong, "203.0.113.5") == 401
        assert attempt(replicas[1], wrong, "203.0.113.5") == 401
        for replica in replicas:
            assert wait_for(lambda: locked_out(replica, probe, "203.0.113.5"), timeout=2), replica.log_text()
            log = replica.log_text()
            events = [line.rsplit(" ", 1)[-1] for line in log.splitlines()]
            assert events.count("state.unavailable") == 1 and events.count("state.available") == 1, log
            assert cluster.password not in log
    finally:
        for replica in replicas:
            replica.stop()
        upstream.stop()

    # psql: addresses and identities were stored, never a key.
    stored = cluster.psql("lmgate", "SELECT address FROM login_lockouts ORDER BY address")
    assert stored.split() == ["198.51.100.7", "203.0.113.5"]
    dump = cluster.psql("lmgate", "SELECT string_agg(address, ',') FROM login_failures") + \
        cluster.psql("lmgate", "SELECT string_agg(identity, ',') FROM request_counts")
    assert all(key not in dump for key in (rated, probe, served, wrong))
    assert "key:rated" in dump
