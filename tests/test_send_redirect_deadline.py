"""``hooklab.send(..., timeout=T, follow_redirects=True)``: the timeout bounds the whole
exchange, every redirect followed (README: "the timeout bounds the whole exchange"; curl's
``--max-time``), where each hop had ``T`` seconds of its own."""

from __future__ import annotations

import socket
import time

import pytest
from _rawapp import RawServer

import hooklab


class SlowHops(RawServer):
    """``/hop/<n>`` answers after ``pause`` seconds: a 302 to ``/hop/<n+1>`` up to ``hops``,
    then 200 ``ok``."""

    def __init__(self, pause: float, hops: int) -> None:
        super().__init__()
        self.pause, self.hops = pause, hops
        self.asked: list[int] = []

    def _one(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(10)
            got = self.read_request(conn)
            if got is None:
                return
            n = int(got[0].split(b" ")[1].rsplit(b"/", 1)[1])
            self.asked.append(n)
            if self.stop.wait(self.pause):
                return
            try:
                if n < self.hops:
                    conn.sendall(f"HTTP/1.1 302 Found\r\nLocation: /hop/{n + 1}\r\n"
                                 "Content-Length: 0\r\n\r\n".encode())
                else:
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            except OSError:
                pass  # (the client gave up: its deadline passed)


# (pause per hop, hops, timeout; what send gives: a status, or the timeout's words)
CASES = [
    ("five slow hops past the timeout", 0.6, 5, 1.5, "timed out after 1.5 s"),
    ("the first hop within, the second past", 0.8, 1, 1.2, "timed out after 1.2 s"),
    ("every hop within the timeout together", 0.1, 3, 5.0, 200),
]


@pytest.mark.parametrize(("pause", "hops", "timeout", "expected"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_one_deadline_for_every_hop(pause: float, hops: int, timeout: float,
                                    expected: int | str) -> None:
    with SlowHops(pause, hops) as app:
        start = time.monotonic()
        try:
            got: int | str = hooklab.send(app.url + "/hop/0", payload={"a": 1}, timeout=timeout,
                                          follow_redirects=True).status
        except TimeoutError as exc:
            got = str(exc)
        took = time.monotonic() - start
    assert got == expected
    assert took < timeout + 1.0  # (each hop within it, all of them past it: 3.6 s before)
