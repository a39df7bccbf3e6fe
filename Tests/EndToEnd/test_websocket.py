"""WebSocket passthrough with real clients: Python's `websockets` library on
both sides of `lmgate proxy`, with Basic credentials from an Apache
htpasswd file.
"""
import base64
import threading

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect
from websockets.sync.server import serve

from access_support import Proxy, make_htpasswd
from conftest import free_port


class EchoServer:
    """A `websockets` echo server on loopback that records each handshake's headers."""

    def __init__(self):
        self.port = free_port()
        self.handshakes = []

        def echo(connection):
            self.handshakes.append({k.lower(): v for k, v in connection.request.headers.raw_items()})
            for message in connection:
                connection.send(message)

        self.server = serve(echo, "127.0.0.1", self.port)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def stop(self):
        self.server.shutdown()
        self.thread.join(10)


@pytest.fixture
def echo():
    server = EchoServer()
    yield server
    server.stop()


def basic(user, password):
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_websockets_client_through_the_proxy(bin_dir, tmp_path, echo):
    users = tmp_path / "users"
    passwords = make_htpasswd(users, ["alice"])
    proxy = Proxy(bin_dir, tmp_path, echo.url, "--htpasswd", str(users), "--set", "websocket.enabled=true")
    try:
        uri = f"ws://127.0.0.1:{proxy.port}/v1/realtime"
        with connect(uri, additional_headers=basic("alice", passwords["alice"]), open_timeout=10) as ws:
            ws.send("hello")
            assert ws.recv(timeout=10) == "hello"
            large = bytes(range(256)) * 4096  # 1 MiB binary message
            ws.send(large)
            assert ws.recv(timeout=10) == large
        seen = echo.handshakes[0]
        assert seen["x-authenticated-user"] == "alice"
        assert "authorization" not in seen

        with pytest.raises(InvalidStatus) as unauthenticated:
            connect(uri, open_timeout=10)
        assert unauthenticated.value.response.status_code == 401
        assert len(echo.handshakes) == 1
    finally:
        proxy.stop()


def test_websocket_refused_when_the_listener_has_passthrough_off(bin_dir, tmp_path, echo):
    users = tmp_path / "users"
    passwords = make_htpasswd(users, ["alice"])
    proxy = Proxy(bin_dir, tmp_path, echo.url, "--htpasswd", str(users))
    try:
        with pytest.raises(InvalidStatus) as refused:
            connect(f"ws://127.0.0.1:{proxy.port}/v1/realtime",
                    additional_headers=basic("alice", passwords["alice"]), open_timeout=10)
        assert refused.value.response.status_code == 501
        assert echo.handshakes == []
    finally:
        proxy.stop()
