"""Runs the real `lmgate backend` binary for the end-to-end tests: on a free
loopback port, with a committed fixture model, one compute thread (the test
machine is shared), stopped with SIGTERM at the end."""
import json
import os
import pathlib
import re
import signal
import subprocess
import time

import httpx2 as httpx  # the HTTP client the OpenAI and Anthropic SDKs install

from conftest import free_port

#: The smallest fixture model (F16, 64 wide, context 512): llama.cpp agrees
#: with the exact top-1 token at every reference step, so greedy output can
#: be compared with llama.cpp's token for token.
MODEL = "tiny-llama-spm-f16"


class BackendProcess:
    """`lmgate backend` on 127.0.0.1:<free port>; a context manager."""

    def __init__(self, bin_dir: pathlib.Path, model_path: pathlib.Path, *extra: str, wait_ready: bool = True,
                 env: dict[str, str] | None = None):
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.model_path = model_path
        self.args = [str(bin_dir / "lmgate"), "backend", "--model", str(model_path),
                     "--port", str(self.port), "--threads", "1", *extra]
        self.wait_ready = wait_ready
        self.env = {**os.environ, **(env or {})}
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "BackendProcess":
        self.process = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                        env=self.env)
        if self.wait_ready:
            self.wait_for_health(200)
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> str:
        """Stops the server; returns everything it printed."""
        if self.process is None:
            return ""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        output = self.process.stdout.read() if self.process.stdout else ""
        self.process = None
        return output

    def wait_for_health(self, status: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"lmgate backend exited with {self.process.returncode}: {self.process.stdout.read()}")
            try:
                last = httpx.get(self.base_url + "/health", timeout=2).status_code
                if last == status:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"/health never answered {status} (last: {last})")

    def metrics(self) -> dict[str, float]:
        """The Prometheus samples, keyed by name with labels."""
        text = httpx.get(self.base_url + "/metrics", timeout=5).text
        samples = {}
        for line in text.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
        return samples

    def metric(self, name: str) -> float:
        return self.metrics().get(name, 0.0)

    def wait_for_metric(self, name: str, predicate, timeout: float = 10) -> float:
        """Polls /metrics until `predicate(value)`; returns the value."""
        deadline = time.monotonic() + timeout
        value = self.metric(name)
        while not predicate(value) and time.monotonic() < deadline:
            time.sleep(0.02)
            value = self.metric(name)
        return value

    def post(self, path: str, body, **kwargs) -> httpx.Response:
        content = body if isinstance(body, (bytes, str)) else json.dumps(body)
        return httpx.post(self.base_url + path, content=content, headers={"content-type": "application/json"},
                          timeout=60, **kwargs)


def sse_events(response: httpx.Response) -> list[tuple[str | None, str]]:
    """The (event name, data) pairs of a Server-Sent Events body."""
    events = []
    for block in re.split(r"\n\n", response.text):
        if not block.strip():
            continue
        name, data = None, []
        for line in block.split("\n"):
            if line.startswith("event: "):
                name = line[len("event: "):]
            elif line.startswith("data: "):
                data.append(line[len("data: "):])
        events.append((name, "\n".join(data)))
    return events


def reference(fixtures: pathlib.Path, model: str = MODEL) -> dict:
    return json.loads((fixtures / "models" / f"{model}.reference.json").read_text())
