"""A rule's answer with a status that carries no content, over real sockets.

``lab.respond(bin, status=205, body=b"BODY")`` sent ``Content-Length: 4`` and the body,
although a server MUST NOT send content with 205 (RFC 9110 15.3.6), as it already left it out
of 204 and 304. A 205 now drops the rule's body as 204 and 304 do, and says ``Content-Length:
0`` (a 205 is not one of the answers RFC 9112 6.3 frames as empty by status: without it, a
client reads until the connection closes). The answer after it on the same connection is read
where it starts. A rule may not answer with a 1xx status (an interim answer: the sender waits
on for the final one): ``ValueError`` when the rule is made.
"""

from __future__ import annotations

import socket

import pytest
from _http import recv_until_close

import hooklab

pytestmark = pytest.mark.timeout(120)

_SENTINEL = b"GET /sentinel HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"

#: RFC 9110 / 9112, per status: the Content-Length sent (None: none) and the content
EXPECTED = {204: (None, b""), 205: ("0", b""), 304: (None, b""), 200: ("4", b"BODY")}

#: the body a rule is given: as bytes, text, JSON, empty, or none (the default JSON body)
BODIES = {"bytes": b"BODY", "text": "BODY", "json": {"a": 1}, "empty": b"", "default": None}


def _answers(data: bytes, head_request: bool = False) -> list[tuple[int, dict[str, str], bytes]]:
    """Split answers as a client does (RFC 9112 6.3): 1xx, 204, 304 and the answer to a HEAD
    have no content; every other is framed by its Content-Length, or runs to the close."""
    out = []
    while data:
        end = data.index(b"\r\n\r\n")
        lines = data[:end].decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        fields = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            fields[k.strip().lower()] = v.strip()
        data = data[end + 4:]
        if (head_request and not out) or status in (204, 304) or status < 200:
            size = 0
        elif "content-length" in fields:
            size = int(fields["content-length"])
        else:
            size = len(data)
        out.append((status, fields, data[:size]))
        data = data[size:]
    return out


@pytest.fixture
def lab(module_file_lab: hooklab.HookLab) -> hooklab.HookLab:
    return module_file_lab  # (one lab, a SQLite file, for the module)


def _exchange(lab: hooklab.HookLab, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", lab.bound_port), timeout=10) as s:
        s.sendall(request + _SENTINEL)
        return recv_until_close(s, 10)


@pytest.mark.parametrize("body", list(BODIES))
@pytest.mark.parametrize("status", list(EXPECTED))
def test_a_status_without_content_sends_none(lab: hooklab.HookLab, status: int,
                                             body: str) -> None:
    bin_ = f"nc{status}{body}"
    if BODIES[body] is None:
        lab.rules.add(bin_, status=status)  # (the default body: the capture's JSON)
    else:
        lab.respond(bin_, status=status, body=BODIES[body])
    got = _answers(_exchange(lab, f"POST /{bin_} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                   "Content-Length: 2\r\n\r\nhi".encode()))
    assert [a[0] for a in got] == [status, 200]  # the sentinel's answer is read where it starts
    (_, fields, content), sentinel = got
    length, expected = EXPECTED[status]
    if status == 200:  # (the control: content is sent as given)
        given = BODIES[body]
        expected = (b'{"ok": true, "id": %s}' % fields["x-hooklab-capture-id"].encode()
                    if given is None else b'{"a": 1}' if isinstance(given, dict)
                    else given.encode() if isinstance(given, str) else given)
        length = str(len(expected))
    assert (fields.get("content-length"), content) == (length, expected)
    assert sentinel[2].startswith(b'{"ok": true, "id": ')
    assert lab.wait(1, bin=bin_, timeout=10)[0].status == status


def test_a_status_sequence_keeps_the_body_for_the_statuses_that_carry_one(
        lab: hooklab.HookLab) -> None:
    lab.respond("ncseq", status=[503, 205, 200], body="busy")
    request = b"POST /ncseq HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n"
    got = _answers(_exchange(lab, request * 3))
    assert [(s, f.get("content-length"), c) for s, f, c in got[:3]] == [
        (503, "4", b"busy"), (205, "0", b""), (200, "4", b"busy")]
    assert got[3][0] == 200


def test_a_head_request_to_a_205_rule(lab: hooklab.HookLab) -> None:
    lab.respond("nchead", status=205, body=b"BODY")
    with socket.create_connection(("127.0.0.1", lab.bound_port), timeout=10) as s:
        s.sendall(b"HEAD /nchead HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        data = recv_until_close(s, 10)
    ((status, fields, content),) = _answers(data, head_request=True)
    assert (status, fields.get("content-length"), content) == (205, "0", b"")
    assert data.endswith(b"\r\n\r\n")  # nothing after the head


@pytest.mark.parametrize("status", [100, 101, 103, 199, [200, 101]])
def test_a_1xx_status_is_refused_as_a_rule(lab: hooklab.HookLab, status) -> None:
    with pytest.raises(ValueError, match="200..599"):
        lab.respond("nc1xx", status=status, body=b"x")
