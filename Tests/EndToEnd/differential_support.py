"""Helpers of the differential forwarding test: a corpus of hostile request
variants, a raw upstream that records the exact bytes each proxy sends it and
parses them strictly with h11, a raw TLS client, nginx as the reference
proxy, and the checks a forwarded request must pass.

The question each variant asks: do the requests that reach the upstream
re-parse into exactly the requests the proxy answered for, each framed as
the client framed it, with the target normalized and the identity set by the
proxy? (See "Trust boundaries" in the design notes.)
"""
import dataclasses
import pathlib
import random
import re
import socket
import ssl
import subprocess
import threading
import time

import h11

from conftest import free_port, stop_process

IDENTITY_HEADER = "x-authenticated-user"
PUBLIC_PATHS = {"/health"}

METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "CONNECT", "PATCH"]
FRAMINGS = ["none", "cl", "cl0", "chunked", "cl+te", "two-cl",
            "te:chunked, identity", "te:Chunked", "te: chunked", "te:xchunked"]
# Framings a recipient cannot read one way only: forwarding them at all is a failure.
AMBIGUOUS_FRAMINGS = {"cl+te", "two-cl", "te:chunked, identity", "te:xchunked"}
CONNECTION_TOKENS = [None, "close", "keep-alive", "content-length", "transfer-encoding", "host",
                     "x-forwarded-for", "x-authenticated-user", "upgrade"]
PIPELINING = ["none", "in-body", "after"]
FOLDS = ["none", "benign", "framing"]
LINE_ENDINGS = ["crlf", "bare-lf-one", "bare-lf-all"]
NAME_CASES = ["lower", "title", "upper"]
HOSTS = ["one", "none", "two"]
# Request targets; `normalized_target` says what a proxy must forward for each:
# /v1/models for the absolute form, %6d, /../ above the root and //; /admin/x
# for %61; /health for /./, /v1/../ and %2e%2e; a refusal for %2f, backslash,
# %00 and %zz.
TARGETS = ["/v1/models", "/health", "http://gw/v1/models", "/v1/%6dodels", "/%61dmin/x", "/admin%2fx",
           "/./health", "/v1/../health", "/../v1/models", "/v1/%2e%2e/health", "//v1//models", "/v1\\models",
           "/health%00", "/v1/mo%zzdels"]
BODY = b"hello=world"


@dataclasses.dataclass
class Variant:
    """One hostile input: the raw bytes a client sends on one connection."""
    id: int
    label: str
    raw: bytes
    key_sent: bool
    ambiguous: bool
    # Methods of the requests the client means to send, in order (to read HEAD responses right).
    methods: list


@dataclasses.dataclass
class ParsedRequest:
    method: str
    target: str
    headers: list  # (lower-case name, value) pairs, in order
    body: bytes

    def header_values(self, name):
        return [value for key, value in self.headers if key == name]

    @property
    def variant_tag(self):
        values = self.header_values("x-variant")
        return values[0] if values else None


def _name(name, case):
    if case == "upper":
        return name.upper()
    if case == "title":
        return "-".join(part.capitalize() for part in name.split("-"))
    return name


def _chunked(payload):
    return b"%x\r\n%s\r\n0\r\n\r\n" % (len(payload), payload) if payload else b"0\r\n\r\n"


def _follow_up(tag, key, host="gw"):
    auth = f"Authorization: Bearer {key}\r\n" if key else ""
    return f"GET /health HTTP/1.1\r\nHost: {host}\r\n{auth}X-Variant: {tag}\r\n\r\n".encode()


def make_variant(index, key, *, method, framing, token, pipelining, fold, line_ending, case, host, target, key_sent):
    """The raw bytes of one variant: a request carrying a forged identity,
    framed, folded and terminated as asked, maybe followed by a second."""
    tag = f"v{index}"
    smuggled = f"GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Variant: {tag}.smuggled\r\n\r\n".encode()
    payload = smuggled if pipelining == "in-body" else BODY
    lines = [f"{method} {target} HTTP/1.1"]
    if host in ("one", "two"):
        lines.append(f"{_name('host', case)}: gw")
    if host == "two":
        lines.append(f"{_name('host', case)}: other")
    lines.append(f"X-Variant: {tag}.0")
    lines.append("X-Authenticated-User: admin")
    if key_sent:
        lines.append(f"Authorization: Bearer {key}")
    if token:
        lines.append(f"{_name('connection', case)}: {token}")
        if token == "upgrade":
            lines.append("Upgrade: websocket")
    framing_line = None
    cl, te = _name("content-length", case), _name("transfer-encoding", case)
    body = b""
    if framing == "none":
        body = payload if pipelining == "in-body" else b""
    elif framing == "cl":
        framing_line = (cl, str(len(payload)))
        body = payload
    elif framing == "cl0":
        framing_line = (cl, "0")
        body = payload if pipelining == "in-body" else b""
    elif framing == "two-cl":
        lines.append(f"{cl}: 0")
        framing_line = (cl, str(len(payload)))
        body = payload
    elif framing == "cl+te":
        lines.append(f"{cl}: 4")
        framing_line = (te, "chunked")
        body = _chunked(payload)
    else:
        # `te: chunked` is written with whitespace before the value (OWS a recipient strips).
        coding = framing[len("te:"):]
        framing_line = (te, coding)
        body = _chunked(payload)
    framing_index = None
    if framing_line:
        name, value = framing_line
        if fold == "framing":
            lines.append(f"{name}:")
            lines.append(f" {value.strip()}")
        else:
            lines.append(f"{name}: {value}")
        framing_index = len(lines) - 1
    if fold == "benign" or (fold == "framing" and not framing_line):
        lines.append("X-Note: first")
        lines.append("\tsecond")
    ending_of = ["\r\n"] * len(lines)
    if line_ending == "bare-lf-all":
        ending_of = ["\n"] * len(lines)
    elif line_ending == "bare-lf-one":
        ending_of[framing_index if framing_index is not None else 1] = "\n"
    head = "".join(line + ending for line, ending in zip(lines, ending_of))
    head += "\n" if line_ending == "bare-lf-all" else "\r\n"
    raw = head.encode() + body
    methods = [method]
    if pipelining == "after":
        raw += _follow_up(f"{tag}.after", key if key_sent else None)
        methods.append("GET")
    label = (f"{method} {target!r} framing={framing} connection={token} pipelining={pipelining} fold={fold} "
             f"eol={line_ending} case={case} host={host} key={'yes' if key_sent else 'no'}")
    return Variant(index, label, raw, key_sent, framing in AMBIGUOUS_FRAMINGS, methods)


def build_corpus(key, seed=12):
    """The variants, generated: every framing × Connection token × pipelining
    mode (the other dimensions drawn with a fixed seed, mostly clean so that
    each variant tests few things at once), then every method × target with
    clean framing, then the known `Connection: content-length` smuggle."""
    rng = random.Random(seed)
    variants = []

    def pick(options, clean_odds=0.75):
        return options[0] if rng.random() < clean_odds else rng.choice(options[1:])

    for framing in FRAMINGS:
        for token in CONNECTION_TOKENS:
            for pipelining in PIPELINING:
                index = len(variants)
                variants.append(make_variant(
                    index, key, method=METHODS[index % len(METHODS)], framing=framing, token=token,
                    pipelining=pipelining, fold=pick(FOLDS), line_ending=pick(LINE_ENDINGS), case=rng.choice(NAME_CASES),
                    host=pick(HOSTS, 0.85), target=pick(TARGETS, 0.5), key_sent=index % 3 != 0))
    for method in METHODS:
        for target in TARGETS:
            index = len(variants)
            variants.append(make_variant(
                index, key, method=method, framing="cl", token=None, pipelining="none", fold="none",
                line_ending="crlf", case="title", host="one", target=target, key_sent=True))
    known = (b"GET /health HTTP/1.1\r\nHost: gw\r\nConnection: content-length\r\nContent-Length: 36\r\n\r\n"
             b"GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n"
             b"GET /health HTTP/1.1\r\nHost: gw\r\n\r\n")
    variants.append(Variant(len(variants), "known: Connection: content-length smuggles GET /v1/models", known,
                            False, False, ["GET", "GET"]))
    keyed = known.replace(b"Host: gw\r\nConnection", f"Host: gw\r\nAuthorization: Bearer {key}\r\nConnection".encode(), 1)
    variants.append(Variant(len(variants), "known, with a key", keyed, True, False, ["GET", "GET"]))
    return variants


def normalized_target(target):
    """The target a proxy must forward for `target`, or None if it must refuse
    it: absolute-form reduced to its path, unreserved percent-escapes decoded,
    dot segments and repeated slashes resolved; `%2F`, NUL, backslash and bad
    percent-encoding refused."""
    match = re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]*(.*)$", target)
    if match:
        target = match.group(1) or "/"
    if not target.startswith("/"):
        return None
    path, mark, query = target.partition("?")
    decoded = []
    index = 0
    while index < len(path):
        char = path[index]
        if char in "\\\x00":
            return None
        if char == "%":
            digits = path[index + 1:index + 3]
            if not re.fullmatch(r"[0-9a-fA-F]{2}", digits):
                return None
            value = chr(int(digits, 16))
            if value in "/\x00\\":
                return None
            decoded.append(value if re.fullmatch(r"[A-Za-z0-9._~-]", value) else "%" + digits.upper())
            index += 3
            continue
        decoded.append(char)
        index += 1
    segments = []
    parts = "".join(decoded).split("/")[1:]
    for position, segment in enumerate(parts):
        last = position == len(parts) - 1
        if segment == "..":
            if segments:
                segments.pop()
            if last:
                segments.append("")
        elif segment == ".":
            if last:
                segments.append("")
        elif segment or last:
            segments.append(segment)
    return "/" + "/".join(segments) + mark + query


def reference_requests(raw):
    """The requests a strict reading of `raw` finds (h11 as a server), and the
    error that stopped it, if any: what the client sent, as a recipient that
    follows RFC 9112 reads it."""
    connection = h11.Connection(h11.SERVER)
    connection.receive_data(raw)
    connection.receive_data(b"")
    requests, current = [], None
    try:
        while True:
            event = connection.next_event()
            if isinstance(event, h11.Request):
                current = ParsedRequest(event.method.decode(), event.target.decode("latin-1"),
                                        [(k.decode().lower(), v.decode("latin-1")) for k, v in event.headers], b"")
            elif isinstance(event, h11.Data):
                current.body += bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                requests.append(current)
                # Decline any upgrade or CONNECT, as a proxy that forwards plain HTTP must.
                connection.send(h11.Response(status_code=404, headers=[("content-length", "0")]))
                connection.send(h11.EndOfMessage())
                if connection.our_state is h11.MUST_CLOSE:
                    return requests, None
                connection.start_next_cycle()
            else:
                return requests, None
    except h11.ProtocolError as error:
        return requests, str(error)


@dataclasses.dataclass
class UpstreamConnectionRecord:
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
                        current = ParsedRequest(event.method.decode(), event.target.decode("latin-1"),
                                                [(k.decode().lower(), v.decode("latin-1")) for k, v in event.headers], b"")
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
    responses: list  # (status, lower-cased header dict)
    closed: bool
    error: str = None

    @property
    def from_upstream(self):
        return sum(1 for _, headers in self.responses if headers.get("x-upstream") == "1")

    @property
    def refused(self):
        return self.from_upstream == 0


def send_raw(port, variant, upstream, idle=0.4, limit=3.0):
    """Sends a variant's bytes over TLS and reads the answers (parsed with h11
    as a client) until the proxy closes, answers every request, announces
    `Connection: close`, or neither it nor the upstream has done anything
    for `idle` seconds (at most `limit` seconds in all)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
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
                    if time.monotonic() - quiet_since >= idle:
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
        user = "user root;" if __import__("os").getuid() == 0 else ""
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
