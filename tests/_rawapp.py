"""A raw-socket HTTP app on 127.0.0.1 for tests of hooklab as a client (forward, replay,
``hooklab.send``): it reads each request itself, so a subclass may answer in ways no HTTP
server library would (cut short, before the body, without end)."""

from __future__ import annotations

import socket
import threading


class RawServer:
    """``with Sub(...) as app: ... app.url``: accepts connections on a thread, each served by
    :meth:`_one` on a thread of its own; ``stop`` is set when the block ends (an answer that
    holds its connection open waits on it). :meth:`read_request` reads a request's head and,
    if asked, its ``Content-Length`` body."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.threads: list[threading.Thread] = []
        self.accepted = 0

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            t = threading.Thread(target=self._one, args=(conn,), daemon=True)
            self.threads.append(t)
            t.start()

    def _one(self, conn: socket.socket) -> None:
        raise NotImplementedError

    @staticmethod
    def read_request(conn: socket.socket, *, read_body: bool = True) -> tuple[bytes, bytes] | None:
        """The head (up to its blank line, at most 1 MiB read) and the body read of one request;
        ``None`` if the client hung up first. The body is read to its ``Content-Length``
        only with ``read_body`` (unread bytes make the close a reset)."""
        data = b""
        while b"\r\n\r\n" not in data and len(data) < 1 << 20:
            piece = conn.recv(65536)
            if not piece:
                return None
            data += piece
        head, _, body = data.partition(b"\r\n\r\n")
        length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        while read_body and len(body) < length:
            piece = conn.recv(65536)
            if not piece:
                return None
            body += piece
        return head, body

    def __enter__(self):  # type: ignore[no-untyped-def]
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.sock.close()
        self.thread.join(5)
        for t in self.threads:
            t.join(5)
