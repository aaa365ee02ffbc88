"""The timeout of ``hooklab.send``, ``lab.replay`` and a forward bounds the whole exchange,
not each read: an app that answers ``200 OK`` with no length and then one byte every 0.1 s
(or trickles its head) kept each of them busy until it stopped by itself (30 s for a
timeout of 2), and four such forwards held every forward worker while other bins' forwards
waited. Raw-socket apps on 127.0.0.1 that stop trickling on their own after TRICKLE_FOR
seconds, met as a user meets them."""

from __future__ import annotations

import socket
import time

import pytest
from _http import post
from _rawapp import RawServer

import hooklab
from hooklab import HookLab

TIMEOUT = 1.0
#: how long a trickling app goes on by itself (bounded: it stops then, or when the test ends)
TRICKLE_FOR = 8.0
#: what an exchange may take past its timeout on a busy 2-core machine (well short of
#: TRICKLE_FOR: without a deadline it ends only when the app stops)
SLACK = 2.5


class Trickle(RawServer):
    """An app that reads a request and answers a byte every 0.1 s: ``"body"``, a whole head
    with no length, then the body byte by byte; ``"head"``, the head itself byte by byte,
    never finished; ``"ok"``, a plain ``200`` at once."""

    def __init__(self, how: str) -> None:
        super().__init__()
        self.how = how

    def _one(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.settimeout(10)
                if self.read_request(conn) is None:
                    return
                if self.how == "ok":
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                    return
                if self.how == "body":
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n")
                    data = b"." * 1000
                else:
                    data = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 1000
                end = time.monotonic() + TRICKLE_FOR
                for ch in data:
                    if self.stop.is_set() or time.monotonic() > end:
                        return
                    conn.sendall(bytes([ch]))
                    time.sleep(0.1)
            except OSError:
                return


def _post(lab: HookLab, bin_: str) -> None:
    assert post(lab.url_for(bin_), b"{}")[0] == 200


@pytest.mark.parametrize("how", ["body", "head"])
def test_send_ends_at_its_timeout_however_slowly_the_app_answers(how: str) -> None:
    with Trickle(how) as app:
        start = time.monotonic()
        with pytest.raises(TimeoutError, match=r"^timed out after 1 s$"):
            hooklab.send(app.url + "/hook", payload=b"x", timeout=TIMEOUT)
        took = time.monotonic() - start
    assert TIMEOUT <= took < TIMEOUT + SLACK, took


@pytest.mark.parametrize("how", ["body", "head"])
def test_replay_ends_at_its_timeout_however_slowly_the_app_answers(lab: HookLab, how: str) -> None:
    _post(lab, "b")
    lab.wait(1, timeout=10)
    with Trickle(how) as app:
        start = time.monotonic()
        (r,) = lab.replay([1], to=app.url + "/hook", timeout=TIMEOUT)
        took = time.monotonic() - start
    assert (r.status, r.ok, r.error) == (None, False, "TimeoutError: timed out after 1 s")
    assert TIMEOUT <= took < TIMEOUT + SLACK, took


def test_a_forward_ends_at_forward_timeout_and_frees_its_worker_for_other_bins(lab: HookLab) -> None:
    lab.forward_timeout = TIMEOUT
    with Trickle("body") as slow, Trickle("ok") as fast:
        lab.forward("slow", to=slow.url + "/hook")
        lab.forward("fast", to=fast.url + "/hook")
        for _ in range(4):  # (as many as there are forward workers: all of them taken)
            _post(lab, "slow")
        lab.wait(4, timeout=10)
        deadline = time.monotonic() + 5
        while slow.accepted < 4 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert slow.accepted == 4
        start = time.monotonic()
        _post(lab, "fast")
        assert lab.store.wait_for(lambda: any(f["capture_id"] == 5 for f in lab.forwards()),
                                  timeout=TRICKLE_FOR + 5)
        waited = time.monotonic() - start
        rows = {f["capture_id"]: f for f in lab.forwards()}
    assert waited < TIMEOUT + SLACK, waited  # (a worker came free at the slow ones' timeout)
    assert (rows[5]["status"], rows[5]["error"]) == (200, None)
    for cid in (1, 2, 3, 4):
        assert (rows[cid]["status"], rows[cid]["error"]) == (None, "TimeoutError: timed out after 1 s")
        assert rows[cid]["latency_ms"] < (TIMEOUT + SLACK) * 1000
