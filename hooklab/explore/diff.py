"""What changed between two deliveries: one row per field that was added, removed or changed.

>>> a = {"id": "evt_1", "data": {"amount": 5, "tags": ["x"]}}
>>> b = {"id": "evt_2", "data": {"amount": 5, "tags": ["x", "y"], "paid": True}}
>>> diff_values(a, b)
[('id', 'changed', 'evt_1', 'evt_2'), ('data.tags[1]', 'added', None, 'y'), ('data.paid', 'added', None, True)]

Fields are dotted paths; array items are compared position by position (``tags[1]``). A value
that changes type (an object becoming a string) is one ``changed`` row with both values.
:func:`diff_frame` does this for two captures: their payloads (JSON, or form fields) and,
with ``headers=True``, their headers (``headers.<lower-case name>``: the header section,
:attr:`hooklab.Capture.header_section`) and the trailer fields that followed a chunked body
(``trailers.<lower-case name>``: :attr:`hooklab.Capture.trailers`). Credentials (header
values, form fields such as ``password``, the values of JSON keys named so, such as
``data.api_key``: :mod:`hooklab.credentials`) are hidden unless
``reveal=True``: the values are compared as sent and hidden in each row, so the rows name the
fields ``reveal=True`` names (``password[0]`` of a repeated field), except inside a value hidden
as one text (JSON a credential field holds, an object a JSON credential key holds), whose row
names that field. Bodies that are neither JSON nor a form give one ``(body)`` row when
they differ: their text as :attr:`hooklab.Capture.text` reads it (in the ``charset`` the
sender declared; the first 4 KiB), or ``<N bytes kind>`` for binary. A lone surrogate
(``"\\ud83d"`` in JSON) is shown as JSON escapes it: :func:`hooklab.explore.displayable`.

Bounds (said in the frame's ``attrs["notes"]`` and as a warning when reached):
:data:`MAX_DIFF_ROWS` rows, :data:`MAX_DIFF_DEPTH` levels (deeper differences are reported
at that level), :data:`MAX_DIFF_STEPS` values compared. In :func:`diff_frame`, a row's value
nested deeper than :data:`MAX_VALUE_DEPTH` levels is its JSON text, cut at
:data:`VALUE_TEXT_CHARS` characters (``…`` at the cut): pandas prints a value by recursing
per level, and a frame holding one 1,000 levels deep raised RecursionError when shown.
"""

from __future__ import annotations

import json
import math
import warnings
from itertools import islice
from typing import TYPE_CHECKING, Any

from ..capture import Capture, text_codec
from ..credentials import (
    WHOLE_FORM,
    WHOLE_JSON,
    hidden_body,
    hidden_value,
    is_sensitive_header,
)
from ..filters import is_text
from ..jsonread import json_depth, json_text, section_coding
from .payload import BODY, Payload, capture_payload, displayable, shown_payload

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DIFF_COLUMNS",
    "MAX_DIFF_DEPTH",
    "MAX_DIFF_ROWS",
    "MAX_DIFF_STEPS",
    "MAX_VALUE_DEPTH",
    "VALUE_TEXT_CHARS",
    "diff_frame",
    "diff_rows",
    "diff_values",
]

DIFF_COLUMNS = ("field", "change", "a", "b")
MAX_DIFF_ROWS = 10_000
MAX_DIFF_DEPTH = 64
MAX_DIFF_STEPS = 1_000_000
#: a diff frame's values nested deeper than this are given as their JSON text
MAX_VALUE_DEPTH = 256
#: characters of such a value's JSON text kept
VALUE_TEXT_CHARS = 1_000


def _same(x: Any, y: Any) -> bool:
    """Equal JSON values: same type and value (``1``, ``1.0`` and ``true`` differ; NaN == NaN)."""
    if type(x) is not type(y):
        return False
    if isinstance(x, float) and math.isnan(x) and math.isnan(y):
        return True
    try:
        if x != y:  # (compared in C: what differs, differs)
            return False
        if type(x) is dict or type(x) is list:  # (but == takes 1 == 1.0 == True inside)
            return _exact(x) == _exact(y)
        return True
    except (RecursionError, TypeError, ValueError):  # walked then
        return False


def _exact(value: Any) -> bytes:
    """A JSON value as text that tells ``1``, ``1.0`` and ``true`` apart (keys sorted: objects
    are unordered); orjson, the standard library for integers past 64 bits."""
    import orjson

    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def _name(path: str, keys: tuple[str | int, ...], change: str) -> str:
    """The field name of ``keys`` (object keys and array positions) below ``path``; a value
    changed as a whole at the top is the ``(body)``."""
    for k in keys:
        if type(k) is int:
            path = f"{path}[{k}]"
        else:
            path = f"{path}.{k}" if path else k  # type: ignore[assignment]
    return (path or BODY) if change == "changed" else path


def diff_values(
    a: Any, b: Any, *, notes: list[str] | None = None, path: str = ""
) -> list[tuple[str, str, Any, Any]]:
    """``(field, change, a, b)`` rows turning JSON value ``a`` into ``b`` (bounded; what was
    cut short is appended to ``notes``)."""
    return [(_name(path, keys, change), change, x, y) for keys, change, x, y in _diff(a, b, notes)]


def _diff(a: Any, b: Any, notes: list[str] | None) -> list[tuple[tuple[str | int, ...], str, Any, Any]]:
    """:func:`diff_values`' rows with each field as its keys (object keys and array
    positions), so that a row can be found again in another rendering of the same values
    (names alone are ambiguous: a form field may be called ``user[token]``)."""
    rows: list[tuple[tuple[str | int, ...], str, Any, Any]] = []
    if _same(a, b):  # equal as a whole (compared in C): nothing to walk
        return rows
    steps = 0
    # an explicit stack (no recursion on hostile nesting) of comparisons still to make and of
    # rows ready to emit, popped in document order
    stack: list[tuple[Any, ...]] = [((), a, b, 0)]
    cut = False
    while stack:
        item = stack.pop()
        if len(item) == 3:  # a ready row: (keys, change, (a, b))
            rows.append((item[0], item[1], *item[2]))
        else:
            p, x, y, depth = item
            steps += 1
            budget = max(0, MAX_DIFF_STEPS - steps)
            room = MAX_DIFF_ROWS - len(rows)
            if type(x) is dict and type(y) is dict and depth < MAX_DIFF_DEPTH:
                todo: list[tuple[Any, ...]] = []
                for i, (k, v) in enumerate(x.items()):
                    if i >= budget or len(todo) > room:
                        cut = cut or i >= budget
                        break
                    if k not in y:
                        todo.append(((*p, k), "removed", (v, None)))
                    elif not _same(v, y[k]):
                        todo.append(((*p, k), v, y[k], depth + 1))
                todo += [((*p, k), "added", (None, v))
                         for k, v in islice(((k, v) for k, v in y.items() if k not in x), room)]
                stack.extend(reversed(todo))
                steps += min(len(x), budget)
            elif type(x) is list and type(y) is list and depth < MAX_DIFF_DEPTH:
                n = min(len(x), len(y))
                upto = min(n, budget)
                cut = cut or upto < n
                todo = [((*p, i), x[i], y[i], depth + 1)
                        for i in range(upto) if not _same(x[i], y[i])][: room + 1]
                if upto == n:
                    todo += [((*p, i), "removed", (x[i], None)) for i in range(n, min(len(x), n + room))]
                    todo += [((*p, i), "added", (None, y[i])) for i in range(n, min(len(y), n + room))]
                stack.extend(reversed(todo))
                steps += upto
            elif not _same(x, y):
                if depth >= MAX_DIFF_DEPTH and notes is not None and isinstance(x, (dict, list)):
                    msg = f"nested deeper than {MAX_DIFF_DEPTH} levels: compared as a whole"
                    if msg not in notes:
                        notes.append(msg)
                rows.append((p, "changed", x, y))
        if len(rows) >= MAX_DIFF_ROWS and stack:
            if notes is not None:
                notes.append(f"stopped at {MAX_DIFF_ROWS:,} rows")
            break
    if cut and notes is not None:
        notes.append(f"compared the first {MAX_DIFF_STEPS:,} values; the rest was not compared")
    return rows[:MAX_DIFF_ROWS]


_MISSING = object()


def _at(value: Any, keys: tuple[str | int, ...]) -> Any:
    """The part of ``value`` at ``keys`` (:data:`_MISSING` when there is none)."""
    for k in keys:
        if type(value) is dict and type(k) is str and k in value:
            value = value[k]
        elif type(value) is list and type(k) is int and k < len(value):
            value = value[k]
        else:
            return _MISSING
    return value


def _hidden_rows(
    rows: list[tuple[tuple[str | int, ...], str, Any, Any]], va: Any, vb: Any
) -> list[tuple[str, str, Any, Any]]:
    """``rows`` (found comparing the payloads as sent) with their values taken from ``va`` and
    ``vb``, the payloads as shown (credentials hidden): the same fields as ``reveal=True``
    gives, each value as the Tree tab shows it. A row whose field the shown payload does not
    have (a form hidden whole holds a field's JSON as one hidden text) is shown as the
    nearest field both have, once: its parts, like its value, stay hidden."""
    out: list[tuple[str, str, Any, Any]] = []
    seen: set[tuple[str | int, ...]] = set()
    for keys, change, _x, _y in rows:
        sa = None if change == "added" else _at(va, keys)
        sb = None if change == "removed" else _at(vb, keys)
        if sa is _MISSING or sb is _MISSING:
            while keys and (_at(va, keys) is _MISSING or _at(vb, keys) is _MISSING):
                keys = keys[:-1]
            change, sa, sb = "changed", _at(va, keys), _at(vb, keys)
            if keys in seen:
                continue
        seen.add(keys)
        out.append((_name("", keys, change), change, sa, sb))
    return out




#: bytes of a body that is neither JSON nor a form shown in a ``(body)`` row
_TEXT_BYTES = 4096


def _raw_text(cap: Capture) -> bytes:
    """The bytes :attr:`Capture.text` decodes: the body with ``Content-Encoding`` undone, or
    as received when it cannot be."""
    try:
        return cap.decoded_body()
    except ValueError:
        return cap.body


def _is_text(cap: Capture, raw: bytes) -> bool:
    """Whether ``raw`` (``cap``'s body, or its start) is text as ``search=`` decides it
    (UTF-8, or declared text: ``text/*``, a ``charset=``...), not binary."""
    head = raw[:_TEXT_BYTES]
    return is_text(head, cap.header("content-type", trailers=False), cut=len(head) < len(raw))


def _decoded(cap: Capture, raw: bytes) -> str:
    """The start of ``raw`` decoded as :attr:`Capture.text` decodes ``cap``'s body (its
    ``charset``, undecodable bytes as U+FFFD), up to :data:`_TEXT_BYTES` bytes (no
    character cut in two), ``…`` and the size after it when there is more."""
    import codecs

    head = raw[:_TEXT_BYTES]
    more = len(head) < len(raw)
    try:
        decoder = codecs.getincrementaldecoder(text_codec(cap.charset))("replace")
        text = decoder.decode(head, final=not more)
    except (LookupError, ValueError):  # (as Capture.text: UTF-8 when the charset fails)
        text = codecs.getincrementaldecoder("utf-8")("replace").decode(head, final=not more)
    return text + f"… ({cap.size:,} bytes)" if more else text


def _body_text(cap: Capture, p: Payload, reveal: bool) -> str:
    """A body that is neither JSON nor a form as a ``(body)`` row shows it: its text as
    :attr:`Capture.text` reads it (``text/plain; charset=windows-1252`` in that charset),
    credentials hidden unless ``reveal``; ``<N bytes kind>`` for binary."""
    if p.root == "empty":
        return ""
    raw = _raw_text(cap)
    binary = not _is_text(cap, raw)
    hidden = None if reveal else hidden_body(cap)
    if hidden is not None:  # (a multipart form, one that cannot be read field by field, JSON
        # that did not parse: JSON Lines, cut short)
        if hidden.startswith((WHOLE_FORM, WHOLE_JSON)):
            return hidden.decode("utf-8", "replace")
        raw = hidden  # (the body as received, never compressed, its credentials spliced out)
    if binary:
        return f"<{cap.size:,} bytes {p.root}>"
    return _decoded(cap, raw)


def _same_text(a: Capture, b: Capture) -> bool:
    """Whether two bodies that are neither JSON nor forms are the same: the same text as
    :attr:`Capture.text` reads each (``"café"`` in UTF-8 and in Latin-1 alike), or, where
    one is binary, the same bytes. A text read with a replacement character (bytes its
    charset does not hold: ``caf\xe9`` and ``caf\xe8`` sent as UTF-8 both read ``caf�``)
    is the same only as the same bytes: two such bodies read alike said "no change"."""
    ra, rb = _raw_text(a), _raw_text(b)
    if _is_text(a, ra) and _is_text(b, rb):
        ta = a.text
        return ta == b.text and ("\ufffd" not in ta or ra == rb)
    return ra == rb


def _shown(cap: Capture, p: Payload, reveal: bool) -> Any:
    """The payload as a diff shows it: :func:`shown_payload`'s value."""
    return shown_payload(cap, p, reveal).value


def _header_values(fields: list[tuple[str, str]], reveal: bool) -> dict[str, Any]:
    """Header ``fields`` as a diff compares them: by lower-case name, a repeated name's
    values as a list."""
    out: dict[str, list[str]] = {}
    for k, v in fields:
        out.setdefault(k.lower(), []).append(v)
    shown: dict[str, Any] = {}
    for k, vs in out.items():
        if not reveal and is_sensitive_header(k):
            vs = [hidden_value(v) for v in vs]
        shown[k] = vs[0] if len(vs) == 1 else vs
    return shown


def _hidden_header_row(row: tuple[str, str, Any, Any]) -> tuple[str, str, Any, Any]:
    """A ``headers.<name>`` (or ``trailers.<name>``) diff row with a credential header's
    values hidden."""
    field, change, va, vb = row
    name = field.partition(".")[2].split("[", 1)[0]
    if not is_sensitive_header(name):
        return row

    def hide(v: Any) -> Any:
        if isinstance(v, str):
            return hidden_value(v)
        if isinstance(v, list):
            return [hide(x) for x in v]
        return v

    return field, change, hide(va), hide(vb)


def diff_rows(
    a: Capture, b: Capture, *, headers: bool = False, reveal: bool = False
) -> tuple[list[tuple[str, str, Any, Any]], list[str]]:
    """The rows of :func:`diff_frame` and the notes on bounds reached."""
    notes: list[str] = []
    rows: list[tuple[str, str, Any, Any]] = []
    if headers:  # compared as sent, hidden as shown: two hidden values of one length differ
        # (the header section as headers; the trailer fields after a chunked body apart, as
        # Capture.header_section and Capture.trailers split them: a trailer describes
        # nothing of the body, and merged it made a Content-Type of two values)
        for path, fa, fb in (("headers", a.header_section, b.header_section),
                             ("trailers", a.trailers, b.trailers)):
            ha, hb = _header_values(fa, True), _header_values(fb, True)
            rows += [row if reveal else _hidden_header_row(row)
                     for row in diff_values(ha, hb, notes=notes, path=path)]
    same_bytes = a.body == b.body and a.content_type == b.content_type and a.charset == b.charset and (
        section_coding(a.header_section) == section_coding(b.header_section))
    if same_bytes:  # a retry: identical bodies read the same way
        return rows, notes
    pa, pb = capture_payload(a), capture_payload(b)
    if pa.explorable and pb.explorable:
        va, vb = _shown(a, pa, reveal), _shown(b, pb, reveal)
        if va is pa.value and vb is pb.value:  # nothing hidden
            rows += diff_values(va, vb, notes=notes)
        else:  # compared as sent, shown hidden (as headers are): the fields reveal=True
            # names (a repeated field's items apart), and two hidden values of one length
            # that differ are still a change
            rows += _hidden_rows(_diff(pa.value, pb.value, notes), va, vb)
    elif pa.root != pb.root or (a.body != b.body if pa.explorable or pb.explorable
                                else not _same_text(a, b)):
        va = _shown(a, pa, reveal) if pa.explorable else _body_text(a, pa, reveal)
        vb = _shown(b, pb, reveal) if pb.explorable else _body_text(b, pb, reveal)
        rows.append((BODY, "changed", va, vb))
    return rows, notes


def _printable(
    rows: list[tuple[str, str, Any, Any]], notes: list[str]
) -> list[tuple[str, str, Any, Any]]:
    """``rows`` with each value nested deeper than :data:`MAX_VALUE_DEPTH` levels replaced by
    its JSON text cut at :data:`VALUE_TEXT_CHARS` characters (said once in ``notes``), and
    every lone surrogate in a field's name or a value (keys too) written as JSON escapes it,
    ``\\ud83d`` (:func:`hooklab.explore.displayable`): a notebook's output is UTF-8, and one
    such string made the whole frame fail to show."""
    deep = False

    def shown(v: Any) -> Any:
        nonlocal deep
        if not isinstance(v, (dict, list)) or json_depth(v, stop=MAX_VALUE_DEPTH) <= MAX_VALUE_DEPTH:
            return displayable(v)
        deep = True
        return displayable(json_text(v, VALUE_TEXT_CHARS))

    out = [(displayable(f), c, shown(x), shown(y)) for f, c, x, y in rows]
    if deep:
        notes.append(f"values nested deeper than {MAX_VALUE_DEPTH} levels are given as their "
                     f"JSON text, cut at {VALUE_TEXT_CHARS:,} characters")
    return out


def diff_frame(
    a: Capture, b: Capture, *, headers: bool = False, reveal: bool = False
) -> pd.DataFrame:
    """``field, change, a, b``: how capture ``b`` differs from capture ``a``.

    >>> diff_frame(cap, cap)
    Empty DataFrame
    Columns: [field, change, a, b]
    Index: []
    """
    import pandas as pd

    rows, notes = diff_rows(a, b, headers=headers, reveal=reveal)
    rows = _printable(rows, notes)
    cols = list(zip(*rows, strict=True)) if rows else [(), (), (), ()]
    df = pd.DataFrame({
        "field": pd.Series(cols[0], dtype=object),
        "change": pd.Series(cols[1], dtype=object),
        "a": pd.Series(cols[2], dtype=object),
        "b": pd.Series(cols[3], dtype=object),
    })
    df.attrs["a"] = a.id
    df.attrs["b"] = b.id
    df.attrs["notes"] = notes
    for note in notes:
        warnings.warn(f"diff of #{a.id} and #{b.id}: {note}", RuntimeWarning, stacklevel=3)
    return df
