"""``max_messages`` bounds what ``hooklab.ws.record`` stores: after it hooklab closes, and
the messages the server still sends before its close frame answers hooklab's are counted in
the summary's ``messages_not_stored``, not stored nor in ``received`` (they were dropped
without a word). With ``duration`` instead, everything until the server's close frame is
stored. Raw servers on 127.0.0.1 (tests/test_ws_hostile.py)."""

from __future__ import annotations

import asyncio
import struct

import pytest
from test_ws_hostile import _frame, _handshake, _hostile, _Seen, _until_close

from hooklab import HookLab, ws


def _burst(before: list[bytes], after: list[bytes] = (), *, with_101: bool = False):
    """Takes the handshake, sends ``before`` at once (in the 101's own write with
    ``with_101``: read before the connection is handed over), waits for hooklab's close
    frame, sends ``after``, then answers the close (1000). Text frames; ``b"\\x00"``-led ones
    binary."""
    def frames(payloads: list[bytes]) -> bytes:
        return b"".join(_frame(2 if p[:1] == b"\0" else 1, p) for p in payloads)

    async def behaviour(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                        seen: _Seen) -> None:
        if with_101:
            writer.write = _joined(writer, frames(before))  # type: ignore[method-assign]
        await _handshake(reader, writer, seen)
        if not with_101:
            writer.write(frames(before))
        await writer.drain()
        await _until_close(reader, seen)
        writer.write(frames(list(after)) + _frame(8, struct.pack("!H", 1000)))
        await writer.drain()
    return behaviour


def _joined(writer: asyncio.StreamWriter, extra: bytes):
    """``writer.write`` that adds ``extra`` to its first write (the 101 answer) only."""
    plain = writer.write

    def write(data: bytes) -> None:
        writer.write = plain  # type: ignore[method-assign]
        plain(data + extra)
    return write


M = [f"m{i}".encode() for i in range(8)]


@pytest.mark.parametrize("behaviour, max_messages, stored, not_stored", [
    (_burst(M[:6]), 3, M[:3], 3),
    (_burst(M[:3]), 3, M[:3], 0),
    (_burst(M[:4]), 1, M[:1], 3),
    (_burst(M[:2], M[2:5]), 2, M[:2], 3),  # (sent after hooklab's close frame came)
    (_burst(M[:5], with_101=True), 2, M[:2], 3),  # (read with the handshake answer)
    (_burst([b"\0bin0", b"\0bin1", b"t2", b"\0bin3"]), 2, [b"\0bin0", b"\0bin1"], 2),
], ids=["burst-past", "exactly", "max-1", "after-our-close", "with-the-101", "binary"])
def test_max_messages_bounds_what_is_stored_and_counts_the_rest(
        lab: HookLab, behaviour, max_messages: int, stored: list[bytes], not_stored: int) -> None:
    with _hostile(behaviour) as (base, seen):
        summary = ws.record(f"{base}/feed", max_messages=max_messages, duration=10, lab=lab)
    caps = lab.query(kind="ws")
    assert [c.method for c in caps] == ["OPEN", *["RECV"] * len(stored), "CLOSE"]
    assert [c.body for c in caps if c.method == "RECV"] == stored
    assert summary.received == len(stored)
    assert summary.bytes_received == sum(map(len, stored))
    assert summary.messages_not_stored == not_stored
    assert summary.errors == [] and summary.capture_ids == [c.id for c in caps]
    assert summary.stopped_by == "max_messages"
    assert seen.closes == [b"\x03\xe8recording finished"]
    assert summary.closes == [(1000, "recording finished", "client")]


def test_without_max_messages_everything_until_the_close_is_stored(lab: HookLab) -> None:
    """``duration``: what the server sent until its close frame answered hooklab's is stored
    (README), none counted as not stored."""
    with _hostile(_burst(M[:3], M[3:6])) as (base, _):
        summary = ws.record(f"{base}/feed", duration=1, lab=lab)
    assert [c.body for c in lab.query(kind="ws", method="RECV")] == M[:6]
    assert summary.received == 6 and summary.messages_not_stored == 0
    assert summary.stopped_by == "duration"
