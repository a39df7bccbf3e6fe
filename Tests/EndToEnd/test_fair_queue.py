"""Fair queuing at the gateway, end to end: `lmgate proxy` with
`queue.upstream_slots=1` in front of the real `lmgate backend --parallel 1`
(one request generated at a time) serving the smallest fixture model (fast
to load; each of A's streams is 400 tokens long so that it lasts), keys made
with `lmgate keys create`.

Client A queues 20 streaming chat completions, then client B sends one with
the real OpenAI SDK: B's first token arrives before A's third stream
completes (without fair queuing it would come after all twenty). Then A
gives up on its waiting requests: they leave the queue at once, and the
slot is given back when the running one's client hangs up too (the proxy's
/metrics).
"""
import json
import re
import socket
import threading
import time

import openai

from access_support import Proxy, create_key, wait_for
from backend_support import BackendProcess
from conftest import FIXTURES, free_port

import httpx2 as httpx

MODEL_PATH = FIXTURES / "models" / "tiny-llama-spm-f16.gguf"
PROMPT = [{"role": "user", "content": "Count from one to twenty."}]
A_REQUESTS = 20


class RawStream:
    """One streaming chat completion on its own socket, read on a thread:
    when its first token came and when it completed (`data: [DONE]`), by
    `time.monotonic()`. `close()` hangs up, as a client that gives up."""

    def __init__(self, port, key, body):
        data = json.dumps(body).encode()
        self.socket = socket.create_connection(("127.0.0.1", port), timeout=120)
        self.socket.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Authorization: Bearer %s\r\nContent-Length: %d\r\n\r\n%s" % (key.encode(), len(data), data))
        self.first_token = None
        self.done = None
        self.status = None
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        received = b""
        try:
            while self.done is None:
                chunk = self.socket.recv(65536)
                if not chunk:
                    return
                received += chunk
                if self.status is None and b"\r\n" in received:
                    self.status = int(received.split(b" ", 2)[1])
                if self.first_token is None and re.search(rb'"content":"[^"]', received):
                    self.first_token = time.monotonic()
                if b"data: [DONE]" in received:
                    self.done = time.monotonic()
        except OSError:
            return

    def hang_up(self):
        try:
            self.socket.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def close(self):
        try:
            # shutdown() sends the FIN now: a plain close() would wait for the reading thread's recv() to return.
            self.socket.shutdown(socket.SHUT_RDWR)
            self.socket.close()
        except OSError:
            pass


def proxy_metric(admin_port, name):
    text = httpx.get(f"http://127.0.0.1:{admin_port}/metrics", timeout=5).text
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} is not among the proxy's metrics")


def test_a_second_clients_one_request_goes_before_the_first_clients_twenty(bin_dir, tmp_path):
    keys = tmp_path / "keys"
    key_a = create_key(bin_dir, keys, "client-a")
    key_b = create_key(bin_dir, keys, "client-b")
    admin_port = free_port()
    with BackendProcess(bin_dir, MODEL_PATH, "--parallel", "1") as backend:
        model = httpx.get(f"{backend.base_url}/v1/models", timeout=10).json()["data"][0]["id"]
        proxy = Proxy(bin_dir, tmp_path, backend.base_url, "--keys", str(keys),
                      "--admin-listen", f"127.0.0.1:{admin_port}", "--set", "queue.upstream_slots=1")
        streams = []
        try:
            body = {"model": model, "messages": PROMPT, "stream": True, "max_tokens": 400, "temperature": 0,
                    "ignore_eos": True}
            streams = [RawStream(proxy.port, key_a, body) for _ in range(A_REQUESTS)]
            waiting = 'lmgate_proxy_queue_waiting{priority="normal"}'
            # At most two of A's were given the slot yet: the rest wait at the proxy.
            assert wait_for(lambda: proxy_metric(admin_port, waiting) >= A_REQUESTS - 2, timeout=30), \
                "A's requests did not queue"

            waiting_when_sent = proxy_metric(admin_port, waiting)
            sent = time.monotonic()
            b_client = openai.OpenAI(base_url=f"{proxy.url}/v1", api_key=key_b, max_retries=0, timeout=120)
            b_first_token = None
            for chunk in b_client.chat.completions.create(
                    model=model, messages=PROMPT, stream=True, max_tokens=8, temperature=0):
                if b_first_token is None and chunk.choices and chunk.choices[0].delta.content:
                    b_first_token = time.monotonic()
            assert b_first_token is not None, "B's stream had no token"

            assert wait_for(lambda: sum(s.done is not None for s in streams) >= 3, timeout=60), \
                "A's third stream never completed"
            completions = sorted(s.done for s in streams if s.done is not None)
            assert all(s.status in (None, 200) for s in streams)
            print(f"B sent with {waiting_when_sent:.0f} of A's waiting; B's first token "
                  f"{b_first_token - sent:.2f} s after, A's third completion {completions[2] - sent:.2f} s after")
            # B's one request overtook 17 or more of A's queued twenty.
            assert b_first_token < completions[2], (
                f"B's first token came {b_first_token - sent:.2f} s after it was sent, A's third stream "
                f"completed {completions[2] - sent:.2f} s after B was sent")

            # A gives up on the requests still waiting (no response yet): they leave the queue at once, not
            # through it (at most the one or two whose turn came meanwhile are admitted), while one of A's runs.
            admitted = 'lmgate_proxy_queue_admitted_total{waited="yes"}'
            admitted_before = proxy_metric(admin_port, admitted)
            abandoned_before = proxy_metric(admin_port, "lmgate_proxy_queue_abandoned_total")
            giving_up = [stream for stream in streams if stream.status is None]
            assert len(giving_up) >= A_REQUESTS - 6
            # All hang up at once (shutdown sends each FIN now; one at a time with close() the reading threads'
            # wake-ups stretched this out under load, and a request still open when its turn came is served).
            for stream in giving_up:
                stream.hang_up()
            for stream in giving_up:
                stream.close()
            assert wait_for(lambda: proxy_metric(admin_port, waiting) == 0, timeout=10)
            admitted_meanwhile = proxy_metric(admin_port, admitted) - admitted_before
            print(f"{admitted_meanwhile:.0f} of the {len(giving_up)} given-up requests admitted")
            assert admitted_meanwhile <= 2
            assert proxy_metric(admin_port, "lmgate_proxy_queue_abandoned_total") - abandoned_before >= len(giving_up) - 2
            # And the slot comes back when the running one's client hangs up too.
            for stream in streams:
                stream.close()
            assert wait_for(lambda: proxy_metric(admin_port, "lmgate_proxy_upstream_slots_in_use") == 0, timeout=10)
        finally:
            for stream in streams:
                stream.close()
            proxy.stop()
