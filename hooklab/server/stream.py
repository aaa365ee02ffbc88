"""``/_hooklab/ws``: a WebSocket that pushes each capture as JSON the moment it is stored.

>>> # from a browser or another process (any WebSocket client):
>>> # ws = new WebSocket(lab.stream_url(since=0, bin="github"))  // carries ?token=
>>> # ws.onmessage = (e) => console.log(JSON.parse(e.data).path)

Query arguments: ``since=<id>`` replays stored captures newer than ``id`` and then continues
live, without gaps or duplicates (reconnect with the last id you saw); ``since=<ISO 8601 time>``
sends the captures received after it, stored or live, as the read API; without ``since`` only
captures stored after the connection opened are sent. Every other filter of
:mod:`hooklab.filters` (``bin``, ``provider``, ``search``, ...) applies; ``body=0`` leaves bodies out. Each message is
:func:`hooklab.capture.capture_to_dict` as JSON text, and, where they differ from it:
``hidden``, its headers and body text with credentials hidden (:mod:`hooklab.credentials`);
``event_read``, its ``event_type`` as the live view and ``hooklab serve`` read it (a header's
UTF-8 read as UTF-8, :func:`hooklab.capture.header_text_as_sent`: ``X-GitHub-Event: café``
is stored ``cafÃ©``). The stream page shows both. ``trailers_at`` (only when trailer fields
came after a chunked body) says where they start in ``headers`` (and in ``hidden``'s, the same
fields in the same order): the stream page shows them apart from the header section.

A capture's answered status that changes after it was sent (a ``lab.respond`` delay: stored
``0`` until its answer is written, or never) comes as ``{"update": "status", "id": <id>,
"status": <status>}``, after that capture's own message; it is no capture (its ``id`` is no
cursor to resume from). A replay reads the status stored then.

Slow clients: each connection has a bounded queue (:class:`StreamLimits`). Stored captures are
the source of truth, so while replaying a backlog the queue of live captures may be dropped and
re-read from the store; once live, a client that falls more than ``max_pending`` messages or
``max_pending_bytes`` behind (the captures queued behind the next one it gets, weighed as held:
bodies, none for ``body=0``, and heads; one capture alone, however big, never cuts a client
off), or whose socket accepts nothing for ``write_timeout`` seconds, is closed with code 1013
("try again later") and a reason naming the last id sent, so it can resume with ``?since=``.
Tornado is handed a message only when the socket took the one before, so the close frame comes
right after what the client was sent; a socket that takes nothing more at all (not even the
rest of that message and the close frame, within Tornado's 5 s closing handshake) is cut: the
client sees 1006 after its last whole message, and resumes from that one's id. Memory per
client never exceeds the limits plus one capture and one write batch.

Access: the lab's read token (``?token=`` or ``Authorization: token ...``; ``lab.stream_url()``
builds the URL) and a local ``Host`` (:mod:`hooklab.server.guard`). Browsers: only the page's own
local origin is accepted unless ``server.stream_origins`` lists others.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, fields
from datetime import datetime
from functools import partial
from typing import Any

import orjson
from tornado import web, websocket

from ..capture import Capture, capture_to_dict, header_text_as_sent
from ..credentials import hidden_view
from ..filters import FILTER_KEYS, bound, from_query, matches
from .encoding import ENCODING, capture_json
from .guard import (
    NotText,
    log_without_query,
    origin_allowed,
    query_text,
    query_texts,
    refuse_reader,
    unknown_parameter,
    wants_body,
)

#: bodies larger than this (bytes) have their credentials hidden off the capture server's loop
INLINE_HIDING = 64 * 1024
#: header fields, URL and reason larger than this (characters) of a capture stored before a
#: secret was given are scrubbed of it off the loop (a 64 KiB head: 7 ms with one secret)
INLINE_SCRUB = 8 * 1024

__all__ = ["StreamHandler", "StreamLimits", "stream_stats"]

_PAGE = 200
#: seconds between looks for captures another process stored into the same database
_SHARED_POLL = 1.0
_OVERHEAD = 512  # rough bytes of a queued capture besides its body and head


@dataclass(frozen=True)
class StreamLimits:
    """Per-connection bounds; set ``server.stream_limits = StreamLimits(...)`` to change them."""

    max_pending: int = 1000
    max_pending_bytes: int = 16 * 1024 * 1024
    batch_bytes: int = 256 * 1024
    write_timeout: float = 30.0


def stream_stats(server: Any) -> dict[str, Any]:
    """Counters of a server's stream: open clients, cut-offs, peak queued messages/bytes."""
    stats = getattr(server, "_hooklab_stream_stats", None)
    if stats is None:
        stats = {"clients": 0, "opened": 0, "cut_off": 0, "peak_pending": 0, "peak_pending_bytes": 0}
        server._hooklab_stream_stats = stats
    return stats


def _weight(cap: Capture) -> int:
    """What a queued capture holds in memory, about: its body (none for a ``body=0``
    client's, :class:`_Bodiless`), its head and some overhead."""
    return len(cap.body) + _head(cap) + _OVERHEAD


@dataclass(frozen=True, slots=True)
class _Bodiless(Capture):
    """A capture queued for a ``body=0`` client: its body is never sent, so it is not held
    while the capture waits (a slow client's queue of 16 MiB bodies weighed gigabytes);
    ``size`` is still the body's."""

    body_size: int = 0

    @property
    def size(self) -> int:
        return self.body_size


def _bodiless(cap: Capture) -> _Bodiless:
    kept = {f.name: getattr(cap, f.name) for f in fields(Capture) if f.name != "body"}
    return _Bodiless(**kept, body_size=cap.size)


def _retrieved(fut: asyncio.Future[Any]) -> None:
    """A write's outcome, looked at: a write that failed because the connection was cut
    (aborted after a cut-off, or gone) is no "Task exception was never retrieved" in the log."""
    if not fut.cancelled():
        fut.exception()


def _head(cap: Capture) -> int:
    """The characters of what a scrub reads of ``cap`` (header fields, URL, reason)."""
    return (sum(len(k) + len(v) for k, v in cap.headers) + len(cap.url or "")
            + len(cap.verify_reason or "") + len(cap.path))


def _reason(text: str) -> str:
    """A close frame's reason: at most 123 bytes of UTF-8 (a control frame holds 125 with the
    code; 120 characters of "é" made Tornado raise and the client got 1006, no reason)."""
    return text.encode("utf-8")[:120].decode("utf-8", "ignore")


class StreamHandler(websocket.WebSocketHandler):
    """Pushes captures to one client; see the module docstring for the protocol."""

    def initialize(self, server: Any) -> None:
        self.server = server

    def check_origin(self, origin: str) -> bool:
        return origin_allowed(self.server, origin, self.request.headers.get("Host"))

    def check_xsrf_cookie(self) -> None:  # read-only stream, no cookies involved
        return None

    def prepare(self) -> None:
        refuse_reader(self, self.server)  # a local Host and the read token, before any upgrade
        # hooklab's Origin rule decides here, whatever Tornado's own cross-origin checks allow
        origin = self.request.headers.get("Origin")
        if origin is not None and not self.check_origin(origin):
            raise web.HTTPError(403, reason="Origin not allowed (DNS-rebinding protection)")

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        if status_code == 401:
            self.set_header("WWW-Authenticate", "token")
        super().write_error(status_code, **kwargs)

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        log_without_query(self, typ, value, tb)  # (the query holds the read token)

    def open(self) -> None:  # type: ignore[override]
        self.limits: StreamLimits = getattr(self.server, "stream_limits", None) or StreamLimits()
        wrong = unknown_parameter(self.request.query_arguments, ("token", "body", *FILTER_KEYS))
        if wrong:  # (a typo, bni= for bin=, quietly streamed every capture)
            self.close(1008, _reason(wrong))
            return
        args = self.request.query_arguments
        try:  # since is the stream's cursor (a capture id); every other filter as everywhere,
            # each value exactly as sent (query_texts: no spaces stripped, no control
            # characters replaced), so it streams what lab.query(**filters) answers
            self.filters = from_query(lambda k: None if k == "since" else query_texts(args, k) or None,
                                      provider_check=self.server.store.provider_check)
            self.with_body = wants_body(args)
            since_arg = query_text(args, "since")  # (a value not UTF-8: said, NotText)
        except NotText as exc:  # (said, not a dropped connection)
            self.close(1008, exc.brief)
            return
        except ValueError as exc:
            self.close(1008, _reason(str(exc)))
            return
        store = self.server.store
        #: since=<a time>: only captures received after it, as the other filters take it
        self.after: datetime | None = None
        try:
            since = store.stored_last_id() if since_arg in (None, "") else bound("since", since_arg)
            if not isinstance(since, int):  # a time: from the first capture received after
                self.after = since  # it (the cursor is an id), and none received before it (a
                first = store.query(since=since, limit=1)  # time to come: none the lab receives
                since = first[0].id - 1 if first else store.stored_last_id()  # until then)
            if since < 0:  # (-5 read as 0 here, a 400 from the API)
                raise ValueError(since_arg)
        except ValueError:
            self.close(1008, "since must be a capture id (0 or more) or an ISO 8601 time")
            return
        self.cursor = max(0, since)
        self.pending: deque[Capture] = deque()
        self.pending_bytes = 0
        self.live = False
        self.refill = False  # read the database: it holds captures not told of (_from_writer)
        self.others_checked = 0.0
        self.scanned = 0  # the newest id a refill looked at (see _refill)
        self.poller: asyncio.TimerHandle | None = None
        self.drops = 0
        self.closing = False
        self.wake = asyncio.Event()
        self.loop = asyncio.get_running_loop()
        self.stats = stream_stats(self.server)
        self.stats["clients"] += 1
        self.stats["opened"] += 1
        streams = getattr(self.server, "streams", None)
        if streams is not None:
            streams.add(self)  # (told 1001 when the server stops)
        # subscribe first, then read the backlog: nothing can fall between the two
        self.told = store.last_id  # the newest capture this process's store told of
        self.restatused: list[int] = []  # captures whose answered status changed (_statuses)
        self.unsubscribe = store.subscribe(self._from_writer, on_clear=None,
                                           on_status=self._from_status)
        self.task = self.loop.create_task(self._pump())

    def _wanted(self, cap: Capture) -> bool:
        """Whether ``cap`` is one this client asked for: its filters, and ``since=<time>``."""
        return matches(cap, self.filters) and (self.after is None or cap.received_at > self.after)

    # -- store thread (writer or WAL syncer) -> server loop ------------------------------------
    def _from_writer(self, cap: Capture) -> None:
        # ids told of skip some: another process stored those into the same database (or an
        # import did, untold): the stream reads them from the file, in order (see _pump)
        gap = cap.id > self.told + 1
        self.told = max(self.told, cap.id)
        if gap:
            self.refill = True
        try:
            if self._wanted(cap):
                if not self.with_body:  # (not held while it waits: see _Bodiless)
                    cap = _bodiless(cap)
                self.loop.call_soon_threadsafe(self._enqueue, cap)
            elif gap:
                self.loop.call_soon_threadsafe(self.wake.set)
        except RuntimeError:  # server loop closed
            pass

    def _from_status(self, capture_id: int) -> None:
        try:
            self.loop.call_soon_threadsafe(self._restatus, capture_id)
        except RuntimeError:  # server loop closed
            pass

    def _restatus(self, capture_id: int) -> None:
        if self.closing:
            return
        self.restatused.append(capture_id)
        if len(self.restatused) > self.limits.max_pending:  # (bounded: the oldest go)
            del self.restatused[: -self.limits.max_pending]
        self.wake.set()

    async def _statuses(self) -> None:
        """Tell the client of the captures it was sent whose answered status changed: each
        read again (on a worker thread) for its status, and for the filters. One not sent yet
        waits until it is (a queued capture holds the status it was stored with)."""
        ids, self.restatused = self.restatused, []
        later: list[int] = []
        fut = None
        for cid in dict.fromkeys(ids):
            if self.closing:
                return
            if cid > self.cursor:
                later.append(cid)
                continue
            cap = await self.loop.run_in_executor(None, self.server.store.get, cid)
            if cap is None or not self._wanted(cap):
                continue
            fut = self._write(orjson.dumps(
                {"update": "status", "id": cid, "status": cap.status}).decode())
        self.restatused[:0] = later
        if fut is not None:
            await self._flushed(fut)

    def _enqueue(self, cap: Capture) -> None:
        if self.closing or cap.id <= self.cursor:
            return
        self.pending.append(cap)
        self.pending_bytes += _weight(cap)
        st = self.stats
        st["peak_pending"] = max(st["peak_pending"], len(self.pending))
        st["peak_pending_bytes"] = max(st["peak_pending_bytes"], self.pending_bytes)
        lim = self.limits
        # the oldest waits for nothing but its turn: what waits behind it counts (one capture
        # is never too much for a client, however big: ~8 MiB bodies cut prompt readers off)
        behind = self.pending_bytes - _weight(self.pending[0])
        if len(self.pending) > lim.max_pending or behind > lim.max_pending_bytes:
            if self.live:
                self._cut_off(f"{len(self.pending)} captures queued")
                return
            self._drop_pending()  # still replaying: the store has them, re-read later
        self.wake.set()

    def _drop_pending(self) -> None:
        self.pending.clear()
        self.pending_bytes = 0
        self.drops += 1

    def _cut_off(self, why: str) -> None:
        if self.closing:
            return
        self.stats["cut_off"] += 1
        self._drop_pending()
        self.closing = True
        self.wake.set()
        reason = f"client too slow ({why}); resume with ?since={self.cursor}"
        self.close(1013, reason[:120])

    # -- sending -----------------------------------------------------------------------------
    async def _send(self, caps: list[Capture]) -> None:
        """Write ``caps`` in batches, waiting for each batch to reach the socket."""
        fut = None
        size = 0
        for cap in caps:
            if self.closing:
                return
            if cap.id <= self.cursor or (self.after is not None and cap.received_at <= self.after):
                continue  # (a page read by id holds captures received before since=<time>)
            store = self.server.store
            if store.secrets and not store.scrubbed_on_arrival(cap.id):
                # (a secret given after it was stored: [secret]; on the worker where its
                # header fields are large, a scrub of milliseconds per secret given)
                cap = (store.shown(cap) if _head(cap) <= INLINE_SCRUB
                       else await self.loop.run_in_executor(ENCODING, store.shown, cap))
                if self.closing:
                    return
            if self.with_body and cap.size > INLINE_HIDING:  # (credentials read key by key:
                # seconds for megabytes of crafted credential keys; a 16 MiB body's ~123 MB of
                # JSON: either would stall every webhook the capture server's loop receives
                # meanwhile) built on a worker; still one message at a time, in order
                msg = await self.loop.run_in_executor(
                    ENCODING, partial(capture_json, cap, extra=self._extra))
                if self.closing:
                    return
                if cap.id <= self.cursor:
                    continue
            else:
                d = capture_to_dict(cap, body=self.with_body)
                d.update(self._extra(cap))
                msg = orjson.dumps(d)
            fut = self._write(msg)  # (bytes, sent as a text frame: it is UTF-8 JSON)
            self.cursor = cap.id
            size += len(msg)
            if size >= self.limits.batch_bytes or self._unwritten():
                await self._flushed(fut)
                fut, size = None, 0
        if fut is not None:
            await self._flushed(fut)

    def _write(self, msg: bytes | str) -> asyncio.Future[None]:
        fut = self.write_message(msg)
        fut.add_done_callback(_retrieved)
        return fut

    def _unwritten(self) -> bool:
        """Whether the socket has not taken all that was written: then the next message waits
        until it has, so that what Tornado holds for the client is at most one message. A
        cut-off's close frame then comes right after it, with the id of the last message
        sent (behind a write batch of 256 KiB it came too late: the client saw 1006)."""
        conn = self.ws_connection
        return conn is not None and conn.stream is not None and conn.stream.writing()

    def _extra(self, cap: Capture) -> dict[str, Any]:
        """The keys a message adds to :func:`capture_to_dict` (see the module's docstring)."""
        d: dict[str, Any] = {}
        hidden = hidden_view(cap, body=self.with_body)
        if hidden is not None:  # (what the stream page shows until "show credentials")
            d["hidden"] = hidden
        event = cap.event_type
        if event and not event.isascii():  # (what the page's event cell shows)
            read = header_text_as_sent(event, cap.header_section)
            if read != event:
                d["event_read"] = read
        return d

    async def _flushed(self, fut: Any) -> None:
        try:
            await asyncio.wait_for(asyncio.shield(fut), self.limits.write_timeout)
        except asyncio.TimeoutError:
            self._cut_off(f"nothing read for {self.limits.write_timeout:g} s")

    async def _catch_up(self, start: int = 0) -> None:
        """Send what the database holds after the cursor (and after ``start``: ids up to it
        were looked at already), page by page, each read on a worker thread (a filter the
        indexes do not answer scans rows: not on the loop that receives the webhooks)."""
        store = self.server.store
        since = max(self.cursor, start)
        while not self.closing:
            drops = self.drops
            page = await self.loop.run_in_executor(
                None, partial(store.query, since=since, limit=_PAGE, **self.filters))
            await self._send(page)
            if page:
                since = max(self.cursor, page[-1].id)
            if len(page) < _PAGE and drops == self.drops:
                return

    def _others(self) -> bool:
        """Whether the database holds captures newer than any this process stored or this
        stream looked at: another process stores into the same file (its captures are not
        "stored" events here). Looked at once a second, for when only the other one stores."""
        store = self.server.store
        now = self.loop.time()
        if now - self.others_checked < _SHARED_POLL:
            return False
        self.others_checked = now
        return store.stored_last_id() > max(self.told, self.cursor, self.scanned, store.last_id)

    async def _refill(self) -> None:
        """Read the database instead of the queue: in id order, this process's captures and
        another's; ``scanned`` remembers how far, so that nothing is read twice."""
        store = self.server.store
        start, self.scanned = self.scanned, max(self.scanned, store.stored_last_id())
        self.live = False  # (what queues meanwhile is in the database: dropped, not a cut-off)
        self.pending.clear()
        self.pending_bytes = 0
        try:
            await self._catch_up(start)
        finally:
            self.live = True

    def _poll(self) -> None:
        """Wake the pump once a second (for :meth:`_others`), until the stream ends."""
        if not self.closing:
            self.wake.set()
            self.poller = self.loop.call_later(_SHARED_POLL, self._poll)

    async def _pump(self) -> None:
        try:
            await self._catch_up()
            self.live = True
            self.poller = self.loop.call_later(_SHARED_POLL, self._poll)
            while not self.closing:
                await self.wake.wait()
                self.wake.clear()
                if self.refill or self._others():  # in id order, its own and the others'
                    self.refill = False
                    await self._refill()
                    continue
                while self.pending and not self.closing:
                    batch = list(self.pending)
                    self.pending.clear()
                    self.pending_bytes = 0
                    await self._send(batch)
                if self.restatused and not self.closing:
                    await self._statuses()
        except websocket.WebSocketClosedError:
            pass
        except asyncio.CancelledError:
            # client gone (on_close) or server shutting down: drop the socket either way
            conn = self.ws_connection
            if conn is not None and conn.stream is not None and not conn.stream.closed():
                conn.stream.close()
        except Exception as exc:  # noqa: BLE001 - report to the client, never kill the loop
            if not self.closing:
                self.closing = True
                self.close(1011, f"stream error: {type(exc).__name__}"[:120])
        finally:
            self._release()

    def _release(self) -> None:
        poller = getattr(self, "poller", None)
        if poller is not None:
            self.poller = None
            poller.cancel()
        unsub = getattr(self, "unsubscribe", None)
        if unsub is not None:
            self.unsubscribe = None
            unsub()
            self.stats["clients"] -= 1
            self.pending.clear()
            self.pending_bytes = 0

    def on_close(self) -> None:
        self.closing = True
        self._release()
        task = getattr(self, "task", None)
        if task is not None and not task.done():
            task.cancel()

    def on_message(self, message: str | bytes) -> None:
        """Clients have nothing to say; messages are ignored (pings are answered by Tornado)."""

