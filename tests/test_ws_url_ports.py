"""The port and host of the URL ``hooklab.ws.record`` connects to, read as ``hooklab.send``
reads them.

``ws://127.0.0.1:99999/feed`` was taken: the socket layer wraps the port (99999 - 65536 =
34463), so the recording connected to another port, recorded what was served there and
stored ``remote_addr`` as ``127.0.0.1:99999``. ``ws://127.0.0.1:+34463/feed``, ``ws:///feed``
and ``ws://127.0.0.1:/feed`` were a DNS failure ("gaierror: Name or service not known"),
blaming a host that is fine. Now a port past 65535 or not of digits alone, and a URL with
no host, are ``ValueError`` before connecting, in the very words ``hooklab.send`` gives for
the ``http://`` equivalent; an empty port is the scheme's (RFC 3986 3.2.3), as send reads
it. A real tornado.websocket server on 127.0.0.1 (and ::1 where the host has IPv6); its
port + 65536 wraps onto it, so a connection there would be seen.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

import hooklab
from hooklab import HookLab


@contextlib.contextmanager
def _tornado_ws(*, echo: bool = False) -> Iterator[tuple[int, bool, list[str]]]:
    """A tornado.websocket server on 127.0.0.1 (and [::1] on the same port when it can):
    each connection is greeted with "served" and closed (``echo``: its first message is
    answered "echo:<it>", then it is closed); yields (port, has_v6, peers)."""
    from tornado import httpserver, netutil, web, websocket

    peers: list[str] = []

    class Feed(websocket.WebSocketHandler):
        def open(self) -> None:
            peers.append(self.request.host)
            self.write_message("served")
            if not echo:
                self.close(1000)

        def on_message(self, message: str | bytes) -> None:
            self.write_message(f"echo:{message}")
            self.close(1000)

    ready, box = threading.Event(), {}

    def run() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        socks = netutil.bind_sockets(0, "127.0.0.1")
        port = socks[0].getsockname()[1]
        try:
            socks += netutil.bind_sockets(port, "::1")
            v6 = True
        except OSError:
            v6 = False
        server = httpserver.HTTPServer(web.Application([("/feed", Feed)]))
        server.add_sockets(socks)
        box.update(port=port, v6=v6, loop=loop, server=server)
        ready.set()
        loop.run_forever()
        server.stop()
        loop.run_until_complete(server.close_all_connections())
        loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        yield box["port"], box["v6"], peers
    finally:
        box["loop"].call_soon_threadsafe(box["loop"].stop)
        thread.join(10)


def _urllib_words(url: str) -> str | None:
    """What urllib says of the URL's port (Python 3.11+ reads only ASCII digits there)."""
    try:
        urlsplit(url).port  # noqa: B018
    except ValueError as exc:
        return str(exc)
    return None


# (what follows "//" up to the path; {p}: the server's port; refused: the words, or None)
CASES = [
    ("127.0.0.1:{p}", None),  # (the control: recorded)
    ("127.0.0.1:{wrapped}", "Port out of range 0-65535"),  # (wrapped onto the server)
    ("127.0.0.1:99999", "Port out of range 0-65535"),
    ("127.0.0.1:65536", "Port out of range 0-65535"),
    ("127.0.0.1:-1", "Port could not be cast to integer value as '-1'"),
    ("127.0.0.1:+{p}", "Port could not be cast to integer value as '+{p}'"),
    ("127.0.0.1:+1", "Port could not be cast to integer value as '+1'"),
    ("127.0.0.1:ab", "Port could not be cast to integer value as 'ab'"),
    ("127.0.0.1:\uff18\uff10", "Port could not be cast to integer value as '\uff18\uff10'"),
    ("alice:pw_TOPSECRET@127.0.0.1:{wrapped}", "Port out of range 0-65535"),
    ("[::1]:{wrapped}", "Port out of range 0-65535"),
    ("127.0.0.1:0", None),  # (a port: nothing listens there, as send finds)
    ("127.0.0.1:65535", None),
    ("127.0.0.1:", None),  # (the scheme's port, 80)
    ("", "no host"),
    (":{p}", "no host"),
]


@pytest.mark.parametrize("authority, refused", CASES)
def test_a_url_s_port_and_host_are_read_as_send_reads_them(
        lab: HookLab, authority: str, refused: str | None) -> None:
    with _tornado_ws() as (port, v6, peers):
        auth = authority.format(p=port, wrapped=port + 65536)
        url, http_url = f"ws://{auth}/feed", f"http://{auth}/feed"
        if refused is None or refused == "no host":
            said_by_urllib = None
        else:
            refused = refused.format(p=port)
            if sys.version_info >= (3, 11, 4):  # (older ones read "+1" as 1)
                assert _urllib_words(url) == refused  # (the words, independently)
            said_by_urllib = refused
        try:
            hooklab.send(http_url, payload={"a": 1}, timeout=2)
            sent_error: Exception | None = None
        except Exception as exc:  # (what send says of the http:// equivalent)
            sent_error = exc
        if said_by_urllib is not None:
            for start in (hooklab.ws.record, hooklab.ws.start_recording):
                with pytest.raises(ValueError) as raised:
                    start(url, lab=lab, duration=2, connect_timeout=2)
                said = str(raised.value)
                assert said == str(sent_error).replace("http://", "ws://", 1)
                assert said.endswith(f"names no valid port: {said_by_urllib}")
                assert "TOPSECRET" not in said
            assert peers == [] and lab.query(kind="ws") == []
        elif refused == "no host":
            assert isinstance(sent_error, ValueError) and "not an http(s) URL" in str(sent_error)
            with pytest.raises(ValueError, match="needs a ws:// or wss:// URL with a host"):
                hooklab.ws.record(url, lab=lab, duration=2, connect_timeout=2)
            assert peers == [] and lab.query(kind="ws") == []
        elif auth == f"127.0.0.1:{port}":
            assert sent_error is None  # (tornado answered the POST: 400)
            s = hooklab.ws.record(url, lab=lab, duration=5, connect_timeout=5)
            assert s.received == 1 and peers == [auth], s
            assert {c.remote_addr for c in lab.captures} == {auth}
        else:  # (a port, tried: refused by the host as send's request was, never "no host")
            assert isinstance(sent_error, OSError) and not isinstance(sent_error, socket.gaierror)
            s = hooklab.ws.record(url, lab=lab, duration=2, connect_timeout=2)
            assert s.errors and not any("gaierror" in e or "not known" in e for e in s.errors), s
            assert peers == []
            named = urlsplit(http_url).port
            at = f"127.0.0.1:{80 if named is None else named}"  # (the empty port: http's)
            assert {c.remote_addr for c in lab.captures} <= {at}


def test_an_ipv6_literal_with_its_port_is_recorded(lab: HookLab) -> None:
    with _tornado_ws() as (port, v6, peers):
        if not v6:
            pytest.skip("no IPv6 loopback here")
        s = hooklab.ws.record(f"ws://[::1]:{port}/feed", lab=lab, duration=5, connect_timeout=5)
        assert s.received == 1 and peers == [f"[::1]:{port}"], s
        assert {c.remote_addr for c in lab.captures} == {f"[::1]:{port}"}
        with pytest.raises(ValueError, match="Port out of range 0-65535"):
            hooklab.ws.record(f"ws://[::1]:{port + 65536}/feed", lab=lab, duration=2)
        assert len(peers) == 1
