"""hooklab as an HTTP client against hostile targets: raw-socket servers on 127.0.0.1 that
answer interim 1xx answers, hundreds of megabytes, answers without end and terminal escapes,
met through ``lab.replay``, ``lab.forward``, ``hooklab.send`` and the ``hooklab`` command."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from _rawapp import RawServer

import hooklab
from hooklab import HookLab

EXE = str(Path(sys.executable).with_name("hooklab"))
MiB = 2**20
ANSWER_CAP = 10 * MiB  # what README promises of a replayed or sent answer's body
MAX_INTERIM = 32  # README: interim answers read past before the final one, at most
PATTERN = bytes(range(256)) * 4096  # one MiB; a body is this again and again
BIG = 200 * MiB

Answer = Callable[[socket.socket, threading.Event], None]


class Hostile(RawServer):
    """``with Hostile(answer) as h: ... h.url``: a raw-socket HTTP target on 127.0.0.1 that reads
    each request (head, then a ``Content-Length`` body) and lets ``answer(conn, stop)`` write
    whatever it likes; ``stop`` is set when the block ends (an answer that holds its
    connection open waits on it)."""

    def __init__(self, answer: Answer) -> None:
        super().__init__()
        self.answer = answer

    def _one(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.settimeout(10)
                if self.read_request(conn) is None:  # (the whole body: unread bytes would
                    return  # make close() a reset)
                self.answer(conn, self.stop)
                conn.shutdown(socket.SHUT_WR)
            except OSError:  # the client hung up: what a cut answer looks like from here
                pass


def _sends(data: bytes) -> Answer:
    def answer(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(data)
    return answer


def _db_with_one_capture(path: Path) -> str:
    from hooklab.store import CaptureStore

    store = CaptureStore(str(path))
    store.add_many([{"method": "POST", "path": "/b", "body": b'{"a": 1}',
                     "headers": [("Content-Type", "application/json")]}])
    store.close()
    return str(path)


def _forwarded(lab: HookLab, to: str, timeout: float = 30) -> dict[str, object]:
    lab.forward_timeout = timeout
    lab.forward("b", to=to)
    hooklab.send(lab.url_for("b"), payload={"a": 1})
    assert lab.store.wait_for(lambda: lab.forwards(), timeout=timeout + 20)
    (outcome,) = lab.forwards()
    return outcome


# -- interim (1xx) answers ------------------------------------------------------------------

FINAL_500 = (b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\nConnection: close\r\n"
             b"\r\nboom")
INTERIM = [
    pytest.param(b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n", id="103"),
    pytest.param(b"HTTP/1.1 102 Processing\r\n\r\n", id="102"),
    pytest.param(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </b>\r\n\r\n"
                 b"HTTP/1.1 199 Whatever\r\nX-A: 1\r\nX-B: 2\r\n\r\nHTTP/1.1 102 Processing\r\n\r\n",
                 id="100-103-199-102"),
    pytest.param(b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n" * MAX_INTERIM,
                 id="the-most-interim"),
]


@pytest.mark.parametrize("interim", INTERIM)
def test_replay_and_send_take_the_final_answer_after_interim_ones(lab: HookLab,
                                                                  interim: bytes) -> None:
    """A ``103 Early Hints`` before a 500 was recorded as the answer: status 103, ok, no body
    (``http.client`` reads past ``100`` only)."""
    hooklab.send(lab.url_for("b"), payload={"a": 1})
    (cap,) = lab.wait(1, timeout=10)
    with Hostile(_sends(interim + FINAL_500)) as h:
        (r,) = lab.replay(cap, to=h.url + "/hook", timeout=10)
        s = hooklab.send(h.url + "/hook", payload={"a": 1}, timeout=10)
    assert (r.status, r.reason, r.body, r.ok, r.error) == (
        500, "Internal Server Error", b"boom", False, None)
    assert r.headers == [("Content-Length", "4"), ("Connection", "close")]  # not the 103's
    assert (s.status, s.reason, s.body, s.ok) == (500, "Internal Server Error", b"boom", False)


def test_a_forward_records_the_final_answer_after_early_hints(lab: HookLab) -> None:
    with Hostile(_sends(INTERIM[0].values[0] + FINAL_500)) as h:
        outcome = _forwarded(lab, h.url + "/hook")
    assert (outcome["status"], outcome["error"]) == (500, None)


@pytest.mark.parametrize("interim", [
    pytest.param(b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n", id="103"),
    pytest.param(b"HTTP/1.1 100 Continue\r\n\r\n", id="100"),  # (http.client's own loop)
    pytest.param(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\n", id="mixed"),
])
@pytest.mark.parametrize("endless", [True, False], ids=["endless", "one-too-many"])
def test_interim_answers_without_end_are_an_error_not_a_wait(lab: HookLab, interim: bytes,
                                                             endless: bool) -> None:
    """A target sending interim answers for ever kept the exchange going until its timeout
    (``100``) or was taken at its first (``103``); more than 32 is an error at once."""
    def answer(conn: socket.socket, stop: threading.Event) -> None:
        if not endless:
            conn.sendall(b"HTTP/1.1 103 Early Hints\r\n\r\n" * (MAX_INTERIM + 1) + FINAL_500)
            return
        for _ in range(1_000_000):  # (until the client hangs up: a reset ends it)
            if stop.is_set():
                return
            conn.sendall(interim)

    hooklab.send(lab.url_for("b"), payload={"a": 1})
    (cap,) = lab.wait(1, timeout=10)
    with Hostile(answer) as h:
        t0 = time.monotonic()
        (r,) = lab.replay(cap, to=h.url, timeout=10)
        took = time.monotonic() - t0
    assert (r.status, r.error) == (
        None, f"HTTPException: more than {MAX_INTERIM} interim (1xx) answers, no final one")
    assert took < 5, took


def test_hooklab_replay_says_the_final_status_after_early_hints(tmp_path: Path) -> None:
    """``#1 -> 103`` and exit 0 for an app that answered 500."""
    db = _db_with_one_capture(tmp_path / "c.sqlite3")
    with Hostile(_sends(INTERIM[0].values[0] + FINAL_500)) as h:
        r = subprocess.run([EXE, "replay", "--db", db, "--id", "1", "--to", h.url],
                           capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and r.stdout.startswith("#1 -> 500 in "), (r.stdout, r.stderr)


# -- big answers: read in pieces, kept up to a cap ---------------------------------------------

def _stream(framing: str, total: int = BIG) -> Answer:
    """``total`` bytes of PATTERN as a Content-Length body, a chunked one, or a chunked one
    that never ends (the connection held open once ``total`` is sent)."""
    def answer(conn: socket.socket, stop: threading.Event) -> None:
        chunked = framing != "length"
        conn.sendall(b"HTTP/1.1 200 OK\r\n" + (b"Transfer-Encoding: chunked\r\n" if chunked
                     else b"Content-Length: %d\r\n" % total) + b"\r\n")
        piece = b"%x\r\n%s\r\n" % (len(PATTERN), PATTERN) if chunked else PATTERN
        for _ in range(total // len(PATTERN)):
            if stop.is_set():
                return
            conn.sendall(piece)
        if framing == "chunked":
            conn.sendall(b"0\r\n\r\n")
        elif framing == "endless":
            stop.wait(120)  # (no end of the answer: only the client's timeout or cut ends it)
    return answer


_CHILD = textwrap.dedent("""
    import hashlib, json, resource, sys, time
    import hooklab

    route, url = sys.argv[1], sys.argv[2]
    lab = hooklab.start(port=0, db=":memory:")
    hooklab.send(lab.url_for("b"), payload={"a": 1})
    (cap,) = lab.wait(1, timeout=10)
    def peak():  # VmHWM: this process's own peak (Linux carries ru_maxrss over from the
        with open("/proc/self/status") as f:  # forking test worker, which hid any growth)
            return next(int(x.split()[1]) for x in f if x.startswith("VmHWM:")) * 1024
    before, t0 = peak(), time.monotonic()
    if route == "forward":
        lab.forward_timeout = 30
        lab.forward("b", to=url)
        hooklab.send(lab.url_for("b"), payload={"a": 2})
        lab.store.wait_for(lambda: lab.forwards(), timeout=60)
        f = lab.forwards()[-1]
        out = {"status": f["status"], "error": f["error"]}
    else:
        if route == "replay":
            (r,) = lab.replay(cap, to=url, timeout=30)
        else:
            r = hooklab.send(url, payload={"a": 1}, timeout=30)
        out = {"status": r.status, "error": getattr(r, "error", None), "n": len(r.body),
               "sha": hashlib.sha256(r.body).hexdigest(),
               "truncated": getattr(r, "truncated", None)}
    out.update(grew=peak() - before, took=time.monotonic() - t0)
    hooklab.stop()
    print(json.dumps(out))
""")


@pytest.mark.parametrize("framing", ["length", "chunked", "endless"])
@pytest.mark.parametrize("route", ["replay", "send", "forward"])
def test_a_huge_answer_costs_neither_its_memory_nor_its_time(route: str, framing: str) -> None:
    """A 1.5 GiB answer took 1.5 GiB (a chunked one twice that), and one without end streamed
    into memory until the timeout. Now the body is read a piece at a time: replay and send
    keep its first 10 MiB (``truncated``), a forward none, and the connection is closed
    there. Measured in a process of its own: its peak RSS grows by far less than 200 MiB."""
    with Hostile(_stream(framing)) as h:
        r = subprocess.run([sys.executable, "-c", _CHILD, route, h.url + "/hook"],
                           capture_output=True, text=True, timeout=120, env=os.environ)
    assert r.returncode == 0, r.stderr[-3000:]
    got = json.loads(r.stdout.splitlines()[-1])
    assert got["grew"] < 64 * MiB, f"peak RSS grew by {got['grew'] / MiB:.0f} MiB"
    assert got["took"] < 15, got  # (the endless one did not wait for the 30 s timeout)
    assert (got["status"], got["error"]) == (200, None)
    if route != "forward":
        first = (PATTERN * (ANSWER_CAP // len(PATTERN)))[:ANSWER_CAP]
        assert (got["n"], got["sha"], got["truncated"]) == (
            ANSWER_CAP, hashlib.sha256(first).hexdigest(), True)


@pytest.mark.parametrize("framing", ["length", "chunked", "close"])
@pytest.mark.parametrize("size,kept,truncated", [
    (0, b"", False), (999, PATTERN[:999], False), (1000, PATTERN[:1000], False),
    (1001, PATTERN[:1000], True), (300_000, PATTERN[:1000], True),
])
def test_http_request_keeps_at_most_limit_bytes(framing: str, size: int, kept: bytes,
                                                truncated: bool) -> None:
    """The cap's edge, in every framing: exactly ``limit`` bytes is whole; one more is cut."""
    from hooklab.outbound.sender import _exchange, http_request

    def answer(conn: socket.socket, stop: threading.Event) -> None:
        body = PATTERN[:size]
        if framing == "length":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (size, body))
        elif framing == "chunked":  # (chunks of 700 bytes: the cut falls inside one)
            parts = [body[i:i + 700] for i in range(0, size, 700)]
            conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                         + b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n")
        else:  # the body ends where the connection does
            conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + body)

    with Hostile(answer) as h:
        status, reason, _, body = http_request("GET", h.url, [], b"", limit=1000)
        a = _exchange("GET", h.url, [], b"", limit=1000)
        dropped = _exchange("GET", h.url, [], b"", limit=1000, keep=False)
    assert (status, reason, body) == (200, "OK", kept)  # (the public 4-tuple, cut too)
    assert (a.status, a.body, a.truncated) == (200, kept, truncated)
    assert (dropped.status, dropped.body, dropped.truncated) == (200, b"", truncated)


def test_the_cap_is_ten_mebibytes_as_documented() -> None:
    from hooklab.outbound.sender import MAX_ANSWER
    from hooklab.outbound.sender import MAX_INTERIM as interim

    assert (MAX_ANSWER, interim) == (ANSWER_CAP, MAX_INTERIM)
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text("utf-8")
    assert "10 MiB" in readme and "MAX_ANSWER" in readme and "1xx" in readme


def test_hooklab_send_says_when_the_answer_was_cut() -> None:
    with Hostile(_stream("length", 12 * MiB)) as h:
        r = subprocess.run([EXE, "send", h.url + "/hook", "--data", "{}"], capture_output=True,
                           timeout=60)
    assert r.returncode == 0 and r.stdout.startswith(b"200 OK\n")
    assert r.stderr == (b"hooklab: the answer was longer than 10,485,760 bytes: "
                        b"its beginning is shown\n")


# -- what the target writes, shown to a person -----------------------------------------------

ESC_LINE = b"\x1b]0;PWNED-title\x07\x1b[2J\x1b[31mHTTP/1.1 200 OK\r\n\r\n"
LONG_LINE = b"\x1b[2J" + b"A" * 60_000 + b"\r\n\r\n"
STATUS_LINES = [  # (what the target sends, the error replay and forward give back)
    pytest.param(ESC_LINE, r"BadStatusLine: \x1b]0;PWNED-title\x07\x1b[2J\x1b[31mHTTP/1.1 200 OK\r\n",
                 id="escapes"),
    pytest.param(b"HTTP/1.1 2\x0800 \r\n\r\n", r"BadStatusLine: HTTP/1.1 2\x0800 \r\n", id="backspace"),
    pytest.param(LONG_LINE, r"BadStatusLine: \x1b[2J" + "A" * 1946
                 + "... (cut from 60,021 characters)", id="long"),
]


@pytest.mark.parametrize("line,error", STATUS_LINES)
def test_a_replays_error_is_escaped_and_cut_as_a_forwards_is(lab: HookLab, line: bytes,
                                                             error: str) -> None:
    """``ReplayResult.error`` quoted a bad status line raw (ESC, BEL, 60 KB of it); a
    forward's recorded error escaped and cut it. Now both say the same."""
    hooklab.send(lab.url_for("b"), payload={"a": 1})
    (cap,) = lab.wait(1, timeout=10)
    with Hostile(_sends(line)) as h:
        (r,) = lab.replay(cap, to=h.url, timeout=10)
        outcome = _forwarded(lab, h.url, timeout=10)
    assert len(error) <= 2000
    assert (r.status, r.error) == (None, error)
    assert outcome["error"] == error


@pytest.mark.parametrize("line,error", STATUS_LINES[:2])
def test_hooklab_replay_prints_a_bad_status_line_escaped(tmp_path: Path, line: bytes,
                                                         error: str) -> None:
    """``hooklab replay`` wrote the target's status line to the terminal as it came: a
    window title set, the screen cleared."""
    db = _db_with_one_capture(tmp_path / "c.sqlite3")
    with Hostile(_sends(line)) as h:
        r = subprocess.run([EXE, "replay", "--db", db, "--id", "1", "--to", h.url],
                           capture_output=True, timeout=60)
    assert (r.returncode, r.stdout, r.stderr) == (1, f"#1 -> error: {error}\n".encode(), b"")



@pytest.mark.parametrize("line,error", STATUS_LINES[:2])
def test_hooklab_send_says_a_bad_status_line_in_one_escaped_line(line: bytes, error: str) -> None:
    """``hooklab send`` ended in a traceback quoting the status line raw (``BadStatusLine``
    is no ``OSError``)."""
    with Hostile(_sends(line)) as h:
        r = subprocess.run([EXE, "send", h.url + "/hook", "--data", "{}"],
                           capture_output=True, timeout=60)
    assert (r.returncode, r.stdout) == (1, b"")
    assert r.stderr == f"hooklab: could not send to {h.url}/hook: {error}\n".encode()


@pytest.mark.parametrize("reason,body,shown", [
    (b"OK", b'{"ok": true}', b'200 OK\n{"ok": true}\n'),
    (b"\x1b]0;PWN\x07\x1b[2J", b"\x1b[2Jbody\r\nline 2\tx\rforged\x07",
     b"200 \\x1b]0;PWN\\x07\\x1b[2J\n\\x1b[2Jbody\r\nline 2\tx\\rforged\\x07\n"),
    (b"OK", "caf\u00e9 \u2603".encode(), "200 OK\ncaf\u00e9 \u2603\n".encode()),
], ids=["plain", "escapes", "utf-8"])
def test_hooklab_send_prints_the_answer_with_escapes_for_what_a_terminal_acts_on(
        reason: bytes, body: bytes, shown: bytes) -> None:
    answer = (b"HTTP/1.1 200 %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
              % (reason, len(body), body))
    with Hostile(_sends(answer)) as h:
        r = subprocess.run([EXE, "send", h.url + "/hook", "--data", "{}"], capture_output=True,
                           timeout=60, env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    assert (r.returncode, r.stdout, r.stderr) == (0, shown, b"")
