"""The corpus of the differential forwarding test: hostile request variants
generated from dimensions (method, framing, `Connection` token, folding,
line endings, header case, Host fields, pipelining, target, key), what a
strict recipient reads in each (h11 as the reference), and the target a
proxy must forward for each request target.
"""
import dataclasses
import random
import re

import h11

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
# /v1/models for the absolute form, %6d and //; /admin/x for %61; /health for
# /./, /v1/../ and %2e%2e; a refusal for %2f, backslash, %00, %zz and /../
# above the root.
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
    """One request as h11 read it: from a client's bytes or from an upstream connection."""
    method: str
    target: str
    headers: list  # (lower-case name, value) pairs, in order
    body: bytes

    def header_values(self, name):
        return [value for key, value in self.headers if key == name]

    @classmethod
    def starting(cls, event):
        """A request from h11's `Request` event, its body still to come."""
        return cls(event.method.decode(), event.target.decode("latin-1"),
                   [(name.decode().lower(), value.decode("latin-1")) for name, value in event.headers], b"")

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
    dot segments and repeated slashes resolved; `%2F`, NUL, backslash, bad
    percent-encoding and `..` above the root refused (nginx, the reference,
    answers 400 to a path that climbs above the root, and lmgate may refuse
    more than nginx but never forward more)."""
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
            if not segments:
                return None
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
                current = ParsedRequest.starting(event)
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
