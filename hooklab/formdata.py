r"""``multipart/form-data`` bodies read part by part (RFC 7578), from their bytes alone.

The one reader of multipart forms: the live view and ``diff`` hide the credentials of a form
by its parts (:func:`hooklab.credentials.multipart_fields`), detection reads a delivery's
fields and the signature checks Mailgun's forwarded messages (:func:`multipart_form`); re-signing
one writes its new signature fields in place (:func:`set_fields`).
It imports no other hooklab module but :mod:`hooklab.jsonread`, so that every layer may use it.

>>> multipart_form(b'--b\r\nContent-Disposition: form-data; name="to"\r\n\r\na@b.c\r\n--b--\r\n',
...                "multipart/form-data; boundary=b")
{'to': ['a@b.c']}
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from .jsonread import LEGACY_CODECS, charset_module

__all__ = [
    "MULTIPART",
    "MULTIPART_LIMIT",
    "MULTIPART_PARTS",
    "PARTS_HEADERS_LIMIT",
    "PART_HEADERS_LIMIT",
    "FormPart",
    "boundary_of",
    "is_multipart",
    "multipart_form",
    "set_fields",
    "split_parts",
]

MULTIPART = "multipart/form-data"
#: a multipart body read into parts at most this large, with at most this many parts (others are
#: not told apart: hidden whole where a credential's name appears in them)
MULTIPART_LIMIT = 16 * 1024 * 1024
MULTIPART_PARTS = 1000
#: bytes of a part's headers parsed at most (the parameter parser slows down with their
#: number: a part's headers past this are only searched for a credential's name), and of
#: all parts' headers together (past it, the parts are not told apart)
PART_HEADERS_LIMIT = 8192
PARTS_HEADERS_LIMIT = 256 * 1024


class FormPart(NamedTuple):
    """One part of a ``multipart/form-data`` body: its field ``name`` and ``filename`` (from
    ``Content-Disposition``; ``None`` where absent), its ``content_type``, where its content
    lies in the body (``start``, ``end``), every ``name`` it gives (``names``), where its
    headers start (``head``) and their text (``head_text``, read as UTF-8)."""

    name: str | None
    filename: str | None
    content_type: str | None
    start: int
    end: int
    names: tuple[str, ...]
    head: int
    head_text: str


def is_multipart(content_type: str | None) -> bool:
    """Whether a ``Content-Type`` value names ``multipart/form-data`` (any case, parameters
    after it).

    >>> is_multipart("Multipart/Form-Data; boundary=x"), is_multipart("multipart/mixed")
    (True, False)
    """
    return (content_type or "").split(";", 1)[0].strip().lower() == MULTIPART


def boundary_of(content_type: str | None) -> bytes | None:
    """The ``boundary`` parameter of a ``Content-Type`` value (quoted or not), or ``None``
    (none, two, empty, longer than 200 characters, not Latin-1)."""
    from email.message import Message

    m = Message()
    m["Content-Type"] = content_type or ""
    if sum(k.strip().lower() == "boundary" for k, _ in m.get_params() or []) != 1:
        return None  # (none, or two: parsers differ on which one counts)
    b = m.get_param("boundary")
    if not isinstance(b, str) or not 0 < len(b) <= 200:
        return None
    try:
        return b.encode("latin-1")
    except UnicodeEncodeError:
        return None


def split_parts(body: bytes, boundary: bytes) -> list[FormPart] | None:
    r"""The parts of a multipart ``body`` (RFC 7578 / 2046: a delimiter is ``--boundary`` at the
    start of a line, and the line break before it belongs to it), bare ``\n`` line breaks
    accepted as parsers accept them; ``None`` when the parts cannot be told apart: no
    delimiter, more than :data:`MULTIPART_PARTS` parts, a body over :data:`MULTIPART_LIMIT`,
    or a part's headers outside every part (before the first delimiter or after the last,
    where another parser may still find a part)."""
    if len(body) > MULTIPART_LIMIT:
        return None
    from email.message import Message
    from email.parser import HeaderParser

    delim = re.compile(rb"(?:\A|\r\n|\r|\n)--" + re.escape(boundary)
                       + rb"(--)?[ \t]*(?=\r|\n|\Z)")
    marks = []
    for m in delim.finditer(body):
        marks.append(m)
        if m.group(1) or len(marks) > MULTIPART_PARTS:
            break
    if not marks or len(marks) > MULTIPART_PARTS:
        return None
    outside = body[: marks[0].start()] + (body[marks[-1].end():] if marks[-1].group(1) else b"")
    if b"content-disposition" in outside.lower():
        return None
    blank = re.compile(rb"\r?\n\r?\n|\r\r")
    parts: list[FormPart] = []
    budget = PARTS_HEADERS_LIMIT
    for k, this in enumerate(marks):
        if this.group(1):  # the close delimiter: what follows is the epilogue
            break
        at = this.end()
        at += 2 if body.startswith(b"\r\n", at) else 1 if body.startswith((b"\n", b"\r"), at) else 0
        head_at = at
        if k + 1 < len(marks):
            end = marks[k + 1].start()
        else:  # no close delimiter (cut short): the last part runs to the end
            end = len(body) - (2 if body.endswith(b"\r\n") else 1 if body.endswith(b"\n") else 0)
            end = max(at, end)
        gap = blank.search(body, at, end)
        if body.startswith(b"\r\n", at) or body.startswith(b"\n", at):  # no headers
            head, start = b"", at + (2 if body.startswith(b"\r\n", at) else 1)
        elif gap is None:
            head, start = body[at:end], end
        else:
            head, start = body[at : gap.start()], gap.end()
        budget -= min(len(head), PART_HEADERS_LIMIT)
        if budget < 0:
            return None  # (parsing them all would hold the kernel: not told apart)
        # (names and file names are UTF-8 as browsers send them, not ASCII)
        text = head.decode("utf-8", "replace")
        headers = HeaderParser().parsestr(text[:PART_HEADERS_LIMIT] + "\r\n\r\n")
        names: tuple[str, ...] = ()
        for value in headers.get_all("content-disposition") or []:  # (a second one: some
            holder = Message()  # parsers read that)
            holder["Content-Disposition"] = str(value)
            names += tuple(n for k, v in holder.get_params(header="content-disposition") or []
                           if k.strip().lower() == "name" and (n := _param(v)) is not None)
        filename = _param(headers.get_param("filename", header="content-disposition"))
        ctype = headers.get("content-type")
        parts.append(FormPart(names[0] if names else None, filename,
                              str(ctype) if ctype is not None else None, start,
                              max(start, end), names, head_at, text))
    return parts or None


def _param(value: Any) -> str | None:
    """A ``Content-Disposition`` parameter as text: ``value`` as :meth:`email.message.Message.
    get_param` gives it (its quotes and ``\\`` / ``\"`` escapes undone, as web frameworks
    read a quoted name), an RFC 2231 ``name*=utf-8''%E2%82%AC`` decoded from its charset, a
    quote left unclosed not part of the name. Nothing else is taken off: RFC 7578 allows any
    name, and ``name="<id>"`` is field ``<id>`` (``collapse_rfc2231_value`` unquoted the value
    a second time, which took ``<...>`` and a further pair of quotes off).

    >>> _param("<id>"), _param('"x'), _param(('utf-8', '', '\xe2\x82\xac<b>')), _param(None)
    ('<id>', 'x', '€<b>', None)
    """
    if value is None:
        return None
    if isinstance(value, tuple) and len(value) == 3:  # (RFC 2231: charset, language, text)
        charset, _language, text = value
        try:
            value = bytes(text, "raw-unicode-escape").decode(charset or "us-ascii", "replace")
        except LookupError:  # (a charset no codec is known for: the text as it came)
            value = text
    text = str(value).strip()
    if text.startswith('"') and not (len(text) > 1 and text.endswith('"')):
        text = text[1:]  # (name="x with no closing quote: parsers read x)
    return text


#: the charsets a multipart part's text is read in when its ``Content-Type`` declares one
#: (others: UTF-8); their codecs are looked up when a store opens
#: (:func:`hooklab.filters.prime_codecs`), so reading a form on its threads imports nothing
_PART_CODECS = frozenset({*LEGACY_CODECS, "utf_16", "utf_16_be", "utf_16_le", "utf_32",
                          "utf_32_be", "utf_32_le"})


def multipart_form(body: bytes, content_type: str | None) -> dict[str, list[str]] | None:
    r"""The text fields of a ``multipart/form-data`` ``body`` as a web framework's form gives
    them (Flask's ``request.form``): each field name with its values in order, each read in
    the charset its part declares (UTF-8 when it declares none, or one that is no text
    encoding); a file (a part with a ``filename``) is no field. ``None`` when
    ``content_type`` is not ``multipart/form-data`` with one ``boundary`` (quoted or not), or
    the parts cannot be told apart (:func:`split_parts`). Bare ``\n`` line breaks are
    read as ``\r\n``. What the signature checks read Mailgun's forwarded messages with, and detection
    the fields of a multipart delivery.

    >>> multipart_form(b'--XyZ\r\nContent-Disposition: form-data; name="token"\r\n\r\n'
    ...                b'ab\r\n--XyZ\r\nContent-Disposition: form-data; name="a"; '
    ...                b'filename="a.txt"\r\n\r\nhello\r\n--XyZ--\r\n',
    ...                'multipart/form-data; boundary="XyZ"')
    {'token': ['ab']}
    """
    if not is_multipart(content_type) or not body:
        return None
    boundary = boundary_of(content_type)
    parts = split_parts(body, boundary) if boundary is not None else None
    if parts is None:
        return None
    out: dict[str, list[str]] = {}
    for p in parts:
        if p.name is None or p.filename is not None:
            continue
        out.setdefault(p.name, []).append(body[p.start:p.end].decode(_codec(p), "replace"))
    return out


def _codec(part: FormPart) -> str:
    """The codec a part's text is read (and written) in: its declared charset, else UTF-8."""
    codec = charset_module((part.content_type or "").lower())
    return codec if codec in _PART_CODECS else "utf-8"


def set_fields(body: bytes, content_type: str | None, values: Mapping[str, str]) -> bytes:
    r"""``body``, a ``multipart/form-data`` form, with the text field of each name in
    ``values`` holding that value, and every other byte as it was (the parts in their order,
    their headers, files, line breaks, the boundary, preamble and epilogue). A field is read
    as :func:`multipart_form` reads it (a part with that name and no ``filename``); its
    content is replaced in place, written in the charset its part declares. A name no field
    has gets a part of its own after the last part (with the line break the body uses).
    ``ValueError`` when the parts cannot be told apart (:func:`split_parts`), for a name two
    fields have (a receiver may read either) and for a field whose headers run to its end.

    >>> set_fields(b'--b\r\nContent-Disposition: form-data; name="token"\r\n\r\nold\r\n--b--\r\n',
    ...            "multipart/form-data; boundary=b", {"token": "new"})
    b'--b\r\nContent-Disposition: form-data; name="token"\r\n\r\nnew\r\n--b--\r\n'
    """
    boundary = boundary_of(content_type) if is_multipart(content_type) else None
    parts = split_parts(body, boundary) if boundary is not None and body else None
    if boundary is None or parts is None:
        raise ValueError("a multipart/form-data body whose parts cannot be read (no single "
                         "boundary parameter, or no part delimited by it)")
    found: dict[str, FormPart] = {}
    for p in parts:
        if p.name not in values or p.filename is not None:
            continue
        if p.name in found:
            raise ValueError(f"the form has more than one {p.name!r} field: a receiver may "
                             "read the first or the last, so which to set is unclear")
        if not body[p.head:p.start].endswith((b"\n\n", b"\n\r\n", b"\r\r")):
            raise ValueError(f"the form's {p.name!r} part has no blank line after its headers")
        found[p.name] = p
    out: list[bytes] = []
    at = 0
    for p in sorted(found.values(), key=lambda p: p.start):
        out += [body[at:p.start], values[p.name].encode(_codec(p))]
        at = p.end
    missing = [name for name in values if name not in found]
    if missing:
        last = parts[-1].end
        nl = next((n for n in (b"\r\n", b"\n", b"\r") if body.startswith(n, last)), b"\r\n")
        out.append(body[at:last])
        for name in missing:
            quoted = (name.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")
                      .encode("utf-8"))  # (as browsers write a name: WHATWG, RFC 7578 2)
            out.append(nl + b"--" + boundary + nl + b'Content-Disposition: form-data; name="'
                       + quoted + b'"' + nl + nl + values[name].encode("utf-8"))
        at = last
    out.append(body[at:])
    return b"".join(out)
