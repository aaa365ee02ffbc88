"""The capture server: a daemon thread with its own asyncio loop.

>>> import urllib.request
>>> from hooklab.store import CaptureStore
>>> store = CaptureStore(":memory:")
>>> with CaptureServer(store, port=0) as srv:
...     urllib.request.urlopen(srv.url_for("github"), data=b"{}", timeout=10).read()
b'{"ok": true, "id": 1}'
>>> store.count()         # answered means stored
1
>>> store.close()

Every method on every path is captured, except the reserved ``/_hooklab/`` prefix which serves
the JSON API, page and stream (:mod:`hooklab.server.api`, a Tornado application). Connections
are read by :mod:`hooklab.server.protocol` (HTTP/1.1 on llhttp); the answer is sent only after
the capture is committed. A stop reads no more requests, answers the captures already read
(for up to :data:`STOP_GRACE` seconds), takes back from the store those still waiting for it
(another program holding the database locked), then closes the connections: what was stored
was answered, so no sender retries it into a duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import re
import socket
import threading
import warnings
import weakref
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, NamedTuple
from urllib.parse import quote

from ..capture import Capture, redact_record, user_stacklevel
from ..credentials import shown_given
from ..filters import bin_name
from .ingest import DEFAULT_MAX_BODY, RESERVED_PREFIX
from .protocol import (
    DEFAULT_MAX_IN_FLIGHT,
    FIRST_BYTE_TIMEOUT,
    Connections,
    connection_ceiling,
    default_max_connections,
    lowered_connections,
)
from .responses import ResponseRules

_PORT_TRIES = 20
#: connections the kernel queues for a listening socket before accept (Tornado's default)
_BACKLOG = 128
#: seconds a stop waits for the answers of captures already taken (being stored, or on their
#: way to the sender) before it closes their connections
STOP_GRACE = 2.0
#: seconds between looks at the Jupyter runtime directory for servers started since
TOKEN_CHECK = 2.0
#: characters of an escaped exception's text a live view shows at most
_REASON_CHARS = 200
#: what each status counted in ``refused`` means, as a failure message says it
_REFUSED_WHY = {
    400: "malformed request", 408: "request not complete in time, or closed to make room",
    413: "body over max_body", 414: "request line too long", 431: "request head too large",
    500: "internal error", 503: "busy, or the store could not take it",
}
_log = logging.getLogger("hooklab")

__all__ = [
    "DEFAULT_MAX_BODY", "DEFAULT_MAX_IN_FLIGHT", "FIRST_BYTE_TIMEOUT", "RESERVED_PREFIX",
    "STOP_GRACE", "CaptureServer", "ServerError", "Serving", "bind_address", "server_url",
    "serving_file", "serving_of", "user_stacklevel", "watch_serving",
]


def bind_address(host: str) -> str:
    """``host`` as a socket binds it: an IPv6 address may come in brackets, as a URL spells
    it (``[::1]`` is ``::1``); brackets around anything else are a ``ValueError`` naming them.

    >>> bind_address("[::1]"), bind_address("127.0.0.1"), bind_address("[fe80::1%eth0]")
    ('::1', '127.0.0.1', 'fe80::1%eth0')
    >>> bind_address("[localhost]")
    Traceback (most recent call last):
    ...
    ValueError: '[localhost]' is not an address: brackets go around an IPv6 address only, as in [::1]
    """
    if not (host.startswith("[") or host.endswith("]")):
        return host
    import ipaddress

    inner = host[1:-1] if host.startswith("[") and host.endswith("]") else ""
    try:
        ipaddress.IPv6Address(inner.split("%", 1)[0])  # (a scope, as in fe80::1%eth0)
    except ValueError:
        raise ValueError(f"{host!r} is not an address: brackets go around an IPv6 address "
                         "only, as in [::1]") from None
    return inner


def _new_loop() -> asyncio.AbstractEventLoop:
    """The server thread's own loop: uvloop's where it is installed (libuv: less Python per
    read and write), else asyncio's. Tornado serves ``/_hooklab/`` on either."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def listening_sockets(port: int, host: str) -> list[socket.socket]:
    """Non-blocking listening sockets on ``port`` of every address ``host`` names, as Tornado's
    ``bind_sockets`` makes them (``SO_REUSEADDR``; port 0: one port for all). IPv6 sockets are
    IPv6-only, but for ``::`` alone (every address, no IPv4 socket beside it): that one takes
    IPv4 too where the system lets it (:func:`takes_ipv4`), as most servers bind ``::``, so
    ``127.0.0.1`` reaches it (IPv6-only, the lab's URL, the Jupyter relay and tunnel, which
    connect to ``127.0.0.1``, found nothing listening). A bind that fails closes every socket
    made so far before the error goes up: ``bind_sockets`` left the one that failed open, and
    moving to the next port when the preferred one was taken surfaced a ResourceWarning at
    some later call.

    >>> socks = listening_sockets(0, "127.0.0.1")
    >>> [s.getsockname()[0] for s in socks]
    ['127.0.0.1']
    >>> for s in socks: s.close()
    """
    family = socket.AF_UNSPEC if socket.has_ipv6 else socket.AF_INET
    found = socket.getaddrinfo(host or None, port, family, socket.SOCK_STREAM, 0, socket.AI_PASSIVE)
    # (dual-stack only when no IPv4 socket is made beside it: both would want the same port)
    dual = not any(r[0] == socket.AF_INET for r in found)
    made: list[socket.socket] = []
    bound: int | None = None
    try:
        for af, kind, proto, _, addr in sorted(dict.fromkeys(found), key=lambda r: r[0]):
            try:
                sock = socket.socket(af, kind, proto)
            except OSError as exc:
                if exc.errno == errno.EAFNOSUPPORT:
                    continue
                raise
            made.append(sock)
            if os.name != "nt":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if af == socket.AF_INET6 and hasattr(socket, "IPPROTO_IPV6"):
                v6only = 0 if dual and _unspecified(addr[0]) else 1
                try:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, v6only)
                except OSError:  # (a system without dual-stack sockets, OpenBSD: IPv6 only,
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)  # and the
                    # URL says [::1]: takes_ipv4 reads what was set)
            if addr[1] == 0 and bound is not None:
                addr = (addr[0], bound, *addr[2:])
            sock.setblocking(False)
            try:
                sock.bind(addr)
            except OSError as exc:
                # ("localhost" where IPv6 is half off: ::1 resolves but cannot be bound)
                if exc.errno == errno.EADDRNOTAVAIL and host == "localhost" and addr[0] == "::1":
                    made.pop().close()
                    continue
                raise
            bound = sock.getsockname()[1]
            sock.listen(_BACKLOG)
    except BaseException:
        for sock in made:
            sock.close()
        raise
    return made


def server_url(host: str, port: int, *, takes_ipv4: bool = True) -> str:
    """``http://<host>:<port>``, the URL that reaches a server bound to ``host`` and ``port``
    from this machine: an address that means every one (``0.0.0.0``, ``::``) is reached at
    ``127.0.0.1`` (``[::1]`` when the sockets bound take no IPv4, ``takes_ipv4=False``).
    :attr:`CaptureServer.url` says it, and a stopped lab the address it listens on again.

    >>> server_url("0.0.0.0", 8765), server_url("::1", 9000), server_url("::", 1, takes_ipv4=False)
    ('http://127.0.0.1:8765', 'http://[::1]:9000', 'http://[::1]:1')
    """
    if not host or _unspecified(host):
        host = "127.0.0.1" if takes_ipv4 else "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _unspecified(address: str) -> bool:
    """Whether ``address`` is an IP literal that means every address (``0.0.0.0``, ``::``)."""
    import ipaddress

    try:
        return ipaddress.ip_address(address.split("%", 1)[0]).is_unspecified
    except ValueError:
        return False


def takes_ipv4(sockets: list[socket.socket]) -> bool:
    """Whether a connection to ``127.0.0.1`` reaches one of these listening sockets: an IPv4
    one, or an IPv6 one that is not IPv6-only (see :func:`listening_sockets`).

    >>> socks = listening_sockets(0, "127.0.0.1")
    >>> takes_ipv4(socks), takes_ipv4([])
    (True, False)
    >>> for s in socks: s.close()
    """
    for sock in sockets:
        if sock.family == socket.AF_INET:
            return True
        if sock.family == socket.AF_INET6 and hasattr(socket, "IPPROTO_IPV6") and \
                _unspecified(sock.getsockname()[0]) and \
                not sock.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY):
            return True
    return False


# -- who serves a store: what live views say about receiving ---------------------------------
class Serving(NamedTuple):
    """Whether capture servers of this process write into a store, as a live view says it.

    ``url``: where one listens now (``None``: none does); ``served``: one has, since the store
    was opened; ``reason``: why the last one stopped when nobody asked it to (its thread ended:
    an exception escaped its loop, or the loop was stopped from outside), ``None`` after a
    :meth:`CaptureServer.stop` (``lab.stop_serving()``, ``%hooklab stop``).

    >>> from hooklab.store import CaptureStore
    >>> store = CaptureStore(":memory:")
    >>> serving_of(store)                                  # nothing ever served it
    Serving(url=None, served=False, reason=None)
    >>> server = CaptureServer(store, port=0).start()
    >>> serving_of(store).url == server.url
    True
    >>> server.stop(); serving_of(store)
    Serving(url=None, served=True, reason=None)
    >>> store.close()
    """

    url: str | None
    served: bool
    reason: str | None


_NEVER = Serving(None, False, None)


class _Served:
    """A store's running servers and who watches them (under :data:`_serving_lock`)."""

    def __init__(self) -> None:
        self.running: list[CaptureServer] = []
        self.state = _NEVER
        self.watchers: list[Callable[[Serving], None]] = []


# an RLock, held while watchers are told: a store's changes reach them one at a time and in
# order (two servers of one store stopping at once could otherwise tell "live" last)
_serving_lock = threading.RLock()
_served: weakref.WeakKeyDictionary[Any, _Served] = weakref.WeakKeyDictionary()


def _entry(store: Any) -> _Served:
    """``store``'s entry, made on first use (under :data:`_serving_lock`)."""
    entry = _served.get(store)
    if entry is None:
        entry = _served[store] = _Served()
    return entry


def serving_of(store: Any) -> Serving:
    """What the capture servers of this process do with ``store`` now (see :class:`Serving`)."""
    with _serving_lock:
        entry = _served.get(store)
        return _NEVER if entry is None else entry.state


def watch_serving(store: Any, callback: Callable[[Serving], None]) -> Callable[[], None]:
    """Call ``callback(serving)`` with the :class:`Serving` of ``store`` now, and again
    whenever a server of ``store`` starts or stops (on that server's thread, so it must be
    quick); returns a function that stops watching.

    >>> from hooklab.store import CaptureStore
    >>> store = CaptureStore(":memory:")
    >>> unwatch = watch_serving(store, lambda s: print(s.url is not None, s.served, s.reason))
    False False None
    >>> server = CaptureServer(store, port=0).start()
    True True None
    >>> server.stop()
    False True None
    >>> unwatch(); store.close()
    """
    with _serving_lock:  # (told the state now under the lock: no change slips in between)
        entry = _entry(store)
        entry.watchers.append(callback)
        callback(entry.state)

    def unwatch() -> None:
        with _serving_lock:
            if callback in entry.watchers:
                entry.watchers.remove(callback)

    return unwatch


def serving_file(path: str, *, besides: Any = None) -> str | None:
    """The URL of a capture server of this process that writes into the database file
    ``path`` through a store other than ``besides`` (``None``: none does). A live view of
    ``hooklab.open(path)`` uses it: the lab ``%load_ext hooklab`` started may already serve
    that very file, and asking for ``lab.start()`` there was no help.

    >>> import os, tempfile
    >>> from hooklab.store import CaptureStore
    >>> path = os.path.join(tempfile.mkdtemp(), "c.sqlite3")
    >>> writer, reader = CaptureStore(path), CaptureStore(path)
    >>> server = CaptureServer(writer, port=0).start()
    >>> serving_file(path, besides=reader) == server.url
    True
    >>> serving_file(path, besides=writer) is None       # (its own server is not another's)
    True
    >>> server.stop(); writer.close(); reader.close()
    >>> import shutil; shutil.rmtree(os.path.dirname(path))
    """
    if not path or path == ":memory:":
        return None
    real = os.path.realpath(path)
    with _serving_lock:
        for store, entry in list(_served.items()):
            if store is besides or not entry.running:
                continue
            theirs = getattr(store, "path", None)
            if isinstance(theirs, str) and theirs != ":memory:" and os.path.realpath(theirs) == real:
                return entry.running[-1].url
    return None


def _tell_serving(server: CaptureServer, *, up: bool, reason: str | None = None) -> None:
    """Server thread: ``server`` listens now (``up``) or its thread is ending; the watchers of
    its store hear the new :class:`Serving`."""
    with _serving_lock:
        entry = _entry(server.store)
        if up:
            entry.running.append(server)
        elif server in entry.running:
            entry.running.remove(server)
        live = entry.running[-1] if entry.running else None
        entry.state = Serving(live.url if live is not None else None, True,
                              None if live is not None else reason)
        for callback in list(entry.watchers):
            try:
                callback(entry.state)
            except Exception:  # noqa: BLE001 - a watcher must not keep the server thread
                _log.exception("hooklab: a serving watcher failed")


class ServerError(RuntimeError):
    """The capture server could not start or failed in its thread."""


def _answer(slot: Any, result: Any, response: Any) -> None:
    """Server loop: answer one capture (stored, or refused with ``result`` an error); if that
    fails, drop its connection alone, never the other answers of the batch."""
    try:
        slot._answer(result, response)
    except Exception:  # noqa: BLE001 - one broken answer must not drop the others
        _log.exception("hooklab: answering a capture failed")
        slot._abandon()


def _no_dot_segment(segment: str) -> str:
    """``segment`` of a URL's path, or ``ValueError`` for a ``.`` or ``..``: curl, requests,
    browsers and Node remove dot segments before they send (RFC 3986 5.2.4; the WHATWG URL
    parser reads ``%2E`` as a dot too), so ``url_for("..") + "/x"`` reached bin ``x``, among
    its real captures, while :func:`hooklab.send` (the path as written) reached bin ``..``.

    >>> _no_dot_segment("..."), _no_dot_segment("a"), _no_dot_segment("%2E%2Ex")
    ('...', 'a', '%2E%2Ex')
    """
    if re.sub(r"%2[eE]", ".", segment) in (".", ".."):  # (%2E: a dot to WHATWG URL)
        raise ValueError(f"a {segment!r} segment is removed by clients before they send "
                         "(RFC 3986 5.2.4; browsers and Node read %2E as a dot too): the "
                         "URL would reach another bin; name the bin or path otherwise")
    return segment


class CaptureServer:
    """Serve captures into ``store`` from a daemon thread.

    ``port=0`` picks a free port; a taken fixed port moves to the next free one with a warning
    naming both (``strict_port=True`` raises instead). ``url``/``port`` give the real address.
    """

    def __init__(
        self,
        store: Any,
        host: str = "127.0.0.1",
        port: int = 8765,
        *,
        max_body: int = DEFAULT_MAX_BODY,
        rules: ResponseRules | None = None,
        strict_port: bool = False,
        idle_timeout: float = 120.0,
        body_timeout: float = 60.0,
        first_byte_timeout: float = FIRST_BYTE_TIMEOUT,
        max_connections: int | None = None,
        api_token: str | None = None,
        relay_nonce: str | None = None,
    ) -> None:
        from .guard import jupyter_runtime, jupyter_tokens, new_token, runtime_stamp

        if not isinstance(host, str) or not host.strip():
            # (the socket layer reads "" as every interface: a quoting slip must not open the
            # lab to the network while its URL says 127.0.0.1)
            raise ValueError(f"host {host!r} is empty: use '127.0.0.1' (the default: this "
                             "machine only) or '0.0.0.0' to accept connections from other "
                             "machines")
        self.store = store
        self.host = host
        self.requested_port = int(port)
        self.port = int(port)
        self.max_body = int(max_body)
        self.rules = rules if rules is not None else ResponseRules()
        self.strict_port = strict_port
        #: seconds a connection may sit idle, or take to send a request's head
        self.idle_timeout = idle_timeout
        #: seconds a request's body may take to arrive once its head is in
        self.body_timeout = body_timeout
        #: seconds a new connection may take to send its first byte (never more than
        #: ``idle_timeout``, which also applies)
        self.first_byte_timeout = first_byte_timeout
        #: connections open at once, WebSocket streams included (None: half the soft limit
        #: of open files, at most 8192; a number above half that limit is lowered to it):
        #: one past it closes the one idle longest (or an upload stalled for STALL_SECONDS,
        #: or a connection whose answers went untaken that long), or is answered 503 when
        #: none can go (see :mod:`.protocol`)
        self.max_connections = max_connections
        #: bytes of request bodies (and unfinished heads) all connections may hold at once;
        #: past it, 503 with Retry-After (see :mod:`.protocol`; never less than ``max_body``
        #: and a head)
        self.max_in_flight = DEFAULT_MAX_IN_FLIGHT
        #: seconds :meth:`stop` waits for the answers of captures already read (see
        #: :data:`STOP_GRACE`); no request is read once a stop began
        self.stop_grace = STOP_GRACE
        #: requests refused before they could be stored (413, 414, 431, 400, 503 busy), by
        #: status: /_hooklab/health says them; ``refusal_listeners`` are told each one. The
        #: 503s of captures the store could not take (a full queue, a full disk, a failed
        #: sync) are counted too, untold (``hooklab serve`` says the failure itself)
        self.refused: dict[int, int] = {}
        #: of ``refused[503]``, those of captures the store could not take or keep (a full
        #: disk, a failed sync, a full queue): ``hooklab serve``'s failure lines count them
        self.not_stored = 0
        #: ``not_stored`` by the store's number of the time writes failed that refused them
        #: (:meth:`hooklab.store.CaptureStore.failures_after`; 0: none, e.g. a full queue)
        self.not_stored_in: dict[int, int] = {}
        #: when ``refused`` began counting (made, or :meth:`reset_refused`): UTC
        self.refused_since = datetime.now(timezone.utc)
        self.refusal_listeners: list[Any] = []
        #: called with this server, on its thread, when the thread ended without
        #: :meth:`stop` (:attr:`ended` says why), before its store's watchers hear it: the
        #: lab takes its public URLs off the relay then, as ``lab.stop_serving()`` does
        self.end_listeners: list[Callable[[CaptureServer], None]] = []
        self._conns: Connections | None = None
        #: the lab's per-bin secrets: endpoint handshakes are answered with them when no
        #: response rule matches, and recognised when one does
        #: (:func:`hooklab.providers.handshake_answer`); None: neither
        self.handshakes: Any = None
        #: extra Host names the /_hooklab/ API, page and stream answer to ("*": any)
        self.allowed_hosts: tuple[str, ...] = ()
        #: the read token of the /_hooklab/ API, page and stream (see :mod:`.guard`)
        self.api_token: str = api_token or new_token()
        #: what no capture stores (scrubbed to ``[redacted]`` wherever it appears but the
        #: body): the read token and the tokens of the user's Jupyter servers (those running
        #: when this server is made, and those started later: :meth:`_watch_tokens`)
        self._runtime = jupyter_runtime()
        self._runtime_seen = runtime_stamp(self._runtime)
        self.never_stored: tuple[str, ...] = (self.api_token, *jupyter_tokens(self._runtime))
        #: proves this server to the Jupyter relay (``/_hooklab/relay``); never sent anywhere
        self.relay_nonce: str = relay_nonce or new_token()
        #: JSON bytes per /_hooklab/api/captures page (one bigger capture still comes alone)
        self.api_page_bytes: int = 8 * 1024 * 1024
        #: browser origins, besides the page's own local one, that may open the stream
        self.stream_origins: tuple[str, ...] = ()
        #: store Cookie, X-XSRFToken and "Authorization: token ..." as [redacted]
        self.redact_credentials: bool = True
        self.api_app: Any = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._stopped = threading.Event()
        self._stop_asked = False  # stop() ended the thread (not an escaped exception...)
        #: orders stop() with start() and with the thread making its loop (see _run)
        self._stop_lock = threading.Lock()
        self._starting = False  # start() is under way (a stop() meanwhile is kept for it)
        #: why the server thread ended when :meth:`stop` did not end it (an exception that
        #: escaped its loop, or the loop stopped from outside); live views say it
        self.ended: str | None = None
        self.warning: str | None = None
        #: whether 127.0.0.1 reaches this server once bound (``::``: dual-stack where the
        #: system allows it); :attr:`url` follows it
        self._takes_ipv4 = True
        #: open WebSocket streams (StreamHandler adds itself): closed with 1001 on stop
        self.streams: weakref.WeakSet[Any] = weakref.WeakSet()
        self._done: list[tuple[Any, Any, Any]] = []
        self._to_submit: list[tuple[Any, Any]] = []  # captures received in this loop iteration
        self._done_lock = threading.Lock()
        self._drain_scheduled = False
        self._finished = False  # the loop answers nothing more (see _completed)

    # -- captures to the store, answers after commit ----------------------------------------
    def submit_soon(self, record: Any, slot: Any) -> None:
        """Server loop: store ``record`` and answer through ``slot`` once it is durable.

        The captures parsed in one turn of the loop (every connection that had data) are
        handed to the store together at the end of that turn: the writer wakes once and
        finds them all, instead of waking at the first and contending for the GIL while the
        rest are parsed. A store that refuses (full queue, closed) is answered then too: 503.
        """
        pending = self._to_submit
        if not pending:
            loop = self.loop
            assert loop is not None
            loop.call_soon(self._submit_pending)
        pending.append((record, slot))

    def _submit_pending(self) -> None:
        items, self._to_submit = self._to_submit, []
        submit = self.store.submit
        for record, slot in items:
            if slot.withdrawn:  # (the server stopped first: never stored, never answered)
                continue
            try:
                slot.ticket = submit(record, slot)
            except Exception as exc:  # noqa: BLE001 - store closed / busy: refuse, do not pretend
                self._not_stored()
                _answer(slot, exc, slot.response)

    def _completed(self, delegate: Any, result: Any, response: Any) -> None:
        """The store's thread (writer or WAL syncer): queue an answer; wake the server loop
        once per batch, not per capture."""
        with self._done_lock:
            if self._finished:  # (after the stop: committed while its sender was cut off)
                late = True
            else:
                late = False
                self._done.append((delegate, result, response))
                if self._drain_scheduled:
                    return
                self._drain_scheduled = True
        if late:
            if isinstance(result, Capture):  # never answered: its row says so
                self.answered(result.id, 0)
            return
        loop = self.loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._drain)
            except RuntimeError:  # loop closed during shutdown
                pass

    def _drain(self) -> None:
        with self._done_lock:
            items, self._done = self._done, []
            self._drain_scheduled = False
        for delegate, result, response in items:
            if isinstance(result, BaseException):  # (a full disk, a failed sync: 503)
                self._not_stored(getattr(result, "hooklab_failure", 0))
            _answer(delegate, result, response)

    def answered(self, capture_id: int, status: int,
                 then: Callable[[], None] | None = None) -> None:
        """Server loop: a stored capture's answer is otherwise than its row says: about to be
        written with ``status`` (a delayed one), or 0, never sent (its sender hung up, the
        connection failed, the server stopped first). Its row is corrected
        (:meth:`hooklab.store.CaptureStore.record_status`); the capture stays stored.
        ``then`` runs on this loop once the row says it (durable), or at once if it cannot:
        a delayed answer is written then, so that a capture read once its sender has the
        answer says its status."""
        done = None
        if then is not None:
            loop = self.loop
            assert loop is not None

            def done(result: Any) -> None:  # (the store's thread)
                try:
                    loop.call_soon_threadsafe(then)
                except RuntimeError:  # (the loop closed: its connection went with it)
                    pass
        try:
            self.store.record_status(capture_id, status, on_done=done)
        except Exception as exc:  # noqa: BLE001 - a closed store: the row keeps what it said
            _log.warning("hooklab: capture %d's answered status (%d) could not be recorded: %s",
                         capture_id, status, exc)
            if then is not None:
                then()

    def _not_stored(self, time: int = 0) -> None:
        """Server loop: a capture is answered 503 because the store could not take or keep
        it (during the store's ``time``-th failure, if one): counted in ``refused`` (health
        said nothing of a short full disk's 503s)."""
        self.refused[503] = self.refused.get(503, 0) + 1
        self.not_stored_in[time] = self.not_stored_in.get(time, 0) + 1
        self.not_stored += 1

    # -- lifecycle ------------------------------------------------------------------------
    def start(self, timeout: float = 10.0) -> CaptureServer:
        """Start serving; returns once the socket is bound (errors re-raised here)."""
        with self._stop_lock:  # (a stop() from another thread from here on stops it)
            if self.is_running:
                return self
            self._stop_asked = False
            self._starting = True
        try:
            from .api import make_api_app

            self.api_app = make_api_app(self)
            with self._stop_lock:  # (a stop() meanwhile finds the thread started, or none)
                if self._stop_asked:
                    raise ServerError("hooklab server stopped before it began serving")
                self._ready.clear()
                self._stopped.clear()
                self._error = None
                self._finished = False
                self.ended = None
                self.loop = None  # (not the last run's, closed: see stop)
                self._thread = thread = threading.Thread(
                    target=self._run, name=f"hooklab-server-{self.port}", daemon=True)
                thread.start()
        finally:
            self._starting = False
        if not self._ready.wait(timeout):
            raise ServerError(f"hooklab server did not start within {timeout} s")
        if self._error is not None:
            thread.join(5)  # (this start's: a stop() from another thread may have dropped it)
            err = self._error
            raise ServerError(str(err)) from err
        if self.warning:
            warnings.warn(self.warning, RuntimeWarning, stacklevel=user_stacklevel())
        lowered = self.connections_lowered()
        if lowered:  # (silently kept, connections took every descriptor before the limit)
            warnings.warn(lowered, RuntimeWarning, stacklevel=user_stacklevel())
        return self

    def _bind_port(self, port: int) -> list[socket.socket]:
        """Sockets on ``port`` of ``host``; an address that is none of this machine's, or
        no address, is an error naming it (it said "[Errno -2] Name or service not known")."""
        try:
            return listening_sockets(port, self.host)
        except socket.gaierror as exc:
            raise OSError(f"host {shown_given(self.host, 200)} cannot be bound: {exc.strerror} (an IP address "
                          "of this machine such as 127.0.0.1, 0.0.0.0 for all of them, or a "
                          "name that resolves to one)") from exc
        except OSError as exc:
            if exc.errno != errno.EADDRNOTAVAIL:
                raise
            raise OSError(exc.errno, f"host {shown_given(self.host, 200)} cannot be bound: {exc.strerror} "
                          "(not an address of this machine)") from exc

    def _bind(self) -> list[socket.socket]:
        if self.requested_port == 0:
            return self._bind_port(0)
        last: OSError | None = None
        tries = 1 if self.strict_port else _PORT_TRIES
        for port in range(self.requested_port, self.requested_port + tries):
            try:
                socks = self._bind_port(port)
            except OSError as exc:
                if exc.errno == errno.EACCES and port < 1024 and os.name == "posix":
                    # (not "in use": the next ports would not help; elsewhere, e.g. a port
                    # Windows keeps for itself, the next one may)
                    raise OSError(errno.EACCES, f"port {port}: permission denied (ports below "
                                  "1024 need privileges)") from exc
                if exc.errno not in (errno.EADDRINUSE, errno.EACCES):
                    raise
                last = exc
                continue
            if port != self.requested_port:
                self.warning = (
                    f"hooklab: port {self.requested_port} is in use; listening on {port} instead"
                )
            return socks
        raise OSError(
            errno.EADDRINUSE,
            f"port {self.requested_port} is in use"
            + ("" if self.strict_port else f" and so are the next {tries - 1}")
            + f" ({last.strerror or last})",  # (the errno is this error's own: said once)
        )

    def _run(self) -> None:
        loop = _new_loop()
        asyncio.set_event_loop(loop)
        with self._stop_lock:  # (a stop() before this saw no loop to stop: it is seen here)
            stopped = self._stop_asked
            if not stopped:
                self.loop = loop
        socks: list[socket.socket] = []
        try:
            if stopped:
                raise ServerError("hooklab server stopped before it began serving")

            async def setup() -> None:
                socks.extend(self._bind())
                self.port = socks[0].getsockname()[1]
                self._takes_ipv4 = takes_ipv4(socks)
                self._conns = Connections(self)
                await self._conns.listen(socks)

            loop.run_until_complete(setup())
        except BaseException as exc:  # surfaced to start()
            if self._conns is not None:  # (the port freed: a stop() during the setup made
                self._conns.stop_listening()  # it end with "Event loop stopped before ...")
            for sock in socks:
                sock.close()
            self._error = ServerError("hooklab server stopped before it began serving") \
                if self._stop_asked else exc
            self._ready.set()
            loop.close()
            return
        _tell_serving(self, up=True)  # (before start() returns: views say live at once)
        self._ready.set()
        loop.call_later(TOKEN_CHECK, self._watch_tokens)
        escaped: BaseException | None = None
        try:
            if not self._stop_asked:  # (a stop() during the setup: its loop.stop() may have
                # ended the setup's own run, spent, and run_forever() would serve on)
                loop.run_forever()
        except BaseException as exc:  # noqa: BLE001 - KeyboardInterrupt, SystemExit in a
            escaped = exc  # callback (asyncio logs an Exception's and goes on): said below
        finally:
            try:
                loop.run_until_complete(self._shutdown())
            finally:
                loop.close()
                # a thread that ended unasked tells its views why: they went on saying "live"
                # while senders got "connection refused"
                self.ended = None if self._stop_asked else self._why_ended(escaped)
                if self.ended is not None:
                    # (the traceback formatted here and scrubbed: with exc_info the logging
                    # module printed the exception's own text, tokens and all, to the cell's
                    # stderr, which a saved notebook keeps)
                    _log.error("hooklab: the capture server at %s stopped: %s%s", self.url,
                               self.ended, self._scrubbed_traceback(escaped))
                    for listener in list(self.end_listeners):
                        try:
                            listener(self)
                        except Exception:  # noqa: BLE001 - the views must still be told
                            _log.exception("hooklab: an end listener failed")
                _tell_serving(self, up=False, reason=self.ended)
                self._stopped.set()

    def _scrub(self, text: str) -> str:
        """``text`` with the lab's read token and the Jupyter servers' tokens ``[redacted]``."""
        for token in self.never_stored:
            if token:
                text = text.replace(token, "[redacted]")
        return text

    def _scrubbed_traceback(self, escaped: BaseException | None) -> str:
        """The traceback of the exception that escaped the loop, as logging would print it,
        tokens ``[redacted]`` ("" when none escaped: the loop was stopped from outside)."""
        if escaped is None:
            return ""
        import traceback

        lines = traceback.format_exception(type(escaped), escaped, escaped.__traceback__)
        return "\n" + self._scrub("".join(lines)).rstrip("\n")

    def _why_ended(self, escaped: BaseException | None) -> str:
        """What a live view says of a server thread that ended without :meth:`stop`: the
        exception that escaped its loop (cut short, tokens scrubbed: it goes into widget
        state a saved notebook keeps), or that its loop was stopped from outside."""
        if escaped is None:
            return "its event loop was stopped by something other than lab.stop()"
        text = f"{type(escaped).__name__}: {escaped}" if str(escaped) else type(escaped).__name__
        text = self._scrub(text)
        text = text if len(text) <= _REASON_CHARS else text[: _REASON_CHARS - 3] + "..."
        return f"{text} escaped its event loop"

    def _watch_tokens(self) -> None:
        """Server loop, every :data:`TOKEN_CHECK` seconds: have the Jupyter servers' files
        looked at on a thread of the loop's (a slow disk never holds the capture loop), and
        read their tokens again when they changed (a server started, stopped, or wrote its
        file again); a token once seen stays scrubbed (a stopped server's token may still be
        in a script)."""
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        try:
            done = loop.run_in_executor(None, self._read_tokens)
        except RuntimeError:  # (the loop is stopping)
            return
        done.add_done_callback(lambda _: self._next_token_check())

    def _next_token_check(self) -> None:
        loop = self.loop
        if loop is not None and not loop.is_closed() and loop.is_running():
            loop.call_later(TOKEN_CHECK, self._watch_tokens)

    def _read_tokens(self) -> None:
        """(A thread's:) the tokens again if the servers' files changed."""
        from .guard import jupyter_tokens, runtime_stamp

        try:
            stamp = runtime_stamp(self._runtime)
            if stamp == self._runtime_seen:
                return
            self._runtime_seen = stamp
            known = self.never_stored
            new = tuple(t for t in jupyter_tokens(self._runtime) if t not in known)
            if new:
                self.never_stored = (*known, *new)
        except Exception:  # noqa: BLE001 - never stops the watch (the next look tries again)
            pass

    async def _shutdown(self) -> None:
        conns = self._conns
        if conns is not None:
            # stop taking requests, then answer the captures already taken before closing:
            # a capture committed as the connections were cut was stored but never answered,
            # so its sender retried and it was stored twice (one per busy connection)
            conns.stop_listening()
            conns.wind_down()
            deadline = conns.now() + self.stop_grace
            while conns.answering() and conns.now() < deadline:
                await asyncio.sleep(0.005)
            # what still waits for the store (another program holds the database locked) is
            # taken back, neither stored nor answered: stored as the connections were cut, it
            # said status 200 and was never answered (its sender retried it: a duplicate)
            committing = conns.withdraw()
            if committing:  # (the write lock is held for them: their answers come soon)
                deadline = conns.now() + self.stop_grace
                while conns.answering() and conns.now() < deadline:
                    await asyncio.sleep(0.005)
            conns.close_all()
            for slot in committing:  # never answered: once stored, its row says status 0
                if slot.storing:
                    slot.lost = True
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        with self._done_lock:  # an answer that comes from now on: see _completed
            self._finished = True
        self._drain()  # (committed as the connections closed: rows corrected to status 0)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and free the port (idempotent), whenever it is called: a server
        thread that has not made its loop yet ends without serving (its :meth:`start` raises
        :class:`ServerError`)."""
        with self._stop_lock:
            loop, thread = self.loop, self._thread
            if self._starting and (thread is None or not thread.is_alive()):
                self._stop_asked = True  # (start() in another thread: it makes no thread)
            if thread is None or not thread.is_alive():
                return
            self._stop_asked = True  # (the thread's end is this stop, not a failure)
        if loop is None:  # (the thread makes its loop next: it sees _stop_asked and ends)
            thread.join(timeout)
            self._thread = None
            return
        if len(self.streams):  # a stream client is told, not cut (1006 and no reason)
            async def going_away() -> None:
                for handler in list(self.streams):
                    with contextlib.suppress(Exception):
                        handler.close(1001, "hooklab stopped serving")
                await asyncio.sleep(0.05)  # (the close frames written)

            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(going_away(), loop).result(timeout=2)
        try:
            loop.call_soon_threadsafe(loop.stop)
        except RuntimeError:  # loop already closed
            pass
        thread.join(timeout)
        self._thread = None

    @property
    def open_connections(self) -> int:
        """Client connections open right now, WebSocket streams included (tests, status)."""
        return len(self._conns) if self._conns is not None else 0

    @property
    def connection_limit(self) -> int:
        """Connections open at most at once: ``max_connections``, or the default it stands
        for (half the soft limit of open files as the server started, at most 8192); a
        ``max_connections`` above half that soft limit is lowered to it (see
        :meth:`connections_lowered`)."""
        conns = self._conns
        if self.max_connections is None:
            return conns.default_limit if conns is not None else default_max_connections()
        ceiling = conns.ceiling if conns is not None else connection_ceiling()
        cap = max(1, int(self.max_connections))
        return cap if ceiling is None else min(cap, ceiling)

    def connections_lowered(self) -> str | None:
        """A warning when ``max_connections`` is more than the open-files limit allows (and
        so is lowered: :attr:`connection_limit`), else None. Said as the server starts, and
        by ``HookLab`` when its ``max_connections`` changes while serving."""
        conns = self._conns
        return lowered_connections(self.max_connections,
                                   conns.ceiling if conns is not None else connection_ceiling())

    @property
    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and self._ready.is_set()

    # -- addresses ------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """``http://<host>:<port>``, a URL that reaches this server from this machine: for an
        address that means every one (``0.0.0.0``, ``::``) ``127.0.0.1``, or ``[::1]`` where
        ``::`` could only be bound IPv6-only (:func:`listening_sockets`).

        >>> CaptureServer(None, "::", 8765).url              # (before start: as it will be)
        'http://127.0.0.1:8765'
        >>> CaptureServer(None, "::1", 8765).url
        'http://[::1]:8765'
        """
        return server_url(self.host, self.port, takes_ipv4=self._takes_ipv4)

    def tell_refused(self, status: int, message: str, req: Any, remote: str) -> None:
        """A request was refused before it could be stored (the server's loop): counted, and
        each of ``refusal_listeners`` called with ``{"status", "error", "method", "target",
        "remote"}`` (``method`` and ``target`` ``None`` when the request line itself was bad;
        ``target`` scrubbed as a capture of it is stored, see :meth:`shown_target`)."""
        self.refused[status] = self.refused.get(status, 0) + 1
        if not self.refusal_listeners:
            return
        what = {"status": status, "error": message, "remote": remote,
                "method": getattr(req, "method", None),
                "target": self.shown_target(getattr(req, "target", None))}
        for listener in list(self.refusal_listeners):
            try:
                listener(what)
            except Exception:  # noqa: BLE001 - a listener must not break the connection
                _log.exception("hooklab: a refusal listener failed")

    def shown_target(self, target: str | None) -> str | None:
        """``target`` (a request target refused before it was stored) scrubbed as the
        capture of it would be: the lab's read token and your Jupyter servers' tokens as
        ``[redacted]``, every secret given to ``lab.secret`` as ``[secret]`` (percent-encoded
        too). Credential-looking query values are left to the reader
        (:func:`hooklab.credentials.scrubbed_url`), as a stored capture's are.

        >>> srv = CaptureServer(None, "127.0.0.1", 0)
        >>> srv.shown_target("/b?t=" + srv.api_token + "&x=1")
        '/b?t=[redacted]&x=1'
        """
        if not target:
            return target
        shown = redact_record({"path": target}, credentials=False,
                              secrets=self.never_stored)["path"]
        return shown if self.store is None else self.store.shown_text(shown)

    def reset_refused(self, timeout: float = 5.0) -> None:
        """Count ``refused`` (``/_hooklab/health``) from zero again, from now on; cleared on the
        server's loop, which counts them, so a refusal counted meanwhile is not half lost
        (the pytest plugin's reset, through ``lab.reset()``, calls it between tests)."""
        def clear() -> None:
            self.refused.clear()
            self.not_stored = 0
            self.not_stored_in.clear()
            self.refused_since = datetime.now(timezone.utc)

        loop, thread = self.loop, self._thread
        if loop is None or thread is None or not thread.is_alive() or \
                threading.current_thread() is thread:
            clear()
            return
        done = threading.Event()

        def on_loop() -> None:
            clear()
            done.set()

        try:
            loop.call_soon_threadsafe(on_loop)
        except RuntimeError:  # (the loop closed meanwhile: nothing counts any more)
            clear()
            return
        if not done.wait(timeout):  # (a loop stuck that long: cleared from here after all)
            clear()

    def refused_note(self) -> str | None:
        """What a failed ``wait`` / ``assert_received`` says of the requests this server
        refused (counts and what each status means, nothing a sender sent), or ``None``.

        >>> srv = CaptureServer(None, port=0)
        >>> srv.refused_note() is None
        True
        >>> srv.refused.update({413: 2, 400: 1}); print(srv.refused_note())
        3 requests refused since ... UTC (400 malformed request: 1, 413 body over max_body: 2)
        """
        counts = dict(self.refused)  # (a copy: the server's loop adds to it)
        total = sum(counts.values())
        if not total:
            return None
        parts = ", ".join(f"{status} {_REFUSED_WHY.get(status, 'refused')}: {n}"
                          for status, n in sorted(counts.items()))
        since = self.refused_since.strftime("%Y-%m-%d %H:%M:%S")
        return f"{total} request{'s' if total != 1 else ''} refused since {since} UTC ({parts})"

    def url_for(self, bin: str, path: str = "") -> str:
        """``url_for("github", "events")`` -> ``http://127.0.0.1:8765/github/events``;
        ``url_for("github", "?a=1")`` -> ``http://127.0.0.1:8765/github?a=1``."""
        b = _no_dot_segment(quote(bin_name(bin), safe=""))  # (as the bin filter reads it:
        p = path.lstrip("/")  # bin="/x" is "x")
        if p[:1] != "?":
            where, mark, query = p.partition("?")
            p = "/".join(_no_dot_segment(s) for s in where.split("/")) + mark + query
        return f"{self.url}/{b}" + (p if p[:1] == "?" else f"/{p}" if p else "")

    def __enter__(self) -> CaptureServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.is_running else "stopped"
        return f"<CaptureServer {self.url} {state}>"
