"""Who sent a webhook, what event it is, and its delivery id, read off the provider table.

>>> detect([("X-GitHub-Event", "pull_request"), ("X-GitHub-Delivery", "d1")],
...        b'{"action": "opened"}')
('github', 'pull_request.opened', 'd1')
>>> detect([("Content-Type", "application/json")], b'{"object": "page", "entry": []}')[0]
'meta'
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qs

from ..formdata import is_multipart, multipart_form
from ..jsonread import (
    MAX_PARSED,
    body_coding,
    declared_codec,
    decode_body,
    loads_fast,
    surrogates_escaped,
)
from .table import TABLE, Provider, _get

__all__ = ["describe", "detect", "detect_record", "header_section", "parse_json"]

_MAX_PARSE = MAX_PARSED


def _lower(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in headers:
        out.setdefault(str(k).lower(), str(v))
    return out


def parse_json(body: bytes) -> Any:
    """``json.loads(body)`` (raising what it raises), by orjson when it reads the body
    exactly (:func:`hooklab.jsonread.loads_fast`: not for an integer past 64 bits); JSON
    nested deeper than 1,024 levels raises ValueError. The last body parsed (up to 1 MiB) is
    remembered by identity: detection and the handshake check of one request parse it once;
    a larger one is not kept alive (with its parsed objects) until the next request. Callers
    must not change the result.

    >>> parse_json(b'{"id": 123456789012345678901234567890, "neg": -9223372036854775809}')
    {'id': 123456789012345678901234567890, 'neg': -9223372036854775809}
    """
    global _last
    last = _last
    if last[0] is body:
        return last[1]
    data = loads_fast(body)
    _last = (body, data) if len(body) <= _KEEP_PARSED else (None, None)
    return data


_last: tuple[Any, Any] = (None, None)
_KEEP_PARSED = 1 << 20


def readable(body: bytes, h: dict[str, str]) -> bytes:
    """``body`` with its ``Content-Encoding`` (``h``: lower-cased header names) undone as
    :meth:`hooklab.Capture.json` undoes it (gzip, deflate; :func:`hooklab.capture.decode_body`),
    decoded to at most 8 MiB, the most detection parses; ``b""`` when it cannot be undone
    (corrupt, an encoding hooklab does not know, a decompression bomb past the cap): such a
    body is read by its headers alone.

    >>> import gzip
    >>> readable(gzip.compress(b'{"type": "charge.refunded"}'), {"content-encoding": "gzip"})
    b'{"type": "charge.refunded"}'
    >>> readable(b"abc", {"content-encoding": "br"}), readable(b"{}", {})
    (b'', b'{}')
    >>> readable(gzip.compress(b'{"a": 1}'), {"transfer-encoding": "gzip, chunked"})
    b'{"a": 1}'

    Transfer codings (``Transfer-Encoding: gzip, chunked``) are undone too, first: framing,
    not content (:func:`hooklab.jsonread.body_coding`).
    """
    encoding = h.get("content-encoding")
    transfer = h.get("transfer-encoding")
    if transfer is not None:
        encoding = body_coding(encoding, [transfer])
    if not body or encoding is None or encoding.strip().lower() in ("", "identity"):
        return body
    if len(body) > _MAX_PARSE:  # (no smaller once decoded)
        return b""
    try:  # (at most _MAX_PARSE + 1 bytes are inflated per coding, at most 4: bounded)
        return decode_body(bytes(body), encoding, limit=_MAX_PARSE)
    except ValueError:
        return b""


def payload(body: bytes, h: dict[str, str]) -> Any:
    """The parsed body: JSON, or a form (urlencoded, or ``multipart/form-data``'s text fields)
    as ``{name: first value}`` (a ``payload`` field that holds
    JSON, as Slack and GitHub send, is parsed); JSON Lines as the list of its objects (Auth0's
    log streams' default); ``None`` when neither. A body with a ``Content-Encoding`` is read
    decoded (:func:`readable`), as ``Capture.json()`` reads it."""
    return _payload(readable(body, h), h)


def _payload(body: bytes, h: dict[str, str]) -> Any:
    """:func:`payload` of a body without a ``Content-Encoding`` (or with it undone)."""
    if not body or len(body) > _MAX_PARSE:
        return None
    try:
        if body.lstrip()[:1] in (b"{", b"["):
            try:
                return parse_json(body)
            except ValueError:
                if body.lstrip()[:1] != b"{" or b"\n" not in body.strip():
                    raise
                return [parse_json(line) for line in body.splitlines() if line.strip()]
        ctype = h.get("content-type", "")
        form: dict[str, list[str]] | None = None
        if "x-www-form-urlencoded" in ctype or (not ctype and b"=" in body[:200]):
            codec = declared_codec(ctype)  # (a form's %XX in its charset)
            form = parse_qs(body.decode(codec, "replace"), keep_blank_values=True, encoding=codec,
                            errors="replace")
        elif is_multipart(ctype):  # (its text fields alike)
            form = multipart_form(body, ctype)
        if form is not None:
            if "payload" in form:
                return json.loads(form["payload"][0])
            if "mandrill_events" in form:
                return {"mandrill_events": json.loads(form["mandrill_events"][0])}
            return {k: v[0] for k, v in form.items()}
    except (ValueError, RecursionError):
        return None
    return None


def _s(v: Any) -> str | None:
    if v is None or isinstance(v, (dict, list)) or v == "":
        return None
    return str(v).lower() if isinstance(v, bool) else str(v)


def _value(spec: str, h: dict[str, str], data: Any, query: dict[str, Any],
           strict: bool = False) -> str | None:
    """One alternative's value: its parts joined by ``.``; ``None`` when its first part is
    missing, or any part when ``strict`` (a delivery id short of a part could name another
    delivery too) or an ``if:`` guard's path."""
    parts = []
    for i, part in enumerate(spec.split("+")):
        kind, _, name = part.partition(":")
        if kind == "if":  # a guard: the path must be there; it adds nothing
            if _get(data, name) is None:
                return None
            continue
        if kind == "c":  # a literal (an event type no field of the payload names)
            v: str | None = name
        elif kind == "h":  # (``h:<header>=<value>``: the header's value only when it is that)
            name, is_, want = name.partition("=")
            v = _s(h.get(name))
            if is_ and v != want:
                v = None
        elif kind == "k":  # the name of the first top-level key matching a glob (X, Dropbox)
            v = next((k for k in data if fnmatch.fnmatchcase(k, name)), None) \
                if isinstance(data, dict) else None
        elif kind == "xml":  # a tag of a base64 XML form field (Braintree's bt_payload)
            v = _xml_tag(data, name)
        elif kind == "q":
            q = query.get(name)
            v = _s(q[0] if isinstance(q, list) and q else q)
        else:  # (``j:<path>=<value>``: the field's value only when it is that)
            name, is_, want = name.partition("=")
            v = _s(_get(data, name)) if name else None
            if is_ and v != want:
                v = None
        if v is None and (i == 0 or strict):
            return None
        if v is not None:
            parts.append(v)
    return ".".join(parts) or None


def _xml_tag(data: Any, spec: str) -> str | None:
    field, _, tag = spec.partition("/")
    raw = data.get(field) if isinstance(data, dict) else None
    if not isinstance(raw, str):
        return None
    try:
        xml = base64.b64decode(raw[:65536]).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return None
    m = re.search(rf"<{re.escape(tag)}>([^<]{{1,200}})</{re.escape(tag)}>", xml)
    return m.group(1) if m else None


def _first(specs: tuple[str, ...], h: dict[str, str], data: Any, query: dict[str, Any],
           strict: bool = False) -> str | None:
    for spec in specs:
        v = _value(spec, h, data, query, strict)
        if v is not None:
            return v
    return None


def _found(p: Provider, h: dict[str, str], data: Any, query: dict[str, Any]) -> tuple[str | None, str | None]:
    """``(event_type, delivery_id)`` of a delivery from ``p``."""
    ev = _first(p.event, h, data, query)
    if ev is not None and p.event_names:
        ev = p.event_names.get(ev, ev)
    return ev, _first(p.delivery, h, data, query, strict=True)


def _named(p: Provider, h: dict[str, str]) -> bool:
    """The headers (or the User-Agent) name this provider."""
    return any(name in h for name in p.detect) or bool(
        p.agent and h.get("user-agent", "").startswith(p.agent))


def _matches(p: Provider, h: dict[str, str], data: Any) -> bool:
    if not p.detect and not p.agent and p.shape is None:
        return False
    if p.detect or p.agent:
        if _named(p, h):
            if p.shape_alone:  # (its own header names it; the shape is for unsigned ones)
                return True
        elif not p.shape_alone:
            return False
    if p.shape is not None:
        try:
            return bool(p.shape(data))
        except Exception:  # noqa: BLE001 - a shape test must never break detection
            return False
    return True


def describe(provider: str, headers: Iterable[tuple[str, str]], body: bytes,
             query: dict[str, Any] | None = None) -> tuple[str | None, str | None]:
    """``(event_type, delivery_id)`` of a delivery known to come from ``provider``."""
    p = TABLE.get(provider)
    if p is None:
        return None, None
    h = _lower(headers)
    data = payload(body, h) or {}
    return _found(p, h, data, query or {})


# index of the table: which entries a request's header names, User-Agent or body bytes can
# point to, so an unknown sender costs a few dict lookups rather than a walk of every entry
_ORDER: tuple[Provider, ...] = tuple(TABLE.values())
_BY_HEADER: dict[str, tuple[int, ...]] = {}
for _i, _p in enumerate(_ORDER):
    for _name in _p.detect:
        _BY_HEADER[_name] = (*_BY_HEADER.get(_name, ()), _i)
_AGENTS = tuple((i, p.agent) for i, p in enumerate(_ORDER) if p.agent)
_BY_BODY = tuple((i, p.hint) for i, p in enumerate(_ORDER)
                 if p.shape is not None and (p.shape_alone or (not p.detect and not p.agent)))


def _candidates(named: list[int], body: bytes) -> Iterable[int]:
    """Table positions to try, in order: the named ones, and the shape-only ones whose byte
    hint the body holds, looked for only when a position before them is reached."""
    if not named:  # the common unknown sender: the hints looked for lazily, in table order
        return (i for i, hint in _BY_BODY if not hint or hint in body) if body else ()
    return _merged(named, body)


def _merged(named: list[int], body: bytes) -> Iterable[int]:
    shaped = iter(_BY_BODY if body else ())
    pending = next(shaped, None)
    for i in [*named, len(_ORDER)]:
        while pending is not None and pending[0] <= i:
            # (an entry both named and shaped, as Typeform's, is tried once)
            if pending[0] < i and (not pending[1] or pending[1] in body):
                yield pending[0]
            pending = next(shaped, None)
        if i < len(_ORDER):
            yield i


def detect(headers: Iterable[tuple[str, str]], body: bytes,
           query: dict[str, Any] | None = None) -> tuple[str | None, str | None, str | None]:
    """Return ``(provider, event_type, delivery_id)``; unknown senders give ``None``s.

    Entries are tried in table order: those named by a header (or the User-Agent) first match
    unless their payload ``shape`` says otherwise; entries known only by their payload shape
    need their byte ``hint`` in the body. Standard Webhooks / Svix deliveries whose payload
    matches a named member of the family (Clerk, Resend, OpenAI...) get that member's id,
    others the family's.
    """
    h = _lower(headers)
    named: set[int] = set()
    for name in h:
        named.update(_BY_HEADER.get(name, ()))
    ua = h.get("user-agent", "")
    named.update(i for i, agent in _AGENTS if ua.startswith(agent))
    data: Any = None
    parsed = False
    q = query or {}
    body = readable(body, h)  # (a shape's byte hint is looked for in the decoded body too)
    for i in _candidates(sorted(named), body):
        p = _ORDER[i]
        if p.shape is not None and not parsed:
            data, parsed = _payload(body, h), True
        if _matches(p, h, data):
            if not parsed:
                data, parsed = _payload(body, h), True
            return (p.id, *_found(p, h, data if data is not None else {}, q))
    return None, None, None


def header_section(record: dict[str, Any]) -> list[tuple[str, str]]:
    """A record's header section: its headers without the trailer fields that followed a
    chunked body (``trailers_at``), which a provider's receivers never read.

    >>> header_section({"headers": [("A", "1"), ("Stripe-Signature", "t=1")], "trailers_at": 1})
    [('A', '1')]
    """
    headers = list(record.get("headers") or ())
    at = record.get("trailers_at")
    return headers[:at] if isinstance(at, int) and 0 <= at < len(headers) else headers


def detect_record(record: dict[str, Any]) -> None:
    """Fill ``provider``, ``event_type`` and ``delivery_id`` of a store record in place (from
    its header section: :func:`header_section`)."""
    if record.get("provider") is not None:
        return
    prov, ev, did = detect(header_section(record), record.get("body") or b"",
                           record.get("query") or {})
    record["provider"], record["event_type"], record["delivery_id"] = (
        prov, _storable(ev), _storable(did))


def _storable(text: str | None) -> str | None:
    r"""``text`` taken from a payload, its lone surrogates (``"type": "a\ud800"``: valid JSON,
    but no character) written as JSON escapes them (:func:`hooklab.jsonread.surrogates_escaped`):
    SQLite takes no lone surrogate, and the store refused the whole capture (503, the webhook
    lost).

    >>> _storable("evt\ud800"), _storable(None)
    ('evt\\ud800', None)
    """
    return None if text is None else surrogates_escaped(text)
