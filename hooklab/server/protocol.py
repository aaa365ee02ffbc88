"""The capture server's HTTP/1.1 protocol: one asyncio protocol on llhttp (``httptools``).

Every connection to the capture port is a :class:`CaptureProtocol`. It reads requests in
order, stores each capture and answers it only once the store committed it ("acknowledged
means durable"), in request order even when a later answer is ready first (pipelining).

Who parses what:

- the request line is split here (``METHOD SP target SP HTTP/1.x``): any token is a method
  (webhook testers send ``PROPFIND`` and made-up verbs; llhttp knows a fixed list) and the
  target is kept byte for byte (raw UTF-8 in a path is captured, as latin-1 code points, a
  character a byte; its bin is read as UTF-8: :func:`hooklab.capture.bin_of`);
- everything after it -- header syntax, ``Content-Length`` / ``Transfer-Encoding`` rules,
  chunked framing -- is llhttp's, fed a request line it knows. Chunk extensions are accepted
  (not kept: httptools does not report them); trailer fields are appended to the capture's
  headers, after the header section (kept, shown; detection and the signature checks read the
  header section only: the record's ``trailers_at``), and change nothing of the connection (a
  trailer ``Connection: close`` keeps it open as the header section said, RFC 9110 §6.5.1). Bare LF line ends are accepted (RFC 9112 §2.2); obs-fold,
  NUL/CR in values, duplicate or bad lengths, ``Content-Length`` with ``Transfer-Encoding``
  are 400; an HTTP/1.0 request with ``Transfer-Encoding`` is answered, then the connection
  closed (RFC 9112 §6.1). Each feed ends where a request may end, so the next request line is
  always seen here (a chunked body is fed up to its next empty line).

Limits: a head over ``MAX_HEAD`` gets 414 (request line) or 431, as do more than ``MAX_FIELDS``
header fields, and trailer fields past the same two limits (bytes as sent: ``name: value`` and
a line end each); a body over ``max_body`` 413
as soon as that is known (by ``Content-Length`` before any body byte is read, and without a
``100 Continue``); malformed input 400. Every close after an answer is graceful: the answer,
FIN, then what the client still sends is read and dropped (at most ``LINGER_SECONDS`` /
``LINGER_BYTES``), so clients see the status, not a reset. Request bodies being received and
heads (unfinished, or parsed: what their fields take), on all connections together, may hold at
most ``max_in_flight`` bytes (the server's; at least ``max_body`` and a head), counted as they
arrive: a request that would go over it gets 503 with ``Retry-After`` (many connections each sending most of a big body and never the end
held a gigabyte per 60). Idle and header time
(``idle_timeout``), the time to a new connection's first byte (``first_byte_timeout``), body
time (``body_timeout``) and stuck readers are checked by one sweep per listener, not one timer
per request. A request begun and not whole in time (a head part-way, a body short of its
length, a chunked body or its trailers not ended, a ``100 Continue`` unanswered) is answered
408 with ``Connection: close`` (RFC 9110 15.5.9), one whose sender closed its side part-way
400; both are counted in ``refused``. A connection with no request begun (idle between
requests, or silent from the start) is closed without a word (RFC 9112 9.3).

Connections: at most ``max_connections`` are open at once (WebSocket streams included; by
default half the process's soft limit of file descriptors, at most :data:`MAX_CONNECTIONS`):
each holds one of the kernel's descriptors, and idle ones hold nothing the in-flight budget
sees (1,100 connections that sent nothing left a kernel at the usual 1,024 unable to open a
file, and real webhooks reset). A connection past the limit closes another to make room: the
one idle longest (no request being read or answered: a keep-alive connection between requests,
one that has sent nothing or only part of a head), else the one lingering longest after its
last answer once the client has that answer (the kernel's queue is empty: closing with it
queued lets the client's next bytes reset it away), else the upload stalled longest, with no
byte of its body for :data:`STALL_SECONDS` (answered 408: ``limit`` connections each sending a
head and one byte held every place for the 60 s body timeout), else the one whose client has
left its answers untaken longest: answers have waited in the transport's buffer or the
kernel's queue for :data:`STALL_SECONDS`, and since then the client has taken less than 64 KiB
of them (:data:`_TAKE_BYTES`), or less than all if fewer were waiting (reset, counted as a 408:
one address pipelining body-less requests on connections with a one-byte receive window and
reading none of the answers held every place until the 120 s idle timeout, which a byte read
now and then put off; a one-byte window, or a byte read now and then, cannot take that much,
while a client downloading a big answer, even at 32 KB/s, does). A request being answered, an
upload whose body moves, a client taking its answers, and a stream, are never closed for it.
When none can go, the new one is answered 503 with ``Retry-After`` at once (a few at a time;
more are closed unanswered), rather than left unaccepted: a sender waiting in the listen queue
gets nothing until its own timeout, one told 503 retries later, and neither takes a descriptor.
One peer address other than this host's own (an IPv6 /64 counts as one) may be sending at most
:func:`peer_limit` request bodies at once (a sixteenth of the limit): one more request is
answered 503 when its head is read, so bodies sent a byte now and then from one address cannot
take every place either.

``/_hooklab/`` (JSON API, page, WebSocket stream) is a Tornado application, served through
Tornado's public delegate interfaces: :meth:`tornado.web.Application.start_request` gets each
request (head, body, finish) with a :class:`tornado.httputil.HTTPConnection` written here
(:class:`_TornadoConnection`) that puts the answer in the request's place in line. A WebSocket
upgrade ends with Tornado's ``connection.detach()``: it gets an ``IOStream`` on a duplicate of
the socket, and this protocol lets go of its own descriptor. Why this route rather than handing
the socket to a Tornado ``HTTPServer``: bytes already read cannot be given back to an
``IOStream`` (so the old fast path spliced each hand-over through a socket pair, and Tornado
then saw a Unix socket, not the client's address); here one parser, one set of limits and
timeouts and one answer order cover every request, the API sees the real client address, and
nothing in Tornado is patched or read privately. What this relies on beyond the documented
``HTTPConnection`` methods -- ``RequestHandler`` calling ``set_close_callback`` and ``detach``
on its connection, ``HTTPServerRequest`` reading ``connection.context.remote_ip`` -- is why
``tornado`` is pinned below the next minor version.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import struct
import sys
from collections import OrderedDict, deque
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httptools
from tornado import httputil
from tornado.iostream import IOStream

# MAX_HEAD (request line + headers; bigger heads get 414 / 431) and MAX_FIELDS (header fields
# one request may have: more get 431; its trailer fields have the same two limits of their
# own) are defined beside the request rules they go with, as imports of captures apply them too
from ..capture import AUTHORITY_FORM, MAX_FIELDS, MAX_HEAD, Capture, target_path
from .ingest import (
    NO_CONTENT,
    RESERVED_PREFIX,
    answer_headers,
    capture_record,
    date_field,
    deliver,
    reason,
)

if TYPE_CHECKING:
    from .lifecycle import CaptureServer

__all__ = [
    "DEFAULT_MAX_IN_FLIGHT", "FIRST_BYTE_TIMEOUT", "LINGER_BYTES", "LINGER_SECONDS",
    "MAX_CONNECTIONS", "MAX_FIELDS", "MAX_HEAD", "STALL_SECONDS", "CaptureProtocol",
    "Connections", "connection_ceiling", "default_max_connections", "lowered_connections",
    "peer_key",
]

LINGER_SECONDS = 5.0
LINGER_BYTES = 256 * 1024 * 1024
#: stop reading from a client with this many answers outstanding (pipelining flood)
MAX_PENDING = 64
#: bytes of request bodies (and unfinished heads) all connections may hold at once
DEFAULT_MAX_IN_FLIGHT = 256 * 1024 * 1024
#: open connections at most by default, however high the descriptor limit. What one costs,
#: measured with 4,000 at once (uvloop, Linux 6): about 5-6 KB of the process's memory (the
#: protocol, transport and socket objects) and as much again in the kernel, silent, between
#: requests or part-way through a body alike: 8,192 take ~50 MB of each, less than half of
#: what ``max_in_flight`` lets request bodies hold. (It was 1,024: where the soft limit is
#: high, e.g. 20,000, that many busy connections took every place while the descriptors
#: would have allowed ten times as many.)
MAX_CONNECTIONS = 8192
#: seconds without a byte of a body being received after which, when every connection is
#: busy, that upload is closed (answered 408) to let a new connection in. A sender writes its
#: body right behind its head: a lost segment is sent again after the retransmission timeout
#: (at least 1 s by RFC 6298, 200 ms on Linux), so 2 s without a byte is more than one loss
#: (two on Linux) and is a body that stopped. Holding every connection with stalled uploads
#: then takes a new connection per place every 2 s (256 a second at the usual limit of 512),
#: where, before there was a limit, uploads held for the 60 s body timeout took all of 1,024
#: descriptors with 17 a second. The same time is given to a client to take answers written to
#: it (a webhook sender reads its answer as soon as it comes): past it, when every connection
#: is busy, its connection is closed (reset) for a new one.
STALL_SECONDS = 2.0
#: what a client must take of its waiting answers (or all of them, if less was waiting) within
#: :data:`STALL_SECONDS` to count as taking them. Judged by progress, not by whether every byte
#: written by then has left: a 15 MiB answer is written at once, and a client reading it at a
#: steady 3 MB/s was reset as "not reading" halfway through. Reading a byte now and then, or
#: through a one-byte receive window (the kernel's smallest buffer holds about 2 KiB), takes
#: far less; 64 KiB is the largest window TCP has without scaling, and 32 KB/s is slow even on
#: a poor link.
_TAKE_BYTES = 64 * 1024
#: seconds a connection whose client closed its side is held open, once a delayed answer is
#: written, for the client's TCP to acknowledge it or reset it (see
#: CaptureProtocol._close_answered): looked at after 10 ms, then at doubling intervals
CONFIRM_SECONDS = 2.0
_CONFIRM_FIRST = 0.01
#: where the kernel does not say what it still has to send (not Linux), a connection
#: lingering after its last answer is taken to have delivered it after this many seconds
LINGER_OUT_SECONDS = 2.0
#: how many connections of a queue (idle, lingering, uploads) are looked at for one to close
#: (the first ones are the likeliest; the rest wait for the next turn or the sweep)
_SCAN = 32
#: seconds a new connection may take to send its first byte (a sender writes its request as
#: soon as it is connected; a silent connection only holds a descriptor)
FIRST_BYTE_TIMEOUT = 10.0
#: what one parsed header or trailer field costs in memory besides its bytes (a tuple and two
#: strings): held with them, so a head of many tiny fields counts as what it takes
_FIELD_COST = 160
#: body pieces kept as they came before they are joined into one growing buffer (a body sent
#: two bytes a chunk held a bytes object, ~35 bytes of memory, per two bytes counted)
_MAX_PARTS = 16

_log = logging.getLogger("hooklab")

_REQUEST_LINE = re.compile(
    rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+) ([^\x00-\x20\x7f]+) HTTP/1\.([0-9])\r?"
)
# the start of a request line: a method (so far), or a method and a space
_METHOD_SO_FAR = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]*(?: |\Z)")
# what llhttp is fed instead of the request line: a method and target it knows
_LLHTTP_LINE = {b"0": b"PUT / HTTP/1.0\r\n"}
_LLHTTP_LINE_11 = b"PUT / HTTP/1.1\r\n"
_OTHER_TARGET = re.compile(r"\*|[Hh][Tt][Tt][Pp][Ss]?://[^/?#]+([/?#].*)?")


def _absolute_or_star(target: str) -> bool:
    """Whether a target that is not a path is ``*`` or an http(s) URL that parses."""
    if not _OTHER_TARGET.fullmatch(target):
        return False
    try:
        urlsplit(target)  # (e.g. "http://[x/y": not a URL)
    except ValueError:
        return False
    return True


_BARE_CR = re.compile(rb"\r[^\n]")  # (RFC 9112 2.2: a CR not followed by LF is invalid)
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_DEFAULT_HEAD = (
    b"%sContent-Type: application/json\r\nX-Hooklab-Capture-Id: %d\r\n"
    b"Content-Length: %d\r\nServer: hooklab\r\n%s%s\r\n"
)
_STATUS_LINES: dict[int, bytes] = {}


def _status_line(status: int) -> bytes:
    line = _STATUS_LINES.get(status)
    if line is None:
        line = _STATUS_LINES[status] = b"HTTP/1.1 %d %s\r\n" % (status, reason(status).encode())
    return line


_CLOSE = b"Connection: close\r\n"
_KEEP_ALIVE_10 = b"Connection: keep-alive\r\n"


def _says_close(headers: Any) -> bool:
    """Whether an answer's headers (``(name, value)`` pairs: a response rule's) say
    ``Connection: close``: the token in any case, alone or in a list (``keep-alive, Close``)."""
    return any(
        k.lower() == "connection" and any(t.strip().lower() == "close" for t in v.split(","))
        for k, v in headers
    )


def _refusal(status: int, message: str, extra: str = "") -> bytes:
    body = f'{{"ok": false, "error": "{message}"{extra}}}'.encode()
    retry = "Retry-After: 5\r\n" if status == 503 else ""
    return (
        f"HTTP/1.1 {status} {reason(status)}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n{retry}Server: hooklab\r\n"
    ).encode() + date_field()[1] + b"\r\n" + body


_BUSY = "busy: too many request bodies in flight, retry later"
_TOO_MANY = "busy: too many connections, retry later"
_PEER_BUSY = "busy: too many request bodies from one address at once, retry later"
_STALLED = "request body stalled: closed to make room for a new connection"
_UNREAD = "answers not read: closed to make room for a new connection"
#: struct linger {l_onoff=1, l_linger=0}: closing sends a reset and drops what is queued
_RESET = struct.pack("ii", 1, 0)


def _open_files_limit() -> int | None:
    """The process's soft limit of open files (``ulimit -n``), or None where there is none
    to share (Windows, ``unlimited``)."""
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (ImportError, OSError, ValueError):  # (Windows: no such limit to share)
        return None
    if soft == resource.RLIM_INFINITY or soft <= 0:
        return None
    return soft


def default_max_connections() -> int:
    """The capture server's connection limit when none is set: half the process's soft limit
    of open files, at most :data:`MAX_CONNECTIONS` (and at least 8).

    The other half is the kernel's own: its SQLite files (the database, WAL and shared
    memory, per connection), Jupyter's ZeroMQ sockets, the notebook's own files.

    >>> 8 <= default_max_connections() <= MAX_CONNECTIONS
    True
    """
    soft = _open_files_limit()
    return MAX_CONNECTIONS if soft is None else max(8, min(MAX_CONNECTIONS, soft // 2))


def connection_ceiling() -> int | None:
    """The most connections a capture server keeps open whatever ``max_connections`` asks:
    half the process's soft limit of open files (at least 8), the share the default leaves
    to connections; None where there is no such limit.

    Why a ceiling and not only a default: a limit the descriptors cannot reach is never
    reached. With ``ulimit -n 128`` and ``max_connections=1000``, 300 idle connections took
    every descriptor first: the listener could accept nothing more, so no idle connection
    was closed to make room and a real webhook was reset (the default answered it 200).

    >>> ceiling = connection_ceiling()
    >>> ceiling is None or ceiling >= 8
    True
    """
    soft = _open_files_limit()
    return None if soft is None else max(8, soft // 2)


def lowered_connections(asked: int | None, ceiling: int | None) -> str | None:
    """The warning for a ``max_connections`` above ``ceiling`` (see :func:`connection_ceiling`),
    or None when it is kept as asked.

    >>> lowered_connections(1000, 64)[:61]
    'hooklab: max_connections 1000 is more than the open-files lim'
    >>> lowered_connections(64, 64) is None, lowered_connections(None, 64) is None
    (True, True)
    """
    if asked is None or ceiling is None or int(asked) <= ceiling:
        return None
    soft = _open_files_limit()
    limit = f" (ulimit -n {soft})" if soft is not None else ""
    return (f"hooklab: max_connections {int(asked)} is more than the open-files limit{limit} "
            f"allows: at most {ceiling} connections are kept open, half the limit (the other "
            "half is for the database, its journal and the process's own sockets; past it a "
            "new connection is reset, not answered). Raise 'ulimit -n' to allow more")


def peer_limit(limit: int) -> int:
    """Request bodies one peer (see :func:`peer_key`) may be sending at once, for a server
    whose connection limit is ``limit``: a sixteenth of it, at least 8.

    A webhook's body arrives within milliseconds of its head, so even a busy sender has few
    in progress at any moment; one address sending bodies a byte now and then (never stalled
    long enough to be closed for a new connection) can take no more than this many places.

    >>> peer_limit(512), peer_limit(8192), peer_limit(16)
    (32, 512, 8)
    """
    return max(8, limit // 16)


#: this host's own addresses as a local client's connection shows them: the Jupyter relay,
#: tunnel agents and local tools all connect from here, and may have any number of bodies in
#: progress (the relay sends a body only once it has all of it)
_LOCAL_PEERS = frozenset({"127.0.0.1", "::1", "::ffff:127.0.0.1"})


def peer_key(address: str) -> str | None:
    """Who a connection's peer address counts as, for :func:`peer_limit`: the IPv4 address,
    an IPv6 address's /64 (a host given a /64 may use any of its 2**64 addresses), or None
    for this host's own ``127.0.0.1`` / ``::1``, which is not limited.

    >>> peer_key("203.0.113.7"), peer_key("::ffff:203.0.113.7"), peer_key("127.0.0.1")
    ('203.0.113.7', '203.0.113.7', None)
    >>> peer_key("2001:db8:1:2::5") == peer_key("2001:db8:1:2:ffff::1") == "2001:db8:1:2::/64"
    True
    """
    if address in _LOCAL_PEERS or not address:
        return None
    import ipaddress

    try:
        ip = ipaddress.ip_address(address.partition("%")[0])  # (a scope: fe80::1%eth0)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return peer_key(str(ip.ipv4_mapped))
        if ip == ipaddress.IPv6Address("::1"):
            return None
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return None if str(ip) in _LOCAL_PEERS else str(ip)


def _blank_line_end(buf: bytes | bytearray, start: int) -> int:
    """Index just past the first empty line (CRLF or bare LF) at or after ``start``; -1 if none."""
    i = buf.find(b"\n\r\n", start)
    j = buf.find(b"\n\n", start, i + 2 if i >= 0 else len(buf))
    if j >= 0:
        return j + 2
    return i + 3 if i >= 0 else -1


class _Refuse(Exception):
    """Raised in a parser callback to stop parsing: the request is refused."""

    def __init__(self, status: int, message: str, extra: str = "") -> None:
        super().__init__(message)
        self.status, self.message = status, message
        self.answer = _refusal(status, message, extra)


class _Request:
    __slots__ = (
        "method", "target", "version", "headers", "nheaders", "received_at", "parts",
        "host", "proto", "keep_alive", "api", "chunked", "length", "upgrade", "acc",
        "head_bytes", "trailers", "chunk_head",
    )

    def __init__(self, method: str, target: str, version: str, received_at: datetime) -> None:
        self.method = method
        self.target = target
        self.version = version  # "HTTP/1.1" or "HTTP/1.0"
        self.headers: list[tuple[str, str]] = []
        self.nheaders = 0  # fields in the header section (trailers follow)
        self.received_at = received_at
        self.parts: list[bytes] = []
        self.acc: bytearray | None = None  # the body from many small pieces (see on_body)
        self.head_bytes = 0  # the request head's size (held while the request is read)
        self.trailers = 0  # bytes of trailer fields so far, as sent (at most MAX_HEAD)
        self.host: str | None = None
        self.proto: str | None = None
        self.keep_alive = True
        self.api = False
        self.chunked = False
        #: a chunk's size line came and nothing of its data since (see ``last_chunk_came``):
        #: ``None``, or the feed's last bytes when the size line came in it (``b""`` once
        #: more bytes were fed without data: trailer fields, after the last chunk)
        self.chunk_head: bytes | None = None
        self.length = 0
        self.upgrade = False


class _Slot:
    """One request's place in its connection's answer order.

    ``parts`` are bytes ready to send; ``done`` once the whole answer is in ``parts``. A capture's
    slot is filled on the server loop once the store made it durable (the store's writer or WAL
    syncer thread calls it).
    """

    __slots__ = ("conn", "parts", "done", "close", "hold", "start", "exclusive", "head_only",
                 "keep_alive_10", "response", "capture_id", "stored", "status", "settled",
                 "lost", "watch", "storing", "ticket", "withdrawn")

    def __init__(self, conn: CaptureProtocol) -> None:
        self.conn = conn
        self.parts: list[bytes] = []
        self.done = False
        self.close = False  # close the connection once this answer is sent
        self.hold = False  # do not send parts (a 101 waits for the WebSocket hand-over)
        self.start: Callable[[], None] | None = None  # run when this slot is first in line
        self.exclusive = False  # ... and every earlier byte has left the transport (upgrades)
        self.head_only = False
        self.keep_alive_10 = False
        self.response: Any = None
        # a capture's answer, and what its row says of it (see _settle)
        self.capture_id: int | None = None  # once stored
        self.stored = 0  # the status its record was stored with
        self.status = 0  # the status of the answer made (in ``parts``)
        self.settled = False  # told the store what became of the answer
        self.lost = False  # the connection went before the capture was stored
        #: what became of the answer is followed (see _settle): a delayed answer, or one
        #: queued behind a delayed one on its connection; any other's row says its status
        self.watch = False
        #: a capture handed to the store, its answer not come yet (see Connections.withdraw)
        self.storing = False
        self.ticket: Any = None  # the store's Submitted: takes it back while not yet written
        self.withdrawn = False  # taken back as the server stopped: never stored nor answered

    # -- captures: filled after commit ------------------------------------------------------
    def __call__(self, result: Any) -> None:  # the store's thread: the capture is durable
        self.conn.server._completed(self, result, self.response)

    def _answer(self, result: Any, response: Any) -> None:  # server loop
        self.storing = False
        if isinstance(result, Capture):
            self.capture_id = result.id
            if self.lost:  # (its connection closed while the store committed it)
                self._settle(False)
                return
        status = self.status = response.status
        if (
            isinstance(result, Capture)
            and response.body is None
            and not response.headers
            and not response.delay
            and status >= 200
            and status not in NO_CONTENT
        ):  # the default JSON answer, without the general rendering's work
            body = b'{"ok": true, "id": %d}' % result.id
            conn = _CLOSE if self.close else (_KEEP_ALIVE_10 if self.keep_alive_10 else b"")
            head = _DEFAULT_HEAD % (_status_line(status), result.id, len(body),
                                    date_field()[1], conn)
            self.parts.append(head if self.head_only else head + body)
            self.done = True
            self.conn._flush()
            return
        deliver(result, response, self._fill)

    def _abandon(self) -> None:
        self.conn._fail()

    def _take_back(self) -> bool:
        """Server loop: a capture handed to the store (``storing``) whose answer will never be
        sent (its connection went, or the server stops): taken back from the store while the
        writer has not taken it (``True``: never stored, never answered, so its sender's retry
        is no duplicate); else it is being committed (``False``) and is followed from now on
        (``watch``): once stored, its row says status ``0`` unless its answer was sent."""
        if self.withdrawn:
            return True
        if self.ticket is None or self.ticket.withdraw():  # (None: not handed to it yet)
            self.withdrawn = True
            return True
        self.watch = True
        return False

    def _settle(self, sent: bool) -> None:
        """What became of a capture's answer is known: ``sent`` (written to the sender, see
        :meth:`CaptureProtocol._flush`) or never sent. The stored row is corrected when it
        says otherwise: the answer's status, or 0 (no answer) -- see :func:`.ingest.capture_record`
        for the status a row is stored with. A capture not stored yet is corrected once it is
        (:meth:`_answer`). Only answers a delay held (``watch``) are followed: any other is
        answered at once after commit, its row says its status, and however its sender's
        connection ends afterwards (a FIN, a reset) never changes that row."""
        if self.settled or not self.watch:
            return
        cid = self.capture_id
        if cid is None:
            if not sent:
                self.lost = True
            return
        self.settled = True
        status = self.status if sent else 0
        if status != self.stored:
            self.conn.server.answered(cid, status)

    def _fill(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status = status
        h, payload = answer_headers(status, headers, body, head_only=self.head_only)
        if self.close:
            h["Connection"] = "close"
        elif self.keep_alive_10:
            h["Connection"] = "keep-alive"
        lines = [f"HTTP/1.1 {status} {reason(status)}"]
        lines += [f"{k}: {v}" for k, v in h.get_all()]
        self.parts.append(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload)
        if self.watch and self.capture_id is not None and not self.settled \
                and status != self.stored:
            # a delayed answer (its row says 0 until now): the row says its status before a
            # byte of it goes out, so that a capture read once the sender has its answer says
            # it (a retry test reading [500, 200] read [500, 0]); written once that is stored
            # (_release), and the row set back to 0 if the write fails (see _settle)
            self.stored = status
            self.hold = True
            self.conn.server.answered(self.capture_id, status, then=self._release)
            return
        self.done = True
        self.conn._flush()

    def _release(self) -> None:
        """Server loop: the row says this answer's status (see :meth:`_fill`): send it."""
        self.hold = False
        self.done = True
        self.conn._flush()


class _Context:
    """What Tornado's ``HTTPServerRequest`` reads from ``connection.context``."""

    __slots__ = ("remote_ip", "protocol", "address")

    def __init__(self, remote_ip: str, address: Any) -> None:
        self.remote_ip = remote_ip
        self.protocol = "http"
        self.address = address

    def __str__(self) -> str:
        return self.remote_ip


class _TornadoConnection(httputil.HTTPConnection):
    """Tornado's side of one ``/_hooklab/`` request: its answer goes into the request's slot.

    Implements :class:`tornado.httputil.HTTPConnection` (``write_headers``, ``write``,
    ``finish``) plus the two methods Tornado's ``RequestHandler`` calls beyond that interface:
    ``set_close_callback`` and, for WebSocket upgrades, ``detach``.
    """

    def __init__(self, proto: CaptureProtocol, slot: _Slot, req: _Request) -> None:
        self.proto = proto
        self.slot = slot
        self.req = req
        self.context = _Context(proto.remote, proto.peer)
        self._close_callback: Callable[[], None] | None = None
        self._chunking = False
        self._finished = False

    def _done_future(self) -> asyncio.Future[None]:
        fut = asyncio.get_running_loop().create_future()
        fut.set_result(None)
        return fut

    def set_close_callback(self, callback: Callable[[], None] | None) -> None:
        self._close_callback = callback

    def connection_lost(self) -> None:
        cb, self._close_callback = self._close_callback, None
        if cb is not None and not self._finished:
            cb()

    def write_headers(
        self,
        start_line: httputil.RequestStartLine | httputil.ResponseStartLine,
        headers: httputil.HTTPHeaders,
        chunk: bytes | None = None,
    ) -> asyncio.Future[None]:
        assert isinstance(start_line, httputil.ResponseStartLine)
        status = start_line.code
        req, slot = self.req, self.slot
        if status == 101:
            slot.hold = True  # sent by detach(), on the stream Tornado takes over
        else:
            bodiless = req.method == "HEAD" or status in (204, 304) or 100 <= status < 200
            framed = "Content-Length" in headers or "Transfer-Encoding" in headers
            self._chunking = req.version == "HTTP/1.1" and not bodiless and not framed
            if self._chunking:
                headers["Transfer-Encoding"] = "chunked"
            if not req.keep_alive or req.upgrade or (not bodiless and not framed and
                                                     not self._chunking):
                headers["Connection"] = "close"
                slot.close = True
            elif req.version == "HTTP/1.0":
                headers["Connection"] = "keep-alive"
        lines = [f"HTTP/1.1 {status} {start_line.reason or reason(status)}"]
        lines += [f"{k}: {v}" for k, v in headers.get_all()]
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if chunk:
            data += self._frame(chunk)
        slot.parts.append(data)
        self.proto._flush()
        return self._done_future()

    def _frame(self, chunk: bytes) -> bytes:
        if self._chunking:
            return b"%x\r\n%s\r\n" % (len(chunk), chunk)
        return chunk

    def write(self, chunk: bytes) -> asyncio.Future[None]:
        if chunk:
            self.slot.parts.append(self._frame(chunk))
            self.proto._flush()
        return self._done_future()

    def finish(self) -> None:
        self._finished = True
        self._close_callback = None
        if self._chunking:
            self.slot.parts.append(b"0\r\n\r\n")
        if not self.slot.hold:
            self.slot.done = True
            self.proto._flush()

    def detach(self) -> IOStream:
        """Hand the connection to Tornado (a WebSocket): an ``IOStream`` on a duplicate of its
        socket, with the 101 answer written first; this protocol lets go of the socket."""
        self._finished = True
        self._close_callback = None
        return self.proto._detach(self.slot)


class CaptureProtocol(asyncio.Protocol):
    """One client connection to the capture port."""

    def __init__(self, server: CaptureServer, conns: Connections) -> None:
        self.server = server
        self.conns = conns
        self.transport: asyncio.Transport | None = None
        self.peer: Any = None
        self.remote = ""
        self.parser = self._new_parser()
        self.buf: bytes | bytearray = b""
        self.scan = 0  # where to resume looking for the end of a head in buf
        self.req: _Request | None = None  # the request being read
        self.in_body = False
        self.need = 0  # Content-Length bytes still to come
        self.tail = b""  # the last bytes of a chunked body fed to llhttp
        self.complete = False  # set by on_message_complete during a feed
        self.slots: deque[_Slot] = deque()
        self.tornado: list[_TornadoConnection] = []  # /_hooklab/ requests not finished
        self.closing = False  # read no more requests (close after the answers)
        self.eof = False  # the client closed its sending side
        self.lingering = False
        self.lingered = 0
        self.paused = False
        self.write_paused = False
        self.detached = False
        self.idle_since = 0.0
        self.body_since = 0.0
        self.linger_since = 0.0
        self.unsent_at_sweep = 0  # answer bytes not yet taken by the client, at the last sweep
        self.taking_since = 0.0  # when that number last changed
        self.held = 0  # bytes of the in-flight budget this connection holds (see _hold)
        self.heard = False  # the client has sent a byte (else first_byte_timeout applies)
        self.over_cap = False  # refused at connect: one connection too many (see Connections)
        self.uploading = False  # a request body is being received (in Connections.uploads)
        self.upload_peer: str | None = None  # the peer_key its upload is counted under
        self.last_byte = 0.0  # when the body being received last had a byte
        self.sent = 0  # bytes of answers written to the transport, in all
        #: captures' answers written after the client closed its side, not yet known to have
        #: reached it (see _flush)
        self.unconfirmed: list[_Slot] = []
        self.confirming: asyncio.TimerHandle | None = None  # the next look at them
        #: while in ``Connections.unread``: at ``unread_since`` the client had taken
        #: ``unread_from`` bytes of ``sent`` and answers were waiting; it has not taken
        #: ``unread_need`` more since (see _note_unread)
        self.unread_from: int | None = None
        self.unread_need = 0
        self.unread_since = 0.0

    def _new_parser(self) -> httptools.HttpRequestParser:
        p = httptools.HttpRequestParser(self)
        # bare LF line ends, as RFC 9112 §2.2 allows (Tornado accepted them too)
        p.set_dangerous_leniencies(lenient_optional_cr_before_lf=True)
        return p

    # -- connection ------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.peer = transport.get_extra_info("peername")
        remote = str(self.peer[0]) if isinstance(self.peer, tuple) and self.peer else ""
        if remote.startswith("::ffff:") and "." in remote:  # IPv4 through a dual-stack "::"
            remote = remote[7:]  # socket: the address the sender has (remote_addr, filters)
        self.remote = remote
        self.idle_since = self.conns.now()
        self.conns.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.conns.discard(self)
        if self.over_cap:
            self.conns.refusing -= 1
        self._upload_end()
        self._hold(0)
        if self.confirming is not None:
            self.confirming.cancel()
            self.confirming = None
        if self.unconfirmed:  # (the socket is still open here: asyncio closes it after)
            taken = _answer_taken(self.transport) if self.transport is not None else None
            self._confirmed(taken is True or (taken is None and exc is None))
        self._drop_answers()
        self.req = None
        self.buf = b""
        if not self.detached:
            for t in self.tornado:
                t.connection_lost()
        self.tornado.clear()

    def eof_received(self) -> bool | None:
        self.eof = True
        if self.lingering:
            return False
        if not self.closing and not self.paused and (self.req is not None or self.buf):
            # the sender closed its side part-way through a request (a head, or a body
            # short of its length): it can never be whole. Answered 400 (after the earlier
            # answers: a half-closed sender may still read) and counted, as a request that
            # stalls is (408): a sender that gives up on its own timeout closes so
            self._refuse(400, f"{self._unfinished()}: the sender closed its side")
        self.closing = True
        if self.slots:  # a half-closed client may still wait for its answers
            return True
        return False

    def pause_writing(self) -> None:
        self.write_paused = True
        self._pause()

    def resume_writing(self) -> None:
        self.write_paused = False
        self._maybe_resume()

    def _pause(self) -> None:
        if not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()

    def _maybe_resume(self) -> None:
        if (
            self.paused
            and not self.write_paused
            and not self.detached
            and not self.closing
            and len(self.slots) < MAX_PENDING
            and self.transport is not None
            and not self.transport.is_closing()
        ):
            self.paused = False
            self.transport.resume_reading()
            if self.buf and not self.closing:
                self._process()

    def _fail(self, doing: str = "") -> None:
        """Something unexpected broke this connection: log it and drop only this connection."""
        if doing:
            _log.exception("hooklab: dropped a connection after an error %s", doing)
        self._hold(0)
        self._drop_answers()
        self.req = None
        self.buf = b""
        if self.transport is not None:
            self.transport.abort()

    def _wind_down(self) -> None:
        """The server stops: read no more requests; answer those read (see
        :meth:`Connections.wind_down`)."""
        transport = self.transport
        if transport is None or transport.is_closing() or self.detached or self.lingering:
            return
        self.closing = True
        if self.req is not None:  # a request still arriving: dropped (nothing of it stored)
            self.req = None
            self.in_body = False
            self._hold(0)
        self.buf = b""
        if not self.slots:
            transport.close()
            return
        last = self.slots[-1]
        if last.response is not None and not last.done:  # (a capture's, not yet answered:
            last.close = True  # it says Connection: close, and the sender opens a new one)

    # -- reading ---------------------------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        self.heard = True
        if self.uploading:  # the body moves: it goes to the end of the line of uploads
            conns = self.conns
            self.last_byte = conns.now()
            conns.uploads.move_to_end(self)
        if self.lingering or self.closing:
            self.lingered += len(data)
            if self.lingered > LINGER_BYTES and self.transport is not None:
                self.transport.close()
            return
        if self.buf:
            buf = self.buf
            if not isinstance(buf, bytearray):
                buf = self.buf = bytearray(buf)
            buf += data
        else:
            self.buf = data
        self._process()

    def _process(self) -> None:
        try:
            self._take()
        except Exception:  # noqa: BLE001 - never into the event loop
            self._fail("reading requests")

    def _take(self) -> None:
        """Read every complete request (and what has come of the next one) from ``buf``."""
        buf = self.buf
        pos = 0
        n = len(buf)
        while pos < n and not self.closing and not self.paused:
            if self.req is None:
                pos = self._head(buf, pos, n)
            elif self.req.chunked:
                pos = self._chunked(buf, pos, n)
            else:
                take = min(self.need, n - pos)
                self.need -= take
                self._feed(memoryview(buf)[pos : pos + take])
                pos += take
            if pos < 0:  # refused, or waiting for more of a head
                break
        if pos < 0:
            if self.closing:
                self.buf = b""
            return
        if pos >= n:
            self.buf = b""
            self.scan = 0
        elif self.closing:
            self.buf = b""
        else:  # paused: the rest waits for the answers to be taken
            self.scan = 0
            self.buf = buf[pos:]

    def _head(self, buf: bytes | bytearray, pos: int, n: int) -> int:
        """Parse the head starting at ``pos``; the position after it, or -1."""
        while pos < n and buf[pos] in (13, 10):  # empty lines before a request line
            pos += 1
        if pos >= n:
            return n
        end = _blank_line_end(buf, max(pos, self.scan))
        if end < 0 or end - pos > MAX_HEAD:
            if n - pos > MAX_HEAD or end >= 0:
                line_end = buf.find(b"\n", pos, pos + MAX_HEAD)
                if line_end < 0:
                    self._refuse(414, f"request line longer than {MAX_HEAD} bytes")
                else:
                    self._refuse(431, f"request head longer than {MAX_HEAD} bytes")
                return -1
            if not _METHOD_SO_FAR.match(buf, pos, min(n, pos + 64)):
                # not the start of a request line (e.g. a TLS ClientHello): no need to wait
                self._refuse(400, "malformed request line")
                return -1
            if _BARE_CR.search(buf, max(pos, self.scan - 1), n):  # lines that never end: no
                self._refuse(400, "bare CR in the request head")  # waiting for the timeout
                return -1
            self.scan = max(pos, n - 2)
            # keep only the unfinished head
            if pos:
                self.buf = buf[pos:]
                self.scan -= pos
            else:
                self.buf = buf
            if not self._hold(n - pos):
                self._refuse(503, _BUSY)
                return -1
            return -2
        self.scan = 0
        self._hold(0)
        line_end = buf.find(b"\n", pos, end)
        m = _REQUEST_LINE.fullmatch(buf, pos, line_end)
        if m is None:
            self._refuse(400, "malformed request line")
            return -1
        minor = m.group(3)
        version = "HTTP/1.0" if minor == b"0" else "HTTP/1.1"
        target = m.group(2).decode("latin-1")
        method = m.group(1).decode("ascii")
        if target[:1] != "/" and not _absolute_or_star(target) and not (
                method == "CONNECT" and AUTHORITY_FORM.fullmatch(target)):
            # RFC 9112 3.2: a path, an http(s) URL, * or CONNECT's host:port; anything else
            # ("GET foo", "GET a:1") names nothing here, and could not be re-sent or imported
            self._refuse(400, "request target is not a path, an http(s) URL, * or host:port")
            return -1
        self.req = req = _Request(method, target, version, datetime.now(timezone.utc))
        req.head_bytes = end - pos
        path = target_path(target)  # (what the capture's path would be: any target form)
        req.api = path == RESERVED_PREFIX or path.startswith("/_hooklab/")
        self.in_body = False
        self.complete = False
        self._feed(_LLHTTP_LINE.get(minor, _LLHTTP_LINE_11) + buf[line_end + 1 : end])
        return end

    def _chunked(self, buf: bytes | bytearray, pos: int, n: int) -> int:
        # A chunked message ends with an empty line. Feeding llhttp only up to the next empty
        # line means a message that ends there stops the feed exactly at its end, where the
        # next request starts (which this protocol must see: it reads request lines itself).
        end = -1
        tail = self.tail
        if tail:  # an empty line begun by the bytes fed last
            joined = tail + bytes(buf[pos : pos + 2])
            e = _blank_line_end(joined, 0)
            if e > len(tail):
                end = pos + e - len(tail)
        if end < 0:
            end = _blank_line_end(buf, pos)
            if end < 0:
                end = n
        req = self.req
        waiting = req is not None and req.chunk_head is not None and end > pos
        self._feed(memoryview(buf)[pos:end])
        self.tail = bytes(buf[max(pos, end - 2) : end])
        req = self.req
        if req is not None and req.chunk_head is _SIZE_LINE:  # (a size line in this feed)
            req.chunk_head = bytes(buf[max(pos, end - _SIZE_LINE_MAX) : end])
        elif req is not None and waiting and req.chunk_head is not None:
            req.chunk_head = b""  # bytes after a size line, none of them data: trailers
        return end

    def _feed(self, data: bytes | memoryview) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._upgraded()
        except httptools.HttpParserError as exc:
            cause = exc.__context__
            if isinstance(cause, _Refuse):
                self._refuse_with(cause.answer, cause.status, cause.message)
            elif isinstance(exc, httptools.HttpParserCallbackError) and cause is not None:
                # hooklab's own code failed on this request: say so, do not blame the client
                _log.error("hooklab: taking a request failed", exc_info=cause)
                self._refuse(500, "internal error")
            else:
                self._refuse(400, "malformed request")

    # -- parser callbacks ------------------------------------------------------------------
    def on_header(self, name: bytes, value: bytes) -> None:
        req = self.req
        assert req is not None
        if self.in_body:  # a trailer field (after a chunked body): limits of its own, as the
            # header section's: at most MAX_FIELDS fields and MAX_HEAD bytes, counted as sent
            # (`name: value` and a line end each), and held (with what a parsed field takes)
            if len(req.headers) - req.nheaders >= MAX_FIELDS:
                raise _Refuse(431, f"more than {MAX_FIELDS} trailer fields")
            req.trailers += len(name) + len(value) + 4
            if req.trailers > MAX_HEAD:
                raise _Refuse(431, f"trailer fields longer than {MAX_HEAD} bytes")
            if not self._hold(self.held + len(name) + len(value) + _FIELD_COST):
                raise _Refuse(503, _BUSY)
        elif len(req.headers) >= MAX_FIELDS:
            raise _Refuse(431, f"more than {MAX_FIELDS} header fields")
        req.headers.append((name.decode("latin-1"), value.rstrip(b" \t").decode("latin-1")))

    def on_headers_complete(self) -> None:
        req = self.req
        assert req is not None
        req.nheaders = len(req.headers)
        req.keep_alive = self.parser.should_keep_alive()
        req.upgrade = self.parser.should_upgrade()
        expect = False
        host: list[str] = []
        for k, v in req.headers:
            low = k.lower()
            if low == "host":
                host.append(v)
            elif low == "content-length":
                req.length = int(v)
            elif low == "transfer-encoding":
                req.chunked = True
            elif low == "x-forwarded-proto" and req.proto is None:
                req.proto = v
            elif low == "expect" and v.lower() == "100-continue":
                expect = True
        # more than one Host field (RFC 9112 3.2: invalid) names no host: the capture's URL is
        # then made with the lab's own address, as without one (the fields are all kept)
        req.host = host[0] if len(host) == 1 else None
        if req.chunked and req.version == "HTTP/1.0":
            # RFC 9112 6.1: Transfer-Encoding in an HTTP/1.0 message is faulty framing (an
            # HTTP/1.0 hop may not know it): answer it, then close, whatever Connection says,
            # so no bytes after it are taken for a request of their own
            req.keep_alive = False
        limit = self.server.max_body
        if req.length > limit:
            raise _Refuse(413, "payload too large", f', "max_body": {limit}')
        # the head, parsed, is held until the request is read (what its fields take)
        if not self._hold(req.head_bytes + _FIELD_COST * len(req.headers)):
            raise _Refuse(503, _BUSY)
        if req.length or req.chunked:
            self._upload_start()
        self.need = req.length
        self.tail = b""
        self.in_body = True
        self.body_since = self.conns.now()
        if expect and req.version == "HTTP/1.1" and (req.length or req.chunked):
            # "100 Continue" in answer order: after the answers to earlier requests
            slot = _Slot(self)
            slot.parts.append(_CONTINUE)
            slot.done = True
            self.slots.append(slot)
            self._flush()

    def on_chunk_header(self) -> None:
        req = self.req
        if req is not None:
            req.chunk_head = _SIZE_LINE  # (_chunked keeps the bytes that tell its size)

    def on_chunk_complete(self) -> None:
        req = self.req
        if req is not None:
            req.chunk_head = None

    def on_body(self, body: bytes) -> None:
        req = self.req
        assert req is not None
        req.chunk_head = None
        if req.acc is not None:
            req.acc += body
        else:
            req.parts.append(body)
            if len(req.parts) > _MAX_PARTS:  # many small pieces: one growing buffer from now on
                req.acc = bytearray().join(req.parts)
                req.parts.clear()
        if req.chunked:
            req.length += len(body)
            if req.length > self.server.max_body:
                req.parts.clear()
                req.acc = None
                raise _Refuse(413, "payload too large", f', "max_body": {self.server.max_body}')
        # what is held is what arrived (not what Content-Length announces: heads announcing
        # 16 MiB and sending nothing would fill the budget with 900 bytes)
        if not self._hold(self.held + len(body)):
            req.parts.clear()
            req.acc = None
            raise _Refuse(503, _BUSY)

    def on_message_complete(self) -> None:
        if self.parser.should_upgrade():
            return  # _upgraded() decides, after llhttp stopped
        self.complete = True
        req, self.req = self.req, None
        self.in_body = False
        self._upload_end()
        self._hold(0)  # (the body goes to the store's bounded queue, or to the API)
        assert req is not None
        parts = req.parts
        body = bytes(req.acc) if req.acc is not None else (
            parts[0] if len(parts) == 1 else b"".join(parts))
        if not req.keep_alive:
            self.closing = True
        elif len(req.headers) > req.nheaders:
            # trailer fields came: llhttp reads a trailer's Connection as the head's (a
            # "Connection: close" there left it refusing the next request on this connection
            # as data after close, 400, not captured). A trailer carries no connection option
            # (RFC 9110 6.5.1): the connection stays as the header section said, and the next
            # request goes to a fresh parser (this one ends its feed here: see _chunked)
            self.parser = self._new_parser()
        if req.api:
            self._dispatch(req, body)
        else:
            self._capture(req, body)

    def _upgraded(self) -> None:
        """llhttp stopped after a head asking for an upgrade (``Connection: upgrade``)."""
        req = self.req
        assert req is not None
        self.parser = self._new_parser()
        if req.api:  # e.g. the WebSocket stream: Tornado decides, then owns the connection
            self._hold(0)
            self._upload_end()
            self.req = None
            self.in_body = False
            self.complete = True
            self.closing = True
            self._dispatch(req, b"")
            return
        # a capture path: the upgrade is ignored (RFC 9110 §7.8) and the body read as usual,
        # by a parser fed only the head's framing
        framing = b""
        if req.chunked:
            te = [v for k, v in req.headers if k.lower() == "transfer-encoding"]
            framing = b"Transfer-Encoding: " + te[-1].encode("latin-1") + b"\r\n"
        elif req.length:
            framing = b"Content-Length: %d\r\n" % req.length
        self.parser = httptools.HttpRequestParser(_BodyOnly(self))
        req.upgrade = False
        self.complete = False
        self.parser.feed_data(_LLHTTP_LINE_11 + framing + b"\r\n")

    def _hold(self, nbytes: int) -> bool:
        """Hold ``nbytes`` of the server's in-flight budget for this connection's request
        (instead of what it held); False, holding what it held, if that goes over it."""
        conns = self.conns
        more = nbytes - self.held
        if more > 0 and conns.held + more > conns.budget():
            return False
        conns.held += more
        self.held = nbytes
        return True

    def _upload_start(self) -> None:
        """A request body is about to be received: counted for its peer (503 past
        :func:`peer_limit`) and put last in the line of uploads (see ``Connections.uploads``)."""
        conns = self.conns
        key = peer_key(self.remote)
        if key is not None:
            n = conns.peer_uploads.get(key, 0)
            if n >= conns.peer_limit():
                raise _Refuse(503, _PEER_BUSY)
            conns.peer_uploads[key] = n + 1
        self.upload_peer = key
        self.uploading = True
        self.last_byte = conns.now()
        conns.uploads[self] = None

    def _upload_end(self) -> None:
        if not self.uploading:
            return
        self.uploading = False
        conns = self.conns
        conns.uploads.pop(self, None)
        key, self.upload_peer = self.upload_peer, None
        if key is not None:
            n = conns.peer_uploads.get(key, 0) - 1
            if n > 0:
                conns.peer_uploads[key] = n
            else:
                conns.peer_uploads.pop(key, None)

    def _close_stalled(self) -> None:
        """Close this connection, whose body stalled, to make room: 408 (after its earlier
        answers, all written already), then close; what the client still sends is not read."""
        transport = self.transport
        assert transport is not None
        self.server.tell_refused(408, _STALLED, self.req, self.remote)
        self._upload_end()
        self._hold(0)
        self.req = None
        self.in_body = False
        self.closing = True
        answer = _refusal(408, _STALLED)
        transport.write(answer)
        self.sent += len(answer)
        transport.close()  # (what is written is sent first)

    def _unfinished(self) -> str:
        """What arrived of the request being read, as a refusal says it: ``request body
        incomplete (14 of 100 bytes)``, ``... (14 bytes of a chunked body, not its end)``,
        or ``request head incomplete`` (a head begun: a request line part-way, or fields
        without the empty line that ends them)."""
        req = self.req
        if req is None:
            return "request head incomplete"
        if req.chunked and last_chunk_came(req.chunk_head):  # (the body whole: the trailer
            # section, fields or the empty line that ends it, is what did not come)
            return (f"request trailer fields incomplete (after {req.length} bytes of a "
                    "chunked body and its last chunk)")
        if req.chunked:  # (its length counts the chunks' data that came)
            return f"request body incomplete ({req.length} bytes of a chunked body, not its end)"
        return f"request body incomplete ({req.length - self.need} of {req.length} bytes)"

    def _time_out(self, limit: str) -> None:
        """The request being read did not arrive whole in time (``limit`` says which):
        answered 408 with ``Connection: close`` (RFC 9110 15.5.9) after the answers before
        it, counted in ``refused``; nothing of it is stored. What the client still sends is
        read and dropped while the 408 goes (see :meth:`_linger`)."""
        self._refuse(408, f"{self._unfinished()} {limit}")

    def _close_unread(self) -> None:
        """Close this connection, whose client has not taken its answers for
        :data:`STALL_SECONDS`, to make room: counted as a 408 (as a stalled upload), then
        reset. Nothing is written: the client reads nothing, and a graceful close would wait,
        holding the place, for it to take what is queued. A reset (``SO_LINGER`` 0) rather
        than a plain close: closed, the socket's descriptor is free, but the kernel would
        still hold its queued answers for minutes, sending them to a window that never opens."""
        transport = self.transport
        assert transport is not None
        self.server.tell_refused(408, _UNREAD, self.req, self.remote)
        self.closing = True
        sock = transport.get_extra_info("socket")
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET)
        except (OSError, AttributeError, ValueError):  # (gone already: abort closes it anyway)
            pass
        transport.abort()

    # -- answers ---------------------------------------------------------------------------
    def _capture(self, req: _Request, body: bytes) -> None:
        srv = self.server
        record, response = capture_record(
            srv, req.method, req.target, req.headers, body, self.remote, req.received_at,
            req.host, req.proto, nheaders=req.nheaders,
        )
        slot = _Slot(self)
        slot.response = response
        slot.storing = True
        slot.stored = record["status"]
        # a delayed answer, and those queued behind it on this connection, are followed until
        # written (or never): see _Slot._settle
        slot.watch = response.delay > 0 or any(s.watch for s in self.slots)
        slot.head_only = req.method == "HEAD"
        slot.close = not req.keep_alive or _says_close(response.headers)
        if slot.close:  # (RFC 9112 9.6: no request after an answer saying close is read)
            self.closing = True
        slot.keep_alive_10 = not slot.close and req.version == "HTTP/1.0"
        self.slots.append(slot)
        if len(self.slots) >= MAX_PENDING:
            self._pause()
        srv.submit_soon(record, slot)

    def _dispatch(self, req: _Request, body: bytes) -> None:
        """Give a ``/_hooklab/`` request to the Tornado application once the answers before it
        are sent, so that it sees every capture acknowledged before it on this connection."""
        slot = _Slot(self)
        self.slots.append(slot)
        if len(self.slots) >= MAX_PENDING:  # (sixth attacker: pipelined /_hooklab/ requests
            self._pause()  # queued without end, 35x what was sent, while Tornado took one a turn)
        conn = _TornadoConnection(self, slot, req)
        if req.upgrade:  # Tornado may take the socket over: read nothing more meanwhile
            self._pause()
            slot.exclusive = True
        slot.start = lambda: self._start_tornado(conn, req, body)
        self._flush()

    def _start_tornado(self, conn: _TornadoConnection, req: _Request, body: bytes) -> None:
        app = self.server.api_app
        start_line = httputil.RequestStartLine(req.method, req.target, req.version)
        headers = httputil.HTTPHeaders()
        self.tornado.append(conn)
        try:
            for k, v in req.headers[: req.nheaders]:
                headers.add(k, v)
            delegate = app.start_request(self, conn)
            delegate.headers_received(start_line, headers)
            if body:
                delegate.data_received(body)
            delegate.finish()
        except httputil.HTTPInputError:  # e.g. no Host on HTTP/1.1: the client's fault
            if not conn.slot.parts:
                conn.slot.parts.append(_refusal(400, "malformed request"))
            conn.slot.done = conn.slot.close = True
        except Exception:  # noqa: BLE001
            _log.exception("hooklab: the /_hooklab/ application failed")
            if not conn.slot.parts:
                conn.slot.parts.append(_refusal(500, "internal error"))
            conn.slot.done = conn.slot.close = True
        # no _flush() here: this runs inside _flush() (slot.start), which sends the answer

    def _refuse(self, status: int, message: str) -> None:
        self._refuse_with(_refusal(status, message), status, message)

    def _refuse_with(self, answer: bytes, status: int = 0, message: str = "") -> None:
        """Answer (after the earlier answers) and close gracefully; read no more requests."""
        self._hold(0)
        self._upload_end()
        if status:
            self.server.tell_refused(status, message, self.req, self.remote)
        self.req = None
        self.in_body = False
        self.closing = True
        slot = _Slot(self)
        slot.parts.append(answer)
        slot.done = slot.close = True
        self.slots.append(slot)
        self._flush()

    def _flush(self) -> None:
        slots = self.slots
        transport = self.transport
        if transport is None or transport.is_closing() or self.detached:
            return
        while slots:
            slot = slots[0]
            if slot.start is not None:
                if slot.exclusive and transport.get_write_buffer_size():
                    # an upgrade: Tornado may take the socket over, so every earlier answer
                    # must be out of this transport first
                    self.conns.retry_flush(self)
                    return
                start, slot.start = slot.start, None
                start()
                if self.detached or transport.is_closing():
                    return
            if slot.parts and not slot.hold:
                parts = slot.parts
                data = parts[0] if len(parts) == 1 else b"".join(parts)
                transport.write(data)
                self.sent += len(data)
                slot.parts = []
                if slot.watch and slot.done:
                    self._written(slot)
            if not slot.done:
                break
            slots.popleft()
            if slot.close:
                # FIN after the answer, then read and drop until the client closes: closing
                # with unread data would reset the connection and could destroy the answer
                self._drop_answers()
                self._linger()
                return
        if not slots:
            if self.lingering:  # (in Connections.lingering already)
                return
            conns = self.conns
            self.idle_since = conns.now()
            idle = conns.idle  # (the newest idle one last: the oldest makes room first)
            idle.pop(self, None)
            idle[self] = None
            if self.closing:  # the client half-closed (or asked to close): all answered
                self._close_answered()
                return
        self._maybe_resume()

    def _written(self, slot: _Slot) -> None:
        """A followed capture's whole answer (``slot.watch``: a delayed one) went to the
        transport: it is answered ("answered" means handed to the kernel to send: the transport
        writes at once what the socket takes), unless the write failed (the client had reset the
        connection). Where the client had closed its side first (a FIN: a sender that hung up
        during the delay, or one that half-closed and still reads) the kernel takes the answer
        either way: on Linux it is settled once the client's TCP acknowledged it (answered) or
        reset it unacknowledged (hung up: no answer), see :meth:`_close_answered`."""
        transport = self.transport
        if transport is None or transport.is_closing():  # (the write failed: a reset)
            slot._settle(False)
        elif self.eof and _SIOCOUTQ is not None:
            self.unconfirmed.append(slot)
        else:
            slot._settle(True)

    def _drop_answers(self) -> None:
        """The connection goes (or is handed over): the answers not written never will be. A
        capture waiting for a database another program holds locked is taken back: stored
        once the lock went, its row said 200 to a sender that got no answer (and retried)."""
        for slot in self.slots:
            if slot.storing and self.server.store.locked_out:
                slot._take_back()
            slot._settle(False)
        self.slots.clear()

    def _confirmed(self, sent: bool) -> None:
        for slot in self.unconfirmed:
            slot._settle(sent)
        self.unconfirmed.clear()

    def _close_answered(self, waited: float = 0.0, step: float = _CONFIRM_FIRST) -> None:
        """Close a connection whose client closed its side, once every answer is written. Its
        delayed answers written after that FIN are settled first (:meth:`_written`): the
        client's TCP acknowledges them if it still reads, or resets them if it hung up, within
        a round trip. One timer per connection looks after 10 ms, then at doubling intervals,
        for at most :data:`CONFIRM_SECONDS` (about eight looks; past that, answered as
        written)."""
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        if self.unconfirmed:
            if waited == 0.0 and self.confirming is not None:
                return  # (looked at already: its timer goes on)
            self.confirming = None
            taken = _answer_taken(transport)
            if taken is None and waited < CONFIRM_SECONDS:
                step = min(step, CONFIRM_SECONDS - waited)
                self.confirming = asyncio.get_running_loop().call_later(
                    step, self._close_answered, waited + step, step * 2)
                return
            self._confirmed(taken is not False)
        transport.close()

    def _linger(self) -> None:
        transport = self.transport
        assert transport is not None
        if self.eof:  # nothing more can come: no need to wait for it
            self._close_answered()
            return
        self.lingering = True
        self.linger_since = self.conns.now()
        self.conns.idle.pop(self, None)
        if not self.over_cap:  # (answered: may make room for a new connection once delivered)
            self.conns.lingering[self] = None
        self.buf = b""
        if transport.can_write_eof():
            transport.write_eof()
        if self.paused:  # keep reading (and dropping) so the client can finish sending
            self.paused = False
            transport.resume_reading()

    def _detach(self, slot: _Slot) -> IOStream:
        transport = self.transport
        assert transport is not None
        sock = transport.get_extra_info("socket")
        dup = sock.dup()
        dup.setblocking(False)
        stream = IOStream(dup)
        self.detached = True
        self.conns.streams.add(stream)
        stream.set_close_callback(lambda: self.conns.streams.discard(stream))
        pending = b"".join(slot.parts)
        slot.parts = []
        self._drop_answers()
        transport.abort()  # closes only this protocol's descriptor: the stream has its own
        if pending:
            stream.write(pending)
        return stream


def _kernel_unsent(transport: asyncio.BaseTransport) -> int | None:
    """Bytes of a connection's answers the client has not acknowledged yet, still in the
    kernel's send queue (a FIN sent counts one); None where the system does not say: only
    Linux's ``SIOCOUTQ`` is asked."""
    if _SIOCOUTQ is None:
        return None
    sock = transport.get_extra_info("socket")
    try:
        import fcntl

        raw = fcntl.ioctl(sock.fileno(), _SIOCOUTQ, b"\0\0\0\0")
    except (OSError, AttributeError, ValueError):
        return None
    return int.from_bytes(raw, sys.byteorder, signed=True)


#: Linux's SIOCOUTQ (= TIOCOUTQ): unsent bytes of a TCP socket
_SIOCOUTQ: int | None = 0x5411 if sys.platform.startswith("linux") else None
#: TCP_CLOSE, the state ``TCP_INFO`` gives a connection the peer reset
_TCP_CLOSE = 7


def _answer_taken(transport: asyncio.BaseTransport) -> bool | None:
    """Whether what was written to a connection whose client closed its side reached the
    client: True once its TCP acknowledged every byte (whatever came after: a reset once it
    read is no hang-up), False when it reset the connection with bytes unacknowledged (a
    client that closed its socket answers data with a reset), None while neither is known
    (Linux only: elsewhere True)."""
    if _SIOCOUTQ is None:
        return True
    if not transport.get_write_buffer_size() and _kernel_unsent(transport) == 0:
        return True  # (the kernel keeps the count after a reset: SIOCOUTQ still answers)
    sock = transport.get_extra_info("socket")
    try:
        state = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0]
    except (OSError, AttributeError, ValueError, IndexError):
        return None
    return False if state == _TCP_CLOSE else None


def _delivered(conn: CaptureProtocol, transport: asyncio.Transport, now: float) -> bool:
    """Whether everything this connection was sent has reached the client: nothing left in
    the transport's buffer nor unacknowledged in the kernel's queue (where the kernel cannot
    say: a lingering connection after :data:`LINGER_OUT_SECONDS`). Closing a connection with
    its answer still queued lets a reset (the client sending on) destroy what is left."""
    if transport.get_write_buffer_size():
        return False
    unsent = _kernel_unsent(transport)
    if unsent is None:
        return not conn.lingering or now - conn.linger_since >= LINGER_OUT_SECONDS
    # a lingering connection's FIN counts one until the client acknowledges it, which Linux
    # delays (up to 40 ms, or until the client sends): the answer itself is out at one
    return unsent <= (1 if conn.lingering else 0)


def _waiting(conn: CaptureProtocol, buffered: int, kernel: int | None) -> int:
    """Bytes of a connection's answers its client has not taken: ``buffered`` in the
    transport, ``kernel`` unacknowledged in the kernel's queue (see :func:`_kernel_unsent`),
    less the FIN a lingering connection sent once its buffer was out (it is no answer byte)."""
    kernel = kernel or 0
    if kernel and conn.lingering and not buffered:
        kernel -= 1
    return buffered + kernel


#: ``_Request.chunk_head`` while llhttp is in the feed that read a chunk's size line
_SIZE_LINE = b"size line"
#: the last bytes of a feed that tell a chunk's size (its size line: hex digits and
#: extensions); a longer line is not read, and the body is said to be incomplete
_SIZE_LINE_MAX = 4096
_LAST_SIZE_LINE = re.compile(rb"(?:\A|\n)([0-9A-Fa-f]+)[ \t]*(?:;[^\n]*)?\r?\n\Z")


def last_chunk_came(chunk_head: bytes | None) -> bool:
    r"""Whether a chunked body's last chunk (size 0) came, from what ``_Request.chunk_head``
    holds when the request ends unfinished: nothing (no size line waits for its data: a
    chunk part-way), ``b""`` (bytes, none of them data, followed a size line: trailer
    fields), or the last bytes of the feed that read a size line: trailer bytes after it, or
    the line itself, whose size tells.

    >>> [last_chunk_came(h) for h in (None, b"", b"5\r\nhello\r\n0\r\n", b"\r\n0;a=b\r\nX-S",
    ...                                b"\r\n0\r\nX-Sig: 5\r\n", b"\r\n5\r\n", b"a\n", b"\r\n00\r\n")]
    [False, True, True, True, True, False, False, True]
    """
    if chunk_head is None:
        return False
    if not chunk_head:
        return True
    m = _LAST_SIZE_LINE.search(chunk_head)
    if m is None:  # bytes after the size line: trailer fields (a data chunk's came as data),
        return len(chunk_head) < _SIZE_LINE_MAX  # unless the line was longer than was kept
    return int(m.group(1), 16) == 0


class _BodyOnly:
    """Parser callbacks for the body of a capture request whose upgrade was ignored: its body
    and trailer fields go to the protocol, as without the upgrade (the head this parser is fed
    first is hooklab's own: only its framing, no field of it is the request's)."""

    def __init__(self, proto: CaptureProtocol) -> None:
        self.on_body = proto.on_body
        self.on_chunk_header = proto.on_chunk_header
        self.on_chunk_complete = proto.on_chunk_complete
        self._proto = proto
        self._trailers = False  # past the framing head: fields now are the request's trailers

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._trailers:  # (the protocol's own limits of trailer fields apply)
            self._proto.on_header(name, value)

    def on_headers_complete(self) -> None:
        self._trailers = True

    def on_message_complete(self) -> None:
        proto = self._proto
        proto.parser = proto._new_parser()
        proto.on_message_complete()


class Connections:
    """The listening side: accepts connections into :class:`CaptureProtocol` (at most the
    server's ``max_connections`` open: see :meth:`add`), sweeps their timeouts (one timer per
    listener, not one per request) and closes them all on stop."""

    def __init__(self, server: CaptureServer) -> None:
        self.server = server
        self.conns: set[CaptureProtocol] = set()
        #: connections that were idle when last looked at (between requests, silent, part of
        #: a head), the one idle longest first; whether one still is, is checked when it is
        #: picked (see _idle_one)
        self.idle: OrderedDict[CaptureProtocol, None] = OrderedDict()
        #: connections lingering after their last answer, the oldest first
        self.lingering: OrderedDict[CaptureProtocol, None] = OrderedDict()
        #: connections receiving a request body, the one whose last byte is oldest first
        self.uploads: OrderedDict[CaptureProtocol, None] = OrderedDict()
        #: connections whose client had not taken all of its answers at a sweep, in the order
        #: the oldest byte it has not taken was seen waiting (see _note_unread)
        self.unread: OrderedDict[CaptureProtocol, None] = OrderedDict()
        #: bodies being received per peer (see peer_key; this host's own are not counted)
        self.peer_uploads: dict[str, int] = {}
        #: connections refused at connect (one too many) still sending their 503
        self.refusing = 0
        #: the limit when the server sets none (the descriptor limit as the server starts)
        self.default_limit = default_max_connections()
        #: the most a set ``max_connections`` may keep open (the descriptor limit as the
        #: server starts; None: no limit)
        self.ceiling = connection_ceiling()
        self.streams: set[IOStream] = set()  # WebSocket connections Tornado took over
        self.listeners: list[asyncio.base_events.Server] = []
        self._sweeper: asyncio.TimerHandle | None = None
        self._retry: set[CaptureProtocol] = set()
        self.loop: asyncio.AbstractEventLoop | None = None
        #: bytes of request bodies and unfinished heads held by all connections
        self.held = 0

    def budget(self) -> int:
        """Bytes all connections' requests may hold at once (never less than one request of
        ``max_body`` with a head of ordinary size: 64 KiB)."""
        srv = self.server
        return max(int(srv.max_in_flight), srv.max_body + (1 << 16))

    def now(self) -> float:
        assert self.loop is not None
        return self.loop.time()

    def limit(self) -> int:
        """Connections (WebSocket streams included) open at most at once."""
        cap = self.server.max_connections
        if cap is None:
            return self.default_limit
        cap = max(1, int(cap))
        return cap if self.ceiling is None else min(cap, self.ceiling)

    def peer_limit(self) -> int:
        """Request bodies one peer other than this host may be sending at once."""
        return peer_limit(self.limit())

    def add(self, conn: CaptureProtocol) -> None:
        """A new connection: kept if under the limit or if it can take the place of another;
        else answered 503 at once (a few at a time) or closed unanswered.

        The one that makes room, in this order: the connection idle longest (between requests,
        silent, part of a head); the one lingering longest after its last answer, once that
        answer has reached the client (the kernel has nothing of it left to send: closing with
        it queued could reset it away); the upload stalled longest, with no byte for
        :data:`STALL_SECONDS` (answered 408); the connection whose client has left its answers
        untaken longest, for :data:`STALL_SECONDS` (taking less than 64 KiB of them meanwhile;
        reset: see :meth:`_unread_one`). Why not stop accepting instead: a sender left in the
        listen queue waits, answered by nobody, until its own timeout (GitHub's is 10 s), and
        the queue is full within one burst; a 503 with ``Retry-After`` is answered in
        microseconds and retried by the senders that retry.
        Idle connections go first because a webhook sender that keeps its connection open
        between deliveries opens a new one when it finds it closed, while a request being
        received or answered would be lost; a stalled upload is the exception, since no real
        sender's body stops: without it, ``limit`` connections each sending a head and one byte
        of body held every place for the 60 s body timeout. So is a client that does not take
        its answers: a real sender reads its answer as it comes, and one address's connections
        each holding pipelined answers it never read took every place. A client downloading
        a big answer steadily stays: what counts is what it took, not whether all is out.
        """
        conns = self.conns
        conns.add(conn)
        if len(conns) + len(self.streams) <= self.limit():
            self.idle[conn] = None
            return
        old = self._idle_one()
        if old is not None:
            assert old.transport is not None
            old.transport.close()  # (its descriptor is freed as the loop next turns)
            self.idle[conn] = None
            return
        old = self._stalled_one()
        if old is not None:
            old._close_stalled()
            self.idle[conn] = None
            return
        old = self._unread_one()
        if old is not None:
            old._close_unread()
            self.idle[conn] = None
            return
        transport = conn.transport
        assert transport is not None
        # every open connection is busy: one short answer each for a few (the answer fits an
        # empty socket buffer: no waiting), the rest closed unanswered, so that refused
        # connections cannot in their turn hold the descriptors they are refused to spare
        conn.over_cap = True
        self.refusing += 1
        if self.refusing > max(4, self.limit() // 16):
            self.server.tell_refused(503, _TOO_MANY, None, conn.remote)
            transport.abort()
            return
        conn._refuse(503, _TOO_MANY)

    def _idle_one(self) -> CaptureProtocol | None:
        """Take a connection to close out of ``idle`` (the one idle longest: no request being
        read or answered, a partial head is not one yet), else out of ``lingering`` (the one
        lingering longest); in both, only one whose answers have reached the client (see
        :func:`_delivered`). None if there is none. What is no longer idle or lingering is
        dropped on the way (it is put back when it is idle again)."""
        now = self.now()
        for queue, lingering in ((self.idle, False), (self.lingering, True)):
            found = None
            stale = []
            for n, conn in enumerate(queue):
                if n >= _SCAN:
                    break
                t = conn.transport
                if (
                    t is None
                    or t.is_closing()
                    or conn.detached
                    or conn not in self.conns
                    or conn.lingering is not lingering
                    or (not lingering and (conn.req is not None or conn.slots))
                ):
                    stale.append(conn)
                elif _delivered(conn, t, now):
                    found = conn
                    break
            for conn in stale:
                del queue[conn]
            if found is not None:
                del queue[found]
                return found
        return None

    def _stalled_one(self) -> CaptureProtocol | None:
        """The connection whose body being received has had no byte for longest, at least
        :data:`STALL_SECONDS` (``uploads`` is in that order): one reading is not paused on
        (its own answers waiting to be taken), with no earlier answer still to come (the 408
        goes after them); None if there is none."""
        uploads = self.uploads
        now = self.now()
        found = None
        for n, conn in enumerate(uploads):
            if n >= _SCAN or now - conn.last_byte < STALL_SECONDS:
                break  # (in order of their last byte: the rest moved since)
            t = conn.transport
            if t is not None and not t.is_closing() and not conn.paused and not conn.slots:
                found = conn
                break
        return found

    def _unread_one(self) -> CaptureProtocol | None:
        """The connection whose client has left answers untaken longest, for at least
        :data:`STALL_SECONDS` (``unread`` is in that order): answers were waiting for it in
        the transport's buffer or the kernel's queue that long ago, and it has not taken
        64 KiB (:data:`_TAKE_BYTES`) of them since, or all of them if fewer were waiting
        (checked again now: the mark is from a sweep). A client reading a byte now and then
        is not taking its answers; one downloading a big answer is, however long it takes
        at 32 KB/s or more. None if there is none. Where the kernel does not say what it
        still holds (not Linux), only answers still in the transport's buffer count."""
        unread = self.unread
        now = self.now()
        found = None
        stale = []
        for n, conn in enumerate(unread):
            if n >= _SCAN or now - conn.unread_since < STALL_SECONDS:
                break  # (in the order they were seen waiting: the rest are more recent)
            t = conn.transport
            start = conn.unread_from
            if t is None or conn.detached or conn not in self.conns or start is None:
                stale.append(conn)
                continue
            waiting = _waiting(conn, t.get_write_buffer_size(), _kernel_unsent(t))
            if conn.sent - waiting - start >= conn.unread_need:  # taking them: not stuck
                conn.unread_from = None  # (marked afresh by the next sweep if still waiting)
                stale.append(conn)
                continue
            found = conn
            break
        for conn in stale:
            del unread[conn]
        if found is not None:
            del unread[found]
            found.unread_from = None
        return found

    def _note_unread(self, conn: CaptureProtocol, waiting: int, now: float) -> None:
        """At a sweep: whether ``conn``'s client has taken enough of what was waiting for it
        when it was marked -- 64 KiB (:data:`_TAKE_BYTES`), or all of it if less was waiting
        -- (then it is out of ``unread``), and if answers wait now, a new mark to judge it by:
        what it has taken so far, and how much it must take next, from now. Judged by what it
        took, not by whether every byte written by the mark has left: a big answer is written
        at once, and a client downloading 15 MiB at 3 MB/s took seconds to empty the queue
        though it was plainly taking its answer (it was reset halfway). Not by whether any
        byte moved either: a client taking a byte now and then, or through a one-byte window,
        takes neither 64 KiB nor the few KiB of pipelined answers it lets wait."""
        start = conn.unread_from
        taken = conn.sent - waiting
        if start is not None and taken - start >= conn.unread_need:
            conn.unread_from = start = None
            self.unread.pop(conn, None)
        if start is None and waiting > 0:
            conn.unread_from = taken
            conn.unread_need = min(_TAKE_BYTES, waiting)
            conn.unread_since = now
            self.unread[conn] = None

    def discard(self, conn: CaptureProtocol) -> None:
        self.conns.discard(conn)
        self.idle.pop(conn, None)
        self.lingering.pop(conn, None)
        self.unread.pop(conn, None)

    def __len__(self) -> int:
        return len(self.conns) + sum(not s.closed() for s in self.streams)

    async def listen(self, socks: list[socket.socket]) -> None:
        self.loop = asyncio.get_running_loop()
        for sock in socks:
            self.listeners.append(
                await self.loop.create_server(
                    lambda: CaptureProtocol(self.server, self), sock=sock
                )
            )
        self._schedule_sweep()

    def retry_flush(self, conn: CaptureProtocol) -> None:
        if conn in self._retry or self.loop is None:
            return
        self._retry.add(conn)

        def again() -> None:
            self._retry.discard(conn)
            conn._flush()

        self.loop.call_later(0.01, again)

    def _interval(self) -> float:
        srv = self.server
        limits = [t for t in (srv.idle_timeout, srv.body_timeout, srv.first_byte_timeout) if t]
        return min(1.0, max(0.05, min(limits) / 4)) if limits else 1.0

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
        first = self.server.first_byte_timeout
        for conn in list(self.conns):
            transport = conn.transport
            if transport is None or conn.detached:
                continue
            # with what the kernel still holds: a slow reader drains the kernel's queue while
            # the loop's own buffer waits, unchanged, for room in it
            buffered, kernel = transport.get_write_buffer_size(), _kernel_unsent(transport)
            unsent = buffered + (kernel or 0)
            self._note_unread(conn, _waiting(conn, buffered, kernel), now)
            if unsent != conn.unsent_at_sweep:  # the client is taking its answers
                conn.unsent_at_sweep = unsent
                conn.taking_since = now
            if conn.lingering:
                if now - conn.linger_since > LINGER_SECONDS:
                    if unsent:
                        transport.abort()
                    else:
                        transport.close()
            elif unsent and idle and now - conn.taking_since > idle:
                transport.abort()  # answers waiting and the client reads none of them
            elif conn.req is not None and conn.in_body:
                if body and now - conn.body_since > body:  # the body stalled: nothing is
                    conn._time_out(f"after body_timeout ({body:g} s)")  # stored; 408
            elif not conn.heard and first and now - conn.idle_since > first:
                transport.close()  # connected and silent: a descriptor held for nothing
            elif (
                not conn.slots
                and not unsent
                and idle
                and now - max(conn.idle_since, conn.taking_since) > idle
            ):
                if conn.buf and not conn.closing:  # a head begun that never ended (slowloris)
                    conn._time_out(f"after idle_timeout ({idle:g} s)")
                else:  # idle between requests: closed silently (RFC 9112 9.3)
                    transport.close()

    def stop_listening(self) -> None:
        for listener in self.listeners:
            listener.close()
        self.listeners.clear()
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None

    def wind_down(self) -> None:
        """Stop: read no more requests on any connection. Captures already read are still
        answered (the last of a connection with ``Connection: close``); a request whose body
        is still arriving is dropped, unanswered and not stored; an idle connection is closed
        now. :meth:`answering` says when the answers are out."""
        for conn in list(self.conns):
            conn._wind_down()

    def withdraw(self) -> list[_Slot]:
        """Stop, once the grace is over: take back from the store every capture still
        waiting for it (another program holding the database locked), so that none is
        stored unanswered; their senders get no answer, so their retries are no duplicates.
        Returns the captures being committed already (the writer holds the write lock for
        them: their answers come within moments), followed from now on (``watch``): one
        committed after its connection closed says status ``0``."""
        return [slot for conn in self.conns for slot in conn.slots
                if slot.storing and not slot._take_back()]

    def answering(self) -> bool:
        """Whether a capture taken before the stop is still unanswered, or an answer still
        unsent (in this process or the kernel's send queue: once closed, a connection with
        unread input is reset, and what the kernel had not sent is lost). A capture taken
        back from the store (:meth:`withdraw`) waits for nothing."""
        for conn in self.conns:
            t = conn.transport
            if t is None or conn.detached:
                continue
            if any(slot.response is not None and not slot.withdrawn for slot in conn.slots):
                return True  # (a capture's slot leaves the line once its answer is written)
            if t.get_write_buffer_size() or _kernel_unsent(t):
                return True
        return False

    def close_all(self) -> None:
        for conn in list(self.conns):
            if conn.transport is not None:
                conn.transport.abort()
        self.conns.clear()
        self.idle.clear()
        self.lingering.clear()
        self.unread.clear()
        for stream in list(self.streams):
            stream.close()
        self.streams.clear()
