"""hooklab.ws.record as the client of hostile WebSocket servers: raw asyncio servers on
127.0.0.1 that stall the handshake, flood big messages, close with codes no server may send,
break the framing rules or answer the handshake wrongly."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gc
import hashlib
import logging
import struct
import threading
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field

import pytest

import hooklab
from hooklab import HookLab, ws

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def _frame(opcode: int, payload: bytes = b"", *, fin: bool = True, rsv: int = 0,
           mask: bool = False) -> bytes:
    """One WebSocket frame as a server writes it (RFC 6455 5.2), rules bent on request."""
    first = (0x80 if fin else 0) | rsv | opcode
    n = len(payload)
    bit = 0x80 if mask else 0
    if n < 126:
        head = struct.pack("!BB", first, bit | n)
    elif n < 1 << 16:
        head = struct.pack("!BBH", first, bit | 126, n)
    else:
        head = struct.pack("!BBQ", first, bit | 127, n)
    if mask:
        key = b"\x01\x02\x03\x04"
        return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return head + payload


async def _read_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """The next frame a client sent (masked, as clients must): opcode and payload."""
    b0, b1 = await reader.readexactly(2)
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack("!H", await reader.readexactly(2))[0]
    elif n == 127:
        n = struct.unpack("!Q", await reader.readexactly(8))[0]
    key = await reader.readexactly(4) if b1 & 0x80 else b"\0\0\0\0"
    data = await reader.readexactly(n)
    return b0 & 0x0F, bytes(b ^ key[i % 4] for i, b in enumerate(data))


def _accept(key: bytes) -> bytes:
    return base64.b64encode(hashlib.sha1(key + _GUID).digest())


@dataclass
class _Seen:
    """What the hostile server saw: the handshake requests, the close frames it got."""

    requests: list[bytes] = field(default_factory=list)
    closes: list[bytes] = field(default_factory=list)


async def _handshake(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seen: _Seen,
                     extra: bytes = b"", accept: bytes | None = None) -> None:
    request = await reader.readuntil(b"\r\n\r\n")
    seen.requests.append(request)
    key = next(line.split(b":", 1)[1].strip() for line in request.split(b"\r\n")
               if line.lower().startswith(b"sec-websocket-key:"))
    writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                 b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + (accept or _accept(key))
                 + b"\r\n" + extra + b"\r\n")
    await writer.drain()


async def _until_close(reader: asyncio.StreamReader, seen: _Seen) -> None:
    """Read what the client sends until its close frame (noted) or the end, at most 10 s."""
    async def read() -> None:
        for _ in range(1000):  # (bounded: a client sends a few frames here)
            opcode, data = await _read_frame(reader)
            if opcode == 8:
                seen.closes.append(data)
                return

    with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError, asyncio.TimeoutError):
        await asyncio.wait_for(read(), 10)


Behaviour = Callable[[asyncio.StreamReader, asyncio.StreamWriter, _Seen], Awaitable[None]]


@contextlib.contextmanager
def _hostile(behaviour: Behaviour) -> Iterator[tuple[str, _Seen]]:
    """A raw asyncio TCP server on 127.0.0.1 (a free port) in its own thread, running
    ``behaviour`` for each connection; its ``ws://`` base URL and what it saw. On leaving,
    every connection is closed and the thread joined."""
    seen = _Seen()
    ready = threading.Event()
    box: dict = {}

    def run() -> None:
        async def main() -> None:
            tasks: set[asyncio.Task] = set()

            async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                tasks.add(asyncio.current_task())  # type: ignore[arg-type]
                try:
                    await behaviour(reader, writer, seen)
                except (asyncio.CancelledError, ConnectionError, asyncio.IncompleteReadError):
                    pass
                finally:
                    writer.close()

            server = await asyncio.start_server(handle, "127.0.0.1", 0)
            box["port"] = server.sockets[0].getsockname()[1]
            box["loop"], box["stop"] = asyncio.get_running_loop(), asyncio.Event()
            ready.set()
            await box["stop"].wait()
            server.close()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run(main())

    t = threading.Thread(target=run, daemon=True)
    t.start()
    assert ready.wait(10)
    try:
        yield f"ws://127.0.0.1:{box['port']}", seen
    finally:
        box["loop"].call_soon_threadsafe(box["stop"].set)
        t.join(10)
        assert not t.is_alive()


# -- a handshake the server never answers ---------------------------------------------------
async def _silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seen: _Seen) -> None:
    await asyncio.sleep(30)  # (accepts the TCP connection, never answers; cancelled on leaving)


@pytest.mark.parametrize("kwargs, stopped_by, error, within", [
    # connect_timeout bounds the handshake, not the TCP connect alone (Tornado's 20 s
    # request_timeout held it)
    ({"connect_timeout": 1}, "could not connect", "connect_timeout=1 s", 5.0),
    # the duration is over before the server answers: the recording ends then
    ({"connect_timeout": 30, "duration": 0.5}, "duration", "had not answered the handshake", 5.0),
    ({"connect_timeout": 30, "duration": 0.5, "reconnect": True}, "duration",
     "had not answered the handshake", 5.0),
])
def test_a_handshake_the_server_never_answers_ends_with_the_recording(
        lab: HookLab, kwargs: dict, stopped_by: str, error: str, within: float) -> None:
    with _hostile(_silent) as (base, _):
        started = time.monotonic()
        summary = ws.record(f"{base}/feed", lab=lab, **kwargs)
        took = time.monotonic() - started
    assert took < within, f"took {took:.1f} s"
    assert summary.stopped_by.startswith(stopped_by) and summary.connections == 0
    assert len(summary.errors) == 1 and error in summary.errors[0], summary.errors
    caps = lab.query(kind="ws")
    assert [c.method for c in caps] == ["ERROR"] and error in caps[0].body.decode()
    assert [c.id for c in caps] == summary.capture_ids


def test_stop_wins_over_a_stuck_handshake(lab: HookLab) -> None:
    """``stop()`` (what Ctrl-C in ``record()`` calls) returned nothing for 10 s and raised
    TimeoutError: the recording waited for the handshake Tornado gave 20 s."""
    with _hostile(_silent) as (base, _):
        rec = ws.start_recording(f"{base}/feed", lab=lab, connect_timeout=30)
        time.sleep(0.3)
        started = time.monotonic()
        summary = rec.stop(timeout=5)
        assert time.monotonic() - started < 2.0
    assert summary.stopped_by == "stopped" and summary.connections == 0
    assert "stop()" in summary.errors[0]
    assert [c.method for c in lab.query(kind="ws")] == ["ERROR"]


# -- memory ----------------------------------------------------------------------------------
def test_a_long_recording_does_not_keep_what_it_stored(file_lab: HookLab) -> None:
    """Every capture's future (its result a Capture, body and all) was kept until the
    recording ended: a busy feed's whole recording in memory. Only the ids stay."""
    n, size = 24, 2 << 20

    async def flood(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seen: _Seen) -> None:
        await _handshake(reader, writer, seen)
        for i in range(n):
            writer.write(_frame(2, bytes([i]) * size))
            await writer.drain()
        await _until_close(reader, seen)

    with _hostile(flood) as (base, seen):
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            rec = ws.start_recording(f"{base}/flood", lab=file_lab, duration=60)
            deadline = time.monotonic() + 60
            while file_lab.store.count(kind="ws") < n + 1 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert file_lab.store.count(kind="ws") == n + 1  # OPEN and the n messages
            time.sleep(0.2)  # (the writer's confirmations reach the recording)
            gc.collect()
            held = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
            summary = rec.stop(timeout=15)
    # (what Tornado's buffers hold: a message or two; the recording held all n * size)
    assert held < 8 * size, f"{held / 2**20:.0f} MiB held while idle"
    assert summary.received == n and summary.closes == [(1000, "recording finished", "client")]
    caps = file_lab.query(kind="ws")
    assert [c.id for c in caps] == summary.capture_ids and len(caps) == n + 2
    assert [c.body[:1] for c in caps if c.method == "RECV"] == [bytes([i]) for i in range(n)]
    assert seen.closes == [struct.pack("!H", 1000) + b"recording finished"]


# -- credentials in the URL ------------------------------------------------------------------
async def _greet(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seen: _Seen) -> None:
    await _handshake(reader, writer, seen)
    writer.write(_frame(1, b"hi") + _frame(8, struct.pack("!H", 1000)))
    await writer.drain()
    await _until_close(reader, seen)


@pytest.mark.parametrize("userinfo, query, recorded, secrets", [
    ("alice:hunter2@", "?token=tok_SECRET123", "alice:%5Bsecret%5D@{host}/feed?token=[secret]",
     ["hunter2", "tok_SECRET123"]),
    ("ghp_TOKEN1234@", "", "%5Bsecret%5D@{host}/feed", ["ghp_TOKEN1234"]),
    ("", "?api_key=k_SECRET99&q=a%20b", "{host}/feed?api_key=[secret]&q=a%20b", ["k_SECRET99"]),
    ("", "?access_token=at_SECRET7;sig=sg_SECRET8", "{host}/feed?access_token=[secret];sig=[secret]",
     ["at_SECRET7", "sg_SECRET8"]),
    ("", "?q=1", "{host}/feed?q=1", []),
])
def test_credentials_in_the_url_are_recorded_as_secret(
        lab: HookLab, tmp_path, userinfo: str, query: str, recorded: str, secrets: list) -> None:
    """The URL's password and token were stored in every capture's url, query and
    remote_addr, and so in the frame, the live view and the exports; a forward target's are
    recorded as [secret] (README). They still go to the server: the connection needs them."""
    with _hostile(_greet) as (base, seen):
        host = base.removeprefix("ws://")
        summary = ws.record(f"ws://{userinfo}{host}/feed{query}", lab=lab, duration=10)
    assert summary.received == 1 and summary.closes == [(1000, "", "server")]
    if userinfo:  # (sent as Basic credentials; a user name alone with an empty password)
        sent = userinfo[:-1] if ":" in userinfo else userinfo[:-1] + ":"
        assert b"Authorization: Basic " + base64.b64encode(sent.encode()) in seen.requests[0]
    assert f"GET /feed{query} HTTP/1.1".encode() in seen.requests[0]
    url = "ws://" + recorded.format(host=host)
    assert summary.url == url
    caps = lab.query(kind="ws")
    assert [c.method for c in caps] == ["OPEN", "RECV", "CLOSE"]
    for c in caps:
        assert (c.url, c.remote_addr, c.path) == (url, host, "/feed")
        assert all("[secret]" in v for k, vs in c.query.items() for v in vs
                   if k in ("token", "api_key", "access_token", "sig"))
    lab.export(tmp_path / "ws.jsonl", fmt="jsonl")
    lab.export(tmp_path / "ws.har", fmt="har")
    shown = " ".join(str(v) for v in lab.dataframe(kind="ws").astype(str).to_numpy().ravel())
    for text in (shown, (tmp_path / "ws.jsonl").read_text(), (tmp_path / "ws.har").read_text()):
        assert not [s for s in secrets if s in text]
    back = hooklab.load_har(tmp_path / "ws.har")  # (the recorded URL is still a URL)
    try:
        assert [c.url for c in back.captures] == [url] * 3
    finally:
        back.stop()


# -- close frames no server may send -----------------------------------------------------------
def _sender(*frames: bytes) -> Behaviour:
    """A server that answers the handshake, sends "hello" and ``frames``, then reads what the
    client sends until its close frame."""
    async def behaviour(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seen: _Seen) -> None:
        await _handshake(reader, writer, seen)
        writer.write(_frame(1, b"hello") + b"".join(frames))
        await writer.drain()
        await _until_close(reader, seen)
    return behaviour


def _readable(value: object) -> str | None:
    """Test ids: the texts of a table, not its bytes."""
    return value if isinstance(value, str) else "frame" if isinstance(value, bytes) else None


def _close(code: int, reason: bytes = b"") -> bytes:
    return _frame(8, struct.pack("!H", code) + reason)


@pytest.mark.parametrize("frame, code, reason, raw", [
    (_close(65535, b"max"), 1002, "close code 65535 is not one a server may send", "65535"),
    (_close(5000), 1002, "close code 5000 is not one", "5000"),
    (_close(0, b"zero"), 1002, "close code 0 is not one", "0"),
    (_close(999), 1002, "close code 999 is not one", "999"),
    (_close(1004), 1002, "close code 1004 is not one", "1004"),
    (_close(1005), 1002, "close code 1005 is not one", "1005"),
    (_close(1006), 1002, "close code 1006 is not one", "1006"),
    (_close(1015), 1002, "close code 1015 is not one", "1015"),
    (_close(2999), 1002, "close code 2999 is not one", "2999"),
    (_frame(8, b"\x03"), 1002, "close frame with a 1-byte payload", None),
    (_close(1000, b"bad \xff\xfe reason"), 1007, "close reason is not UTF-8", "1000"),
], ids=_readable)
def test_a_close_frame_no_server_may_send_is_a_protocol_error(
        lab: HookLab, tmp_path, caplog, frame: bytes, code: int, reason: str, raw: str | None) -> None:
    """Recorded as the server's close with its code (65535, 0, 1005 on the wire...), which the
    lab's own exports then could not import back; a close reason that is not UTF-8 logged a
    traceback and was recorded as 1000. RFC 6455 7.1.7: hooklab fails the connection, with 1002
    (1007 for the reason), and says so; the server's code stays in a header."""
    caplog.set_level(logging.ERROR)
    with _hostile(_sender(frame)) as (base, seen):
        summary = ws.record(f"{base}/feed", lab=lab, duration=10)
    assert len(summary.closes) == 1
    got_code, got_reason, closed_by = summary.closes[0]
    assert (got_code, closed_by) == (code, "client") and got_reason.startswith(reason)
    assert summary.stopped_by == f"closed by hooklab ({code} {got_reason})"
    assert len(summary.errors) == 1 and "broke the WebSocket protocol" in summary.errors[0]
    # on the wire too: our close frame said it (a reason of at most 123 bytes)
    assert seen.closes == [struct.pack("!H", code) + got_reason.encode()]
    assert len(got_reason.encode()) <= 123
    caps = lab.query(kind="ws")
    assert [(c.method, c.body) for c in caps] == [
        ("OPEN", b""), ("RECV", b"hello"), ("CLOSE", got_reason.encode())]
    close = caps[-1]
    assert (close.status, close.header("X-WS-Closed-By"), close.header("X-WS-Close-Code")) == (
        code, "client", str(code))
    assert close.header("X-WS-Server-Close-Code") == raw
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records]
    for fmt, load in (("jsonl", hooklab.load_jsonl), ("har", hooklab.load_har)):
        lab.export(tmp_path / f"ws.{fmt}", fmt=fmt)
        back = load(tmp_path / f"ws.{fmt}")
        try:
            assert [(c.method, c.status) for c in back.captures] == [
                ("OPEN", 101), ("RECV", 101), ("CLOSE", code)]
        finally:
            back.stop()


@pytest.mark.parametrize("frame, close", [
    (_close(4000, b"bye"), (4000, "bye", "server")),
    (_close(1012), (1012, "", "server")),
    (_close(3000), (3000, "", "server")),
    (_close(4999, "d\u00e9j\u00e0".encode()), (4999, "d\u00e9j\u00e0", "server")),
    (_frame(8), (1005, "", "server")),
])
def test_a_close_frame_a_server_may_send_is_recorded_as_it_came(
        lab: HookLab, frame: bytes, close: tuple) -> None:
    with _hostile(_sender(frame)) as (base, seen):
        summary = ws.record(f"{base}/feed", lab=lab, duration=10)
    assert summary.closes == [close] and summary.errors == []
    assert lab.query(kind="ws")[-1].header("X-WS-Server-Close-Code") is None


# -- frames that break the protocol ----------------------------------------------------------------
@pytest.mark.parametrize("frame, code, reason", [
    (_frame(1, b"caf\xe9"), 1007, "text message is not UTF-8"),
    (_frame(1, b"ok \xf0\x9f"), 1007, "text message is not UTF-8"),  # (a cut sequence)
    (_frame(1, b"hi", rsv=0x40), 1002, "RSV1 set on a text frame: no extension was negotiated"),
    (_frame(2, b"hi", rsv=0x20), 1002, "RSV2 set on a binary frame"),
    (_frame(9, b"p", fin=False), 1002, "fragmented ping frame"),
    (_frame(9, b"p" * 126), 1002, "ping frame over 125 bytes"),
    (_frame(3, b"?"), 1002, "unknown opcode 3"),
    (_frame(0xB, b"?"), 1002, "unknown opcode 11"),
    (_frame(1, b"masked", mask=True), 1002, "masked text frame: a server never masks"),
    (_frame(0, b"more"), 1002, "continuation frame with no message to continue"),
    (_frame(1, b"part", fin=False) + _frame(2, b"new"), 1002,
     "new binary message before the fragmented one ended"),
], ids=_readable)
def test_a_frame_that_breaks_the_protocol_is_said_and_closed_by_hooklab(
        lab: HookLab, caplog, frame: bytes, code: int, reason: str) -> None:
    """Tornado dropped the connection without a close frame: recorded as cut by the server
    (1006), the offending message lost. RFC 6455 7.1.7: hooklab fails the connection with
    1002 (1007 for text that is not UTF-8), says why, and records that text as it came."""
    caplog.set_level(logging.ERROR)
    with _hostile(_sender(frame)) as (base, seen):
        started = time.monotonic()
        summary = ws.record(f"{base}/feed", lab=lab, duration=10, reconnect=True)
        assert time.monotonic() - started < 5
    assert len(summary.closes) == 1 and summary.reconnects == 0  # (not retried)
    got_code, got_reason, closed_by = summary.closes[0]
    assert (got_code, closed_by) == (code, "client") and got_reason.startswith(reason), got_reason
    assert seen.closes == [struct.pack("!H", code) + got_reason.encode()]
    caps = lab.query(kind="ws")
    methods = [c.method for c in caps]
    if code == 1007:  # the message that was not UTF-8, recorded as it came, before CLOSE
        assert methods == ["OPEN", "RECV", "RECV", "CLOSE"]
        bad = caps[2]
        assert bad.body == frame[2:] and bad.header("X-WS-Opcode") == "1"
        assert bad.header("X-WS-Invalid").startswith("not UTF-8: byte 0x")
        assert summary.received == 2
    else:
        assert methods == ["OPEN", "RECV", "CLOSE"]
    assert (caps[-1].status, caps[-1].header("X-WS-Closed-By")) == (code, "client")
    assert "1006" not in " ".join(summary.errors) and "cut" not in " ".join(summary.errors)
    assert not [r for r in caplog.records if r.exc_info]


def _long(first: int, length: int, payload: bytes = b"abcde") -> bytes:
    """A frame header with a 64-bit payload length as given (RFC 6455 5.2), then ``payload``."""
    return struct.pack("!BBQ", first, 127, length) + payload


@pytest.mark.parametrize("frame, code, reason", [
    (_long(0x82, (1 << 63) + 5), 1002, "64-bit payload length with its most significant bit set"),
    (_long(0x81, 1 << 63), 1002, "64-bit payload length with its most significant bit set"),
    (_long(0x81, (1 << 64) - 1), 1002, "64-bit payload length with its most significant bit set"),
    (_frame(1, b"part", fin=False) + _long(0x80, (1 << 63) + 3), 1002,
     "64-bit payload length with its most significant bit set"),
    # the bit clear: a length RFC 6455 allows, only over hooklab's own limit (and said so)
    (_long(0x82, (1 << 63) - 1), 1009, "message too big"),
    (_long(0x82, 32 << 20), 1009, "message too big"),
], ids=_readable)
def test_a_64_bit_length_with_its_top_bit_set_is_a_protocol_error(
        lab: HookLab, caplog, frame: bytes, code: int, reason: str) -> None:
    """RFC 6455 5.2: "the most significant bit MUST be 0". hooklab answered such a frame with
    1009 "message too big", telling the user to raise max_message_size (which could never
    help); it is a framing violation as the others: 1002, said, not retried."""
    caplog.set_level(logging.ERROR)
    with _hostile(_sender(frame)) as (base, seen):
        summary = ws.record(f"{base}/feed", lab=lab, duration=10, reconnect=True)
    assert len(summary.closes) == 1 and summary.reconnects == 0
    got_code, got_reason, closed_by = summary.closes[0]
    assert (got_code, closed_by) == (code, "client") and got_reason.startswith(reason), got_reason
    assert seen.closes == [struct.pack("!H", code) + got_reason.encode()]
    said = " ".join(summary.errors) + (summary.stopped_by or "")
    assert ("max_message_size" in said) == (code == 1009), said
    assert [c.method for c in lab.query(kind="ws")] == ["OPEN", "RECV", "CLOSE"]
    assert not [r for r in caplog.records if r.exc_info]


# -- a handshake answered wrongly --------------------------------------------------------------
def _answer(extra: bytes = b"", accept: bytes | None = None, drop: bytes = b"") -> Behaviour:
    async def behaviour(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seen: _Seen) -> None:
        request = await reader.readuntil(b"\r\n\r\n")
        seen.requests.append(request)
        key = next(line.split(b":", 1)[1].strip() for line in request.split(b"\r\n")
                   if line.lower().startswith(b"sec-websocket-key:"))
        head = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Accept: " + (accept or _accept(key)) + b"\r\n")
        if drop:
            head = b"".join(line + b"\r\n" for line in head.split(b"\r\n")[:-1]
                            if not line.startswith(drop))
        writer.write(head + extra + b"\r\n" + _frame(1, b"hello"))
        await writer.drain()
        await _until_close(reader, seen)
    return behaviour


@pytest.mark.parametrize("behaviour, said", [
    (_answer(b"Sec-WebSocket-Extensions: permessage-deflate\r\n"),
     "the server turned on extension 'permessage-deflate', which hooklab did not offer"),
    (_answer(accept=b"d3JvbmcgYWNjZXB0IHZhbHVlPQ=="),
     "the server's Sec-WebSocket-Accept is 'd3JvbmcgYWNjZXB0IHZhbHVlPQ==', not"),
    (_answer(drop=b"Sec-WebSocket-Accept"), "the server's Sec-WebSocket-Accept is 'missing'"),
    (_answer(drop=b"Upgrade:"),
     "the server's 101 answer has no 'Upgrade: websocket' (no such header"),
    (_answer(drop=b"Connection:", extra=b"Connection: keep-alive\r\n"),
     "the server's 101 answer has no 'Connection: upgrade' (it says 'keep-alive'"),
    (_answer(b"Sec-WebSocket-Protocol: chat\r\n"), "the server chose subprotocol 'chat'"),
])
def test_a_handshake_answered_wrongly_is_a_clear_error(
        lab: HookLab, caplog, capfd, behaviour: Behaviour, said: str) -> None:
    """An unasked permessage-deflate or a wrong Sec-WebSocket-Accept ended in
    "StreamClosedError: Stream is closed" and a traceback on stderr."""
    caplog.set_level(logging.ERROR)
    with _hostile(behaviour) as (base, _):
        started = time.monotonic()
        summary = ws.record(f"{base}/feed", lab=lab, duration=10)
        assert time.monotonic() - started < 5
    assert summary.connections == 0 and len(summary.errors) == 1
    assert summary.errors[0].startswith("WebSocketError: " + said), summary.errors
    assert summary.stopped_by == f"could not connect ({summary.errors[0]})"
    caps = lab.query(kind="ws")
    assert [(c.method, c.body.decode()) for c in caps] == [("ERROR", summary.errors[0])]
    assert not [r for r in caplog.records if r.exc_info]
    assert "Traceback" not in capfd.readouterr().err


@pytest.mark.parametrize("behaviour, headers", [
    (_answer(b"Sec-WebSocket-Protocol: chat\r\n"), {"Sec-WebSocket-Protocol": "chat, superchat"}),
    # token lists and letter case as RFC 7230 / 6455 4.1 allow (Tornado asserted exact values)
    (_answer(b"Connection: keep-alive, Upgrade\r\n", drop=b"Connection:"), {}),
    (_answer(b"Upgrade: WebSocket\r\n", drop=b"Upgrade:"), {}),
])
def test_a_handshake_answer_rfc_6455_allows_is_taken(
        lab: HookLab, behaviour: Behaviour, headers: dict) -> None:
    with _hostile(behaviour) as (base, seen):
        summary = ws.record(f"{base}/feed", lab=lab, duration=10, max_messages=1, headers=headers)
    assert (summary.connections, summary.received, summary.errors) == (1, 1, [])
    for name, value in headers.items():
        assert f"{name}: {value}".lower().encode() in seen.requests[0].lower()


@pytest.mark.parametrize("frame", [_close(1000, b"bye"), _frame(1, b"caf\xe9")],
                         ids=["server closes", "protocol broken"])
def test_a_recording_the_server_ended_leaves_no_connection_open(lab: HookLab,
                                                                 frame: bytes) -> None:
    """A connection the server ended (or broke) was never closed on our side: Tornado warned
    "Unclosed WebSocketClientConnection" when it was collected, in whatever test ran next."""
    import gc
    import warnings

    with _hostile(_sender(frame)) as (base, _):
        ws.record(f"{base}/feed", lab=lab, duration=5, reconnect=False)
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        gc.collect()
    assert [str(w.message) for w in said if "WebSocket" in str(w.message)] == []
