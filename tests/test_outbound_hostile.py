"""hooklab as an HTTP client against hostile targets: raw-socket servers on 127.0.0.1 that
answer interim 1xx answers, hundreds of megabytes, answers without end and terminal escapes,
met through ``lab.replay``, ``lab.forward``, ``hooklab.send`` and the ``hooklab`` command."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import hooklab
from hooklab import HookLab

EXE = str(Path(sys.executable).with_name("hooklab"))
MAX_INTERIM = 32  # README: interim answers read past before the final one, at most

Answer = Callable[[socket.socket, threading.Event], None]


class Hostile:
    """``with Hostile(answer) as h: ... h.url``: a raw-socket HTTP target on 127.0.0.1 that reads
    each request (head, then a ``Content-Length`` body) and lets ``answer(conn, stop)`` write
    whatever it likes; ``stop`` is set when the block ends (an answer that holds its
    connection open waits on it)."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.stop = threading.Event()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.threads: list[threading.Thread] = []
        self.accepted = 0

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            t = threading.Thread(target=self._one, args=(conn,), daemon=True)
            self.threads.append(t)
            t.start()

    def _one(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.settimeout(10)
                head = b""
                while b"\r\n\r\n" not in head and len(head) < 1 << 20:
                    piece = conn.recv(65536)
                    if not piece:
                        return
                    head += piece
                head, _, body = head.partition(b"\r\n\r\n")
                length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                while len(body) < length:  # (unread bytes would make close() a reset)
                    piece = conn.recv(65536)
                    if not piece:
                        return
                    body += piece
                self.answer(conn, self.stop)
                conn.shutdown(socket.SHUT_WR)
            except OSError:  # the client hung up: what a cut answer looks like from here
                pass

    def __enter__(self) -> Hostile:
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.sock.close()
        self.thread.join(5)
        for t in self.threads:
            t.join(5)


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
