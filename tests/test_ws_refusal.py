"""A WebSocket handshake the server refuses (401, 403, 429, a 200 page, a redirect): its
ERROR capture keeps the server's status, headers (a credential's value hidden) and the
beginning of its body, where it was ``status`` 0 and ``HTTPClientError: HTTP 401`` only; with
``reconnect=True`` a ``Retry-After`` is honoured (at most 60 s, never past ``duration``).
Real raw servers on 127.0.0.1 (tests/test_ws_hostile.py)."""

from __future__ import annotations

import asyncio
import json
import struct
import time
from email.utils import formatdate

import pytest
from test_ws_hostile import _frame, _handshake, _hostile, _Seen, _until_close

from hooklab import HookLab, ws

TOKEN = "sk_live_TOPSECRET_4242"
BIG = 200_000


def _refuses(head: bytes, body: bytes = b"", echo: bool = False):
    """Answers the handshake request with ``head`` (status line and headers) and ``body``
    (with a Content-Length unless the head frames it), or with the request itself as body
    when ``echo``; then closes the connection."""
    async def behaviour(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seen: _Seen) -> None:
        request = await reader.readuntil(b"\r\n\r\n")
        seen.requests.append(request)
        payload = request if echo else body
        framed = b"transfer-encoding" in head.lower()
        length = b"" if framed else b"Content-Length: %d\r\n" % len(payload)
        writer.write(head + length + b"\r\n" + payload)
        await writer.drain()
    return behaviour


def _chunked(body: bytes) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 7]), body[i:i + 7])
                    for i in range(0, len(body), 7)) + b"0\r\n\r\n"


REASON = json.dumps({"error": "token expired at 12:00"}).encode()


@pytest.mark.parametrize("behaviour, status, error, headers, body", [
    (_refuses(b'HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer error="invalid_token"\r\n'
              b"Content-Type: application/json\r\n", REASON),
     401, "HTTPClientError: HTTP 401: Unauthorized",
     [("Www-Authenticate", 'Bearer error="invalid_token"'), ("Content-Type", "application/json")],
     REASON),
    (_refuses(b"HTTP/1.1 403 Forbidden\r\nSet-Cookie: session=abc123SECRETcookie\r\n", b"no"),
     403, "HTTPClientError: HTTP 403: Forbidden",
     [("Set-Cookie", "<hidden: 26 chars>")], b"no"),
    (_refuses(b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 30\r\n", b"slow down!\n"),
     429, "HTTPClientError: HTTP 429: Too Many Requests", [("Retry-After", "30")], b"slow down!\n"),
    (_refuses(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n", b"<h1>not a WebSocket</h1>"),
     200, "WebSocketError: Non-websocket response", [("Content-Type", "text/html")],
     b"<h1>not a WebSocket</h1>"),
    (_refuses(b"HTTP/1.1 302 Found\r\nLocation: /v2/feed\r\n"),
     302, "HTTPClientError: HTTP 302: Found", [("Location", "/v2/feed")], b""),
    (_refuses(b"HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n",
              _chunked(b"down for maintenance, back at 13:00")),
     503, "HTTPClientError: HTTP 503: Service Unavailable", [],
     b"down for maintenance, back at 13:00"),
    # a body past 64 KiB: its beginning kept, and said
    (_refuses(b"HTTP/1.1 500 Internal Server Error\r\n", b"x" * BIG),
     500, "HTTPClientError: HTTP 500: Internal Server Error",
     [("X-WS-Body-Truncated", "the first 65536 bytes are kept")], b"x" * 65536),
    # a server that echoes the request: the credentials it sent are not stored
    (_refuses(b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n", echo=True),
     400, "HTTPClientError: HTTP 400: Bad Request", [("Content-Type", "text/plain")], None),
], ids=["401-json", "403-cookie", "429", "200-page", "302", "503-chunked", "500-big", "400-echo"])
def test_a_refused_handshake_keeps_the_servers_answer(
        lab: HookLab, behaviour, status: int, error: str, headers: list, body: bytes | None) -> None:
    with _hostile(behaviour) as (base, seen):
        summary = ws.record(f"ws://alice:pw_TOPSECRET@{base.removeprefix('ws://')}/feed?q=1",
                            lab=lab, duration=10, connect_timeout=5)
    assert summary.connections == 0 and summary.errors == [error]
    assert summary.stopped_by == f"could not connect ({error})"
    (cap,) = lab.query(kind="ws")
    assert (cap.method, cap.status, cap.header("X-WS-Error")) == ("ERROR", status, error)
    for name, value in headers:
        assert cap.header(name) == value, (name, cap.headers)
    if body is not None:
        assert cap.body == body
    else:  # (the echoed request, its credentials hidden)
        assert cap.body.startswith(b"GET /feed?q=1 HTTP/1.1\r\n")
        assert b"Authorization: Basic [secret]" in cap.body
    assert b"TOPSECRET" not in cap.body and "TOPSECRET" not in repr(cap.headers)
    if cap.header("Content-Type") == "application/json":
        assert cap.json() == {"error": "token expired at 12:00"}
    assert len(seen.requests) == 1


def test_a_refusal_echoing_an_authorization_header_hides_it(lab: HookLab) -> None:
    with _hostile(_refuses(b"HTTP/1.1 401 Unauthorized\r\n", echo=True)) as (base, _):
        ws.record(f"{base}/feed", lab=lab, duration=10, headers={"Authorization": f"Bearer {TOKEN}",
                                                                   "X-Api-Key": "key_TOPSECRET_99"})
    (cap,) = lab.query(kind="ws")
    assert cap.status == 401 and b"Authorization: [secret]" in cap.body
    assert b"X-Api-Key: [secret]" in cap.body and b"TOPSECRET" not in cap.body


def _refuse_then_accept(retry_after: str, times: list[float]):
    """The first connection is refused with 429 and ``retry_after``; the next ones are taken:
    one message, a close. ``times``: when each handshake request came."""
    async def behaviour(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seen: _Seen) -> None:
        times.append(time.monotonic())
        if len(times) == 1:
            request = await reader.readuntil(b"\r\n\r\n")
            seen.requests.append(request)
            writer.write(b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: " + retry_after.encode()
                         + b"\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            return
        await _handshake(reader, writer, seen)
        writer.write(_frame(1, b"welcome") + _frame(8, struct.pack("!H", 1000)))
        await writer.drain()
        await _until_close(reader, seen)
    return behaviour


@pytest.mark.parametrize("retry_after, wait", [
    ("1", 1.0),
    ("2", 2.0),
    ("date+3", 1.0),  # (an HTTP date 3 s from now: 2-3 s once sent, a date counts seconds)
    ("0", 0.0),
    ("soon", 0.0),  # (not a delay: the usual backoff)
], ids=["1s", "2s", "http-date", "zero", "garbage"])
def test_reconnect_honours_retry_after(lab: HookLab, retry_after: str, wait: float) -> None:
    times: list[float] = []
    if retry_after == "date+3":
        retry_after = formatdate(time.time() + 3, usegmt=True)
    with _hostile(_refuse_then_accept(retry_after, times)) as (base, _):
        summary = ws.record(f"{base}/feed", lab=lab, duration=15, reconnect=True, max_reconnects=2)
    assert len(times) == 3  # (refused, taken, taken: then the reconnects are used up)
    assert times[1] - times[0] >= wait - 0.05
    assert times[1] - times[0] < max(wait, 0.1) + 2.5
    assert summary.received == 2 and summary.connections == 2
    assert [c.status for c in lab.query(kind="ws", method="ERROR")] == [429]


def test_a_retry_after_past_the_duration_ends_the_recording(lab: HookLab) -> None:
    times: list[float] = []
    with _hostile(_refuse_then_accept("30", times)) as (base, _):
        started = time.monotonic()
        summary = ws.record(f"{base}/feed", lab=lab, duration=2, reconnect=True, max_reconnects=5)
        took = time.monotonic() - started
    assert took < 2.5 and len(times) == 1
    assert summary.stopped_by == "duration" and summary.connections == 0
    assert summary.errors == ["HTTPClientError: HTTP 429: Too Many Requests",
                              "the server asked to retry after 30 s (Retry-After), past the end "
                              "of duration"]


def test_a_retry_after_is_bounded_and_stop_ends_the_wait(lab: HookLab) -> None:
    """``Retry-After: 86400`` without a duration: the wait is at most 60 s, and ``stop()``
    ends it at once."""
    times: list[float] = []
    with _hostile(_refuse_then_accept("86400", times)) as (base, _):
        rec = ws.start_recording(f"{base}/feed", lab=lab, reconnect=True)
        for _ in range(100):
            if times:
                break
            time.sleep(0.05)
        time.sleep(0.5)
        started = time.monotonic()
        summary = rec.stop(timeout=5)
        assert time.monotonic() - started < 2
    assert summary.stopped_by == "stopped" and len(times) == 1
    assert ws._MAX_RETRY_AFTER == 60.0
