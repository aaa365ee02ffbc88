"""An error about a target (a replay's, a forward's, ``hooklab send``'s) never repeats the
target's credentials, however it quotes them: percent-encoded too (``%3Ftoken%3DS3CR3T``, a
server's status line quoting the URL asked for: ``hooklab.credentials.scrubbed_text``). Real
sockets on 127.0.0.1."""

from __future__ import annotations

import socket
import threading

import pytest

import hooklab
from hooklab import HookLab

TOKEN = "S3CR3Tvalue"


def _bad_status_line(line: bytes) -> tuple[str, threading.Thread, socket.socket]:
    """A raw target answering one request with ``line`` (no HTTP status line: the client's
    error quotes it), then closing."""
    srv = socket.create_server(("127.0.0.1", 0))

    def run() -> None:
        srv.settimeout(10)
        conn, _ = srv.accept()
        with conn:
            conn.settimeout(10)
            conn.recv(65536)
            conn.sendall(line + b"\r\n\r\n")

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return f"http://127.0.0.1:{srv.getsockname()[1]}", t, srv


@pytest.mark.parametrize("line, kept", [
    (b"HTTP/1.1 9999 see /login?next=%2Fhook%3Ftoken%3D" + TOKEN.encode(),
     "see /login?next=%2Fhook%3Ftoken%3D[secret]"),
    (b"HTTP/1.1 9999 see /login?next=%2fhook%3ftoken%3d" + TOKEN.encode() + b"%26q%3D1",
     "see /login?next=%2fhook%3ftoken%3d[secret]%26q%3D1"),
    (b"HTTP/1.1 9999 see /sso?r=%252Fhook%253Ftoken%253D" + TOKEN.encode(),
     "see /sso?r=%252Fhook%253Ftoken%253D[secret]"),
    (b"HTTP/1.1 9999 see /hook?token=" + TOKEN.encode(), "see /hook?token=[secret]"),
    # not the value whole: kept as it came
    (b"HTTP/1.1 9999 see %3Dx" + TOKEN.encode() + b" and %3D" + TOKEN.encode() + b"2",
     "see %3Dx" + TOKEN + " and %3D" + TOKEN + "2"),
], ids=["encoded", "encoded-lower-case", "encoded-twice", "as-written", "not-whole"])
def test_a_replay_error_quoting_the_target_percent_encoded_hides_its_token(
        lab: HookLab, line: bytes, kept: str) -> None:
    hooklab.send(lab.url_for("b"), payload={"a": 1})
    lab.wait(1, timeout=10)
    base, t, srv = _bad_status_line(line)
    try:
        (r,) = lab.replay(lab.captures[-1:], to=f"{base}/hook?token={TOKEN}&q=1")
    finally:
        t.join(10)
        srv.close()
    assert r.error is not None and kept in r.error, r.error
    if "[secret]" in kept:
        assert TOKEN not in r.error
