"""The limits on trailer fields (after a chunked body), at their edges, over real sockets.

README: at most 10,000 header fields and 1 MiB of trailer fields, else 431. Trailer fields
have the header section's two limits, of their own: at most ``MAX_FIELDS`` (10,000) fields
and ``MAX_HEAD`` (1 MiB) bytes as sent, ``name: value`` and a line end each. (Each field was
counted 160 bytes more than it is, the memory a parsed field takes, which is a budget of
its own, ``max_in_flight``: 7,000 tiny trailer fields, 83 KB as sent, got 431 "longer than
1048576 bytes" while the same fields in the header section were taken.)
"""

from __future__ import annotations

import json
import socket
import time

import pytest
from _labs import module_lab

import hooklab
from hooklab.server.protocol import MAX_FIELDS, MAX_HEAD

pytestmark = pytest.mark.timeout(120)

Fields = list[tuple[str, str]]


def _sized(n: int, total: int, prefix: str = "X-T") -> Fields:
    """``n`` fields whose lines (``name: value`` CRLF) are ``total`` bytes in all."""
    names = [f"{prefix}{i}" for i in range(n)]
    room = total - sum(len(name) + 4 for name in names)
    assert room >= 0
    each, extra = divmod(room, n)
    return [(name, "v" * (each + (i < extra))) for i, name in enumerate(names)]


def _tiny(n: int, prefix: str = "X-T") -> Fields:
    return [(f"{prefix}{i}", "v") for i in range(n)]


def _size(fields: Fields) -> int:
    return sum(len(f"{k}: {v}\r\n") for k, v in fields)


def _send(port: int, head: Fields, trailers: Fields, path: str) -> tuple[int, bytes, int | None]:
    """A chunked request (body ``abc``) on a fresh connection: status, answer body, capture id."""
    data = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in head)
            + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in trailers) + "\r\n").encode("latin-1")
    buf = b""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):  # (refused before all was sent)
            pass
        s.settimeout(0.5)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except TimeoutError:
                continue
            except ConnectionResetError:
                break
            if not chunk:
                break
            buf += chunk
    head_part, _, body = buf.partition(b"\r\n\r\n")
    status = int(head_part.split(b" ", 2)[1])
    ids = [line.split(b": ")[1] for line in head_part.split(b"\r\n")
           if line.startswith(b"X-Hooklab-Capture-Id: ")]
    return status, body, int(ids[0]) if ids else None


HEAD_SECTION = [("Content-Type", "text/plain")]  # (+ Host, Transfer-Encoding, Connection)

#: (header fields, trailer fields, status, 431's error or None)
CASES = {
    "1-MiB-exactly": (HEAD_SECTION, _sized(100, MAX_HEAD), 200, None),
    "1-MiB-plus-1-byte": (HEAD_SECTION, _sized(100, MAX_HEAD + 1), 431,
                          f"trailer fields longer than {MAX_HEAD} bytes"),
    "one-field-of-1-MiB": (HEAD_SECTION, _sized(1, MAX_HEAD), 200, None),
    "one-field-of-1-MiB-plus-1": (HEAD_SECTION, _sized(1, MAX_HEAD + 1), 431,
                                  f"trailer fields longer than {MAX_HEAD} bytes"),
    "10000-fields": (HEAD_SECTION, _tiny(MAX_FIELDS), 200, None),
    "10001-fields": (HEAD_SECTION, _tiny(MAX_FIELDS + 1), 431,
                     f"more than {MAX_FIELDS} trailer fields"),
    "10000-fields-of-1-MiB": (HEAD_SECTION, _sized(MAX_FIELDS, MAX_HEAD), 200, None),
    "10001-fields-under-1-MiB": (HEAD_SECTION, _sized(MAX_FIELDS + 1, MAX_HEAD // 2), 431,
                                 f"more than {MAX_FIELDS} trailer fields"),
    "7000-tiny-fields": (HEAD_SECTION, _tiny(7000), 200, None),
    "7000-tiny-fields-in-the-head": (_tiny(7000), [("X-Last", "1")], 200, None),
    "full-head-and-10000-trailer-fields": (_tiny(MAX_FIELDS - 3, "X-H"), _tiny(MAX_FIELDS),
                                           200, None),
    "10001-header-fields": (_tiny(MAX_FIELDS - 2, "X-H"), [("X-Last", "1")], 431,
                            f"more than {MAX_FIELDS} header fields"),
}


lab = module_lab()  # (one lab for the module's tests)


def test_the_sizes_are_as_named() -> None:
    assert _size(CASES["1-MiB-exactly"][1]) == MAX_HEAD == 1024 * 1024
    assert _size(CASES["10000-fields-of-1-MiB"][1]) == MAX_HEAD and MAX_FIELDS == 10_000
    assert _size(CASES["1-MiB-plus-1-byte"][1]) == MAX_HEAD + 1
    assert _size(CASES["7000-tiny-fields"][1]) < 100_000


@pytest.mark.parametrize("name", list(CASES))
def test_trailer_fields_have_the_header_sections_limits(lab: hooklab.HookLab, name: str) -> None:
    head, trailers, status, error = CASES[name]
    before = len(lab.captures)
    got, body, capture_id = _send(lab.bound_port, head, trailers, f"/{name}")
    assert got == status, body[:200]
    if error is not None:
        assert json.loads(body) == {"ok": False, "error": error}
        time.sleep(0.2)  # (a capture, had one been made, would be stored by now)
        assert len(lab.captures) == before
        return
    assert capture_id is not None and json.loads(body) == {"ok": True, "id": capture_id}
    capture = lab.get(capture_id)
    assert capture.body == b"abc"
    assert capture.trailers == trailers
    assert capture.header_section == [("Host", "127.0.0.1"), *head,
                                      ("Transfer-Encoding", "chunked"), ("Connection", "close")]


def test_tiny_trailer_fields_are_still_held_as_what_they_take() -> None:
    """The memory a parsed field takes still counts against ``max_in_flight`` (a budget of
    its own, not the 1 MiB limit): 9,000 tiny trailer fields, ~107 KB as sent but ~1.5 MB
    parsed, do not fit a budget of ~160 KB, and get 503 (busy, retry later)."""
    lab = hooklab.HookLab(port=0, db=":memory:", max_body=100_000, max_in_flight=1).start()
    try:
        fields = _tiny(9_000)
        assert _size(fields) < 110_000
        status, body, _ = _send(lab.bound_port, HEAD_SECTION, fields, "/held")
        assert status == 503 and "busy" in json.loads(body)["error"]
        status, body, _ = _send(lab.bound_port, HEAD_SECTION, _tiny(500), "/fits")
        assert status == 200, body
    finally:
        lab.stop()
