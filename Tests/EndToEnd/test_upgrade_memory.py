"""Memory under an upgrade flood: unauthenticated clients ask to upgrade a
public request to WebSocket and then stream bytes the proxy has no use for.
An unconfigured upgrade must be refused, not buffered: the proxy's resident
memory stays bounded and it keeps serving.
"""
import socket
import threading
import time

import pytest

from access_support import Proxy, RecordingUpstream, create_key
from differential_support import make_certificate, tls_client_context

CONNECTIONS = 20
BYTES_PER_CONNECTION = 100 * 1024 * 1024
RSS_LIMIT = 64 * 1024 * 1024
# The flood stops at this deadline even if the proxy reads (and drops) everything.
FLOOD_SECONDS = 45
UPGRADE_HEAD = b"GET /health HTTP/1.1\r\nHost: gw\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"


def resident_bytes(pid):
    """VmRSS of a process, from /proc/PID/status."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def health_status(port):
    """The status line of one ordinary `GET /health` over TLS."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as plain:
        with tls_client_context().wrap_socket(plain, server_hostname="localhost") as tls:
            tls.sendall(b"GET /health HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n")
            answer = b""
            while b"\r\n" not in answer:
                data = tls.recv(4096)
                if not data:
                    break
                answer += data
            return answer.split(b"\r\n", 1)[0].decode(errors="replace")


def flood(port, stop, sent, index):
    """One client: the upgrade request, then junk until 100 MB, the proxy
    closes, or `stop` is set."""
    chunk = bytes(range(256)) * 256
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as plain:
            with tls_client_context().wrap_socket(plain, server_hostname="localhost") as tls:
                tls.sendall(UPGRADE_HEAD)
                while sent[index] < BYTES_PER_CONNECTION and not stop.is_set():
                    tls.sendall(chunk)
                    sent[index] += len(chunk)
    except OSError:
        pass  # the proxy closed the connection: what a refusal looks like


@pytest.fixture
def guarded_proxy(bin_dir, tmp_path):
    """`lmgate proxy` over TLS with API keys required, in front of a recording upstream."""
    upstream = RecordingUpstream()
    cert, key = make_certificate(bin_dir, tmp_path)
    keys = tmp_path / "keys"
    create_key(bin_dir, keys, "memory")
    proxy = Proxy(bin_dir, tmp_path, upstream.url, "--keys", str(keys), "--tls-cert", str(cert),
                  "--tls-key", str(key), "--set", "access_log=false")
    yield proxy
    proxy.stop()
    upstream.stop()


def test_upgrade_floods_do_not_grow_the_proxy_and_it_keeps_serving(guarded_proxy):
    proxy = guarded_proxy
    assert health_status(proxy.port) == "HTTP/1.1 200 OK"
    baseline = resident_bytes(proxy.process.pid)
    stop = threading.Event()
    sent = [0] * CONNECTIONS
    clients = [threading.Thread(target=flood, args=(proxy.port, stop, sent, index), daemon=True)
               for index in range(CONNECTIONS)]
    for client in clients:
        client.start()
    peak = baseline
    deadline = time.monotonic() + FLOOD_SECONDS
    while any(client.is_alive() for client in clients) and time.monotonic() < deadline:
        peak = max(peak, resident_bytes(proxy.process.pid))
        if peak - baseline >= RSS_LIMIT:
            break  # already failed: stop before the machine runs short of memory
        time.sleep(0.05)
    stop.set()
    for client in clients:
        client.join(timeout=15)
    peak = max(peak, resident_bytes(proxy.process.pid))
    print(f"\nupgrade flood: {sum(sent) / 2**20:.0f} MiB sent on {CONNECTIONS} connections, "
          f"proxy RSS {baseline / 2**20:.0f} -> peak {peak / 2**20:.0f} MiB")

    assert peak - baseline < RSS_LIMIT, f"RSS rose by {(peak - baseline) / 2**20:.0f} MiB"
    assert proxy.process.poll() is None
    assert health_status(proxy.port) == "HTTP/1.1 200 OK"
