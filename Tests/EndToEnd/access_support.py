"""Helpers of the access-control end-to-end tests: an upstream that records
what reaches it, the `lmgate proxy` process, htpasswd files made by Apache's
`htpasswd`, keys made by `lmgate keys`, and network namespaces with veth
pairs that give clients real, distinct source addresses.
"""
import contextlib
import http.client
import http.server
import json
import os
import pathlib
import random
import secrets
import socket
import subprocess
import threading
import time

from conftest import free_port, stop_process


class LoopbackUpstream:
    """A threaded HTTP server on 127.0.0.1:`self.port` (set by the subclass), until stop()."""

    def serve(self, handler):
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class RecordingUpstream(LoopbackUpstream):
    """An OpenAI- and Anthropic-shaped upstream on loopback that records the
    headers of every request it receives.

    - POST /v1/chat/completions: an OpenAI chat completion;
    - POST /v1/messages: an Anthropic message;
    - GET /stream/N: N server-sent events, 100 ms apart;
    - anything else: the request headers as JSON.
    """

    def __init__(self):
        self.port = free_port()
        self.seen = []  # dicts of lower-cased header names to values, in request order
        upstream = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _reply(self, body, content_type="application/json"):
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _record(self):
                headers = {k.lower(): v for k, v in self.headers.items()}
                upstream.seen.append(headers)
                length = int(self.headers.get("content-length") or 0)
                if length:
                    self.rfile.read(length)
                return headers

            def do_GET(self):
                headers = self._record()
                if self.path.startswith("/stream/"):
                    count = int(self.path.rsplit("/", 1)[1])
                    self.send_response(200)
                    self.send_header("content-type", "text/event-stream")
                    self.send_header("transfer-encoding", "chunked")
                    self.end_headers()
                    for index in range(count):
                        event = b"data: %d\n\n" % index
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
                        self.wfile.flush()
                        time.sleep(0.1)
                    self.wfile.write(b"0\r\n\r\n")
                    return
                self._reply(headers)

            def do_POST(self):
                headers = self._record()
                if self.path == "/v1/chat/completions":
                    self._reply({
                        "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": "test",
                        "choices": [{"index": 0, "finish_reason": "stop",
                                     "message": {"role": "assistant", "content": headers.get("x-authenticated-user", "")}}],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                    })
                elif self.path == "/v1/messages":
                    self._reply({
                        "id": "msg_1", "type": "message", "role": "assistant", "model": "test",
                        "content": [{"type": "text", "text": headers.get("x-authenticated-user", "")}],
                        "stop_reason": "end_turn", "stop_sequence": None,
                        "usage": {"input_tokens": 1, "output_tokens": 1},
                    })
                else:
                    self._reply(headers)

            do_OPTIONS = do_GET

        self.serve(Handler)


class Proxy:
    """`lmgate proxy` as a child process, its output in a log file."""

    def __init__(self, bin_dir, directory, upstream_url, *args, listen=None, port=None, env=None):
        # `port`: the port of the listener in `listen` that `url` and `port` name.
        self.port = port or free_port()
        self.listen = listen or [f"127.0.0.1:{self.port}"]
        self.log_path = pathlib.Path(directory) / f"proxy-{self.port}.log"
        command = [str(pathlib.Path(bin_dir) / "lmgate"), "proxy", "--upstream", upstream_url]
        for address in self.listen:
            command += ["--listen", address]
        command += list(args)
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            command, stdout=self.log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"lmgate proxy exited: {self.log_text()}")
            if "proxy listening" in self.log_text():
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"lmgate proxy did not start: {self.log_text()}")

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def log_text(self):
        return self.log_path.read_text()

    def stop(self):
        stop_process(self.process, timeout=10)
        self.log.close()


def make_htpasswd(path, users, cost=5):
    """An htpasswd file made by Apache's `htpasswd` with bcrypt at `cost`;
    returns the random password of each user."""
    passwords = {}
    for index, user in enumerate(users):
        password = secrets.token_urlsafe(12)
        flags = "-cbB" if index == 0 else "-bB"
        subprocess.run(["htpasswd", flags, "-C", str(cost), str(path), user, password],
                       check=True, capture_output=True)
        passwords[user] = password
    return passwords


def create_key(bin_dir, keys_file, name, *args):
    """Runs `lmgate keys create` and returns the key it prints."""
    result = subprocess.run([str(pathlib.Path(bin_dir) / "lmgate"), "keys", "create", name, "--file", str(keys_file), *args],
                            check=True, capture_output=True, text=True)
    return result.stdout.strip()


def lmgate_keys(bin_dir, keys_file, *args):
    return subprocess.run([str(pathlib.Path(bin_dir) / "lmgate"), "keys", *args, "--file", str(keys_file)],
                          check=True, capture_output=True, text=True).stdout


def request(port, path="/v1/models", headers=None, method="GET", host="127.0.0.1"):
    """One request on a fresh connection: (status, headers, parsed JSON body or text)."""
    connection = http.client.HTTPConnection(host, port, timeout=10)
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        body = response.read()
        try:
            body = json.loads(body)
        except ValueError:
            body = body.decode(errors="replace")
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body
    finally:
        connection.close()


def wait_for(condition, timeout=10.0, interval=0.05):
    """Polls until `condition()` is true; returns whether it became true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


class NetworkNamespaceLab:
    """Network namespaces, each joined to this host by a veth pair, so that
    clients run inside them connect from their own IPv4 and IPv6 addresses.

    Namespace `i` (from 1) has the subnet 10.N.i.0/24 and fd00:N:i::/64: the
    host side is .1 / ::1, the namespace side .2 / ::2. N is random and the
    names carry this process's id, so parallel runs do not collide. Used as a
    context manager: everything is deleted on exit, even after a failure.
    """

    def __init__(self, count):
        self.count = count
        self.tag = f"{os.getpid() % 100000}{random.randint(0, 99)}"
        used = subprocess.run(["ip", "-4", "addr"], capture_output=True, text=True).stdout
        self.octet = next(n for n in random.sample(range(100, 250), 150) if f" 10.{n}." not in used)
        self.namespaces = []

    def namespace(self, index):
        return f"lmg{self.tag}n{index}"

    def client_v4(self, index):
        return f"10.{self.octet}.{index}.2"

    def host_v4(self, index):
        return f"10.{self.octet}.{index}.1"

    def client_v6(self, index):
        return f"fd00:{self.octet}:{index}::2"

    def host_v6(self, index):
        return f"fd00:{self.octet}:{index}::1"

    def subnet_v4(self, index):
        return f"10.{self.octet}.{index}.0/24"

    def subnet_v6(self, index):
        return f"fd00:{self.octet}:{index}::/64"

    def __enter__(self):
        try:
            for index in range(1, self.count + 1):
                name, host_if, ns_if = self.namespace(index), f"lh{self.tag}{index}", f"lc{self.tag}{index}"
                self._ip("netns", "add", name)
                self.namespaces.append(name)
                self._ip("link", "add", host_if, "type", "veth", "peer", "name", ns_if)
                self._ip("link", "set", ns_if, "netns", name)
                self._ip("addr", "add", f"{self.host_v4(index)}/24", "dev", host_if)
                self._ip("-6", "addr", "add", f"{self.host_v6(index)}/64", "dev", host_if, "nodad")
                self._ip("link", "set", host_if, "up")
                self._ip("netns", "exec", name, "ip", "link", "set", "lo", "up")
                self._ip("netns", "exec", name, "ip", "addr", "add", f"{self.client_v4(index)}/24", "dev", ns_if)
                self._ip("netns", "exec", name, "ip", "-6", "addr", "add", f"{self.client_v6(index)}/64", "dev", ns_if, "nodad")
                self._ip("netns", "exec", name, "ip", "link", "set", ns_if, "up")
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        # Deleting a namespace deletes the veth pair with it.
        for name in self.namespaces:
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
        self.namespaces = []

    def run(self, index, *command):
        """Runs a command inside namespace `index`."""
        return subprocess.run(["ip", "netns", "exec", self.namespace(index), *command],
                              capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)

    @staticmethod
    def _ip(*args):
        subprocess.run(["ip", *args], check=True, capture_output=True)
