"""Ctrl-C twice ("interrupt kernel" twice) during ``hooklab.ws.record()`` in a real kernel.

The first closes the connection cleanly: hooklab sends its close frame and waits (up to 5 s)
for the server's. A second one while it waits gives up on that wait at once: the connection is
cut, its CLOSE capture stored, and ``record()`` still returns the summary
(``stopped_by="stopped"``), where a ``KeyboardInterrupt`` came out of it and the summary was
lost. The server is a raw one on 127.0.0.1 (tests/test_ws_hostile.py) that never answers a
close frame; the interrupts are sent when the server has seen what says where the kernel is.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from pathlib import Path

import pytest
from test_flatten_wide import _Kernel
from test_ws_hostile import _frame, _handshake, _hostile, _Seen, _until_close

pytestmark = pytest.mark.timeout(180)


def _deaf(cut: list[float]):
    """Takes the handshake, sends one message, reads until the client's close frame and never
    answers it; ``cut`` gets the time the client ended the TCP connection (at most 20 s)."""
    async def behaviour(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                        seen: _Seen) -> None:
        await _handshake(reader, writer, seen)
        writer.write(_frame(1, b"hello"))
        await writer.drain()
        await _until_close(reader, seen)
        with contextlib.suppress(asyncio.TimeoutError, ConnectionError):
            await asyncio.wait_for(reader.read(), 20)  # (b"" once the client cuts it)
        cut.append(time.monotonic())
    return behaviour


def _until(ok, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not ok() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert ok(), "the server never saw it"


_CELL = """
s = None
s = hooklab.ws.record({url!r}, duration=60, lab=lab)
end = time.monotonic() + 2  # (the thread ends as record() returns: bounded wait for it)
while any(t.name == "hooklab-ws-record" for t in threading.enumerate()) and time.monotonic() < end:
    time.sleep(0.01)
print(json.dumps({{
    "stopped_by": s.stopped_by, "closes": s.closes, "errors": s.errors,
    "received": s.received, "ids": s.capture_ids,
    "stored": [[c.id, c.method, c.status] for c in lab.query(kind="ws")],
    "thread": any(t.name == "hooklab-ws-record" for t in threading.enumerate()),
}}))
"""


def test_a_second_interrupt_gives_up_on_the_close_and_returns_the_summary(tmp_path: Path) -> None:
    k = _Kernel(tmp_path)
    cut: list[float] = []
    try:
        k.run("import json, threading, time, hooklab\n"
              "lab = hooklab.HookLab(port=0, db=':memory:').start()")
        with _hostile(_deaf(cut)) as (base, seen):
            msg_id = k.start(_CELL.format(url=f"{base}/feed"))
            _until(lambda: len(seen.requests) == 1)
            time.sleep(0.5)  # (record() waits for the recording: the first Ctrl-C)
            k.km.interrupt_kernel()
            _until(lambda: len(seen.closes) == 1)  # (hooklab's close frame: it waits now)
            time.sleep(0.3)
            k.km.interrupt_kernel()
            second = time.monotonic()
            out, error = k.outcome(msg_id, timeout=30)
            back = time.monotonic() - second
            _until(lambda: bool(cut), 20)
        assert not error, error
        said = json.loads(out.strip().splitlines()[-1])
        # at once, not after Tornado's 5 s wait for the close frame that never comes
        assert back < 3.0 and cut[0] - second < 3.0, (back, cut[0] - second)
        assert seen.closes == [b"\x03\xe8recording finished"]  # (the first Ctrl-C: 1000)
        assert said["stopped_by"] == "stopped"
        assert said["closes"] == [[1000, "recording finished", "client"]]
        assert said["errors"] == ["connection 1: hooklab did not wait for the server's close "
                                  "frame (stopped again while it waited): the connection was cut"]
        assert said["received"] == 1 and not said["thread"]
        # the CLOSE capture stored before record() returned, last, and in the summary's ids
        assert [m for _, m, _ in said["stored"]] == ["OPEN", "RECV", "CLOSE"]
        assert said["stored"][-1][2] == 1000
        assert said["ids"] == [i for i, _, _ in said["stored"]]
        # the kernel goes on: another recording works
        with _hostile(_deaf([])) as (base, _):
            again = k.run(f"print(hooklab.ws.record({base + '/x'!r}, duration=0.5, lab=lab)"
                          ".stopped_by)")
        assert again.strip() == "duration"
    finally:
        k.close()
