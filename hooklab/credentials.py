"""Which parts of a request are credentials, and the request with them hidden: the one rule
the live view (every tab, so saved widget state too) and ``diff`` follow.

Header values (``Authorization``, ``Cookie``...), query and form fields (``password``,
``token``, ``client_secret``..., also as ``user[password]``), in urlencoded and multipart
forms, are shown as ``<hidden: N chars>`` until the person asks to see them.

>>> from datetime import datetime
>>> c = Capture(id=1, received_at=datetime.now(), method="POST", path="/f", query={},
...             headers=[("Content-Type", "application/x-www-form-urlencoded")],
...             body=b"user=bob&client_secret=s3cr3t")
>>> hidden_form(c)
b'user=bob&client_secret=<hidden: 6 chars>'
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, NamedTuple
from urllib.parse import parse_qs, unquote_plus

from .capture import Capture

__all__ = [
    "MULTIPART",
    "SENSITIVE_HEADERS",
    "SENSITIVE_QUERY",
    "WHOLE_FORM",
    "Part",
    "hidden_form",
    "hidden_value",
    "hide_fields",
    "is_sensitive_field",
    "is_sensitive_header",
    "multipart_fields",
]

#: header names whose values are credentials: hidden unless the user asks to reveal them
SENSITIVE_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "api-key",
        "x-auth-token",
        "x-access-token",
    }
)
SENSITIVE_QUERY = frozenset(
    {"token", "access_token", "api_key", "apikey", "password", "secret", "client_secret"}
)


def is_sensitive_header(name: str) -> bool:
    """Whether a header's value is a credential (:data:`SENSITIVE_HEADERS`).

    >>> is_sensitive_header(" Authorization"), is_sensitive_header("Stripe-Signature")
    (True, False)
    """
    return name.strip().lower() in SENSITIVE_HEADERS


def is_sensitive_field(name: str) -> bool:
    """Whether a query or form field holds a credential (:data:`SENSITIVE_QUERY`, spaces
    around the name and letter case aside; PHP / Rails names by their last part): the one
    rule of every tab.

    >>> [is_sensitive_field(n) for n in ("Password ", "user[password]", "a[b][token]", "user")]
    [True, True, True, False]
    """
    low = name.strip().lower()
    if low.endswith("]") and "[" in low:  # user[password], data[api][token]
        low = low.rsplit("[", 1)[1][:-1].strip()
    return low in SENSITIVE_QUERY


def hidden_value(value: str) -> str:
    """What a hidden value shows instead: its length only.

    >>> hidden_value("hunter2")
    '<hidden: 7 chars>'
    """
    return f"<hidden: {len(value)} chars>"


def hide_fields(fields: Any, hide: Callable[[str], bool] = is_sensitive_field) -> Any:
    """Form ``fields`` (name -> value, or a list of values) with the values of the names
    ``hide`` picks (credentials: :func:`is_sensitive_field`) replaced by
    :func:`hidden_value`, as the Details tab shows them.

    >>> hide_fields({"user": "bob", "Password": ["a", "bc"]})
    {'user': 'bob', 'Password': ['<hidden: 1 chars>', '<hidden: 2 chars>']}
    """
    if not isinstance(fields, dict):
        return fields

    def hidden(v: Any) -> Any:
        if isinstance(v, list):
            return [hidden(x) for x in v]
        return hidden_value(v if isinstance(v, str) else json.dumps(v))

    return {k: hidden(v) if hide(str(k)) else v for k, v in fields.items()}


def hidden_form(cap: Capture) -> bytes | None:
    """A form body (``application/x-www-form-urlencoded`` or ``multipart/form-data``) with the
    values of its credential fields (``password``, ``client_secret``, ``token``...:
    :data:`SENSITIVE_QUERY`) replaced by placeholders, as the Details tab shows them;
    ``None`` when it holds none. A form whose fields cannot be told apart (compressed, in
    UTF-16, a multipart body whose parts are not found) is hidden whole
    (:data:`WHOLE_FORM`) where it may hold one.

    >>> from datetime import datetime
    >>> c = Capture(id=1, received_at=datetime.now(), method="POST", path="/f", query={},
    ...             headers=[("Content-Type", "application/x-www-form-urlencoded")],
    ...             body=b"user=bob&Password=hunter2&x=1")
    >>> hidden_form(c)
    b'user=bob&Password=<hidden: 7 chars>&x=1'
    """
    multipart = cap.content_type == MULTIPART
    if (cap.content_type != "application/x-www-form-urlencoded" and not multipart) or not cap.body:
        return None
    encoding = (cap.header("content-encoding") or "").strip().lower()
    boundary = _boundary(cap) if multipart else None
    found = _parts(cap.body, boundary) if boundary is not None else None
    if (encoding not in ("", "identity") or cap.charset.strip().lower() not in _ASCII_LIKE
            or (multipart and found is None)):
        # compressed, in a charset whose bytes are not ASCII's (UTF-16), or a multipart body
        # whose parts cannot be told apart: the fields can only be hidden by hiding it all,
        # where it may hold some (or cannot be read to tell)
        try:
            cap.decoded_body()  # (ValueError: it cannot be read to tell)
            raw = cap.text
            names = (_disposition_names(raw) if multipart
                     else list(parse_qs(raw, keep_blank_values=True)))
        except (ValueError, LookupError):
            names = ["password"]
        if not any(is_sensitive_field(n) for n in names):
            return None
        why = (f"Content-Encoding {encoding}" if encoding not in ("", "identity")
               else cap.charset if cap.charset.strip().lower() not in _ASCII_LIKE
               else "its parts not found")
        return WHOLE_FORM + f" ({cap.size} bytes, {why}): tick 'show credentials'>".encode()
    if found is not None:
        out, at = [], 0
        for part in found:
            if part.name is not None and is_sensitive_field(part.name):
                value = cap.body[part.start : part.end].decode("utf-8", "replace")
                out += [cap.body[at : part.start], hidden_value(value).encode()]
                at = part.end
        return b"".join([*out, cap.body[at:]]) if out else None
    parts = cap.body.split(b"&")
    changed = False
    for i, part in enumerate(parts):
        key, eq, value = part.partition(b"=")
        if eq and is_sensitive_field(unquote_plus(key.decode("utf-8", "replace"))):
            parts[i] = key + b"=" + hidden_value(unquote_plus(value.decode("utf-8", "replace"))).encode()
            changed = True
    return b"&".join(parts) if changed else None


#: how :func:`hidden_form` starts when it hides a form whole (its fields cannot be told apart)
WHOLE_FORM = b"<form body hidden"
MULTIPART = "multipart/form-data"
#: a multipart body read into parts at most this large (larger ones: hidden whole if needed)
MULTIPART_LIMIT = 16 * 1024 * 1024


class Part(NamedTuple):
    """One part of a ``multipart/form-data`` body: its field ``name`` and ``filename`` (from
    ``Content-Disposition``; ``None`` where absent), its ``content_type``, and where its
    content lies in the body (``start``, ``end``)."""

    name: str | None
    filename: str | None
    content_type: str | None
    start: int
    end: int


def _boundary(cap: Capture) -> bytes | None:
    """The ``boundary`` parameter of a multipart capture's Content-Type (RFC 2046: 1 to 70
    characters), or ``None``."""
    from email.message import Message

    m = Message()
    m["Content-Type"] = cap.header("content-type") or ""
    b = m.get_param("boundary")
    if not isinstance(b, str) or not 0 < len(b) <= 200:
        return None
    try:
        return b.encode("latin-1")
    except UnicodeEncodeError:
        return None


def _parts(body: bytes, boundary: bytes) -> list[Part] | None:
    r"""The parts of a multipart ``body`` (RFC 7578 / 2046: a delimiter is ``--boundary`` at the
    start of a line, and the line break before it belongs to it), bare ``\n`` line breaks
    accepted as parsers accept them; ``None`` when no part can be found (no delimiter, or a
    body too large to read here)."""
    if len(body) > MULTIPART_LIMIT:
        return None
    from email.parser import BytesHeaderParser

    delim = re.compile(rb"(?:\A|\r?\n)--" + re.escape(boundary) + rb"(--)?[ \t]*(?=\r?\n|\Z)")
    marks = list(delim.finditer(body))
    parts: list[Part] = []
    for k, this in enumerate(marks):
        if this.group(1):  # the close delimiter: what follows is the epilogue
            break
        at = this.end()
        at += 2 if body.startswith(b"\r\n", at) else 1 if body.startswith(b"\n", at) else 0
        if k + 1 < len(marks):
            end = marks[k + 1].start()
        else:  # no close delimiter (cut short): the last part runs to the end
            end = len(body) - (2 if body.endswith(b"\r\n") else 1 if body.endswith(b"\n") else 0)
            end = max(at, end)
        blank = re.compile(rb"\r?\n\r?\n").search(body, at, end)
        if body.startswith(b"\r\n", at) or body.startswith(b"\n", at):  # no headers
            head, start = b"", at + (2 if body.startswith(b"\r\n", at) else 1)
        elif blank is None:
            head, start = body[at:end], end
        else:
            head, start = body[at : blank.start()], blank.end()
        headers = BytesHeaderParser().parsebytes(head + b"\r\n\r\n")
        name = headers.get_param("name", header="content-disposition")
        filename = headers.get_filename()
        ctype = headers.get("content-type")
        parts.append(Part(_param(name), filename, str(ctype) if ctype is not None else None,
                          start, max(start, end)))
    return parts or None


def _param(value: Any) -> str | None:
    from email.utils import collapse_rfc2231_value

    if value is None:
        return None
    return collapse_rfc2231_value(value)


def _disposition_names(text: str) -> list[str]:
    """The field names a multipart body's ``Content-Disposition`` lines give (for bodies whose
    parts cannot be found: hidden whole if any is a credential's)."""
    return [m.group(1) or m.group(2) for m in re.finditer(
        r'(?i)content-disposition:[^\r\n]*?\bname\*?\s*=\s*(?:"([^"]*)"|([^;\s]+))', text)]


def multipart_fields(cap: Capture) -> list[Part] | None:
    r"""The parts of a ``multipart/form-data`` capture (:class:`Part`), or ``None`` (another
    content type, compressed, too large, no parts found).

    >>> from datetime import datetime
    >>> c = Capture(id=1, received_at=datetime.now(), method="POST", path="/f", query={},
    ...             headers=[("Content-Type", "multipart/form-data; boundary=XyZ")],
    ...             body=b'--XyZ\r\nContent-Disposition: form-data; name="to"\r\n\r\n'
    ...                  b'a@b.c\r\n--XyZ--\r\n')
    >>> [(p.name, c.body[p.start:p.end]) for p in multipart_fields(c)]
    [('to', b'a@b.c')]
    """
    if cap.content_type != MULTIPART or not cap.body:
        return None
    if (cap.header("content-encoding") or "").strip().lower() not in ("", "identity"):
        return None
    boundary = _boundary(cap)
    return _parts(cap.body, boundary) if boundary is not None else None


#: charsets whose bytes for ``=``, ``&`` and letters are ASCII's (a form is split as bytes)
_ASCII_LIKE = frozenset({"utf-8", "utf8", "us-ascii", "ascii", "iso-8859-1", "latin-1", "latin1",
                         "windows-1252", "cp1252"})
