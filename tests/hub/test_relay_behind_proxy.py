"""The public relay behind JupyterHub's own proxy: a real configurable-http-proxy in front of a
real ``jupyter server`` with the extension, run as the Hub runs single-user servers
(``trust_xheaders=True``, ``base_url=/user/alice/``). No Hub: the proxy's default target is
the server, which is all a webhook sender's request meets on a Hub.

Without configurable-http-proxy the tests skip (under CI, ``CI=true``, they fail).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from _http import free_port, recv_until_close
from _jupyter_server import server_fixtures

from hooklab import HookLab, ingress

pytestmark = pytest.mark.timeout(240)

TOKEN = "proxy-test-token-0123456789"


def _need_chp() -> str:
    found = shutil.which("configurable-http-proxy")
    if found:
        return found
    message = "configurable-http-proxy missing: npm install -g configurable-http-proxy"
    if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
        pytest.fail("CI must run the proxy tests, but " + message, pytrace=False)
    pytest.skip(message)


jupyter, env, lab = server_fixtures("jupyter-chp", TOKEN, "/user/alice/", needs=_need_chp,
                                    args=("--ServerApp.trust_xheaders=True",))


@pytest.fixture(scope="module")
def proxy(jupyter: dict[str, object], tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """configurable-http-proxy on a free loopback port, everything to the jupyter server."""
    chp = _need_chp()
    port, api = free_port(), free_port()
    log_path = tmp_path_factory.mktemp("chp") / "chp.log"
    env = {**os.environ, "CONFIGPROXY_AUTH_TOKEN": "chp-test-" + TOKEN}
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [chp, "--ip", "127.0.0.1", "--port", str(port), "--api-ip", "127.0.0.1",
             "--api-port", str(api), "--default-target", f"http://127.0.0.1:{jupyter['port']}",
             "--log-level", "warn"], env=env, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
        try:
            _wait_listening(port, proc, log_path)
            yield port
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def _wait_listening(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while True:
        assert proc.poll() is None, "the proxy exited:\n" + log.read_text(errors="replace")
        assert time.monotonic() < deadline, "the proxy did not start:\n" + log.read_text()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)


def answer(port: int, data: bytes, source: str = "127.0.0.1", timeout: float = 30) -> bytes:
    """Send ``data`` from ``source``; the answer up to the end of its head (and what came with it)."""
    with socket.socket() as s:
        s.bind((source, 0))
        s.settimeout(timeout)
        s.connect(("127.0.0.1", port))
        s.sendall(data)
        return recv_until_close(s, timeout)


def status(reply: bytes) -> int:
    """The final status of ``reply`` (past any ``100 Continue``); 0 if it holds none."""
    while reply.startswith(b"HTTP/1.1 1"):
        reply = reply.partition(b"\r\n\r\n")[2]
    return int(reply.split(b" ", 2)[1]) if reply.startswith(b"HTTP/") else 0


@pytest.mark.parametrize("over", [1, 1_000_000, 16 * 1024 * 1024])
@pytest.mark.parametrize("expect", [False, True])
def test_a_body_over_max_body_gets_413_through_the_proxy(
        lab: HookLab, proxy: int, over: int, expect: bool) -> None:
    """The relay answered 413 before reading the body and closed: the proxy's upload broke
    (ECONNRESET) and it answered 503 of its own (providers retry that for days)."""
    path = urlsplit(ingress.public_url(lab, "big", host=f"http://127.0.0.1:{proxy}")).path
    n = lab.max_body + over
    head = (f"POST {path}/x HTTP/1.1\r\nHost: 127.0.0.1:{proxy}\r\nContent-Length: {n}\r\n"
            + ("Expect: 100-continue\r\n" if expect else "") + "Connection: close\r\n\r\n")
    reply = answer(proxy, head.encode() + b"a" * n)
    assert status(reply) == 413, reply[:300]
    assert b'"ok": false' in reply and b"max_body" in reply
    # and the relay is fine afterwards: a body of max_body arrives whole
    reply = answer(proxy, head.replace(str(n), str(lab.max_body)).encode() + b"b" * lab.max_body)
    assert status(reply) == 200, reply[:300]
    assert [c.size for c in lab.wait(1, timeout=10)] == [lab.max_body]


def test_chunked_over_max_body_gets_413_through_the_proxy(proxy: int, env: dict[str, object]) -> None:
    small = HookLab(port=0, db=":memory:", max_body=100_000).start()
    try:
        path = urlsplit(ingress.public_url(small, "c", host=f"http://127.0.0.1:{proxy}")).path
        piece = b"c" * 50_000
        body = (b"%x\r\n" % len(piece) + piece + b"\r\n") * 40 + b"0\r\n\r\n"
        head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{proxy}\r\n"
                "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
        reply = answer(proxy, head.encode() + body)
        assert status(reply) == 413, reply[:300]
        assert small.store.count() == 0
    finally:
        ingress.unregister(small)
        small.stop()


def test_the_forwarded_chain_behind_the_proxy(lab: HookLab, proxy: int) -> None:
    """The proxy appends the sender; the relay appends the proxy (its socket's peer): the
    sender was listed twice, or as whatever its own X-Real-IP said."""
    path = urlsplit(ingress.public_url(lab, "xff", host=f"http://127.0.0.1:{proxy}")).path
    for spoof in ("", "X-Real-IP: 203.0.113.66\r\nX-Scheme: https\r\n"):
        head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{proxy}\r\n{spoof}"
                "Content-Length: 2\r\nConnection: close\r\n\r\n{}")
        assert status(answer(proxy, head.encode(), source="127.0.0.9")) == 200
    for cap in lab.wait(2, timeout=10):
        assert cap.header_all("x-forwarded-for") == ["127.0.0.9, 127.0.0.1"], cap.headers
        assert cap.header_all("x-forwarded-proto") == ["http"]
        assert cap.header("content-type") is None and cap.header("user-agent") is None
        assert cap.remote_addr == "127.0.0.1"
