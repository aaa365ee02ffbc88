"""A capture's ``status`` says what its sender was answered: the status once the answer was
written to it, 0 when none was (the sender hung up during a rule's delay, the lab stopped
first). Raw socket clients on 127.0.0.1 against a lab on a SQLite file, as a user's."""

from __future__ import annotations

import re
import socket
import struct
import threading
import time
from typing import Any

import pytest

import hooklab

SLOW = b"POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
FAST = b"POST /fast HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
CLOSE = b"Connection: close\r\n"


def _exchange(port: int, data: bytes, how: str, wait: float = 0.0) -> bytes:
    """Send ``data``; then ``read`` everything until the lab closes, ``half`` close the
    sending side first and read, or after ``wait`` seconds ``hang up`` (FIN) or ``reset``."""
    s = socket.create_connection(("127.0.0.1", port), timeout=15)
    try:
        s.sendall(data)
        if how in ("hang up", "reset"):
            time.sleep(wait)
            if how == "reset":
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return b""
        if how == "half":
            s.shutdown(socket.SHUT_WR)
        got = b""
        while chunk := s.recv(65536):
            got += chunk
        return got
    finally:
        s.close()


def _read_statuses(got: bytes) -> list[int]:
    """The statuses of the answers a client read, in order (the status lines it got)."""
    return [int(m) for m in re.findall(rb"(?:^|\r\n\r\n|\n)HTTP/1\.[01] (\d{3}) ", got)]


def _settled(lab: Any, n: int, expected: list[int], timeout: float = 6.0) -> list[int]:
    """The statuses of the lab's last ``n`` captures once they are ``expected`` (or after
    ``timeout`` seconds: what they are then)."""
    end = time.monotonic() + timeout
    while True:
        got = [c.status for c in list(lab.captures)[-n:]]
        if got == expected or time.monotonic() > end:
            return got
        time.sleep(0.05)


# (name, request bytes, respond rules, how the client behaves, its wait, captures made)
CASES = [
    ("fast answer, unchanged", FAST + CLOSE + b"\r\nx", [], "read", 0, 1),
    ("rule without delay", SLOW + CLOSE + b"\r\nx", [("slow", 201, 0)], "read", 0, 1),
    ("delayed answer read", SLOW + CLOSE + b"\r\nx", [("slow", 201, 1.0)], "read", 0, 1),
    ("hung up during the delay", SLOW + CLOSE + b"\r\nx", [("slow", 201, 1.0)], "hang up", 0.3, 1),
    ("reset during the delay", SLOW + CLOSE + b"\r\nx", [("slow", 201, 1.0)], "reset", 0.3, 1),
    ("half-closed, still reading", SLOW + CLOSE + b"\r\nx", [("slow", 201, 1.0)], "half", 0, 1),
    ("fast, half-closed, still reading", FAST + b"\r\nx", [], "half", 0, 1),
    ("HEAD delayed, read", b"HEAD /slow HTTP/1.1\r\nHost: x\r\n" + CLOSE + b"\r\n",
     [("slow", 201, 1.0)], "read", 0, 1),
    ("HEAD delayed, hung up", b"HEAD /slow HTTP/1.1\r\nHost: x\r\n\r\n",
     [("slow", 201, 1.0)], "hang up", 0.3, 1),
    ("pipelined behind a delay, read", SLOW + b"\r\nx" + FAST + CLOSE + b"\r\ny",
     [("slow", 201, 1.0)], "read", 0, 2),
    ("pipelined behind a delay, hung up", SLOW + b"\r\nx" + FAST + b"\r\ny",
     [("slow", 201, 1.0)], "hang up", 0.3, 2),
    ("chunked, delayed, read",
     b"POST /slow HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n" + CLOSE
     + b"\r\n1\r\nx\r\n0\r\n\r\n", [("slow", 202, 1.0)], "read", 0, 1),
    ("chunked, delayed, hung up",
     b"POST /slow HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n",
     [("slow", 202, 1.0)], "hang up", 0.3, 1),
]


@pytest.mark.parametrize("name, data, rules, how, wait, n", CASES, ids=[c[0] for c in CASES])
def test_stored_status_is_what_the_sender_got(tmp_path, name, data, rules, how, wait, n) -> None:  # type: ignore[no-untyped-def]
    lab = hooklab.start(port=0, db=str(tmp_path / "c.sqlite3"))
    try:
        for where, status, delay in rules:
            lab.respond(where, status=status, delay=delay)
        got = _exchange(lab.bound_port, data, how, wait)
        read = _read_statuses(got)
        expected = read + [0] * (n - len(read))  # (an answer the sender never read: 0)
        if how in ("hang up", "reset"):
            assert read == [] and expected == [0] * n
        else:
            assert len(read) == n, got
        assert _settled(lab, n, expected) == expected, name
        assert lab.dataframe()["status"].tolist()[-n:] == expected
        assert str(lab.dataframe()["status"].dtype) == "Int64"
        assert len(lab.captures) == n  # (received, so stored, answered or not)
    finally:
        lab.stop()
    again = hooklab.open(str(tmp_path / "c.sqlite3"))  # (on the file, for the next kernel)
    try:
        assert [c.status for c in again.captures] == expected
    finally:
        again.stop()


def test_a_delayed_answer_is_stored_as_none_until_written_and_the_view_follows(tmp_path) -> None:  # type: ignore[no-untyped-def]
    lab = hooklab.start(port=0, db=str(tmp_path / "c.sqlite3"))
    try:
        lab.respond("slow", status=201, delay=1.5)
        got: dict[str, bytes] = {}
        th = threading.Thread(target=lambda: got.setdefault(
            "answer", _exchange(lab.bound_port, SLOW + CLOSE + b"\r\nx", "read")))
        th.start()
        (cap,) = lab.wait(1, timeout=10)
        view = lab.live()
        view.select(cap.id)
        shown = re.compile(r"status answered</t[dh]><td[^>]*>([^<]*)")
        assert cap.status == 0 and lab.captures[-1].status == 0  # (not answered yet)
        assert shown.search(view.detail.value).group(1) == "0 (no answer)"
        th.join(15)
        assert _read_statuses(got["answer"]) == [201]
        assert _settled(lab, 1, [201]) == [201]
        end = time.monotonic() + 6
        while shown.search(view.detail.value).group(1) != "201" and time.monotonic() < end:
            time.sleep(0.05)
        assert shown.search(view.detail.value).group(1) == "201"
        view.close()
    finally:
        lab.stop()


def test_stop_serving_during_a_delay_stores_no_answer(tmp_path) -> None:  # type: ignore[no-untyped-def]
    lab = hooklab.start(port=0, db=str(tmp_path / "c.sqlite3"))
    try:
        lab.respond("slow", status=202, body=b"late", delay=20)
        lab.respond("fast", status=201)
        got: dict[str, bytes] = {}
        port = lab.bound_port
        threads = [threading.Thread(target=lambda k=k, d=d: got.setdefault(
            k, _exchange(port, d, "read"))) for k, d in
            (("slow", SLOW + b"\r\nx"), ("fast", FAST + CLOSE + b"\r\ny"))]
        for th in threads:
            th.start()
        lab.wait(2, timeout=10)
        lab.stop_serving()  # (%hooklab stop)
        for th in threads:
            th.join(30)
        assert got["slow"] == b"" and _read_statuses(got["fast"]) == [201]
        by_bin = {c.bin: c.status for c in lab.captures}
        assert by_bin == {"slow": 0, "fast": 201}
    finally:
        lab.stop()


def _half_close_read_reset(port: int, data: bytes, ack_first: bool) -> bytes:
    """Send, half-close, read the whole answer (a JSON body: up to its ``}``), then close with
    a reset: at once, the read answer perhaps not acknowledged yet by this side's TCP (its
    ACKs delayed), or ``ack_first``, once that ACK went (the delayed ACK's 40 ms are past)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=15)
    try:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 0)
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 0)
        got = b""
        while not got.endswith(b"}") and (chunk := s.recv(65536)):
            got += chunk
        if ack_first:
            time.sleep(0.25)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        return got
    finally:
        s.close()


def _fire_and_forget(port: int, data: bytes, reset: bool) -> None:
    """Send and close at once, reading nothing (with a reset, or a FIN)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=15)
    s.sendall(data)
    if reset:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def test_an_answer_not_delayed_keeps_its_status_however_the_sender_goes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Without a delay the answer is written at once after commit: its row says its status,
    whether the sender read it and reset before acknowledging, or never read it at all."""
    lab = hooklab.start(port=0, db=str(tmp_path / "c.sqlite3"))
    changed: list[int] = []
    unsubscribe = lab.store.subscribe(lambda cap: None, on_status=changed.append)
    try:
        lab.respond("rule", status=201)
        port = lab.bound_port
        read = []
        for _ in range(10):
            read.append(_half_close_read_reset(port, FAST + b"\r\nx", ack_first=False))
        for _ in range(10):
            read.append(_half_close_read_reset(
                port, b"POST /rule HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx",
                ack_first=False))
        assert [_read_statuses(g) for g in read] == [[200]] * 10 + [[201]] * 10
        for i in range(20):  # (no rule: the default answer; a FIN or a reset)
            _fire_and_forget(port, FAST + b"\r\nx", reset=i % 2 == 1)
        expected = [200] * 10 + [201] * 10 + [200] * 20
        lab.wait(40, timeout=10)
        time.sleep(0.5)  # (what a wrong correction would take to arrive)
        lab.store.flush()
        assert [c.status for c in lab.captures] == expected
        assert changed == []  # (no row corrected: no extra write, no live view update)
    finally:
        unsubscribe()
        lab.stop()


def test_a_delayed_answer_acknowledged_then_reset_counts_as_answered(tmp_path) -> None:  # type: ignore[no-untyped-def]
    lab = hooklab.start(port=0, db=str(tmp_path / "c.sqlite3"))
    try:
        lab.respond("slow", status=201, body=b"{}", delay=0.2)
        got = [_half_close_read_reset(lab.bound_port, SLOW + b"\r\nx", ack_first=True)
               for _ in range(3)]
        assert [_read_statuses(g) for g in got] == [[201]] * 3
        assert _settled(lab, 3, [201] * 3) == [201] * 3
    finally:
        lab.stop()


def test_confirming_delayed_answers_to_half_closed_senders_is_bounded(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Senders that half-close and never read (a tiny receive window) keep a delayed answer
    unacknowledged: the lab looks a few times per connection, with growing intervals, and
    after CONFIRM_SECONDS counts the answer as written (it was)."""
    from hooklab.server import protocol

    looks: list[int] = []
    taken = protocol._answer_taken

    def counting(transport: Any) -> bool | None:
        looks.append(1)
        return taken(transport)

    monkeypatch.setattr(protocol, "_answer_taken", counting)
    lab = hooklab.start(port=0, db=str(tmp_path / "c.sqlite3"))
    socks: list[socket.socket] = []
    n = 20
    try:
        lab.respond("slow", status=201, body=b"z" * 512 * 1024, delay=0.2)
        for _ in range(n):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
            s.connect(("127.0.0.1", lab.bound_port))
            s.sendall(SLOW + b"\r\nx")
            s.shutdown(socket.SHUT_WR)
            socks.append(s)
        assert _settled(lab, n, [201] * n, timeout=protocol.CONFIRM_SECONDS + 6) == [201] * n
        time.sleep(0.5)
        assert 0 < len(looks) <= n * 12, len(looks)  # (every 10 ms for 2 s: 200 a connection)
    finally:
        for s in socks:
            s.close()
        lab.stop()


def test_the_stream_tells_its_readers_a_delayed_answer_s_status(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """``/_hooklab/ws``: the capture comes saying 0, then an update saying what was answered;
    a reader whose filter the capture does not match hears of neither."""
    import asyncio
    import json

    from tornado.websocket import websocket_connect

    lab = hooklab.start(port=0, db=str(tmp_path / "c.sqlite3"))
    try:
        lab.respond("slow", status=201, delay=1.0)

        async def main() -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
            ws = await websocket_connect(lab.stream_url())
            other = await websocket_connect(lab.stream_url(bin="fast"))
            got: dict[str, bytes] = {}
            th = threading.Thread(target=lambda: got.setdefault(
                "answer", _exchange(lab.bound_port, SLOW + CLOSE + b"\r\nx", "read")))
            th.start()
            msgs: list[dict[str, Any]] = []
            while len(msgs) < 2:
                m = await asyncio.wait_for(ws.read_message(), 10)
                assert m is not None
                msgs.append(json.loads(m))
            th.join(15)
            assert _read_statuses(got["answer"]) == [201]
            try:
                heard = [json.loads(await asyncio.wait_for(other.read_message(), 0.5))]
            except asyncio.TimeoutError:
                heard = []
            ws.close()
            other.close()
            replay = await websocket_connect(lab.stream_url(since=0))
            first = json.loads(await asyncio.wait_for(replay.read_message(), 10))
            replay.close()
            return msgs, heard, first

        msgs, heard, replayed = asyncio.run(main())
        cid = lab.captures[-1].id
        assert msgs[0]["id"] == cid and msgs[0]["status"] == 0 and "update" not in msgs[0]
        assert msgs[1] == {"update": "status", "id": cid, "status": 201}
        assert heard == []
        assert replayed["id"] == cid and replayed["status"] == 201
    finally:
        lab.stop()
