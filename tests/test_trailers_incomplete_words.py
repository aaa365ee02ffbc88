"""A chunked request cut off after its last chunk is refused saying the *trailer fields* were
incomplete, not the body: every body byte and the last chunk (``0``) came, only the trailer
section (its fields, or the empty line that ends it) did not (RFC 9112 7.1). A request cut off
before its last chunk still says its body is incomplete.

Raw sockets on 127.0.0.1 to a lab with a SQLite file; each case is sent in the pieces given
(apart in time, so the lab reads them in separate reads), then FIN, or nothing more (408 after
``body_timeout``). The words expected follow from the bytes each case sends.
"""

from __future__ import annotations

import json
import socket
import time

import pytest
from _http import recv_until_close
from _labs import file_module_lab

import hooklab

pytestmark = pytest.mark.timeout(120)

BODY_T = 0.5
HEAD = b"POST /t HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"


def _trailers(n: int) -> str:
    return f"request trailer fields incomplete (after {n} bytes of a chunked body and its last chunk)"


def _body(n: int) -> str:
    return f"request body incomplete ({n} bytes of a chunked body, not its end)"


#: (name, pieces sent after the head, words of the refusal)
CASES = [
    ("trailer field, its line ended", [b"5\r\nhello\r\n0\r\nX-Sig: abc\r\n"], _trailers(5)),
    ("trailer field part-way", [b"5\r\nhello\r\n0\r\nX-Si"], _trailers(5)),
    ("last chunk, nothing after", [b"5\r\nhello\r\n0\r\n"], _trailers(5)),
    ("last chunk with an extension", [b"5\r\nhello\r\n0;sig=1\r\n"], _trailers(5)),
    ("last chunk 000", [b"5\r\nhello\r\n000\r\n"], _trailers(5)),
    ("no data, last chunk", [b"0\r\n"], _trailers(0)),
    ("trailers in a read of their own", [b"5\r\nhello\r\n0\r\n", b"X-Sig: 5\r\n"], _trailers(5)),
    ("last chunk split over reads", [b"5\r\nhello\r\n0", b"\r\n", b"X-A: 1\r\nX-B"], _trailers(5)),
    ("trailer field value in hex", [b"3\r\nabc\r\n0\r\nX-N: 5\r\n"], _trailers(3)),
    # the body not ended: as before
    ("a data chunk's size line", [b"5\r\nhello\r\n5\r\n"], _body(5)),
    ("a data chunk's size line alone", [b"a\r\n"], _body(0)),
    ("size line, data in a later read", [b"5\r\n", b"hel"], _body(3)),
    ("data ending in hex, then a size line", [b"2\r\nab\r\n1\r\n"], _body(2)),
    ("chunk data 0, then a size line", [b"1\r\n0\r\n5\r\n"], _body(1)),
    ("between chunks", [b"5\r\nhello\r\n"], _body(5)),
    ("mid size line", [b"5\r\nhello\r\n1"], _body(5)),
]

lab = file_module_lab(body_timeout=BODY_T)


def _refusal(port: int, pieces: list[bytes], fin: bool) -> tuple[int, str]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.sendall(HEAD)
        for piece in pieces:
            time.sleep(0.05)  # (a read of its own, as a slow sender's)
            s.sendall(piece)
        if fin:
            s.shutdown(socket.SHUT_WR)
        got = recv_until_close(s, 10)  # (the lab closes after its refusal)
    head, _, body = got.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), json.loads(body)["error"]


@pytest.mark.parametrize("name, pieces, words", CASES, ids=[c[0] for c in CASES])
def test_fin_says_what_did_not_come(lab: hooklab.HookLab, name: str, pieces: list[bytes],
                                    words: str) -> None:
    assert _refusal(lab.bound_port, pieces, True) == (400, f"{words}: the sender closed its side")
    assert not [c for c in lab.captures if c.path == "/t"]  # (nothing stored)


@pytest.mark.parametrize("name, pieces, words", CASES[:3] + CASES[-2:],
                         ids=[c[0] for c in CASES[:3] + CASES[-2:]])
def test_timeout_says_what_did_not_come(lab: hooklab.HookLab, name: str, pieces: list[bytes],
                                        words: str) -> None:
    assert _refusal(lab.bound_port, pieces, False) == (
        408, f"{words} after body_timeout ({BODY_T:g} s)")
