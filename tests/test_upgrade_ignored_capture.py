"""An upgrade asked for on a capture path is ignored (RFC 9110 7.8): the capture is exactly
what the same request without the upgrade fields makes, over real sockets and a real SQLite
file.

A chunked request whose head also said ``Connection: Upgrade, HTTP2-Settings`` and
``Upgrade: h2c`` (what ``curl --http2`` sends to an http:// URL) was answered 200 but stored
without its trailer fields (``trailers_at`` None), and the trailer limits (10,000 fields, 1 MiB)
were not applied to it: the body went to a parser that dropped trailer fields. Each request
here is sent twice, with and without the upgrade fields, with a plain request pipelined behind
it, and the answers and stored rows compared; the trailer fields are also checked against
those sent.
"""

from __future__ import annotations

import socket

import pytest
from _http import read_answers

import hooklab

pytestmark = pytest.mark.timeout(180)

#: the upgrade fields a sender may add to its head (none of them names the request's framing)
UPGRADES = {
    "h2c": [("Connection", "Upgrade, HTTP2-Settings"), ("Upgrade", "h2c"),
            ("HTTP2-Settings", "AAMAAABkAAQAoAAAAAIAAAAA")],
    "websocket": [("Connection", "Upgrade"), ("Upgrade", "websocket"),
                  ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
                  ("Sec-WebSocket-Version", "13")],
    "tls": [("Connection", "Upgrade"), ("Upgrade", "TLS/1.2")],
}

SIGNATURE = [("X-Signature", "abc123"), ("X-Other", "2")]
MANY = [(f"X-T{i}", "v") for i in range(10_000)]  # at the limit of trailer fields
TOO_MANY = [*MANY, ("X-T10000", "v")]  # one past it
LONG = [(f"X-L{i}", "v" * 1020) for i in range(1024)]  # past 1 MiB of trailer fields, as sent

#: framing and body: (method, framing fields, body bytes as sent, the body, trailer fields)
BODIES = {
    "chunked, trailers": ("POST", [("Transfer-Encoding", "chunked")],
                          b"5\r\nhello\r\n0\r\n", b"hello", SIGNATURE),
    "chunked, no trailers": ("POST", [("Transfer-Encoding", "chunked")],
                             b"2\r\nhi\r\n3\r\n yo\r\n0\r\n", b"hi yo", []),
    "content-length": ("POST", [("Content-Length", "4")], b"body", b"body", []),
    "no body": ("GET", [], b"", b"", []),
    "10,000 trailer fields": ("POST", [("Transfer-Encoding", "chunked")],
                              b"1\r\nx\r\n0\r\n", b"x", MANY),
    "10,001 trailer fields": ("POST", [("Transfer-Encoding", "chunked")],
                              b"1\r\nx\r\n0\r\n", b"x", TOO_MANY),
    "trailers over 1 MiB": ("POST", [("Transfer-Encoding", "chunked")],
                            b"1\r\nx\r\n0\r\n", b"x", LONG),
}
#: refused (431, nothing stored, nothing after it read), with or without an upgrade
REFUSED = {"10,001 trailer fields", "trailers over 1 MiB"}


def _fields(pairs: list[tuple[str, str]]) -> bytes:
    return b"".join(f"{k}: {v}\r\n".encode() for k, v in pairs)


def _request(path: str, case: str, upgrade: list[tuple[str, str]]) -> bytes:
    method, framing, sent, _, trailers = BODIES[case]
    head = f"{method} {path} HTTP/1.1\r\n".encode() + _fields([("Host", "127.0.0.1"), *upgrade,
                                                                 *framing])
    end = _fields(trailers) + b"\r\n" if framing and framing[0][0] == "Transfer-Encoding" else b""
    return head + b"\r\n" + sent + end


def _after(path: str) -> bytes:
    return f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\n\r\ntwo".encode()


@pytest.fixture
def lab(module_file_lab: hooklab.HookLab) -> hooklab.HookLab:
    return module_file_lab  # (one lab, a SQLite file, for the module)


def _row(lab: hooklab.HookLab, path: str, upgrade: list[tuple[str, str]]) -> tuple | None:
    """The stored capture of ``path`` with the upgrade fields taken out of its header section
    (and ``trailers_at`` counted without them): what the same request without them makes."""
    got = [c for c in lab.captures if c.path == path]
    if not got:
        return None
    (c,) = got
    sent = {(k.lower(), v) for k, v in upgrade}
    head = [(k, v) for k, v in c.header_section if (k.lower(), v) not in sent]
    assert len(c.header_section) - len(head) == len(upgrade)
    at = None if c.trailers_at is None else c.trailers_at - len(upgrade)
    return (c.method, c.body, c.status, head, c.trailers, at, c.bin, c.content_type)


_N = iter(range(1_000_000))


@pytest.mark.parametrize("case", list(BODIES))
@pytest.mark.parametrize("upgrade", list(UPGRADES))
def test_an_ignored_upgrade_leaves_the_capture_as_without_it(lab: hooklab.HookLab,
                                                             upgrade: str, case: str) -> None:
    n = next(_N)
    got = {}
    for name, fields in (("plain", []), ("upgrade", UPGRADES[upgrade])):
        first, second = f"/case{n}/{name}-first", f"/case{n}/{name}-second"
        with socket.create_connection(("127.0.0.1", lab.bound_port), timeout=10) as s:
            s.sendall(_request(first, case, fields) + _after(second))
            statuses = [int(a[9:12]) for a in read_answers(s, 2, timeout=20)[0]]
        rows = [_row(lab, first, fields), _row(lab, second, [])]
        got[name] = statuses, rows
    (plain_statuses, plain_rows), (statuses, rows) = got["plain"], got["upgrade"]
    _, framing, _, body, trailers = BODIES[case]
    if case in REFUSED:  # 431, nothing stored, the pipelined request not read
        assert statuses == plain_statuses == [431]
        assert rows == plain_rows == [None, None]
        return
    assert statuses == plain_statuses == [200, 200]
    assert rows == plain_rows
    first, second = rows
    assert first is not None and second is not None
    assert first[1] == body
    assert first[4] == trailers  # the trailer fields as sent, in order
    # the header section: Host and the framing, then the trailers start (None: no trailers)
    assert first[5] == (1 + len(framing) if trailers else None)
    assert second[1] == b"two" and second[4] == []
