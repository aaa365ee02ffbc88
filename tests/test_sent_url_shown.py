"""The ``repr`` of a replay's result and of ``hooklab.send``'s response shows the URL as the
bytes that went on the wire read: raw UTF-8 as its characters, a byte that is no UTF-8 as its
escape, an escape sent as such as it went, never Latin-1 mojibake.

A capture to ``/q/café`` sent raw (as curl sends it) keeps its target a character a byte
(``/q/cafÃ©``), and replay sends those bytes back exactly; the result's repr showed
``url='http://.../t/cafÃ©'``. The ``url`` attribute stays the URL as sent, a character a byte.
Real sockets on 127.0.0.1: a lab receives each request written byte by byte, a raw app
records the exact bytes replayed and sent to it.
"""

from __future__ import annotations

import socket

import pytest
from _rawrecord import Recorder
from test_forward_target_text import _post, app  # noqa: F401 - the raw app fixture
from test_forward_target_text import _sent_target as _wire_target

import hooklab

#: (request target after /q, its bytes as sent; the target shown after the app's /t, by hand)
TARGETS: list[tuple[bytes, str]] = [
    (b"/caf\xc3\xa9", "/caf\u00e9"),                                 # raw UTF-8: its characters
    (b"/\xe6\x97\xa5\xe6\x9c\xac?q=\xc3\xbc", "/\u65e5\u672c?q=\u00fc"),  # path and query
    (b"/caf%C3%A9?w=%C3%A9", "/caf%C3%A9?w=%C3%A9"),                 # escapes: as they went
    (b"/\xff\xfe", "/%FF%FE"),                                       # no UTF-8: each byte escaped
    (b"/\xc3\xa9\xff", "/\u00e9%FF"),                                # UTF-8, then a byte that is not
    (b"/caf\xe9", "/caf%E9"),                                        # a lone Latin-1 byte: no "é"
    (b"/\xc3\xa9?token=S3CR3T&x=1", "/\u00e9?token=[secret]&x=1"),  # a credential still hidden
    (b"/a?x=\xe2\x80\xae", "/a?x=\u202e"),                           # U+202E: repr escapes it
    (b"/a/b?x=1", "/a/b?x=1"),                                       # ASCII: as before
]
IDS = ["utf8", "utf8-query", "escapes", "no-utf8", "utf8-then-not", "latin1-byte", "secret",
       "bidi", "ascii"]


@pytest.mark.parametrize("target, shown", TARGETS, ids=IDS)
def test_a_replay_s_repr_reads_the_bytes_sent(lab, app: Recorder,  # noqa: F811
                                              target: bytes, shown: str) -> None:
    _post(int(lab.url.rsplit(":", 1)[1]), target)
    (cap,) = lab.wait(1)
    (result,) = lab.replay(cap, to=app.url + "/t")
    (raw,) = app.wait(1)
    assert _wire_target(raw) == b"/t" + target  # (the bytes, exactly, as before)
    assert result.url == app.url + "/t" + target.decode("latin-1")  # (a character a byte)
    expected = f"url={app.url + '/t' + shown!r}"
    assert expected in repr(result) and expected in str(result), repr(result)
    assert "\u00c3" not in repr(result) and "S3CR3T" not in repr(result)


def test_send_s_repr_shows_the_escapes_it_sent(app: Recorder) -> None:  # noqa: F811
    """A URL typed with ``café`` goes percent-encoded as UTF-8: the repr says what went."""
    r = hooklab.send(app.url + "/caf\u00e9?q=\u00fc", payload={"a": 1})
    (raw,) = app.wait(1)
    assert _wire_target(raw) == b"/caf%C3%A9?q=%C3%BC"
    assert f"url={app.url + '/caf%C3%A9?q=%C3%BC'!r}" in repr(r), repr(r)


class _Redirect(Recorder):
    """Answers ``/go`` with a 307 to a ``Location`` of raw UTF-8 and a byte that is no UTF-8
    (as a server may write it), anything else as :class:`Recorder` does."""

    def _one(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        got = self.read_request(conn)
        if got is None:
            conn.close()
            return
        if got[0].startswith(b"POST /go "):
            with conn:
                conn.sendall(b"HTTP/1.1 307 Temporary Redirect\r\nLocation: /to/caf\xc3\xa9\xff"
                             b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        with self.cond:
            self.got.append(got[0] + b"\r\n\r\n" + got[1])
            self.cond.notify_all()
        with conn:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")


def test_send_s_repr_after_a_redirect_reads_its_location_s_bytes() -> None:
    with _Redirect() as redirecting:
        r = hooklab.send(redirecting.url + "/go", payload={"a": 1}, follow_redirects=True)
        (raw,) = redirecting.wait(1)
    assert r.status == 200 and _wire_target(raw) == b"/to/caf\xc3\xa9\xff"
    assert f"url={redirecting.url + '/to/caf' + chr(0xE9) + '%FF'!r}" in repr(r), repr(r)
