"""One received request, exactly as it arrived.

>>> c = Capture(id=1, received_at=datetime.now(timezone.utc), method="POST", path="/github",
...             query={}, headers=[("Content-Type", "application/json")], body=b'{"a": 1}')
>>> c.bin, c.json(), c.header("content-type")
('github', {'a': 1}, 'application/json')
"""

from __future__ import annotations

import base64
import codecs
import json as _json
import os as _os
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from encodings import aliases as _aliases
from encodings import normalize_encoding
from typing import TYPE_CHECKING, Any, TypedDict
from urllib.parse import parse_qs, unquote, unquote_to_bytes, urlsplit

from ._pathbin import bin_of
from .jsonread import (
    JSON_MAX_DEPTH,
    MAX_DECODED,  # noqa: F401 - where it was (detection decodes too: jsonread)
    decode_body,
    json_too_deep,
    loads_json,
    section_coding,
)

if TYPE_CHECKING:
    from .signatures import Verification

__all__ = [
    "AUTHORITY_FORM",
    "CHARSET_CODECS",
    "ESCAPED_KEY",
    "ESCAPED_KEY_RE",
    "FORWARD_ERROR_CHARS",
    "HIDDEN_CHARS",
    "JSON_MAX_DEPTH",
    "KINDS",
    "MAX_FIELDS",
    "MAX_HEAD",
    "NO_PROVIDER",
    "REDACTED",
    "VS_RUN",
    "Capture",
    "CaptureRecord",
    "ForwardOutcome",
    "basic_credentials",
    "bin_of",
    "build_secret_pattern",
    "capture_to_dict",
    "charset_param",
    "check_header_count",
    "check_header_limits",
    "check_import",
    "check_provider",
    "check_request_syntax",
    "decode_body",
    "escaped_key",
    "form_codec",
    "forward_error",
    "json_too_deep",
    "keep_imported",
    "loads_json",
    "micros",
    "n_captures",
    "new_record",
    "not_a_request",
    "parse_iso",
    "parse_query",
    "payload_text",
    "printable",
    "redact_record",
    "scrub_detected",
    "session_credential",
    "session_credentials",
    "shown_value",
    "split_target",
    "status_number",
    "target_as_sent",
    "target_path",
    "text_codec",
    "trailers_start",
    "user_stacklevel",
]


#: what a redacted header or query value is stored as
REDACTED = "[redacted]"
#: request headers that carry a browser's (Jupyter's) session rather than a webhook's data
_SESSION_HEADERS = frozenset({"cookie", "x-xsrftoken", "x-csrftoken"})
#: how jupyter_server reads its token scheme in ``Authorization`` (``(token|bearer)\s+(.+)``,
#: any case; ``bearer`` is a webhook's credential too: only the Jupyter token itself is hidden)
_JUPYTER_SCHEME = re.compile(r"token\s", re.IGNORECASE)


def redact_record(
    record: dict[str, Any], *, credentials: bool = True, secrets: tuple[str, ...] = (),
    mark: str | None = None,
) -> dict[str, Any]:
    """Scrub a store record (in place) of what must never be stored; returns it.

    - ``credentials``: ``Cookie`` (browsers scope cookies by host, not port, so a browser that
      opens a capture URL sends Jupyter's login cookie), ``X-XSRFToken`` / ``X-CSRFToken`` and
      Jupyter-style ``Authorization: token ...`` are stored as :data:`REDACTED`. Webhook
      credentials (``Basic``, ``Bearer``...) are kept: verifying them is the point.
    - ``secrets``: any occurrence of these strings (the lab's read token; the secrets given
      with ``lab.secret``; in any letter case when 16 characters or longer) becomes ``mark``
      (:data:`REDACTED`; in a header name without its brackets) in header
      names and values (``Basic`` credentials that hold one: whole), the path, query keys
      and values, the URL, ``event_type``, ``delivery_id``, ``verify_reason`` and
      ``handshake``; percent-encoded once or a few times over too (such a text is then
      stored decoded; as Latin-1: as sent), and in base64 at any offset (those of 6 bytes or
      more: the characters that carry its bits, see :func:`_hide`). The body is never changed.

    >>> r = redact_record({"headers": [("Cookie", "a=1"), ("X", "t0k")], "url": "/b?t=t0k",
    ...                    "query": {"t": ["t0k"]}}, secrets=("t0k",))
    >>> r["headers"], r["url"], r["query"]
    ([('Cookie', '[redacted]'), ('X', '[redacted]')], '/b?t=[redacted]', {'t': ['[redacted]']})
    >>> redact_record({"path": "/b/t0k", "url": "http://h/b/t0k?t%2530k=1",
    ...                "query": {"t0k": ["1"], "[redacted]": ["2"]}}, secrets=("t0k",))
    {'path': '/b/[redacted]', 'url': 'http://h/b/[redacted]?[redacted]=1', 'query': {'[redacted]': ['1', '2']}}
    """
    mark = REDACTED if mark is None else mark
    found = _secret_pattern(tuple(s for s in secrets if s))
    headers = record.get("headers") or []
    pattern = None
    if found is not None and _anywhere(record, headers, *found):
        pattern = found[0]  # (else the usual case: nothing of it in this capture)
    out: list[tuple[str, str]] | None = None
    for i, (k, v) in enumerate(headers):
        name, new = k, v
        if credentials and session_credential(k, v):
            new = REDACTED
        elif pattern is not None:
            # (a header name must stay a token: the mark without its brackets)
            name, new = _scrubbed(k, pattern, mark.strip("[]")), _scrubbed(v, pattern, mark)
            basic = basic_credentials(v)  # (credentials that hold it: hidden whole)
            if basic is not None and _basic_holds(basic, pattern):
                new = basic[0] + mark
        if new is not v or name is not k:
            if out is None:
                out = list(headers)
            out[i] = (name, new)
    if out is not None:
        record["headers"] = out
    if pattern is None:
        return record
    method = record.get("method")
    if isinstance(method, str) and pattern.search(method):  # (stays a token: no brackets)
        record["method"] = _scrubbed(method, pattern, mark.strip("[]"))
    for key in _TEXT_FIELDS:
        text = record.get(key)
        if isinstance(text, str):
            record[key] = _scrubbed(text, pattern, mark)
    query = record.get("query")
    if query:
        merged: dict[str, list[str]] = {}
        for k, vs in query.items():  # (two keys may become one: their values are kept)
            merged.setdefault(_scrubbed(k, pattern, mark), []).extend(
                _scrubbed(v, pattern, mark) for v in vs)
        record["query"] = merged
    return record


def session_credential(name: str, value: str) -> bool:
    """Whether :func:`redact_record` stores the header ``name: value`` as :data:`REDACTED`
    when it scrubs credentials: ``Cookie``, ``X-XSRFToken``, ``X-CSRFToken`` and a
    Jupyter-style ``Authorization: token ...``, read as jupyter_server reads it (the word
    ``token`` in any letter case, then any whitespace: a tab too).

    >>> session_credential("cookie", "a=1"), session_credential("Authorization", "Token x")
    (True, True)
    >>> session_credential("Authorization", "token\tx"), session_credential("Authorization", "tokenx")
    (True, False)
    >>> session_credential("Authorization", "Bearer x")   # a webhook's credential: kept
    False
    """
    low = name.lower()
    return low in _SESSION_HEADERS or (
        low == "authorization" and isinstance(value, str)
        and _JUPYTER_SCHEME.match(value.lstrip()) is not None)


def session_credentials(headers: Any) -> int:
    """How many of ``headers`` (name, value pairs) :func:`redact_record` changes to
    :data:`REDACTED` when it scrubs credentials: those :func:`session_credential` names whose
    value is not that already (an import counts what it redacted with this).

    >>> session_credentials([("Cookie", "s=1"), ("Cookie", "[redacted]"), ("X", "1")])
    1
    """
    return sum(1 for k, v in headers if v != REDACTED and session_credential(k, v))


def scrub_detected(record: dict[str, Any], secrets: tuple[str, ...]) -> None:
    """Scrub ``secrets`` (as :func:`redact_record` does, percent-encoded too) from what the
    store's checks wrote after :func:`new_record` scrubbed the rest: ``event_type`` and
    ``delivery_id`` (read from the body), ``verify_reason`` and ``handshake`` (a hint may quote
    the URL a signature was checked against).

    >>> r = {"event_type": "push.t0k3n-abc", "verify_reason": "signed against /in/t0k3n%2Dabc/x"}
    >>> scrub_detected(r, ("t0k3n-abc",))
    >>> r["event_type"], r["verify_reason"]
    ('push.[redacted]', 'signed against /in/[redacted]/x')
    """
    part = {k: v for k in _DETECTED if isinstance(v := record.get(k), str) and v}
    if part:
        record.update(redact_record(part, credentials=False, secrets=secrets))


#: what the store's checks write into a record after it was made
_DETECTED = ("event_type", "delivery_id", "verify_reason", "handshake")


_BASIC = re.compile(r"(\s*basic\s+)(\S+)\s*", re.IGNORECASE)
#: text fields of a record :func:`redact_record` scrubs of ``secrets`` (with headers, query)
_TEXT_FIELDS = ("url", "path", "event_type", "delivery_id", "verify_reason", "handshake")


def _anywhere(record: dict[str, Any], headers: Any, pattern: re.Pattern[str],
              lower: tuple[str, ...]) -> bool:
    """Whether ``pattern`` may match anything :func:`redact_record` scrubs (substring tests
    over all of it in lower case, ``lower`` being its forms so; decoded where it holds
    ``%``; ``Basic`` credentials are decoded one by one)."""
    parts = [str(x) for pair in headers for x in pair]
    parts += [t for t in map(record.get, _TEXT_FIELDS) if isinstance(t, str)]
    if isinstance(record.get("method"), str):
        parts.append(record["method"])
    for k, vs in (record.get("query") or {}).items():
        parts.append(str(k))
        parts.extend(map(str, vs))
    blob = "\n".join(parts)
    if not blob.isascii():  # (str.lower and the pattern's letter case differ beyond ASCII)
        if pattern.search(blob):
            return True
    elif any(f in blob.lower() for f in lower):
        return True
    if "%" in blob and _scrubbed(blob, pattern, "\0") != blob:
        return True
    return any(_basic_holds(basic_credentials(v), pattern)
               for _, v in headers if isinstance(v, str) and v.lstrip()[:5].lower() == "basic")


def build_secret_pattern(secrets: tuple[str, ...]) -> None:
    """Make the pattern :func:`redact_record` scrubs ``secrets`` with now, on the calling
    thread (``lab.secret`` does: else the first webhook after it, on the server's thread,
    waited for it).

    >>> build_secret_pattern(("hunter2-password",))
    """
    _secret_pattern(tuple(s for s in secrets if s))


def _secret_pattern(secrets: tuple[str, ...]) -> tuple[re.Pattern[str], tuple[str, ...]] | None:
    """One pattern for every form of ``secrets`` (in any letter case for those of 16
    characters or more; its UTF-8 read as Latin-1, as a header value arrives; percent-encoded
    as Latin-1, hex digits in either case; longest first; base64 at any offset, see
    :func:`_base64_forms`), and those forms in lower case (for a quick test first); made once
    per set.

    >>> pattern, lower = _secret_pattern(("hunter2-password",))
    >>> _hide("Bearer Y2xpZW50Omh1bnRlcjItcGFzc3dvcmQ=", pattern, "[secret]")
    'Bearer Y2xpZW50O[secret]'
    >>> _hide("k=p%e4ssw%F6rd-123", _secret_pattern(("p\xe4ssw\xf6rd-123",))[0], "[secret]")
    'k=[secret]'
    """
    if not secrets:
        return None
    got = _PATTERNS.get(secrets)
    if got is None:
        forms = set(secrets)
        for s in secrets:
            try:
                forms.add(s.encode("utf-8", "surrogatepass").decode("latin-1"))
            except UnicodeError:
                pass
        # (forms that are the UTF-8 of another read as Latin-1: not encoded again)
        utf8 = {f.encode("utf-8", "surrogatepass").decode("latin-1") for f in forms if not f.isascii()}
        raw_of = {f: _raw_forms(f) for f in forms if f not in utf8}
        # (a form that is the base64 of another is found by that one's base64 forms)
        encoded = {e for raws in raw_of.values() for raw in raws
                   for e in (base64.b64encode(raw).decode().rstrip("="),
                             base64.urlsafe_b64encode(raw).decode().rstrip("="))}
        forms = {f for f in forms if f.rstrip("=") not in encoded}
        b64: dict[str, str] = {}  # (form -> group: b<characters before it><padding after>)
        for f, raws in raw_of.items():
            for raw in raws if f in forms else ():
                for form, group in _base64_forms(raw) if len(raw) >= 6 else ():
                    b64.setdefault(form, group)
        plain = [f"(?i:{re.escape(f)})" if len(f) >= 16 else re.escape(f)
                 for f in sorted(forms, key=len, reverse=True)]
        # (percent-encoded as Latin-1; its UTF-8 percent-encoded is decoded by _scrubbed)
        latin1 = [f for f in forms if not f.isascii() and f not in utf8 and _latin1_ok(f)]
        plain += [_latin1_percent(f) for f in latin1]
        # (and those bytes as a query parser reads them, as UTF-8: U+FFFD for what is no
        # UTF-8, where 6 characters or more are still the secret's own)
        for f in latin1:
            read = f.encode("latin-1").decode("utf-8", "replace")
            if read != f and len(read) - read.count("\ufffd") >= 6:
                plain.append(re.escape(read))
        groups = [f"(?P<t>{'|'.join(plain)})"] if plain else []
        for name in sorted(set(b64.values())):
            alts = sorted((f for f, g in b64.items() if g == name), key=len, reverse=True)
            groups.append(f"(?P<{name}>{'|'.join(map(re.escape, alts))})")
        got = (re.compile("|".join(groups)),
               tuple({f.lower() for f in forms} | {f.lower() for f in b64}))
        if len(_PATTERNS) > 64:
            _PATTERNS.clear()
        _PATTERNS[secrets] = got
    return got


_PATTERNS: dict[tuple[str, ...], tuple[re.Pattern[str], tuple[str, ...]]] = {}


def _raw_forms(form: str) -> set[bytes]:
    """The bytes a sender may have base64-encoded for ``form``: its UTF-8, and its Latin-1
    where it has one (which is also what a UTF-8 secret read as Latin-1 was sent as)."""
    out = {form.encode("utf-8", "surrogatepass")}
    if _latin1_ok(form):
        out.add(form.encode("latin-1"))
    return out


def _latin1_ok(text: str) -> bool:
    try:
        text.encode("latin-1")
    except UnicodeError:
        return False
    return True


def _latin1_percent(form: str) -> str:
    """A pattern for ``form`` percent-encoded as Latin-1 (as a form or query encoder set to
    Latin-1 writes it), any of its characters left as they are, hex digits in either case
    (``p%E4ssw%f6rd-123`` for ``pässwörd-123``; its UTF-8 is decoded by :func:`_scrubbed`)."""
    parts = []
    for ch in form:
        alts = [re.escape(ch), f"%(?i:{ord(ch):02x})"] + (["\\+"] if ch == " " else [])
        parts.append(f"(?:{'|'.join(alts)})")
    text = "".join(parts)
    return f"(?i:{text})" if len(form) >= 16 else text


def _base64_forms(raw: bytes) -> list[tuple[str, str]]:
    """How ``raw`` looks inside base64 of a value that holds it at any offset: for each of the
    three offsets modulo 3, the characters its bits alone make (the first and last characters
    mix in the neighbours' bits, so they are left out), in the standard and the URL-safe
    alphabet, each with its group name for :func:`_hide`: ``b<L><P>``, ``L`` characters before
    the match that carry the secret's first bits (0 or 1), and ``P`` the ``=`` of padding that
    may follow (when ``P`` is not 0, the character after the match carries its last bits).

    >>> [f for f, _ in _base64_forms(b"client")]
    ['Y2xpZW50', 'NsaWVud', 'jbGllbn']
    """
    out = []
    n = len(raw)
    for k in range(3):
        enc = base64.b64encode(b"\0" * k + raw).decode()
        stable = enc[-(-8 * k // 6): 8 * (k + n) // 6]
        group = f"b{1 if k else 0}{-(k + n) % 3}"
        out.append((stable, group))
        url = stable.translate(_URLSAFE)
        if url != stable:
            out.append((url, group))
    return out


_URLSAFE = str.maketrans("+/", "-_")
#: characters of base64 (both alphabets): what a base64 run that holds a secret is made of
_B64_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_")


def _hide(text: str, pattern: re.Pattern[str], mark: str) -> str:
    """``text`` with every match of ``pattern`` (made by :func:`_secret_pattern`) replaced by
    ``mark``; a base64 match with the characters around it that carry the secret's first and
    last bits, and the ``=`` of padding after it: every character that holds any of the
    secret's bits becomes ``mark``, the rest of the base64 run stays as sent."""
    if set(pattern.groupindex) <= {"t"}:  # (no base64 form: none of 6 bytes or more)
        return pattern.sub(mark, text)
    out: list[str] = []
    at = 0
    for m in pattern.finditer(text):
        start, end = m.span()
        group = m.lastgroup or "t"
        if group != "t":
            if group[1] == "1" and start > at and text[start - 1] in _B64_CHARS:
                start -= 1
            pad = int(group[2])
            if pad and end < len(text) and text[end] in _B64_CHARS:
                end += 1
                while pad and text.startswith("=", end):
                    end, pad = end + 1, pad - 1
        if end <= at:  # (inside what the last match took)
            continue
        out += (text[at:max(start, at)], mark)
        at = end
    out.append(text[at:])
    return "".join(out)


def _scrubbed(text: str, pattern: re.Pattern[str], mark: str) -> str:
    """``text`` with every match of ``pattern`` replaced, also where it is percent-encoded
    (up to three times over: that text is then kept decoded, as far as it had to be)."""
    text = _hide(text, pattern, mark)
    seen = text
    for _ in range(3):
        if "%" not in seen:
            break
        decoded = unquote(seen, errors="replace")
        if decoded == seen:
            break
        if pattern.search(decoded):
            text = _hide(decoded, pattern, mark)
        seen = decoded
    return text


def basic_credentials(value: str) -> tuple[str, bytes] | None:
    """An ``Authorization`` value read as ``Basic`` credentials: the scheme as written (with
    the whitespace around it, what a scrub keeps) and the decoded ``user:password`` bytes, or
    ``None`` when it is no such value. The one reading of Basic credentials: the scheme in any
    letter case, any whitespace around and after it (a tab too), the base64 standard or
    URL-safe, padded or not (:func:`redact_record` hides credentials that hold a secret, the
    lab's secrets say a secret found as their password). Split at the first ``:`` for the
    user and the password, as RFC 7617 does.

    >>> basic_credentials("Basic bXlhcHA6aHVudGVyMg=="), basic_credentials("basic\tbXlhcHA6aHVudGVyMg")
    (('Basic ', b'myapp:hunter2'), ('basic\t', b'myapp:hunter2'))
    >>> basic_credentials("Bearer bXlhcHA6"), basic_credentials("Basic !!"), basic_credentials("Basic a b")
    (None, None, None)
    """
    import binascii

    m = _BASIC.fullmatch(value)
    if m is None:
        return None
    text = m.group(2)
    padded = text + "=" * (-len(text) % 4)
    for alt in (None, b"-_"):
        try:
            return m.group(1), base64.b64decode(padded, altchars=alt, validate=True)
        except (binascii.Error, ValueError):
            continue
    return None


def _basic_holds(read: tuple[str, bytes] | None, pattern: re.Pattern[str]) -> bool:
    """Whether ``read`` (:func:`basic_credentials`' reading) holds what ``pattern`` finds in
    the credentials' text (their bytes as Latin-1)."""
    return read is not None and pattern.search(read[1].decode("latin-1")) is not None


#: RFC 9110 token (methods, header names) and what a field value or request target may not hold:
#: the rules the capture server applies to what it stores
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_BAD_TARGET = re.compile(r"[\x00-\x20\x7f]")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")
#: CONNECT's request target (authority form): ``host:port``, ``[v6]:port``
AUTHORITY_FORM = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}")


def not_a_request(kind: str, method: str) -> str | None:
    """Why a capture of ``kind`` (its ``method``) cannot be sent again as an HTTP request, or
    ``None`` when it can: a recorded WebSocket message (a SEND, a RECV, its OPEN...) was no
    HTTP request, so replay, forward and "Copy as curl" refuse it in these words (an HTTP
    command made of one sent ``SEND /feed`` to the lab: a capture that never was).

    >>> not_a_request("http", "POST") is None
    True
    >>> not_a_request("ws", "SEND")
    'a recorded WebSocket message (SEND), not an HTTP request'
    """
    if kind == "http":
        return None
    return f"a recorded WebSocket message ({method}), not an HTTP request"


def check_request_syntax(method: str, path: str, headers: list[tuple[str, str]]) -> None:
    r"""Raise ``ValueError`` unless the request is one the capture server could have received.

    The method and header names are tokens, header values hold no control characters but tab,
    and the path starts with ``/`` (or is ``*``, or ``host:port`` for ``CONNECT``: what the
    server stores for those forms) without spaces or control characters. For
    requests that come from elsewhere (imported HAR files): a CR or LF smuggled into a method or
    header would otherwise become extra requests when the capture is re-sent or copied as curl.

    >>> check_request_syntax("POST", "/gh", [("X-A", "1")])
    >>> check_request_syntax("POST /x HTTP/1.1\r\nX: 1", "/gh", [])
    Traceback (most recent call last):
    ...
    ValueError: method 'POST /x HTTP/1.1\r\nX: 1' is not an HTTP token
    """
    if not isinstance(method, str) or not _TOKEN.fullmatch(method):
        raise ValueError(f"method {method!r} is not an HTTP token")
    if not isinstance(path, str) or _BAD_TARGET.search(path) or not (
            path.startswith("/") or path == "*"
            or (method == "CONNECT" and AUTHORITY_FORM.fullmatch(path))):
        raise ValueError(f"path {path!r} is not a request target (starts with /, no spaces or controls)")
    for name, value in headers:
        if not isinstance(name, str) or not _TOKEN.fullmatch(name):
            raise ValueError(f"header name {name!r} is not an HTTP token")
        if not isinstance(value, str) or _BAD_VALUE.search(value):
            raise ValueError(f"header {name!r} has a control character in its value")


#: the capture server's limits on a request head (:mod:`hooklab.server.protocol` answers 414
#: or 431 past them): request line and header fields in bytes, and header (or trailer) fields
#: in number (a 1 MiB head of 170,000 tiny fields took ~28 MB once parsed). Imports apply them
#: too (:func:`check_header_limits`): a file could otherwise give one capture a million
#: headers, which every frame and view of it then pays for.
MAX_HEAD = 1024 * 1024
MAX_FIELDS = 10_000


def check_header_count(n: int, trailers_at: Any = None) -> None:
    """Raise ``ValueError`` when ``n`` header fields are more than the capture server takes
    (:data:`MAX_FIELDS` in the header section, and as many trailer fields after a chunked
    body, from ``trailers_at`` on: :attr:`Capture.trailers_at`): said before anything is made
    of each (an import's million headers).

    >>> check_header_count(10_001)
    Traceback (most recent call last):
    ...
    ValueError: 10,001 header fields: more than the capture server takes (10,000)
    >>> check_header_count(20_000, trailers_at=10_000)
    >>> check_header_count(20_000, trailers_at=9_999)
    Traceback (most recent call last):
    ...
    ValueError: 10,001 trailer fields: more than the capture server takes (10,000 after a chunked body)
    """
    at = trailers_start(trailers_at, n)
    head = n if at is None else at
    if head > MAX_FIELDS:
        raise ValueError(f"{head:,} header fields: more than the capture server takes "
                         f"({MAX_FIELDS:,})")
    if n - head > MAX_FIELDS:
        raise ValueError(f"{n - head:,} trailer fields: more than the capture server takes "
                         f"({MAX_FIELDS:,} after a chunked body)")


def check_header_limits(headers: list[tuple[str, str]], trailers_at: int | None = None) -> None:
    """Raise ``ValueError`` when ``headers`` are more fields than the capture server takes
    (:data:`MAX_FIELDS` in the header section, and as many trailer fields), or longer (``name: value`` and a line end
    each, a character a byte as the server reads them) than it takes: the header section
    at most its head limit (:data:`MAX_HEAD`), and the trailer fields from ``trailers_at``
    on (sent after a chunked body, see :attr:`Capture.trailers_at`) at most that limit of
    their own, as the server counts them apart. A ``trailers_at`` that names no field
    (:func:`trailers_start`) is no trailers: all of ``headers`` are the header section.

    >>> check_header_limits([("X-A", "1")] * 10_000)
    >>> check_header_limits([("X-A", "1")] * 10_001)
    Traceback (most recent call last):
    ...
    ValueError: 10,001 header fields: more than the capture server takes (10,000)
    >>> big = [("X-Head", "h" * 600_000), ("X-Trailer", "t" * 600_000)]
    >>> check_header_limits(big, trailers_at=1)      # 600 KB each side: what the server takes
    >>> check_header_limits(big)
    Traceback (most recent call last):
    ...
    ValueError: header fields of 1,200,023 bytes: more than the capture server takes (1,048,576 in a request head)
    """
    check_header_count(len(headers), trailers_at)
    at = trailers_start(trailers_at, len(headers))
    if at is None:
        at = len(headers)
    size = 0
    for name, value in headers[:at]:
        size += len(name) + len(value) + 4
    if size > MAX_HEAD:
        raise ValueError(f"header fields of {size:,} bytes: more than the capture server takes "
                         f"({MAX_HEAD:,} in a request head)")
    size = 0
    for name, value in headers[at:]:
        size += len(name) + len(value) + 4
    if size > MAX_HEAD:
        raise ValueError(f"trailer fields of {size:,} bytes: more than the capture server "
                         f"takes ({MAX_HEAD:,} after a chunked body)")


#: the times a capture may carry: what pandas' datetime64[ns] column holds (an import of a
#: later one would make every frame and export of the lab fail), to the microsecond a capture
#: keeps: ``pandas.Timestamp.min`` (1677-09-21T00:12:43.145224193Z) and ``.max``
#: (2262-04-11T23:47:16.854775807Z) rounded inwards; :data:`TIME_RANGE` says them
EARLIEST = datetime(1677, 9, 21, 0, 12, 43, 145225, tzinfo=timezone.utc)
LATEST = datetime(2262, 4, 11, 23, 47, 16, 854775, tzinfo=timezone.utc)
#: the words errors refusing a time outside them end with
TIME_RANGE = ("outside 1677-09-21T00:12:43.145225Z to 2262-04-11T23:47:16.854775Z "
              "(what a DataFrame can hold)")


def status_ok(status: int, kind: str | None = "http") -> bool:
    """Whether an imported capture's ``status`` is one hooklab stores: an HTTP status, or for
    a recorded WebSocket message (``kind="ws"``) its close code (up to 4999).

    >>> status_ok(200), status_ok(1000), status_ok(1000, "ws"), status_ok(5000, "ws")
    (True, False, True, False)
    """
    return 0 <= status <= (4999 if kind == "ws" else 999)


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_ONE_US = timedelta(microseconds=1)


def micros(dt: datetime) -> int:
    """Microseconds since 1970 (UTC; a naive ``dt`` is UTC), exactly: ``timestamp()``'s
    float is a microsecond off for times far from now (1677, 2262), which imports take.

    >>> micros(datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc))
    -1
    """
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return (dt - _EPOCH) // _ONE_US


#: ISO 8601 as Python 3.11's ``datetime.fromisoformat`` reads it: a calendar date
#: (``2026-01-31``, ``20260131``) or week date (``2026-W05-6``, ``2026W056``, ``2026-W05``),
#: then optionally any one character but a digit and a time ``HH[:MM[:SS[.f]]]`` or
#: ``HH[MM[SS[.f]]]`` (a fraction of 1 or more digits, ``.`` or ``,``) with an offset ``Z``,
#: ``+HH``, ``+HH:MM[:SS[.f]]`` or ``+HHMM[SS[.f]]``. Digits are ASCII only (``\d`` would take
#: Arabic-Indic ones, which fromisoformat refuses).
_ISO = re.compile(
    r"(?P<y>[0-9]{4})"
    r"(?:-(?P<m>[0-9]{2})-(?P<d>[0-9]{2})|(?P<mb>[0-9]{2})(?P<db>[0-9]{2})"
    r"|(?P<wsep>-?)W(?P<w>[0-9]{2})(?:(?P=wsep)(?P<wd>[0-9]))?)"
    r"(?:[^0-9]"
    r"(?P<H>[0-9]{2})(?:(?P<tsep>:?)(?P<M>[0-9]{2})(?:(?P=tsep)(?P<S>[0-9]{2})"
    r"(?:[.,](?P<f>[0-9]+))?)?)?"
    r"(?:(?P<utc>Z)|(?P<sign>[+-])(?P<oH>[0-9]{2})(?:(?P<osep>:?)(?P<oM>[0-9]{2})"
    r"(?:(?P=osep)(?P<oS>[0-9]{2})(?:[.,](?P<of>[0-9]+))?)?)?)?"
    r")?",
    re.S,
)


def _micro(fraction: str | None) -> int:
    """Microseconds of a decimal fraction's digits, cut (not rounded) after six, as 3.11 does."""
    return int((fraction + "00000")[:6]) if fraction else 0


def _parse_iso_310(text: str) -> datetime:
    """:func:`parse_iso` where ``datetime.fromisoformat`` reads only its own output (Python
    3.10): the text is read by :data:`_ISO`, and the datetime built from its parts."""
    if not isinstance(text, str):
        raise TypeError(f"fromisoformat: argument must be str, not {type(text).__name__}")
    m = _ISO.fullmatch(text)
    if m is None:
        raise ValueError(f"Invalid isoformat string: {text!r}")
    g = m.group
    year = int(g("y"))
    try:
        if g("w"):
            day = datetime.fromisocalendar(year, int(g("w")), int(g("wd") or 1))
            month, mday = day.month, day.day
            year = day.year  # (week 1 may start in December of the year before)
        else:
            month, mday = int(g("m") or g("mb")), int(g("d") or g("db"))
        tz: timezone | None = None
        if g("utc"):
            tz = timezone.utc
        elif g("sign"):
            minutes, seconds = int(g("oM") or 0), int(g("oS") or 0)
            if minutes > 59 or seconds > 59:
                raise ValueError
            offset = timedelta(hours=int(g("oH")), minutes=minutes, seconds=seconds,
                               microseconds=_micro(g("of")))
            tz = timezone.utc if not offset else timezone(-offset if g("sign") == "-" else offset)
        return datetime(year, month, mday, int(g("H") or 0), int(g("M") or 0), int(g("S") or 0),
                        _micro(g("f")), tzinfo=tz)
    except ValueError:  # (a 30 February, hour 24, an offset of a day or more: out of range)
        raise ValueError(f"Invalid isoformat string: {text!r}") from None


def parse_iso(text: str) -> datetime:
    """``text``, an ISO 8601 time, as a datetime (naive when ``text`` names no offset), on
    every Python hooklab runs on: ``datetime.fromisoformat`` of 3.11, which reads ``Z``,
    ``+0000``, fractions of any length and basic formats; before 3.11 it read only its own
    output (``2020-01-01T00:00:00.5Z`` was a ``ValueError``), so there the same forms are
    read by :func:`_parse_iso_310`. ``ValueError`` when ``text`` is not such a time.

    >>> parse_iso("2024-01-01T00:00:00.1Z")
    datetime.datetime(2024, 1, 1, 0, 0, 0, 100000, tzinfo=datetime.timezone.utc)
    >>> parse_iso("2020-01-01 00:00:00+0530")
    datetime.datetime(2020, 1, 1, 0, 0, tzinfo=datetime.timezone(datetime.timedelta(seconds=19800)))
    >>> parse_iso("2024-01-01T12:30:00.Z")   # (3.11's reads it; 3.10's did not: on none now)
    Traceback (most recent call last):
    ValueError: Invalid isoformat string: '2024-01-01T12:30:00.Z'
    """
    if sys.version_info < (3, 11):
        return _parse_iso_310(text)
    # 3.11's fromisoformat (C, for large imports) reads more than ISO 8601 says: "12:30:00.Z",
    # "T00.5" (an hour's fraction as seconds'), an offset "+05:60" as +06:00; the same forms
    # are read on every version: those _ISO takes, with offsets' minutes and seconds in range
    m = _ISO.fullmatch(text) if isinstance(text, str) else None
    if m is not None and (int(m.group("oM") or 0) > 59 or int(m.group("oS") or 0) > 59):
        m = None
    if m is None and isinstance(text, str):
        raise ValueError(f"Invalid isoformat string: {text!r}")
    return datetime.fromisoformat(text)


_PROVIDER_ID = re.compile(r"[a-z][a-z0-9_]{0,63}")
#: the name of "no provider detected": a Parquet export's folder of such captures
#: (``provider=unknown``) and the ``provider`` filter's word for them
#: (:data:`hooklab.filters.NO_PROVIDER`), so no capture's provider is spelt so
NO_PROVIDER = "unknown"


def check_provider(value: str) -> str | None:
    """An imported capture's ``provider``: ``None`` for ``""``, else a provider id (lower-case
    letters, digits and ``_``, a letter first: what ``hooklab.providers.PROVIDERS`` holds, and
    what a Parquet export can name a folder by and Spark, Dask and DuckDB read back as text);
    ``ValueError`` for anything else ("unknown" is the folder of captures without one).

    >>> check_provider("stripe"), check_provider("")
    ('stripe', None)
    >>> check_provider("caf\u00e9")
    Traceback (most recent call last):
    ...
    ValueError: provider 'café' is not a provider id (lower-case letters, digits and _, a letter first, e.g. 'stripe')
    """
    if value == "":
        return None
    if value == NO_PROVIDER or not _PROVIDER_ID.fullmatch(value):
        raise ValueError(f"provider {value!r} is not a provider id (lower-case letters, digits "
                         "and _, a letter first, e.g. 'stripe')")
    return value


def keep_imported(record: dict[str, Any], meta: dict[str, Any]) -> dict[str, Any]:
    """Put what an export kept of a capture (``meta``: a JSON Lines line, a HAR entry's
    ``_hooklab``) on the imported ``record`` (in place; returned): its provider (checked by
    :func:`check_provider`; ``""`` leaves it to detection), event type, delivery id,
    verification (``true``, ``false`` or ``null``; ``1`` and ``0`` too), the handshake it
    answered, where its trailer fields start
    (``trailers_at``: the checks read the header section before them), its forwarding
    outcomes and, for a WebSocket recording, its own bin. The one place both importers take
    them from; ``TypeError`` for a value of the wrong type, ``ValueError`` for a forwarding
    outcome no forward could have had or a ``trailers_at`` past the record's headers.

    >>> keep_imported({"kind": "http"}, {"provider": "stripe", "verified": 1, "bin": "x"})
    {'kind': 'http', 'provider': 'stripe', 'verified': True}
    >>> keep_imported({"kind": "http"}, {"provider": ""})
    {'kind': 'http'}
    >>> keep_imported({"headers": [("A", "1"), ("B", "2")]}, {"trailers_at": 1})["trailers_at"]
    1
    >>> keep_imported({"kind": "http", "received_at": datetime(2026, 1, 1, tzinfo=timezone.utc)},
    ...               {"forwards": [{"target": "http://127.0.0.1:9/", "status": None,
    ...                              "latency_ms": 0.5, "error": "refused"}]})["forwards"]
    [(1767225600000000, 'http://127.0.0.1:9/', None, 0.5, 'refused')]
    """
    def text(key: str) -> str:
        value = meta[key]
        if type(value) is not str:
            raise TypeError(f"{key} must be a string, got {type(value).__name__}")
        return value

    if record.get("kind") == "ws" and meta.get("bin") is not None:  # (ws.record(bin=...))
        record["bin"] = text("bin")
    for key in ("provider", "event_type", "delivery_id", "verify_reason", "handshake"):
        if meta.get(key) is not None:
            record[key] = text(key)
    if "provider" in record and check_provider(record["provider"]) is None:  # (it names a
        del record["provider"]  # folder of a Parquet export: an id, or none: "" is detected)
    verified = meta.get("verified")
    if verified is not None:  # (true/false; 1/0 as SQLite keeps them. Not "false", [0]: true)
        if type(verified) is not bool and not (type(verified) is int and verified in (0, 1)):
            raise TypeError(f"verified must be true, false or null, got {shown_value(verified)}")
        record["verified"] = bool(verified)
    if meta.get("forwards") is not None:  # (an older hooklab's export has none)
        record["forwards"] = _forwards(meta["forwards"], record.get("received_at"))
    at = meta.get("trailers_at")  # (an older hooklab's export has none: read as headers)
    if at is not None:
        if type(at) is not int:
            raise TypeError(f"trailers_at must be a whole number, got {type(at).__name__}")
        fields = len(record.get("headers") or ())
        if trailers_start(at, fields) is None:
            raise ValueError(f"trailers_at {at} names no header field (the capture has {fields})")
        record["trailers_at"] = at
    return record


def trailers_start(value: Any, fields: int) -> int | None:
    """Where a capture's trailer fields start among its ``fields`` header fields, as a
    :class:`Capture` keeps it (``trailers_at``): a whole number from 0 up to the last field's
    index, else ``None``, no trailers (a stored or imported value is checked: a database,
    like a file, may be crafted; a number past the fields names none).

    >>> trailers_start(2, 3), trailers_start(3, 3), trailers_start(True, 3), trailers_start("1", 3)
    (2, None, None, None)
    """
    return value if type(value) is int and 0 <= value < fields else None


def shown_value(value: Any) -> str:
    r"""A value of an untrusted file as an error shows it: its ``repr``, what a terminal
    would act on escaped, cut at 80 characters (a megabyte string is not a megabyte line).
    The HAR and JSON Lines imports name a wrong field's value with it.

    >>> print(shown_value("yesterday"), shown_value(200.9), shown_value("2024\x1b[2J"))
    'yesterday' 200.9 '2024\x1b[2J'
    >>> shown_value("9" * 1000)
    "'99999999999999999999999999999999999999999999999999999999999999999999999999999...(+922 chars)"
    """
    return printable(repr(value), limit=80)



#: a status written as text (some tools write ``"404"``): ASCII digits, a minus sign before
_STATUS_TEXT = re.compile(r"-?[0-9]{1,12}", re.ASCII)


def status_number(value: Any, what: str) -> int:
    """``value`` as a status: a whole number (``200``; ``200.0``, which is the same JSON
    number; ``"404"``, as some tools write it). ``ValueError`` naming ``what`` for anything
    else (``200.9``, ``true``, ``"OK"``, ``[]``); the range is checked by the caller. The HAR
    import reads ``response.status`` and ``_hooklab.status`` with it, the JSON Lines import
    ``status``, both a forwarding outcome's ``status``.

    >>> status_number(200.0, "response.status"), status_number("404", "response.status")
    (200, 404)
    >>> status_number(200.9, "response.status")
    Traceback (most recent call last):
    ...
    ValueError: response.status 200.9 is not an HTTP status (a whole number)
    """
    if type(value) is int:
        return value
    if type(value) is float and value.is_integer():
        return int(value)
    if type(value) is str and _STATUS_TEXT.fullmatch(value):
        return int(value)
    raise ValueError(f"{what} {shown_value(value)} is not an HTTP status (a whole number)")


#: forwarding outcomes an imported capture may have at most (a lab records one per capture:
#: it forwards a capture once, as it arrives)
_FORWARDS_PER_CAPTURE = 100


def _forwards(given: Any, received: datetime | None
              ) -> list[tuple[int, str, int | None, float | None, str | None]]:
    """An export's forwarding outcomes of one capture (oldest first), checked (the file is
    untrusted): ``(at in microseconds, target, status, latency_ms, error)`` each, the rows of
    the store's ``forwards`` table. An outcome without its time gets the capture's (a
    Parquet export keeps none), without its target ``""``; its error is escaped and cut as
    the forwarder's own are (:func:`forward_error`)."""
    if type(given) is not list:
        raise TypeError(f"forwards must be a list, got {type(given).__name__}")
    if len(given) > _FORWARDS_PER_CAPTURE:  # (a lab forwards a capture once, as it arrives)
        raise ValueError(f"forwards holds {len(given):,} outcomes: more than one capture "
                         f"could have had ({_FORWARDS_PER_CAPTURE})")
    out = []
    for i, f in enumerate(given):
        what = f"forwards[{i}]"
        if type(f) is not dict:
            raise TypeError(f"{what} must be an object, got {type(f).__name__}")
        at, target, status = f.get("at"), f.get("target"), f.get("status")
        latency, error = f.get("latency_ms"), f.get("error")
        if at is None:
            when = received or datetime.now(timezone.utc)
        elif type(at) is str:
            try:
                when = parse_iso(at)
            except ValueError:
                raise ValueError(f"{what}.at {shown_value(at)} is not an ISO 8601 time") from None
            when = when if when.tzinfo else when.replace(tzinfo=timezone.utc)
            if not EARLIEST <= when <= LATEST:  # (lab.forwards() could not give it back)
                raise ValueError(f"{what}.at {at!r} is {TIME_RANGE}")
        else:
            raise TypeError(f"{what}.at must be a string, got {type(at).__name__}")
        if target is None:
            target = ""
        elif type(target) is not str:
            raise TypeError(f"{what}.target must be a string, got {type(target).__name__}")
        elif _CONTROLS.search(target):  # (it is shown where a terminal would act on it)
            raise ValueError(f"{what}.target {target!r} holds a control character")
        if status is not None:  # (200.0 and "404" too, as a capture's own status is read)
            status = status_number(status, f"{what}.status")
            if not status_ok(status):
                raise ValueError(f"{what}.status {status!r} is not an HTTP status")
        if latency is not None:
            if type(latency) not in (int, float) or not 0 <= latency < float("inf"):
                raise ValueError(f"{what}.latency_ms {latency!r} is not a duration")
            latency = float(latency)
        if error is not None:
            if type(error) is not str:
                raise TypeError(f"{what}.error must be a string, got {type(error).__name__}")
            # escaped and cut as the forwarder records its own (which may quote a target's
            # status line, ESC and all: refusing them would refuse an older lab's export)
            error = forward_error(error)
        out.append((micros(when), target, status, latency, error))
    return out


#: the kinds of capture: received over HTTP, recorded from a WebSocket (``hooklab.ws``)
KINDS = ("http", "ws")


def check_import(path: str, url: str, received_at: datetime, kind: str = "http") -> None:
    """Raise ``ValueError`` unless an imported capture's path, URL and time are ones the
    capture server could have stored: a path without ``?`` or ``#`` (the server keeps the
    query apart), a URL without control characters and, if it names a scheme, an http(s) one
    (ws(s) for WebSocket messages; a sender's own ``Host`` may make the rest odd, and a record
    stored without one has a relative URL), and a time pandas can hold. What replay and
    copy-as-curl send is then what the capture shows.

    >>> check_import("/gh/x", "http://127.0.0.1:8765/gh/x?a=1", datetime.now(timezone.utc))
    >>> check_import("/gh/x#", "http://h/gh/x", datetime.now(timezone.utc))
    Traceback (most recent call last):
    ...
    ValueError: path '/gh/x#' holds '?' or '#': the server keeps the query apart
    """
    if "?" in path or "#" in path:
        raise ValueError(f"path {path!r} holds '?' or '#': the server keeps the query apart")
    if kind not in KINDS:  # (a kind no filter could select)
        raise ValueError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    if url:  # (by hand: this runs for every line of a large import)
        schemes = ("ws", "wss") if kind == "ws" else ("http", "https")
        scheme, sep, _ = url.partition("://")
        if (sep and scheme.lower() not in schemes) or _CONTROLS.search(url) or (
                not sep and not url.startswith("/")):
            raise ValueError(f"url {url!r} is not an {'/'.join(schemes)} URL or a path")
    if not EARLIEST <= received_at <= LATEST:
        raise ValueError(f"received_at {received_at.isoformat()} is {TIME_RANGE}")


#: characters of a forwarding outcome's error kept. hooklab's own are one short line
#: (``ConnectionRefusedError: [Errno 111] Connection refused``: 55) but may quote what a
#: target answered (``BadStatusLine: <its status line>``, up to 64 KiB) or a captured path
#: (a dot segment refused: up to 1 MiB); an imported file's may be anything (8 MiB were stored
#: and shown whole)
FORWARD_ERROR_CHARS = 2_000


def forward_error(text: str) -> str:
    r"""A forwarding outcome's error as it is stored, recorded or imported: every character
    a terminal would act on shown as an escape (:func:`printable`: ``\x1b``, ``\r``) and at
    most :data:`FORWARD_ERROR_CHARS` characters, saying how many there were. What it gives
    back it keeps as it is, so an export's errors import unchanged.

    >>> forward_error("BadStatusLine: \x1b[2JHTTP/1.1 oops\r\n")
    'BadStatusLine: \\x1b[2JHTTP/1.1 oops\\r\\n'
    >>> cut = forward_error("E" * 10_000)
    >>> len(cut), cut[-35:]
    (2000, 'EE... (cut from 10,000 characters)')
    """
    if len(text) <= FORWARD_ERROR_CHARS and text.isprintable():
        return text
    s = printable(text[:FORWARD_ERROR_CHARS])  # (cut first: 8 MiB of ESC escaped would be 32)
    if len(s) > FORWARD_ERROR_CHARS or len(text) > FORWARD_ERROR_CHARS:
        tail = f"... (cut from {len(text):,} characters)"
        s = s[: FORWARD_ERROR_CHARS - len(tail)] + tail
    return s


# C0/C1 controls, DEL, and what Unicode draws as nothing or uses to reorder text: its
# Default_Ignorable_Code_Point set (soft hyphen, combining grapheme joiner, Hangul fillers,
# Khmer inherent vowels, Mongolian free variation selectors, zero-width marks, bidi
# embeddings, overrides and isolates, word joiner and invisible operators, deprecated format
# controls, BOM, shorthand format controls, musical formatting, tag characters: "ASCII
# smuggling" hides text in those), the Arabic letter mark, interlinear annotation, Egyptian
# format controls and the line and paragraph separators (drawn as a line break by some
# readers, as nothing by others). Regular-expression escapes, not the characters.
HIDDEN_CHARS = (r"\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f"
                r"\u2028-\u202e\u2060-\u206f\u3164\ufeff\uffa0\ufff0-\ufffb"
                r"\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
                r"\U000e0000-\U000e00ff\U000e01f0-\U000e0fff")
# variation selectors: one after a character is how emoji and CJK variants are written (kept:
# "\u2764\ufe0f" is a red heart); one at the start or after another is no such thing (a run of
# them hides bytes after a visible character: escaped from the second on)
_VS = r"\ufe00-\ufe0f\U000e0100-\U000e01ef"
#: a regular-expression alternative: a variation selector that follows no character or another
VS_RUN = r"|(?:^|(?<=[" + _VS + r"]))[" + _VS + "]"
#: what :func:`printable` escapes though Python prints it (str.isprintable): drawn as nothing
_SHOWN_AS_NOTHING = re.compile("[" + HIDDEN_CHARS + "]" + VS_RUN)


def _escaped(m: re.Match[str]) -> str:
    n = ord(m.group())
    return f"\\u{n:04x}" if n <= 0xFFFF else f"\\U{n:08x}"


def printable(text: object, limit: int | None = None) -> str:
    r"""``text`` with every character a terminal would act on shown as an escape (``\x1b``);
    with ``limit``, cut past that many characters, saying how many more (a sender's megabyte
    path is not a megabyte line).

    For lines printed to a terminal or test report from captured data: escape sequences could
    set the title, move the cursor or forge lines. Newlines and tabs are escaped too.

    >>> printable("push\x1b]0;pwned\x07\nverified")
    'push\\x1b]0;pwned\\x07\\nverified'
    >>> printable("/stripe/" + "p" * 300, limit=20)
    '/stripe/pppppppppppp...(+288 chars)'

    What prints as nothing is escaped too (README: invisible characters, Unicode's
    default-ignorable ones, a run of variation selectors), a red heart's one selector not:

    >>> printable("a\u3164b\u034fc\u2764\ufe0f\ufe0f\ufe0f")
    'a\\u3164b\\u034fc\u2764\ufe0f\\ufe0f\\ufe0f'
    """
    s = str(text)
    if not s.isascii():
        s = _SHOWN_AS_NOTHING.sub(_escaped, s)
    if not s.isprintable():
        s = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in s)
    if limit is not None and len(s) > limit:
        return f"{s[:limit]}...(+{len(s) - limit} chars)"
    return s


def n_captures(n: int) -> str:
    """``n`` and the word, for messages: ``"1 capture"``, ``"0 captures"``, ``"2 captures"``."""
    return f"{n} capture" if n == 1 else f"{n} captures"


def as_sent(value: str) -> str:
    """A header value as its sender wrote it: header bytes are kept as Latin-1 (HTTP's rule),
    so UTF-8 text arrives as ``JosÃ©``; shown as ``José`` where the bytes are UTF-8.

    >>> as_sent("JosÃ© MÃ¼ller"), as_sent("caf\xe9")
    ('José Müller', 'café')
    """
    if value.isascii():
        return value
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):  # Latin-1 text indeed, or wider already
        return value


def path_read(path: str) -> str:
    """A request path as a person reads it (the table's bin/path column): its ``%XX`` escapes
    undone and its bytes read as UTF-8, the sender's raw UTF-8 as much as its escapes.

    A path keeps the bytes of the request target a character a byte (``POST /été/x`` sent
    raw is stored ``/Ã©tÃ©/x``, so that a replay sends those bytes); read here as the text
    its sender meant. Bytes that are no UTF-8 (a lone 0xFF) stay a character a byte; an
    escape that is no UTF-8 reads ``\ufffd`` here (a bin reads it as one character:
    :func:`hooklab.capture.bin_of`).
    Control and bidi characters are left in: :func:`visible` shows them escaped.

    >>> path_read("/\xc3\xa9t\xc3\xa9/x"), path_read("/%C3%A9t%C3%A9/x"), path_read("/\xff/x")
    ('/été/x', '/été/x', '/ÿ/x')
    """
    if not path.isascii():
        try:
            raw = path.encode("latin-1")  # the bytes as received
        except UnicodeEncodeError:  # (characters past U+00FF: text already, a recording's)
            return unquote(path)
        try:  # the raw bytes and the escapes' bytes as one UTF-8 text
            return unquote_to_bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            pass
        try:  # the raw bytes are UTF-8, an escape is not: read as unquote() reads it
            return unquote(raw.decode("utf-8"))
        except UnicodeDecodeError:  # no UTF-8: a character a byte, as before
            pass
    return unquote(path)


def target_as_sent(target: str) -> str:
    r"""A request target (path and query), or a URL, as a person reads the bytes that came or
    went: a target is stored and sent a character a byte (raw UTF-8 ``é`` is ``Ã©``,
    which Python shows as ``Ã©``), so its bytes are read as UTF-8 (``é``), a byte that is no
    UTF-8 shown as its escape (``%FF``: never a Latin-1 character, a lone 0xE9 is ``%E9``,
    not ``é``), and escapes that came as such kept (``%C3%A9`` came as those six
    characters). A URL (one that starts with its scheme: ``http://``) keeps its scheme,
    host and port as written; any other target is bytes from its start (``/p?next=https://h/é``
    is a path and query, ``host:port`` a CONNECT's authority). A target with a character
    past U+00FF was no bytes (text: as written). Control and bidi characters are left in:
    :func:`printable` (a terminal) or the live view's ``visible`` escapes them.

    >>> target_as_sent("/cafÃ©/xÿ?q=Ã¼&r=%C3%A9")
    '/café/x%FF?q=ü&r=%C3%A9'
    >>> target_as_sent("/Ã©ÿ"), target_as_sent("/é")
    ('/é%FF', '/%E9')
    >>> target_as_sent("http://127.0.0.1:5000/t/cafÃ©")
    'http://127.0.0.1:5000/t/café'
    >>> target_as_sent("/relay/cafÃ©/https://example.com/x")
    '/relay/café/https://example.com/x'
    """
    if target.isascii():
        return target
    begins = 0  # (origin-form /p?q, authority-form host:port: all of it was bytes)
    url = _ABSOLUTE.match(target)  # (absolute-form: a "://" in a path or query is no scheme)
    if url is not None:
        found = _TARGET_BEGINS.search(target, url.end())
        if found is None:
            return target
        begins = found.start()
    try:
        raw = target[begins:].encode("latin-1")  # (the bytes)
    except UnicodeEncodeError:
        return target
    read = raw.decode("utf-8", "surrogateescape")  # (a byte that is no UTF-8: U+DC80-DCFF)
    return target[:begins] + _NO_UTF8.sub(lambda m: f"%{ord(m.group()) - 0xDC00:02X}", read)


#: a URL (absolute-form): a target that starts with its scheme and ``://`` (RFC 3986 3.1)
_ABSOLUTE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
#: where a URL's request target begins, past its ``scheme://`` and authority
_TARGET_BEGINS = re.compile(r"[/?#]")
#: a byte that is no UTF-8, as ``surrogateescape`` reads it (U+DC80 - U+DCFF)
_NO_UTF8 = re.compile("[\udc80-\udcff]")


def header_text_as_sent(text: str, headers: Iterable[tuple[str, str]]) -> str:
    """``text`` (an event type, made of a header value and maybe more: GitHub's
    ``push.opened``) with each header value in it read as UTF-8 where its bytes are UTF-8.

    The store keeps a header value as the Latin-1 text of its bytes (exactly them), so
    ``X-GitHub-Event: café`` reads ``cafÃ©``; the live view and stream page read it as UTF-8,
    and so do ``serve``'s line and the live view's event type. Bytes that are no UTF-8 stay Latin-1, as they were; what
    came from elsewhere (a JSON body's field) is left as it is. ``headers``: the capture's
    header section (:attr:`Capture.header_section`), where an event type is read from; a
    trailer field's value (after a chunked body) is none of it.

    >>> header_text_as_sent("cafÃ©.opened", [("X-GitHub-Event", "cafÃ©")])
    'café.opened'
    >>> header_text_as_sent("\xff\xfe.opened", [("X-GitHub-Event", "\xff\xfe")])
    'ÿþ.opened'
    >>> header_text_as_sent("Ã©", [("X-Other", "x")])     # (not a header's: as it is)
    'Ã©'
    """
    if text.isascii():
        return text
    found: set[str] = set()
    for _, value in headers:
        if not value.isascii():
            found.update(v for v in (value, value.strip()) if v and v in text)
    for value in sorted(found, key=len, reverse=True):  # (the longest first: a value in another)
        try:
            sent = value.encode("latin-1").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):  # Latin-1 indeed, or no header bytes
            continue
        text = text.replace(value, sent)
    return text


#: Python codecs that are no charset a sender may name: transforms (bytes to bytes: base64,
#: zlib...; str to str: rot13), Python's own escapes (``unicode_escape`` turns ``\\u00e9``
#: written in a body into ``é``), host names' (punycode: quadratic; idna), UTF-7 (no browser
#: reads it: a charset for smuggling markup past filters), and Windows' and placeholder ones
_NOT_CHARSETS = frozenset({
    "base64_codec", "bz2_codec", "hex_codec", "quopri_codec", "rot_13", "uu_codec", "zlib_codec",
    "unicode_escape", "raw_unicode_escape", "punycode", "idna", "utf_7", "undefined",
    "charmap", "mbcs", "oem", "aliases"})
#: the codec modules of Python's standard text encodings a ``charset=`` may name: those its
#: table of aliases names, and the few it has no alias for, less :data:`_NOT_CHARSETS`
CHARSET_CODECS = (frozenset(_aliases.aliases.values()) | {
    "ascii", "cp1006", "cp1252", "cp720", "cp737", "cp856", "cp874", "cp875", "koi8_t",
    "koi8_u", "latin_1", "mac_arabic", "mac_croatian", "mac_farsi", "mac_romanian", "palmos",
    "utf_16", "utf_32", "utf_8", "utf_8_sig"}) - _NOT_CHARSETS


def charset_param(content_type: object) -> str | None:
    """The ``charset`` parameter of a ``Content-Type`` value as given (quotes dropped), or
    ``None`` (no value, no parameter, an empty one).

    >>> charset_param('text/plain; charset="ISO-8859-1"'), charset_param("application/json")
    ('ISO-8859-1', None)
    """
    if not isinstance(content_type, str):
        return None
    for part in content_type.split(";")[1:]:
        k, _, v = part.partition("=")
        if k.strip().lower() == "charset" and v.strip():
            return v.strip().strip('"')
    return None


def text_codec(charset: str) -> str:
    """The sender's ``charset`` if it names one of Python's standard text encodings
    (:data:`CHARSET_CODECS`, found by its name or an alias, as Python's own search finds
    it), else ``"utf-8"``: never a codec of another kind (``base64``, ``rot13``,
    ``unicode_escape``, ``punycode``, ``utf-7``...) nor one a library registered.

    >>> text_codec("ISO-8859-1"), text_codec("windows-1252"), text_codec("Shift_JIS")
    ('iso8859-1', 'cp1252', 'shift_jis')
    >>> text_codec("base64_codec"), text_codec("unicode_escape"), text_codec("utf-7")
    ('utf-8', 'utf-8', 'utf-8')
    """
    if not isinstance(charset, str):
        return "utf-8"
    name = normalize_encoding(charset).lower()
    if _aliases.aliases.get(name, name) not in CHARSET_CODECS:
        return "utf-8"
    try:  # (by the module's name: the standard search finds it before any a library added)
        return codecs.lookup(_aliases.aliases.get(name, name)).name
    except LookupError:  # (a module this Python does not ship)
        return "utf-8"


#: what a urlencoded form's syntax is written in: a charset that writes these as ASCII does
_FORM_SYNTAX = "%+=&;azAZ09"


def form_codec(charset: str) -> str:
    """The codec an ``application/x-www-form-urlencoded`` body's ``%XX`` bytes are read in:
    the sender's ``charset`` (as :func:`text_codec` accepts it) when it writes ASCII as
    ASCII, as a form in Windows-1252 (PayPal's IPN) sends ``é`` as ``%E9``; else UTF-8
    (a form is never sent in UTF-16 or EBCDIC: browsers send such pages' forms in UTF-8).
    :meth:`Capture.form` reads the form's text (:attr:`Capture.text`) with it.

    >>> form_codec("windows-1252"), form_codec("utf-16"), form_codec("unicode_escape")
    ('cp1252', 'utf-8', 'utf-8')
    >>> from urllib.parse import parse_qs
    >>> parse_qs("first_name=Jos%E9", encoding=form_codec("windows-1252"))
    {'first_name': ['José']}
    """
    codec = text_codec(charset)
    try:
        same = _FORM_SYNTAX.encode(codec) == _FORM_SYNTAX.encode("ascii")
    except (UnicodeError, LookupError):
        same = False
    return codec if same else "utf-8"


class CaptureRecord(TypedDict, total=False):
    """A request on its way into the store: built by :func:`new_record` only.

    The receive path, WebSocket recording and HAR / JSON Lines import all build it there; the
    store's writer fills ``provider``, ``event_type``, ``delivery_id`` (detection) and
    ``verified``, ``verify_reason`` (registered secrets) before it becomes a :class:`Capture`.
    """

    received_at: datetime
    kind: str  # "http" (received), "ws" (a recorded WebSocket frame)
    method: str
    path: str
    bin: str  # only when it is not the first path segment (WebSocket recordings)
    query: dict[str, list[str]]
    headers: list[tuple[str, str]]
    body: bytes
    remote_addr: str
    url: str
    status: int
    provider: str | None
    event_type: str | None
    delivery_id: str | None
    verified: bool | None
    verify_reason: str | None
    handshake: str | None  # what an endpoint handshake was answered (server/ingest)
    # on import only (an export's forwarding outcomes: the store records them with the capture)
    forwards: list[tuple[int, str, int | None, float | None, str | None]]
    # on arrival only, never stored (the store takes them off before the row is made):
    signed_url: str  # the public URL the sender called (through the Jupyter relay; key and all)
    relay_key: str  # that URL's key: scrubbed from whatever the checks write (a hint quoting it)
    never_stored: tuple[str, ...]  # the read token and Jupyter tokens, scrubbed after detection
    # where the trailer fields (sent after a chunked body) start in ``headers``, when there are
    # any: detection and the signature checks read the header section before it only (a
    # provider's receivers read no trailers); the fields stay in ``headers``, all of them
    trailers_at: int


def _path_query(target: str) -> tuple[str, str]:
    if target.startswith("/") and not any(c in target for c in "?#\t"):
        return target, ""
    if not target.startswith("/") and "://" not in target:  # asterisk or authority form
        path, _, qs = target.partition("?")  # (CONNECT host:443, OPTIONS *): as received
        return path or "/", qs
    try:  # a target starting with "//" is a path whose first segment is empty (origin
        # form), never an authority: "//github/push" is the bin "" then "github", not a host
        split = urlsplit("http://h" + target if target.startswith("//") else target)
        return split.path or "/", split.query
    except ValueError:  # e.g. "//[x": not a URL, still a request to store as received
        path, _, qs = target.partition("?")
        return path or "/", qs


def target_path(target: str) -> str:
    """The path of a request target as received (origin or absolute form): what
    :func:`split_target` gives, without parsing the query.

    >>> target_path("http://example.com/_hooklab/api?x=1"), target_path("//github/push")
    ('/_hooklab/api', '//github/push')
    """
    return _path_query(target)[0]


def split_target(target: str) -> tuple[str, dict[str, list[str]]]:
    """``(path, query)`` of a request target as received (origin or absolute form).

    >>> split_target("/github/x?a=1&a=2&b=")
    ('/github/x', {'a': ['1', '2'], 'b': ['']})
    >>> split_target("//[x")   # not a URL: kept as received
    ('//[x', {})
    >>> split_target("//github/push?a=1")   # a path (origin form), not a host
    ('//github/push', {'a': ['1']})
    """
    path, qs = _path_query(target)
    return path, (parse_query(qs) if qs else {})


def parse_query(qs: str) -> dict[str, list[str]]:
    r"""A query string (as received: one character a byte) as ``{name: [values]}``, each name
    and value read as a person reads it: ``+`` a space, ``%XX`` undone, and its bytes read as
    UTF-8, the sender's raw UTF-8 as much as its escapes (:func:`path_read`'s rule).

    As :func:`urllib.parse.parse_qs` with ``keep_blank_values=True`` (fields split at ``&``;
    a name without ``=`` has the value ``""``; repeats kept in order), but raw UTF-8
    (``?q=Ã¼``, which curl, nginx and uvicorn pass on) reads ``ü`` as ``?q=%C3%BC``
    does, not ``Ã¼``. Bytes that are no UTF-8 (a lone 0xFF) stay a character a byte; an
    escape that is no UTF-8 reads ``�``, as ``parse_qs`` reads it.

    >>> parse_query("q=Ã¼&q=%C3%BC&r=a+b%2B&flag&e=")
    {'q': ['ü', 'ü'], 'r': ['a b+'], 'flag': [''], 'e': ['']}
    >>> parse_query("a=ÿ&b=%FF")
    {'a': ['ÿ'], 'b': ['�']}
    """
    out: dict[str, list[str]] = {}
    for pair in qs.split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        out.setdefault(path_read(name.replace("+", " ")), []).append(
            path_read(value.replace("+", " ")))
    return out


def new_record(
    method: str,
    target: str,
    headers: list[tuple[str, str]],
    body: bytes,
    *,
    remote_addr: str = "",
    url: str | None = None,
    received_at: datetime | None = None,
    status: int = 200,
    kind: str = "http",
    bin: str | None = None,
    query: dict[str, list[str]] | None = None,
    redact_credentials: bool = True,
    secrets: tuple[str, ...] = (),
) -> CaptureRecord:
    """The one place a :class:`CaptureRecord` is made.

    ``target`` is the request target as received (``/github/x?a=1``); ``url`` the full URL the
    sender used (defaults to ``target``). With ``query`` given, ``target`` is the path, kept
    verbatim (imports and recordings that carry both). What must never be stored is scrubbed
    here (:func:`redact_record`): Jupyter's cookie and token headers unless
    ``redact_credentials=False``, and every occurrence of ``secrets`` (the lab's read token).

    >>> r = new_record("POST", "/github?x=1", [("Content-Type", "text/plain")], b"hi")
    >>> r["method"], r["path"], r["query"], r["kind"]
    ('POST', '/github', {'x': ['1']}, 'http')
    """
    path, parsed = split_target(target) if query is None else (target, query)
    record: CaptureRecord = {
        "received_at": received_at or datetime.now(timezone.utc),
        "kind": kind,
        "method": method,  # as received: methods are case-sensitive
        "path": path,
        "query": parsed,
        "headers": list(headers),
        "body": bytes(body),
        "remote_addr": remote_addr,
        "url": url if url is not None else target,
        "status": int(status),
    }
    if bin is not None:
        record["bin"] = bin
    redact_record(record, credentials=redact_credentials, secrets=secrets)  # type: ignore[arg-type]
    return record


@dataclass(frozen=True, slots=True)
class ForwardOutcome:
    """What became of relaying one capture to a target, as the forwarder records it
    (``lab.forwards()`` gives the recorded outcomes back as dicts of these fields)."""

    capture_id: int
    target: str
    status: int | None
    latency_ms: float | None
    error: str | None = None
    at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))


@dataclass(frozen=True, slots=True)
class Capture:
    """An immutable received request.

    ``headers`` keeps the received order and duplicates; ``body`` holds the exact bytes.
    Use :meth:`header` for a case-insensitive lookup, :meth:`json` for the parsed payload
    (``None`` when the body is not JSON) and :attr:`text` for a lossless-ish text view.
    ``lab.wait``, ``lab.query``, ``lab.captures`` and ``lab.get`` give them.

    >>> cap
    <Capture #1 POST /stripe 200 ...B payment_intent.succeeded at ...>
    >>> cap.method, cap.path, cap.bin, cap.status, cap.provider, cap.verified
    ('POST', '/stripe', 'stripe', 200, 'stripe', True)
    >>> cap.event_type, cap.delivery_id
    ('payment_intent.succeeded', 'evt_...')
    >>> cap.received_at
    datetime.datetime(..., tzinfo=datetime.timezone.utc)
    """

    id: int
    received_at: datetime
    method: str
    path: str
    query: dict[str, list[str]] = field(default_factory=dict)
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    remote_addr: str = ""
    url: str = ""
    status: int = 200
    provider: str | None = None
    event_type: str | None = None
    delivery_id: str | None = None
    verified: bool | None = None
    verify_reason: str | None = None
    duplicate: bool = False
    kind: str = "http"
    handshake: str | None = None
    #: the bin it was stored under when that is not its path's first segment (a WebSocket
    #: recording's ``bin=``); ``None`` otherwise (:attr:`bin` is then the path's)
    stored_bin: str | None = None
    #: where the trailer fields (sent after a chunked body) start in ``headers``; ``None``
    #: when none came. :meth:`verify` reads the header section before them only, as a
    #: provider's receivers do (:attr:`header_section`, :attr:`trailers`)
    trailers_at: int | None = None

    # -- Amazon SNS ---------------------------------------------------------------------------
    def confirm_subscription(self, *, timeout: float = 10.0,
                             allow_any_host: bool = False) -> tuple[int, bytes]:
        """Confirm the Amazon SNS subscription this capture asks for: GET its ``SubscribeURL``.

        Never done automatically (anyone can send a SubscriptionConfirmation naming any URL):
        call it after looking at the capture. The URL must be ``https://sns.<region>.
        amazonaws.com/...`` unless ``allow_any_host=True``; redirects are not followed.
        Returns ``(status, body)`` of SNS's answer; ``ValueError`` if this capture is not a
        SubscriptionConfirmation, ``OSError`` on network errors.

        >>> cap = lab.wait(1, provider="sns")[0]      # doctest: +SKIP
        >>> cap.confirm_subscription()[0]              # doctest: +SKIP
        200
        """
        import http.client
        import re
        from urllib.parse import urlsplit

        data = self.json()
        url = data.get("SubscribeURL") if isinstance(data, dict) else None
        if not isinstance(data, dict) or data.get("Type") != "SubscriptionConfirmation" \
                or not isinstance(url, str):
            raise ValueError(f"capture {self.id} is not an SNS SubscriptionConfirmation "
                             "with a SubscribeURL")
        parts = urlsplit(url)
        sns = parts.scheme == "https" and re.fullmatch(
            r"sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?", parts.hostname or "") is not None
        if not sns and not allow_any_host:
            raise ValueError(f"SubscribeURL {url[:200]!r} is not an https://sns.<region>."
                             "amazonaws.com URL; pass allow_any_host=True to fetch it anyway")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"SubscribeURL {url[:200]!r} is not an http(s) URL")
        cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        conn = cls(parts.hostname, parts.port, timeout=timeout)
        try:
            conn.request("GET", (parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
                         headers={"User-Agent": "hooklab (SNS subscription confirmation)"})
            resp = conn.getresponse()
            return resp.status, resp.read(1024 * 1024)
        finally:
            conn.close()

    # -- derived fields -------------------------------------------------------------------
    @property
    def bin(self) -> str:
        """The bin: the first path segment (``/stripe/events`` -> ``stripe``), or the one a
        WebSocket recording was given (``hooklab.ws.record(..., bin=...)``).

        >>> r = hooklab.send(lab.url_for("stripe", "events/live"), payload={"a": 1})
        >>> lab.captures[-1].path, lab.captures[-1].bin
        ('/stripe/events/live', 'stripe')
        """
        return self.stored_bin if self.stored_bin is not None else bin_of(self.path)

    @property
    def size(self) -> int:
        """Body size in bytes, as received.

        >>> cap.size == len(cap.body) == int(cap.header("content-length"))
        True
        """
        return len(self.body)

    @property
    def content_type(self) -> str | None:
        """The ``Content-Type`` header without parameters, lower-cased (``None`` without one).
        Read from the header section only (:attr:`header_section`), as a receiver reads it:
        a ``Content-Type`` sent as a trailer field, after the body, describes nothing of it.

        >>> cap.header("content-type"), cap.content_type
        ('application/json; charset=utf-8', 'application/json')
        """
        ct = self.header("content-type", trailers=False)
        return ct.split(";", 1)[0].strip().lower() if ct else None

    @property
    def charset(self) -> str:
        """The ``charset`` parameter of ``Content-Type`` (:attr:`text` decodes with it), or
        ``"utf-8"``; the header section's ``Content-Type``, as for :attr:`content_type`.

        >>> r = hooklab.send(lab.url_for("legacy"), payload="caf\\xe9".encode("latin-1"),
        ...                  headers={"Content-Type": "text/plain; charset=ISO-8859-1"})
        >>> old = lab.captures[-1]
        >>> old.charset, old.body, old.text
        ('ISO-8859-1', b'caf\\xe9', 'café')
        >>> cap.charset
        'utf-8'
        """
        return charset_param(self.header("content-type", trailers=False)) or "utf-8"

    @property
    def header_section(self) -> list[tuple[str, str]]:
        """The header fields without the trailer fields that followed a chunked body (what a
        provider's receivers read, and :meth:`verify` checks); all of ``headers`` when no
        trailers came.

        >>> c = Capture(id=1, received_at=datetime.now(timezone.utc), method="POST", path="/s",
        ...             headers=[("Transfer-Encoding", "chunked"), ("Stripe-Signature", "t=1")],
        ...             trailers_at=1)
        >>> c.header_section, c.trailers
        ([('Transfer-Encoding', 'chunked')], [('Stripe-Signature', 't=1')])
        """
        at = trailers_start(self.trailers_at, len(self.headers))
        return list(self.headers) if at is None else self.headers[:at]

    @property
    def trailers(self) -> list[tuple[str, str]]:
        """The trailer fields (after a chunked body), in order; ``[]`` when none came. They
        stay in ``headers`` too (:meth:`header` finds them unless ``trailers=False``), after
        the header section."""
        at = trailers_start(self.trailers_at, len(self.headers))
        return [] if at is None else self.headers[at:]

    def header(self, name: str, default: str | None = None, *, trailers: bool = True) -> str | None:
        """First value of header ``name`` (case-insensitive), or ``default``.

        Every field is searched, the trailer fields that followed a chunked body too (after
        the header section: a name sent in both gives the header section's value); with
        ``trailers=False`` only the header section (:attr:`header_section`), what a receiver
        reads the request's framing and body description from (:attr:`content_type`,
        :attr:`charset` and :meth:`decoded_body` read it so).

        >>> r = hooklab.send(lab.url_for("github"), provider="github", event="issues.opened")
        >>> gh = lab.wait(1, bin="github")[0]
        >>> gh.header("X-GitHub-Event"), gh.header("x-github-event")
        ('issues', 'issues')
        >>> gh.header("X-Hub-Signature-256") is None        # sent without a secret
        True
        >>> gh.header("X-Hub-Signature-256", "unsigned")
        'unsigned'
        >>> c = Capture(id=1, received_at=datetime.now(timezone.utc), method="POST", path="/t",
        ...             headers=[("Transfer-Encoding", "chunked"), ("Content-Type", "text/csv")],
        ...             trailers_at=1)
        >>> c.header("content-type"), c.header("content-type", trailers=False), c.content_type
        ('text/csv', None, None)
        """
        lname = name.lower()
        fields = self.headers
        if not trailers:
            at = trailers_start(self.trailers_at, len(fields))
            if at is not None:
                fields = fields[:at]
        for k, v in fields:
            if k.lower() == lname:
                return v
        return default

    def header_all(self, name: str) -> list[str]:
        """All values of header ``name`` in received order (``headers`` keeps repeats).

        >>> c = Capture(id=1, received_at=datetime.now(timezone.utc), method="POST",
        ...             path="/relay", headers=[("Via", "1.1 edge"), ("Via", "1.1 proxy")])
        >>> c.header_all("via"), c.header("via")
        (['1.1 edge', '1.1 proxy'], '1.1 edge')
        >>> cap.header_all("x-missing")
        []
        """
        lname = name.lower()
        return [v for k, v in self.headers if k.lower() == lname]

    def decoded_body(self) -> bytes:
        """The body with ``Content-Encoding`` undone (capped; see :func:`decode_body`);
        :attr:`text` and :meth:`json` read it. ``ValueError`` when it cannot be undone. The
        header section's ``Content-Encoding`` (a trailer field's is none of the body's).
        Transfer codings the body came with (``Transfer-Encoding: gzip, chunked``: it is
        stored as received, gzip bytes) are undone first: they are framing, not content (RFC
        9112 section 7; :func:`hooklab.jsonread.body_coding`).

        >>> import gzip
        >>> r = hooklab.send(lab.url_for("zipped"), payload=gzip.compress(b'{"a": 1}'),
        ...                  headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})
        >>> z = lab.captures[-1]
        >>> z.body[:2], z.decoded_body(), z.json()
        (b'\\x1f\\x8b', b'{"a": 1}', {'a': 1})
        """
        return decode_body(self.body, section_coding(self.header_section))

    @property
    def text(self) -> str:
        """The (decoded) body as text; undecodable bytes become U+FFFD.

        >>> r = hooklab.send(lab.url_for("notes"), payload="héllo")
        >>> note = lab.captures[-1]
        >>> note.text, note.body
        ('héllo', b'h\\xc3\\xa9llo')
        >>> cap.text.splitlines()[:3]
        ['{', '  "id": "evt_...",', '  "object": "event",']
        """
        try:
            raw = self.decoded_body()
        except ValueError:
            raw = self.body
        try:
            return raw.decode(text_codec(self.charset), errors="replace")
        except (LookupError, ValueError):  # e.g. charset=undefined always fails
            return raw.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The parsed JSON payload, or ``None`` when the body is not valid JSON (a fresh
        object each call: change it freely).

        >>> cap.json()["type"], cap.json()["data"]["object"]["amount"]
        ('payment_intent.succeeded', 2000)
        >>> r = hooklab.send(lab.url_for("github"), provider="github", event="issues.opened")
        >>> lab.wait(1, bin="github")[0].json()["action"]
        'opened'
        >>> r = hooklab.send(lab.url_for("notes"), payload="not json")
        >>> lab.captures[-1].json() is None
        True
        """
        if not self.body:
            return None
        try:
            raw = self.decoded_body()
        except ValueError:
            return None
        try:
            return loads_json(raw)
        except (ValueError, RecursionError):
            return None

    def form(self) -> dict[str, list[str]]:
        """``application/x-www-form-urlencoded`` fields (empty for other bodies, as the header
        section's ``Content-Type`` says: :attr:`content_type`): each name with the list of its
        values.

        >>> r = hooklab.send(lab.url_for("twilio"), provider="twilio")    # Twilio posts forms
        >>> sms = lab.wait(1, bin="twilio")[0]
        >>> sms.form()["Body"], sms.form()["From"]
        (['Hello from hooklab'], ['+14155550100'])
        >>> cap.form()                                  # a JSON body
        {}
        """
        if self.content_type != "application/x-www-form-urlencoded":
            return {}
        return parse_qs(self.text, keep_blank_values=True, encoding=form_codec(self.charset),
                        errors="replace")

    def verify(
        self,
        secret: str | bytes,
        provider: str | None = None,
        *,
        now: datetime | float | None = None,
        tolerance: float | None = None,
        url: str | None = None,
    ) -> Verification:
        """Check this capture's signature; ``now`` defaults to when it was received,
        ``tolerance`` to the provider's window (see :func:`hooklab.verify_signature`), ``url``
        to the capture's (pass the URL the provider was given when it signs the URL and
        reached the lab through a proxy, tunnel or the Jupyter relay: Twilio, Square...).

        A capture that came through the Jupyter relay shows the URL's key as ``[key]`` (the
        key is the credential), so a signature over the URL cannot match :attr:`url`: pass
        ``url=lab.public_url(bin)``, the bin's public URL, and the path and query after
        the key are the capture's own (the reason says so when the check needs it; a
        ``token=`` parameter the relay took out of the query is not among them, so a URL
        signed with one verifies on arrival only)::

            cap.verify(auth_token, "twilio", url=lab.public_url("tw"))

        Only the header section is read (:attr:`header_section`), as the provider's own
        receivers read it and as the lab checked on arrival: a signature that came as a
        trailer field (after a chunked body) verifies nothing, and the reason says so.

        >>> cap.provider, cap.event_type
        ('stripe', 'payment_intent.succeeded')
        >>> cap.verify("whsec_test")         # the endpoint's signing secret
        Verification(valid=True, provider='stripe', reason='ok')
        >>> cap.verify("whsec_wrong").valid
        False
        """
        from .signatures import Verification, trailer_note, verify_signature

        given = _relay_target(url, self.url) if isinstance(url, str) and url else None

        def check(headers: list[tuple[str, str]], received: str | None = self.url) -> Verification:
            return verify_signature(
                provider or self.provider or "",
                secret,
                headers,
                self.body,
                url=given,  # (the caller's, see _relay_target; else the capture's own)
                received_url=None if given else received or None,
                method=self.method,
                now=self.received_at if now is None else now,
                tolerance=tolerance,
            )

        section = self.header_section
        verdict = check(section)
        if not verdict.valid and given is None and _RELAY_KEY in (self.url or "") \
                and "pass url=" in check(section, None).reason:  # (the check needs the URL)
            verdict = Verification(False, verdict.provider, verdict.reason + (
                f" (capture.url shows the relay's key as {_RELAY_KEY}: the provider signed the "
                f"URL with the key; pass url=lab.public_url({self.bin!r}))"))
        if verdict.valid or len(section) == len(self.headers):
            return verdict
        note = trailer_note(provider or self.provider, self.headers, section,
                            lambda headers: check(headers).valid)
        return Verification(False, verdict.provider, verdict.reason + note)

    def __repr__(self) -> str:
        # shown by terminals and test reports: the sender's text, visible characters only
        ev = f" {printable(self.event_type)}" if self.event_type else ""
        return (
            f"<Capture #{self.id} {printable(self.method)} {printable(self.path)} {self.status}"
            f" {self.size}B{ev} at {self.received_at.isoformat()}>"
        )


#: what a capture's URL shows in place of the Jupyter relay's key (the key is the credential)
_RELAY_KEY = "[key]"


def _relay_target(given: str, shown: str | None) -> str:
    """The URL to check a relayed capture's signature over: ``given`` as it is, unless it is
    the capture's URL up to its key (``lab.public_url(bin)``: ``.../hooklab/in/<key>``) while
    the capture shows ``.../hooklab/in/[key]/sms?x=1``: then ``given`` with the capture's
    path and query after the key.

    >>> _relay_target("https://h/u/hooklab/in/K3y", "https://h/u/hooklab/in/[key]/sms?x=1")
    'https://h/u/hooklab/in/K3y/sms?x=1'
    >>> _relay_target("https://other/u/hooklab/in/K3y", "https://h/u/hooklab/in/[key]/sms")
    'https://other/u/hooklab/in/K3y'
    """
    head, mark, tail = (shown or "").partition("/" + _RELAY_KEY)
    key = given[len(head) + 1 :] if mark and given.startswith(head + "/") else ""
    if not key or any(c in key for c in "/?#"):
        return given
    return given + tail


def capture_to_dict(c: Capture, *, body: bool = True) -> dict[str, Any]:
    """A JSON-safe dict of a capture (the ``/_hooklab/`` API and stream shape); the exact body
    is ``body_b64``, ``body_text`` its UTF-8 text when it has one."""
    d: dict[str, Any] = {
        "id": c.id,
        "kind": c.kind,
        # (always with microseconds: isoformat() leaves them out when they are 0, which broke
        # a fixed-format parser once in a million captures)
        "received_at": c.received_at.isoformat(timespec="microseconds"),
        "method": c.method,
        "path": c.path,
        "bin": c.bin,
        "url": c.url,
        "query": c.query,
        "headers": [list(h) for h in c.headers],
        "remote_addr": c.remote_addr,
        "content_type": c.content_type,
        "size": c.size,
        "status": c.status,
        "provider": c.provider,
        "event_type": c.event_type,
        "delivery_id": c.delivery_id,
        "verified": c.verified,
        "verify_reason": c.verify_reason,
        "duplicate": c.duplicate,
        "handshake": c.handshake,
    }
    if c.trailers_at is not None:  # (only then: the shape of every other capture's as before)
        d["trailers_at"] = c.trailers_at
    if body:
        d["body_b64"] = base64.b64encode(c.body).decode()
        try:
            d["body_text"] = c.body.decode("utf-8")
        except UnicodeDecodeError:
            d["body_text"] = None
    return d


def payload_text(body: bytes | None, headers: str | None) -> str | None:
    """``payload`` of a capture: its body as JSON text if ``Capture.json()`` parses it (its
    transfer codings and ``Content-Encoding`` undone, the charset JSON's own: UTF-8, -16 or
    -32, a byte order mark dropped; NaN as null and infinities as 9e999, as SQLite reads them,
    other numbers as sent; written again without ``\\u`` escapes when a key has one, see
    :data:`ESCAPED_KEY`), else None; for the
    SQL views of SQLite and DuckDB alike, so both hold what
    ``capture.json()`` reads (a Latin-1 body, which it does not read, has none).

    >>> payload_text(b'\\xef\\xbb\\xbf{"a": 1}', "[]"), payload_text('{"a":1}'.encode("utf-16"), "[]")
    ('{"a": 1}', '{"a":1}')
    >>> payload_text('{"a":"crème"}'.encode("latin-1"), "[]") is None
    True
    >>> payload_text(b'{"v": NaN, "w": -Infinity, "s": "NaN", "big": 1e400}', "[]")
    '{"v": null, "w": -9e999, "s": "NaN", "big": 1e400}'
    >>> payload_text(b'{"caf\\\\u00e9": "cr\\\\u00e8me"}', "[]")   # keys SQLite 3.40 finds
    '{"café": "crème"}'
    """
    if not body:
        return None
    raw = bytes(body)
    try:
        encoding = section_coding((pair[0], pair[1]) for pair in _json.loads(headers or "[]"))
        if encoding is not None:
            raw = decode_body(raw, encoding)
        text = raw.decode(_json.detect_encoding(raw), "surrogatepass")
        odd: list[str] = []
        # (numbers kept as the text they came as: see _as_sqlite_reads)
        value = loads_json(text, parse_float=_Sent,
                           parse_constant=lambda c: odd.append(c) or _Sent(_CONSTANTS[c]))
    except (ValueError, TypeError, IndexError, RecursionError):
        return None
    if odd:  # NaN, Infinity: JSON to Python only; written as SQLite reads them in JSON5
        return _as_sqlite_reads(value)
    try:
        text.encode("utf-8")  # (SQLite and DuckDB take no lone surrogate)
    except UnicodeEncodeError:
        return _as_sqlite_reads(value)  # the same value, its lone surrogates as \u escapes
    if "\\u" in text and ESCAPED_KEY.search(text):  # (SQLite 3.40 finds no key written
        return _as_sqlite_reads(value)  # "caf\u00e9" by '$.café', DuckDB does: Python's json.dumps
    return text.lstrip("\ufeff")  # and PHP's json_encode write every key past ASCII so)


#: a ``\u`` escape in a key: the rest of a JSON string (at most 200 characters, no other
#: ``\u``: linear however many escapes a body holds) then ``:``, which follows no string but a
#: key; in the SQL views of SQLite (``hooklab_escaped_key``) and DuckDB (the same words)
ESCAPED_KEY_RE = r'\\u[0-9a-fA-F]{4}(?:[^"\\\n]|\\[^u]){0,200}"\s*:'
ESCAPED_KEY = re.compile(ESCAPED_KEY_RE)
_ESCAPED_KEY_BYTES = re.compile(ESCAPED_KEY_RE.encode())


def escaped_key(body: bytes | None) -> int:
    """1 if ``body`` writes a key with a ``\\u`` escape (see :func:`payload_text`).

    >>> escaped_key(b'{"caf\\\\u00e9": 1}'), escaped_key(b'{"v": "caf\\\\u00e9"}')
    (1, 0)
    """
    return 1 if body and _ESCAPED_KEY_BYTES.search(body) else 0


_SURROGATE = re.compile("[\ud800-\udfff]")


class _Sent(str):
    """A JSON number other than an integer, as the text it was sent as (``1e400``, ``-0.0``,
    ``1.0000000000000001``), or what a NaN or infinity is written as (:data:`_CONSTANTS`);
    also the punctuation :func:`_as_sqlite_reads` writes."""

    __slots__ = ()


#: NaN and infinities as SQLite reads them in JSON (JSON text has neither)
_CONSTANTS = {"NaN": "null", "Infinity": "9e999", "-Infinity": "-9e999"}


def _json_string(text: str) -> str:
    """``text`` as a JSON string with its characters as they are (``\\u`` escapes only for
    lone surrogates, which UTF-8 cannot hold): the keys ``json_extract`` paths name."""
    out = _json.dumps(text, ensure_ascii=False)
    try:
        out.encode("utf-8")
    except UnicodeEncodeError:
        out = _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", out)
    return out


def _as_sqlite_reads(value: Any) -> str:
    """``value`` (read by :func:`payload_text`: numbers but integers as :class:`_Sent`) as
    JSON text that SQLite's and DuckDB's JSON read as ``Capture.json()`` reads it: strings and
    keys with their characters as they are (:func:`_json_string`), a key written twice once,
    with its last value; numbers as sent (``json.dumps`` wrote ``1e400``, which Python reads as
    inf, as ``Infinity``, which SQLite refuses: every ``json_extract`` over the table failed),
    NaN as null, infinities as 9e999. Any depth (no recursion).

    >>> from json import loads
    >>> _as_sqlite_reads(loads('{"a": [1e400, -0.0, 10], "b": {}, "c": null}', parse_float=_Sent))
    '{"a": [1e400, -0.0, 10], "b": {}, "c": null}'
    """
    out: list[str] = []
    todo: list[Any] = [value]
    while todo:
        v = todo.pop()
        if type(v) is _Sent:
            out.append(v)
        elif isinstance(v, str):
            out.append(_json_string(v))
        elif isinstance(v, dict):
            todo.append(_Sent("}"))
            for k, (key, item) in enumerate(reversed(v.items())):
                todo += [item, _Sent(_json_string(key) + ": ")]
                if k < len(v) - 1:
                    todo.append(_Sent(", "))
            todo.append(_Sent("{"))
        elif isinstance(v, list):
            todo.append(_Sent("]"))
            for k, item in enumerate(reversed(v)):
                todo.append(item)
                if k < len(v) - 1:
                    todo.append(_Sent(", "))
            todo.append(_Sent("["))
        else:  # (True, False, None, an integer: exact, as Python reads it)
            out.append("true" if v is True else "false" if v is False else "null" if v is None
                       else str(v))
    return "".join(out)


def user_stacklevel() -> int:
    """The ``stacklevel`` that names the caller's first line outside hooklab and IPython's
    machinery: a warning of ``%load_ext hooklab`` or ``lab.start()`` points at the user's
    cell, not at hooklab's own files."""
    skip = tuple(_os.path.dirname(getattr(sys.modules[n], "__file__", None) or "") + _os.sep
                 for n in ("hooklab", "IPython", "ipykernel", "traitlets") if n in sys.modules)
    skip = tuple(p for p in skip if p != _os.sep)
    frame, level = sys._getframe(2), 2  # (level 1: the function that calls warnings.warn)
    while frame is not None and frame.f_code.co_filename.startswith(skip):
        frame, level = frame.f_back, level + 1
    return level
