"""The capture port's connection handling, attacked from outside with raw sockets (127.0.0.1).

- An HTTP/1.0 request with ``Transfer-Encoding`` is answered, then the connection closes
  (RFC 9112 6.1: its framing is faulty), ``Connection: keep-alive`` or not: bytes after it
  were read as a request of their own and stored.
- An answer a response rule gives ``Connection: close`` closes the connection after it
  (RFC 9112 9.6): a pipelined request after it was answered and stored.
- CONNECT is captured as any request but never answered 2xx, which opens a tunnel
  (RFC 9110 9.3.6): 501, or the rule's own status when that is not a 2xx.
"""

from __future__ import annotations

import re

import pytest
from _http import raw_request

import hooklab

pytestmark = pytest.mark.timeout(120)


def _statuses(answer: bytes) -> list[int]:
    return [int(m) for m in re.findall(rb"HTTP/1\.[01] (\d{3}) ", answer)]


def _connection(answer: bytes) -> list[bytes]:
    """The ``Connection`` fields of the first answer in ``answer``."""
    head = answer.split(b"\r\n\r\n", 1)[0]
    return re.findall(rb"\r\nConnection: ([^\r]*)", head, re.IGNORECASE)


# -- HTTP/1.0 with Transfer-Encoding --------------------------------------------------------

SMUGGLED = b"POST /smuggled HTTP/1.0\r\nContent-Length: 4\r\n\r\nEVIL"
CLOSED = ([200], [b"close"], [("/first", b"abc")])
KEPT = ([200, 200], [b"keep-alive"], [("/first", b"abc"), ("/smuggled", b"EVIL")])

#: the first request's head and body (a second, ``SMUGGLED``, follows on the connection);
#: what is answered, the first answer's Connection field, and what is stored
HTTP10_TE: dict[str, tuple[bytes, tuple[list[int], list[bytes], list[tuple[str, bytes]]]]] = {
    "chunked, keep-alive": (
        b"POST /first HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3\r\nabc\r\n0\r\n\r\n", CLOSED),
    "chunked, Keep-Alive": (
        b"POST /first HTTP/1.0\r\nConnection: Keep-Alive\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3\r\nabc\r\n0\r\n\r\n", CLOSED),
    "keep-alive after Transfer-Encoding": (
        b"POST /first HTTP/1.0\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n"
        b"3\r\nabc\r\n0\r\n\r\n", CLOSED),
    "CHUNKED, keep-alive": (
        b"POST /first HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: CHUNKED\r\n\r\n"
        b"3\r\nabc\r\n0\r\n\r\n", CLOSED),
    "chunked in two chunks, keep-alive": (
        b"POST /first HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"1\r\na\r\n2\r\nbc\r\n0\r\n\r\n", CLOSED),
    "chunked with a trailer, keep-alive": (
        b"POST /first HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n", CLOSED),
    "chunked, no Connection": (
        b"POST /first HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        CLOSED),
    "chunked, upgrade ignored": (
        b"POST /first HTTP/1.0\r\nConnection: keep-alive, upgrade\r\nUpgrade: websocket\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", CLOSED),
    # unchanged: HTTP/1.0 with Content-Length, HTTP/1.1 chunked
    "Content-Length, keep-alive": (
        b"POST /first HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\nabc", KEPT),
    "HTTP/1.1 chunked": (
        b"POST /first HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3\r\nabc\r\n0\r\n\r\n", ([200, 200], [], KEPT[2])),
}  # fmt: skip


@pytest.mark.parametrize("case", HTTP10_TE)
def test_http10_with_transfer_encoding_closes_after_its_answer(
        lab: hooklab.HookLab, case: str) -> None:
    first, (answered, connection, stored) = HTTP10_TE[case]
    answer = raw_request(lab.bound_port, first + SMUGGLED)  # (until the server closes)
    assert _statuses(answer) == answered, answer
    assert _connection(answer) == connection, answer
    # the server closed after its answers: all that was read is stored and answered now
    assert [(c.path, c.body) for c in lab.query()] == stored


def test_http10_with_transfer_encoding_to_the_api_closes_too(lab: hooklab.HookLab) -> None:
    """The read API's answer (Tornado's) says close as well; nothing after it is read."""
    first = (b"GET /_hooklab/health HTTP/1.0\r\nConnection: keep-alive\r\n"
             b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
    answer = raw_request(lab.bound_port, first + SMUGGLED)
    assert len(_statuses(answer)) == 1, answer
    assert _connection(answer) == [b"close"], answer
    assert lab.query() == []


# -- a rule's Connection: close -------------------------------------------------------------

AFTER = b"POST /after HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"

#: the rule's headers (and delay), the request's version and Connection; whether the
#: connection closes after the rule's answer (else the request after it is answered too)
RULE_CLOSE: dict[str, tuple[list[tuple[str, str]], float, bytes, bool]] = {
    "close": ([("Connection", "close")], 0.0, b"HTTP/1.1", True),
    "Close": ([("Connection", "Close")], 0.0, b"HTTP/1.1", True),
    "CLOSE, lower-case name": ([("connection", "CLOSE")], 0.0, b"HTTP/1.1", True),
    "in a list": ([("Connection", "keep-alive, close")], 0.0, b"HTTP/1.1", True),
    "in a list without space": ([("Connection", "x-token,Close")], 0.0, b"HTTP/1.1", True),
    "delayed answer": ([("Connection", "close")], 0.3, b"HTTP/1.1", True),
    "HTTP/1.0 keep-alive": ([("Connection", "close")], 0.0, b"HTTP/1.0", True),
    "with other headers": ([("X-A", "1"), ("Connection", "close"), ("X-B", "2")], 0.0,
                           b"HTTP/1.1", True),
    # not a close: the connection goes on as before
    "keep-alive": ([("Connection", "keep-alive")], 0.0, b"HTTP/1.1", False),
    "closed": ([("Connection", "closed")], 0.0, b"HTTP/1.1", False),
    "another field": ([("X-Connection", "close")], 0.0, b"HTTP/1.1", False),
    "none": ([], 0.0, b"HTTP/1.1", False),
}  # fmt: skip


@pytest.mark.parametrize("case", RULE_CLOSE)
def test_a_rule_answering_connection_close_closes(lab: hooklab.HookLab, case: str) -> None:
    headers, delay, version, closes = RULE_CLOSE[case]
    lab.respond("bye", status=200, body=b"hi", headers=headers, delay=delay)
    keep = b"Connection: keep-alive\r\n" if version == b"HTTP/1.0" else b""
    first = b"POST /bye " + version + b"\r\nHost: h\r\n" + keep + b"\r\n"
    answer = raw_request(lab.bound_port, first + AFTER)
    assert _statuses(answer) == ([200] if closes else [200, 200]), answer
    assert answer.split(b"\r\n\r\n", 1)[1].startswith(b"hi"), answer
    if closes:  # (said once, as "close": an HTTP/1.0 keep-alive is not promised)
        assert _connection(answer) == [b"close"], answer
    assert [c.path for c in lab.query()] == (["/bye"] if closes else ["/bye", "/after"])


# -- CONNECT --------------------------------------------------------------------------------

#: the request line's method and target, the rule (status, method) if any; the status
#: answered (and stored with the capture)
CONNECTS: dict[str, tuple[bytes, tuple[int, str | None] | None, int]] = {
    "host:port": (b"CONNECT example.com:443", None, 501),
    "[IPv6]:port": (b"CONNECT [::1]:443", None, 501),
    "a path": (b"CONNECT /c", None, 501),
    "rule 200 for all": (b"CONNECT example.com:443", (200, None), 501),
    "rule 204": (b"CONNECT example.com:443", (204, None), 501),
    "rule 299": (b"CONNECT example.com:443", (299, None), 501),
    "rule 200 for CONNECT": (b"CONNECT example.com:443", (200, "CONNECT"), 501),
    "rule 302 kept": (b"CONNECT example.com:443", (302, None), 302),
    "rule 407 kept": (b"CONNECT example.com:443", (407, None), 407),
    "rule 503 kept": (b"CONNECT example.com:443", (503, None), 503),
    # other methods: as before
    "connect (another method)": (b"connect /c", None, 200),
    "POST": (b"POST /c", None, 200),
    "OPTIONS": (b"OPTIONS /c", None, 200),
    "GET, rule 204": (b"GET /c", (204, None), 204),
}  # fmt: skip


@pytest.mark.parametrize("case", CONNECTS)
def test_connect_is_captured_and_never_answered_2xx(lab: hooklab.HookLab, case: str) -> None:
    line, rule, status = CONNECTS[case]
    if rule is not None:
        lab.respond("*", status=rule[0], method=rule[1])
    head = line + b" HTTP/1.1\r\nHost: example.com:443\r\nContent-Length: 2\r\n\r\nhi"
    # the connection stays an HTTP one: a request after it is answered as usual
    answer = raw_request(lab.bound_port, head + AFTER)
    assert _statuses(answer)[0] == status, answer
    (cap, after) = lab.query()
    assert (cap.method, cap.body, cap.status) == (line.split()[0].decode(), b"hi", status)
    assert after.path == "/after"
    if rule is None and status == 501:  # the usual body naming the capture
        first = answer.split(b"\r\n\r\n", 1)[1]
        assert first.startswith(b'{"ok": true, "id": %d}' % cap.id), answer
