"""Pings and pongs in a ``hooklab.ws.record`` recording: control frames (RFC 6455 5.5), not
messages. They were stored as ``RECV`` captures that looked like 4-byte binary messages,
counted in ``summary.received`` but not toward ``max_messages``, and hooklab's own pongs were
not recorded. Now: ``PING`` / ``PONG`` captures (``X-WS-From``: server or client), counted in
``summary.pings`` / ``summary.pongs``, bounded per connection (a flood is counted in
``control_not_stored``). Real raw WebSocket servers on 127.0.0.1 (tests/test_ws_hostile.py)."""

from __future__ import annotations

import asyncio
import contextlib
import struct
import time

import pytest
from test_ws_hostile import _frame, _handshake, _hostile, _read_frame, _Seen

from hooklab import HookLab, ws


def _server(frames: bytes, pongs: list[bytes], close: bool):
    """Answers the handshake, sends ``frames`` (then a close frame when ``close``), and reads
    what the client sends until its close frame: the payloads of its pongs in ``pongs``."""
    async def behaviour(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seen: _Seen) -> None:
        await _handshake(reader, writer, seen)
        writer.write(frames + (_frame(8, struct.pack("!H", 1000)) if close else b""))
        await writer.drain()

        async def read() -> None:
            for _ in range(10_000):  # (bounded: the client answers each ping once at most)
                opcode, data = await _read_frame(reader)
                if opcode == 10:
                    pongs.append(data)
                elif opcode == 8:
                    seen.closes.append(data)
                    if not close:
                        writer.write(_frame(8, data[:2]))
                        await writer.drain()
                    return

        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError, asyncio.TimeoutError):
            await asyncio.wait_for(read(), 10)
    return behaviour


PING, PONG, TEXT, BINARY = 9, 10, 1, 2


@pytest.mark.parametrize("frames, methods", [
    # (opcode, payload) the server sends -> (method, X-WS-From, body) recorded between OPEN
    # and CLOSE: a ping is answered by hooklab's pong, recorded after it
    ([(PING, b"p1"), (TEXT, b"a")],
     [("PING", "server", b"p1"), ("PONG", "client", b"p1"), ("RECV", None, b"a")]),
    # a 4-byte ping and a 4-byte binary message: told apart by method, not a header
    ([(PING, b"\x00\x01\x02\x03"), (BINARY, b"\x00\x01\x02\x03")],
     [("PING", "server", b"\x00\x01\x02\x03"), ("PONG", "client", b"\x00\x01\x02\x03"),
      ("RECV", None, b"\x00\x01\x02\x03")]),
    ([(PING, b""), (PONG, b"unasked"), (TEXT, b'{"n": 1}'), (PING, b"x" * 125)],
     [("PING", "server", b""), ("PONG", "client", b""), ("PONG", "server", b"unasked"),
      ("RECV", None, b'{"n": 1}'), ("PING", "server", b"x" * 125),
      ("PONG", "client", b"x" * 125)]),
    ([(PONG, b"heartbeat")], [("PONG", "server", b"heartbeat")]),
    ([(TEXT, b"only")], [("RECV", None, b"only")]),
], ids=["ping-text", "ping-like-binary", "mixed", "unasked-pong", "no-control"])
def test_pings_and_pongs_are_their_own_captures_not_messages(
        lab: HookLab, frames: list, methods: list) -> None:
    pongs: list[bytes] = []
    wire = b"".join(_frame(op, data) for op, data in frames)
    with _hostile(_server(wire, pongs, close=True)) as (base, _):
        summary = ws.record(f"{base}/feed", lab=lab, duration=10)
    caps = lab.query(kind="ws")
    assert [c.id for c in caps] == summary.capture_ids
    assert [c.method for c in caps] == ["OPEN", *[m for m, _, _ in methods], "CLOSE"]
    assert [(c.method, c.header("X-WS-From"), c.body) for c in caps[1:-1]] == methods
    for c in caps[1:-1]:
        if c.method in ("PING", "PONG"):
            assert c.header("X-WS-Opcode") == ("9" if c.method == "PING" else "10")
    recv = [data for op, data in frames if op in (TEXT, BINARY)]
    assert summary.received == len(recv) == len(lab.dataframe(kind="ws", method="RECV"))
    assert summary.bytes_received == sum(map(len, recv))
    assert summary.pings == sum(m == "PING" for m, _, _ in methods)
    assert summary.pongs == sum(m == "PONG" for m, _, _ in methods)
    assert summary.control_not_stored == 0
    assert pongs == [data for op, data in frames if op == PING]  # (what the server got)


def test_a_ping_flood_is_bounded_and_no_message(lab: HookLab) -> None:
    """1000 pings, then one message: ``max_messages=1`` ends the recording at the message (the
    pings counted toward nothing), and a few dozen control frames are stored, not 2000."""
    n = 1000
    pongs: list[bytes] = []
    wire = b"".join(_frame(PING, b"%d" % i) for i in range(n)) + _frame(TEXT, b"after")
    with _hostile(_server(wire, pongs, close=False)) as (base, seen):
        started = time.monotonic()
        summary = ws.record(f"{base}/feed", lab=lab, duration=20, max_messages=1)
        took = time.monotonic() - started
    assert summary.stopped_by == "max_messages" and summary.received == 1
    assert seen.closes and seen.closes[0][:2] == struct.pack("!H", 1000)
    caps = lab.query(kind="ws")
    assert [c.body for c in caps if c.method == "RECV"] == [b"after"]
    control = [c for c in caps if c.method in ("PING", "PONG")]
    assert len(control) == summary.pings + summary.pongs
    assert 0 < len(control) <= 50 + 2 * took + 1  # (a burst, then 2 a second)
    # every control frame is stored or counted as not stored: the server's pings, and the
    # pongs hooklab wrote (which the server read)
    assert summary.pings + summary.pongs + summary.control_not_stored == n + len(pongs)
    assert len(pongs) >= 1 and summary.control_not_stored > 0
