"""An event type taken from a header is shown reading the header section's values only: a
trailer field (sent after a chunked body) names no event type, and its bytes are no header
value that the shown event type is read from (``hooklab.capture.header_text_as_sent``).

``X-GitHub-Event: x\\xc3\\xa9\\xff`` is no UTF-8 (its last byte), so it is shown as sent, a
character a byte (``xÃ©ÿ``); a trailer holding the UTF-8 bytes of ``é`` (``Ã©`` as stored)
made every place read that part of it as ``é``. Checked where a person reads the event type:
``hooklab serve``'s line (a real subprocess), the stream's ``event_read`` (the lab's own
WebSocket URL) and the live view's table and Details tab; raw chunked requests over real
sockets on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from _http import raw_request
from test_cli_serve_utf8 import serve_lines
from tornado import websocket

import hooklab

pytestmark = pytest.mark.timeout(120)


def _request(head: bytes, trailers: bytes, body: bytes = b"{}") -> bytes:
    """A chunked POST to the github bin: ``head`` and ``trailers`` as raw field lines."""
    return (b"POST /github HTTP/1.1\r\nHost: h\r\nConnection: close\r\n"
            b"Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n" + head
            + b"\r\n%x\r\n%s\r\n0\r\n" % (len(body), body) + trailers + b"\r\n")


#: (request, the provider detected, the event type stored, the event type shown)
CASES: list[tuple[bytes, str | None, str | None, str]] = [
    # the event header sent twice: as a header (no UTF-8) and, another value, as a trailer
    (_request(b"X-GitHub-Event: x\xc3\xa9\xff\r\n", b"X-GitHub-Event: \xc3\xa9\r\n"),
     "github", "x\u00c3\u00a9\u00ff", "x\u00c3\u00a9\u00ff"),
    # another trailer field holding that part of the header's value
    (_request(b"X-GitHub-Event: x\xc3\xa9\xff\r\n", b"X-Other: \xc3\xa9\r\n"),
     "github", "x\u00c3\u00a9\u00ff", "x\u00c3\u00a9\u00ff"),
    # the body's action is text already; a trailer holding its bytes does not change it
    (_request(b"X-GitHub-Event: push\r\n", b"X-A: \xc3\xa9\r\n", b'{"action": "\\u00c3\\u00a9"}'),
     "github", "push.\u00c3\u00a9", "push.\u00c3\u00a9"),
    # the header section's UTF-8 is read as UTF-8 as ever, whatever the trailers hold
    (_request(b"X-GitHub-Event: caf\xc3\xa9\r\n", b"X-GitHub-Event: \xff\r\n"),
     "github", "caf\u00c3\u00a9", "caf\u00e9"),
    # the event header only as a trailer: no event type (nor provider) from it
    (_request(b"User-Agent: GitHub-Hookshot/1\r\nX-GitHub-Delivery: 1\r\n",
              b"X-GitHub-Event: caf\xc3\xa9\r\n"), None, None, ""),
]


def _wait(pred: Any, timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.02)
    return bool(pred())


def _send(lab: hooklab.HookLab) -> list[hooklab.Capture]:
    port = lab.bound_port
    assert port is not None
    for raw, *_ in CASES:
        assert raw_request(port, raw).startswith(b"HTTP/1.1 200"), raw
    caps = lab.wait(len(CASES), timeout=10)
    assert [(c.provider, c.event_type) for c in caps] == [(p, e) for _, p, e, _ in CASES]
    assert all(c.trailers_at is not None for c in caps)
    return caps


def test_serve_line(tmp_path: Path) -> None:
    lines, _ = serve_lines(tmp_path, [raw for raw, *_ in CASES])
    for line, (_, provider, _, shown) in zip(lines, CASES, strict=True):
        if provider is None:
            assert re.search(r" -> 200 2B$", line), line
        else:
            assert line.endswith(f" {provider}/{shown}"), line


async def _messages(url: str, n: int) -> list[dict[str, Any]]:
    conn = await websocket.websocket_connect(url)
    try:
        out = []
        while len(out) < n:
            msg = await asyncio.wait_for(conn.read_message(), 10)
            assert msg is not None
            out.append(json.loads(msg))
        return out
    finally:
        conn.close()


def test_stream_event_read(lab: hooklab.HookLab) -> None:
    _send(lab)
    got = asyncio.run(_messages(lab.stream_url(since=0), len(CASES)))
    assert [m.get("event_read", m["event_type"]) or "" for m in got] == [s for *_, s in CASES]


def test_live_view(lab: hooklab.HookLab) -> None:
    caps = _send(lab)
    v = lab.live()
    try:
        assert _wait(lambda: len(v.table.options) == len(CASES))
        by_id = {cid: label for label, cid in v.table.options}
        for c, (_, provider, _, shown) in zip(caps, CASES, strict=True):
            if provider is not None:
                assert shown in by_id[c.id], (by_id[c.id], shown)
            wrong = "x\u00e9\u00ff" if shown.startswith("x") else "push.\u00e9"
            assert wrong not in by_id[c.id]
            v.select(c.id)
            assert _wait(lambda c=c: f"#{c.id} POST " in v.detail.value)
            row = re.search(r"<th>event type</th><td>(.*?)</td>", v.detail.value)
            if provider is None:
                assert row is not None and html.unescape(row.group(1)) == "\u2014", v.detail.value
            else:
                assert row is not None and html.unescape(row.group(1)) == shown, v.detail.value
    finally:
        v.close()
