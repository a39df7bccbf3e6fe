"""Helpers of the differential forwarding test: a raw upstream that records
the exact bytes a proxy sends it and parses them strictly with h11, a raw TLS
client, nginx as the reference proxy, and the checks a forwarded request
must pass (the corpus is in `differential_corpus`).

The question each variant asks: do the requests that reach the upstream
re-parse into exactly the requests the proxy answered for, each framed as
the client framed it, with the target normalized and the identity set by the
proxy? (See "Trust boundaries" in the design notes.)
"""
import dataclasses
import os
import pathlib
import re
import socket
import ssl
import subprocess
import threading
import time

import h11

from conftest import free_port, stop_process
from differential_corpus import ParsedRequest, normalized_target, reference_requests

IDENTITY_HEADER = "x-authenticated-user"
PUBLIC_PATHS = {"/health"}


def make_certificate(bin_dir, directory):
    """A certificate and key made by `lmgate cert` in `directory`: (cert, key) paths."""
    cert, key = pathlib.Path(directory) / "cert.pem", pathlib.Path(directory) / "key.pem"
    subprocess.run([str(pathlib.Path(bin_dir) / "lmgate"), "cert", "--cert", str(cert), "--key", str(key)],
                   check=True, capture_output=True)
    return cert, key


def tls_client_context():
    """A client context for the test's own certificate: the tests check HTTP, not TLS."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


@dataclasses.dataclass
class UpstreamConnectionRecord:
    """One upstream connection: its bytes, the requests h11 read, what it refused."""
    raw: bytearray = dataclasses.field(default_factory=bytearray)
    requests: list = dataclasses.field(default_factory=list)
    errors: list = dataclasses.field(default_factory=list)


class RawRecordingUpstream:
    """A plain-socket HTTP/1.1 server on loopback that records the exact bytes
    of each connection and parses them with h11 as a server. Every request it
    parses is answered with `X-Upstream: 1` and its method and target echoed
    in the body. ``collect()`` closes every open connection and returns what
    arrived since the last call."""

    def __init__(self):
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(128)
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.records = []
        self.open = {}  # socket -> thread
        self.last_activity = time.monotonic()
        self.running = True
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def _accept(self):
        while self.running:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            record = UpstreamConnectionRecord()
            thread = threading.Thread(target=self._serve, args=(client, record), daemon=True)
            with self.lock:
                self.records.append(record)
                self.open[client] = thread
                self.last_activity = time.monotonic()
            thread.start()

    def _serve(self, client, record):
        connection = h11.Connection(h11.SERVER)
        current = None
        try:
            while True:
                data = client.recv(65536)
                with self.lock:
                    record.raw += data
                    self.last_activity = time.monotonic()
                connection.receive_data(data)
                while True:
                    event = connection.next_event()
                    if event is h11.NEED_DATA or event is h11.PAUSED:
                        break
                    if isinstance(event, h11.ConnectionClosed):
                        return self._note_unfinished(connection, record)
                    if isinstance(event, h11.Request):
                        current = ParsedRequest.starting(event)
                    elif isinstance(event, h11.Data):
                        current.body += bytes(event.data)
                    elif isinstance(event, h11.EndOfMessage):
                        with self.lock:
                            record.requests.append(current)
                        self._answer(connection, client, current)
                        if connection.our_state is h11.MUST_CLOSE:
                            return
                        connection.start_next_cycle()
                if not data:
                    return self._note_unfinished(connection, record)
        except h11.ProtocolError as error:
            with self.lock:
                record.errors.append(f"h11: {error}")
        except OSError:
            self._note_unfinished(connection, record)
        finally:
            client.close()

    @staticmethod
    def _answer(connection, client, request):
        echo = f"{request.method} {request.target}\n".encode()
        # A 2xx to CONNECT or a 101 would switch protocols; this upstream never does.
        status = 404 if request.method == "CONNECT" else 200
        data = connection.send(h11.Response(status_code=status, headers=[
            ("x-upstream", "1"), ("content-type", "text/plain"), ("content-length", str(len(echo)))]))
        if request.method != "HEAD":
            data += connection.send(h11.Data(data=echo))
        data += connection.send(h11.EndOfMessage())
        client.sendall(data)

    def _note_unfinished(self, connection, record):
        pending = connection.trailing_data[0]
        if connection.their_state not in (h11.IDLE, h11.DONE, h11.MUST_CLOSE, h11.CLOSED) or pending:
            with self.lock:
                record.errors.append(f"connection ended inside a request ({len(pending)} bytes unparsed, "
                                     f"state {connection.their_state})")

    def requests_so_far(self):
        """How many requests arrived since the last ``collect()``."""
        with self.lock:
            return sum(len(record.requests) for record in self.records)

    def collect(self, quiet=0.03, limit=2.0):
        """Waits until nothing has arrived for `quiet` seconds, closes every
        connection and returns the records since the last call."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline and time.monotonic() - self.last_activity < quiet:
            time.sleep(0.005)
        with self.lock:
            open_now = dict(self.open)
            self.open = {}
        for client, thread in open_now.items():
            try:
                client.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            thread.join(timeout=2)
        with self.lock:
            records, self.records = self.records, []
        return records

    def stop(self):
        self.running = False
        self.listener.close()
        self.collect(quiet=0)


def strictness_violations(raw):
    """What a strict HTTP/1.1 reader would refuse in bytes a proxy sent
    upstream, beyond what h11 checks (h11 accepts bare LF and obs-fold).
    The corpus's bodies contain neither a bare LF nor CRLF + whitespace, so a
    match anywhere in the stream is one in a head."""
    found = []
    if re.search(rb"(?<!\r)\n", bytes(raw)):
        found.append("bare LF")
    if re.search(rb"\r\n[ \t]", bytes(raw)):
        found.append("obs-fold")
    return found


@dataclasses.dataclass
class ClientOutcome:
    """What a client read back for one variant."""
    responses: list  # (status, lower-cased header dict)
    closed: bool
    error: str = None

    @property
    def from_upstream(self):
        return upstream_answers(self.responses)

    @property
    def refused(self):
        return self.from_upstream == 0


def upstream_answers(responses):
    """How many of the (status, headers) responses came from the upstream (its marker)."""
    return sum(1 for _, headers in responses if headers.get("x-upstream") == "1")


def send_raw(port, variant, upstream, idle=0.5, limit=2.0):
    """Sends a variant's bytes over TLS and reads the answers (parsed with h11
    as a client) until the proxy closes, answers every request, announces
    `Connection: close`, or neither it nor the upstream has done anything
    for `idle` seconds while every request the upstream saw has been
    answered (at most `limit` seconds in all)."""
    context = tls_client_context()
    deadline = time.monotonic() + limit
    received = bytearray()
    closed = False
    with socket.create_connection(("127.0.0.1", port), timeout=limit) as plain:
        with context.wrap_socket(plain, server_hostname="localhost") as tls:
            try:
                tls.sendall(variant.raw)
            except OSError:
                pass  # refused early; read what was answered
            last_read = time.monotonic()
            tls.settimeout(0.05)
            while time.monotonic() < deadline:
                try:
                    data = tls.recv(65536)
                except (socket.timeout, TimeoutError):
                    quiet_since = max(last_read, upstream.last_activity)
                    answered = upstream_answers(parse_responses(received, variant.methods)[0])
                    # Quiet, and no upstream answer still on its way through the proxy.
                    if time.monotonic() - quiet_since >= idle and upstream.requests_so_far() <= answered:
                        break
                    continue
                except OSError:
                    closed = True
                    break
                if not data:
                    closed = True
                    break
                received += data
                last_read = time.monotonic()
                responses, _, final = parse_responses(received, variant.methods)
                if final:
                    break
                if len(responses) >= len(variant.methods):
                    # Everything asked was answered; a moment more shows any extra answer.
                    deadline = min(deadline, time.monotonic() + 0.05)
    responses, error, _ = parse_responses(received, variant.methods, closed)
    return ClientOutcome(responses, closed, error)


def parse_responses(data, methods, closed=False):
    """The complete responses in `data` (h11 as a client; the n-th response
    read as the answer to the n-th request's method), any parse error, and
    whether the last one announced that the connection ends."""
    connection = h11.Connection(h11.CLIENT)
    connection.receive_data(bytes(data))
    if closed:
        connection.receive_data(b"")
    responses = []
    try:
        while True:
            method = methods[len(responses)] if len(responses) < len(methods) else "GET"
            connection.send(h11.Request(method=method, target="/", headers=[("host", "x")]))
            connection.send(h11.EndOfMessage())
            head = None
            while True:
                event = connection.next_event()
                if event is h11.NEED_DATA or isinstance(event, h11.ConnectionClosed) or event is h11.PAUSED:
                    return responses, None, False
                if isinstance(event, h11.Response):
                    head = (event.status_code, {k.decode().lower(): v.decode("latin-1") for k, v in event.headers})
                elif isinstance(event, h11.EndOfMessage):
                    break
            responses.append(head)
            if connection.their_state is not h11.DONE or connection.our_state is not h11.DONE:
                return responses, None, True
            connection.start_next_cycle()
    except h11.ProtocolError as error:
        return responses, str(error), True


def check_forwarded(variant, outcome, records, identity):
    """What is wrong with what one proxy forwarded for `variant`: a list of
    failure descriptions, empty when the upstream saw exactly the requests
    the proxy answered for, as the client framed them, rewritten as the
    trust boundary asks."""
    failures = []
    intended, refusal = reference_requests(variant.raw)
    forwarded = [request for record in records for request in record.requests]
    for record in records:
        failures += [f"upstream could not parse: {error}" for error in record.errors]
        failures += [f"upstream bytes not strict HTTP/1.1: {found}" for found in strictness_violations(record.raw)]
    if len(forwarded) != outcome.from_upstream:
        failures.append(f"upstream parsed {len(forwarded)} requests, the client got {outcome.from_upstream} upstream answers")
    unmatched = list(intended)
    for request in forwarded:
        # The same request: by its tag and method, and by its target where
        # that tells apart untagged requests (the known variant's).
        same = [candidate for candidate in unmatched
                if candidate.variant_tag == request.variant_tag and candidate.method == request.method]
        match = next((candidate for candidate in same if normalized_target(candidate.target) == request.target),
                     same[0] if same and request.variant_tag else None)
        if match is None:
            reason = f" (a strict parser stops before it: {refusal})" if refusal else ""
            failures.append(f"forwarded {request.method} {request.target!r} (tag {request.variant_tag}), "
                            f"which the client did not send as a request{reason}")
            continue
        unmatched.remove(match)
        failures += [f"{request.method} {match.target!r}: {problem}"
                     for problem in _problems(variant, match, request, identity)]
    return failures


def _problems(variant, sent, forwarded, identity):
    problems = []
    expected = normalized_target(sent.target)
    if expected is None:
        problems.append(f"forwarded as {forwarded.target!r}; this target must be refused")
    elif forwarded.target != expected:
        problems.append(f"forwarded as {forwarded.target!r}, not normalized to {expected!r}")
    if variant.ambiguous:
        problems.append("forwarded an ambiguously framed request")
    if sent.method in ("TRACE", "CONNECT"):
        problems.append(f"forwarded {sent.method}")
    if sent.header_values("upgrade"):
        problems.append("forwarded an Upgrade request")
    if forwarded.header_values("content-length") and forwarded.header_values("transfer-encoding"):
        problems.append("forwarded with both Content-Length and Transfer-Encoding")
    if forwarded.body != sent.body:
        problems.append(f"body of {len(forwarded.body)} bytes, the client sent {len(sent.body)}")
    for name in ("authorization", "x-api-key", "proxy-authorization"):
        if forwarded.header_values(name):
            problems.append(f"credentials forwarded ({name})")
    if len(forwarded.header_values("host")) != 1:
        problems.append(f"{len(forwarded.header_values('host'))} Host fields")
    for name in ("x-forwarded-for", "x-request-id"):
        if not forwarded.header_values(name):
            problems.append(f"{name} missing")
    if forwarded.header_values("x-forwarded-proto") != ["https"]:
        problems.append(f"X-Forwarded-Proto {forwarded.header_values('x-forwarded-proto')}, expected ['https']")
    # The client's Host travels as X-Forwarded-Host; no `Connection` token may drop it.
    if forwarded.header_values("x-forwarded-host") != sent.header_values("host"):
        problems.append(f"X-Forwarded-Host {forwarded.header_values('x-forwarded-host')}, "
                        f"but the client sent Host {sent.header_values('host')}")
    path = forwarded.target.split("?")[0]
    users = forwarded.header_values(IDENTITY_HEADER)
    if path in PUBLIC_PATHS:
        # A public path needs no identity; if one is sent it must be the proxy's.
        allowed = ([], [identity]) if variant.key_sent else ([],)
        if users not in allowed:
            problems.append(f"identity header {users} on a public path")
    elif not variant.key_sent:
        problems.append("forwarded a non-public path without credentials")
    elif users != [identity]:
        problems.append(f"identity header {users}, expected [{identity!r}]")
    return problems


class Nginx:
    """nginx as the reference TLS reverse proxy: the same certificate,
    `proxy_pass` to the given upstream over HTTP/1.1, no authentication."""

    def __init__(self, directory, cert, key, upstream_url):
        self.port = free_port()
        self.directory = pathlib.Path(directory) / f"nginx-{self.port}"
        self.directory.mkdir()
        user = "user root;" if os.getuid() == 0 else ""
        config = self.directory / "nginx.conf"
        config.write_text(f"""{user}
worker_processes 1;
daemon off;
pid {self.directory}/nginx.pid;
error_log {self.directory}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {self.directory}/body;
    proxy_temp_path {self.directory}/proxy;
    fastcgi_temp_path {self.directory}/fastcgi;
    uwsgi_temp_path {self.directory}/uwsgi;
    scgi_temp_path {self.directory}/scgi;
    server {{
        listen 127.0.0.1:{self.port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        location / {{ proxy_pass {upstream_url}; proxy_http_version 1.1; }}
    }}
}}
""")
        self.process = subprocess.Popen(["nginx", "-c", str(config), "-p", str(self.directory)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited: {(self.directory / 'error.log').read_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("nginx did not start")

    def stop(self):
        stop_process(self.process, timeout=10)
