"""hooklab's own HTTP/1.1 path for plain capture requests, in front of Tornado.

Most webhooks are one plain request: a request line, ordinary headers and a body with a
``Content-Length``. :class:`FastCapture` (an :class:`asyncio.Protocol` on the server's loop)
parses exactly those, stores them and answers after commit, in request order, with none of
Tornado's per-request coroutines; that is what lets durable capture keep up with a bare Tornado
handler (``bench/ingest.py``). Everything else on a connection (the ``/_hooklab/`` API and
stream, chunked bodies, ``Expect: 100-continue``, HTTP/1.0, bodies over ``max_body``, over-long
or malformed heads) is handed to the Tornado server unchanged (see :mod:`._fast_server`), so
those keep Tornado's tested behaviour (413/414/431, 400 for malformed input, lingering close,
WebSocket upgrades). ``tests/reliability/test_fast_path.py`` holds both paths to the same
answers and captures.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import deque
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ._fast_answer import _Slot
from .ingest import RESERVED_PREFIX, capture_record

if TYPE_CHECKING:
    from ._fast_server import FastServer
    from .lifecycle import CaptureServer

#: a head not complete within this many bytes goes to Tornado (it allows up to MAX_HEAD)
_FAST_HEAD_LIMIT = 64 * 1024
#: stop reading from a client with this many answers outstanding (pipelining flood)
_MAX_PENDING = 64
_log = logging.getLogger("hooklab")

_TOKEN = rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_REQUEST_LINE = re.compile(rb"(" + _TOKEN + rb") (/[\x21-\x7e]*) HTTP/1\.1")
_HEADER_LINE = re.compile(rb"(" + _TOKEN + rb"):[ \t]*([^\x00-\x08\x0a-\x1f\x7f]*?)[ \t]*")
_RESERVED = RESERVED_PREFIX.encode()
# header names (lower case) that send a request to Tornado instead
_HANDOFF_HEADERS = frozenset({"transfer-encoding", "expect", "upgrade"})
# headers the fast path reads; a request repeating one of them goes to Tornado
_SINGLE = frozenset({"host", "connection", "x-forwarded-proto"})


class FastCapture(asyncio.Protocol):
    """One client connection: plain capture requests here, anything else handed to Tornado."""

    def __init__(self, server: CaptureServer, fast: FastServer) -> None:
        self.server = server
        self.fast = fast
        self.transport: asyncio.Transport | None = None
        self.peer: Any = None
        self.buf: bytes | bytearray = b""
        self.scanned = 0
        self.slots: deque[_Slot] = deque()
        self.closing = False  # answered "Connection: close" (or must): read nothing more
        self.paused = False  # reading paused (writes backed up or too many answers pending)
        self.write_paused = False
        # a request whose head is parsed and whose body is still arriving
        self.partial: tuple[Any, ...] | None = None
        self.body = bytearray()
        self.need = 0
        self.body_since = 0.0
        self.idle_since = 0.0
        self.unsent_at_sweep = 0  # answer bytes not yet taken by the client, at the last sweep
        # after handing off: the pipe to Tornado
        self.handing_off = False
        self.handed = False  # Tornado serves the connection now
        self.pipe: asyncio.Transport | None = None
        self.eof_from_client = False
        self.eof_from_tornado = False
        self.tornado_done_at = 0.0

    # -- connection -----------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.peer = transport.get_extra_info("peername")
        self.idle_since = self.fast.now()
        self.fast.conns.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.fast.conns.discard(self)
        self.slots.clear()
        self.partial = None
        self.body = bytearray()
        if self.pipe is not None:
            self.pipe.close()

    def eof_received(self) -> bool | None:
        if self.pipe is not None:
            self.eof_from_client = True
            if self.eof_from_tornado:
                return False
            if self.pipe.can_write_eof():
                self.pipe.write_eof()
            return True
        if self.handing_off:
            self.eof_from_client = True
            return True
        # a half-closed client may still wait for its answers
        if self.slots:
            self.closing = True
            return True
        return False

    def pause_writing(self) -> None:
        self.write_paused = True
        if self.pipe is not None:
            self.pipe.pause_reading()
        else:
            self._pause()

    def resume_writing(self) -> None:
        self.write_paused = False
        if self.pipe is not None:
            self.pipe.resume_reading()
        else:
            self._maybe_resume()

    def _pause(self) -> None:
        if not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()

    def _maybe_resume(self) -> None:
        if (
            self.paused
            and not self.write_paused
            and not self.handing_off
            and len(self.slots) < _MAX_PENDING
            and self.transport is not None
        ):
            self.paused = False
            self.transport.resume_reading()
            if self.buf and self.partial is None:
                self._parse()

    # -- reading --------------------------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        if self.pipe is not None:
            self.pipe.write(data)
            return
        if self.handing_off:
            self.buf += data
            return
        if self.closing:
            return
        if self.partial is not None:
            try:
                self._body_data(data)
            except Exception:  # noqa: BLE001 - never into the event loop
                self._fail("taking a request body")
            return
        buf = self.buf
        if buf:  # a head arriving in pieces: grow in place, never re-copy what is there
            if not isinstance(buf, bytearray):
                buf = self.buf = bytearray(buf)
            buf += data
        else:
            self.buf = data
        self._parse()

    def _fail(self, doing: str = "") -> None:
        """Something unexpected broke this connection: log it and drop only this connection."""
        if doing:
            _log.exception("hooklab: dropped a connection after an error %s", doing)
        self.slots.clear()
        self.partial = None
        self.buf = b""
        if self.transport is not None:
            self.transport.abort()

    def _parse(self) -> None:
        try:
            self._take_requests()
        except Exception:  # noqa: BLE001 - never into the event loop
            self._fail("parsing requests")

    def _take_requests(self) -> None:
        """Take every complete request in ``buf`` (stopping at one to hand off)."""
        while self.buf and not self.closing and not self.paused:
            buf = self.buf
            if buf[:1] in (b"\r", b"\n"):
                self._handoff()  # empty lines before a request line: Tornado skips them
                return
            seen = self.scanned  # bytes already searched (less 3: a marker may straddle)
            end = buf.find(b"\r\n\r\n", seen)
            if end < 0:
                if (
                    len(buf) > _FAST_HEAD_LIMIT
                    or buf.find(b"\n\n", seen) >= 0
                    or buf.find(b"\n\r\n", seen) >= 0
                ):
                    self._handoff()  # long head (414/431) or bare LF line ends
                else:
                    self.scanned = max(0, len(buf) - 3)
                return
            self.scanned = 0
            head = bytes(buf[:end])
            if head.count(b"\n") != head.count(b"\r\n"):
                self._handoff()  # bare LF line ends: Tornado decides
                return
            if not self._request(head, end + 4):
                return

    def _request(self, head: bytes, start: int) -> bool:
        """Parse one head; False when the connection is handed off or must wait for a body."""
        lines = head.split(b"\r\n")
        m = _REQUEST_LINE.fullmatch(lines[0])
        if m is None:
            self._handoff()
            return False
        target_b = m.group(2)
        if target_b.startswith(_RESERVED) and target_b[len(_RESERVED) : len(_RESERVED) + 1] in (
            b"",
            b"/",
            b"?",
        ):
            self._handoff()
            return False
        headers: list[tuple[str, str]] = []
        length = 0
        seen_length = False
        close = False
        host = proto = None
        singles: set[str] = set()
        match = _HEADER_LINE.fullmatch
        for line in lines[1:]:
            hm = match(line)
            if hm is None:
                self._handoff()
                return False
            name = hm.group(1).decode("ascii")
            value = hm.group(2).decode("latin-1")
            headers.append((name, value))
            low = name.lower()
            if low == "content-length":
                if seen_length or not value.isdigit() or not value.isascii() or len(value) > 18:
                    self._handoff()
                    return False
                seen_length = True
                length = int(value)
            elif low in _SINGLE:
                # repeated, Tornado joins them with commas; let it decide what they mean
                if low in singles:
                    self._handoff()
                    return False
                singles.add(low)
                if low == "host":
                    host = value
                elif low == "x-forwarded-proto":
                    proto = value
                else:
                    tokens = value.lower()
                    if "upgrade" in tokens:
                        self._handoff()
                        return False
                    close = tokens == "close"  # exactly as Tornado decides keep-alive
            elif low in _HANDOFF_HEADERS:
                self._handoff()
                return False
        if length > self.server.max_body:
            self._handoff()  # Tornado answers 413 and closes gracefully
            return False
        method = m.group(1).decode("ascii")
        request = (
            datetime.now(timezone.utc),
            method,
            target_b.decode("ascii"),
            headers,
            host,
            proto,
            close,
        )
        buf = self.buf
        stop = start + length
        if len(buf) >= stop:
            self.buf = buf[stop:]
            self._store(request, bytes(buf[start:stop]))
            return True
        self.buf = b""
        self.partial = request
        self.body = bytearray(buf[start:])
        self.need = length
        self.body_since = self.fast.now()
        return False

    def _body_data(self, data: bytes) -> None:
        body = self.body
        missing = self.need - len(body)
        if len(data) < missing:
            body += data
            return
        body += data[:missing]
        request, self.partial = self.partial, None
        self.body = bytearray()
        self.buf = data[missing:]
        self._store(request, bytes(body))
        self._take_requests()

    def _store(self, request: tuple[Any, ...], body: bytes) -> None:
        received_at, method, target, headers, host, proto, close = request
        srv = self.server
        peer = self.peer
        remote = str(peer[0]) if isinstance(peer, tuple) and peer else ""
        record, response = capture_record(
            srv, method, target, headers, body, remote, received_at, host, proto
        )
        slot = _Slot(self, method == "HEAD", close, response)
        self.slots.append(slot)
        if close:
            self.closing = True
        if len(self.slots) >= _MAX_PENDING:
            self._pause()
        try:
            srv.store.submit(record, slot)
        except Exception as exc:  # store closed: refuse rather than pretend  # noqa: BLE001
            slot._answer(exc, response)

    # -- writing --------------------------------------------------------------------------
    def _flush(self) -> None:
        slots = self.slots
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        while slots and slots[0].data is not None:
            slot = slots.popleft()
            transport.write(slot.data)  # type: ignore[arg-type]
            if slot.close:
                slots.clear()
                transport.close()
                return
        if not slots:
            self.idle_since = self.fast.now()
            if self.closing:  # the client half-closed and has all its answers
                transport.close()
                return
            if self.handing_off and self.pipe is None:
                self._start_pipe()
                return
        self._maybe_resume()

    # -- handing the connection to Tornado ------------------------------------------------
    def _handoff(self) -> None:
        """From the request at the start of ``buf`` on, Tornado serves this connection."""
        self.handing_off = True
        self._pause()
        if not self.slots:
            self._start_pipe()

    def _start_pipe(self) -> None:
        if self.pipe is not None or self.transport is None or self.transport.is_closing():
            return
        try:
            self.fast.splice(self)
        except Exception:  # noqa: BLE001 - e.g. out of file descriptors
            self._fail("handing a connection to Tornado")
