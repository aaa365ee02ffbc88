"""A capture's body as something to explore: a JSON value, form fields, or just its kind.

>>> read_payload(b'{"data": {"amount": 5}}', "application/json").value
{'data': {'amount': 5}}
>>> p = read_payload(b"token=x&payload=%7B%22type%22%3A%22block_actions%22%7D",
...                  "application/x-www-form-urlencoded")
>>> p.root, p.value, sorted(p.form_json)
('form', {'token': 'x', 'payload': {'type': 'block_actions'}}, ['payload'])
>>> read_payload(b"<a>1</a>", "application/xml").root
'application/xml'
>>> field_name(("data", "lines", None, "amount")), column_name(("data", "object", "amount"))
('data.lines[].amount', 'payload.data.object.amount')

Paths are tuples of object keys, with ``None`` standing for "any item of an array"; their
dotted form (:func:`field_name`) is what :func:`hooklab.explore.schema_frame` shows and, up to
the first array, the ``flatten=True`` column name without its ``payload.`` prefix.

Bounds (hostile bodies never crash or hang exploration): a compressed body that decodes past
:data:`MAX_PARSE` bytes (:data:`hooklab.jsonread.MAX_DECODED`, the limit of
:meth:`hooklab.Capture.json`: 64 MiB) is not parsed, as ``capture.json()`` gives ``None`` for
it; a body stored as it came is read whole, as ``capture.json()`` reads it (the capture server's
``max_body`` bounds it); JSON nested deeper than the parser's limit
(1,024 levels with orjson, about 1,000 with the standard library) is not JSON here; a form
keeps its first :data:`MAX_FORM_FIELDS` fields.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qsl

from ..capture import Capture, charset_param, decode_body, form_codec, text_codec
from ..credentials import (
    WHOLE_FORM,
    hidden_form,
    hidden_json,
    hide_fields,
    hide_json,
    hide_json_text,
)
from ..jsonread import (
    MAX_DECODED,
    flat_name,
    loads_fast,
    loads_json,
    section_coding,
    surrogates_escaped,
)

__all__ = [
    "BODY",
    "MAX_FORM_FIELDS",
    "MAX_PARSE",
    "TYPE_ORDER",
    "Payload",
    "capture_payload",
    "column_name",
    "displayable",
    "field_name",
    "json_type",
    "read_payload",
    "shown_payload",
]

#: the field name of a body as a whole (the first row of every group in ``schema``)
BODY = "(body)"
#: compressed bodies that decode past this many bytes are described by their kind, never
#: parsed: the one limit of every reader of a body (``capture.json()``, ``lab.sql``'s
#: ``payload``, the frame's ``json`` column, ``schema()``)
MAX_PARSE = MAX_DECODED
#: form fields read at most per body
MAX_FORM_FIELDS = 10_000

_NAMES = {
    dict: "object",
    list: "array",
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    type(None): "null",
}
#: the order JSON types are listed in (``types`` column, JSON Schema ``type`` lists)
TYPE_ORDER = ("object", "array", "string", "integer", "number", "boolean", "null")


def json_type(value: Any) -> str:
    """The JSON type name of a parsed value: ``"object"``, ``"array"``, ``"integer"``..."""
    return _NAMES.get(type(value), "string")


@dataclass(frozen=True, slots=True)
class Payload:
    """What exploration sees of one body.

    ``root`` names the body's kind: a JSON type (``"object"``, ``"array"``...) for JSON,
    ``"form"`` for form fields, else the content type (``"text/xml"``), or ``"text"`` /
    ``"binary"`` / ``"empty"`` when the sender named none. ``value`` is the JSON value or the
    form fields (``explorable`` says whether there is one); ``note`` says why a body that looked
    like JSON was not parsed; ``form_json`` names the form fields that held JSON (Slack's
    ``payload=``), which ``value`` holds parsed; ``size`` is the bytes read (a compressed
    body's decoded length) when there is a value.
    """

    root: str
    value: Any = None
    explorable: bool = False
    note: str | None = None
    form_json: frozenset[str] = field(default_factory=frozenset)
    size: int = 0


def _parse(raw: bytes | str, exact: bool) -> tuple[bool, Any, str | None]:
    """(parsed?, value, why not)."""
    try:
        return True, (loads_json(raw) if exact else loads_fast(raw)), None
    except RecursionError:
        return False, None, "nested too deeply to parse"
    except (ValueError, UnicodeError) as exc:
        return False, None, str(exc).split(":", 1)[0][:120]


def _form(text: str, exact: bool, codec: str = "utf-8") -> tuple[dict[str, Any], frozenset[str]]:
    pairs = parse_qsl("&".join(text.split("&", MAX_FORM_FIELDS)[:MAX_FORM_FIELDS]),
                      keep_blank_values=True, encoding=codec, errors="replace")
    fields: dict[str, Any] = {}
    repeated: set[str] = set()
    for k, v in pairs:
        if k not in fields:
            fields[k] = v
        elif k in repeated:
            fields[k].append(v)
        else:  # a repeated field is an array of its values
            fields[k] = [fields[k], v]
            repeated.add(k)
    json_fields = []
    for k, v in fields.items():
        if isinstance(v, str) and v[:1] in ("{", "["):
            ok, parsed, _ = _parse(v, exact)
            if ok:
                fields[k] = parsed
                json_fields.append(k)
    return fields, frozenset(json_fields)


def _is_text(raw: bytes) -> bool:
    try:
        s = raw[:4096].decode("utf-8")
    except UnicodeDecodeError as exc:  # a character cut at the 4 KiB mark is still text
        if exc.start < len(raw[:4096]) - 3:
            return False
        s = ""
    return "\x00" not in s


def read_payload(
    body: bytes,
    content_type: str | None = None,
    content_encoding: str | None = None,
    *,
    exact: bool = False,
) -> Payload:
    """How exploration reads ``body`` (sent with ``content_type`` and ``content_encoding``).
    A form is read as :meth:`hooklab.Capture.form` reads it: in the ``charset`` that
    ``content_type`` (the header's value, its parameters too) declares.

    >>> read_payload(b"first_name=Jos%E9", "application/x-www-form-urlencoded; charset=windows-1252").value
    {'first_name': 'José'}

    ``exact=True`` parses JSON with the standard library alone (slower):
    :func:`hooklab.explore.diff_frame` and the live view use it; ``schema`` reads the same
    values by orjson where it can (:func:`hooklab.jsonread.loads_fast`: integers of any size
    stay exact either way).
    """
    ct = (content_type or "").split(";", 1)[0].strip().lower() or None
    if not body:
        return Payload("empty")
    raw = body
    if content_encoding and content_encoding.strip().lower() not in ("", "identity"):
        try:
            raw = decode_body(body, content_encoding, limit=MAX_PARSE)
        except ValueError as exc:
            return Payload(ct or "binary", note=str(exc)[:120])
    if ct == "application/x-www-form-urlencoded":
        charset = charset_param(content_type) or "utf-8"
        text = raw.decode(text_codec(charset), "replace")
        fields, json_fields = _form(text, exact, form_codec(charset))
        return Payload("form", fields, True, None, json_fields, len(raw))
    looks_json = bool(ct and ("json" in ct)) or raw.lstrip()[:1] in (b"{", b"[")
    if looks_json:
        ok, value, why = _parse(raw, exact)
        if ok:
            return Payload(json_type(value), value, True, size=len(raw))
        if ct and "json" in ct:
            return Payload(ct, note=f"not JSON: {why}")
    if ct:
        return Payload(ct)
    return Payload("text" if _is_text(raw) else "binary")


def capture_payload(cap: Capture) -> Payload:
    """:func:`read_payload` of a capture's body, exactly (``exact=True``), as its header
    section describes it: the ``Content-Type`` with its ``charset``, the ``Content-Encoding``
    (as :meth:`hooklab.Capture.form` and :meth:`hooklab.Capture.json` read it). The Tree tab
    and ``diff`` read it so.

    >>> from datetime import datetime
    >>> c = Capture(id=1, received_at=datetime.now(), method="POST", path="/ipn", query={},
    ...             headers=[("Content-Type", "application/x-www-form-urlencoded; charset=windows-1252")],
    ...             body=b"first_name=Jos%E9")
    >>> capture_payload(c).value, c.form()
    ({'first_name': 'José'}, {'first_name': ['José']})
    """
    return read_payload(cap.body, cap.header("content-type", trailers=False),
                        section_coding(cap.header_section), exact=True)


def shown_payload(cap: Capture, payload: Payload, reveal: bool = False) -> Payload:
    """``payload`` (``cap``'s body as :func:`read_payload` read it) as a person is shown it:
    unless ``reveal``, a form's credential fields hidden (read from the body
    :func:`hooklab.credentials.hidden_form` gives, so a ``password`` after a ``;`` too), every
    field of a form whose names cannot be read (compressed, UTF-16); a JSON body's values of
    keys named like credentials (:func:`hooklab.credentials.hide_json`: ``password``,
    ``data.api_key``, in lists too); the same keys of JSON in a form: a JSON body sent with a
    form's content type (``curl -d``), a field read as JSON (Slack's ``payload=``). The Tree
    tab and ``diff`` show this.

    >>> from datetime import datetime
    >>> c = Capture(id=1, received_at=datetime.now(), method="POST", path="/f", query={},
    ...             headers=[("Content-Type", "application/x-www-form-urlencoded")],
    ...             body=b'{"user": "bob", "password": "a&b=c"}')
    >>> shown_payload(c, read_payload(c.body, c.content_type)).value
    {'{"user": "bob", "password": "<hidden: 5 chars>"}': ''}
    """
    if reveal:
        return payload
    if payload.root != "form":
        # (hidden_json reads the same bytes key by key, many times faster than a walk through
        # megabytes of parsed values, and remembers it for the Raw body tab: none, no walk)
        if not isinstance(payload.value, (dict, list)) or hidden_json(cap) is None:
            return payload
        value = hide_json(payload.value)
        return payload if value is payload.value else replace(payload, value=value)
    whole = hidden_form(cap)
    if whole is not None and whole.startswith(WHOLE_FORM):
        return replace(payload, value=hide_fields(payload.value, bool))
    if whole is not None:
        payload = read_payload(whole, cap.header("content-type", trailers=False),
                               section_coding(cap.header_section), exact=True)
    # JSON sent with a form's content type (``curl -d '{"password": ...}'``: curl's default):
    # read as a form, the JSON text is a field's name, credentials and all (a "&" or "=" in a
    # value splits it). Read from the body as the Raw body tab shows it instead, its
    # credential keys' values hidden (or all of it, compressed or in UTF-16)
    as_json = hidden_json(cap if whole is None else replace(cap, body=whole))
    if as_json is not None:  # (hidden_json's bytes are decompressed already)
        payload = read_payload(as_json, cap.content_type, None, exact=True)
    # (a form hidden_form hid has its JSON values hidden already: "<hidden: 12 chars>" hidden
    # again would say 18)
    return _hide_form_json(payload, names=as_json is None, values=whole is None)


def _hide_form_json(payload: Payload, names: bool = True, values: bool = True) -> Payload:
    """``payload`` (a form) with the JSON in its field names and values hidden as a JSON
    body's is: a name or value that is JSON text (a name's percent-encoded keys decoded,
    which the body read as JSON leaves as written), a value read as JSON (Slack's
    ``payload=``). ``names=False``: names read from a body hidden already (hidden again,
    ``"<hidden: 5 chars>"`` would say 17); ``values=False``: values read from such a body."""
    fields = payload.value
    if not isinstance(fields, dict):
        return payload

    def text(s: Any) -> Any:
        if isinstance(s, list):  # (a repeated field's values)
            shown = [text(x) for x in s]
            return s if all(a is b for a, b in zip(shown, s, strict=True)) else shown
        if isinstance(s, str) and s.lstrip(" \t\n\r")[:1] in ("{", "["):
            return hide_json_text(s) or s
        return s

    out: dict[str, Any] = {}
    form_json: set[str] = set()
    changed = False
    for k, v in fields.items():  # (bounded: at most MAX_FORM_FIELDS fields)
        name = text(k) if names else k
        shown = v if not values else hide_json(v) if k in payload.form_json else text(v)
        changed = changed or name is not k or shown is not v
        if k in payload.form_json:
            form_json.add(name)
        if name in out:  # (two names hidden alike: both kept, as a repeated field's values)
            prev = out[name]
            out[name] = [*(prev if isinstance(prev, list) else [prev]), shown]
        else:
            out[name] = shown
    if not changed:
        return payload
    return replace(payload, value=out, form_json=frozenset(form_json))


def displayable(value: Any) -> Any:
    r"""``value`` (a string, or a parsed JSON value) as something a notebook can show and
    write as UTF-8: each lone surrogate (``"\ud83d"``, what JavaScript's ``JSON.stringify``
    writes for a string cut inside an emoji: valid JSON, but no character) in its strings
    and object keys written as JSON escapes it, the six characters ``\ud83d``; ``value``
    itself (the same object) when it has none. ``schema()``'s examples and field names,
    ``diff()``'s rows and ``dataframe(flatten=True)``'s columns show lone surrogates so
    (``Capture.json()`` and the ``json`` column keep the value as parsed).

    >>> displayable({"title": "Party time \ud83d", "ok": "caf\u00e9 \U0001f600", "n": [1, "\udc80"]})
    {'title': 'Party time \\ud83d', 'ok': 'café 😀', 'n': [1, '\\udc80']}
    >>> v = {"a": ["b"]}; displayable(v) is v
    True

    Two keys of one object that would be written alike (``"\ud800"`` beside a key that is
    the text ``\ud800`` itself) stay two: the one with the surrogate is written as its JSON
    string, quotes and all (``"\\ud800"``). Counts of distinct values (``schema()``'s
    ``distinct``) are taken from the values as sent.
    """
    if isinstance(value, str):
        return surrogates_escaped(value)
    if not isinstance(value, (dict, list)):
        return value
    import orjson

    try:  # (orjson writes no lone surrogate: a value it writes has none, found in C)
        orjson.dumps(value)
        return value
    except TypeError:  # (a lone surrogate, an integer past 64 bits, nesting past 254 levels)
        pass
    return _displayable_walk(value)


def _displayable_walk(value: dict[str, Any] | list[Any]) -> Any:
    """:func:`displayable` of a container, without recursion (JSON nests 1,024 levels): each
    container copied, the strings and keys in it written so; ``value`` itself when none
    had to be."""
    root: list[Any] = [None]
    stack: list[tuple[Any, Any, Any]] = [(value, root, 0)]  # (source, its container's copy, key)
    changed = False
    while stack:  # (bounded: each container is pushed once)
        src, dst, at = stack.pop()
        new: Any
        if isinstance(src, dict):
            shown = [surrogates_escaped(k) if isinstance(k, str) else k for k in src]
            taken = {s for k, s in zip(src, shown, strict=True) if s is k}  # (kept as they are)
            new = {}
            for k, s, v in zip(src, shown, src.values(), strict=True):
                if s is not k:
                    changed = True
                    if s in taken:  # (another key is written so already)
                        s = json.dumps(k)
                    taken.add(s)
                new[s] = v
            items = list(new.items())
        else:
            new = list(src)
            items = list(enumerate(new))
        dst[at] = new
        for k, v in items:
            if isinstance(v, str):
                s = surrogates_escaped(v)
                if s is not v:
                    new[k] = s
                    changed = True
            elif isinstance(v, (dict, list)):
                stack.append((v, new, k))
    return root[0] if changed else value


def field_name(path: tuple[str | None, ...]) -> str:
    """Dotted name of a path: object keys joined by ``.``, ``[]`` for the items of an array;
    the body itself is ``"(body)"``."""
    if not path:
        return BODY
    out: list[str] = []
    for seg in path:
        if seg is None:
            out.append("[]")
        elif out:
            out.append("." + seg)
        else:
            out.append(seg)
    return "".join(out)


def column_name(path: tuple[str | None, ...], prefix: str = "payload.") -> str | None:
    """The ``dataframe(flatten=True)`` column that holds ``path`` (the whole list when the
    path goes into an array); ``None`` for the body itself or a body that is an array."""
    keys: list[str] = []
    for seg in path:
        if seg is None:
            break
        keys.append(seg)
    return prefix + flat_name(keys) if keys else None  # (json_normalize's: ("", "e") is "e")
