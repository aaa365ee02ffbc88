"""A trailer field carries no connection option (RFC 9110 6.5.1), over real sockets.

A chunked request whose trailer fields say ``Connection: close`` (any case, in a list) was
answered without ``Connection: close`` and its connection kept open, but the parser had taken
the trailer for the head's: the client's next request on that connection got 400 and was not
captured. The connection is what the header section says: kept open (the next request, in the
same write or sent after the answer, is captured) unless the header section, or HTTP/1.0 with
``Transfer-Encoding``, says close; then the answer says ``Connection: close`` and nothing
after it is read. On uvloop's loop and asyncio's.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Iterator

import pytest
from _http import read_answers, undated

import hooklab

pytestmark = pytest.mark.timeout(120)

#: trailer sections (as sent) that must change nothing of the connection
TRAILERS = {
    "close": b"Connection: close\r\n",
    "CLOSE": b"Connection: CLOSE\r\n",
    "close-in-list": b"Connection: close, X-A\r\nX-A: 1\r\n",
    "keep-alive": b"Connection: keep-alive\r\n",
    "upgrade-h2c": b"Connection: upgrade\r\nUpgrade: h2c\r\n",
    "upgrade-alone": b"Connection: Upgrade\r\n",
    "no-connection": b"X-A: 1\r\n",
}

SECOND = b"POST /two HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\n\r\ntwo"


def _first(trailers: bytes, version: str = "1.1", head: bytes = b"") -> bytes:
    return (b"POST /one HTTP/" + version.encode() + b"\r\nHost: 127.0.0.1\r\n" + head
            + b"Transfer-Encoding: chunked\r\n\r\n3\r\none\r\n0\r\n" + trailers + b"\r\n")


def _ok(capture_id: int, connection: str = "") -> bytes:
    """hooklab's default answer to a stored capture, byte for byte."""
    body = b'{"ok": true, "id": %d}' % capture_id
    head = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Hooklab-Capture-Id: %d\r\n"
            b"Content-Length: %d\r\nServer: hooklab\r\nDate: <date>\r\n" % (capture_id, len(body)))
    if connection:
        head += b"Connection: " + connection.encode() + b"\r\n"
    return head + b"\r\n" + body


def _read(sock: socket.socket, n: int, timeout: float = 5.0) -> tuple[list[bytes], bool]:
    """Up to ``n`` whole answers (Content-Length framed) within ``timeout``, Date values read
    as ``<date>``; and whether the server closed the connection meanwhile."""
    answers, closed = read_answers(sock, n, timeout)
    return [undated(a) for a in answers], closed


def _closed_within(sock: socket.socket, seconds: float) -> bool:
    """Whether the server closes the connection within ``seconds`` (sending nothing more)."""
    sock.settimeout(0.1)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            return True
        assert not chunk, chunk
        return True
    return False


@pytest.fixture(scope="module", params=["uvloop", "asyncio"])
def lab(request: pytest.FixtureRequest) -> Iterator[hooklab.HookLab]:
    import hooklab.server.lifecycle as lifecycle

    with pytest.MonkeyPatch.context() as mp:
        if request.param == "asyncio":
            mp.setattr(lifecycle, "_new_loop", asyncio.new_event_loop)
        else:
            pytest.importorskip("uvloop")
        lab = hooklab.HookLab(port=0, db=":memory:").start()
        try:
            loop = lab.server.loop
            assert type(loop).__module__.startswith("uvloop") == (request.param == "uvloop")
            yield lab
        finally:
            lab.stop()


def _last_id(lab: hooklab.HookLab) -> int:
    captures = lab.captures
    return captures[-1].id if len(captures) else 0


@pytest.mark.parametrize("when", ["same-write", "after-answer"])
@pytest.mark.parametrize("name", list(TRAILERS))
def test_a_trailer_connection_field_keeps_the_connection_open(lab: hooklab.HookLab, name: str,
                                                               when: str) -> None:
    trailers = TRAILERS[name]
    before = _last_id(lab)
    with socket.create_connection(("127.0.0.1", lab.bound_port), timeout=10) as s:
        if when == "same-write":
            s.sendall(_first(trailers) + SECOND)
            answers, closed = _read(s, 2)
        else:
            s.sendall(_first(trailers))
            answers, closed = _read(s, 1)
            assert answers == [_ok(before + 1)] and not closed
            s.sendall(SECOND)
            more, closed = _read(s, 1)
            answers += more
        assert answers == [_ok(before + 1), _ok(before + 2)]
        assert not closed
        # still open for a third request, answered as any
        s.sendall(SECOND.replace(b"/two", b"/three"))
        assert _read(s, 1) == ([_ok(before + 3)], False)
    one, two, three = (lab.get(before + i) for i in (1, 2, 3))
    assert (one.path, one.body, two.path, two.body, three.path) == (
        "/one", b"one", "/two", b"two", "/three")
    sent = [tuple(line.split(": ", 1)) for line in trailers.decode().split("\r\n") if line]
    assert one.trailers == sent  # (kept, as sent: they only change nothing)
    assert not any(k.lower() == "connection" for k, _ in two.headers)


#: (head fields, HTTP version, trailers): the header section (or HTTP/1.0 with
#: Transfer-Encoding, RFC 9112 6.1) says close; a trailer saying keep-alive changes nothing
CLOSING = {
    "head-close-trailer-keep-alive": (b"Connection: close\r\n", "1.1",
                                      b"Connection: keep-alive\r\n"),
    "head-close-trailer-close": (b"Connection: close\r\n", "1.1", b"Connection: close\r\n"),
    "http10-keep-alive-trailer-keep-alive": (b"Connection: keep-alive\r\n", "1.0",
                                             b"Connection: keep-alive\r\n"),
    "http10-keep-alive-trailer-other": (b"Connection: keep-alive\r\n", "1.0", b"X-A: 1\r\n"),
}


@pytest.mark.parametrize("name", list(CLOSING))
def test_the_header_section_decides_a_close_whatever_the_trailers_say(lab: hooklab.HookLab,
                                                                      name: str) -> None:
    head, version, trailers = CLOSING[name]
    before = _last_id(lab)
    with socket.create_connection(("127.0.0.1", lab.bound_port), timeout=10) as s:
        s.sendall(_first(trailers, version, head) + SECOND)
        answers, _ = _read(s, 2, timeout=2.0)
        assert answers == [_ok(before + 1, "close")]
        assert _closed_within(s, 5.0)
    time.sleep(0.2)  # (a second request, had it been read, would be stored by now)
    assert _last_id(lab) == before + 1
    assert json.loads(answers[0].split(b"\r\n\r\n", 1)[1]) == {"ok": True, "id": before + 1}


def test_an_http10_keep_alive_request_without_trailers_stays_open(lab: hooklab.HookLab) -> None:
    # (the HTTP/1.0 keep-alive the cases above close: only because of Transfer-Encoding)
    before = _last_id(lab)
    first = (b"POST /one HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n"
             b"Content-Length: 3\r\n\r\none")
    with socket.create_connection(("127.0.0.1", lab.bound_port), timeout=10) as s:
        s.sendall(first + SECOND)
        assert _read(s, 2) == ([_ok(before + 1, "keep-alive"), _ok(before + 2)], False)


def test_a_trailer_close_on_a_hooklab_api_request_keeps_the_connection(lab: hooklab.HookLab
                                                                        ) -> None:
    before = _last_id(lab)
    health = (b"GET /_hooklab/health HTTP/1.1\r\nHost: 127.0.0.1\r\n"
              b"Transfer-Encoding: chunked\r\n\r\n0\r\nConnection: close\r\n\r\n")
    with socket.create_connection(("127.0.0.1", lab.bound_port), timeout=10) as s:
        s.sendall(health + SECOND)
        answers, closed = _read(s, 2)
    assert len(answers) == 2 and answers[0].startswith(b"HTTP/1.1 200 OK\r\n")
    assert json.loads(answers[0].split(b"\r\n\r\n", 1)[1])["status"] == "ok"
    assert answers[1] == _ok(before + 1) and not closed
    assert lab.get(before + 1).path == "/two"
