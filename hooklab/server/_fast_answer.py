"""Answers on the fast path: each request's slot in its connection's answer order, and the
bytes of an answer, framed exactly as Tornado frames them (``tests/reliability/
test_fast_path.py`` compares the two byte for byte).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .ingest import answer_headers, deliver, reason

if TYPE_CHECKING:
    from ._fast_http import FastCapture


def render_response(
    status: int, headers: list[tuple[str, str]], body: bytes, *, head_only: bool, close: bool
) -> bytes:
    """The bytes of one HTTP/1.1 answer, exactly as Tornado's ``HTTP1Connection`` writes what
    ``_Capture._write`` gives it (the same :func:`answer_headers`, plus ``Connection: close``)."""
    h, payload = answer_headers(status, headers, body, head_only=head_only)
    if close:
        h["Connection"] = "close"
    lines = [f"HTTP/1.1 {status} {reason(status)}"]
    lines += [f"{k}: {v}" for k, v in h.get_all()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload  # latin-1, as Tornado


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
        from ..capture import Capture

        status = response.status
        if (
            isinstance(result, Capture)
            and response.body is None
            and not response.headers
            and not response.delay
            and status >= 200
            and status not in (204, 304)
        ):  # the default JSON answer: the bytes render_response gives, without its work
            body = b'{"ok": true, "id": %d}' % result.id
            close = _CLOSE if self.close else b""
            head = _DEFAULT_HEAD % (status, reason(status).encode(), result.id, len(body), close)
            self.data = head if self.head_only else head + body
            self.conn._flush()
            return
        deliver(result, response, self._fill)

    def _abandon(self) -> None:
        self.conn._fail()

    def _fill(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.data = render_response(status, headers, body, head_only=self.head_only, close=self.close)
        self.conn._flush()
