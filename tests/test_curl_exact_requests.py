"""Copy as curl, run by the real curl against a raw-socket app on 127.0.0.1: the request the app
receives is the capture's, byte for byte (the target and ``Host`` are the app's).

Three ways it was not: a ``HEAD`` with a body gave ``curl --head ... --data-binary``, which
curl refuses ("You can only select one HTTP request method!", exit 2); a capture without
``User-Agent`` / ``Accept`` went with curl's own (``User-Agent: curl/7.88.1``, ``Accept: */*``);
a ``POST`` with ``Content-Length: 0`` and no body went without its ``Content-Length``."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time

import pytest
from _rawapp import RawServer
from _rawrecord import Recorder

from hooklab.export import to_curl

pytestmark = pytest.mark.skipif(shutil.which("curl") is None or shutil.which("bash") is None,
                                reason="curl and bash needed")

#: a request as the sender sent it to ``/b/...`` -> what the app gets from the command sending
#: it to ``<app>/app`` (``{host}``: the app's address)
CASES = {
    "head with a body": (
        b"HEAD /b/h HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
        # (the connection closed after the answer: curl reads a HEAD answer to that close)
        b"HEAD /app/h HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: 5"
        b"\r\n\r\nhello"),
    "head with a body and headers": (
        b"HEAD /b/h?x=1 HTTP/1.1\r\nHost: x\r\nX-Sig: v1=abc\r\nContent-Type: text/plain\r\n"
        b"Content-Length: 2\r\n\r\nhi",
        b"HEAD /app/h?x=1 HTTP/1.1\r\nHost: {host}\r\nX-Sig: v1=abc\r\nContent-Type: text/plain"
        b"\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi"),
    "head without a body": (
        b"HEAD /b/h HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\r\n",
        b"HEAD /app/h HTTP/1.1\r\nHost: {host}\r\nX-A: 1\r\n\r\n"),
    "json, no user-agent or accept": (
        b"POST /b/p HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 2\r\n\r\n{}",
        b"POST /app/p HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        b"Content-Length: 2\r\n\r\n{}"),
    "its own user-agent and accept": (
        b"POST /b/u HTTP/1.1\r\nHost: x\r\nUser-Agent: Stripe/1.0 (+https://stripe.com)\r\n"
        b"Accept: */*; q=0.5\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi",
        b"POST /app/u HTTP/1.1\r\nHost: {host}\r\nUser-Agent: Stripe/1.0 (+https://stripe.com)"
        b"\r\nAccept: */*; q=0.5\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi"),
    "accept only": (
        b"POST /b/a HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\nContent-Length: 1\r\n\r\nx",
        b"POST /app/a HTTP/1.1\r\nHost: {host}\r\nAccept: application/json\r\n"
        b"Content-Length: 1\r\n\r\nx"),
    "post, content-length 0": (
        b"POST /b/e HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
        b"POST /app/e HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\n\r\n"),
    "put, content-length 0 after a header": (
        b"PUT /b/e HTTP/1.1\r\nHost: x\r\nX-Sig: abc\r\ncontent-length: 0\r\n\r\n",
        b"PUT /app/e HTTP/1.1\r\nHost: {host}\r\nX-Sig: abc\r\ncontent-length: 0\r\n\r\n"),
    "get, content-length 0": (
        b"GET /b/g HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
        b"GET /app/g HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\n\r\n"),
    "post, an empty chunked body (replay sends Content-Length: 0 too)": (
        b"POST /b/c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"POST /app/c HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\n\r\n"),
    "delete, no content-length": (
        b"DELETE /b/d HTTP/1.1\r\nHost: x\r\n\r\n",
        b"DELETE /app/d HTTP/1.1\r\nHost: {host}\r\n\r\n"),
    "binary body, no content-type": (
        b"POST /b/bin HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n\x00\xff\x9b",
        b"POST /app/bin HTTP/1.1\r\nHost: {host}\r\nContent-Length: 3\r\n\r\n\x00\xff\x9b"),
}


def _run(cmd: str) -> float:
    """Run ``cmd`` as a person pasting it into a terminal does; the seconds it took."""
    start = time.monotonic()
    r = subprocess.run(["bash", "-c", cmd + " -sS -o /dev/null"], capture_output=True,
                       text=True, timeout=30, env={**os.environ, "LC_ALL": "C.UTF-8"})
    assert (r.returncode, r.stderr) == (0, ""), (cmd, r.returncode, r.stderr)
    return time.monotonic() - start


def _capture(lab, request: bytes):  # type: ignore[no-untyped-def]
    """The capture ``request`` (sent as it is) makes in ``lab``."""
    before = len(lab.captures)
    with socket.create_connection(("127.0.0.1", lab.bound_port), timeout=10) as s:
        s.sendall(request)
        answer = b""
        while b"\r\n" not in answer:  # (the status line: a byte or more a round, or the end)
            piece = s.recv(4096)
            assert piece, answer
            answer += piece
    assert b" 200 " in answer.split(b"\r\n", 1)[0], answer
    return lab.wait(before + 1, timeout=10)[-1]


@pytest.mark.parametrize("name", list(CASES), ids=[n[:40] for n in CASES])
def test_curl_sends_the_captured_request_byte_for_byte(lab, name: str) -> None:  # type: ignore[no-untyped-def]
    request, want = CASES[name]
    cap = _capture(lab, request)
    with Recorder() as app:
        _run(to_curl(cap, url=app.url + "/app"))
        (got,) = app.wait(1)
    assert got == want.replace(b"{host}", app.url.split("//", 1)[1].encode())


class HeadApp(RawServer):
    """Answers a ``HEAD`` as servers do: the ``Content-Length`` a ``GET`` would have, no body,
    and the connection kept open (until the block ends) unless the request said ``close``."""

    def _one(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(20)
            got = self.read_request(conn)
            if got is None:
                return
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n")
            if b"\r\nconnection: close" not in got[0].lower():
                self.stop.wait(20)  # (a keep-alive connection: open, as a server leaves it)


@pytest.mark.parametrize("body", [b"hello", b"x" * 70_000, b"\x00\xff"])
def test_a_head_with_a_body_does_not_wait_for_a_body_the_answer_never_has(
        lab, body: bytes) -> None:  # type: ignore[no-untyped-def]
    cap = _capture(lab, b"HEAD /b/h HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s"
                   % (len(body), body))
    assert cap.body == body
    with HeadApp() as app:
        took = _run(to_curl(cap, url=app.url + "/app"))
    assert took < 10, took  # (it waited for the answer's 5 bytes until the time ran out)
    again = to_curl(cap, base=lab.url)  # and to hooklab's own server: the same capture again
    _run(again)
    back = lab.wait(2, timeout=10)[-1]
    assert (back.method, back.body, back.header("content-length")) == ("HEAD", body,
                                                                        str(len(body)))


@pytest.mark.parametrize("size", [1025, 2 * 2**20])
def test_a_big_body_goes_without_the_expect_curl_would_add(lab, tmp_path, size: int) -> None:  # type: ignore[no-untyped-def]
    """curl adds ``Expect: 100-continue`` to a body over 1 MiB (over 1 KiB before 7.69): the
    capture had none, so the command says ``-H 'Expect:'`` (a review found it sent)."""
    body = b"z" * size
    cap = _capture(lab, b"POST /b/big HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
                   b"Content-Length: %d\r\n\r\n%s" % (size, body))
    cmd = to_curl(cap, url="http://127.0.0.1:9/app", max_inline=1000)
    assert "-H Expect: " in cmd and "@body.bin" in cmd
    (tmp_path / "body.bin").write_bytes(body)
    with Recorder() as app:
        r = subprocess.run(["bash", "-c", to_curl(cap, url=app.url + "/app", max_inline=1000)
                            + " -sS -o /dev/null"], capture_output=True, text=True, timeout=30,
                           cwd=tmp_path)
        assert (r.returncode, r.stderr) == (0, "")
        (got,) = app.wait(1)
    host = app.url.split("//", 1)[1].encode()
    assert got == (b"POST /app/big HTTP/1.1\r\nHost: " + host + b"\r\nContent-Type: text/plain"
                   b"\r\nContent-Length: %d\r\n\r\n" % size + body)
