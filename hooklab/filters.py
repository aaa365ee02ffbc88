"""The one filter vocabulary: which captures a call means, wherever filters are accepted.

``lab.wait``, ``lab.dataframe``, ``lab.live``, ``lab.captures``, the ``%hooklab`` magics, the
``/_hooklab/api/captures`` API and the ``/_hooklab/ws`` stream all take the same keywords:

========== ==========================================================================
key        meaning
========== ==========================================================================
bin        first path segment (``/github/x`` -> ``github``); a list means any of them;
           slashes around it are dropped, as ``lab.url_for`` drops them (``/github``
           is ``github``)
method     HTTP method, any case
provider   detected sender (``stripe``, ``github``, ...): a provider id
           (``hooklab.providers.PROVIDERS``) or one a capture in the store has (an
           import's); ``unknown`` (:data:`NO_PROVIDER`, a Parquet export's folder name
           for them): the captures without a detected provider; any other name is
           ``ValueError`` (``provider="Stripe"``, a typo, matched nothing:
           ``assert_received(count=0, ...)`` passed)
event_type e.g. ``invoice.paid``, ``pull_request.opened``
path       the exact path
kind       ``http`` (received), ``ws`` (recorded WebSocket frames and events)
verified   ``True``: its signature was checked and is valid; ``False``: checked and not valid
           (captures to a bin without a secret have neither); in a URL ``true``/``false``
since      a capture id (newer ids only) or a datetime (received after it; or ISO 8601 text)
until      a capture id (that id and older) or a datetime (received at or before it)
search     words in path, query, headers or body (case-insensitive; see below)
========== ==========================================================================

``search`` matches words, as a full-text index does: ``search="refund-42"`` finds a capture
whose text holds the word ``refund`` followed by a word starting with ``42`` (``Refund-42``,
``refund 420``); the last word is a prefix, so ``search="refund"`` also finds ``refunded``.
Words are runs of letters and digits, compared in lower case; everything else separates them.
The text of a capture is its path (its ``%XX`` undone and read as UTF-8: ``/orders/caf%C3%A9``
says ``café``, as the same path sent as raw UTF-8 does),
query names and values, header names and values, and its body (with ``Content-Encoding``
undone, read as UTF-8, or as UTF-16 or UTF-32 where JSON is, the first :data:`MAX_SEARCH_BODY`
bytes) as a person reads it, if it is text (:func:`is_text`: a binary body, such as an image or
random bytes, gives no words) (:func:`readable`: a form's ``%2F`` is ``/``, a JSON string's ``\\n`` a
line break and ``\\u00e8`` an ``è``, in JSON as :meth:`Capture.json` reads it: after a byte order
mark, or a single JSON string).
A search text with no letters or digits at all (``"@"``) matches as a plain substring instead.
The store answers ``search`` from an index (:mod:`hooklab.store`); :func:`matches` is its exact
Python twin for single captures (the live stream).

In a URL (``/_hooklab/api/captures``, the stream) or a magic, a field filter may be given more
than once for any of its values (``?bin=github&bin=stripe``, ``--bin github --bin stripe``).

>>> search_words("Refund-42 OK_now")
['refund', '42', 'ok', 'now']

>>> validate({"method": "post", "bin": None, "since": 3})
{'method': 'POST', 'since': 3}
>>> validate({"verified": "false", "bin": ["github", "stripe"]})
{'verified': False, 'bin': ['github', 'stripe']}
>>> validate({"bin": "/orders"}), validate({"bin": ["/a/", "b"]})
({'bin': ['/orders', 'orders']}, {'bin': ['/a/', 'a', 'b']})
>>> validate({"colour": "red"})
Traceback (most recent call last):
...
TypeError: unknown capture filter 'colour'; use one of bin, method, provider, event_type, path, kind, verified, since, until, search
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from numbers import Integral
from typing import TYPE_CHECKING, Any

from .capture import (
    CHARSET_CODECS,
    KINDS,
    NO_PROVIDER,
    bin_of,
    decode_body,
    parse_iso,
    path_read,
    user_stacklevel,
)
from .jsonread import LEGACY_CODECS, body_coding, charset_module, declared_codec, decode_prefix

if TYPE_CHECKING:
    from .capture import Capture

__all__ = [
    "FIELD_KEYS",
    "FILTER_KEYS",
    "KINDS",
    "MAX_SEARCH_BODY",
    "NO_PROVIDER",
    "add_options",
    "bin_name",
    "bound",
    "capture_id",
    "check_bin",
    "describe",
    "from_options",
    "from_query",
    "is_capture_id",
    "is_text",
    "matches",
    "matches_phrase",
    "matches_text",
    "option_words",
    "provider_wanted",
    "search_line",
    "search_text",
    "search_words",
    "validate",
    "warn_if_local_is_not_utc",
]

#: filters that compare one capture field for equality (or membership, given a list)
FIELD_KEYS = ("bin", "method", "provider", "event_type", "path", "kind")
#: every filter key, in the order they are documented
FILTER_KEYS = (*FIELD_KEYS, "verified", "since", "until", "search")

_TRUE = ("true", "1", "yes")
_FALSE = ("false", "0", "no")

_MULTI = (list, tuple, set, frozenset)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


#: (filter, naive datetime) pairs already warned about (see warn_if_local_is_not_utc)
_WARNED: set[tuple[str, datetime]] = set()


def warn_if_local_is_not_utc(key: str, value: datetime) -> None:
    """A naive ``datetime`` is read as UTC (as text without a zone is, and as the captures'
    times are), but ``datetime.now()`` is local time: where local time is not UTC, say so
    (``wait(since=datetime.now())`` in Berlin waited for captures an hour in the future).
    ``key`` names the filter or ``lab.sql`` parameter; each (key, value) is warned of once."""
    import warnings

    try:
        offset = value.astimezone().utcoffset()
    except (OverflowError, OSError, ValueError):  # (a time the platform cannot place)
        return
    if offset and (key, value) not in _WARNED:
        if len(_WARNED) < 1000:  # (a polling loop, the live view: each value once, bounded)
            _WARNED.add((key, value))
        hours = offset.total_seconds() / 3600
        warnings.warn(
            f"{key}={value.isoformat(sep=' ')} has no time zone: it is read as UTC, but this "
            f"machine's local time is UTC{hours:+g} h (datetime.now() is local time: give "
            f"datetime.now(timezone.utc), or the time with its zone)",
            RuntimeWarning, stacklevel=user_stacklevel())


def bin_name(name: str) -> str:
    """A bin as ``url_for``, ``lab.secret`` and ``lab.forward`` read it: the slashes around it
    dropped (a bin is a path's first segment, so none starts or ends with ``/`` but a
    ``%2F``-spelt one, which no ``url_for`` makes). The ``bin`` filter matches both spellings:
    ``bin="/orders"`` is bin ``orders`` and a bin a sender spelt ``/%2Forders``.

    >>> bin_name("/orders"), bin_name("orders/"), bin_name("a/b")
    ('orders', 'orders', 'a/b')
    """
    return name.strip("/")


def check_bin(name: str) -> str:
    """``name`` as :func:`bin_name` reads it, or ``ValueError`` when a slash is left inside
    it: a bin is one path segment, the first of a capture's path, so ``POST /github/push``
    is captured into bin ``github`` and a forward, secret or answer set for
    ``"github/push"`` would never apply, without a word. The message says what to write.
    ``lab.forward``, ``lab.secret``, ``lab.respond`` (a pattern without a leading ``/``) and
    ``hooklab serve --forward`` read their bin here. A bin spelt with ``%XX`` escapes is
    refused too, saying the bin a capture to that path is in (``"caf%C3%A9"``: write
    ``"café"``), where it would never match a capture's bin either.

    >>> check_bin("/orders")
    'orders'
    >>> check_bin("github/push")
    Traceback (most recent call last):
    ...
    ValueError: 'github/push' is no bin: a bin is one path segment, the first of the path
    (POST /github/push is captured into bin 'github'); write 'github' (a forward sends the
    rest of the path, /push, on after its target's path; lab.respond takes a path glob,
    '/github/push')
    """
    if not isinstance(name, str):
        raise TypeError(f"a bin is a str, not {type(name).__name__}")
    b = bin_name(name)
    if "/" not in b:
        return _check_unescaped(name, b) if _ESCAPE.search(b) else b
    first, rest = b.split("/", 1)
    # the bin, with its escapes undone as a capture's is ("caf%C3%A9/x" is in bin 'café', a
    # name refused in its escaped spelling), but for a bin with a "/" inside ("a%2Fb")
    read = bin_read(first)
    first = first if read == first or "/" in read else read
    raise ValueError(f"{_shown_name(name)} is no bin: a bin is one path segment, the first of the path "
                     f"(POST /{b} is captured into bin {first!r}); write {first!r} (a forward "
                     f"sends the rest of the path, /{rest}, on after its target's path; "
                     f"lab.respond takes a path glob, '/{b}')")


#: a ``%XX`` escape, as a capture's bin undoes it
_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")


def bin_read(segment: str) -> str:
    """The bin a capture to ``/<segment>/...`` is in: ``segment`` with its escapes undone as
    :func:`hooklab.capture.bin_of` undoes a capture's (a ``?`` is the bin's own: ``url_for``
    sends it as ``%3F``).

    >>> bin_read("caf%C3%A9"), bin_read("a%2Fb"), bin_read("a?b")
    ('café', 'a/b', 'a?b')
    """
    return bin_of("/" + segment.replace("?", "%3F"))


def _shown_name(name: str) -> str:
    """``name`` as a refusal quotes it: ``repr``, cut to 80 characters."""
    return repr(name) if len(name) <= 80 else repr(name[:80]) + "..."


def _check_unescaped(name: str, b: str) -> str:
    """``b``, or ``ValueError`` when the bin ``b`` is spelt with escapes (``"caf%C3%A9"``): a
    capture to ``/caf%C3%A9/x`` is in bin ``café`` (:func:`hooklab.capture.bin_of` undoes
    them), so a secret, answer or forward set for the escaped spelling never applied. The
    message says the bin to write, or that none can be written: a bin with a ``/`` inside
    (``url_for("a/b")`` captures into it, as ``/a%2Fb``) or one whose name holds ``%XX``
    text has no spelling these calls read as it (``"a/b"`` is bin ``a``, path ``/b``).

    >>> _check_unescaped("orders", "orders")
    'orders'
    """
    read = bin_read(b)
    if read == b:
        return b
    if "/" in read or _ESCAPE.search(read):
        what = "a '/' inside" if "/" in read else "%XX text in its name"
        write = (f"a bin with {what}, as {read!r}, is named by no call of lab.secret, "
                 "lab.respond or lab.forward (url_for captures into it; give it a name of "
                 "one path segment without escapes, or answer its paths with path globs: "
                 f"lab.respond('/{b}') and lab.respond('/{b}/*'))")
    else:
        write = f"write {read!r} (url_for({read!r}) escapes it again)"
    raise ValueError(f"{_shown_name(name)} is spelt with %XX escapes: a capture to /{b}/... is in bin "
                     f"{read!r} (a bin is read with its escapes undone, as capture.bin is); "
                     f"{write}")


def provider_wanted(value: str | list[str]) -> tuple[list[str], bool]:
    """A validated ``provider`` filter as each store's query reads it: the provider names it
    means, and whether it means the captures without one too (:data:`NO_PROVIDER`, which a
    database keeps as ``NULL``, and a Parquet export as its folder ``provider=unknown``).

    >>> provider_wanted("stripe"), provider_wanted(["unknown", "github"])
    ((['stripe'], False), (['github'], True))
    """
    names = value if isinstance(value, list) else [value]
    return [n for n in names if n != NO_PROVIDER], NO_PROVIDER in names


def _raw_utf8(path: str) -> str:
    """``path`` as the store keeps it when its sender wrote it as raw UTF-8 bytes (a character
    a byte: ``/été`` is ``/Ã©tÃ©``); ``path`` itself when it is ASCII or has no UTF-8."""
    if path.isascii():
        return path
    try:
        return path.encode("utf-8").decode("latin-1")
    except UnicodeEncodeError:  # (a lone surrogate: no bytes any sender sent)
        return path


def validate(filters: Mapping[str, Any], *,
             provider_check: Callable[[str], str | None] | None = None) -> dict[str, Any]:
    """Check and normalise filters; ``None`` values are dropped. Raises ``TypeError``/``ValueError``.

    ``path`` is matched as written and as the store keeps a path its sender wrote as raw
    UTF-8 (a character a byte): ``path="/été"`` finds ``POST /\xc3\xa9t\xc3\xa9`` too.

    >>> validate({"path": "/caf\u00e9"})
    {'path': ['/café', '/cafÃ©']}

    ``provider_check`` is the store's word on a ``provider`` name (each of a list's):
    ``None`` when captures there may have it, else why not, the ``ValueError``'s message.
    Every store passes its own (:meth:`hooklab.store.CaptureStore.provider_check`: the
    provider ids hooklab detects and those its captures have), so a name no capture can have
    is refused wherever filters are read, as ``kind="bogus"`` is.

    >>> validate({"provider": "Stripe"}, provider_check=lambda p: None if p == "stripe"
    ...          else f"no provider {p!r}")
    Traceback (most recent call last):
    ...
    ValueError: no provider 'Stripe'
    """
    out: dict[str, Any] = {}
    for key, value in filters.items():
        if value is None:
            continue
        if key not in FILTER_KEYS:
            raise TypeError(f"unknown capture filter {key!r}; use one of {', '.join(FILTER_KEYS)}")
        if key == "method":
            value = [str(v).upper() for v in value] if isinstance(value, _MULTI) else str(value).upper()
        elif key in FIELD_KEYS:
            if isinstance(value, _MULTI):
                value = [str(v) for v in value]
            elif not isinstance(value, str):
                raise TypeError(f"filter {key}= takes a string or a list of strings, not {value!r}")
            if key == "bin":  # (url_for("/orders") captures into bin "orders": a bin named
                # as the URL's path is spelt, bin="/orders", matched nothing, silently; it
                # matches both now: that bin, and a bin spelt so (a path's %2F), as before)
                named = value if isinstance(value, list) else [value]
                both = list(dict.fromkeys(b for v in named for b in (v, bin_name(v))))
                value = both if isinstance(value, list) or len(both) > 1 else value
            if key == "path":  # a path sent as raw UTF-8 is stored a character a byte
                # (/Ã©tÃ©, so that a replay sends those bytes): path="/été" means it too
                # (a spelling already in the list is not spelt again: validated filters
                # validate to themselves, as export's two passes read them)
                named = value if isinstance(value, list) else [value]
                both: list[str] = []
                for v in named:
                    for spelling in (v, _raw_utf8(v)) if v not in both else ():
                        if spelling not in both:
                            both.append(spelling)
                value = both if isinstance(value, list) or len(both) > 1 else value
            if key == "provider" and provider_check is not None:  # (a typo, "Stripe",
                # matched nothing, silently: assert_received(count=0, ...) passed)
                given = filters[key]
                for one in given if isinstance(given, _MULTI) else [given]:
                    words = None if one is None else provider_check(str(one))
                    if words:
                        raise ValueError(words)
            if key == "kind":  # (two kinds only: a typo, ws_in, matched nothing, silently)
                for one in value if isinstance(value, list) else [value]:
                    if one not in KINDS:
                        raise ValueError(f"kind= is one of {', '.join(KINDS)}, not {one!r}")
        elif key == "verified":
            text = value.strip().lower() if isinstance(value, str) else None
            if isinstance(value, bool) or (isinstance(value, Integral) and value in (0, 1)) or (
                    type(value).__module__ == "numpy" and type(value).__name__ in ("bool", "bool_")):
                value = bool(value)  # (numpy's booleans too: a value read from a frame)
            elif text in _TRUE or text in _FALSE:
                value = text in _TRUE
            else:
                raise TypeError(f"verified= takes True or False (in a URL true or false), "
                                f"not {value!r}")
        elif key in ("since", "until"):
            if isinstance(value, str):  # ISO 8601 text, as pandas users write times
                number = capture_id(value)
                try:
                    value = _iso(value, key) if number is None else number
                except ValueError:
                    raise TypeError(f"{key}= takes a capture id or a datetime (or ISO 8601 "
                                    f"text such as '2026-01-31T12:00'), not {value!r}") from None
            elif isinstance(value, bool) or not isinstance(value, (Integral, datetime)):
                raise TypeError(f"{key}= takes a capture id or a datetime (or ISO 8601 text), "
                                f"not {value!r}")
            if isinstance(value, datetime):
                if value.tzinfo is None:
                    warn_if_local_is_not_utc(key, value)
                value = _aware(value)
            else:
                value = int(value)
        elif key == "search":
            if not isinstance(value, str):
                raise TypeError(f"search= takes text, not {value!r}")
            if not value:
                continue
        out[key] = value
    return out


#: bytes of a (decoded) body that ``search`` reads at most
MAX_SEARCH_BODY = 1 << 20

_WORD = re.compile(r"[^\W_]+")


# ASCII text (nearly every webhook's): letters and digits kept (upper case lowered), every
# other byte a separator -- the same words as ``_WORD`` finds, by one C-level translate
_ASCII_WORDS = bytes(
    (c + 32 if 65 <= c <= 90 else c) if chr(c).isalnum() and c < 128 else 32 for c in range(256)
)


def search_words(text: str) -> list[str]:
    """The words ``search`` compares: runs of letters and digits, lower-cased."""
    if text.isascii():
        return text.encode("ascii").translate(_ASCII_WORDS).decode("ascii").split()
    return _WORD.findall(text.lower())


def search_line(text: str) -> str:
    """:func:`search_words` of ``text`` joined by single spaces (what the search index holds).

    >>> search_line("Refund-42 OK_now")
    'refund 42 ok now'
    """
    if text.isascii():
        return b" ".join(text.encode("ascii").translate(_ASCII_WORDS).split()).decode("ascii")
    return " ".join(_WORD.findall(text.lower()))


def search_text(
    path: str,
    query: Mapping[str, Iterable[str]],
    headers: Iterable[tuple[str, str]],
    body: bytes,
    trailers_at: int | None = None,
) -> str:
    r"""All the text ``search`` looks at in one capture (path, query, headers, body), one string.

    The path is read with its ``%XX`` undone and its bytes as UTF-8, a sender's raw UTF-8 as
    much as its escapes (:func:`hooklab.capture.path_read`; as the query was when it was parsed). The body
    is read with its transfer codings and ``Content-Encoding`` undone (left as is when that
    fails; no more than its first :data:`MAX_SEARCH_BODY` decoded bytes are ever decoded,
    by any stage: :func:`hooklab.jsonread.decode_prefix`), as UTF-8
    (undecodable bytes separate words) or, where JSON would be, UTF-16 or UTF-32, its first
    :data:`MAX_SEARCH_BODY` bytes. The ``Content-Encoding`` and ``Content-Type`` that say how
    are the header section's: the fields before ``trailers_at`` (``Capture.trailers_at``), when
    trailer fields followed a chunked body (their names and values are searched all the same).

    >>> search_text("/orders/caf%C3%A9", {"x": ["a b"]}, [], '{"n": "w\u00e8"}'.encode("utf-16"))
    '/orders/café\nx\na b\n{"n": "wè"}'
    """
    # the path as a person reads it, as the query is (``/orders/caf%C3%A9``: ``café``, and
    # raw UTF-8, stored ``/orders/cafÃ©``, too); a path of ASCII without a ``%`` (nearly all)
    # costs one scan
    parts = [path_read(path) if "%" in path or not path.isascii() else path]
    for key, values in query.items():
        parts.append(str(key))
        parts.extend(str(v) for v in values)
    encoding = ctype = None
    transfer: list[str] = []
    for i, (name, value) in enumerate(headers):
        name, value = str(name), str(value)
        parts.append(name)
        parts.append(value)
        if trailers_at is not None and i >= trailers_at:
            continue  # (a trailer field's words, but it describes none of the body)
        low = name.lower()
        if encoding is None and low == "content-encoding":
            encoding = value
        elif ctype is None and low == "content-type":
            ctype = value
        elif low == "transfer-encoding":
            transfer.append(value)
    raw = body
    coding = body_coding(None, transfer) if transfer and body else None
    if coding is not None:  # transfer codings (gzip, chunked): framing, undone first
        try:
            body = raw = _undone(body, coding)
        except ValueError:
            pass  # (read as is)
    if encoding:
        try:
            raw = _undone(body, encoding)
        except ValueError:
            raw = body
    text = _text_of(bytes(raw[:MAX_SEARCH_BODY]), ctype, len(raw) >= MAX_SEARCH_BODY)
    if text is not None:  # (a binary body: no words from it)
        parts.append(readable(text, ctype))
    return "\n".join(parts)


#: content types whose bodies are text whatever bytes they hold (``text/*`` and these)
_TEXT_TYPES = ("json", "xml", "x-www-form-urlencoded", "javascript", "ecmascript", "csv",
               "yaml", "graphql", "ndjson")


def is_text(data: bytes, content_type: str | None = None, *, cut: bool = False) -> bool:
    r"""Whether a (decoded) body is text, so ``search`` reads words in it: UTF-8, or declared
    text by its ``content_type`` (``text/*``, JSON, XML, a form..., or a ``charset=`` that a
    codec is known for). Other bodies (images, protobuf, random bytes) are binary: their
    bytes make no words (a megabyte of them made thousands of junk words in the index).
    ``cut``: ``data`` is the start of a longer body (a character cut at its end is fine).

    >>> is_text(b'{"a": "cr\xc3\xa8me"}'), is_text(b"\x89PNG\r\n\x1a\n\xff")
    (True, False)
    >>> is_text(b"caf\xe9", "text/plain; charset=iso-8859-1")
    True
    """
    return _text_of(data, content_type, cut) is not None


def _text_of(data: bytes, content_type: str | None, cut: bool) -> str | None:
    """``data`` read as UTF-8 (undecodable bytes replaced) if it is text (:func:`is_text`),
    or as UTF-16 or UTF-32 if JSON would read it so (:func:`_wide_text`)."""
    if 0 in data[:4] or data.startswith(_WIDE_BOMS):  # (~0.1 us: four bytes looked at)
        wide = _wide_text(data, content_type, cut)
        if wide is not None:
            return wide
    if data.isascii():
        return data.decode("ascii")
    if content_type and "charset" in content_type.lower():
        legacy = _legacy_codec(content_type.lower())
        if legacy is not None:  # read as Capture.text reads it: "garçon" in Latin-1 bytes
            return data.decode(legacy, "replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if cut and exc.start >= len(data) - 3 and exc.reason == "unexpected end of data":
            return data.decode("utf-8", "replace")
    if content_type and _declared_text(content_type.lower()):
        return data.decode("utf-8", "replace")
    return None


#: the byte order marks of UTF-16 (and so of UTF-32 LE, which starts like it): little, big
_WIDE_BOMS = (b"\xff\xfe", b"\xfe\xff")


def _wide_text(data: bytes, content_type: str | None, cut: bool) -> str | None:
    r"""``data`` as UTF-16 or UTF-32 text, as ``json.loads`` and so :meth:`Capture.json`
    read it (:func:`json.detect_encoding`: a byte order mark, or the zero bytes of ASCII
    characters; lone surrogates kept, as they separate words), if it is JSON-shaped (its first
    character after blanks ``{``, ``[`` or ``"``) or, with a byte order mark, typed as text.
    Anything else (binary with a zero byte near its start) is ``None``: read as before.

    >>> _wide_text('{"animal": "wombat"}'.encode("utf-16"), None, False)
    '{"animal": "wombat"}'
    >>> _wide_text(b"\x08\x00\x12\x03abc", None, False) is None   # (protobuf, say)
    True
    """
    from json import detect_encoding

    encoding = detect_encoding(data)
    unit = 4 if "32" in encoding else 2 if "16" in encoding else 0
    if not unit:
        return None
    if cut:  # (the start of a longer body: a whole number of code units)
        data = data[: len(data) - len(data) % unit]
    try:
        text = data.decode(encoding, "surrogatepass")
    except UnicodeDecodeError:
        return None
    if _JSON_START.match(text):
        return text
    if encoding in ("utf-16", "utf-32") and content_type and _declared_text(content_type.lower()):
        return text  # (detect_encoding names these two only for a byte order mark)
    return None


def _legacy_codec(ctype: str) -> str | None:
    """The codec of a ``charset=`` in ``ctype`` if it is one of :data:`LEGACY_CODECS` (read
    with it, as :attr:`Capture.text` is), else None (UTF-8, JSON's own, or another charset:
    read as UTF-8, whose lookup would import a module on the server's thread).

    >>> _legacy_codec("text/plain; charset=iso-8859-1"), _legacy_codec("text/plain; charset=utf-8")
    ('latin_1', None)
    """
    name = charset_module(ctype)
    return name if name in LEGACY_CODECS else None


def _declared_text(ctype: str) -> bool:
    kind = ctype.split(";", 1)[0].strip()
    if kind.startswith("text/") or any(t in kind for t in _TEXT_TYPES):
        return True
    # a charset Python has a text codec for (``charset=binary``, made-up names: not text)
    return charset_module(ctype) in CHARSET_CODECS


#: the codecs :func:`_wide_text` decodes with (``json.detect_encoding``'s names)
WIDE_CODECS = ("utf-16", "utf-16-be", "utf-16-le", "utf-32", "utf-32-be", "utf-32-le")


def prime_codecs() -> None:
    """Look up :data:`WIDE_CODECS` and :data:`LEGACY_CODECS` now (their modules imported once, under a millisecond),
    from the thread that opens a store: the server, writer and upkeep threads make search
    words, and must never import a module for the first time (two threads importing at once
    can deadlock; ``tests/test_schema_summaries.py`` watches the upkeep thread's imports).

    >>> prime_codecs()
    """
    import codecs

    for name in (*WIDE_CODECS, *LEGACY_CODECS):
        codecs.lookup(name)


def readable(text: str, content_type: str | None = None) -> str:
    r"""A body's ``text`` as a person reads it, for its words: a form's fields with their
    ``%XX`` and ``+`` undone (``content_type`` urlencoded; the bytes of ``%XX`` read in the
    charset it declares, as :func:`declared_codec` reads it: ``Jos%E9`` in Windows-1252 is
    ``José``), and the escapes of JSON strings
    undone (a body that starts with ``{`` or ``[``, or a form holding one, as Slack's
    ``payload=``): ``\n`` and ``\t`` separate words, ``\u00e8`` is ``è``.

    >>> readable('{"msg": "Fix\\n\\nDetails", "dish": "cr\\u00e8me"}')
    '{"msg": "Fix  Details", "dish": "crème"}'
    >>> readable("text=%2Fdeploy+now&p=%7B%22a%22%3A1%7D", "application/x-www-form-urlencoded")
    'text=/deploy now&p={"a":1}'
    """
    if content_type is not None and content_type.lower().lstrip().startswith(_FORM) and (
        "%" in text or "+" in text
    ):
        if text.count("%") <= MAX_UNICODE_ESCAPES:  # (each costs Python work: as for \u)
            from urllib.parse import unquote_plus

            text = unquote_plus(text, encoding=declared_codec(content_type), errors="replace")
        else:
            text = text.replace("+", " ")
        json_inside = "\\" in text and ("={" in text or "=[" in text)
    else:
        json_inside = False
    if "\\" in text and (json_inside or _json_shaped(text)):
        text = _json_unescaped(text)
    return text


#: the start of a JSON text: blanks and a UTF-8 byte order mark (``json.loads`` of bytes
#: drops it), then an object, an array or a string
_JSON_START = re.compile(r'[\s\ufeff]*[{\["]')


def _json_shaped(text: str) -> bool:
    r"""Whether ``text`` reads as JSON whose strings may hold escapes: an object or array, or
    one string (``"caf\u00e9"``: JSON too, and :meth:`Capture.json` reads it), each after
    blanks and a byte order mark.

    >>> _json_shaped('\ufeff{"a": 1}'), _json_shaped(' "caf\\u00e9"\n'), _json_shaped('"a" b')
    (True, True, False)
    """
    m = _JSON_START.match(text)
    if m is None:
        return False
    # (a text that opens with a quote is one JSON string only if it also ends with one)
    return text[m.end() - 1] != '"' or text.rstrip().endswith('"')


_FORM = "application/x-www-form-urlencoded"
#: a JSON string's escaped backslash, while the other escapes are undone (a private-use
#: character: like a backslash, it separates words, so the words stay the same)
_BACKSLASH = "\ue000"
_SHORT_ESCAPE = re.compile(r"\\[bfnrt]")
_UNICODE_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})(?:\\u([0-9a-fA-F]{4}))?")
#: ``\uXXXX`` escapes (or a form's ``%XX``) one body has undone at most (each costs Python
#: work); past it they stay as they are (a megabyte of them took 70 ms of the receiving thread)
MAX_UNICODE_ESCAPES = 20_000


def _json_unescaped(text: str) -> str:
    r"""A JSON text's string escapes undone, by C-level passes: ``\n`` and the other controls
    as a space, ``\"`` ``\\`` ``\/`` as themselves, ``\uXXXX`` as its character (a surrogate
    pair as one, a lone surrogate as a space; the first :data:`MAX_UNICODE_ESCAPES`)."""
    text = _SHORT_ESCAPE.sub(" ", text.replace("\\\\", _BACKSLASH))
    text = text.replace('\\"', '"').replace("\\/", "/")
    if "\\u" in text and text.count("\\u") <= MAX_UNICODE_ESCAPES:
        text = _UNICODE_ESCAPE.sub(_unescaped, text)
    return text.replace(_BACKSLASH, "\\")


def _unescaped(m: re.Match[str]) -> str:
    """One ``\\uXXXX`` escape (or a pair of them) undone."""
    one, two = m.group(1), m.group(2)
    hi = int(one, 16)
    if two is not None:
        lo = int(two, 16)
        if 0xD800 <= hi < 0xDC00 and 0xDC00 <= lo < 0xE000:
            return chr(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
        return _char(hi) + _char(lo)
    return _char(hi)


def _char(code: int) -> str:
    return " " if 0xD800 <= code < 0xE000 else chr(code)


def _undone(body: bytes, coding: str) -> bytes:
    """``body`` with ``coding`` undone (:func:`hooklab.jsonread.decode_body`), or when it
    decodes past :data:`MAX_SEARCH_BODY` (or a Content-Encoding's stream was cut short)
    what decodes before that point; no stage decodes more than that. ``ValueError`` when it
    cannot be undone."""
    try:
        return decode_body(body, coding, limit=MAX_SEARCH_BODY)
    except ValueError:
        return decode_prefix(body, coding, MAX_SEARCH_BODY)


def matches_phrase(words: list[str], needle: list[str]) -> bool:
    """Whether ``needle`` (words) occurs in ``words`` in order, its last word as a prefix."""
    if not needle:
        return True
    head, last = needle[:-1], needle[-1]
    k = len(head)
    for i in range(len(words) - k):
        if words[i + k].startswith(last) and words[i : i + k] == head:
            return True
    return False


def matches_text(cap: Capture, needle: str) -> bool:
    """The ``search`` filter for one capture (see the module's notes on words).

    >>> from hooklab.capture import Capture
    >>> cap = Capture(id=1, received_at=datetime.now(timezone.utc), method="POST",
    ...               path="/stripe", body=b'{"note": "Refund-42 ok"}')
    >>> matches_text(cap, "refund-4"), matches_text(cap, "efund")
    (True, False)
    """
    wanted = search_words(needle)
    text = search_text(cap.path, cap.query, cap.headers, cap.body, cap.trailers_at)
    if not wanted:  # no letters or digits: a plain substring, in any case
        return needle.lower() in text.lower()
    return matches_phrase(search_words(text), wanted)


def matches(cap: Capture, filters: Mapping[str, Any]) -> bool:
    """Python twin of the store's SQL for validated ``filters`` (cheap test of one arrival)."""
    for key, want in filters.items():
        if key == "since":
            if isinstance(want, datetime):
                if cap.received_at <= want:
                    return False
            elif cap.id <= want:
                return False
        elif key == "until":
            if isinstance(want, datetime):
                if cap.received_at > want:
                    return False
            elif cap.id > want:
                return False
        elif key == "search":
            if not matches_text(cap, want):
                return False
        else:
            have = getattr(cap, key, None)
            if key == "method":  # (stored as sent: "post" from `curl -X post` is one too)
                have = have.upper()
            elif key == "provider" and have is None:  # (none detected: "unknown" names it)
                have = NO_PROVIDER
            if isinstance(want, list) and have not in want:
                return False
            if not isinstance(want, list) and have != want:
                return False
    return True


_ID = re.compile(r"-?[0-9]{1,19}")  # (ASCII digits only: int() takes "+1", " 1", "1_0", "١")
_SIGNED = re.compile(r"[-+]?[0-9_]+|[-+]?\d+")


def is_capture_id(value: Any) -> bool:
    """Whether ``value`` names a capture by its id: an integer, Python's or NumPy's (an id read
    from ``lab.dataframe()`` is a ``numpy.int64``), but not a bool. Every call that takes a
    capture or its id (``lab.diff``, ``lab.replay``, ``view.select``) asks this.

    >>> import numpy as np
    >>> is_capture_id(3), is_capture_id(np.int64(3)), is_capture_id(True), is_capture_id("3")
    (True, True, False, False)
    """
    return isinstance(value, Integral) and not isinstance(value, bool)


def capture_id(text: str) -> int | None:
    """``text`` as a capture id (ASCII digits, optionally negative, inside SQLite's 64-bit
    integers), or ``None``.

    >>> capture_id("42"), capture_id("+42"), capture_id("1_0"), capture_id("9" * 20)
    (42, None, None, None)
    """
    if not _ID.fullmatch(text):
        return None
    n = int(text)
    return n if -(1 << 63) < n < (1 << 63) else None


def from_query(get: Callable[[str], str | None], *,
               provider_check: Callable[[str], str | None] | None = None) -> dict[str, Any]:
    """Filters from URL query arguments (``?bin=github&since=12&search=refund``).

    ``get(name)`` returns the argument, ``None``, or a list of the values it was given (a
    field filter then means any of them; the others take one). ``since`` and ``until`` are
    each a capture id or an ISO 8601 time. ``provider_check``: the store's, as
    :func:`validate` takes it. Raises ``ValueError`` with a message fit for a 400.
    """
    raw: dict[str, Any] = {}
    for key in FILTER_KEYS:
        value: Any = get(key)
        if isinstance(value, list):
            value = [v for v in value if v != ""]
            if len(value) > 1 and key not in FIELD_KEYS:
                raise ValueError(f"{key} takes one value, not {len(value)}")
            value = value if len(value) > 1 else value[0] if value else None
        if value is None or value == "":
            continue
        if key in ("since", "until"):
            raw[key] = bound(key, value)
        else:
            raw[key] = value
    try:
        return validate(raw, provider_check=provider_check)
    except TypeError as exc:
        raise ValueError(str(exc)) from None


#: the help of each filter option (``--bin``...): what ``%hooklab df`` and ``hooklab export`` say
_OPTION_HELP = {
    "provider": "only captures from this provider (or another given): an id such as stripe or "
                f"github; {NO_PROVIDER}: those without a detected provider",
    "kind": "only captures of this kind: http (requests) or ws (WebSocket frames)",
    "verified": "only captures whose signature was checked: valid, or not",
    "since": "only captures after this capture id or time (ISO 8601, UTC unless it has an "
             "offset)",
    "until": "only captures up to this capture id or time (ISO 8601, UTC unless it has an "
             "offset)",
    "search": "only captures with these words in path, query, headers or body",
}
_OPTION_METAVAR = {"verified": "true|false", "since": "ID_OR_ISO_TIME", "until": "ID_OR_ISO_TIME"}


def add_options(parser: Any, *, helps: Mapping[str, str] | None = None) -> None:
    """Give an ``argparse`` parser the filters as options, in a group of their own:
    ``--bin``, ``--method``, ``--provider``, ``--event-type``, ``--path``, ``--kind`` (each
    again for any of several values), ``--verified``, ``--since``, ``--until``, ``--search``.
    Every command that reads filters from words (``%hooklab df``, ``hooklab export``) takes
    them so; :func:`from_options` reads them back. ``helps``: a help per key where a command
    says more.

    >>> import argparse
    >>> p = argparse.ArgumentParser()
    >>> add_options(p)
    >>> from_options(p.parse_args(["--bin", "gh", "--bin", "st", "--event-type", "push"]))
    {'bin': ['gh', 'st'], 'event_type': 'push'}
    """
    group = parser.add_argument_group("filters")
    for key in FILTER_KEYS:
        words = (helps or {}).get(key) or _OPTION_HELP.get(key)
        if key in FIELD_KEYS:  # (given again: any of the values)
            group.add_argument("--" + key.replace("_", "-"), dest=key, metavar=key.upper(),
                               action="append", help=words or f"only captures whose {key} is "
                               "this (or another given)")
        else:
            group.add_argument("--" + key.replace("_", "-"), dest=key, help=words,
                               metavar=_OPTION_METAVAR.get(key, key.upper()))


def from_options(args: Any, *,
                 provider_check: Callable[[str], str | None] | None = None) -> dict[str, Any]:
    """The filters a parser given :func:`add_options` read into ``args`` (an
    ``argparse.Namespace``), checked as :func:`from_query` checks a URL's: a field filter given
    several times means any of its values; ``ValueError`` with a message fit for one line."""
    return from_query(lambda key: getattr(args, key, None), provider_check=provider_check)


def option_words(message: str) -> str:
    """A filter's error (:func:`from_options`) in a command line's words: the option, not
    the keyword, and what the option takes.

    >>> option_words("verified= takes True or False (in a URL true or false), not 'maybe'")
    "--verified takes true or false, not 'maybe'"
    >>> option_words("event_type= takes ...")
    '--event-type takes ...'
    """
    text = message.replace("True or False (in a URL true or false)", "true or false")
    m = re.match(r"(\w+)= takes ", text)
    if m and m.group(1) in FILTER_KEYS:
        text = "--" + m.group(1).replace("_", "-") + text[len(m.group(1)) + 1:]
    return text


def bound(key: str, text: str) -> int | datetime:
    """``since`` / ``until`` text of a URL as the filter takes it: a capture id, or an ISO 8601
    time; ``ValueError`` with a message fit for a 400.

    >>> bound("since", "12"), bound("until", "2026-01-31T12:00Z")
    (12, datetime.datetime(2026, 1, 31, 12, 0, tzinfo=datetime.timezone.utc))
    """
    number = capture_id(text)
    if number is not None:
        return number
    if _SIGNED.fullmatch(text):  # (digits out of range)
        raise ValueError(f"{key} must be a capture id or an ISO 8601 time")
    return _iso(text, key)


def _iso(value: str, key: str) -> datetime:
    try:
        return _aware(parse_iso(value))
    except ValueError:
        from .credentials import shown_given

        raise ValueError(f"{key} must be a capture id or an ISO 8601 time, not "
                         f"{shown_given(value, 200)}") from None


def describe(filters: Mapping[str, Any]) -> str:
    """``"bin='github', method='POST'"`` (``"no filters"`` when empty), for messages."""
    shown = {k: v for k, v in filters.items() if v is not None}
    return ", ".join(f"{k}={v!r}" for k, v in shown.items()) or "no filters"
