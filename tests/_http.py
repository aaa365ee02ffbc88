"""HTTP helpers for tests (real sockets on 127.0.0.1)."""

from __future__ import annotations

import socket
import time
import urllib.error
import urllib.request


def post(url: str, body: bytes = b"", headers: dict[str, str] | None = None, method: str = "POST"):
    """POST with urllib; returns (status, body) and never raises on HTTP errors."""
    req = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def recv_until_close(sock: socket.socket, timeout: float = 5.0) -> bytes:
    """Read until the peer closes or ``timeout`` passes."""
    sock.settimeout(timeout)
    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except (TimeoutError, ConnectionResetError):
            break
        if not chunk:
            break
        out += chunk
    return out


def raw_request(port: int, data: bytes, timeout: float = 5.0) -> bytes:
    """Send raw bytes and read until the server closes (or times out)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        return recv_until_close(s, timeout)


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
