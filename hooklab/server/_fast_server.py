"""The connection side of the fast path: accepting, timeouts, and handing over to Tornado.

:class:`FastServer` accepts connections into :class:`~hooklab._fast_http.FastCapture` and sweeps
their timeouts. :func:`splice_to_tornado` gives a connection to the Tornado server from the
request that needs it on: a socket pair whose far end Tornado serves, spliced to the client by
:class:`_Pipe` (each direction paced by the other's buffer).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import TYPE_CHECKING

from tornado.iostream import IOStream

from ._fast_http import FastCapture
from .ingest import _LINGER_SECONDS  # once Tornado closed a hand-over, as it lingers

if TYPE_CHECKING:
    from .lifecycle import CaptureServer


_log = logging.getLogger("hooklab")


def splice_to_tornado(conn: FastCapture) -> None:
    """Tornado serves ``conn`` from the request at the start of its buffer on."""
    http = conn.server._http
    assert http is not None
    conn.handed = True
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    theirs.setblocking(False)
    # What is buffered goes in before Tornado starts: it reads it at once, as it would
    # from the client's own socket (and a client's EOF only follows later, as it would).
    if conn.buf:
        try:
            sent = ours.send(conn.buf)
        except BlockingIOError:
            sent = 0
        conn.buf = conn.buf[sent:]
    http.handle_stream(IOStream(theirs), conn.peer)
    task = asyncio.ensure_future(_connect_pipe(conn, ours))
    conn.fast.tasks.add(task)
    task.add_done_callback(conn.fast.tasks.discard)


async def _connect_pipe(conn: FastCapture, sock: socket.socket) -> None:
    loop = asyncio.get_running_loop()
    try:
        transport, pipe = await loop.connect_accepted_socket(lambda: _Pipe(conn, sock), sock=sock)
    except BaseException:  # OSError, or cancelled by a shutdown
        sock.close()
        if conn.transport is not None:
            conn.transport.close()
        raise
    if conn.transport is None or conn.transport.is_closing():
        transport.close()
        return
    conn.pipe = transport  # type: ignore[assignment]
    if conn.buf:
        transport.write(conn.buf)  # type: ignore[attr-defined]
        conn.buf = b""
    if conn.eof_from_client and transport.can_write_eof():  # type: ignore[attr-defined]
        transport.write_eof()  # type: ignore[attr-defined]
    # From here the two directions are paced by each other's buffers: the client is read
    # unless the pipe is full (_Pipe.pause_writing), the pipe unless the client is full.
    conn.paused = False
    if not pipe.full:  # writing the buffer may already have filled the pipe
        conn.transport.resume_reading()
    if conn.write_paused:
        transport.pause_reading()  # type: ignore[attr-defined]


class _Pipe(asyncio.Protocol):
    """Our end of the socket pair whose other end Tornado serves: copies to the client."""

    def __init__(self, conn: FastCapture, sock: socket.socket) -> None:
        self.conn = conn
        self.sock = sock
        self.full = False  # our writes to Tornado are backed up: the client is not read
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        client = self.conn.transport
        if client is not None and not client.is_closing():
            client.write(data)

    def eof_received(self) -> bool:
        conn = self.conn
        conn.eof_from_tornado = True
        conn.tornado_done_at = conn.fast.now()
        client = conn.transport
        if client is None or client.is_closing():
            return False
        if conn.eof_from_client:
            client.close()
            return False
        if client.can_write_eof():
            client.write_eof()  # Tornado may still be draining what the client sends
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        client = self.conn.transport
        if client is not None and not client.is_closing():
            # A write that failed because Tornado closed first ends the pipe before its last
            # answer was read: pass on what is still in the socket (bounded by its buffer).
            try:
                while data := self.sock.recv(262144):
                    client.write(data)
            except OSError:
                pass
        if client is not None:
            client.close()

    def pause_writing(self) -> None:  # Tornado reads slower than the client sends
        self.full = True
        client = self.conn.transport
        if client is not None:
            client.pause_reading()

    def resume_writing(self) -> None:
        self.full = False
        client = self.conn.transport
        if client is not None and not client.is_closing():
            client.resume_reading()


class FastServer:
    """The listening side: accepts connections into :class:`FastCapture`, sweeps timeouts."""

    def __init__(self, server: CaptureServer) -> None:
        self.server = server
        self.conns: set[FastCapture] = set()
        self.tasks: set[asyncio.Future] = set()
        self.listeners: list[asyncio.base_events.Server] = []
        self._sweeper: asyncio.TimerHandle | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    def splice(self, conn: FastCapture) -> None:
        """Give ``conn`` to the Tornado server (see :func:`splice_to_tornado`)."""
        splice_to_tornado(conn)

    def now(self) -> float:
        assert self.loop is not None
        return self.loop.time()

    async def listen(self, socks: list[socket.socket]) -> None:
        self.loop = asyncio.get_running_loop()
        for sock in socks:
            self.listeners.append(
                await self.loop.create_server(lambda: FastCapture(self.server, self), sock=sock)
            )
        self._schedule_sweep()

    def _interval(self) -> float:
        limits = [t for t in (self.server.idle_timeout, self.server.body_timeout) if t]
        return min(5.0, max(0.05, min(limits) / 4)) if limits else 5.0

    def _schedule_sweep(self) -> None:
        assert self.loop is not None
        self._sweeper = self.loop.call_later(self._interval(), self._sweep)

    def _sweep(self) -> None:
        try:
            self._check_timeouts(self.now())
        except Exception:  # noqa: BLE001 - the sweep must go on, whatever one connection did
            _log.exception("hooklab: checking connection timeouts failed")
        finally:
            self._schedule_sweep()

    def _check_timeouts(self, now: float) -> None:
        idle, body = self.server.idle_timeout, self.server.body_timeout
        for conn in list(self.conns):
            transport = conn.transport
            if transport is None:
                continue
            if conn.eof_from_tornado:
                # Tornado is done with it (answered and closed, or lingering after a refusal);
                # a client that keeps its end open does not keep ours
                if now - conn.tornado_done_at > _LINGER_SECONDS:
                    transport.abort()
            elif conn.pipe is not None:
                continue  # Tornado's own timeouts apply there
            elif conn.handing_off:
                if not conn.slots and idle and now - conn.idle_since > idle:
                    transport.abort()  # a hand-over that never completed
            elif conn.partial is not None:
                if body and now - conn.body_since > body:
                    transport.abort()  # the body stalled: nothing is stored
            elif not conn.slots and idle and now - conn.idle_since > idle:
                unsent = transport.get_write_buffer_size()
                if unsent and unsent != conn.unsent_at_sweep:
                    # still reading its answers, slowly: idle only from when it stops
                    conn.unsent_at_sweep = unsent
                    conn.idle_since = now
                elif unsent:
                    transport.abort()  # neither sending nor reading
                else:
                    transport.close()

    def stop_listening(self) -> None:
        for listener in self.listeners:
            listener.close()
        self.listeners.clear()
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None

    def close_all(self) -> None:
        for conn in list(self.conns):
            if conn.transport is not None:
                conn.transport.abort()
        self.conns.clear()
