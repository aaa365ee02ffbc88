"""JSON payloads read alike on every Python version: one nesting limit; and deep values
measured and written as text without recursion.

The bottom of the package (no hooklab import): :mod:`hooklab.capture`, detection in
:mod:`hooklab.providers`, the frame and exploration read payloads with :func:`loads_json`;
search, detection and the signature checks made as a capture arrives read a declared
``charset`` with :func:`declared_codec` (no codec module imported on those threads).

>>> loads_json(b'{"a": [1, 2]}')
{'a': [1, 2]}

A value read can be nested :data:`JSON_MAX_DEPTH` levels deep, deeper than ``repr``,
``json.dumps`` and pandas' printer go (each recurses per level: near 1,000 levels, fewer with a
caller's frames above, they raise ``RecursionError``). :func:`json_depth` measures a value and
:func:`json_text` writes its start without recursion:

>>> deep = loads_json(b"[" * 1000 + b"]" * 1000)
>>> json_depth(deep), json_depth(deep, stop=256), json_text(deep, 6)
(1000, 257, '[[[[[[…')
"""

from __future__ import annotations

import json
import re
import sys
import threading
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from encodings import aliases as _aliases
from encodings import normalize_encoding
from typing import Any

__all__ = ["JSON_MAX_DEPTH", "LEGACY_CODECS", "MAX_DECODED", "MAX_PARSED", "MAX_TRANSFER_CODINGS",
           "TRANSFER_UNDONE", "body_coding", "charset_module", "declared_codec", "decode_body",
           "decode_prefix", "flat_name", "inflate", "json_depth", "json_text", "json_too_deep",
           "loads_fast", "loads_json", "section_coding", "surrogates_escaped", "transfer_codings",
           "wide_int"]

#: JSON nested deeper than this many arrays/objects is read as not JSON (``Capture.json()`` is
#: ``None``), the same on every Python version: orjson's own limit, where the standard library's
#: depends on the version and the stack (3.10/3.11 stop near 1,000, 3.13 read 5,000 levels)
JSON_MAX_DEPTH = 1024

#: every byte but brackets, dropped; then braces read as brackets
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_SQUARE = bytes.maketrans(b"{}", b"[]")


def json_too_deep(raw: bytes | str) -> bool:
    """Whether valid JSON ``raw`` nests arrays and objects deeper than :data:`JSON_MAX_DEPTH`
    (brackets in strings do not count). Two counts for a body of at most that many brackets;
    else a few passes at C speed: strings dropped, innermost pairs of the brackets left taken
    away a few times (a real payload's are gone then), and what remains read by orjson, whose
    own limit it is. (JSON that is not valid gives no meaningful answer: parse it first.)

    >>> json_too_deep(b"[" * 1025 + b"]" * 1025), json_too_deep(b'["' + b"[" * 2000 + b'"]')
    (True, False)
    """
    if isinstance(raw, str):
        if raw.count("[") + raw.count("{") <= JSON_MAX_DEPTH:
            return False
        data = raw.encode("utf-8", "surrogatepass")
    else:
        data = bytes(raw)
        if data.count(b"[") + data.count(b"{") <= JSON_MAX_DEPTH:
            return False
    if b'"' in data:  # escapes out (left to right, as JSON pairs them), then every string
        if b"\\" in data:  # (a replace that finds nothing still costs a search: 24 us/25 KB)
            data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
        data = b"".join(data.split(b'"')[::2])
    brackets = data.translate(_SQUARE, _NOT_BRACKETS)
    passes = 0
    while passes < 16 and brackets.count(b"[") > JSON_MAX_DEPTH:
        brackets = brackets.replace(b"[]", b"")  # (one level of every innermost pair)
        passes += 1
    if brackets.count(b"[") <= JSON_MAX_DEPTH - passes:
        return False
    import orjson

    try:  # (the levels taken away put back around what is left)
        orjson.loads(b"[" * passes + brackets.replace(b"][", b"],[") + b"]" * passes)
    except orjson.JSONDecodeError as exc:
        return "depth" in str(exc)
    return False


def loads_json(raw: bytes | str, **kw: Any) -> Any:
    """``json.loads(raw, **kw)``, but JSON nested deeper than :data:`JSON_MAX_DEPTH` raises
    ``ValueError`` on every Python version, and JSON up to it is read on every version (3.10
    and 3.11 count the parser's levels against the recursion limit: raised while any call
    needs it, by that much and no more). Bytes in UTF-16 or UTF-32 are read as
    ``json.loads`` reads them, their depth too.

    >>> loads_json(b'{"n": 123456789012345678901234567890}')
    {'n': 123456789012345678901234567890}
    >>> loads_json(b'[' * 1025 + b']' * 1025)
    Traceback (most recent call last):
    ValueError: JSON nested deeper than 1,024 levels
    """
    if sys.version_info >= (3, 12) or len(raw) < 200:  # (100 levels: any caller's stack has
        # room for them; 899 failed under 150 frames of a caller's own)
        value = json.loads(raw, **kw)
    else:
        with _deeper_parse():
            value = json.loads(raw, **kw)
    # (after parsing: the depth of JSON that is valid is read in linear time, in the text
    # json.loads read: a UTF-16 character's bytes may hold a "[" or a quote)
    if isinstance(raw, (bytes, bytearray)):
        encoding = json.detect_encoding(raw)
        if encoding != "utf-8":
            raw = bytes(raw).decode(encoding, "surrogatepass")
    if json_too_deep(raw):
        raise ValueError(f"JSON nested deeper than {JSON_MAX_DEPTH:,} levels")
    return value


def loads_fast(raw: bytes | str) -> Any:
    """What :func:`loads_json` gives (the same values, the same errors), by orjson where
    orjson gives those (several times faster): not for a text that may hold an integer past
    64 bits (:func:`wide_int`; orjson reads one as a float, changing a wei amount such as
    ``1234567000000000000000001``), nor for what orjson refuses but the standard library
    reads (NaN, a lone surrogate, a byte order mark, UTF-16). JSON nested deeper than
    :data:`JSON_MAX_DEPTH` raises ``ValueError``.

    >>> loads_fast(b'{"wei": 1234567000000000000000001, "n": -9223372036854775809, "f": 0.5}')
    {'wei': 1234567000000000000000001, 'n': -9223372036854775809, 'f': 0.5}
    """
    if wide_int(raw):
        return loads_json(raw)
    try:
        import orjson
    except ImportError:  # pragma: no cover - a dependency; stay correct without it
        return loads_json(raw)
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        text = str(exc).lower()
        if "depth" in text or "recursion" in text:  # (3.13's standard library would read it)
            raise ValueError(f"nested deeper than {JSON_MAX_DEPTH:,} levels") from None
    return loads_json(raw)


#: a digit or a minus -> "1", any other byte -> "0" (:func:`wide_int`)
_NUMBER_BYTES = bytes(49 if 48 <= c <= 57 or c == 45 else 48 for c in range(256))
#: 20 of them in a row: 20 digits (2**64 has 20), or a minus and 19 (-2**63 - 1 has 19)
_WIDE_RUN = b"1" * 20


def wide_int(data: bytes | str) -> bool:
    """Whether JSON text ``data`` may hold an integer that orjson reads as a float (past
    2**64 - 1 or below -2**63): it holds 20 digits (or a minus and 19) in a row. One pass at
    C speed; a run inside a string, a long float, or an integer at those very ends (2**64 - 1
    and -2**63, which orjson reads exactly) only sends the text to the standard library,
    which reads it the same.

    >>> wide_int(b'{"v": 9223372036854775807}'), wide_int(b'{"v": 18446744073709551616}')
    (False, True)
    >>> wide_int('{"v": -922337203685477580}'), wide_int('{"v": -9223372036854775809}')
    (False, True)
    """
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    return _WIDE_RUN in bytes(data).translate(_NUMBER_BYTES)


_limit_lock = threading.Lock()
_limit_users = 0
_limit_before = 0


@contextmanager
def _deeper_parse() -> Iterator[None]:
    """The recursion limit raised by :data:`JSON_MAX_DEPTH` and a margin while any thread
    parses with it, put back when the last one is done: threads that raised and restored it
    each on their own left it raised a little more every time they overlapped (32,000 after
    4,000 parses in two threads), until a deep enough body overflowed the C stack."""
    global _limit_users, _limit_before
    with _limit_lock:
        if _limit_users == 0:
            _limit_before = sys.getrecursionlimit()
            sys.setrecursionlimit(_limit_before + JSON_MAX_DEPTH + 100)
        _limit_users += 1
    try:
        yield
    finally:
        with _limit_lock:
            _limit_users -= 1
            if _limit_users == 0 and sys.getrecursionlimit() == (
                    _limit_before + JSON_MAX_DEPTH + 100):  # (unless someone else set it)
                sys.setrecursionlimit(_limit_before)


def json_depth(value: Any, stop: int | None = None) -> int:
    """How many arrays/objects deep ``value`` nests (a scalar 0, ``[]`` 1, ``[{"a": 1}]`` 2),
    walked without recursion; with ``stop``, the walk ends as soon as it is deeper than that
    (the answer is then ``stop + 1``: "deeper than ``stop``").

    >>> json_depth(1), json_depth([]), json_depth({"a": [1, {"b": 2}]}), json_depth([[[]]], stop=1)
    (0, 1, 3, 2)
    """
    if not isinstance(value, (dict, list, tuple)):
        return 0
    deepest = 1
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:  # (bounded: each container of the value is pushed once)
        node, depth = stack.pop()
        if depth > deepest:
            deepest = depth
            if stop is not None and deepest > stop:
                return stop + 1
        for child in node.values() if isinstance(node, dict) else node:
            if isinstance(child, (dict, list, tuple)) and child:
                stack.append((child, depth + 1))
            elif isinstance(child, (dict, list, tuple)) and depth + 1 > deepest:
                deepest = depth + 1  # (an empty one: nothing inside to push)
                if stop is not None and deepest > stop:
                    return stop + 1
    return deepest


def _json_scalar(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)  # (TypeError for what JSON has not)


def _json_key(key: Any) -> str:
    if isinstance(key, str):
        return json.dumps(key, ensure_ascii=False)
    if key is None or isinstance(key, (bool, int, float)):  # (json.dumps' rule for keys)
        return json.dumps(json.dumps(key))
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


def _parts(node: Any, key: Any) -> Iterator[tuple[bool, Any]]:
    """``(True, text)`` for the brackets and separators of one container, ``(False, value)``
    for each item, lazily (a preview of a million-item array reads its first items only)."""
    if isinstance(node, dict):
        yield True, "{"
        for i, (k, v) in enumerate(node.items()):
            yield True, (", " if i else "") + key(k) + ": "
            yield False, v
        yield True, "}"
    else:
        yield True, "["
        for i, v in enumerate(node):
            if i:
                yield True, ", "
            yield False, v
        yield True, "]"


def json_text(value: Any, limit: int, *, style: str = "json") -> str:
    """``json.dumps(value, ensure_ascii=False)`` (``style="repr"``: ``repr(value)``) of a JSON
    value, the same text, but built without recursion and only as far as its first ``limit``
    characters: when it is longer, those and ``…``. Raises ``TypeError`` for what is not
    JSON (as ``json.dumps`` does).

    >>> json_text({"a": [1, 2.5, None, True, "é"]}, 100), json_text([[1], {"b": "x"}], 100, style="repr")
    ('{"a": [1, 2.5, null, true, "é"]}', "[[1], {'b': 'x'}]")
    >>> json_text(list(range(10**6)), 12)
    '[0, 1, 2, 3,…'
    """
    scalar, key = (_json_scalar, _json_key) if style == "json" else (repr, repr)
    out: list[str] = []
    size = 0
    stack: list[Iterator[tuple[bool, Any]]] = [iter(((False, value),))]
    while stack and size <= limit:  # (bounded: every item is yielded once, and the text grows)
        for is_text, item in stack[-1]:
            if not is_text:
                if isinstance(item, (dict, list, tuple)):
                    stack.append(_parts(item, key))
                    break  # (go into it; this container's iterator goes on after it)
                item = scalar(item)
            out.append(item)
            size += len(item)
            if size > limit:
                break
        else:
            stack.pop()
    text = "".join(out)
    return text if len(text) <= limit else text[:limit] + "…"


#: decoded views of compressed bodies are capped so a decompression bomb cannot exhaust memory
MAX_DECODED = 64 * 1024 * 1024
#: the most of a body read as a capture arrives (detection, the signature check of a
#: transfer-coded body) once its codings are undone: a smaller cap, as these run on the
#: server's thread for every request
MAX_PARSED = 8 * 1024 * 1024
#: a body sent with more transfer codings than this (besides ``chunked``) is read as one
#: that cannot be undone: a chain of them multiplies what a few bytes decode to (two gzips
#: of 285 bytes made 60 MiB)
MAX_TRANSFER_CODINGS = 3


#: transfer codings a reader of a body undoes (``chunked``, the last, was undone on arrival;
#: ``identity`` is none): RFC 9112 section 7, a transfer coding is framing, not content
TRANSFER_UNDONE = ("gzip", "x-gzip", "deflate")


def transfer_codings(values: Iterable[str]) -> list[str]:
    """The transfer codings a header section's ``Transfer-Encoding`` values name, in the
    order applied: lower-cased, without their parameters and without ``identity``.

    >>> transfer_codings(["GZIP;q=1, chunked"]), transfer_codings(["identity", "deflate"])
    (['gzip', 'chunked'], ['deflate'])
    """
    return [name for v in values for t in v.split(",")
            if (name := t.split(";", 1)[0].strip().lower()) and name != "identity"]


def body_coding(content_encoding: str | None, transfer_encoding: Iterable[str] = ()) -> str | None:
    r"""What :func:`decode_body` undoes to read a body sent with these fields of a header
    section (``Content-Encoding``, the first; every ``Transfer-Encoding`` value): the
    ``Content-Encoding`` value itself, or, when a transfer coding besides the final
    ``chunked`` came (``Transfer-Encoding: gzip, chunked``, stored as the gzip bytes once
    ``chunked`` was undone), that value, a line break (which no field value holds) and those
    codings. Every reader of a body's content (``Capture.decoded_body``, detection, search,
    the frame, ``lab.sql``'s ``payload``, ``lab.schema()``) reads it through this.

    >>> body_coding("gzip"), body_coding(None, ["chunked"]), body_coding(None, ["gzip, chunked"])
    ('gzip', None, '\ngzip')
    >>> body_coding("deflate", ["x-gzip", "chunked"])
    'deflate\nx-gzip'
    """
    codings = transfer_codings(transfer_encoding)
    if codings and codings[-1] == "chunked":
        codings.pop()
    if not codings:
        return content_encoding
    return f"{content_encoding or ''}\n{', '.join(codings)}"


def section_coding(fields: Iterable[tuple[Any, Any]]) -> str | None:
    r""":func:`body_coding` of a header section's fields (``(name, value)`` pairs; trailer
    fields describe nothing of the body: leave them out).

    >>> section_coding([("Transfer-Encoding", "gzip, chunked"), ("Content-Encoding", "br")])
    'br\ngzip'
    """
    encoding: str | None = None
    transfer: list[str] = []
    for name, value in fields:
        low = str(name).lower()
        if low == "transfer-encoding":
            transfer.append(str(value))
        elif encoding is None and low == "content-encoding":
            encoding = str(value)
    return body_coding(encoding, transfer)


def inflate(data: bytes, coding: str, limit: int = MAX_DECODED, *,
            prefix: bool = False, cut: bool = False) -> bytes:
    """``data`` with one gzip (``x-gzip``) or deflate transfer coding undone (every member
    of a gzip stream), at most ``limit`` bytes; ``ValueError`` for a stream that is corrupt,
    cut short, followed by other bytes, or that decodes past ``limit`` (a decompression
    bomb), and for a coding that is neither. ``prefix``: a stream that decodes past
    ``limit`` gives its first ``limit`` bytes instead; ``cut``: ``data`` is the start of a
    stream (cut by a limit before), and what it decodes to is given.

    >>> import gzip
    >>> inflate(gzip.compress(b"a") + gzip.compress(b"b"), "gzip")
    b'ab'
    >>> inflate(gzip.compress(b"abc" * 100), "gzip", 4, prefix=True), inflate(gzip.compress(b"abc")[:-8], "gzip", cut=True)
    (b'abca', b'abc')
    """
    if coding not in TRANSFER_UNDONE:
        raise ValueError(f"unsupported transfer coding {coding!r}")
    out = bytearray()
    gz = coding != "deflate"
    for _ in range(len(data) + 1):  # (each member takes a byte or more: bounded)
        d = zlib.decompressobj(16 + zlib.MAX_WBITS if gz else zlib.MAX_WBITS)
        try:
            out += d.decompress(data, limit + 1 - len(out))
        except zlib.error as exc:
            if gz or out:
                raise ValueError(f"its {coding} transfer coding is corrupt ({exc})") from None
            try:  # (raw deflate without the zlib header, as some senders write it)
                d = zlib.decompressobj(-zlib.MAX_WBITS)
                out += d.decompress(data, limit + 1)
            except zlib.error as exc2:
                raise ValueError(f"its deflate transfer coding is corrupt ({exc2})") from None
        if prefix and len(out) >= limit:
            return bytes(out[:limit])
        if cut and not d.eof:
            return bytes(out)
        if len(out) > limit:
            raise ValueError(f"its {coding} transfer coding decodes past {limit:,} bytes "
                             "(a decompression bomb?)")
        if not d.eof:
            raise ValueError(f"its {coding} transfer coding is cut short (the stream does "
                             "not end)")
        data = d.unused_data
        if not data:
            return bytes(out)
        if not gz:
            raise ValueError(f"its {coding} transfer coding is followed by "
                             f"{len(data)} bytes that are none of it")
    raise ValueError(f"its {coding} transfer coding is corrupt")  # (never: bounded above)


def _transfer_chain(encoding: str) -> tuple[str, list[str]]:
    """The ``Content-Encoding`` and the transfer codings (the last applied first) of an
    ``encoding`` made by :func:`body_coding`; ``ValueError`` for more than
    :data:`MAX_TRANSFER_CODINGS` of them or one that cannot be undone."""
    content, _, transfer = encoding.partition("\n")
    codings = transfer.split(", ")
    if len(codings) > MAX_TRANSFER_CODINGS:
        raise ValueError(f"{len(codings)} transfer codings chained (at most "
                         f"{MAX_TRANSFER_CODINGS} are undone)")
    for coding in codings:
        if coding not in TRANSFER_UNDONE:
            raise ValueError(f"unsupported transfer coding {coding!r}")
    return content, codings[::-1]


def _content_decoder(enc: str, body: bytes, limit: int) -> tuple[Any, bytes]:
    """A ``Content-Encoding``'s decompressor (gzip, deflate, raw deflate: some senders write
    it without the zlib header) and the first ``limit`` bytes of ``body`` it gives; else
    ``ValueError`` (corrupt)."""
    wbits = 16 + zlib.MAX_WBITS if enc != "deflate" else zlib.MAX_WBITS
    try:
        d = zlib.decompressobj(wbits)
        return d, d.decompress(body, limit)
    except zlib.error:
        if enc != "deflate":
            raise ValueError(f"corrupt {enc} body") from None
        try:
            d = zlib.decompressobj(-zlib.MAX_WBITS)
            return d, d.decompress(body, limit)
        except zlib.error as exc:
            raise ValueError(f"corrupt deflate body: {exc}") from None


def decode_body(body: bytes, encoding: str | None, limit: int = MAX_DECODED) -> bytes:
    r"""Undo ``Content-Encoding`` (gzip, deflate) for viewing; the stored body stays raw.
    An ``encoding`` made by :func:`body_coding` has its transfer codings undone first (the
    last applied first, each at most ``limit`` bytes: :func:`inflate`; at most
    :data:`MAX_TRANSFER_CODINGS` of them).

    Raises ``ValueError`` if the data is corrupt or would decode past ``limit`` bytes.

    >>> import gzip
    >>> decode_body(gzip.compress(gzip.compress(b"{}")), body_coding("gzip", ["gzip, chunked"]))
    b'{}'
    """
    if encoding is not None and "\n" in encoding:
        encoding, codings = _transfer_chain(encoding)
        for coding in codings:
            if body:  # (no body came: none to undo)
                body = inflate(body, coding, limit)
        if not encoding:
            return body
    enc = (encoding or "").strip().lower()
    if enc in ("", "identity"):
        return body
    if enc in ("gzip", "x-gzip", "deflate"):
        d, out = _content_decoder(enc, body, limit + 1)
        if len(out) > limit:
            raise ValueError(f"decoded body exceeds {limit} bytes (decompression bomb?)")
        if not d.eof:  # never pass a cut-off stream off as the whole body
            raise ValueError(f"truncated {enc} body")
        return out
    raise ValueError(f"unsupported Content-Encoding {encoding!r}")


def decode_prefix(body: bytes, encoding: str | None, limit: int) -> bytes:
    r"""The first ``limit`` bytes (or fewer) of what :func:`decode_body` reads of ``body``,
    when the whole is longer, or its ``Content-Encoding`` stream is cut short: what decodes
    before that point. No stage decodes more than ``limit`` bytes (a transfer coding's
    stream is read as far as its first ``limit`` decoded bytes: the next stage reads that
    prefix, so a small ``limit`` may give less), so the work is bounded whatever the body
    decodes to; a transfer coding's stream that the sender cut short raises, as in
    :func:`decode_body`. ``ValueError`` for a corrupt stream, a coding that cannot
    be undone, or more than :data:`MAX_TRANSFER_CODINGS` transfer codings. ``search``
    reads a body's first megabyte so.

    >>> import gzip
    >>> decode_prefix(gzip.compress(gzip.compress(b"x" * 10**7)), "\ngzip, gzip", 1000) == b"x" * 1000
    True
    """
    if encoding is not None and "\n" in encoding:
        encoding, codings = _transfer_chain(encoding)
        cut = False  # (whether the bytes read were cut at the limit by a stage before)
        for coding in codings:
            if body:
                body = inflate(body, coding, limit, prefix=True, cut=cut)
                cut = cut or len(body) >= limit
    enc = (encoding or "").strip().lower()
    if enc in ("", "identity"):
        return body[:limit]
    if enc in ("gzip", "x-gzip", "deflate"):
        return _content_decoder(enc, body, limit)[1]
    raise ValueError(f"unsupported Content-Encoding {encoding!r}")


def surrogates_escaped(text: str) -> str:
    r"""``text`` with each lone surrogate (``"\ud83d"`` in a JSON string: valid JSON, no
    character, and no UTF-8 text can hold it) written as JSON escapes it, the six characters
    ``\ud83d``; ``text`` itself when it has none. Detection's event types and delivery ids
    (SQLite takes no lone surrogate) and what exploration shows are written so.

    >>> surrogates_escaped("evt\ud800"), surrogates_escaped("caf\u00e9 \U0001f600")
    ('evt\\ud800', 'café 😀')
    """
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)")
#: the non-UTF charsets search reads bodies in (the others are read as UTF-8): looked up
#: once when a store opens (``hooklab.filters.prime_codecs``), so that making words imports nothing
LEGACY_CODECS = ("latin_1", "cp1252", "iso8859_15", "iso8859_2", "cp1251", "koi8_r",
                 "shift_jis", "euc_jp", "gbk", "gb18030", "big5", "euc_kr")


def charset_module(ctype: str) -> str | None:
    """The codec module a ``charset=`` in ``ctype`` (lower-case) names in Python's table of
    aliases (``"latin_1"`` for ``ISO-8859-1``), or None when there is no ``charset=``. By
    the table, not ``codecs.lookup``: that imports the codec's module, and this runs on the
    server's and the writer's threads.

    >>> charset_module("text/plain; charset=iso-8859-1"), charset_module("text/plain")
    ('latin_1', None)
    """
    charset = _CHARSET.search(ctype)
    if charset is None:
        return None
    name = normalize_encoding(charset.group(1)).lower()
    return _aliases.aliases.get(name, name)


def declared_codec(content_type: str | None) -> str:
    """The codec the ``charset=`` of ``content_type`` names if it is one of
    :data:`LEGACY_CODECS`, else ``"utf-8"``: what ``search``, detection and the signature
    checks made as a capture arrives read a body's text and a form's ``%XX`` bytes with,
    importing no module on the server's or the writer's thread
    (``Capture.form()`` reads every charset ``hooklab.capture.form_codec`` takes).

    >>> declared_codec("application/x-www-form-urlencoded; charset=windows-1252")
    'cp1252'
    >>> declared_codec("application/x-www-form-urlencoded; charset=unicode_escape"), declared_codec(None)
    ('utf-8', 'utf-8')
    """
    if not content_type:
        return "utf-8"
    name = charset_module(content_type.lower())
    return name if name in LEGACY_CODECS else "utf-8"


def flat_name(keys: Iterable[str]) -> str:
    """The column ``pandas.json_normalize`` names the field at ``keys`` (object keys, outermost
    first): the keys joined by ``.``, except that a key met while the name is still empty
    starts it alone (pandas drops the separator it would begin with), so leading empty keys
    add nothing. ``dataframe(flatten=True)``, its kept tables and the live view's Tree name
    fields here, whichever way a body is read.

    >>> flat_name(["a", "b"]), flat_name(["", "e"]), flat_name(["", "", "x"]), flat_name(["a", "", "b"])
    ('a.b', 'e', 'x', 'a..b')
    >>> flat_name([""]), flat_name(["x", ""]), flat_name(["a.", "x"])
    ('', 'x.', 'a..x')
    """
    name = ""
    for key in keys:
        name = f"{name}.{key}" if name else key
    return name
