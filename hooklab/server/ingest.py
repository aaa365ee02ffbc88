"""The HTTP side of capture: Tornado message delegates that capture every request.

Used by :class:`hooklab.server.CaptureServer`: :class:`_Router` picks, per request, between a
:class:`_Capture` (every path except ``/_hooklab/``) and the ``/_hooklab/`` Tornado application.
:class:`_RecordingHTTPServer` keeps each request's raw head so header order survives parsing.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from tornado import httputil
from tornado.httpserver import HTTPServer
from tornado.iostream import IOStream, UnsatisfiableReadError

from ..capture import CaptureRecord, new_record
from ..providers import handshake_answer
from .responses import DEFAULT_RESPONSE, Response

if TYPE_CHECKING:
    from .lifecycle import CaptureServer

__all__ = [
    "DEFAULT_MAX_BODY", "MAX_HEAD", "RESERVED_PREFIX", "answer_headers", "capture_record", "deliver",
    "reason",
]

RESERVED_PREFIX = "/_hooklab"
DEFAULT_MAX_BODY = 16 * 1024 * 1024
MAX_HEAD = 1024 * 1024  # request line + headers; bigger heads get 414 / 431
#: after refusing a request (413, 414, 431) the rest of what the client sends is read and
#: dropped for at most this long / this much, so the client sees the status instead of a reset
_LINGER_SECONDS = 5.0
_LINGER_BYTES = 256 * 1024 * 1024
_LINGERING: set[asyncio.Future] = set()


_HTTP_WS = " \t"  # str.strip() would also eat \x85 and \xa0, i.e. the end of UTF-8 "à" or "Å"


def _parse_head(head: bytes) -> list[tuple[str, str]]:
    """Header lines of a raw request head, in received order, duplicates kept."""
    text = head.decode("latin-1").lstrip("\r\n")
    lines = text.split("\n")[1:]
    out: list[tuple[str, str]] = []
    for line in lines:
        line = line.rstrip("\r")
        if not line:
            continue
        if line[0] in " \t" and out:  # obsolete line folding
            k, v = out[-1]
            out[-1] = (k, f"{v} {line.strip(_HTTP_WS)}")
            continue
        name, sep, value = line.partition(":")
        if sep:
            out.append((name.strip(_HTTP_WS), value.strip(_HTTP_WS)))
    return out


def _refusal(status: int, message: str) -> bytes:
    body = f'{{"ok": false, "error": "{message}"}}'.encode()
    reason = httputil.responses.get(status, "Error")
    return (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\nServer: hooklab\r\n\r\n"
    ).encode() + body


async def _drain(sock: socket.socket) -> None:
    """Read and drop what the client still sends (bounded), then close: a lingering close."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _LINGER_SECONDS
    got = 0
    try:
        while got < _LINGER_BYTES:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            data = await asyncio.wait_for(loop.sock_recv(sock, 65536), remaining)
            if not data:
                break
            got += len(data)
    except (OSError, asyncio.TimeoutError):
        pass
    finally:
        sock.close()


def capture_record(
    srv: CaptureServer,
    method: str,
    target: str,
    headers: list[tuple[str, str]],
    body: bytes,
    remote: str,
    received_at: datetime | None,
    host: str | None,
    proto: str | None,
) -> tuple[CaptureRecord, Any]:
    """The store record for one received request, and the response rule that answers it."""
    if not host:
        host = f"{srv.host}:{srv.port}"
    scheme = "https" if proto == "https" else "http"
    record = new_record(method, target, headers, body, remote_addr=remote,
                        url=f"{scheme}://{host}{target}", received_at=received_at)
    response = srv.rules.match(method, record["path"])
    record["status"] = response.status
    if response is DEFAULT_RESPONSE and srv.handshakes is not None:  # a user's rule wins
        answer = handshake_answer(record, srv.handshakes)
        if answer is not None:
            answer.mark(record)
            if answer.status is not None:
                response = Response(answer.status, answer.body, answer.headers)
    return record, response


def reason(status: int) -> str:
    """The reason phrase Tornado sends with ``status``."""
    return httputil.responses.get(status, "Unknown")


def answer_headers(
    status: int, headers: list[tuple[str, str]], body: bytes, *, head_only: bool
) -> tuple[httputil.HTTPHeaders, bytes]:
    """Headers and payload of an answer, on both HTTP paths: Tornado's ``HTTPHeaders`` (its
    validation, name normalisation, grouping of repeats), ``Content-Length`` from the body
    (none for 1xx/204/304), ``Server: hooklab`` unless the rule set one; no payload for HEAD."""
    h = httputil.HTTPHeaders()
    for k, v in headers:
        h.add(k, v)
    bodiless = status in (204, 304) or status < 200
    if not bodiless:
        h["Content-Length"] = str(len(body))
    h.setdefault("Server", "hooklab")
    return h, (b"" if bodiless or head_only else body)


def deliver(
    result: Any,
    response: Any,
    write: Callable[[int, list[tuple[str, str]], bytes], None],
) -> None:
    """Answer one stored capture through ``write(status, headers, body)`` (after the rule's
    delay; 503 if it was not stored)."""
    from ..capture import Capture

    if not isinstance(result, Capture):
        msg = f'{{"ok": false, "error": "capture not stored: {type(result).__name__}"}}'
        write(503, [("Content-Type", "application/json")], msg.encode())
        return
    status, headers, body = response.render(result.id)
    headers.append(("X-Hooklab-Capture-Id", str(result.id)))
    if response.delay > 0:
        asyncio.get_running_loop().call_later(response.delay, write, status, headers, body)
    else:
        write(status, headers, body)


class _RecordingHTTPServer(HTTPServer):
    """Keeps each request's raw head on its stream so header order survives parsing.

    It also refuses over-long heads with 414 / 431 (Tornado would just close the connection)
    and closes refused connections gracefully (see :func:`_drain`).
    """

    def _linger(self, stream: IOStream, answer: bytes = b"") -> None:
        """Keep the connection open past Tornado's close: send ``answer``, FIN, drain, close."""
        try:
            sock = stream.socket.dup()
            sock.setblocking(False)
            if answer:
                sock.send(answer)  # a few hundred bytes: fits the empty send buffer
            sock.shutdown(socket.SHUT_WR)
        except (OSError, AttributeError):
            return
        task = asyncio.ensure_future(_drain(sock))
        _LINGERING.add(task)  # a strong reference until done
        task.add_done_callback(_LINGERING.discard)

    def _head_refusal(self, stream: IOStream) -> bytes:
        limit = self.conn_params.max_header_size
        buf = getattr(stream, "_read_buffer", None)  # Tornado internals: best effort only
        if isinstance(buf, (bytes, bytearray)) and buf.find(b"\n", 0, limit) < 0:
            return _refusal(414, f"request line longer than {limit} bytes")
        return _refusal(431, f"request head longer than {limit} bytes")

    def handle_stream(self, stream: IOStream, address: tuple) -> None:
        original_close = stream.close

        def close(exc_info: Any = False) -> None:
            if not stream.closed():
                if isinstance(exc_info, UnsatisfiableReadError):  # head over max_header_size
                    self._linger(stream, self._head_refusal(stream))
                elif getattr(stream, "_hooklab_linger", False):  # refusal already written
                    self._linger(stream)
            original_close(exc_info)

        stream.close = close  # type: ignore[method-assign]
        original = stream.read_until_regex

        def read_until_regex(regex: bytes, max_bytes: int | None = None):  # type: ignore[no-untyped-def]
            fut = original(regex, max_bytes=max_bytes)
            if fut.done():
                if not fut.cancelled() and fut.exception() is None:
                    stream._hooklab_head = fut.result()  # type: ignore[attr-defined]
                return fut
            # hand back a future that resolves only after the head is kept, so the parser
            # (which awaits it) always finds the raw head of the request it is parsing
            out: asyncio.Future = asyncio.get_running_loop().create_future()

            def keep(f: asyncio.Future) -> None:
                if out.done():
                    return
                if f.cancelled():
                    out.cancel()
                elif f.exception() is not None:
                    out.set_exception(f.exception())  # type: ignore[arg-type]
                else:
                    stream._hooklab_head = f.result()  # type: ignore[attr-defined]
                    out.set_result(f.result())

            fut.add_done_callback(keep)
            return out

        stream.read_until_regex = read_until_regex  # type: ignore[method-assign]
        super().handle_stream(stream, address)
        if stream.socket is not None and stream.socket.family == socket.AF_UNIX and address:
            # handed over by the fast path through a socket pair: Tornado would log and
            # report the client as 0.0.0.0; it is the TCP peer the fast path accepted
            for conn in self._connections:
                if getattr(conn, "stream", None) is stream:
                    conn.context.remote_ip = str(address[0])


class _Capture(httputil.HTTPMessageDelegate):
    """Receives one request on a capture path, stores it, answers after commit."""

    def __init__(self, server: CaptureServer, conn: httputil.HTTPConnection, context: Any) -> None:
        self.server = server
        self.conn = conn
        self.context = context
        self.chunks: list[bytes] = []
        self.size = 0
        self.rejected = False
        self.start_line: httputil.RequestStartLine | None = None
        self.headers: list[tuple[str, str]] = []
        self.received_at: datetime | None = None

    def headers_received(
        self,
        start_line: httputil.RequestStartLine | httputil.ResponseStartLine,
        headers: httputil.HTTPHeaders,
    ) -> None:
        assert isinstance(start_line, httputil.RequestStartLine)
        self.start_line = start_line
        self.received_at = datetime.now(timezone.utc)
        stream = getattr(self.conn, "stream", None)
        head = getattr(stream, "_hooklab_head", None)
        self.headers = _parse_head(head) if head else list(headers.get_all())
        self.http_headers = headers
        limit = self.server.max_body
        cl = headers.get("Content-Length")
        if cl is not None:
            try:
                n = int(cl.split(",")[0])
            except ValueError:
                n = 0
            if n > limit:
                # Let Tornado accept the length so it does not answer 400 itself; we answer
                # 413 now and the connection closes once it is sent, so the body is not read.
                self.conn.set_max_body_size(n)  # type: ignore[attr-defined]
                self._reject()
                return
        else:
            # chunked: read at most a little past the limit, then Tornado cuts the connection
            self.conn.set_max_body_size(limit * 2 + 65536)  # type: ignore[attr-defined]

    def data_received(self, chunk: bytes) -> None:
        if self.rejected:
            return
        self.size += len(chunk)
        if self.size > self.server.max_body:
            self.chunks.clear()
            self._reject()
            return
        self.chunks.append(chunk)

    def _reject(self) -> None:
        self.rejected = True
        self.chunks.clear()
        stream = getattr(self.conn, "stream", None)
        if stream is not None:
            stream._hooklab_linger = True  # close gracefully once the 413 is sent
        body = (
            b'{"ok": false, "error": "payload too large", "max_body": '
            + str(self.server.max_body).encode()
            + b"}"
        )
        self._write(413, [("Content-Type", "application/json"), ("Connection", "close")], body)

    def finish(self) -> None:
        if self.rejected or self.start_line is None:
            return
        sl = self.start_line
        body = b"".join(self.chunks)
        self.chunks = []
        srv = self.server
        remote = ""
        addr = getattr(self.context, "address", None)
        if isinstance(addr, tuple) and addr:
            remote = str(addr[0])
        elif getattr(self.context, "remote_ip", None):
            remote = str(self.context.remote_ip)
        h = self.http_headers
        record, response = capture_record(
            srv, sl.method, sl.path, self.headers, body, remote, self.received_at,
            h.get("Host"), h.get("X-Forwarded-Proto"),
        )
        try:
            srv.store.submit(record, lambda result: srv._completed(self, result, response))
        except Exception as exc:  # store closed: refuse rather than pretend
            self._answer(exc, response)

    def _answer(self, result: Any, response: Any) -> None:
        deliver(result, response, self._write)

    def _write(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        if getattr(self.conn, "stream", True) is None:
            return
        assert self.start_line is not None
        h, payload = answer_headers(status, headers, body, head_only=self.start_line.method == "HEAD")
        line = httputil.ResponseStartLine("HTTP/1.1", status, reason(status))
        try:
            self.conn.write_headers(line, h, payload or None)
            self.conn.finish()
        except Exception:  # noqa: BLE001 - client went away
            pass

    def on_connection_close(self) -> None:
        self.chunks = []

    def _abandon(self) -> None:
        """The answer could not be written: close the connection rather than leave it hanging."""
        close = getattr(self.conn, "close", None)
        if close is not None:
            close()


class _Dispatch(httputil.HTTPMessageDelegate):
    """Chooses, per request, between the capture path and the ``/_hooklab/`` API app."""

    def __init__(self, server: CaptureServer, server_conn: object, conn: httputil.HTTPConnection) -> None:
        self.server = server
        self.server_conn = server_conn
        self.conn = conn
        self.inner: httputil.HTTPMessageDelegate | None = None

    _timer: asyncio.TimerHandle | None = None

    def headers_received(self, start_line, headers):  # type: ignore[no-untyped-def]
        timeout = self.server.body_timeout
        if timeout and (
            headers.get("Content-Length", "0") not in ("", "0") or "Transfer-Encoding" in headers
        ):
            # A body must arrive within body_timeout. One timer per request with a body is far
            # cheaper than Tornado's body_timeout, which wraps every read in gen.with_timeout.
            self._timer = asyncio.get_running_loop().call_later(timeout, self._body_timed_out)
        path = getattr(start_line, "path", "")
        if path == RESERVED_PREFIX or path.startswith(RESERVED_PREFIX + "/") or path.startswith(
            RESERVED_PREFIX + "?"
        ):
            self.inner = self.server.api_app.start_request(self.server_conn, self.conn)
        else:
            self.inner = _Capture(self.server, self.conn, getattr(self.conn, "context", None))
        return self.inner.headers_received(start_line, headers)

    def data_received(self, chunk):  # type: ignore[no-untyped-def]
        assert self.inner is not None
        return self.inner.data_received(chunk)

    def _body_timed_out(self) -> None:
        self._timer = None
        close = getattr(self.conn, "close", None)
        if close is not None:
            close()  # the client stalled mid-body: drop the connection, nothing is stored

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def finish(self) -> None:
        self._cancel_timer()
        if self.inner is not None:
            self.inner.finish()

    def on_connection_close(self) -> None:
        self._cancel_timer()
        if self.inner is not None:
            self.inner.on_connection_close()


class _Router(httputil.HTTPServerConnectionDelegate):
    def __init__(self, server: CaptureServer) -> None:
        self.server = server

    def start_request(self, server_conn: object, request_conn: httputil.HTTPConnection):  # type: ignore[no-untyped-def]
        return _Dispatch(self.server, server_conn, request_conn)

    def on_close(self, server_conn: object) -> None:
        self.server.api_app.on_close(server_conn)
