"""Answers the app sent after it had the webhook, whose body cannot be read: a chunk-size
line that is no hexadecimal count is said as such (RFC 9112 7.1: ``chunk-size = 1*HEXDIG``),
not as the connection closing before the last chunk; and ``hooklab send`` (and ``%hooklab
send``) says the webhook was sent and answered, not "could not send to" (a user would send
it again: a duplicate), whatever cut the answer after its status line: a reset, a stall.
Raw-socket apps on 127.0.0.1, met through ``hooklab.send``, ``lab.replay`` and the CLI."""

from __future__ import annotations

import http.client
import socket
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from _rawapp import RawServer

import hooklab
from hooklab import HookLab

EXE = str(Path(sys.executable).with_name("hooklab"))
CHUNKED = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
FRAMING = ": its body cannot be framed (RFC 9112 7.1)"


class App(RawServer):
    """Reads each request (head and body), keeps its body, writes ``answer``, then closes
    (``then="close"``), resets the connection half a second later, the client having read
    what came (``"reset"``), or holds it open without a byte more until the test ends
    (``"stall"``)."""

    def __init__(self, answer: bytes, then: str = "close") -> None:
        super().__init__()
        self.answer, self.then = answer, then
        self.bodies: list[bytes] = []

    def _one(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.settimeout(10)
                got = self.read_request(conn)
                if got is None:
                    return
                self.bodies.append(got[1])
                conn.sendall(self.answer)
                if self.then == "close":
                    conn.shutdown(socket.SHUT_WR)
                self.stop.wait({"close": 0.2, "reset": 0.5}.get(self.then, 30))
                if self.then == "reset":  # (linger 0: close sends RST, not FIN)
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass


# (the chunk-size line as sent; the error "Type: words", worked out by hand from RFC 9112 7.1)
BAD = [
    ("zz", "BadChunkSize: the answer's chunk size 'zz' is no hexadecimal byte count" + FRAMING),
    ("0x3", "BadChunkSize: the answer's chunk size '0x3' is no hexadecimal byte count" + FRAMING),
    ("-3", "BadChunkSize: the answer's chunk size '-3' is no hexadecimal byte count" + FRAMING),
    ("+3", "BadChunkSize: the answer's chunk size '+3' is no hexadecimal byte count" + FRAMING),
    (" 3", "BadChunkSize: the answer's chunk size ' 3' is no hexadecimal byte count" + FRAMING),
    ("1_0", "BadChunkSize: the answer's chunk size '1_0' is no hexadecimal byte count" + FRAMING),
    ("", "BadChunkSize: the answer's chunk size '' is no hexadecimal byte count" + FRAMING),
]


@pytest.mark.parametrize(("size", "error"), BAD, ids=[repr(b[0]) for b in BAD])
def test_a_chunk_size_that_is_no_hex_count_is_said_so(lab: HookLab, size: str, error: str) -> None:
    hooklab.send(lab.url_for("r"), payload={"a": 1})
    (cap,) = lab.wait(1, bin="r", timeout=10)
    answer = CHUNKED + size.encode() + b"\r\nabc\r\n0\r\n\r\n"
    with App(answer) as app:
        (r,) = lab.replay(cap, to=app.url + "/hook", timeout=10)
        with pytest.raises(http.client.HTTPException) as raised:
            hooklab.send(app.url + "/hook", payload={"a": 2}, timeout=10)
    assert (r.status, r.error) == (None, error)
    assert f"{type(raised.value).__name__}: {raised.value}" == error
    assert raised.value.answered == (200, "OK")  # type: ignore[attr-defined]


# (the answer; the body send gives: a valid chunk size, read as ever)
GOOD = [
    (CHUNKED + b"3\r\nabc\r\n0\r\n\r\n", b"abc"),
    (CHUNKED + b"3;name=value\r\nabc\r\n0\r\n\r\n", b"abc"),
    (CHUNKED + b"3 \t;x\r\nabc\r\n0\r\n\r\n", b"abc"),
    (CHUNKED + b"00A\r\n0123456789\r\n0\r\n\r\n", b"0123456789"),
    (CHUNKED + b"a\r\n0123456789\r\n0\r\n\r\n", b"0123456789"),
]


@pytest.mark.parametrize(("answer", "body"), GOOD)
def test_a_valid_chunk_size_is_read(answer: bytes, body: bytes) -> None:
    with App(answer) as app:
        r = hooklab.send(app.url + "/hook", payload={"a": 1}, timeout=10)
    assert (r.status, r.body) == (200, body)


def test_a_close_inside_the_chunk_size_line_is_still_a_cut() -> None:
    with App(CHUNKED + b"3e") as app, pytest.raises(http.client.IncompleteRead) as raised:
        hooklab.send(app.url + "/hook", payload={"a": 1}, timeout=10)
    assert str(raised.value) == ("the answer was cut short: 0 bytes of a chunked body came, "
                                 "then no last (empty) chunk")


# (the app's answer; what `hooklab send` says after "... (answered 200 OK), but the answer
# could not be read: ")
UNREADABLE = [
    (b"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\nhello",
     "BadContentLength: the answer's Content-Length 'abc' is no byte count: its body cannot "
     "be framed (RFC 9112 6.3)"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"y" * 500,
     "IncompleteRead: the answer was cut short: 500 of 1000 bytes (its Content-Length) came "
     "before the connection closed"),
    (CHUNKED + b"zz\r\nabc\r\n0\r\n\r\n",
     "BadChunkSize: the answer's chunk size 'zz' is no hexadecimal byte count" + FRAMING),
]


@pytest.mark.parametrize(("answer", "why"), UNREADABLE, ids=["bad-length", "cut", "bad-chunk"])
def test_hooklab_send_says_it_sent_when_only_the_answer_was_unreadable(answer: bytes,
                                                                       why: str) -> None:
    with App(answer) as app:
        r = subprocess.run([EXE, "send", app.url + "/hook", "--data", '{"order":1}'],
                           capture_output=True, text=True, timeout=60)
        received = list(app.bodies)
    assert received == [b'{"order":1}']  # the app had it, once
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr == (f"hooklab: sent to {app.url}/hook (answered 200 OK), but the answer "
                        f"could not be read: {why}\n")


# A target that answered its status line, then reset the connection or stalled, had the
# webhook too (it said "could not send to URL: [Errno 104] ..." or "timed out after 10 s").
RESET = "[Errno 104] Connection reset by peer"
HEAD = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab"
# (what the app writes, then; the Python exception's type and answered; the error's words,
# worked out by hand: the socket's strerror, the timeout's "timed out after 1 s")
CASES = [
    ("reset inside the body", HEAD, "reset", ConnectionResetError, (200, "OK"), RESET),
    ("stall inside the body", HEAD, "stall", TimeoutError, (200, "OK"), "timed out after 1 s"),
    ("reset inside the head", b"HTTP/1.1 201 Created\r\nX-A: 1\r\n", "reset",
     ConnectionResetError, (201, "Created"), RESET),
    ("stall inside the head", b"HTTP/1.1 202 Accepted\r\n", "stall", TimeoutError,
     (202, "Accepted"), "timed out after 1 s"),
    ("reset before any answer", b"", "reset", ConnectionResetError, None, RESET),
    ("stall before any answer", b"", "stall", TimeoutError, None, "timed out after 1 s"),
    ("stall inside the status line", b"HTTP/1.1 200 O", "stall", TimeoutError, None,
     "timed out after 1 s"),
]
IDS = [c[0] for c in CASES]


@pytest.mark.parametrize(("answer", "then", "kind", "status", "why"), [c[1:] for c in CASES],
                         ids=IDS)
def test_send_raises_with_the_answer_it_had(answer: bytes, then: str, kind: type,
                                            status: tuple[int, str] | None, why: str) -> None:
    with App(answer, then) as app, pytest.raises(OSError) as raised:
        hooklab.send(app.url + "/hook", payload={"a": 1}, timeout=1)
    assert type(raised.value) is kind and str(raised.value) == why
    assert getattr(raised.value, "answered", None) == status
    assert hooklab.outbound.sender.answered(raised.value) == status


@pytest.mark.parametrize(("answer", "then", "kind", "status", "why"), [c[1:] for c in CASES],
                         ids=IDS)
def test_hooklab_send_says_it_sent_when_the_app_had_answered(
        answer: bytes, then: str, kind: type, status: tuple[int, str] | None, why: str) -> None:
    with App(answer, then) as app:
        r = subprocess.run([EXE, "send", app.url + "/hook", "--data", '{"order":1}',
                            "--timeout", "1"], capture_output=True, text=True, timeout=60)
        received = list(app.bodies)
    assert received == [b'{"order":1}']  # the app had it, once
    assert (r.returncode, r.stdout) == (1, "")
    if status is None:
        assert r.stderr == f"hooklab: could not send to {app.url}/hook: {why}\n"
    else:
        assert r.stderr == (f"hooklab: sent to {app.url}/hook (answered {status[0]} "
                            f"{status[1]}), but the answer could not be read: {why}\n")


# (the resets: the magic's send takes the default timeout, 10 s)
RESETS = [c for c in CASES if c[2] == "reset"]


@pytest.mark.parametrize(("answer", "status"), [(c[1], c[4]) for c in RESETS],
                         ids=[c[0] for c in RESETS])
def test_magic_send_says_it_sent_when_the_app_had_answered(
        memory_shell: Any, answer: bytes, status: tuple[int, str] | None) -> None:
    memory_shell.user_ns["body"] = '{"order":1}'
    with App(answer, "reset") as app:
        result = memory_shell.run_cell(f"%hooklab send {app.url}/hook --data-var body",
                                       store_history=False)
        received = list(app.bodies)
    assert received == [b'{"order":1}']
    said = str(result.error_in_exec)
    if status is None:
        assert said == f"%hooklab send: {app.url}/hook: Connection reset by peer"
    else:
        assert said == (f"%hooklab send: sent to {app.url}/hook (answered {status[0]} "
                        f"{status[1]}), but the answer could not be read: Connection reset "
                        "by peer")
