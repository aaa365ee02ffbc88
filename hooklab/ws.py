"""Record a WebSocket conversation into the capture store, next to your webhooks.

>>> ws_url                      # a WebSocket feed that answers a subscription with 2 messages
'ws://127.0.0.1:.../feed'
>>> summary = hooklab.ws.record(ws_url, send='{"op": "subscribe"}', max_messages=2,
...                             duration=10, lab=lab)
>>> summary.sent, summary.received, summary.stopped_by
(1, 2, 'max_messages')
>>> df = lab.dataframe(kind="ws")
>>> df.method.tolist()
['OPEN', 'SEND', 'RECV', 'RECV', 'CLOSE']
>>> df[df.method == "RECV"].groupby("bin", observed=True).size()
bin
feed    2
dtype: int64

Every message becomes a capture with ``kind="ws"``: ``method`` is ``"SEND"`` (we sent it) or
``"RECV"`` (the server sent it), ``path`` the URL path, ``body`` the exact payload bytes, and
headers ``X-WS-Opcode`` (1 text, 2 binary, 9 ping, 10 pong), ``X-WS-Connection`` (one id per
connection), ``X-WS-Seq`` and a ``Content-Type`` (JSON text frames parse into the frame's
``json`` column). Connection events are captures too: ``OPEN`` (handshake response headers,
``status`` 101), ``CLOSE`` (``status`` = close code: 1005 for a close frame without one, 1006 when the
connection was cut without a close frame, 1009 when a message over ``max_message_size`` made
hooklab close it; body = reason, ``X-WS-Closed-By``: ``server`` or ``client``, i.e. hooklab) and
``ERROR`` (a failed connect; body = the error; a handshake the server refused keeps its
``status``, headers, a credential's value hidden, and the first 64 KiB of its body, the error
in ``X-WS-Error``). The credentials the request sent (the URL's, credential headers'), echoed
by the server as sent or percent-encoded, are ``[secret]`` in a refusal's headers and body,
the OPEN capture's headers and a close reason; a message's payload is kept as it came. Pings and pongs are control frames, not messages (RFC 6455 5.5): ``PING`` /
``PONG`` captures, ``X-WS-From`` ``server`` or ``client`` (hooklab's answering pong), counted in
the summary's ``pings`` / ``pongs``, not in ``received`` nor toward ``max_messages``; a
connection stores a burst of 50 and then 2 a second (``control_not_stored`` counts a flood's
rest). Fragmented messages are recorded reassembled.
A server that breaks RFC 6455 (a close code no server may send, such as 0, 1005 or 65535, kept
in ``X-WS-Server-Close-Code``; a reserved bit; a fragmented ping; a 64-bit length whose top
bit is set; text that is not UTF-8, recorded as it came with ``X-WS-Invalid``) makes hooklab fail the connection: CLOSE says 1002
(protocol error) or 1007 (not UTF-8), closed by the client, the reason saying what was wrong.
A wrong handshake answer (``Sec-WebSocket-Accept``, an extension or a subprotocol not asked
for) is an ERROR saying so. ``connect_timeout`` bounds the whole opening, handshake included;
the end of ``duration`` and ``stop()`` give up on a handshake still under way.

``headers=`` are checked before anything is stored or sent, as ``hooklab.send`` checks its own
(:func:`hooklab.outbound.check_headers`: ``ValueError`` naming the header, never quoting its
value); so is a URL with a control character, or a space in its host, path or query, in
``hooklab.send``'s words, and an ``Authorization`` header beside credentials in the URL
(which would replace it). ``WS://`` is ``ws://``.

The URL's credentials go to the server but are recorded as a forward target's are
(:func:`hooklab.credentials.scrubbed_url`): ``ws://alice:%5Bsecret%5D@host/feed?token=[secret]``
in ``url`` (the userinfo's mark percent-encoded, so the URL stays one) and ``query``, and
``remote_addr`` is the server's ``host:port``.
Captures are in the order the frames came: CLOSE is the last of its connection, recorded when
the connection has ended; when hooklab closes, that is once the server's close frame answers
ours (Tornado waits up to 5 s for it), and what the server sent until then is recorded before
(but messages past ``max_messages``, which bounds what is stored: ``messages_not_stored``
counts them).

Reconnects are explicit: with ``reconnect=True`` a connection the *server* ends (or that fails
to open) is retried up to ``max_reconnects`` times with backoff (a refusal's ``Retry-After``
honoured, up to 60 s and never past ``duration``), each attempt recorded; ``send``
messages are sent again on every connection (they are usually subscriptions). A message over
``max_message_size`` is not retried: the server would send it again. A ``send`` message the
connection closed before is not sent, recorded nor counted (``errors`` says how many).

A store that fails while recording (closed, a full disk, a read-only database) stops the
recording at once: hooklab closes the connection with 1011 (internal error) and raises
:class:`RecordingError`, whose ``summary`` says what was recorded.

Recording runs on its own event loop in a helper thread, so :func:`record` works in a notebook
whose loop is already running; :func:`start_recording` returns at once with a handle.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import SplitResult, parse_qs, unquote, unquote_to_bytes, urlsplit

from tornado import httpclient, httputil, iostream, simple_httpclient, websocket

from .capture import new_record
from .credentials import (
    hidden_value,
    is_credential_query,
    is_sensitive_header,
    scrubbed_text,
    scrubbed_url,
    shown_url,
    url_secrets,
)
from .outbound.sender import check_headers, refuse_unsendable, url_port
from .store.store import StoreError

__all__ = ["DEFAULT_MAX_MESSAGE", "RecordSummary", "Recording", "RecordingError", "record",
           "record_async", "start_recording"]

Message = str | bytes
#: ``headers=``: a mapping, or ``(name, value)`` pairs (a name given twice is sent twice); a
#: value is text (one character a byte, Latin-1), bytes (sent as given) or an int (its digits)
Headers = Mapping[str, str | bytes | int] | Iterable[tuple[str, str | bytes | int]]
#: the largest message recorded by default (hooklab's own ``max_body``); a bigger one ends
#: the connection (1009 from our side, ``X-WS-Closed-By: client``), said in the CLOSE capture
DEFAULT_MAX_MESSAGE = 16 * 1024 * 1024
#: the close code and reason hooklab sends when the store fails mid-connection: 1011, "an
#: unexpected condition prevented fulfilling the request" (RFC 6455 7.4.1), the endpoint's
#: internal error; the reason is UTF-8 and at most 123 bytes (5.5.1)
_STORE_FAILED = (1011, "hooklab could not store the recording")
#: seconds to wait for the server's close frame after ours (RFC 6455 7.1.1: the client waits
#: for the server to close); Tornado gives up after 5 s itself, this only bounds the wait
_CLOSE_WAIT = 10.0
#: seconds to wait for the store to confirm the captures of a recording that is over
_STORE_WAIT = 30.0
#: the most of the body of a refused handshake's answer (a 401's JSON reason) its ERROR
#: capture keeps (bytes); the rest is read and dropped
_REFUSAL_BODY = 64 * 1024
#: the longest a server's ``Retry-After`` makes a reconnect wait (seconds; never past
#: ``duration``)
_MAX_RETRY_AFTER = 60.0
#: control frames (pings, pongs) stored per connection: a burst of this many, then
#: :data:`_CONTROL_RATE` a second; a ping flood past that is counted, not stored
_CONTROL_BURST = 50
_CONTROL_RATE = 2.0


@dataclass
class RecordSummary:
    """What :func:`record` did: counts, connections, how each one ended, capture ids."""

    url: str
    connections: int = 0
    sent: int = 0
    received: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    reconnects: int = 0
    closes: list[tuple[int | None, str | None, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    stopped_by: str = ""
    seconds: float = 0.0
    capture_ids: list[int] = field(default_factory=list)
    #: PING / PONG captures stored (control frames, RFC 6455 5.5.2-3: no messages, so not in
    #: ``sent`` / ``received`` nor ``max_messages``): the server's pings, hooklab's pongs
    #: answering them, and any pong the server sent on its own
    pings: int = 0
    pongs: int = 0
    #: control frames not stored: past :data:`_CONTROL_BURST` at once and
    #: :data:`_CONTROL_RATE` a second after that on one connection (a ping flood)
    control_not_stored: int = 0
    #: messages the server sent past ``max_messages`` (those that came before its close frame
    #: answered hooklab's): counted here, not stored nor in ``received``; ``max_messages``
    #: bounds what is stored
    messages_not_stored: int = 0


class RecordingError(StoreError):
    """A recording stopped because its captures could not be stored: the store was closed,
    the disk is full, the database is read-only. hooklab closed the connection properly (a
    close frame with 1011, internal error) and stopped; ``summary`` says what was recorded
    until then, ``__cause__`` is the store's error.

    >>> store.close()                 # (or the disk fills up, or the database is read-only)
    >>> try:
    ...     hooklab.ws.record(ws_url, send="subscribe", max_messages=2, store=store)
    ... except hooklab.ws.RecordingError as exc:
    ...     print(exc.summary.stopped_by)
    ...     print(exc.summary.closes)
    store failed (StoreError: store is closed)
    [(1011, 'hooklab could not store the recording', 'client')]
    """

    def __init__(self, message: str, summary: RecordSummary) -> None:
        super().__init__(message)
        self.summary = summary


def _target_store(store: Any, lab: Any) -> Any:
    if store is not None:
        return store
    if lab is None:
        from .core import default_lab

        lab = default_lab()
        if lab is None:
            raise RuntimeError("record() needs store= or lab= (or a default lab: hooklab.start())")
    return lab.store


def _message(item: Any) -> Message:
    """One message to send: text or bytes as given, a dict as JSON text (as ``hooklab.send``
    sends a payload)."""
    if isinstance(item, str):
        try:  # (a lone surrogate such as '\ud800' has no UTF-8: refused here, before connecting,
            # not by write_message once OPEN is recorded, which left the connection cut)
            item.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError(f"send= text must encode as UTF-8 (WebSocket text messages are "
                             f"UTF-8): {item!r:.80} does not ({exc.reason} at {exc.start})") from None
        return item
    if isinstance(item, bytes):
        return item
    if isinstance(item, bytearray | memoryview):
        return bytes(item)
    if isinstance(item, dict):
        return json.dumps(item)
    raise TypeError(f"send= takes text, bytes, a dict (sent as JSON) or a list of them, "
                    f"not {type(item).__name__}: {item!r:.80}")


def _messages(send: Any) -> list[Message]:
    """The messages ``send`` names: one (text, bytes, a dict) or a list of them."""
    if send is None:
        return []
    if isinstance(send, str | bytes | bytearray | memoryview | dict):
        return [_message(send)]
    if not isinstance(send, Iterable):
        _message(send)  # (raises: says what send= takes)
    return [_message(item) for item in send]


def _ctype(payload: Message) -> str:
    if isinstance(payload, bytes):
        return "application/octet-stream"
    head = payload.lstrip()[:1]
    if head in ("{", "["):
        try:
            json.loads(payload)
            return "application/json"
        except ValueError:
            pass
    return "text/plain; charset=utf-8"


#: close codes a server may send (RFC 6455 7.4.1, and 1012-1014 of IANA's registry; 3000-4999
#: are the applications'): 1004 is reserved, 1005, 1006 and 1015 are never sent on the wire
#: (they say what was not there), 0-999 are not used, 1016-2999 wait for a future RFC
_WIRE_CLOSE_CODES = frozenset((*range(1000, 1004), *range(1007, 1015), *range(3000, 5000)))


def _close_problem(data: bytes) -> tuple[int, str, list[tuple[str, str]]] | None:
    """What is wrong with the payload of a server's close frame, as hooklab's close
    (code, reason, headers of the CLOSE capture keeping what the server sent), or None.

    >>> _close_problem(bytes([0xff, 0xff]) + b"bye")[:2]
    (1002, 'close code 65535 is not one a server may send (RFC 6455 7.4)')
    >>> _close_problem(bytes([3, 0xe8]) + b"ok") is None, _close_problem(b"") is None
    (True, True)
    """
    if len(data) == 1:
        return (1002, "close frame with a 1-byte payload (RFC 6455 5.5.1)",
                [("X-WS-Server-Close-Payload", data.hex())])
    if len(data) < 2:
        return None
    code = int.from_bytes(data[:2], "big")
    said = [("X-WS-Server-Close-Code", str(code))]
    if code not in _WIRE_CLOSE_CODES:
        return 1002, f"close code {code} is not one a server may send (RFC 6455 7.4)", said
    try:
        data[2:].decode("utf-8")
    except UnicodeDecodeError:
        return 1007, "close reason is not UTF-8 (RFC 6455 5.5.1)", said
    return None


def _header_problem(header: bytes, fragmented: bool) -> str | None:
    """What is wrong with a frame a server sent, by its first 2 bytes (RFC 6455 5.2), or None.
    ``fragmented``: a fragmented message has begun and not ended. hooklab never offers an
    extension, so no reserved bit may be set."""
    b0, b1 = header[0], header[1]
    opcode = b0 & 0x0F
    if opcode not in (0, 1, 2, 8, 9, 10):
        return f"unknown opcode {opcode} (RFC 6455 5.2)"
    name = _OPCODE_NAMES[opcode]
    for bit, rsv in ((0x40, 1), (0x20, 2), (0x10, 3)):
        if b0 & bit:
            return f"RSV{rsv} set on a {name} frame: no extension was negotiated (RFC 6455 5.2)"
    if b1 & 0x80:
        return f"masked {name} frame: a server never masks (RFC 6455 5.1)"
    if opcode >= 8:
        if not b0 & 0x80:
            return f"fragmented {name} frame: control frames are never fragmented (RFC 6455 5.4)"
        if (b1 & 0x7F) > 125:
            return f"{name} frame over 125 bytes: the limit of control frames (RFC 6455 5.5)"
    elif opcode == 0 and not fragmented:
        return "continuation frame with no message to continue (RFC 6455 5.4)"
    elif opcode != 0 and fragmented:
        return f"new {name} message before the fragmented one ended (RFC 6455 5.4)"
    return None


_OPCODE_NAMES = {0: "continuation", 1: "text", 2: "binary", 8: "close", 9: "ping", 10: "pong"}


class _Protocol(websocket.WebSocketProtocol13):
    """Tornado's protocol, noting whose close frame came first, and failing the connection
    the way RFC 6455 7.1.7 says when the server breaks the protocol.

    Tornado ends a connection with ``close_code`` None alike when the server sent a close frame
    without a status code, when the server cut the TCP connection, and when Tornado itself
    closed with 1009 for a message over ``max_message_size``; RFC 6455 calls these 1005, 1006
    and our own 1009. ``close()`` is where they differ: it sends our close frame first
    (``closed_first``), echoes the server's (``close_frame_received``), or cleans up after an
    abort (both flags already set, nothing noted).

    A frame that breaks the protocol (a reserved bit, a fragmented or long control frame, text
    that is not UTF-8, a close code no server may send...) Tornado drops the connection on
    without a word, which looked like the server cutting it (1006), or, for a close reason
    that is not UTF-8, logs a traceback and calls it 1000. Here hooklab says why in its
    close frame (1002 protocol error, 1007 not UTF-8) and notes it in ``failed``; the
    offending text message is kept in ``bad_message`` (recorded, not lost).
    """

    closed_first: tuple[int | None, str | None] | None = None
    close_frame_received = False
    #: (code, reason, headers for the CLOSE capture) when the server broke the protocol
    failed: tuple[int, str, list[tuple[str, str]]] | None = None
    #: the text message that was not UTF-8, and where: recorded as it came
    bad_message: tuple[bytes, str] | None = None
    _next_is_header = False
    _next_is_long_length = False

    def close(self, code: int | None = None, reason: str | None = None) -> None:
        if not self.server_terminated:  # (our close frame has not gone out yet)
            if self.client_terminated:
                self.close_frame_received = True
            else:
                self.closed_first = (code, reason)
        super().close(code, reason)

    def _fail(self, code: int, reason: str, headers: list[tuple[str, str]] | None = None) -> None:
        """Fail the connection (RFC 6455 7.1.7): our close frame saying why, then the end of
        the TCP connection, without reading on (as Tornado does for 1009)."""
        if self.failed is None:
            self.failed = (code, reason, headers or [])
        self.close(code, reason)
        self._abort()

    async def _receive_frame(self) -> None:
        # (Tornado reads a frame's 2 header bytes first: _read_bytes checks them as they come)
        self._next_is_header = True
        await super()._receive_frame()

    async def _read_bytes(self, n: int) -> bytes:
        data = await super()._read_bytes(n)
        problem = None
        if self._next_is_header:
            self._next_is_header = False
            problem = _header_problem(data, self._fragmented_message_buffer is not None)
            # (a 64-bit length follows: Tornado reads its 8 bytes next)
            self._next_is_long_length = problem is None and data[1] & 0x7F == 127
        elif self._next_is_long_length:
            self._next_is_long_length = False
            if data[0] & 0x80:  # (before Tornado weighs it against max_message_size: 1009)
                problem = ("64-bit payload length with its most significant bit set "
                           "(RFC 6455 5.2: it must be 0)")
        if problem is not None:
            self._fail(1002, problem)
            # (the receive loop's way out: it ends the connection as for a cut stream)
            raise iostream.StreamClosedError()
        return data

    def _handle_message(self, opcode: int, data: bytes) -> Any:
        if not self.client_terminated:
            if opcode == 1:
                try:
                    data.decode("utf-8")
                except UnicodeDecodeError as exc:
                    self.bad_message = (bytes(data), f"not UTF-8: byte 0x{data[exc.start]:02x} "
                                                     f"at {exc.start}")
                    self._fail(1007, "text message is not UTF-8 (RFC 6455 8.1)")
                    return None
            elif opcode == 8 and (problem := _close_problem(data)) is not None:
                self._fail(*problem)
                return None
            elif opcode in (9, 10):  # (a ping's pong, Tornado's answer, is noted after it:
                self._control(opcode, data, "server")  # _write_frame)
        return super()._handle_message(opcode, data)

    def _write_frame(self, fin: bool, opcode: int, data: bytes, flags: int = 0) -> Any:
        written = super()._write_frame(fin, opcode, data, flags)
        if opcode in (9, 10):  # (written: a closed stream raised above, and nothing went out)
            self._control(opcode, data, "client")
        return written

    def _control(self, opcode: int, data: bytes, by: str) -> None:
        """A ping or pong frame, ``by`` the server or the client (hooklab): to the recording."""
        handler = self.handler
        if isinstance(handler, _Connection):
            handler.on_control(_Control("PING" if opcode == 9 else "PONG", bytes(data), by))

    def _process_server_headers(self, key: str | bytes, headers: httputil.HTTPHeaders) -> None:
        # (checked before, by _Connection.headers_received, which can say what is wrong;
        # Tornado's asserts here end in a logged traceback and "Stream is closed")
        self.selected_subprotocol = headers.get("Sec-WebSocket-Protocol", None)


def _handshake_problem(key: bytes, headers: httputil.HTTPHeaders, asked: set[str],
                       scrub: Callable[[str], str] = str) -> str | None:
    """What is wrong with a server's 101 answer (RFC 6455 4.1), or None. ``asked``: the
    subprotocols the request offered (the user's own ``Sec-WebSocket-Protocol`` header);
    ``scrub``: the server's values quoted as :meth:`_Echoes.text` keeps them, before they are
    cut short (a credential echoed in ``Upgrade:`` is never quoted, nor its beginning)."""
    def tokens(name: str) -> list[str]:
        return [t.strip().lower() for v in headers.get_list(name) for t in v.split(",")]

    for name, token in (("Upgrade", "websocket"), ("Connection", "upgrade")):
        if token not in tokens(name):
            said = scrub(", ".join(headers.get_list(name)))
            return (f"the server's 101 answer has no '{name}: {token}' "
                    f"({f'it says {said!r:.60}' if said else 'no such header'}; RFC 6455 4.1)")
    expected = websocket.WebSocketProtocol13.compute_accept_value(key)
    got = headers.get_list("Sec-WebSocket-Accept")
    if got != [expected]:
        return (f"the server's Sec-WebSocket-Accept is {scrub(', '.join(got)) or 'missing'!r:.80}, not "
                f"{expected!r} (RFC 6455 4.1): not a WebSocket server for this request")
    extensions = [t for t in tokens("Sec-WebSocket-Extensions") if t]
    if extensions:
        return (f"the server turned on extension {scrub(extensions[0].split(';')[0].strip())!r:.60}, "
                "which hooklab did not offer (RFC 6455 4.1 fails the connection)")
    chosen = headers.get_list("Sec-WebSocket-Protocol")
    if chosen and (len(chosen) > 1 or chosen[0].strip() not in asked):
        return (f"the server chose subprotocol {scrub(', '.join(chosen))!r:.60}, which the request did "
                "not offer (RFC 6455 4.1)")
    return None


@dataclass(frozen=True)
class _Control:
    """A control frame on its way to the recording: ``PING`` or ``PONG``, its payload, and
    who sent it (``server`` or ``client``)."""

    method: str
    data: bytes
    by: str


class _Connection(websocket.WebSocketClientConnection):
    """Tornado's client connection on a :class:`_Protocol`, checking the server's handshake
    answer itself and able to give up on a handshake under way (:meth:`abandon`).

    An answer that is not ``101`` (a refusal: 401, 429...) keeps its status, reason and
    headers (``code``, ``reason``, ``headers``, as Tornado sets them) and the first ``room``
    bytes of its body (``chunks``; ``body_cut`` when there was more), decoded from
    ``Content-Encoding: deflate`` as Tornado decodes gzip (``encoded``: an encoding it could
    not be decoded from, the body then as it came in ``chunks``, or ``raw`` for deflate):
    the ERROR capture says why the server refused (:func:`_refusal_body`)."""

    body_cut = False
    #: the server's text an error quotes, as the recording keeps it (:meth:`_Echoes.text`)
    scrub: Callable[[str], str] = str
    #: the most of a refusal's body read: :data:`_REFUSAL_BODY` and enough more that an echo
    #: of a credential across that point is still found whole before the body is cut
    room = _REFUSAL_BODY
    #: a deflate-encoded body's decoder, its window bits (15: zlib's format, as RFC 9110
    #: says; -15: raw deflate, as some servers send it), and the body as it came
    inflater: Any = None
    wbits = 15
    raw = b""
    #: the Content-Encoding the body kept is still in (not decoded), or ""
    encoded = ""

    def get_websocket_protocol(self) -> websocket.WebSocketProtocol:
        return _Protocol(self, mask_outgoing=True, params=self.params)

    def data_received(self, chunk: bytes) -> None:
        # (only the body of an answer that is not 101: Tornado kept all of it, up to 100 MB)
        if self.inflater is not None:
            chunk = self._inflated(chunk)
        room = self.room - len(self.chunks)
        if len(chunk) > room:
            self.body_cut = True
        if room > 0:
            self.chunks += chunk[:room]

    def _inflated(self, chunk: bytes) -> bytes:
        """``chunk`` of a deflate-encoded body, decoded (no more than there is room for: a
        small body that inflates to gigabytes is not inflated past that); ``b""`` once the
        body is cut or cannot be decoded (``encoded`` then says ``deflate``)."""
        if len(self.raw) < self.room:
            self.raw += chunk[: self.room - len(self.raw)]
        if self.body_cut or self.encoded:
            return b""
        room = max(self.room - len(self.chunks), 0) + 1  # (one more: a cut is seen)
        try:
            out = self.inflater.decompress(chunk, room)
        except zlib.error:
            out = None
            if self.wbits == 15 and not self.chunks:  # (no zlib header: raw deflate?)
                self.wbits, self.inflater = -15, zlib.decompressobj(-15)
                try:
                    out = self.inflater.decompress(self.raw, room)
                except zlib.error:
                    out = None
        if out is None:
            self.encoded = "deflate"
            return b""
        if self.inflater.unconsumed_tail:
            self.body_cut = True
        return out

    def on_control(self, frame: _Control) -> None:
        """A ping or pong (:class:`_Protocol`), handed to the message callback in order with
        the messages."""
        if self._on_message_callback:
            self._on_message_callback(frame)  # type: ignore[arg-type]

    async def headers_received(
        self,
        start_line: httputil.RequestStartLine | httputil.ResponseStartLine,
        headers: httputil.HTTPHeaders,
    ) -> None:
        if isinstance(start_line, httputil.ResponseStartLine) and start_line.code != 101:
            # (gzip: Tornado decodes it, and renames the header; deflate: decoded here, as
            # it; another: kept as it came, and said)
            encoding = (headers.get("Content-Encoding") or "").strip().lower()
            if encoding == "deflate":
                self.inflater = zlib.decompressobj(15)
            elif encoding not in ("", "identity"):
                self.encoded = encoding
        if isinstance(start_line, httputil.ResponseStartLine) and start_line.code == 101:
            asked = {t.strip() for v in self.request.headers.get_list("Sec-WebSocket-Protocol")
                     for t in v.split(",")}
            problem = _handshake_problem(self.key, headers, asked, self.scrub)
            if problem is not None:
                # (Tornado's own error path: the connect fails with this error, the stream is
                # closed; raising here would be logged as an uncaught exception)
                self._handle_exception(websocket.WebSocketError,
                                       websocket.WebSocketError(problem), None)
                return
        await super().headers_received(start_line, headers)

    def abandon(self, why: str) -> None:
        """Give up on the handshake if it is still under way: the connect fails with ``why``
        (Tornado's own timeout path: a TCP connect under way is closed as it completes, the
        stream at once if there is one)."""
        if not self.connect_future.done():
            self._handle_exception(websocket.WebSocketError, websocket.WebSocketError(why), None)


def _connect(url: str, headers: list[tuple[str, str]], connect_timeout: float,
             on_message: Any, max_message_size: int,
             echoes: _Echoes | None = None) -> _Connection:
    """A :class:`_Connection` to ``url``, its handshake under way (``conn.connect_future``);
    ``echoes``: the credentials it sends, which its errors quote as ``[secret]``.

    (websocket_connect cannot be given another connection class, and the protocol must be ours
    from the handshake on: a greeting, a close frame or a too-big message can be read before
    the connection is handed to us. The request's defaults are Tornado's, which
    websocket_connect fills in through a private proxy, but ``request_timeout``:
    ``connect_timeout`` bounds the whole opening, the WebSocket handshake included, not only
    the TCP connect; Tornado's 20 s default let a server that never answers the handshake
    hold a recording well past its ``duration``.)
    """
    split = urlsplit(url)
    userinfo, at, hostport = split.netloc.rpartition("@")
    user = password = None
    if at:
        # sent as Basic credentials, percent-decoded to the bytes they stand for, as curl and
        # requests send them (Tornado sent the userinfo as written: "pw%40X" for "pw@X", which
        # no server takes); a user name alone (often a token: ws://TOKEN@host/) with an empty
        # password (Tornado's client asserted there was one: a bare "AssertionError")
        name, _, secret = userinfo.partition(":")
        user, password = unquote_to_bytes(name), unquote_to_bytes(secret)
        url = split._replace(netloc=hostport).geturl()
    sent = httputil.HTTPHeaders()
    for name, value in headers:  # (checked by check_headers: a name given twice goes twice)
        sent.add(name, value)
    request = httpclient.HTTPRequest(
        url, headers=sent, connect_timeout=connect_timeout,
        request_timeout=connect_timeout, follow_redirects=False, max_redirects=5,
        decompress_response=True, proxy_password="", allow_nonstandard_methods=False,
        validate_cert=True, auth_username=user, auth_password=password,  # type: ignore[arg-type]
        auth_mode=None if user is None else "basic",
    )
    conn = _Connection(request, on_message_callback=on_message, max_message_size=max_message_size)
    if echoes is not None:
        conn.scrub = echoes.text
        conn.room = _REFUSAL_BODY + 2 * echoes.reach
    return conn


def _recorded_url(url: str) -> str:
    """``url`` as a recording stores it: scrubbed as a forward target's is recorded
    (:func:`~hooklab.credentials.scrubbed_url`: its userinfo's password, or a user name
    alone, with no password or an empty one, ``ws://sk_live_...:@host``, as the key it is;
    credential query values, the secret part of a path), the mark in the userinfo
    percent-encoded, ``%5Bsecret%5D``: brackets are no userinfo characters (RFC 3986 3.2.1),
    and a URL with them there is no URL to urlsplit, nor to the HAR import.

    >>> _recorded_url("ws://alice:hunter2@127.0.0.1:9000/feed?token=t0k&q=1")
    'ws://alice:%5Bsecret%5D@127.0.0.1:9000/feed?token=[secret]&q=1'
    >>> _recorded_url("ws://sk_live_1:@127.0.0.1:9000/feed")
    'ws://%5Bsecret%5D@127.0.0.1:9000/feed'
    """
    scrubbed = scrubbed_url(url)
    # (its authority as written, up to the first "/", "?" or "#": no userinfo holds one)
    head, slashes, rest = scrubbed.partition("//")
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    userinfo, at, hostport = authority.rpartition("@")
    if not at:
        return scrubbed
    shown = userinfo.replace("[", "%5B").replace("]", "%5D")
    return head + slashes + shown + rest[len(userinfo):]


def _remote(split: SplitResult) -> str:
    """``host:port`` of a URL, as written, without its userinfo (credentials), with the
    scheme's port when it names none."""
    hostport = split.netloc.rpartition("@")[2]
    try:
        port = split.port
    except ValueError:  # (a port that is not one: the connect fails and says so)
        return hostport
    if port is None:
        return f"{hostport}:{443 if split.scheme.lower() == 'wss' else 80}"
    return hostport


class _Stop(asyncio.Event):
    """The stop of a :class:`Recording`: ``set()`` closes the connection cleanly (our close
    frame, then the server's answer, up to 5 s); ``at_once`` set too (a second Ctrl-C) gives
    up on that answer: the connection is cut, its CLOSE recorded, the summary returned."""

    def __init__(self) -> None:
        super().__init__()
        self.at_once = asyncio.Event()

    def hurry(self) -> None:
        self.at_once.set()
        self.set()


class _Recorder:
    def __init__(self, url: str, store: Any, bin: str | None, summary: RecordSummary,
                 headers: list[tuple[str, str]] | None = None) -> None:
        # the URL as a forward target is recorded (README): credentials in its userinfo, its
        # query (token=, api_key=...) or its path (a Slack-like URL) stored as [secret], in
        # the url, the query and the path alike; remote_addr is the server's host:port
        self.url = _recorded_url(url)
        self.connect_url = url  # (the URL as given, credentials and all: only to connect)
        # what the server answers (headers, a refusal's body, a close reason) may echo the
        # credentials the request sent: stored as [secret], as the url and query keep them
        self.echoes = _Echoes(url, headers or [])
        self.store, self.bin, self.summary = store, bin, summary
        split = urlsplit(self.url)
        self.path = split.path or "/"
        self.query = parse_qs(split.query, keep_blank_values=True)
        self.remote = _remote(split)
        self.rec_id = uuid.uuid4().hex[:8]
        self.conn_id = ""
        self.seq = 0
        # the id of each capture once stored (None until then), in order; the store's futures
        # only while they wait: one done holds its Capture, body and all, and a long recording
        # of a busy feed kept every message it had stored in memory until its end
        self.ids: list[int | None] = []
        self.waiting: dict[int, Any] = {}
        self._lock = threading.Lock()  # (the store's writer thread confirms; this loop adds)
        # the store's first error: the recording stops (and its connection is closed with
        # 1011) as soon as one capture cannot be stored, not at the end of ``duration``
        self.failed: BaseException | None = None
        self.failure = asyncio.Event()
        self.fail_task: asyncio.Future | None = None  # (waits on failure: record_async's)
        self.loop = asyncio.get_running_loop()
        # what the summary counted for a capture the store has not confirmed (index: field,
        # bytes): taken back if the store fails it, so the counts are what was stored
        self.counted: dict[int, tuple[str, int]] = {}
        #: seconds the server's last refusal asked to wait (Retry-After), None if it did not
        self.retry_after: float | None = None
        # the control frames this connection may still store (a token bucket: a burst, then
        # a rate), and when it was last filled
        self.tokens, self.tokens_at = float(_CONTROL_BURST), self.loop.time()
        #: set when the recording must end without waiting for the server's close frame
        self.at_once = asyncio.Event()

    def new_connection(self) -> None:
        self.tokens, self.tokens_at = float(_CONTROL_BURST), self.loop.time()
        self.retry_after = None

    def add(self, method: str, body: bytes, headers: list[tuple[str, str]], status: int = 101,
            counts: tuple[str, int] | None = None) -> bool:
        """Hand a capture to the store; whether it was taken (not once the store failed).
        ``counts``: the summary's field the capture counts in, and its bytes (``bytes_*``
        too for a message), counted here and taken back if the store fails it."""
        if self.failed is not None:  # (the recording is stopping: nothing more is written,
            return False  # a recording with holes would look complete)
        self.seq += 1
        record = new_record(
            method, self.path,
            [("X-WS-Connection", self.conn_id), ("X-WS-Seq", str(self.seq)), *headers], body,
            remote_addr=self.remote, url=self.url, status=status, kind="ws", bin=self.bin,
            query=self.query,
        )
        try:  # (a closed or read-only store raises here, in Tornado's message callback,
            # which then cut the connection without a close frame)
            fut = self.store.add(record)
        except Exception as exc:  # noqa: BLE001 - stops the recording, raised by record()
            self.fail(exc)
            return False
        with self._lock:
            index = len(self.ids)
            self.ids.append(None)
            self.waiting[index] = fut
            if counts is not None:
                self.counted[index] = counts
                self._count(*counts, 1)
        fut.add_done_callback(lambda fut: self._stored(index, fut))
        return True

    def _count(self, name: str, size: int, sign: int) -> None:
        s = self.summary
        setattr(s, name, getattr(s, name) + sign)
        if name in ("sent", "received"):
            field = "bytes_" + name
            setattr(s, field, getattr(s, field) + sign * size)

    def uncount_failed(self) -> None:
        """Take back the counts of the captures the store did not store (the end of a
        recording, once every future is done or given up on)."""
        with self._lock:
            for index, counts in list(self.counted.items()):
                if self.ids[index] is None:
                    self._count(*counts, -1)
            self.counted.clear()

    def _stored(self, index: int, fut: Any) -> None:
        """The store's writer thread: a capture was stored (its id kept, the future and its
        Capture let go), or not (a full disk: the recording fails)."""
        exc = None if fut.cancelled() else fut.exception()
        if exc is None and not fut.cancelled():
            with self._lock:
                self.ids[index] = fut.result().id
                self.waiting.pop(index, None)
                self.counted.pop(index, None)
            return
        if exc is not None:
            try:
                self.loop.call_soon_threadsafe(self.fail, exc)
            except RuntimeError:  # (the recording's loop is over: its end saw the error)
                pass

    def fail(self, exc: BaseException) -> None:
        if self.failed is None:
            self.failed = exc
            self.failure.set()

    def frame(self, method: str, payload: Message, opcode: int | None = None,
              extra: Iterable[tuple[str, str]] = ()) -> int | None:
        """Record a message (``SEND`` or ``RECV``), counted in the summary once the store took
        it; its ``X-WS-Seq``, or None when it was not recorded (the store failed)."""
        data = payload.encode("utf-8") if isinstance(payload, str) else bytes(payload)
        op = opcode if opcode is not None else (1 if isinstance(payload, str) else 2)
        headers = [("X-WS-Opcode", str(op)), ("Content-Type", _ctype(payload)), *extra]
        field = "sent" if method == "SEND" else "received"
        return self.seq if self.add(method, data, headers, counts=(field, len(data))) else None

    def not_sent(self, seq: int, payload: Message) -> None:
        """The message recorded as ``X-WS-Seq`` ``seq`` did not go out whole (the connection
        closed while its frame was being written): no longer counted as sent, and an ERROR
        capture says so."""
        size = len(payload.encode("utf-8") if isinstance(payload, str) else payload)
        self._count("sent", size, -1)
        self.add("ERROR", f"the message recorded as X-WS-Seq {seq} was not sent whole: the "
                          "connection closed while it was being written".encode(),
                 [("X-WS-Not-Sent", str(seq))], status=0)

    def control(self, frame: _Control) -> None:
        """Record a ping or pong as a ``PING`` / ``PONG`` capture (no message: not counted in
        ``sent``/``received`` nor ``max_messages``), ``X-WS-From`` saying whose; past the
        connection's bound (a flood) counted in ``control_not_stored`` only."""
        now = self.loop.time()
        self.tokens = min(float(_CONTROL_BURST),
                          self.tokens + (now - self.tokens_at) * _CONTROL_RATE)
        self.tokens_at = now
        if self.tokens < 1:
            if self.failed is None:
                self.summary.control_not_stored += 1
            return
        headers = [("X-WS-Opcode", "9" if frame.method == "PING" else "10"),
                   ("X-WS-From", frame.by), ("Content-Type", _ctype(frame.data))]
        field = "pings" if frame.method == "PING" else "pongs"
        if self.add(frame.method, frame.data, headers, counts=(field, len(frame.data))):
            self.tokens -= 1


async def record_async(
    url: str,
    send: Message | dict[str, Any] | Iterable[Message | dict[str, Any]] | None = None,
    duration: float | None = None,
    max_messages: int | None = None,
    *,
    store: Any = None,
    lab: Any = None,
    headers: Headers | None = None,
    reconnect: bool = False,
    max_reconnects: int = 3,
    bin: str | None = None,
    connect_timeout: float = 10.0,
    stop: asyncio.Event | None = None,
    max_message_size: int = DEFAULT_MAX_MESSAGE,
) -> RecordSummary:
    """Coroutine behind :func:`record` (``await`` it on a loop that may block briefly)."""
    url, sent_headers = _check(url, duration, max_messages, max_message_size, headers)
    outgoing = _messages(send)
    target = _target_store(store, lab)
    summary = RecordSummary(url=_recorded_url(url))  # (as the captures say it: README)
    rec = _Recorder(url, target, bin, summary, sent_headers)
    loop = asyncio.get_running_loop()
    started = loop.time()
    deadline = None if duration is None else started + duration
    stop = stop or asyncio.Event()
    if isinstance(stop, _Stop):
        rec.at_once = stop.at_once
    stop_task = asyncio.ensure_future(stop.wait())
    rec.fail_task = asyncio.ensure_future(rec.failure.wait())
    attempt = 0
    try:
        while True:
            rec.conn_id = f"{rec.rec_id}-{attempt}"
            ended_by_server = await _one_connection(
                rec, outgoing, sent_headers, connect_timeout, deadline, max_messages, stop_task,
                attempt,
                max_message_size,
            )
            if not ended_by_server or rec.failed is not None:
                break
            if not reconnect or attempt >= max_reconnects:
                summary.stopped_by = summary.stopped_by or (
                    "server closed" if not reconnect else f"gave up after {attempt} reconnects"
                )
                break
            attempt += 1
            summary.reconnects = attempt
            wait = min(0.1 * 2 ** (attempt - 1), 2.0)
            asked = rec.retry_after  # (a refusal's Retry-After: honoured, up to a bound)
            if asked is not None:
                wait = max(wait, min(asked, _MAX_RETRY_AFTER))
            if deadline is not None and loop.time() + wait >= deadline:
                summary.stopped_by = "duration"
                if asked is not None and asked > 0:
                    summary.errors.append(f"the server asked to retry after {asked:g} s "
                                          "(Retry-After), past the end of duration")
                break
            # (FIRST_COMPLETED: a stop() ends the wait, which asyncio.wait's default, all of
            # them, held until its end; with a Retry-After that is up to a minute)
            done, _ = await asyncio.wait({stop_task, rec.fail_task}, timeout=wait,
                                         return_when=asyncio.FIRST_COMPLETED)
            if stop_task in done:
                summary.stopped_by = "stopped"
            if done:
                break
    finally:
        stop_task.cancel()
        rec.fail_task.cancel()
        summary.seconds = loop.time() - started
        await _stored_ids(rec)
    if rec.failed is not None:
        said = f"{type(rec.failed).__name__}: {rec.failed}"
        summary.stopped_by = f"store failed ({said})"
        summary.errors.append(f"the store failed ({said}): the recording stopped")
        closed = (" and closed the connection with 1011 (internal error)"
                  if summary.closes and summary.closes[-1][:1] == (_STORE_FAILED[0],) else "")
        raise RecordingError(
            f"recording {summary.url} stopped: its captures could not be stored ({said}); hooklab "
            f"stopped recording{closed}. {len(summary.capture_ids)} captures were stored (the "
            "exception's .summary says what was recorded)", summary) from rec.failed
    return summary


async def _stored_ids(rec: _Recorder) -> None:
    """The ids of the captures stored, in order, once the store has confirmed them (at most
    :data:`_STORE_WAIT` seconds); a capture not stored is the recording's failure."""
    with rec._lock:
        futures = list(rec.waiting.values())
    waiting = [asyncio.wrap_future(fut) for fut in futures]
    if waiting:
        # (asyncio.wait, not wait_for: a timed-out wait_for cancels the store's future, which
        # its writer would then fail to answer)
        await asyncio.wait(waiting, timeout=_STORE_WAIT)
    for fut in waiting:
        if not fut.done():
            rec.fail(TimeoutError(f"the store did not confirm the captures within {_STORE_WAIT:g} s"))
            break
        if fut.cancelled():
            rec.fail(RuntimeError("the store cancelled a capture's write"))
        elif fut.exception() is not None:
            rec.fail(fut.exception())  # (a no-op if it is already the failure)
    rec.uncount_failed()
    with rec._lock:
        rec.summary.capture_ids.extend(i for i in rec.ids if i is not None)


def _check(url: str, duration: float | None, max_messages: int | None,
           max_message_size: int = DEFAULT_MAX_MESSAGE,
           headers: Any = None) -> tuple[str, list[tuple[str, str]]]:
    """``ValueError`` / ``TypeError`` for what cannot be recorded: a URL that is not ws:// or
    wss:// (:func:`_checked_url`), a duration that is not 0 seconds or more, fewer than one
    message, a header that cannot be sent (:func:`_checked_headers`). Returns the URL and the
    headers as they are sent."""
    from numbers import Integral, Real

    if duration is not None and (isinstance(duration, bool) or not isinstance(duration, Real)):
        raise TypeError(f"duration must be seconds (a number), not {duration!r}")
    for name, value in (("max_messages", max_messages), ("max_message_size", max_message_size)):
        if (value is not None or name == "max_message_size") and (
                isinstance(value, bool) or not isinstance(value, Integral)):
            raise TypeError(f"{name} must be a whole number, not {value!r}")
    if max_message_size < 1:
        raise ValueError(f"max_message_size must be 1 byte or more, got {max_message_size!r}")

    url = _checked_url(url)
    if duration is not None and not duration >= 0:
        raise ValueError(f"duration must be seconds (0 or more), got {duration!r}")
    if max_messages is not None and max_messages < 1:
        raise ValueError(f"max_messages must be 1 or more, got {max_messages!r}")
    return url, _checked_headers(headers, url)


#: what an ``X-WS-Error`` value (an error's text, one line) holds as a space: a control character
_NOT_IN_HEADER = re.compile(r"[\x00-\x1f\x7f]")


def _checked_url(url: Any) -> str:
    r"""``url`` as a recording connects to it, its scheme in lower case (schemes are
    case-insensitive, RFC 3986 3.1), or ``ValueError`` (before connecting, the URL shown
    without its credentials): a character no request can carry as written, refused in
    ``hooklab.send``'s words (:func:`hooklab.outbound.sender.refuse_unsendable`: a control
    character anywhere, a space in the host, path or query: percent-encode it; whitespace
    before or after the URL: remove it), or a URL that does not begin with ws:// or wss://
    as written, a port that is none (:func:`hooklab.outbound.sender.url_port`:
    past 65535, or not digits alone, in send's words), no host. An empty port (``host:/``)
    is the scheme's (RFC 3986 3.2.3): the URL is returned without it.

    >>> _checked_url("WS://127.0.0.1:9000/feed"), _checked_url("ws://127.0.0.1:/feed")
    ('ws://127.0.0.1:9000/feed', 'ws://127.0.0.1/feed')
    >>> _checked_url("ws://127.0.0.1:9000/fe\ted")
    Traceback (most recent call last):
    ...
    ValueError: URL 'ws://127.0.0.1:9000/fe\ted' holds the control character U+0009 at
    character 23: no URL holds one (a tab or line break would be dropped and another URL sent
    than the one written); percent-encode it (%09 for a tab)
    """
    if not isinstance(url, str):
        raise ValueError(f"hooklab.ws.record needs a ws:// or wss:// URL, got a "
                         f"{type(url).__name__}")
    refuse_unsendable(url)  # (first, as send: before urlsplit drops a tab or line break, or
    # strips a space before the URL, a slip to remove: said so, as send says it)
    scheme = re.match(r"(?i)wss?(?=://)", url)
    if scheme is None:
        raise ValueError(f"hooklab.ws.record needs a ws:// or wss:// URL, got "
                         f"{shown_url(url, 200)}")
    url = scheme.group().lower() + url[scheme.end():]
    port = url_port(url)  # (send's words: 99999 connected to port 34463, +80 was "no host")
    if not urlsplit(url).hostname:
        raise ValueError(f"hooklab.ws.record needs a ws:// or wss:// URL with a host, got "
                         f"{shown_url(url, 200)}")
    if port is None:  # ("host:" names the scheme's port, RFC 3986 3.2.3, as send reads it;
        # Tornado looked the name "host:" up): the URL without the empty port
        start = url.index("//") + 2
        end = start + len(re.match(r"[^/?#]*", url[start:]).group())  # type: ignore[union-attr]
        if url[start:end].endswith(":"):
            url = url[:end - 1] + url[end:]
    return url


def _checked_headers(headers: Any, url: str) -> list[tuple[str, str]]:
    r"""``headers=`` as they are sent: every one checked as ``hooklab.send`` checks its own
    (:func:`hooklab.outbound.check_headers`: a name that is no token, a value with a CR, LF,
    NUL or another control character is ``ValueError`` naming the header, never quoting its
    value; an ``int`` goes as its digits), before anything is stored or sent. An
    ``Authorization`` header beside credentials in the URL (``ws://user:pw@host/``) is a
    ``ValueError`` too: the URL's would be sent as Basic credentials in its place.

    >>> _checked_headers({"X-Client": "notebook", "X-Id": 7}, "ws://127.0.0.1:9000/feed")
    [('X-Client', 'notebook'), ('X-Id', '7')]
    >>> _checked_headers({"Authorization": "Bearer sk_1\n"}, "ws://127.0.0.1:9000/feed")
    Traceback (most recent call last):
    ...
    ValueError: header 'Authorization' has an invalid value: U+000A at character 12 of 12 is
    a line break: it would end the header and start another one (the value is not shown: it
    may be a secret; a value holds visible characters, spaces, tabs and 0x80-0xFF)
    """
    sent = check_headers(headers)
    if urlsplit(url).netloc.rpartition("@")[1] and any(
            name.lower() == "authorization" for name, _ in sent):
        raise ValueError("the URL has credentials (user:password@host) and headers= has an "
                         "Authorization header: the URL's would be sent, as Basic "
                         "credentials, in its place; give one of them (neither is shown)")
    return sent


async def _one_connection(
    rec: _Recorder,
    outgoing: list[Message],
    headers: list[tuple[str, str]],
    connect_timeout: float,
    deadline: float | None,
    max_messages: int | None,
    stop_task: asyncio.Future,
    attempt: int,
    max_message_size: int = DEFAULT_MAX_MESSAGE,
) -> bool:
    """Record one connection. True when it ended on the server's side (a reconnect candidate)."""
    s = rec.summary
    loop = asyncio.get_running_loop()
    # messages are recorded as they arrive (a server's greeting before what the client sends;
    # read after the sends, it was recorded after them), the first ones once OPEN is
    arrived: asyncio.Queue[Message | None] = asyncio.Queue()
    early: list[Message | _Control | None] | None = []
    closed = False  # (CLOSE recorded: what comes after, if anything, is not this connection's)
    rec.new_connection()

    def on_message(msg: Message | _Control | None) -> None:
        if early is not None:
            early.append(msg)
            return
        if closed:
            return
        if isinstance(msg, _Control):  # (a ping or pong: no message, nothing to wait for)
            rec.control(msg)
            return
        if msg is not None:
            if max_messages is None or s.received < max_messages:
                rec.frame("RECV", msg)
            elif rec.failed is None:  # (past max_messages: hooklab is closing; counted only)
                s.messages_not_stored += 1
        arrived.put_nowait(msg)

    assert rec.fail_task is not None
    gave_up: list[str] = []  # (why the handshake was given up on, when it was)
    opening: _Connection | None = None
    try:
        conn = opening = _connect(rec.connect_url, headers, connect_timeout, on_message,
                                  max_message_size, rec.echoes)

        def give_up(why: str) -> None:
            if not conn.connect_future.done():
                gave_up.append(why)
                conn.abandon(f"the handshake was not over when the recording ended ({why})")

        # the handshake (bounded by connect_timeout) against the end of the recording: a
        # server that accepts the TCP connection and never answers must not outlast
        # ``duration``, a stop() (Ctrl-C) or a failed store. (Callbacks that give up on it,
        # not asyncio.wait, whose extra turns of the loop let a server's first messages come
        # before what we send: the connection is ours as soon as its handshake is over)
        on_stop, on_fail = (lambda _: give_up("stopped")), (lambda _: give_up("store failed"))
        stop_task.add_done_callback(on_stop)
        rec.fail_task.add_done_callback(on_fail)
        timer = None if deadline is None else loop.call_at(deadline, give_up, "duration")
        try:
            conn = await conn.connect_future
        finally:
            stop_task.remove_done_callback(on_stop)
            rec.fail_task.remove_done_callback(on_fail)
            if timer is not None:
                timer.cancel()
    except Exception as exc:  # noqa: BLE001 - recorded, then maybe retried
        if gave_up:
            if rec.failed is None:
                msg = ("WebSocketError: the server had not answered the handshake when the "
                       f"recording ended ({'stop()' if gave_up[0] == 'stopped' else 'duration'})")
                s.errors.append(msg)
                rec.add("ERROR", msg.encode(), [("X-WS-Attempt", str(attempt))], status=0)
            s.stopped_by = gave_up[0]
            return False
        msg = _error_text(exc, rec.connect_url, headers, rec.echoes)
        if isinstance(exc, simple_httpclient.HTTPTimeoutError):  # (which limit it was)
            msg += f" (connect_timeout={connect_timeout:g} s)"
        s.errors.append(msg)
        s.stopped_by = f"could not connect ({msg})"  # (kept unless a reconnect gets through)
        said: list[tuple[str, str]] = [("X-WS-Attempt", str(attempt))]
        if opening is not None and opening.code is not None and opening.code != 101:
            # the server answered, and refused (401, 429...): its status, headers (their
            # credentials hidden) and body (the beginning) say why
            rec.retry_after = _retry_after(opening.headers)
            said.append(("X-WS-Error", _NOT_IN_HEADER.sub(" ", msg)[:500]))
            body, cut = _refusal_body(opening, rec.echoes)
            said += _answer_headers(opening, rec.echoes, cut)
            rec.add("ERROR", body, said, status=opening.code)
        else:
            rec.add("ERROR", msg.encode(), said, status=0)
        return True
    s.stopped_by = ""
    s.connections += 1
    proto = conn.protocol  # (conn.close() forgets it)
    assert isinstance(proto, _Protocol)
    # (the 101 answer's headers as the server sent them, but for echoes of the credentials
    # the request sent; its own Set-Cookie... stay, as a webhook's headers do)
    resp = ([(rec.echoes.text(k, name=True), rec.echoes.text(v))
             for k, v in conn.headers.get_all()]
            if conn.headers is not None else [])
    rec.add("OPEN", b"", [("X-WS-Attempt", str(attempt)), *resp])
    waiting, early = early, None
    for msg in waiting:
        on_message(msg)
    by_server = False
    try:
        unsent = await _send_all(rec, conn, proto, outgoing)
        if unsent:
            # the connection closed before they went out (the server's close frame came
            # first): not recorded, not counted, said; no data frame follows a close frame
            # (RFC 6455 5.5.1)
            s.errors.append(f"connection {attempt + 1}: {unsent} of the {len(outgoing)} send= "
                            "messages were not sent: the connection closed first")
            by_server = True
        while rec.failed is None and not by_server:
            if max_messages is not None and s.received >= max_messages:
                s.stopped_by = "max_messages"
                break
            timeout = None if deadline is None else deadline - loop.time()
            if timeout is not None and timeout <= 0:
                s.stopped_by = "duration"
                break
            read = asyncio.ensure_future(arrived.get())
            assert rec.fail_task is not None
            done, _ = await asyncio.wait({read, stop_task, rec.fail_task}, timeout=timeout,
                                         return_when="FIRST_COMPLETED")
            if read not in done:
                read.cancel()
                if rec.fail_task not in done:
                    s.stopped_by = s.stopped_by or ("stopped" if stop_task in done else "duration")
                break
            if read.result() is None:
                by_server = True
                break
    except websocket.WebSocketClosedError:
        by_server = True
    extra: list[tuple[str, str]] = []
    if by_server and proto.failed is not None:
        # the server broke the protocol: hooklab failed the connection (RFC 6455 7.1.7) with
        # 1002 or 1007, saying why. Not retried: the server would do it again
        by_server = False
        code, reason, extra = proto.failed
        closed_by = "client"
        s.stopped_by = f"closed by hooklab ({code} {reason})"
        s.errors.append(f"connection {attempt + 1}: the server broke the WebSocket protocol "
                        f"({reason}); hooklab closed with {code}")
    elif by_server and proto.closed_first is not None:
        # Tornado closed it itself, for a message over max_message_size (1009): our limit, not
        # the server's doing, and not retried (the server would send the same message again)
        by_server = False
        sent_code, sent_reason = proto.closed_first
        code, reason, closed_by = sent_code or 1000, sent_reason or "", "client"
        if code == 1009:
            s.stopped_by = f"message too big (over max_message_size={max_message_size} bytes)"
            s.errors.append(f"connection {attempt + 1}: a message over max_message_size="
                            f"{max_message_size} bytes, closed with 1009 (raise "
                            "max_message_size to record bigger ones)")
        else:
            s.stopped_by = f"closed by hooklab ({code} {reason})".strip()
    elif by_server:
        # RFC 6455 7.1.5: a close frame without a status code is 1005; no close frame at all,
        # the connection cut, is 1006 (as browsers say)
        # (its reason is the server's text, as a refusal's body: an echo of the credentials
        # the request sent is [secret] there too, and in the summary's closes)
        closed_by, reason = "server", rec.echoes.text(conn.close_reason or "")
        if conn.close_code is not None:
            code = conn.close_code
        elif proto.close_frame_received:
            code = 1005
        else:
            code = 1006
            s.errors.append(f"connection {attempt + 1} ended without a close frame (cut by the "
                            "server)")
    else:
        # we close: 1000, or 1011 (internal error) when the store failed, so the server sees a
        # proper close and not a connection left open, or cut. What the server sends until its
        # own close frame answers ours is still the conversation: recorded before CLOSE, which
        # is recorded once the closing handshake is over (as the server's CLOSE is)
        code, reason = (1000, "recording finished") if rec.failed is None else _STORE_FAILED
        closed_by = "client"
        conn.close(code, reason)
        if not await _closing_handshake(arrived, rec.at_once):
            # stopped again while waiting for the server's close frame (a second Ctrl-C): cut
            # the connection now, as Tornado does after 5 s without an answer
            proto._abort()
            s.errors.append(f"connection {attempt + 1}: hooklab did not wait for the server's "
                            "close frame (stopped again while it waited): the connection was cut")
        if proto.failed is not None:  # (in its answer to our close frame)
            s.errors.append(f"connection {attempt + 1}: the server broke the WebSocket protocol "
                            f"while closing ({proto.failed[1]})")
    if conn.protocol is not None:  # (ended by the server or a protocol failure: Tornado's
        conn.close()  # connection object warns at collection of one it was never told of)
    if proto.bad_message is not None:  # (the message the connection failed on, as it came)
        data, why = proto.bad_message
        rec.frame("RECV", data, 1, [("X-WS-Invalid", why)])
    closed = True
    s.closes.append((code, reason, closed_by))
    rec.add(
        "CLOSE",
        (reason or "").encode(),
        [("X-WS-Closed-By", closed_by), ("X-WS-Close-Code", "" if code is None else str(code)),
         *extra],
        status=code or 0,
    )
    return by_server


async def _send_all(rec: _Recorder, conn: _Connection, proto: _Protocol,
                    outgoing: list[Message]) -> int:
    """Send ``outgoing`` in order, each recorded once Tornado has taken its frame (before
    anything the server answers is recorded); how many were not sent, the connection closed
    (a close frame either way, or the stream) before them. One whose frame the connection
    closed on before it was all written is marked: an ERROR capture names its ``X-WS-Seq``,
    and it is not counted as sent."""
    for i, msg in enumerate(outgoing):
        if rec.failed is not None:
            return 0
        if proto.client_terminated or proto.server_terminated or conn.protocol is None:
            return len(outgoing) - i
        try:
            written = conn.write_message(msg, binary=isinstance(msg, bytes))
        except websocket.WebSocketClosedError:
            return len(outgoing) - i
        seq = rec.frame("SEND", msg)
        try:
            await written
        except websocket.WebSocketClosedError:
            if seq is not None:
                rec.not_sent(seq, msg)
            return len(outgoing) - i
    return 0


def _error_text(exc: BaseException, url: str, headers: list[tuple[str, str]],
                echoes: _Echoes | None = None) -> str:
    """What a recording says of a failed connect: ``Type: message`` without the URL's
    credentials (:func:`~hooklab.credentials.scrubbed_text`) nor, given ``echoes``, any
    credential the request sent however the server's words spell it (a reason phrase
    quoting ``Authorization``: :meth:`_Echoes.text`), or, when the message quotes a
    request header's value (a long enough piece of it: Tornado's errors can quote a whole
    header line), hooklab's own words instead: header values are often credentials, and
    this text is stored, streamed and shown in the summary.

    >>> _error_text(ValueError("bad header: b'Authorization: Bearer sk_live_1'"),
    ...             "ws://127.0.0.1:9/feed", [("Authorization", "Bearer sk_live_1")])
    'ValueError (its message is not shown: it quotes a request header, which may hold a credential)'
    >>> _error_text(ConnectionRefusedError(111, "Connection refused"),
    ...             "ws://u:pw@127.0.0.1:9/feed?token=t0k", [])
    'ConnectionRefusedError: [Errno 111] Connection refused'
    """
    text = f"{type(exc).__name__}: {exc}"
    for _, value in headers:
        pieces = {value.strip(), *re.findall(r"[^\s'\"\\]{6,}", value)}
        for piece in pieces:
            if len(piece) >= 6 and any(spelling in text for spelling in (
                    piece, repr(piece)[1:-1], repr(piece.encode("latin-1"))[2:-1])):
                return (f"{type(exc).__name__} (its message is not shown: it quotes a request "
                        "header, which may hold a credential)")
    text = scrubbed_text(text, url)
    return text if echoes is None else echoes.text(text)


def _secrets_sent(url: str, headers: list[tuple[str, str]]) -> list[str]:
    """The credentials a connect sends: the URL's (:func:`~hooklab.credentials.url_secrets`,
    as written and decoded), the values of credential headers (``Authorization``,
    ``X-Api-Key``, ``*-Token``...), whole and without their scheme (``Bearer``), a
    ``Cookie``'s values (:func:`_cookie_values`) and tokens offered as subprotocols
    (:func:`_subprotocol_secrets`)."""
    found = list(url_secrets(url))
    split = urlsplit(url)
    if split.netloc.rpartition("@")[1]:  # (sent as Basic credentials: "user:password", base64;
        # the userinfo percent-decoded to its bytes, as record() sends it (and curl), and as
        # written, as Tornado sent it before: a server may echo either)
        basic = f"{split.username or ''}:{split.password or ''}"
        sent = unquote_to_bytes(split.username or "") + b":" + unquote_to_bytes(split.password or "")
        for userpass in {basic.encode("utf-8"), unquote(basic).encode("utf-8"), sent}:
            found.append(base64.b64encode(userpass).decode("ascii"))
    values: list[str] = []
    for name, value in headers:
        if is_sensitive_header(name) or is_credential_query(name):
            values += [value.strip(), value.strip().rpartition(" ")[2]]
        if name.strip().lower() == "cookie":
            values += _cookie_values(value)
        if name.strip().lower() == "sec-websocket-protocol":
            values += _subprotocol_secrets(value)
    for value in values:  # (a value is text of the bytes sent, one a character: its UTF-8
        found.append(value)  # reading too, as a server that reads UTF-8 quotes it, escaped)
        try:
            found.append(value.encode("latin-1").decode("utf-8"))
        except UnicodeError:
            pass
    # (a short one is only found as a word of its own, :class:`_Echoes`; one or two
    # characters are no secret to keep, and looking for them would take every "0" or "1"
    # out of the answer, its Content-Length too)
    return sorted({v for v in found if len(v) >= _SHORTEST_SECRET}, key=len, reverse=True)


#: a JSON Web Token (three base64url parts; its header, ``{"``, begins ``eyJ``)
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


def _subprotocol_secrets(header: str) -> list[str]:
    """The credentials among the subprotocols a request offers (``Sec-WebSocket-Protocol``:
    how a browser sends a token on a WebSocket, as it cannot set ``Authorization``): an
    offered value after one that names a credential (``access_token, <JWT>``,
    ``Authorization, <token>``: :func:`~hooklab.credentials.is_credential_query`), what
    follows such a name among the dotted words of a value
    (``base64url.bearer.authorization.k8s.io.<token>``: all of it, and its last word), and a
    JWT anywhere. A protocol's name (``graphql-ws``, ``mqtt``, ``v12.stomp``) is none.

    >>> _subprotocol_secrets("graphql-ws, access_token, t0k_123")
    ['t0k_123']
    >>> _subprotocol_secrets("base64url.bearer.authorization.k8s.io.ZXlK, v4.channel.k8s.io")
    ['k8s.io.ZXlK', 'ZXlK']
    >>> _subprotocol_secrets("eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.")
    ['eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.']
    """
    offered = [p.strip() for p in header.split(",") if p.strip()]
    found: list[str] = []
    for i, protocol in enumerate(offered):
        if i and is_credential_query(offered[i - 1]):
            found.append(protocol)
        words = protocol.split(".")
        named = [k for k, word in enumerate(words[:-1]) if is_credential_query(word)]
        if named:
            found += [".".join(words[named[-1] + 1 :]), words[-1]]
        found += _JWT.findall(protocol)
    return list(dict.fromkeys(found))


def _cookie_values(header: str) -> list[str]:
    """The values of a ``Cookie`` header's cookies (``name=value; name=value``, RFC 6265
    5.4), each as sent, without the quotes around it, and percent-decoded (as a server that
    read it may quote it): each is a credential (a session id), their names are not.

    >>> _cookie_values('connect.sid=s%3Aq9; theme=dark; csrf="t0k"')
    ['s%3Aq9', 's:q9', 'dark', 't0k']
    """
    found: list[str] = []
    for pair in header.split(";"):
        name, eq, value = pair.partition("=")
        value = value.strip().strip('"')
        if eq and value:
            found += dict.fromkeys((value, unquote(value)))
    return found


def _hex_any_case(number: int, width: int) -> bytes:
    """A regular expression of ``number`` in hexadecimal (at least ``width`` digits), its
    letters in either case."""
    return b"".join(b"[%c%c]" % (c, c ^ 0x20) if c >= 0x61 else b"%c" % c
                    for c in b"%0*x" % (width, number))


#: how JSON writes a character it escapes with a backslash (PHP's ``json_encode`` writes a
#: ``/`` as ``\/``), and the character references HTML names
_JSON_ESCAPES = {"/": rb"\/", '"': rb"\"", "\\": rb"\\"}
_HTML_NAMED = {"&": b"&amp;", "<": b"&lt;", ">": b"&gt;", '"': b"&quot;", "'": b"&apos;"}
#: the most bytes one character of a credential takes as :func:`_spelled` finds it (4 bytes
#: of UTF-8, each percent-encoded twice: ``%25F0``...)
_SPELLED_REACH = 20


def _spelled(secret: str, codec: str) -> bytes:
    r"""A regular expression of ``secret`` as a server may echo it: its bytes in ``codec``
    as sent, or with any of them percent-encoded, once or twice, in either case (``/`` as
    ``%2F``, ``%2f``, ``%252F``: a redirect's ``Location`` quoting the URL asked for), a space
    as ``+`` too; a character other than an ASCII letter or digit also as JSON escapes it
    (``\/``, ``\"``, ``\u00e9``, a surrogate pair past U+FFFF) and as an HTML character
    reference (``&#43;``, ``&#x2B;``, ``&amp;``). ``UnicodeEncodeError`` when ``codec``
    cannot write it.

    >>> [bool(re.fullmatch(_spelled("a/+é", "utf-8"), s))
    ...  for s in (b"a/+\xc3\xa9", b"a%2F%2B%C3%A9", rb"a\/+\u00E9", b"a&#x2f;&#43;&#233;")]
    [True, True, True, True]
    """
    parts = []
    for char in secret:
        ways = [b"".join(b"(?:%s|%%(?:25)?%s%s)" % (re.escape(bytes([byte])),
                                                  _hex_any_case(byte, 2),
                                                  rb"|\+" if byte == 0x20 else b"")
                         for byte in char.encode(codec))]
        if not (char.isascii() and char.isalnum()):
            code = ord(char)
            units = ([code] if code < 0x10000 else
                     [0xD800 + ((code - 0x10000) >> 10), 0xDC00 + ((code - 0x10000) & 0x3FF)])
            ways += [b"".join(rb"\\u" + _hex_any_case(unit, 4) for unit in units),
                     b"&#%d;" % code, b"&#[xX]" + _hex_any_case(code, 1) + b";"]
            ways += [re.escape(spelt) for spelt in (_JSON_ESCAPES.get(char), _HTML_NAMED.get(char))
                     if spelt is not None]
        parts.append(ways[0] if len(ways) == 1 else b"(?:" + b"|".join(ways) + b")")
    return b"".join(parts)


#: a credential sent shorter than this (characters) is found again only as a word of its
#: own (:class:`_Echoes`): a 4-character ``?token=test`` must not cut ``contest`` apart
_SHORT_SECRET = 8
#: a credential sent shorter than this (``?sig=1``) is not looked for in the answers
_SHORTEST_SECRET = 3
#: where a short credential's echo may begin: not after a letter, digit or ``_``, but after
#: a percent-escape (``%3Dk7Q``: ``=k7Q`` encoded, once or twice)
_WORD_BEFORE = rb"(?:(?<![A-Za-z0-9_])|(?<=%[0-9A-Fa-f]{2})|(?<=%25[0-9A-Fa-f]{2}))"
_WORD_AFTER = rb"(?![A-Za-z0-9_])"


class _Echoes:
    """The credentials a connect sends (:func:`_secrets_sent`: the URL's userinfo, credential
    query values, credential header values), found again in what the server answered and
    replaced by ``[secret]``: a server that echoes the request (a redirect's ``Location``
    keeping ``?token=``, a debug header repeating ``X-Api-Key``) must not put back in the
    store what the recording's own ``url`` and ``query`` hide. Each is found as sent, in
    UTF-8 or Latin-1 (how HTTP header text is read), and percent-encoded; one shorter than
    :data:`_SHORT_SECRET` characters (3 at least) only as a word of its own (not inside a longer run of
    letters, digits and ``_``; a percent-escape before it ends a word) and never in a
    header's name: ``?token=test`` leaves ``contest``, ``testbed/1.0`` and ``X-Test-Mode`` be.

    >>> echoes = _Echoes("ws://127.0.0.1:9/feed?token=tok_a/b", [("X-Api-Key", "key_123")])
    >>> echoes.text("/login?next=%2Ffeed%3Ftoken%3Dtok_a%2Fb")
    '/login?next=%2Ffeed%3Ftoken%3D[secret]'
    >>> echoes.headers([("X-Echo", "key=key_123; ok"), ("Set-Cookie", "sid=1")])
    [('X-Echo', 'key=[secret]; ok'), ('Set-Cookie', '<hidden: 5 chars>')]
    >>> _Echoes("ws://127.0.0.1:9/feed?key=test", []).text("retest: test%2C contest")
    'retest: [secret]%2C contest'
    """

    def __init__(self, url: str, headers: list[tuple[str, str]]) -> None:
        secrets = _secrets_sent(url, headers)
        spellings: dict[bytes, str] = {}  # (a regular expression: the secret it finds)
        for secret in secrets:
            for codec in ("utf-8", "latin-1"):
                try:
                    spellings.setdefault(_spelled(secret, codec), secret)
                except UnicodeEncodeError:
                    pass
        # (one pass, the longest first: a mark is never read again as part of a secret)
        ordered = sorted(spellings, key=lambda s: (-len(spellings[s]), -len(s), s))
        short = {s: len(spellings[s]) < _SHORT_SECRET for s in ordered}
        either = b"|".join(_WORD_BEFORE + s + _WORD_AFTER if short[s] else s for s in ordered)
        self.pattern = re.compile(either) if ordered else None
        # (a header name is read in any case: Tornado writes "X-Key_headersecret" for
        # "X-key_HEADERSECRET"; a short secret is never looked for there)
        longer = b"|".join(s for s in ordered if not short[s])
        self.name_pattern = re.compile(longer, re.IGNORECASE) if longer else None
        #: the most bytes an echo of one of them can take
        self.reach = _SPELLED_REACH * max(map(len, secrets), default=0)

    def bytes(self, data: bytes) -> bytes:
        """``data`` with every echo of a credential sent as ``[secret]``."""
        return data if self.pattern is None else self.pattern.sub(b"[secret]", data)

    def text(self, text: str, *, name: bool = False) -> str:
        """``text`` (a header value, a close reason; a header ``name``, matched in any case,
        a short secret not looked for) with every echo as ``[secret]``: read as the bytes it
        came as (Latin-1, as HTTP header text is read; UTF-8 past that)."""
        pattern = self.name_pattern if name else self.pattern
        if pattern is None:
            return text
        codec = "latin-1" if all(c <= "\xff" for c in text) else "utf-8"
        data = text.encode(codec, "surrogatepass")
        scrubbed = pattern.sub(b"[secret]", data)
        return text if scrubbed == data else scrubbed.decode(codec, "surrogatepass")

    def headers(self, headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        """A server's answer headers as a capture keeps them: a credential's value
        (``Set-Cookie``...) as its length (:func:`~hooklab.credentials.hidden_value`), every
        echo of a credential sent, in a name or a value, as ``[secret]``."""
        return [(self.text(k, name=True),
                 hidden_value(v) if is_sensitive_header(k) else self.text(v))
                for k, v in headers]


def _answer_headers(conn: _Connection, echoes: _Echoes, cut: bool) -> list[tuple[str, str]]:
    """The headers of a refused handshake's answer, as its ERROR capture keeps them
    (:meth:`_Echoes.headers`: a credential's value hidden, the credentials the request sent
    as ``[secret]``), and ``X-WS-Body-Truncated`` when the body kept is its beginning
    (``cut``)."""
    kept = [] if conn.headers is None else echoes.headers(conn.headers.get_all())
    if conn.inflater is not None and not conn.encoded:  # (decoded: said as Tornado says gzip)
        kept = [("X-Consumed-Content-Encoding" if k.lower() == "content-encoding" else k, v)
                for k, v in kept]
    if cut:
        kept.append(("X-WS-Body-Truncated", f"the first {_REFUSAL_BODY} bytes are kept"))
    return kept


def _refusal_body(conn: _Connection, echoes: _Echoes) -> tuple[bytes, bool]:
    """The body a refused handshake's ERROR capture keeps, and whether it is cut short: at
    most :data:`_REFUSAL_BODY` bytes, the echoes of the credentials sent hidden before it is
    cut (an echo across the cut is not kept, nor its beginning). A body in an encoding it
    could not be decoded from (``br``, a broken deflate) is kept as it came only when no
    credential was sent: otherwise an echo could not be told, and a note says so."""
    data = bytes(conn.raw if conn.encoded and conn.inflater is not None else conn.chunks)
    if conn.encoded:
        if echoes.pattern is not None:
            return (f"<body not kept: Content-Encoding {conn.encoded[:40]!r} could not be "
                    "decoded to hide the credentials the request sent>").encode(), False
        return data[:_REFUSAL_BODY], conn.body_cut or len(data) > _REFUSAL_BODY
    kept, cut = echoes.bytes(data), conn.body_cut
    if cut:  # (what was read ends inside the body: an echo there may be cut short)
        kept = kept[: max(len(kept) - echoes.reach, 0)]
    if len(kept) > _REFUSAL_BODY:
        kept, cut = kept[:_REFUSAL_BODY], True
    return kept, cut


def _retry_after(headers: httputil.HTTPHeaders | None) -> float | None:
    """Seconds a refusal's ``Retry-After`` asks to wait (RFC 9110 10.2.3: seconds, or an HTTP
    date), None when there is none to read.

    >>> _retry_after(httputil.HTTPHeaders({"Retry-After": "30"}))
    30.0
    >>> _retry_after(httputil.HTTPHeaders({"Retry-After": "soon"})) is None
    True
    """
    value = None if headers is None else headers.get("Retry-After")
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value[:9])  # (more digits than that are "a long time": the cap says it)
    from datetime import datetime, timezone
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


async def _closing_handshake(arrived: asyncio.Queue[Message | None],
                             at_once: asyncio.Event | None = None) -> bool:
    """After our close frame: wait for the end of the connection (the server's close frame,
    or Tornado giving up on it after 5 s), at most :data:`_CLOSE_WAIT` seconds; False when
    ``at_once`` was set first (the recording was stopped again: the caller cuts the
    connection). Messages that come meanwhile are recorded by the message callback; this only
    waits for its ``None``."""
    loop = asyncio.get_running_loop()
    end = loop.time() + _CLOSE_WAIT
    hurry = asyncio.ensure_future((at_once or asyncio.Event()).wait())
    try:
        while (left := end - loop.time()) > 0:  # (bounded: by time)
            read = asyncio.ensure_future(arrived.get())
            done, _ = await asyncio.wait({read, hurry}, timeout=left,
                                         return_when=asyncio.FIRST_COMPLETED)
            if read not in done:
                read.cancel()
                return hurry not in done
            if read.result() is None:
                return True
        return True
    finally:
        hurry.cancel()


class Recording:
    """A recording running in a helper thread: ``stop()``, ``result(timeout)``, ``done``."""

    def __init__(self, url: str, **kwargs: Any) -> None:
        _check(url, kwargs.get("duration"), kwargs.get("max_messages"),
               kwargs.get("max_message_size", DEFAULT_MAX_MESSAGE), kwargs.get("headers"))
        kwargs["send"] = _messages(kwargs.get("send"))  # (a wrong send= raises here, not in
        # the recording's thread)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: _Stop | None = None
        self._stop_asked = False
        self._hurry_asked = False  # (a second Ctrl-C: do not wait for the server's close)
        # set when _run is over, result or error in place: what result() waits on. Not
        # Thread.join()/is_alive(): on Python 3.11 a join interrupted by Ctrl-C marks the thread
        # stopped while it still runs (CPython gh-90882), and result() found neither
        self._finished = threading.Event()
        self._result: RecordSummary | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._run, args=(url, kwargs), name="hooklab-ws-record", daemon=True
        )
        self._thread.start()

    def _run(self, url: str, kwargs: dict[str, Any]) -> None:
        async def main() -> RecordSummary:
            self._stop = _Stop()
            self._loop = asyncio.get_running_loop()
            if self._hurry_asked:  # (stop() came before this loop ran: it found no loop to tell)
                self._stop.hurry()
            elif self._stop_asked:
                self._stop.set()
            return await record_async(url, stop=self._stop, **kwargs)

        try:
            self._result = asyncio.run(main())
        except BaseException as exc:  # noqa: BLE001 - re-raised by result()
            self._error = exc
        finally:
            self._finished.set()

    @property
    def done(self) -> bool:
        return self._finished.is_set()

    def stop(self, timeout: float | None = 10.0) -> RecordSummary:
        """Close the connection cleanly and return the summary."""
        self._stop_asked = True  # (before reading _loop, which _run sets before reading this)
        self._tell("set")
        return self.result(timeout)

    def _tell(self, what: str) -> None:
        """Call the stop event's ``what`` (``set``, ``hurry``) on the recording's loop."""
        loop, ev = self._loop, self._stop
        if loop is not None and ev is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(getattr(ev, what))
            except RuntimeError:  # already finished
                pass

    def _stop_at_once(self, timeout: float = 10.0) -> RecordSummary:
        """Stop without waiting for the server's close frame (a second Ctrl-C: the connection
        is cut, its CLOSE recorded) and return the summary. Further Ctrl-Cs while the
        recording ends (milliseconds, the store confirming its last captures) are taken as
        this one, within ``timeout`` seconds (``TimeoutError`` past it)."""
        self._stop_asked = self._hurry_asked = True
        self._tell("hurry")
        deadline = time.monotonic() + timeout
        while True:  # (bounded: by the deadline)
            try:
                return self.result(max(0.0, deadline - time.monotonic()))
            except KeyboardInterrupt:
                if time.monotonic() >= deadline:
                    raise

    def result(self, timeout: float | None = None) -> RecordSummary:
        """Wait for the recording to end (``TimeoutError`` if it has not within ``timeout``)."""
        if not self._finished.wait(timeout):
            raise TimeoutError(f"recording still running after {timeout} s; call stop()")
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result


def start_recording(url: str, **kwargs: Any) -> Recording:
    """Like :func:`record` but returns at once; ``rec.stop()`` ends it and gives the summary."""
    return Recording(url, **kwargs)


def record(
    url: str,
    send: Message | dict[str, Any] | Iterable[Message | dict[str, Any]] | None = None,
    duration: float | None = None,
    max_messages: int | None = None,
    *,
    store: Any = None,
    lab: Any = None,
    headers: Headers | None = None,
    reconnect: bool = False,
    max_reconnects: int = 3,
    bin: str | None = None,
    connect_timeout: float = 10.0,
    max_message_size: int = DEFAULT_MAX_MESSAGE,
) -> RecordSummary:
    r"""Connect to ``url``, send ``send``, record every message both ways; return a summary.

    ``send``: a message (text, bytes, or a dict sent as JSON text) or a list of them, sent on
    every connection; text must encode as UTF-8 (``ValueError`` before connecting). A message
    over ``max_message_size`` bytes (16 MiB) ends the recording: hooklab closes with 1009.

    ``headers``: sent with the handshake, each checked first as ``hooklab.send`` checks its
    own (a name that is no token, a value with a CR, LF, NUL or another control character:
    ``ValueError`` naming the header, never quoting its value, before anything is stored or
    sent); not with credentials in the URL as well as an ``Authorization`` header.

    >>> hooklab.ws.record(ws_url, headers={"Authorization": "Bearer tok\n"}, lab=lab)
    Traceback (most recent call last):
    ...
    ValueError: header 'Authorization' has an invalid value: U+000A at character 11 of 11 is
    a line break: it would end the header and start another one (the value is not shown: ...)

    Stops after ``duration`` seconds, after ``max_messages`` received messages (at most that
    many are stored: the summary's ``messages_not_stored`` counts those the server sent
    before its close frame answered ours), or when the server closes (and reconnects are off or used up), whichever comes first;
    ``connect_timeout`` seconds bound each opening (TCP, TLS and the WebSocket handshake), and
    a handshake still under way when the recording ends is given up. Blocks the
    caller; safe inside Jupyter (runs on its own loop in a helper thread). Interrupting
    (Ctrl-C, "interrupt kernel") closes the connection cleanly and returns the summary; a
    second interrupt while hooklab waits for the server's close frame (up to 5 s) cuts the
    connection at once and still returns it (``errors`` says so, CLOSE is stored).
    """
    rec = Recording(
        url,
        send=send,
        duration=duration,
        max_messages=max_messages,
        store=store,
        lab=lab,
        headers=headers,
        reconnect=reconnect,
        max_reconnects=max_reconnects,
        bin=bin,
        connect_timeout=connect_timeout,
        max_message_size=max_message_size,
    )
    try:
        return rec.result()
    except KeyboardInterrupt:  # (Ctrl-C lands here, in this thread: the recording's goes on)
        pass
    try:
        return rec.stop()
    except KeyboardInterrupt:  # (a second one: the user wants out, not the server's close)
        pass
    return rec._stop_at_once()
