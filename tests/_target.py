"""A small real HTTP server in a thread that records what it receives (test target)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


class Target:
    """``with Target() as t: ... t.url ... t.received``; set ``status``/``delay``/``headers``;
    ``gate``: an event each answer waits for (30 s at most), for a test to hold the sender."""

    def __init__(self, status: int = 200, body: bytes = b"ok", delay: float = 0.0,
                 headers: list[tuple[str, str]] | None = None,
                 gate: threading.Event | None = None) -> None:
        self.status, self.body, self.delay, self.gate = status, body, delay, gate
        self.headers = headers or []
        self.received: list[Received] = []
        self.cond = threading.Condition()
        target = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _handle(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                with target.cond:
                    target.received.append(
                        Received(self.command, self.path, list(self.headers.items()), body))
                    target.cond.notify_all()
                if target.gate is not None:
                    target.gate.wait(30)
                if target.delay:
                    time.sleep(target.delay)
                try:
                    self.send_response(target.status)
                    for k, v in target.headers:
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(target.body)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(target.body)
                except OSError:
                    pass

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def wait(self, count: int = 1, timeout: float = 10.0) -> list[Received]:
        with self.cond:
            if not self.cond.wait_for(lambda: len(self.received) >= count, timeout):
                raise TimeoutError(f"target got {len(self.received)} of {count} requests")
            return list(self.received)

    def __enter__(self) -> Target:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
