"""A raw-socket app on 127.0.0.1 that keeps the exact bytes of each request it receives
(head, body framing, trailer section), for tests of what replay and forward send; and a
strict reader of those bytes (:func:`split_request`)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from typing import Any

from _rawapp import RawServer

#: the most of one request the recorder reads (a test sends a few MB at most)
MAX_REQUEST = 64 << 20


def request_end(buf: bytes | bytearray) -> int | None:
    """How many bytes of ``buf`` the first request takes, once all of it is there (its head,
    and its ``Content-Length`` body or its chunked body up to the end of the trailer
    section), else ``None``."""
    h = buf.find(b"\r\n\r\n")
    if h < 0:
        return None
    lines = bytes(buf[:h]).split(b"\r\n")[1:]
    fields = [line.split(b":", 1) for line in lines]
    pos = h + 4
    if any(k.strip().lower() == b"transfer-encoding" for k, _ in fields):
        for _ in range(len(buf)):  # (each round passes a chunk: bounded by the bytes there)
            eol = buf.find(b"\r\n", pos)
            if eol < 0:
                return None
            size = int(bytes(buf[pos:eol]).split(b";", 1)[0], 16)
            if size == 0:
                end = buf.find(b"\r\n\r\n", eol)  # (an empty trailer section: right there)
                return None if end < 0 else end + 4
            pos = eol + 2 + size + 2
            if len(buf) < pos:
                return None
        return None
    length = next((int(v) for k, v in fields if k.strip().lower() == b"content-length"), 0)
    return pos + length if len(buf) >= pos + length else None


def split_request(raw: bytes) -> tuple[list[bytes], bytes, list[bytes] | None, list[int]]:
    """``(head lines, body, trailer lines, chunk sizes)`` of one request's exact bytes, read
    strictly (a chunk size in lower-case hex with no extension, CRLF after each chunk's data,
    nothing after the request). ``trailer lines`` is ``None`` for a body that is not chunked
    (its ``Content-Length`` then says its length exactly)."""
    h = raw.index(b"\r\n\r\n")
    head = raw[:h].split(b"\r\n")
    rest = raw[h + 4:]
    fields = [line.split(b": ", 1) for line in head[1:]]
    if not any(k.lower() == b"transfer-encoding" for k, _ in fields):
        lengths = [int(v) for k, v in fields if k.lower() == b"content-length"]
        assert len(lengths) <= 1, head
        assert len(rest) == (lengths[0] if lengths else 0), (head, len(rest))
        return head, rest, None, []
    body = bytearray()
    sizes: list[int] = []
    pos = 0
    for _ in range(len(rest) + 1):
        eol = rest.index(b"\r\n", pos)
        size_text = rest[pos:eol]
        assert size_text == b"%x" % int(size_text, 16), size_text
        size = int(size_text, 16)
        pos = eol + 2
        if size == 0:
            break
        sizes.append(size)
        body += rest[pos:pos + size]
        assert rest[pos + size:pos + size + 2] == b"\r\n", rest[pos + size:pos + size + 10]
        pos += size + 2
    tail = rest[pos:]
    assert tail.endswith(b"\r\n"), tail[-20:]
    trailers = tail[:-2].split(b"\r\n")[:-1] if tail != b"\r\n" else []
    assert b"".join(t + b"\r\n" for t in trailers) + b"\r\n" == tail, tail
    return head, bytes(body), trailers, sizes


class Recorder(RawServer):
    """``with Recorder() as app: ... app.url ... app.wait(n)``: answers each request ``200
    ok`` once it has all of it, and closes; :attr:`got` holds each request's exact bytes."""

    def __init__(self) -> None:
        super().__init__()
        self.got: list[bytes] = []
        self.cond = threading.Condition()

    def _one(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(10)
            buf = bytearray()
            end = None
            try:
                while end is None and len(buf) < MAX_REQUEST:  # (a byte or more each round)
                    piece = conn.recv(1 << 16)
                    if not piece:
                        return
                    buf += piece
                    end = request_end(buf)
            except OSError:
                return
            if end is None:
                return
            with self.cond:
                self.got.append(bytes(buf))  # (all of it: bytes past the request show too)
                self.cond.notify_all()
            try:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            except OSError:
                pass

    def wait(self, n: int, timeout: float = 30.0) -> list[bytes]:
        """The first ``n`` requests' bytes, once that many came (``AssertionError`` after
        ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.got) < n:
                left = deadline - time.monotonic()
                assert left > 0, f"{len(self.got)} of {n} requests came"
                self.cond.wait(left)
            return list(self.got[:n])


def replayed_and_curled(lab: Any, cap: Any, app: Recorder, *, before: int = 0,
                        path: str = "/app") -> list[bytes]:
    """``cap`` replayed by ``lab`` to ``app.url + path`` (answered 200, no error) and, where
    curl and bash are here, sent again by ``to_curl``'s command run as a person pasting it
    into a UTF-8 terminal runs it: every request the app then holds, the ``before`` it held
    first included (2 + ``before`` with curl, 1 + ``before`` without)."""
    from hooklab.export import to_curl

    (r,) = lab.replay([cap], to=app.url + path)
    assert (r.status, r.error) == (200, None), r
    n = before + 1
    if shutil.which("curl") and shutil.which("bash"):
        cmd = to_curl(cap, url=app.url + path)
        subprocess.run(["bash", "-c", cmd + " -sS -o /dev/null --max-time 20"], check=True,
                       timeout=60, env={**os.environ, "LC_ALL": "C.UTF-8"})
        n += 1
    return app.wait(n)
