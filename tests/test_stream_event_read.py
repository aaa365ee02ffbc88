"""The stream's messages carry an event type taken from a header as the live view and
``hooklab serve`` read it (``event_read``: the header's UTF-8 read as UTF-8), beside the
``event_type`` the store keeps (the header a character a byte: ``cafÃ©``), for the stream
page's event cell. Bytes that are no UTF-8 stay a character a byte; a part that came from the
body is never read again. Real sockets, the lab's own stream URL. (The page itself:
tests/browser/test_stream_page_events.py.)"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from _event_types import CASES, request
from _http import raw_request
from tornado import websocket

from hooklab import HookLab


async def _messages(url: str, n: int, send: list[bytes], port: int) -> list[dict[str, Any]]:
    """The first ``n`` messages of the stream at ``url``, ``send`` sent as raw requests once it
    is open (each answered 200)."""
    conn = await websocket.websocket_connect(url)
    try:
        loop = asyncio.get_running_loop()
        for data in send:
            answer = await loop.run_in_executor(None, raw_request, port, data)
            assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
        out = []
        while len(out) < n:
            msg = await asyncio.wait_for(conn.read_message(), 10)
            assert msg is not None, f"closed after {len(out)}: {conn.close_code} {conn.close_reason}"
            out.append(json.loads(msg))
        return out
    finally:
        conn.close()


@pytest.mark.parametrize("how", ["live", "replayed", "live, body=0"])
def test_stream_messages_read_header_event_types_as_utf8(lab: HookLab, how: str) -> None:
    port = lab.bound_port
    assert port is not None
    sent = [request(event, body) for event, body, _, _, _ in CASES.values()]
    if how == "replayed":
        for data in sent:
            assert raw_request(port, data).startswith(b"HTTP/1.1 200")
        url, sent = lab.stream_url(since=0), []
    else:
        url = lab.stream_url(body=0) if "body=0" in how else lab.stream_url()
    got = asyncio.run(_messages(url, len(CASES), sent, port))
    assert [m["provider"] for m in got] == ["github"] * len(CASES)
    assert [m["event_type"] for m in got] == [stored for _, _, stored, _, _ in CASES.values()]
    assert [m.get("event_read", m["event_type"]) for m in got] == [
        read for _, _, _, read, _ in CASES.values()]
    # (only where it reads otherwise: an ASCII or Latin-1 one has none)
    assert [("event_read" in m) for m in got] == [
        read != stored for _, _, stored, read, _ in CASES.values()]
