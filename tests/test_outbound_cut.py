"""hooklab as an HTTP client against apps that end an exchange early: an answer cut short (the
connection closes before the body its head announced) and an answer sent before the request's
body was read (an upload limit's 413). Raw-socket apps on 127.0.0.1, met through
``lab.forward``, ``lab.replay`` and ``hooklab.send`` as a user meets them."""

from __future__ import annotations

import http.client
import os
import socket
import time

import pytest
from _rawapp import RawServer

import hooklab
from hooklab import HookLab

MiB = 2**20
PATTERN = bytes(range(256)) * 4  # 1 KiB


class RawApp(RawServer):
    """``with RawApp(answer) as app: ... app.url``: a raw-socket app on 127.0.0.1 that reads
    each request's head (and, with ``read_body``, its ``Content-Length`` body), writes
    ``answer`` and ends the connection: ``"shut"`` (FIN, then a close a moment later) or
    ``"close"`` (at once). With the request's body unread, the close makes the kernel send
    a reset."""

    def __init__(self, answer: bytes, *, read_body: bool = True, end: str = "shut") -> None:
        super().__init__()
        self.answer, self.read_body, self.end = answer, read_body, end
        self.heads: list[bytes] = []

    def _one(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.settimeout(10)
                request = self.read_request(conn, read_body=self.read_body)
                if request is None:
                    return
                self.heads.append(request[0])
                conn.sendall(self.answer)
                if self.end == "shut":
                    conn.shutdown(socket.SHUT_WR)
                    # a moment (nothing more read), then the close: with the body unread
                    # it resets the connection, as a server's does
                    self.stop.wait(0.3)
            except OSError:  # the client hung up
                pass


def _forwarded(lab: HookLab, to: str, payload: object) -> dict[str, object]:
    lab.forward("b", to=to)
    hooklab.send(lab.url_for("b"), payload=payload)
    assert lab.store.wait_for(lambda: lab.forwards(), timeout=30)
    (outcome,) = lab.forwards()
    return outcome


# -- an answer cut short ------------------------------------------------------------------------

OK_LENGTH = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n"
OK_CHUNKED = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


CLOSED = " (its Content-Length) came before the connection closed"
CUT = [  # (what the app writes before it closes, what the error says after "... cut short: ")
    pytest.param(OK_LENGTH % 1000 + PATTERN[:500], "500 of 1000 bytes" + CLOSED, id="length-half"),
    pytest.param(OK_LENGTH % 1000, "0 of 1000 bytes" + CLOSED, id="length-head-only"),
    pytest.param(OK_LENGTH % 1000 + PATTERN[:999], "999 of 1000 bytes" + CLOSED,
                 id="length-one-short"),
    pytest.param(OK_LENGTH % 300_000 + PATTERN * 150, "153600 of 300000 bytes" + CLOSED,
                 id="length-past-a-piece"),  # (more than one 64 KiB read came)
    pytest.param(OK_CHUNKED + b"3e8\r\n" + PATTERN[:500],
                 "500 bytes of a chunked body came, then no last (empty) chunk", id="mid-chunk"),
    pytest.param(OK_CHUNKED + _chunk(PATTERN[:700]) + b"2bc\r\n" + PATTERN[:300],
                 "1000 bytes of a chunked body came, then no last (empty) chunk",
                 id="second-chunk"),
    pytest.param(OK_CHUNKED + _chunk(PATTERN[:500]),
                 "500 bytes of a chunked body came, then no last (empty) chunk",
                 id="no-last-chunk"),
]


@pytest.mark.parametrize("answer, said", CUT)
def test_an_answer_cut_short_is_an_error_not_a_success(lab: HookLab, answer: bytes,
                                                       said: str) -> None:
    """An app that sent ``Content-Length: 1000``, 500 bytes and closed was recorded as a
    successful forward (200, no error); replay gave ``ok`` with a 500-byte body and
    ``truncated=False``, ``hooklab.send`` the same: http.client's ``read(amt)`` takes the
    close for the body's end. Now it is an error, as a timeout after the status is: no
    status, ``IncompleteRead: ...``, and ``hooklab.send`` raises."""
    error = f"IncompleteRead: the answer was cut short: {said}"
    hooklab.send(lab.url_for("r"), payload={"a": 1})
    (cap,) = lab.wait(1, bin="r", timeout=10)
    with RawApp(answer) as app:
        outcome = _forwarded(lab, app.url + "/hook", {"a": 2})
        (r,) = lab.replay(cap, to=app.url + "/hook", timeout=10)
        with pytest.raises(http.client.IncompleteRead) as raised:
            hooklab.send(app.url + "/hook", payload={"a": 3}, timeout=10)
    assert (outcome["status"], outcome["error"]) == (None, error)
    assert (r.status, r.ok, r.body, r.truncated) == (None, False, b"", False)
    assert r.error == outcome["error"]
    assert f"{type(raised.value).__name__}: {raised.value}" == outcome["error"]
    assert isinstance(raised.value, http.client.HTTPException)  # (what `hooklab send` catches)


@pytest.mark.parametrize("answer, body", [
    pytest.param(OK_LENGTH % 1000 + PATTERN[:1000], PATTERN[:1000], id="length-whole"),
    pytest.param(OK_LENGTH % 0, b"", id="length-zero"),
    pytest.param(OK_CHUNKED + _chunk(PATTERN[:700]) + _chunk(PATTERN[700:1000]) + b"0\r\n\r\n",
                 PATTERN[:1000], id="chunked-whole"),
    pytest.param(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + PATTERN[:500], PATTERN[:500],
                 id="until-close"),  # (no length said: the close is its end)
    pytest.param(b"HTTP/1.1 204 No Content\r\nContent-Length: 1000\r\n\r\n", b"",
                 id="204-has-no-body"),
])
def test_a_whole_answer_is_still_a_success(lab: HookLab, answer: bytes, body: bytes) -> None:
    hooklab.send(lab.url_for("r"), payload={"a": 1})
    (cap,) = lab.wait(1, bin="r", timeout=10)
    with RawApp(answer) as app:
        outcome = _forwarded(lab, app.url + "/hook", {"a": 2})
        (r,) = lab.replay(cap, to=app.url + "/hook", timeout=10)
        s = hooklab.send(app.url + "/hook", payload={"a": 3}, timeout=10)
    status = int(answer.split(b" ", 2)[1])
    assert (outcome["status"], outcome["error"]) == (status, None)
    assert (r.status, r.error, r.body, r.truncated) == (status, None, body, False)
    assert (s.status, s.body, s.truncated) == (status, body, False)


@pytest.mark.parametrize("framing", ["length", "chunked"])
def test_an_answer_cut_past_the_cap_is_truncated_not_an_error(framing: str) -> None:
    """Past ``limit`` the rest is not read (``truncated``): whether it would have come whole
    is not known, and not asked."""
    from hooklab.outbound.sender import _exchange

    body = PATTERN * 8  # 8 KiB of an announced 1 MiB (or a chunk of 1 MiB), then the close
    head = OK_LENGTH % MiB if framing == "length" else OK_CHUNKED + b"%x\r\n" % MiB
    with RawApp(head + body) as app:
        a = _exchange("GET", app.url, [], b"", limit=1000)
    assert (a.status, a.body, a.truncated) == (200, body[:1000], True)


# -- an answer before the request's body was read ---------------------------------------------

TOO_LARGE = (b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 17\r\nConnection: close\r\n\r\n"
             b"payload too large")
EARLY = [  # (what the app answers after reading the head only, how it ends, status, body)
    pytest.param(TOO_LARGE, "shut", 413, b"payload too large", id="413-fin-then-reset"),
    pytest.param(TOO_LARGE, "close", 413, b"payload too large", id="413-reset-at-once"),
    pytest.param(b"HTTP/1.1 413 Request Entity Too Large\r\nContent-Length: 0\r\n\r\n", "shut", 413,
                 b"", id="413-no-body"),
    pytest.param(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 6\r\nConnection: close\r\n\r\n"
                 b"who?\r\n", "close", 401, b"who?\r\n", id="401-before-the-body"),
]


@pytest.mark.parametrize("answer, end, status, body", EARLY)
def test_an_app_that_answers_before_reading_a_big_body_is_heard(
        lab: HookLab, answer: bytes, end: str, status: int, body: bytes) -> None:
    """An app that refuses an 8 MiB upload after its head (as nginx's and uvicorn's limits
    do) and closes was recorded as ``BrokenPipeError`` (or a reset), no status: writing the
    rest of the body failed and the answer already sent was never read. curl reports the
    413; so do forward, replay and send now."""
    big = os.urandom(8 * MiB)
    hooklab.send(lab.url_for("r"), payload=big)
    (cap,) = lab.wait(1, bin="r", timeout=10)
    assert cap.size == len(big)
    with RawApp(answer, read_body=False, end=end) as app:
        outcome = _forwarded(lab, app.url + "/hook", big)
        (r,) = lab.replay(cap, to=app.url + "/hook", timeout=10)
        s = hooklab.send(app.url + "/hook", payload=big, timeout=10)
    assert (outcome["status"], outcome["error"]) == (status, None)
    assert (r.status, r.error, r.body) == (status, None, body)
    assert (s.status, s.body) == (status, body)
    assert len(app.heads) == 3 and all(h.startswith(b"POST /hook") for h in app.heads)


@pytest.mark.parametrize("end", ["shut", "close"])
def test_an_app_that_closes_without_answering_is_still_an_error(lab: HookLab, end: str) -> None:
    """No answer in the buffer: the error of the write stays (a broken pipe or a reset),
    soon, not after the timeout."""
    big = os.urandom(8 * MiB)
    hooklab.send(lab.url_for("r"), payload=big)
    (cap,) = lab.wait(1, bin="r", timeout=10)
    with RawApp(b"", read_body=False, end=end) as app:
        t0 = time.monotonic()
        (r,) = lab.replay(cap, to=app.url + "/hook", timeout=10)
        took = time.monotonic() - t0
    assert r.status is None and r.error is not None
    assert r.error.startswith(("BrokenPipeError", "ConnectionResetError", "RemoteDisconnected"))
    assert took < 5, took
