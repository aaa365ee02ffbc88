"""A target that answered its status line, then reset the connection or stalled, had the
webhook: ``hooklab send`` and ``%hooklab send`` say it was sent and answered, and that the
answer could not be read, and the Python API's exception carries ``answered`` (status,
reason); they said "could not send to URL: [Errno 104] Connection reset by peer" or "timed
out after 10 s", and a user who sent it again delivered it twice. Before the status line
(nothing answered) it is still "could not send". Raw-socket apps on 127.0.0.1."""

from __future__ import annotations

import socket
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from _rawapp import RawServer

import hooklab

EXE = str(Path(sys.executable).with_name("hooklab"))
RESET = "[Errno 104] Connection reset by peer"


class App(RawServer):
    """Reads each request (head and body), keeps its body, writes ``answer``, then resets the
    connection (``then="reset"``, half a second later: the client has read what came) or
    holds it open without a byte more until the test ends (``then="stall"``)."""

    def __init__(self, answer: bytes, then: str) -> None:
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
                self.stop.wait(0.5 if self.then == "reset" else 30)
                if self.then == "reset":  # (linger 0: close sends RST, not FIN)
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass


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
