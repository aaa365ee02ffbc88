"""``lab.export(path, fmt="har")`` then ``hooklab.load_har(path)`` gives every capture back,
field by field, with its forwarding outcomes and frame: captures a real lab received over real
sockets (a binary body, an empty one, header bytes that are no UTF-8, a header of 900 KB and
3,000 header fields, a method sent in lower case, ``OPTIONS *``, a request without ``Host``,
a Latin-1 body, an absolute-form target, odd and repeated ``Host`` headers, a verified and a
forged signature, a handshake answered, a forward to a dead port and one to a live app) and a
WebSocket conversation ``hooklab.ws.record`` recorded (text, a binary message that is no
UTF-8, a close code and reason, its own bin).

Both ways a file is read: as a whole, and (hooklab writes one entry a line) by the helper
processes of a big file (``way``: see test_har_hostile_entries)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import hmac
import http.server
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_har_hostile_entries import BIG_PATH, way  # noqa: F401  (way: a fixture, used below)

import hooklab

pytestmark = pytest.mark.timeout(300)

SECRET = "round-trip-secret"
BODY = b'{"ref": "refs/heads/main"}'


def _ask(port: int, data: bytes) -> bytes:
    """Send ``data`` to the lab; the status line of its answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(data)
        got = b""
        end = time.monotonic() + 10
        while b"\r\n" not in got and time.monotonic() < end:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    return got.split(b"\r\n", 1)[0]


def _request(port: int, method: bytes, target: bytes, headers: list[tuple[bytes, bytes]],
             body: bytes = b"", host: bool = True, version: bytes = b"HTTP/1.1") -> bytes:
    head = method + b" " + target + b" " + version + b"\r\n"
    if host:
        head += b"Host: 127.0.0.1:%d\r\n" % port
    head += b"".join(k + b": " + v + b"\r\n" for k, v in headers)
    return _ask(port, head + b"Content-Length: %d\r\n\r\n" % len(body) + body)


class _App(http.server.BaseHTTPRequestHandler):
    """The live app a bin is forwarded to: 202 to anything."""

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@contextlib.contextmanager
def _app() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _App)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@contextlib.contextmanager
def _feed() -> Iterator[str]:
    """A WebSocket server on 127.0.0.1: to a client's message it answers a text and a binary
    message (no UTF-8), then closes with 4001 "bye"."""
    import tornado.httpserver
    import tornado.netutil
    import tornado.web
    import tornado.websocket

    class Feed(tornado.websocket.WebSocketHandler):
        def on_message(self, message: str | bytes) -> None:
            self.write_message("caf\u00e9 \u2028")
            self.write_message(b"\x00\xff\xfe\x80", binary=True)
            self.close(4001, "bye")

    box: dict[str, Any] = {}
    ready = threading.Event()

    async def main() -> None:
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
        server = tornado.httpserver.HTTPServer(tornado.web.Application([(r"/feed", Feed)]))
        server.add_sockets(sockets)
        box["port"] = sockets[0].getsockname()[1]
        box["loop"], box["stop"] = asyncio.get_running_loop(), asyncio.Event()
        ready.set()
        await box["stop"].wait()
        server.stop()

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    assert ready.wait(10), "the WebSocket server did not start"
    try:
        yield f"ws://127.0.0.1:{box['port']}/feed"
    finally:
        box["loop"].call_soon_threadsafe(box["stop"].set)
        thread.join(10)


def _captured(lab: hooklab.HookLab) -> None:
    """The table of captures: each request sent as raw bytes, as a sender sends it."""
    port = int(lab.url.rsplit(":", 1)[1])
    sent = [
        (b"POST", b"/binary/x", [(b"Content-Type", b"application/octet-stream")],
         bytes(range(256)) * 4, True),
        (b"POST", b"/empty/x", [], b"", True),
        (b"POST", b"/latin/x", [(b"X-Latin", b"caf\xe9 \xff\xfe \x80\xc3\xa9"),
                                (b"x-dup", b"1"), (b"X-Dup", b"2"), (b"X-Empty", b""),
                                (b"X-Tab", b"a\tb")], b"\xed\xa0\x80", True),
        (b"POST", b"/huge/x", [(b"X-Huge", b"h" * 900_000)], b"{}", True),
        (b"POST", b"/many/x", [(b"X-F%d" % i, b"%d" % i) for i in range(3000)], b"many", True),
        (b"POST", b"/text/x", [(b"Content-Type", b"text/plain; charset=iso-8859-1")],
         b"d\xe9j\xe0 vu", True),
        (b"POST", b"/query/x?a=1&a=2&b=&c=%zz&d=%C3%A9&e=+x&f", [], "\u2028\x00".encode(), True),
        (b"POST", b"/path/%41%2F\xe9;p=1//y", [], b"p", True),
        (b"get", b"/lower/x", [], b"", True),
        (b"OPTIONS", b"*", [], b"", True),
        (b"HEAD", b"/head/x", [], b"", True),
        (b"POST", b"/nohost/x", [], b"old", False),
        (b"POST", b"/gh/ok", [(b"X-GitHub-Event", b"push"), (b"X-GitHub-Delivery", b"d-1"),
                              (b"X-Hub-Signature-256", b"sha256=" + hmac.new(
                                  SECRET.encode(), BODY, hashlib.sha256).hexdigest().encode()),
                              (b"Content-Type", b"application/json")], BODY, True),
        (b"POST", b"/gh/forged", [(b"X-GitHub-Event", b"push"), (b"X-GitHub-Delivery", b"d-1"),
                                  (b"X-Hub-Signature-256", b"sha256=" + b"0" * 64),
                                  (b"Content-Type", b"application/json")], BODY, True),
        (b"POST", b"/slack/x", [(b"Content-Type", b"application/json")],
         b'{"type": "url_verification", "challenge": "abc", "token": "t"}', True),
    ]
    for method, target, headers, body, host in sent:
        line = _request(port, method, target, headers, body, host=host,
                        version=b"HTTP/1.1" if host else b"HTTP/1.0")
        assert line.startswith(b"HTTP/1.1 2"), (target, line)
    for head in (b"POST http://other.example/absolute/x?a=1 HTTP/1.1\r\nHost: other.example\r\n",
                 b"POST /odd-host/x HTTP/1.1\r\nHost: u@EXAMPLE.com:99999\r\n",
                 b"POST /two-hosts/x?y HTTP/1.1\r\nHost: a\r\nHost: b\r\n",
                 b"POST /utf8-host/x HTTP/1.1\r\nHost: caf\xc3\xa9.example\r\n"):
        line = _ask(port, head + b"Content-Length: 1\r\n\r\nx")
        assert line.startswith(b"HTTP/1.1 2"), (head, line)
    with socket.socket() as s:  # (a port nothing listens on)
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    with _app() as app:
        for bin, to in (("dead", f"http://127.0.0.1:{dead}/hook"), ("live", app + "/hook")):
            lab.forward(bin, to=to)
            assert _request(port, b"POST", f"/{bin}/x".encode(), [], b"fwd").startswith(
                b"HTTP/1.1 200")
            end = time.monotonic() + 30
            while time.monotonic() < end and (
                    lab.forwards_pending or len(lab.forwards()) < (1 if bin == "dead" else 2)):
                time.sleep(0.05)
            lab.forward(bin, None)
    assert [f["status"] for f in lab.forwards()] == [None, 202]
    with _feed() as url:
        summary = hooklab.ws.record(url + "?x=1", send=["hi"], duration=20, lab=lab, bin="feeds")
    assert summary.closes == [(4001, "bye", "server")], summary
    lab.store.flush()


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list, list, Any]]:
    """The HAR export of a lab that saw the table; its captures, outcomes and frame."""
    lab = hooklab.HookLab(port=0, db=":memory:").start()
    try:
        lab.secret("gh", SECRET, provider="github")
        _captured(lab)
        path = tmp_path_factory.mktemp("har") / "captures.har"
        assert lab.export(path, fmt="har") == len(lab.captures)
        yield path, lab.captures, lab.forwards(), lab.dataframe()
    finally:
        lab.stop()


def _fields(c: Any) -> dict[str, Any]:
    return {f.name: getattr(c, f.name) for f in dataclasses.fields(c) if f.name != "id"}


def test_the_table_is_what_it_says(exported: tuple[Path, list, list, Any]) -> None:
    """(What the round trip below is of.)"""
    _, captures, forwards, _ = exported
    by_path = {c.path: c for c in captures if c.kind == "http"}
    assert by_path["/binary/x"].body == bytes(range(256)) * 4
    assert by_path["/empty/x"].body == b""
    assert by_path["/latin/x"].header("X-Latin") == "caf\xe9 \xff\xfe \x80\xc3\xa9"
    assert len(by_path["/huge/x"].header("X-Huge") or "") == 900_000
    assert len(by_path["/many/x"].headers) > 3000
    assert by_path["/lower/x"].method == "get"
    assert "*" in by_path and by_path["*"].method == "OPTIONS"
    assert by_path["/nohost/x"].header("Host") is None
    assert (by_path["/gh/ok"].verified, by_path["/gh/forged"].verified) == (True, False)
    assert by_path["/gh/forged"].duplicate  # (the same delivery id again)
    assert by_path["/slack/x"].handshake is not None
    assert [(f["target"].split("/")[-2], f["status"]) for f in forwards] == [
        ("hook", None), ("hook", 202)]
    ws = [c for c in captures if c.kind == "ws"]
    assert [(c.method, c.status, c.bin) for c in ws] == [
        ("OPEN", 101, "feeds"), ("SEND", 101, "feeds"), ("RECV", 101, "feeds"),
        ("RECV", 101, "feeds"), ("CLOSE", 4001, "feeds")]
    assert [c.body for c in ws[2:]] == ["caf\u00e9 \u2028".encode(), b"\x00\xff\xfe\x80", b"bye"]


def test_a_har_export_comes_back_whole(exported: tuple[Path, list, list, Any],
                                       way: str) -> None:  # noqa: F811
    import pandas as pd

    path, captures, forwards, frame = exported
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (nothing to tell)
        back = hooklab.load_har(path)
    try:
        got = back.captures
        assert len(got) == len(captures)
        for before, after in zip(captures, got, strict=True):
            assert _fields(after) == _fields(before), before.path
        assert [c.id for c in got] == [c.id for c in captures]  # (from 1, as nothing was deleted)
        assert [{k: v for k, v in f.items() if k != "capture_id"} for f in back.forwards()] == [
            {k: v for k, v in f.items() if k != "capture_id"} for f in forwards]
        pd.testing.assert_frame_equal(back.dataframe(), frame)
    finally:
        back.stop()
    if way == "big":  # (stored from its lines, by the helpers)
        assert BIG_PATH == [len(captures)]
