"""What ``hooklab.ws.record`` says it sent and received is what went over the wire and what
was stored: a ``send=`` message the connection closed before is not recorded as ``SEND`` nor
counted in ``summary.sent`` (it was recorded, then ``write_message`` failed), and once the
store fails (``lab.stop()`` during a recording) the summary counts only what was stored.
Real raw WebSocket servers on 127.0.0.1 (tests/test_ws_hostile.py)."""

from __future__ import annotations

import asyncio
import contextlib
import struct
import time
from pathlib import Path

import pytest
from test_ws_hostile import _frame, _handshake, _hostile, _read_frame, _Seen

import hooklab
from hooklab import HookLab, ws

CLOSE = _frame(8, struct.pack("!H", 1000))


def _closes_after(reads: int, with_handshake: bool = False):
    """Answers the handshake (its close frame in the same write when ``with_handshake``),
    reads ``reads`` data frames, closes (1000), then reads every frame until the client's
    close: the data frames it got in ``seen.requests[1:]``."""
    async def behaviour(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seen: _Seen) -> None:
        await _handshake(reader, writer, seen, extra=b"")
        if with_handshake:
            writer.write(CLOSE)
        got = 0

        async def read() -> None:
            nonlocal got
            for _ in range(100):  # (bounded: the client sends 3 messages and a close)
                if got == reads and not with_handshake:
                    writer.write(CLOSE)
                    await writer.drain()
                    got += 1  # (closed once)
                opcode, data = await _read_frame(reader)
                if opcode in (1, 2):
                    seen.requests.append(data)
                    got += 1 if got < reads else 0
                elif opcode == 8:
                    seen.closes.append(data)
                    return

        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError, asyncio.TimeoutError):
            await asyncio.wait_for(read(), 10)
    return behaviour


@pytest.mark.parametrize("behaviour", [
    _closes_after(0, with_handshake=True),  # (the close frame came with the 101 answer)
    _closes_after(0),
    _closes_after(1),
    _closes_after(2),
    _closes_after(3),
], ids=["close-in-handshake", "close-at-once", "close-after-1", "close-after-2", "close-after-3"])
def test_only_messages_that_went_out_are_recorded_and_counted(lab: HookLab, behaviour) -> None:
    messages = ["m1", "m2", b"\x03m3"]
    with _hostile(behaviour) as (base, seen):
        summary = ws.record(f"{base}/feed", send=messages, lab=lab, duration=10)
    got = seen.requests[1:]  # (the data frames the server read)
    caps = lab.query(kind="ws")
    sends = [c.body for c in caps if c.method == "SEND"]
    assert sends == got
    assert summary.sent == len(got) and summary.bytes_sent == sum(map(len, got))
    assert got == [m.encode() if isinstance(m, str) else m for m in messages][:len(got)]
    unsent = [e for e in summary.errors if "send= messages were not sent" in e]
    if len(got) < len(messages):
        assert unsent == [f"connection 1: {len(messages) - len(got)} of the 3 send= messages "
                          "were not sent: the connection closed first"]
    else:
        assert unsent == []
    assert [c.method for c in caps] == ["OPEN", *["SEND"] * len(got), "CLOSE"]
    assert summary.closes == [(1000, "", "server")]


async def _ticks(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seen: _Seen) -> None:
    """A feed: a text message every 20 ms for up to 10 s; answers the client's close."""
    await _handshake(reader, writer, seen)

    async def read() -> None:
        for _ in range(100):
            opcode, data = await _read_frame(reader)
            if opcode == 8:
                seen.closes.append(data)
                writer.write(_frame(8, data[:2]))
                await writer.drain()
                return

    reading = asyncio.ensure_future(read())
    try:
        for i in range(500):
            if reading.done():
                break
            writer.write(_frame(1, b"tick%d" % i))
            await writer.drain()
            await asyncio.sleep(0.02)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(reading), 10)
    finally:
        reading.cancel()
        with contextlib.suppress(BaseException):
            await reading


@pytest.mark.parametrize("stop_first", [False, True], ids=["lab-stop", "lab-stop-then-stop"])
def test_after_the_store_fails_the_summary_counts_what_was_stored(
        tmp_path: Path, stop_first: bool) -> None:
    """``lab.stop()`` during a recording: the summary kept counting the messages that came
    while the connection closed (29 received, 4 stored). Its counts are the stored RECV
    captures, read back from the database file."""
    db = tmp_path / "captures.sqlite3"
    lab = HookLab(port=0, db=str(db)).start()
    with _hostile(_ticks) as (base, seen):
        rec = ws.start_recording(f"{base}/feed", send="hi", lab=lab, duration=30)
        for _ in range(100):  # (until a few ticks are stored, at most 5 s)
            if lab.store.count(kind="ws", method="RECV") >= 3:
                break
            time.sleep(0.05)
        lab.stop()
        if stop_first:
            with contextlib.suppress(ws.RecordingError):
                rec.stop(timeout=20)
        with pytest.raises(ws.RecordingError) as raised:
            rec.result(timeout=20)
    summary = raised.value.summary
    back = hooklab.open(db)
    try:
        stored = [c for c in back.query(kind="ws") if c.id in set(summary.capture_ids)]
        assert [c.id for c in stored] == summary.capture_ids
        recv = [c.body for c in stored if c.method == "RECV"]
        sent = [c.body for c in stored if c.method == "SEND"]
    finally:
        back.stop()
    assert recv[:3] == [b"tick0", b"tick1", b"tick2"]
    assert summary.received == len(recv) and summary.bytes_received == sum(map(len, recv))
    assert summary.sent == len(sent) == 1
