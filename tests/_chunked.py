"""Raw chunked requests with trailer fields (fields after the body), for the trailer tests,
and the cases of how trailers are shown (the live view's Details tab, the stream page)."""

from __future__ import annotations

Fields = list[tuple[str, str]]
#: what a request below starts with, unless told otherwise
FIRST: Fields = [("Host", "x"), ("Transfer-Encoding", "chunked"), ("Connection", "close")]


def chunked_post(path: str, head: Fields, trailers: Fields, body: bytes = b'{"a": 1}', *,
                 first: Fields = FIRST) -> bytes:
    """``POST path`` with ``first`` and ``head`` as its header section, ``body`` in two chunks
    (one when it is a byte long, none when empty) and ``trailers`` after them, as raw bytes
    (names and values as UTF-8).

    >>> chunked_post("/b", [], [("X-T", "1")], b"hi", first=[("Host", "x")])
    b'POST /b HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n1\\r\\nh\\r\\n1\\r\\ni\\r\\n0\\r\\nX-T: 1\\r\\n\\r\\n'
    """
    lines = [f"POST {path} HTTP/1.1", *(f"{k}: {v}" for k, v in [*first, *head])]
    half = len(body) // 2
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in (body[:half], body[half:]) if c)
    tail = "".join(f"{k}: {v}\r\n" for k, v in trailers).encode()
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + chunks + b"0\r\n" + tail + b"\r\n"


XSS = '<img src=x onerror="window.__xss=1">'


def hidden(value: str) -> str:
    """How a credential's value is shown while credentials are hidden."""
    return f"<hidden: {len(value)} chars>"


#: name -> (header section after the first fields, trailer fields, the trailers shown while
#: credentials are hidden; None: as sent): what the live view's Details tab and the stream
#: page show apart from the header section
SHOWN: dict[str, tuple[Fields, Fields, Fields | None]] = {
    "none": ([("X-Id", "1")], [], None),
    "one": ([("X-Id", "2")], [("X-Checksum", "sha256=abc")], None),
    "a credential trailer": (
        [("X-Id", "3"), ("Authorization", "Bearer HEADsecret0")],
        [("Authorization", "Bearer TRAILsecret1"), ("X-Api-Key", "TRAILsecret2"),
         ("X-Plain", "kept")],
        [("Authorization", hidden("Bearer TRAILsecret1")), ("X-Api-Key", hidden("TRAILsecret2")),
         ("X-Plain", "kept")]),
    "html in a trailer value": ([("X-Id", "4")], [("X-Evil", XSS), ("X-Quote", "a\"b'c&d")], None),
    "500 trailers": ([("X-Id", "6")], [(f"X-T-{i}", f"v{i}") for i in range(500)], None),
}
