"""Answers on the fast path: each request's slot in its connection's answer order, and the
bytes of an answer, framed exactly as Tornado frames them (``tests/reliability/
test_fast_path.py`` compares the two byte for byte).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from tornado import httputil

if TYPE_CHECKING:
    from ._fast_http import FastCapture


def _reason(status: int) -> str:
    return httputil.responses.get(status, "Unknown")


def render_response(
    status: int, headers: list[tuple[str, str]], body: bytes, *, head_only: bool, close: bool
) -> bytes:
    """The bytes of one HTTP/1.1 answer, exactly as Tornado frames a delegate's answer.

    Headers go through Tornado's ``HTTPHeaders`` (its validation, name normalisation and
    grouping of repeated names); ``Content-Length``, ``Server`` and ``Connection: close`` are
    set as ``_Capture._write`` and Tornado's ``HTTP1Connection`` set them.
    """
    h = httputil.HTTPHeaders()
    for k, v in headers:
        h.add(k, v)
    bodiless = status in (204, 304) or status < 200
    if not bodiless:
        h["Content-Length"] = str(len(body))
    h.setdefault("Server", "hooklab")
    if close:
        h["Connection"] = "close"
    lines = [f"HTTP/1.1 {status} {_reason(status)}"]
    lines += [f"{k}: {v}" for k, v in h.get_all()]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")  # as Tornado encodes heads
    return head if bodiless or head_only else head + body


_DEFAULT_HEAD = (
    b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nX-Hooklab-Capture-Id: %d\r\n"
    b"Content-Length: %d\r\nServer: hooklab\r\n%s\r\n"
)
_CLOSE = b"Connection: close\r\n"


class _Slot:
    """One request's place in its connection's answer order; filled once committed."""

    __slots__ = ("conn", "head_only", "close", "data", "response")

    def __init__(self, conn: FastCapture, head_only: bool, close: bool, response: Any) -> None:
        self.conn = conn
        self.head_only = head_only
        self.close = close
        self.response = response
        self.data: bytes | None = None

    def __call__(self, result: Any) -> None:  # writer thread: the capture is durable
        self.conn.server._completed(self, result, self.response)

    def _answer(self, result: Any, response: Any) -> None:  # server loop
        from .capture import Capture

        if not isinstance(result, Capture):
            msg = f'{{"ok": false, "error": "capture not stored: {type(result).__name__}"}}'
            self._fill(503, [("Content-Type", "application/json")], msg.encode())
            return
        status = response.status
        if (
            response.body is None
            and not response.headers
            and not response.delay
            and status >= 200
            and status not in (204, 304)
        ):  # the default JSON answer: the bytes render_response gives, without its work
            body = b'{"ok": true, "id": %d}' % result.id
            close = _CLOSE if self.close else b""
            head = _DEFAULT_HEAD % (status, _reason(status).encode(), result.id, len(body), close)
            self.data = head if self.head_only else head + body
            self.conn._flush()
            self._after_store(result)
            return
        status, headers, body = response.render(result.id)
        headers.append(("X-Hooklab-Capture-Id", str(result.id)))
        if response.delay > 0:
            asyncio.get_running_loop().call_later(response.delay, self._fill, status, headers, body)
        else:
            self._fill(status, headers, body)
        self._after_store(result)

    def _after_store(self, result: Any) -> None:
        for hook in list(self.conn.server.after_store):
            try:
                hook(result)
            except Exception:  # noqa: BLE001 - a hook must never affect capture
                pass

    def _abandon(self) -> None:
        self.conn._fail()

    def _fill(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.data = render_response(status, headers, body, head_only=self.head_only, close=self.close)
        self.conn._flush()
