"""The bin a request path names: its first segment, escapes undone, its bytes read as
UTF-8 where they are and a character a byte where they are not (README, "Filters"). A leaf
module (only the standard library), so that the capture, the capture server's rules and a
provider's handshake read one bin from one path alike; :mod:`hooklab.capture` shows
:func:`bin_of`.

>>> bin_of("/%E9/x"), bin_of("/\xe9/x"), bin_of("/%FF/y"), bin_of("/%C3%A9t%C3%A9/x")
('é', 'é', 'ÿ', 'été')
"""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

__all__ = ["bin_of", "bytes_read"]


def bin_of(path: str) -> str:
    """The capture's bin: the first path segment (``"/github/x" -> "github"``, ``"/" -> ""``),
    its ``%XX`` escapes undone and its bytes read by :func:`bytes_read`. The one reading of a
    bin from a path: the capture server, a rule, a secret's handshake and an import use it.

    A path keeps the bytes of the request target a character a byte (as HTTP reads a request
    line), so a sender's raw UTF-8 (``POST /\xc3\xa9t\xc3\xa9/x``, which curl, nginx and
    uvicorn pass on) is read as UTF-8 too: the same bin as ``/%C3%A9t%C3%A9/x`` and as
    ``lab.url_for("été")`` gives. A byte that is no UTF-8 reads one character, sent raw or
    as an escape alike (``/\xe9/x`` and ``/%E9/x`` are bin ``"é"``, ``/%FF/y`` is ``"ÿ"``:
    never ``"\ufffd"``, which merged every such bin into one); a path of characters past
    U+00FF (text, not bytes: a recording's, a HAR's) keeps them, its escapes read so.

    >>> bin_of("/github/x"), bin_of("/caf%C3%A9/x"), bin_of("/caf\xc3\xa9/x"), bin_of("/\xff/x")
    ('github', 'café', 'café', 'ÿ')
    >>> bin_of("/%E9/x"), bin_of("/caf%E9/w"), bin_of("/\xc3\xa9%FF/x"), bin_of("/\u20ac%E9")
    ('é', 'café', 'éÿ', '€é')
    """
    segment = path.lstrip("/").split("/", 1)[0].split("?", 1)[0]
    if segment.isascii() and "%" not in segment:
        return segment
    try:
        raw = segment.encode("latin-1")  # the bytes as received
    except UnicodeEncodeError:  # (characters past U+00FF: text already, a recording's)
        return _ESCAPES.sub(lambda m: bytes_read(unquote_to_bytes(m.group())), segment)
    return bytes_read(unquote_to_bytes(raw))


#: a run of ``%XX`` escapes (the bytes one text's escapes spell, read together)
_ESCAPES = re.compile(r"(?:%[0-9A-Fa-f]{2})+")
#: a byte that is no UTF-8, as ``surrogateescape`` reads it (U+DC80 - U+DCFF)
_NOT_UTF8 = re.compile("[\udc80-\udcff]")


def bytes_read(data: bytes) -> str:
    r"""Bytes as a bin reads them (README: "bytes that are no UTF-8 read one character a
    byte"): UTF-8 where they are UTF-8, and each byte that is not (a lone ``E9``, ``FF``, an
    overlong ``C0 AF``, a surrogate spelt ``ED A0 80``) the one character of its value
    (U+0000 - U+00FF), never ``"\ufffd"``, so that different bytes stay different text.

    >>> bytes_read(b"caf\xc3\xa9"), bytes_read(b"caf\xe9"), bytes_read(b"\xc3\xa9\xff")
    ('café', 'café', 'éÿ')
    >>> bytes_read(b"\xc0\xaf"), bytes_read(b"\xed\xa0\x80")
    ('À¯', 'í\xa0\x80')
    """
    read = data.decode("utf-8", "surrogateescape")  # (a byte that is no UTF-8: U+DC80-DCFF)
    return read if read.isascii() else _NOT_UTF8.sub(lambda m: chr(ord(m.group()) - 0xDC00), read)
