"""Which fields do the captures carry, how often, of which types, since when.

>>> b = SchemaBuilder()
>>> b.add([(1, 1_700_000_000_000_000, "stripe", "invoice.paid", "application/json", None,
...         b'{"id": "evt_1", "data": {"amount": 5, "lines": [{"n": 1}, {"n": null}]}}')])
>>> print(b.frame()[["field", "types", "present", "count", "distinct"]].to_string(index=False))
         field        types  present  count  distinct
        (body)       object      1.0      1      <NA>
            id       string      1.0      1         1
          data       object      1.0      1      <NA>
   data.amount      integer      1.0      1         1
    data.lines        array      1.0      1      <NA>
  data.lines[]       object      1.0      2      <NA>
data.lines[].n integer|null      1.0      2         2

One row per (provider, event_type, field). ``field`` is a dotted path, ``[]`` standing for
the items of an array; ``(body)`` is the body itself, whose ``types`` name its kind: a JSON
type, ``form``, or the content type of a body that is neither (``text/xml``), so no capture is
left out. ``present`` is the fraction of the group's captures that have the field, ``count``
how many values were seen (more than the captures for fields inside arrays), ``distinct`` how
many different scalar values (exact; ``<NA>`` for objects and arrays), ``example`` the first
scalar value seen other than ``null`` as JSON text (``null`` when it never held anything but
``null``; none when its other values were all objects or arrays, which have rows of their own
for their parts; or why a part was not explored; a credential's hidden by
:func:`schema_frame`), ``first_seen`` / ``last_seen`` when the first and last capture having
it arrived. The example follows that rule whatever order the values came in and however the
captures were read (row by row, or from the summaries kept per segment).

Bounds, so that hostile bodies never crash or hang it (each is said in ``example`` where it
applies): :data:`MAX_DEPTH` levels of nesting, the first :data:`MAX_ITEMS` items of an array,
:data:`MAX_NODES` values of a body larger than :data:`LARGE_BODY` bytes, :data:`MAX_FIELDS`
fields per (provider, event type) (past it, which fields are listed depends on the order the
captures were read in; the others are counted once each), plus the parsing bounds of
:mod:`hooklab.explore.payload`.

How it stays fast: captures are read in chunks, and each field is handled as a column of
values across all captures of a chunk (``map``/``itemgetter``/``Counter`` over lists, numpy for
distinct counts, strings by a stable 64-bit hash), not one capture at a time. A builder's state
packs into bytes (:meth:`SchemaBuilder.pack`) that another builder, in any process, merges as
if it had read those captures itself: ``schema()`` keeps one per column segment in the store
(``CaptureStore.summaries``) and a later call merges them instead of parsing every body. A
first call on a big store nobody has summarized hands segments to helper processes
(:mod:`hooklab.explore.parallel`) and merges what they make in segment order.
"""

from __future__ import annotations

import gc
import json
import threading
import weakref
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from functools import partial
from itertools import chain, compress, repeat
from operator import eq, is_, itemgetter
from typing import TYPE_CHECKING, Any

from ..credentials import hidden_value, is_credential_key
from ..filters import NO_PROVIDER, describe, validate
from ..jsonread import declared_codec, loads_fast, wide_int
from ..store import section_encoding, section_encodings, where_clause
from . import parallel
from .payload import _NAMES, TYPE_ORDER, displayable, field_name, read_payload

if TYPE_CHECKING:
    import pandas as pd

    from ..store import CaptureStore

__all__ = [
    "CACHED_FILTERS",
    "LARGE_BODY",
    "MAX_DEPTH",
    "MAX_FIELDS",
    "MAX_ITEMS",
    "MAX_NODES",
    "SCHEMA_COLUMNS",
    "SchemaBuilder",
    "hide_examples",
    "infer_json_schema",
    "is_credential_field",
    "json_schema",
    "keep_summaries_up",
    "schema_frame",
    "summarize_rows",
    "summarize_segment",
]

SCHEMA_COLUMNS = (
    "provider",
    "event_type",
    "field",
    "types",
    "present",
    "count",
    "distinct",
    "example",
    "first_seen",
    "last_seen",
)
#: nesting levels explored below the body (deeper parts are summarised by their container)
MAX_DEPTH = 64
#: items explored per array
MAX_ITEMS = 10_000
#: bodies larger than this many bytes are explored up to MAX_NODES values (breadth first)
LARGE_BODY = 256 * 1024
MAX_NODES = 100_000
#: distinct fields kept per (provider, event_type); further ones are counted, not listed
MAX_FIELDS = 5_000
#: the note of an object or array of which some values were not explored (a body over
#: LARGE_BODY cut at MAX_NODES values): what it holds is left unconstrained by json_schema()
_CUT_NOTE = f"cut short: bodies over {LARGE_BODY // 1024} KiB explored up to {MAX_NODES:,} values"
#: the note of an array field of which some items were not explored (past MAX_ITEMS)
_ITEMS_NOTE = f"first {MAX_ITEMS:,} items of each array explored"
#: the note of a field whose objects or arrays were not explored (past MAX_DEPTH)
_DEEP_NOTE = f"nested deeper than {MAX_DEPTH} levels: not explored"
#: characters of an example value shown
EXAMPLE_CHARS = 80

_NONE = object()  # no example yet
_NULL = type(None)
_COMPACT = 1 << 22  # merge a field's distinct-value arrays once this many values are kept
_SET_MAX = 50_000  # distinct strings kept as a set at most (then as hashes)


def _unique(arr: Any, runs: bool = False) -> Any:
    """Sorted distinct values of a 1-d numpy array (sort based: numpy 2.4's hash-based
    ``np.unique`` is many times slower on a million values); ``runs``: ``arr`` is sorted
    arrays one after another (a merge sort takes the runs as they are)."""
    import numpy as np

    if len(arr) < 2:
        return arr
    arr = np.sort(arr, kind="stable" if runs else None)
    keep = np.empty(len(arr), dtype=bool)
    keep[0] = True
    np.not_equal(arr[1:], arr[:-1], out=keep[1:])
    return arr[keep]


def _str_hashes(values: Iterable[str]) -> Any:
    """Stable 64-bit hashes of strings, for exact distinct counts: SipHash-2-4 of their UTF-8
    (``pandas.util.hash_array``, vectorised), the same in every process (``hash()`` is not),
    so summaries kept in a file can be merged anywhere. A lone surrogate's string is hashed as
    its ``surrogatepass`` bytes, which are never a valid string's UTF-8."""
    import numpy as np
    from pandas.util import hash_array

    values = values if isinstance(values, list) else list(values)
    try:  # (checked first: pandas leaks its buffers when a string fails to encode)
        "".join(values).encode("utf-8")
        arr = np.array(values, dtype=object)
    except UnicodeEncodeError:
        arr = np.array([v.encode("utf-8", "surrogatepass") for v in values], dtype=object)
    return hash_array(arr, categorize=False).view(np.int64)


_HASH_CHECK: list[int] = []


def _hash_check() -> int:
    """What :func:`_str_hashes` gives for a fixed text (a summary made with another hash
    function is not merged)."""
    if not _HASH_CHECK:
        _HASH_CHECK.append(int(_str_hashes(["hooklab summary \u00e9"])[0]))
    return _HASH_CHECK[0]


_INT64 = (-(1 << 63), 1 << 63)
_BIGINT = "bigint"  # key of the set of integers outside int64


class _Field:
    """Statistics of one path within one group."""

    __slots__ = ("arrays", "children", "count", "example", "first", "form_json", "last", "notes",
                 "path", "present", "sets", "types")

    def __init__(self, path: tuple[str | None, ...]) -> None:
        self.path = path
        self.present = 0
        self.count = 0
        self.types: dict[str, int] = {}
        self.first: int | None = None
        self.last: int | None = None
        self.example: Any = _NONE
        # distinct values: sorted numpy arrays (strings as their stable hashes, numbers as
        # values) and, for few distinct strings, booleans, nulls and huge integers, Python sets
        self.arrays: dict[type, list[Any]] = {}
        self.sets: dict[Any, set[Any]] = {}
        self.notes: dict[str, None] = {}  # ordered set
        self.children: list[tuple[str | None, ...]] = []
        self.form_json = False

    def seen(self, lo: int, hi: int) -> None:
        if self.first is None or lo < self.first:
            self.first = lo
        if self.last is None or hi > self.last:
            self.last = hi

    def _keep(self, t: type, arr: Any, distinct: bool = False) -> None:
        """Keep ``arr``'s values (``distinct``: already sorted and distinct)."""
        import numpy as np

        kept = self.arrays.setdefault(t, [])
        kept.append(arr if distinct else _unique(arr))
        if len(kept) % 16 == 0 and sum(map(len, kept)) > _COMPACT:
            self.arrays[t] = [_unique(np.concatenate(kept), runs=True)]

    def distinct_add(self, t: type, values: list[Any]) -> None:
        import numpy as np

        if t is str:
            s = self.sets.get(str)
            if s is not None or len(set(values[:256])) <= 64:  # an enum-like field: a set
                if s is None:
                    s = self.sets[str] = set()
                s.update(values)
                if len(s) > _SET_MAX:
                    self._keep(str, _str_hashes(s))
                    del self.sets[str]
            else:
                self._keep(str, _str_hashes(values))
        elif t is int:
            try:
                self._keep(int, np.fromiter(values, np.int64, len(values)))
            except OverflowError:  # integers past 64 bits (exact parsers keep them)
                lo, hi = _INT64
                self._keep(int, np.array([v for v in values if lo <= v < hi], dtype=np.int64))
                self.sets.setdefault(_BIGINT, set()).update(v for v in values if not lo <= v < hi)
        elif t is float:
            self._keep(float, np.fromiter(values, np.float64, len(values)))
        else:  # null, boolean
            self.sets.setdefault(t, set()).update(values)

    def distinct(self) -> int | None:
        import numpy as np

        if not self.arrays and not self.sets:
            return None
        total = 0
        for t, arrays in self.arrays.items():
            arrays = list(arrays)
            if t is str and str in self.sets:
                arrays.append(_str_hashes(self.sets[str]))
            total += len(arrays[0]) if len(arrays) == 1 else len(_unique(np.concatenate(arrays), runs=True))
        for key, values in self.sets.items():
            if key is str and str in self.arrays:
                continue  # counted with the hashes above
            total += len(values)
        return total


class _Group:
    __slots__ = ("captures", "dropped", "event_type", "fields", "provider")

    def __init__(self, provider: str | None, event_type: str | None) -> None:
        self.provider = provider
        self.event_type = event_type
        self.captures = 0
        self.fields: dict[tuple[str | None, ...], _Field] = {(): _Field(())}
        self.dropped: set[tuple[str | None, ...]] = set()  # not kept (MAX_FIELDS), parent kept

    def field(self, path: tuple[str | None, ...]) -> _Field | None:
        f = self.fields.get(path)
        if f is None:
            parent = self.fields.get(path[:-1])
            if parent is None:  # its parent was not kept
                return None
            if len(self.fields) > MAX_FIELDS:
                self.dropped.add(path)
                return None
            f = self.fields[path] = _Field(path)
            parent.children.append(path)
        return f


def _trim(value: Any, budget: int) -> tuple[Any, set[tuple[str | None, ...]]]:
    """A copy of ``value`` with at most ``budget`` values, breadth first; (copy, the paths of
    the objects and arrays in it that lack some of their values: empty if none was cut).

    >>> copy, short = _trim({"a": [1, 2, 3], "b": {"c": 1}}, 4)
    >>> copy, sorted(short)
    ({'a': [1], 'b': {}}, [('a',), ('b',)])
    """
    if not isinstance(value, (dict, list)):
        return value, set()
    root: Any = {} if isinstance(value, dict) else []
    queue: deque[tuple[Any, Any, tuple[str | None, ...]]] = deque([(value, root, ())])
    nodes = 1
    while queue:
        src, dst, path = queue.popleft()
        pairs = src.items() if isinstance(src, dict) else enumerate(src)
        for k, v in pairs:
            if nodes >= budget:  # this container and those waiting, if not empty, are short
                return root, {path} | {p for s, _, p in queue if s}
            nodes += 1
            if isinstance(v, (dict, list)):
                copy: Any = {} if isinstance(v, dict) else []
                queue.append((v, copy, (*path, k if isinstance(dst, dict) else None)))
                v = copy
            if isinstance(dst, dict):
                dst[k] = v
            else:
                dst.append(v)
    return root, set()


class _Raw(str):
    """A body excerpt shown as is (not as a JSON value)."""


def _excerpt(value: Any) -> str:
    """An example as the table shows it: JSON text (a lone surrogate as JSON escapes it,
    ``"\\ud83d"``: :func:`hooklab.explore.displayable`), cut at :data:`EXAMPLE_CHARS`."""
    if isinstance(value, _Raw):
        text = str(value)
    else:
        try:
            text = json.dumps(value, ensure_ascii=False, allow_nan=True)
        except (TypeError, ValueError, RecursionError):  # pragma: no cover - scalars only
            text = repr(value)
    text = displayable(text)
    return text if len(text) <= EXAMPLE_CHARS else text[: EXAMPLE_CHARS - 1] + "…"


def _hidden_example(value: Any) -> str:
    """What a credential field's example shows instead: its length, counted as the live view
    and ``diff`` count it (a string's characters, without the quotes of its JSON text; any
    other value's JSON text)."""
    if isinstance(value, str):  # (a _Raw excerpt too)
        return hidden_value(value)
    try:
        return hidden_value(json.dumps(value))
    except (TypeError, ValueError):  # pragma: no cover - examples are scalars
        return "<hidden>"


def _sorted_types(types: dict[str, int]) -> str:
    known = [t for t in TYPE_ORDER if t in types]
    rest = sorted(t for t in types if t not in TYPE_ORDER)
    return "|".join(known + rest)


def _literal_keys_first(fields: list[_Field]) -> list[_Field]:
    """``fields`` (in :meth:`SchemaBuilder._ordered`'s order) with the fields that share a name
    in the places they take, the one of fewest keys first: a key holding a dot names what a
    nested path names (``{"a.b": 1, "a": {"b": 2}}``: two rows ``a.b``), and the literal key's
    row comes first, whichever a capture had first (a field ``a`` seen before put the nested
    row first). Every other row keeps its place."""
    names = [field_name(f.path) for f in fields]
    if len(set(names)) == len(names):  # (the usual case: every name once)
        return fields
    same: dict[str, list[_Field]] = {}
    for f, name in zip(fields, names, strict=True):
        same.setdefault(name, []).append(f)
    turns = {name: iter(sorted(fs, key=lambda f: len(f.path)))  # (stable: as they came)
             for name, fs in same.items() if len(fs) > 1}
    return [next(turns[name]) if name in turns else f for f, name in zip(fields, names, strict=True)]


class SchemaBuilder:
    """Accumulates field statistics over chunks of captures; :meth:`frame` gives the table.

    Rows passed to :meth:`add` are tuples ``(id, received_us, provider, event_type,
    content_type, content_encoding, body)`` (``id`` is not used). ``group=False`` puts every capture into one group (used for
    :func:`infer_json_schema` across providers).
    """

    def __init__(self, *, group: bool = True) -> None:
        self.groups: dict[tuple[Any, Any], _Group] = {}
        self._group = group
        self._spans: dict[int, tuple[int, int, list[int]]] = {}  # id(rows) -> time span
        self._all_rows: list[int] | None = None
        #: the first and last capture id read (a summary says which captures it is of)
        self.ids: tuple[int, int] | None = None

    # -- reading ---------------------------------------------------------------------------
    def add(self, rows: Sequence[Sequence[Any]]) -> None:
        """Add one chunk of captures (oldest first)."""
        if not rows:
            return
        lo, hi = rows[0][0], rows[-1][0]
        self.ids = (lo, hi) if self.ids is None else (min(self.ids[0], lo), max(self.ids[1], hi))
        if not self._group:
            parts: dict[tuple[Any, Any], Sequence[Sequence[Any]]] = {(None, None): rows}
        else:
            keys = list(zip(map(itemgetter(2), rows), map(itemgetter(3), rows), strict=True))
            distinct = list(dict.fromkeys(keys))  # in order of first appearance
            if len(distinct) == 1:
                parts = {keys[0]: rows}
            elif len(distinct) <= 16:  # a few event types: one C-level pass each
                parts = {k: list(compress(rows, map(eq, keys, repeat(k)))) for k in distinct}
            else:
                parts = {}
                for k, r in zip(keys, rows, strict=True):
                    part = parts.get(k)
                    if part is None:
                        parts[k] = part = []
                    part.append(r)  # type: ignore[attr-defined]
        for key, part in parts.items():
            g = self.groups.get(key)
            if g is None:
                g = self.groups[key] = _Group(*key)
            self._add_group(g, part)

    def _add_group(self, g: _Group, rows: Sequence[Sequence[Any]]) -> None:
        import orjson

        times = list(map(itemgetter(1), rows))
        lo, hi = min(times), max(times)
        self._spans: dict[int, tuple[int, int, list[int]]] = {}
        g.captures += len(rows)
        root = g.fields[()]
        root.present += len(rows)
        root.count += len(rows)
        root.seen(lo, hi)
        values: list[Any] = []
        vrows: list[int] = []
        kinds: Counter[str] = Counter()
        form_json: set[str] = set()
        cut: set[tuple[str | None, ...]] = set()  # paths of objects and arrays cut short
        n = len(rows)
        pending: Iterable[int] = range(n)  # rows read one by one
        bodies = list(map(itemgetter(6), rows))
        # (orjson, unless a body may hold an integer past 64 bits, which it reads as a float:
        # then each body is read as the json column reads it, such integers exact)
        loads = loads_fast if wide_int(b"\n".join(bodies)) else orjson.loads
        if not any(map(itemgetter(5), rows)) and max(map(len, bodies)) <= LARGE_BODY:
            try:  # all plain JSON objects / arrays (the usual chunk): parse them in one go
                parsed = list(map(loads, bodies))
            except (ValueError, RecursionError):
                parsed = None
            if parsed is not None and set(map(type, parsed)) <= {dict, list}:
                values, vrows, pending = parsed, list(range(n)), ()
        for i in pending:
            r = rows[i]
            body, ct, enc = r[6], r[4], r[5]
            if not enc and body and (body[:1] in b"{[" or (ct and "json" in ct)) and len(body) <= LARGE_BODY:
                try:  # the common case, without building a Payload
                    values.append(loads(body))
                    vrows.append(i)
                    continue
                except (ValueError, RecursionError):
                    pass
            p = read_payload(bytes(body), ct, enc)
            if p.note:
                root.notes[p.note] = None
            if not p.explorable:
                kinds[p.root] += 1
                if root.example is _NONE and p.root not in ("empty",):
                    root.example = _body_excerpt(bytes(body))
                continue
            value = p.value
            if p.root == "form":
                kinds["form"] += 1
                form_json.update(p.form_json)
            if max(len(body), p.size) > LARGE_BODY:  # (a compressed body: as decoded)
                value, short = _trim(value, MAX_NODES)
                if short:
                    root.notes[f"bodies over {LARGE_BODY // 1024} KiB: first {MAX_NODES:,} values explored"] = None
                    cut.update(short)
            values.append(value)
            vrows.append(i)
        if values:
            by_type = Counter(map(type, values))
            for t, many in by_type.items():
                kinds[_NAMES.get(t, "string")] += many
            if kinds.get("form"):  # form bodies were counted as objects too
                kinds["object"] -= kinds["form"]
                if not kinds["object"]:
                    del kinds["object"]
            self._all_rows = vrows if len(vrows) == n else None
            self._descend(g, root, (), values, vrows, times, 0, False, set(by_type))
            self._spans.clear()
            for name in form_json:
                f = g.fields.get((name,))
                if f is not None:
                    f.form_json = True
            for path in cut:  # (marked once their fields exist: the order keys arrived in
                f = g.fields.get(path)  # stays the fields' order)
                if f is not None:
                    f.notes[_CUT_NOTE] = None
        for k, many in kinds.items():
            root.types[k] = root.types.get(k, 0) + many

    # -- one column of values ----------------------------------------------------------------
    def _column(
        self,
        g: _Group,
        path: tuple[str | None, ...],
        values: list[Any],
        rows: list[int],
        times: list[int],
        depth: int,
        in_list: bool,
    ) -> None:
        f = g.field(path)
        if f is None:
            return
        n = len(values)
        f.count += n
        f.present += len(set(rows)) if in_list else n
        span = self._spans.get(id(rows))
        if span is None:
            ts = times if rows is self._all_rows else list(map(times.__getitem__, rows))
            span = self._spans[id(rows)] = (min(ts), max(ts), rows)
        f.seen(span[0], span[1])
        kinds = list(map(type, values))
        by_type = set(kinds)
        if len(by_type) == 1:
            (t,) = by_type
            name = _NAMES.get(t, "string")
            f.types[name] = f.types.get(name, 0) + n
            if t is not dict and t is not list:
                self._scalars(f, t, values)
            self._descend(g, f, path, values, rows, times, depth, in_list, by_type)
            return
        parts: dict[type, tuple[list[Any], list[int]]] = {}
        for t in dict.fromkeys(kinds):  # in order of first appearance (not a set's order)
            name = _NAMES.get(t, "string")
            f.types[name] = f.types.get(name, 0) + kinds.count(t)
            mask = list(map(is_, kinds, repeat(t)))
            vals = list(compress(values, mask))
            if t is dict or t is list:
                parts[t] = (vals, list(compress(rows, mask)))
            else:
                self._scalars(f, t, vals)
        for t, (vals, rws) in parts.items():
            self._descend(g, f, path, vals, rws, times, depth, in_list, {t})

    @staticmethod
    def _scalars(f: _Field, t: type, values: list[Any]) -> None:
        if f.example is _NONE or (f.example is None and t is not _NULL):
            f.example = values[0]
        f.distinct_add(t, values)

    def _descend(
        self,
        g: _Group,
        f: _Field,
        path: tuple[str | None, ...],
        values: list[Any],
        rows: list[int],
        times: list[int],
        depth: int,
        in_list: bool,
        types: set[type],
    ) -> None:
        """Go into ``values`` (all objects or all arrays when ``types`` has one of them)."""
        if dict not in types and list not in types:
            return
        if depth >= MAX_DEPTH:
            f.notes[_DEEP_NOTE] = None
            return
        if types != {dict} and types != {list}:  # a mixed column: objects and arrays apart
            kinds = list(map(type, values))
            for t in dict.fromkeys(kinds):  # in order of first appearance
                if t is not dict and t is not list:
                    continue
                mask = list(map(is_, kinds, repeat(t)))
                self._descend(g, f, path, list(compress(values, mask)),
                              list(compress(rows, mask)), times, depth, in_list, {t})
            return
        if dict in types:
            self._dicts(g, path, values, rows, times, depth, in_list)
        else:
            self._lists(g, f, path, values, rows, times, depth)

    def _dicts(
        self,
        g: _Group,
        path: tuple[str | None, ...],
        dicts: list[dict[str, Any]],
        rows: list[int],
        times: list[int],
        depth: int,
        in_list: bool,
    ) -> None:
        shapes = list(map(tuple, dicts))
        first = shapes[0]
        if shapes.count(first) == len(shapes):  # one shape (the usual case): column by column
            for k in first:
                self._column(g, (*path, k), list(map(itemgetter(k), dicts)), rows, times,
                             depth + 1, in_list)
            return
        members: dict[tuple[str, ...], list[int]] = {}
        for i, shape in enumerate(shapes):
            m = members.get(shape)
            if m is None:
                members[shape] = m = []
            m.append(i)
        child: dict[str, tuple[list[Any], list[int]]] = {}
        if len(members) > 64 and len(members) * 4 > len(dicts):  # free-form keys: item by item
            for d, r in zip(dicts, rows, strict=True):
                for k, v in d.items():
                    c = child.get(k)
                    if c is None:
                        child[k] = c = ([], [])
                    c[0].append(v)
                    c[1].append(r)
        else:
            import numpy as np

            at: dict[str, list[int]] = {}  # positions in ``dicts`` of each key's values
            for shape, idx in members.items():
                gd = list(map(dicts.__getitem__, idx))
                gr = list(map(rows.__getitem__, idx))
                for k in shape:
                    c = child.get(k)
                    if c is None:
                        child[k] = c = ([], [])
                        at[k] = []
                    c[0].extend(map(itemgetter(k), gd))
                    c[1].extend(gr)
                    at[k].extend(idx)
            for k, (cv, cr) in child.items():  # back in the order of the rows (the first
                pos = np.array(at[k], dtype=np.int64)  # value is the example; nested keys
                if len(pos) > 1 and not (pos[1:] > pos[:-1]).all():  # come in row order)
                    order = np.argsort(pos, kind="stable").tolist()
                    child[k] = (list(map(cv.__getitem__, order)), list(map(cr.__getitem__, order)))
        for k, (cv, cr) in child.items():
            self._column(g, (*path, k), cv, cr, times, depth + 1, in_list)

    def _lists(
        self,
        g: _Group,
        f: _Field,
        path: tuple[str | None, ...],
        lists: list[list[Any]],
        rows: list[int],
        times: list[int],
        depth: int,
    ) -> None:
        lens = list(map(len, lists))
        if max(lens) > MAX_ITEMS:
            f.notes[_ITEMS_NOTE] = None
            lists = [v[:MAX_ITEMS] if len(v) > MAX_ITEMS else v for v in lists]
            lens = list(map(len, lists))
        items = list(chain.from_iterable(lists))
        if not items:
            return
        irows = list(chain.from_iterable(map(repeat, rows, lens)))
        self._column(g, (*path, None), items, irows, times, depth + 1, True)

    # -- results ----------------------------------------------------------------------------
    def _ordered(self, g: _Group) -> list[_Field]:
        """Depth first; a field's keys in order of first appearance, then its array items
        (``[]``), whichever came first (so the order is the same however captures were
        split into chunks)."""
        out: list[_Field] = []
        stack = [g.fields[()]]
        while stack:
            f = stack.pop()
            out.append(f)
            items = [c for c in f.children if c[-1] is None]
            keys = [c for c in f.children if c[-1] is not None] if items else f.children
            stack.extend(g.fields[c] for c in reversed(keys + items))
        return out

    def records(self, reveal: bool = True) -> list[tuple[Any, ...]]:
        """The table's rows as tuples (``first_seen`` / ``last_seen`` in microseconds;
        provider, event type and field names as read: :meth:`frame` shows a lone surrogate
        in them as JSON escapes it, as each example does); unless ``reveal``, the example of
        a field that may hold a credential (:func:`is_credential_field`) is its length only
        (:func:`schema_frame`)."""
        out = []
        for g in self.groups.values():
            for f in _literal_keys_first(self._ordered(g)):
                notes = sorted(f.notes)  # (in the order read, they would depend on the chunks)
                if f.form_json:
                    notes.insert(0, "JSON inside a form field")
                if not f.path and g.dropped:
                    notes.append(f"more than {MAX_FIELDS:,} fields: {len(g.dropped):,} more not listed")
                name = field_name(f.path)
                hide = not reveal and f.example is not _NONE and is_credential_field(name)
                example = (None if f.example is _NONE else _hidden_example(f.example) if hide
                           else _excerpt(f.example))
                if f.example is None and len(f.types) > 1:
                    # null beside objects or arrays only (a scalar would have taken its
                    # place): not "null", as a field that never held anything but null
                    # shows, but no example, as a field that only held objects shows.
                    # Decided here, not where values are read, so that summaries kept by
                    # any version and merged in any order give the same answer.
                    example = None
                if notes:
                    note = "; ".join(notes)
                    example = f"{example} ({note})" if example is not None else f"({note})"
                out.append((
                    g.provider, g.event_type, name, _sorted_types(f.types),
                    f.present / g.captures if g.captures else 0.0, f.count, f.distinct(), example,
                    f.first, f.last,
                ))
        return out

    def frame(self, reveal: bool = True) -> pd.DataFrame:
        """The schema table (columns :data:`SCHEMA_COLUMNS`); ``reveal``: as :meth:`records`."""
        import pandas as pd

        recs = self.records(reveal)
        cols = list(zip(*recs, strict=True)) if recs else [()] * len(SCHEMA_COLUMNS)
        data = dict(zip(SCHEMA_COLUMNS, cols, strict=True))

        def when(us: Sequence[int | None]) -> Any:
            s = pd.Series([pd.NA if u is None else u for u in us], dtype="Int64")
            return pd.to_datetime(s, unit="us", utc=True).astype("datetime64[ns, UTC]")

        def shown(texts: Sequence[str | None]) -> list[str | None]:  # (lone surrogates escaped)
            return [displayable(t) for t in texts]

        return pd.DataFrame({
            "provider": pd.Series(shown(data["provider"]), dtype=object),
            "event_type": pd.Series(shown(data["event_type"]), dtype=object),
            "field": pd.Series(shown(data["field"]), dtype=object),
            "types": pd.Series(data["types"], dtype=object),
            "present": pd.Series(data["present"], dtype="float64"),
            "count": pd.Series(data["count"], dtype="Int64"),
            "distinct": pd.array(list(data["distinct"]), dtype="Int64"),
            "example": pd.Series(data["example"], dtype=object),
            "first_seen": when(data["first_seen"]),
            "last_seen": when(data["last_seen"]),
        })

    # -- summaries kept per column segment -------------------------------------------------
    def pack(self) -> bytes:
        """This builder's state as bytes, for :meth:`merge` in another process. No pickle:
        JSON, and the distinct values as raw numbers (strings as their stable hashes, the same
        in every process: see :func:`_str_hashes`).

        >>> a = SchemaBuilder()
        >>> a.add([(1, 10, "x", "e", "application/json", None, b'{"n": 1, "s": "a"}')])
        >>> b = SchemaBuilder()
        >>> b.merge(a.pack())
        >>> b.frame()[["field", "types", "count", "distinct"]].values.tolist()
        [['(body)', 'object', 1, <NA>], ['n', 'integer', 1, 1], ['s', 'string', 1, 1]]
        """
        import numpy as np

        buffers: list[bytes] = []
        at = 0

        def numbers(t: type, f: _Field, dtype: Any) -> list[int] | None:
            nonlocal at
            arrays = list(f.arrays.get(t, ()))
            if t is str and str in f.sets:
                arrays.append(_str_hashes(f.sets[str]))
            if not arrays:
                return None
            arr = _unique(np.concatenate(arrays) if len(arrays) > 1 else arrays[0]).astype(dtype)
            buffers.append(arr.tobytes())
            where = [at, len(arr)]
            at += len(arr)
            return where

        groups = []
        for g in self.groups.values():
            fields = []
            for f in g.fields.values():
                sets = f.sets
                distinct = None
                if f.arrays or sets:
                    distinct = {
                        "s": numbers(str, f, np.int64),
                        "i": numbers(int, f, np.int64),
                        "f": numbers(float, f, np.float64),
                        "b": list(sets.get(bool, ())),
                        "n": _NULL in sets,
                        "B": [str(v) for v in sets.get(_BIGINT, ())],
                    }
                fields.append([list(f.path), f.present, f.count, f.types, f.first, f.last,
                               _tag(f.example), list(f.notes), f.form_json, distinct])
            groups.append([g.provider, g.event_type, g.captures, [list(p) for p in g.dropped],
                           fields])
        meta = {"v": 2, "hash": _hash_check(), "ids": self.ids, "groups": groups}
        try:
            import orjson

            head = b"O" + orjson.dumps(meta)
        except TypeError:  # strings orjson refuses (lone surrogates): escaped by the stdlib
            head = b"J" + json.dumps(meta, ensure_ascii=True).encode()
        import struct
        import zlib

        return _PACK_MAGIC + zlib.compress(struct.pack("<Q", len(head)) + head + b"".join(buffers), 1)

    def merge(self, packed: bytes | SchemaBuilder,
              groups: Callable[[Any, Any], bool] | None = None) -> None:
        """Add the captures a packed builder (see :meth:`pack`) or another builder read, as if
        this builder had read them itself next (the same table, exact distinct counts);
        ``groups(provider, event_type)`` says which of its groups to take (default: all)."""
        if isinstance(packed, SchemaBuilder):
            other = packed
        else:
            other = SchemaBuilder.unpack(packed)
        for key, og in other.groups.items():
            if groups is not None and not groups(*key):
                continue
            key = key if self._group else (None, None)
            g = self.groups.get(key)
            if g is None:
                g = self.groups[key] = _Group(*key)
            g.captures += og.captures
            for path, of in og.fields.items():
                f = g.field(path)
                if f is None:
                    continue
                f.present += of.present
                f.count += of.count
                for t, n in of.types.items():
                    f.types[t] = f.types.get(t, 0) + n
                if of.first is not None:
                    f.seen(of.first, of.last if of.last is not None else of.first)
                if of.example is not _NONE and (
                        f.example is _NONE or (f.example is None and of.example is not None)):
                    f.example = of.example
                for note in of.notes:
                    f.notes[note] = None
                f.form_json = f.form_json or of.form_json
                for t, arrays in of.arrays.items():
                    for arr in arrays:  # sorted and distinct (as kept, or as packed)
                        f._keep(t, arr, distinct=True)
                for t, values in of.sets.items():
                    if t is str:
                        f.distinct_add(str, list(values))
                    else:
                        f.sets.setdefault(t, set()).update(values)
            g.dropped.update(p for p in og.dropped if p not in g.fields and p[:-1] in g.fields)

    @classmethod
    def unpack(cls, packed: bytes) -> SchemaBuilder:
        """The builder :meth:`pack` wrote (its distinct strings as sets, ready to merge);
        ``ValueError`` for anything else (damaged, or another version's), checked in full
        before anything is used."""
        import struct
        import zlib

        try:
            return cls._unpack(packed)
        except (KeyError, TypeError, IndexError, AttributeError, struct.error, zlib.error,
                UnicodeError, OverflowError, RecursionError) as exc:
            raise ValueError(f"damaged schema summary: {exc!r}"[:200]) from None

    @classmethod
    def _unpack(cls, packed: bytes) -> SchemaBuilder:
        import struct
        import zlib

        import numpy as np

        if packed[:4] != _PACK_MAGIC:
            raise ValueError("not a packed schema summary")
        unzip = zlib.decompressobj()
        try:
            data = unzip.decompress(packed[4:], _PACK_MAX)
        except MemoryError:  # (a process with less memory than the bound)
            raise ValueError("a schema summary too large to unpack here") from None
        if unzip.unconsumed_tail:
            raise ValueError(f"a schema summary larger than {_PACK_MAX:,} bytes")
        (n,) = struct.unpack_from("<Q", data)
        head = data[8 : 8 + n]
        if head[:1] == b"O":
            import orjson

            meta = orjson.loads(head[1:])
        else:
            meta = json.loads(head[1:])
        if not isinstance(meta, dict) or meta.get("v") != 2:
            raise ValueError("not a schema summary of version 2")
        if meta.get("hash") != _hash_check():  # strings hashed another way (another pandas)
            raise ValueError("a schema summary whose strings were hashed differently")
        numbers = memoryview(data)[8 + n :]

        def count(v: Any) -> int:
            if type(v) is not int or not 0 <= v < 1 << 62:
                raise ValueError(f"not a count: {v!r}")
            return v

        def when(v: Any) -> int | None:  # microseconds that pandas can hold (in nanoseconds)
            if v is not None and (type(v) is not int or not -_US_MAX < v < _US_MAX):
                raise ValueError(f"not a time: {v!r}")
            return v

        def strings(v: Any, kinds: tuple[type, ...] = (str,)) -> list[Any]:
            if type(v) is not list or not all(type(x) in kinds for x in v):
                raise ValueError("not a list of strings")
            return v

        b = cls()
        ids = meta["ids"]
        if ids is not None:
            b.ids = (when(ids[0]) or 0, when(ids[1]) or 0)
        for provider, event_type, captures, dropped, fields in meta["groups"]:
            if not (provider is None or type(provider) is str) or not (
                    event_type is None or type(event_type) is str) or (provider, event_type) in b.groups:
                raise ValueError("not a group")
            g = b.groups[(provider, event_type)] = _Group(provider, event_type)
            g.captures = count(captures)
            if type(dropped) is not list:
                raise ValueError("not a list of paths")
            g.dropped = {tuple(strings(p, (str, type(None)))) for p in dropped}
            for path, present, seen, types, first, last, example, notes, form_json, d in fields:
                key = tuple(strings(path, (str, type(None))))
                f = g.fields.get(key)
                if f is None:
                    f = g.fields[key] = _Field(key)
                    g.fields[key[:-1]].children.append(key)  # (a parent comes first)
                if type(types) is not dict or type(form_json) is not bool:
                    raise ValueError("not a field")
                f.present, f.count, f.first, f.last = count(present), count(seen), when(first), when(last)
                f.types = {strings([t])[0]: count(c) for t, c in types.items()}
                f.example = _untag(example)
                f.notes = dict.fromkeys(strings(notes))
                f.form_json = form_json
                if d is None:
                    continue
                for t, k, dtype in ((str, "s", np.int64), (int, "i", np.int64),
                                    (float, "f", np.float64)):
                    if d[k] is not None:
                        lo, many = map(count, d[k])  # (past the end: ValueError)
                        f.arrays[t] = [np.frombuffer(numbers, dtype, many, lo * 8)]
                if d["b"]:
                    f.sets[bool] = set(strings(d["b"], (bool,)))
                if d["n"] is True:
                    f.sets[_NULL] = {None}
                if d["B"]:
                    f.sets[_BIGINT] = set(map(int, strings(d["B"])))
        return b

    # -- JSON Schema ---------------------------------------------------------------------------
    def json_schema(self, title: str | None = None) -> dict[str, Any]:
        """Draft 2020-12 JSON Schema of the JSON (and form) bodies seen, all groups merged
        (build with ``group=False`` for one schema across providers). What it validates is
        what a capture gives: ``capture.json()`` of a JSON body, ``capture.form()`` of a form
        (each field a list of its values, strings; a field that held JSON, Slack's
        ``payload=``, is a string whose ``contentSchema`` describes that JSON).

        >>> b = SchemaBuilder(group=False)
        >>> b.add([(1, 10, "slack", None, "application/x-www-form-urlencoded", None,
        ...         b"team_id=T1&payload=%7B%22type%22%3A%22block_actions%22%7D")])
        >>> props = b.json_schema()["properties"]
        >>> props["team_id"]
        {'type': 'array', 'items': {'type': 'string'}, 'minItems': 1}
        >>> props["payload"]["items"]["contentSchema"]["properties"]
        {'type': {'type': 'string'}}
        """
        if len(self.groups) != 1:
            raise ValueError("json_schema() needs exactly one group: use SchemaBuilder(group=False)")
        (g,) = self.groups.values()
        root = g.fields[()]
        shaped = {t: n for t, n in root.types.items() if t in TYPE_ORDER or t == "form"}
        if not shaped:
            kinds = ", ".join(sorted(root.types)) or "none"
            raise ValueError(
                f"no JSON or form bodies among {g.captures} capture(s) (body kinds: {kinds})"
            )
        out: dict[str, Any] = {"$schema": "https://json-schema.org/draft/2020-12/schema"}
        if title:
            out["title"] = title
        n_json = sum(shaped.values())
        out["description"] = (
            f"Inferred by hooklab from {n_json} of {g.captures} capture(s) "
            f"({_sorted_types(root.types)})."
        )
        loose: list[str] = []
        out.update(self._node_schema(g, root, loose, forms=root.types.get("form", 0)))
        if loose:  # (a schema of the values seen would reject the captures it came from)
            names = ", ".join(loose[:_LOOSE_NAMED]) + (
                f" and {len(loose) - _LOOSE_NAMED:,} more" if len(loose) > _LOOSE_NAMED else "")
            out["description"] += (
                " Not every value was explored (the bounds of hooklab.explore.schema): what"
                f" was not is left unconstrained in {names}.")
        return out

    def _node_schema(self, g: _Group, f: _Field, loose: list[str], forms: int = 0) -> dict[str, Any]:
        """The schema of field ``f``; the names of the fields left open because some of their
        values were not explored are added to ``loose``. ``forms``: how many of ``f``'s
        objects were forms (the body's, read as ``capture.form()`` gives them)."""
        types: dict[str, int] = {}
        for t, n in f.types.items():
            t = "object" if t == "form" else t  # form fields are an object of strings
            if t in TYPE_ORDER:
                types[t] = types.get(t, 0) + n
        names = [t for t in TYPE_ORDER if t in types]
        s: dict[str, Any] = {}
        if names:
            s["type"] = names[0] if len(names) == 1 else names
        short = [n for n in (_CUT_NOTE, _ITEMS_NOTE, _DEEP_NOTE) if n in f.notes]
        if short:  # some of its keys or items unseen: only its own types are known
            loose.append(field_name(f.path))
            s["description"] = "Not every value explored (" + "; ".join(short) + "): what it holds is left unconstrained."
            return s
        if "object" in types:
            objects = types["object"]
            props: dict[str, Any] = {}
            required = []
            for c in f.children:
                key = c[-1]
                if key is None:
                    continue
                child = g.fields[c]
                sub = self._node_schema(g, child, loose)
                if forms:  # a form's field as capture.form() gives it: its values, strings
                    item: dict[str, Any] = {"type": "string"}
                    if child.form_json:  # a string holding JSON (Slack's payload=)
                        item.update(contentMediaType="application/json", contentSchema=sub)
                    field = {"type": "array", "items": item, "minItems": 1}
                    # (JSON bodies too: a JSON body's value is described as read)
                    sub = field if forms >= objects else {"anyOf": [sub, field]}
                props[key] = sub
                if child.count >= objects:
                    required.append(key)
            s["properties"] = props
            if required:
                s["required"] = required
        if "array" in types:
            item = g.fields.get((*f.path, None))
            if item is not None:
                s["items"] = self._node_schema(g, item, loose)
        return s


#: fields named in a JSON Schema's description as left open, at most
_LOOSE_NAMED = 10


_PACK_MAGIC = b"HSS1"
#: a summary's size unpacked at most (a 4,096-capture segment's is a few hundred KiB)
_PACK_MAX = 512 * 1024 * 1024
_US_MAX = (1 << 63) // 1000


def _tag(value: Any) -> list[Any] | None:
    """An example value as JSON that keeps its Python type (``None``: no example yet)."""
    if value is _NONE:
        return None
    if isinstance(value, _Raw):
        return ["r", str(value)]
    if value is None or isinstance(value, (bool, str)):
        return ["v", value]
    if isinstance(value, int):
        return ["i", str(value)]  # (orjson takes no integer past 64 bits)
    if isinstance(value, float):
        return ["f", repr(value)]  # (NaN and infinities too)
    return ["j", _excerpt(value)]  # pragma: no cover - examples are scalars


def _untag(tagged: list[Any] | None) -> Any:
    if tagged is None:
        return _NONE
    kind, value = tagged
    if kind == "v" and (value is None or type(value) in (bool, str)):
        return value
    if type(value) is not str:
        raise ValueError(f"not an example: {tagged!r}"[:100])
    if kind in ("r", "j"):
        return _Raw(value)
    if kind == "i":
        return int(value)
    if kind == "f":
        return float(value)
    raise ValueError(f"not an example: {tagged!r}"[:100])


def _body_excerpt(body: bytes) -> _Raw:
    """A short text of a body that is not explored (text as text, else its size)."""
    head = body[: EXAMPLE_CHARS * 4]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:
            return _Raw(f"<{len(body):,} bytes>")
        text = head[: exc.start].decode("utf-8")
    if "\x00" in text:
        return _Raw(f"<{len(body):,} bytes>")
    return _Raw(text)


def infer_json_schema(chunks: Iterable[Sequence[Sequence[Any]]], title: str | None = None) -> dict[str, Any]:
    """Draft 2020-12 JSON Schema of the bodies in ``chunks`` (rows as for :class:`SchemaBuilder`)."""
    b = SchemaBuilder(group=False)
    for rows in chunks:
        b.add(rows)
    if not b.groups:
        raise LookupError("no captures to infer a schema from")
    return b.json_schema(title)



#: a form's media type: its rows get the ``Content-Type`` with its ``charset`` (:func:`_form_type`)
_FORM = "application/x-www-form-urlencoded"
#: the columns :func:`schema_frame` reads (the headers only when the body is compressed, may
#: have a transfer coding (jsonread.body_coding) or a
#: form declares a charset: :func:`_form_type`; LIKE
#: is case-insensitive for ASCII without building a lower-case copy of every row's headers),
#: those of a capture with trailer fields after where they start (:func:`_encoding`)
_ROW_SQL = (
    "received_us, provider, event_type, content_type,"
    " CASE WHEN headers LIKE '%\"content-encoding\"%' OR headers LIKE '%\"transfer-encoding\"%'"
    " OR (content_type = '" + _FORM + "'"
    " AND headers LIKE '%charset%') THEN CASE WHEN {trailers_at} IS NULL"
    " THEN headers ELSE CAST({trailers_at} AS TEXT) || ' ' || headers END END, body"
)


def _encoding(headers: str, name: str = "content-encoding") -> str | None:
    """The header section's ``Content-Encoding`` (or field ``name``) of a row's stored
    ``headers`` (JSON text), or of ``"<trailers_at> <headers>"`` (:data:`_ROW_SQL`): a
    trailer field's is none of the body's, as ``Capture.decoded_body`` reads it.

    >>> _encoding('[["Content-Encoding","gzip"]]'), _encoding('0 [["Content-Encoding","gzip"]]')
    ('gzip', None)
    """
    at: int | None = None
    if not headers.startswith("["):
        first, _, headers = headers.partition(" ")
        digits = first[1:] if first.startswith("-") else first
        at = int(first) if digits.isascii() and digits.isdigit() else None
    return section_encoding(headers, at, name)


def _form_type(media: Any, declared: str | None) -> Any:
    """The content type a row hands :func:`read_payload`: a form's ``Content-Type`` as
    ``declared`` (the header section's) when its ``charset`` is one the work done in the
    background may read a form in (:func:`hooklab.filters.declared_codec`: no codec module
    imported on the upkeep thread), so its fields are named as ``capture.form()`` names them
    (``Jos%E9`` in Windows-1252 is ``José``); else the stored media type ``media``.

    >>> _form_type(_FORM, "application/x-www-form-urlencoded; charset=windows-1252")
    'application/x-www-form-urlencoded; charset=windows-1252'
    >>> _form_type(_FORM, "application/x-www-form-urlencoded; charset=unicode_escape")
    'application/x-www-form-urlencoded'
    """
    if media != _FORM or declared is None or declared_codec(declared) == "utf-8":
        return media
    return declared


def _sql_rows(store: CaptureStore, filters: dict[str, Any]) -> Iterator[list[tuple[Any, ...]]]:
    """``store.iter_rows`` of :data:`_ROW_SQL` (a database of an older hooklab opened
    read-only has no ``trailers_at`` column: no capture of it has trailers)."""
    rows = store.iter_rows(_ROW_SQL.replace("{trailers_at}", "trailers_at"), **filters)
    try:
        first = next(rows, None)
    except Exception as exc:  # (sqlite3's or DuckDB's: which one depends on the store)
        if "trailers_at" not in str(exc):
            raise
        rows = store.iter_rows(_ROW_SQL.replace("{trailers_at}", "NULL"), **filters)
        first = next(rows, None)
    if first is not None:
        yield first
        yield from rows


def _chunks(store: CaptureStore, filters: dict[str, Any]) -> Iterator[list[tuple[Any, ...]]]:
    """The store's captures as :class:`SchemaBuilder` rows, chunk by chunk (rows of
    compressed bodies get their ``Content-Encoding`` in place of their headers)."""
    packed = getattr(store, "packed_columns", None) if not filters else None
    got = packed() if packed is not None else None
    if got is not None:  # all of them: from the column segments, not row by row through SQL
        yield from _segment_chunks(store, *got)
        return
    for chunk in _sql_rows(store, filters):
        if any(map(itemgetter(5), chunk)):
            chunk = [r if r[5] is None else (
                *r[:4], _form_type(r[4], _encoding(r[5], "content-type")), _encoding(r[5]), r[6])
                for r in chunk]
        yield chunk


#: rows per chunk handed to the builder from the column segments (as ``iter_rows`` gives)
_SEGMENT_CHUNK = 32_768


class _SegmentRows:
    """:class:`SchemaBuilder` rows of ``CaptureStore.packed_columns()``, chunk by chunk of its
    table (a chunk is one column segment, or rows no segment covers); the
    ``Content-Encoding`` of the rows that have one is looked up by id, on a connection
    ``connection()`` gives (a context manager, as ``CaptureStore.read_connection``)."""

    def __init__(self, connection: Callable[[], AbstractContextManager[Any]], table: Any,
                 packs: list[Any]) -> None:
        import numpy as np

        self.connection, self.table, self.packs = connection, table, packs
        self.chunks = table.column("id").chunks
        self.starts = np.cumsum([0, *(len(c) for c in self.chunks)]).tolist()

    def key(self, k: int) -> tuple[int, int, int]:
        """``(first id, last id, rows)`` of chunk ``k`` (how the store names a segment)."""
        c = self.chunks[k]
        return c[0].as_py(), c[len(c) - 1].as_py(), len(c)

    def rows(self, ks: list[int]) -> list[tuple[Any, ...]]:
        import numpy as np
        import pyarrow as pa

        lo, hi = self.starts[ks[0]], self.starts[ks[-1] + 1]
        part = self.table.slice(lo, hi - lo)
        bodies: list[bytes] = []
        for k in ks:
            bodies.extend(_split_bodies(self.packs[k]))
        encoded = part.column("encoded").to_numpy()
        ids = part.column("id").to_pylist()
        enc: list[Any] = [None] * len(ids)
        if encoded.any():
            at = np.flatnonzero(encoded).tolist()
            # (the header section's: a segment sealed by an earlier hooklab flagged a
            # trailer's Content-Encoding too)
            with self.connection() as db:
                found = section_encodings(db, [ids[i] for i in at])
            for i in at:
                enc[i] = found.get(ids[i])

        def strings(name: str) -> list[Any]:  # (a dictionary's to_pylist is many times slower)
            return part.column(name).cast(pa.large_string()).to_pylist()

        types = strings("content_type")
        forms = [i for i, t in enumerate(types) if t == _FORM]
        if forms:  # (a form's charset names its fields: the few that declare one looked up)
            with self.connection() as db:
                found = section_encodings(db, [ids[i] for i in forms], "content-type", "%charset%")
            for i in forms:
                types[i] = _form_type(types[i], found.get(ids[i]))
        return list(zip(ids, part.column("received_us").to_pylist(), strings("provider"),
                        strings("event_type"), types, enc, bodies, strict=True))


def _segment_chunks(store: CaptureStore, table: Any, packs: list[Any]) -> Iterator[list[tuple[Any, ...]]]:
    """:class:`SchemaBuilder` rows of ``CaptureStore.packed_columns()`` in chunks of about
    :data:`_SEGMENT_CHUNK`: a worker thread decompresses the next chunk's bodies (zlib works
    without the GIL) while the builder reads this one."""
    src = _SegmentRows(store.read_connection, table, packs)
    groups: list[list[int]] = []  # table chunks per builder chunk
    for k in range(len(packs)):
        if not groups or src.starts[k] - src.starts[groups[-1][0]] >= _SEGMENT_CHUNK:
            groups.append([])
        groups[-1].append(k)
    for _ks, rows in _one_ahead(src.rows, groups):
        if rows:
            yield rows


def _one_ahead(fn: Callable[[Any], Any], items: Sequence[Any],
               abort: Callable[[], None] | None = None) -> Iterator[tuple[Any, Any]]:
    """``(item, fn(item))`` for each of ``items`` in order, ``fn`` of the next one running on a
    worker thread meanwhile (zlib, Arrow and SQLite work there without the GIL); ``abort()``
    runs first if the iteration is left early (an error, an interrupt), before the worker
    thread is waited for."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        try:
            ahead = pool.submit(fn, items[0]) if items else None
            for i, item in enumerate(items):
                assert ahead is not None
                result = ahead.result()
                ahead = pool.submit(fn, items[i + 1]) if i + 1 < len(items) else None
                yield item, result
        except BaseException:
            if abort is not None:
                abort()
            raise


#: the kind of summary ``schema()`` keeps per column segment (``CaptureStore.summaries``);
#: a new version of what the builder records gets a new kind (older ones are then ignored)
SUMMARY_KIND = "schema-5"  # (3: objects and arrays cut short are marked, _CUT_NOTE; 4: a
# form's fields named as its declared charset reads them, _form_type; 5: an integer past 64
# bits is an integer, exact, where orjson had read a float: jsonread.loads_fast)
#: summaries handed to the store's writer at a time
_KEEP_BATCH = 16


#: filters a segment summary can answer (it holds one part per provider and event type)
_BY_GROUP = frozenset({"provider", "event_type"})


def _group_test(filters: dict[str, Any]) -> Callable[[Any, Any], bool] | None:
    """Whether a (provider, event type) group matches ``filters`` (None: no filter)."""
    if not filters:
        return None

    def wanted(key: str) -> set[Any] | None:
        value = filters.get(key)
        if value is None:
            return None
        return set(value) if isinstance(value, list) else {value}

    providers, events = wanted("provider"), wanted("event_type")
    # (a group of no provider detected is the one provider="unknown" names)
    return lambda p, e: ((providers is None or (NO_PROVIDER if p is None else p) in providers)
                         and (events is None or e in events))


def _from_summaries(
    store: CaptureStore, builder: SchemaBuilder, filters: dict[str, Any] | None = None
) -> tuple[int, int] | None:
    """Read the captures matching ``filters`` (``provider=`` / ``event_type=`` at most) into
    ``builder``, each column segment from the summary the store keeps for it (made now, and
    handed to the store to keep, where there is none yet); ``(last id read, captures
    matched)``, or ``None`` when the store keeps no summaries or other filters are given."""
    filters = filters or {}
    summaries = getattr(store, "summaries", None)
    packed = getattr(store, "packed_columns", None)
    if summaries is None or packed is None or not set(filters) <= _BY_GROUP:
        return None
    test = _group_test(filters)
    got = packed()
    if got is None:
        return None
    src = _SegmentRows(store.read_connection, *got)
    kept = summaries(SUMMARY_KIND)  # read after the table: a segment sealed since is not in it
    plan = []
    for k in range(len(src.packs)):  # (an empty store's table has one empty chunk, no pack)
        key = src.key(k)
        plan.append((k, key if key in kept else None, kept.get(key)))

    def of(blob: bytes, key: tuple[int, int, int]) -> SchemaBuilder | None:
        """The summary ``blob`` unpacked, if it is one of these very captures."""
        try:
            got_ = SchemaBuilder.unpack(blob)
        except ValueError:  # damaged: made again from the rows (and kept in its place)
            return None
        if got_.ids == key[:2] and sum(g.captures for g in got_.groups.values()) == key[2]:
            return got_
        return None

    def load(item: tuple[int, Any, bytes | None]) -> tuple[Any, bytes | None]:
        """(a builder or rows, a summary to keep): on the worker thread, one chunk ahead."""
        k, key, blob = item
        if blob is not None:
            kept_ = of(blob, key)
            if kept_ is not None:
                return kept_, None
        if helpers is not None and key is not None:
            made_ = helpers.take(key)  # (a helper process's, or None: made here)
            part_ = of(made_, key) if made_ is not None else None
            if part_ is not None:
                return part_, made_
        rows = src.rows([k])
        if key is None:  # rows no segment covers: read as they are
            return rows, None
        part = SchemaBuilder()
        part.add(rows)
        return part, part.pack()

    missing = [key for _k, key, blob in plan if key is not None and blob is None]
    last = processed = 0
    keep: list[tuple[int, int, int, bytes]] = []
    helpers = ahead = None
    try:
        helpers = parallel.start(getattr(store, "path", None), missing)
        # (interrupted: the helpers are killed before the worker thread is waited for, as
        # it may be waiting for one of them)
        ahead = _one_ahead(load, plan, abort=helpers.kill if helpers is not None else None)
        for (k, key, _blob), (got_, made) in ahead:
            if isinstance(got_, SchemaBuilder):
                if made is not None:
                    keep.append((*key, made))
                    if len(keep) >= _KEEP_BATCH:
                        store.keep_summaries(SUMMARY_KIND, keep)
                        keep = []
                builder.merge(got_, test)
                processed += sum(g.captures for (p, e), g in got_.groups.items()
                                 if test is None or test(p, e))
            else:
                rows = got_ if test is None else [r for r in got_ if test(r[2], r[3])]
                builder.add(rows)
                processed += len(rows)
            last = src.key(k)[1]
    finally:
        try:
            if ahead is not None:
                ahead.close()
        finally:
            if helpers is not None:
                helpers.close()
    store.keep_summaries(SUMMARY_KIND, keep)
    return last, processed


def summarize_rows(db: Any, key: tuple[int, int, int]) -> bytes | None:
    """The packed summary (:meth:`SchemaBuilder.pack`) of the column segment ``key`` =
    ``(first_id, last_id, rows)`` of the capture database open as ``db`` (a
    ``sqlite3.Connection``), or ``None`` when no segment is exactly that. What a helper
    process of a first ``schema()`` runs (:mod:`hooklab.explore.parallel`)."""
    from contextlib import nullcontext

    from ..store import read_segment

    found = read_segment(db, *key)
    if found is None:
        return None
    part, pack = found
    rows = _SegmentRows(lambda: nullcontext(db), part, [pack]).rows([0])
    builder = SchemaBuilder()
    builder.add(rows)
    return builder.pack()


parallel.register_task("schema", __name__, "summarize_rows", "database")
# flatten=True's parsed payloads of a segment (hooklab.frame.flat_rows: the helper imports it)
parallel.register_task("flat", "hooklab.frame", "flat_rows", "database")


#: summaries handed to a store lately, per store and kind, with when: the writer may not have
#: kept them yet (after :data:`_HANDED_FOR` seconds a segment still missing is made again)
_HANDED = 16
_HANDED_FOR = 10.0
_handed: weakref.WeakKeyDictionary[Any, dict[str, dict[tuple[int, int, int], float]]] = (
    weakref.WeakKeyDictionary())
#: segments a helper answered nothing for, per store and kind (not handed out again by this
#: process: a segment it cannot summarize must not hold back the ones after it), at most
_FAILED = 4096
_failed: weakref.WeakKeyDictionary[Any, dict[str, set[tuple[int, int, int]]]] = (
    weakref.WeakKeyDictionary())
#: segments one quiet-moment piece hands to its helper process at most
_BATCH = 8
#: how much lower the CPU priority of that helper is (``os.nice``)
_NICE = 10


def summarize_segment(store: CaptureStore, kind: str = SUMMARY_KIND, task: str = "schema") -> bool | None:
    """Have the oldest column segments that have no summary of ``kind`` yet (up to
    :data:`_BATCH`) summarized by a helper process doing ``task``
    (:mod:`hooklab.explore.parallel`, at a lower CPU priority) and keep what it makes;
    whether any was made (``None``: not now: no helper could start, another set of helpers
    is at work, or a capture came before the first was made; those made before a capture
    came are kept). What a store's upkeep thread runs in quiet moments
    (``CaptureStore.when_idle``) once :func:`keep_summaries_up` asked for it, for the schema
    summaries and for ``flatten=True``'s parsed payloads (``hooklab.frame.FLAT_KIND``): the
    kernel only waits for the answers, so the GIL stays with the person's code and the
    webhooks that arrive. Where no helper can run (one CPU, ``parallel.PROCESSES = 0``),
    nothing is made in the background: the first ``schema()`` (or ``flatten=True``) makes
    them."""
    import time

    written = store.written_at
    now = time.monotonic()
    handed = _handed.setdefault(store, {}).setdefault(kind, {})
    for key in [k for k, at in handed.items() if now - at > _HANDED_FOR]:
        del handed[key]
    failed = _failed.setdefault(store, {}).setdefault(kind, set())
    found = [tuple(key) for key in store.unsummarized(kind, _HANDED + _BATCH + len(failed))]
    found = [key for key in found if key not in failed]
    missing = [key for key in found if key not in handed][:_BATCH]  # (handed: being kept)
    if not missing:
        return None if found else False  # (ask again: a handed one may have been dropped)
    helpers = parallel.start(getattr(store, "path", None), missing, task=task, least=1,
                             per=len(missing), spare=0, newest_first=False, nice=_NICE,
                             background=True)
    if helpers is None:
        return None
    made: list[tuple[int, int, int, bytes]] = []
    came = False
    try:
        closing = getattr(store, "closing", None)
        give_up = None if closing is None else (lambda: store.closing)
        for key in missing:
            blob = helpers.answer(key, give_up=give_up)
            if blob:
                made.append((*key, blob))
            elif helpers.running and len(failed) < _FAILED:
                failed.add(key)  # (answered nothing: not handed out again)
            if store.written_at != written or helpers.preempted or (give_up and give_up()):
                came = True  # a capture (or a call that waits) came: the rest waits for
                break  # the next quiet moment
    finally:
        helpers.close()
    if not made:  # (the helper could give none: not again until segments change)
        return None if came else False
    kept = store.keep_summaries(kind, made)
    if kept:
        at = time.monotonic()
        for first, last, n, _blob in made:
            handed[(first, last, n)] = at
        while len(handed) > _HANDED:
            del handed[min(handed, key=handed.__getitem__)]
    return kept


def _split_bodies(pack: Any) -> list[bytes]:
    """The bodies of one pack of ``CaptureStore.packed_columns()`` as bytes."""
    if not isinstance(pack, tuple):  # a large_binary array
        return pack.to_pylist()
    from ..store import inflate

    _, blob, offsets, size = pack
    data = inflate(blob, size)  # (exactly its size, or DamagedSegment: a ValueError)
    offs = offsets.tolist()
    return [data[a:b] for a, b in zip(offs, offs[1:], strict=False)]


def _building(fn: Any) -> Any:
    """Run ``fn`` with the garbage collector paused (millions of fresh containers, no cycles)."""
    was = gc.isenabled()
    gc.disable()
    try:
        return fn()
    finally:
        if was:
            gc.enable()


class _Cached:
    """A builder kept between ``schema()`` calls with the same filters: the next call reads
    only the captures stored since (``last_id``), after checking none of those it has read
    were deleted (``processed`` of them must still be there)."""

    __slots__ = ("builder", "last_id", "lock", "processed")

    def __init__(self) -> None:
        self.builder = SchemaBuilder()
        self.last_id = 0
        self.processed = 0
        self.lock = threading.Lock()


#: filter sets whose builders are kept per store (least recently used dropped first)
CACHED_FILTERS = 4
_cache: weakref.WeakKeyDictionary[Any, OrderedDict[tuple[Any, ...], _Cached]] = (
    weakref.WeakKeyDictionary())
_cache_lock = threading.Lock()


def _key(filters: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in filters.items()))


def _still_there(store: CaptureStore, filters: dict[str, Any], last_id: int) -> int:
    """How many captures matching ``filters`` with an id up to ``last_id`` the store has: all
    matching minus the newer ones, in one statement (one snapshot). Counting all of them is
    what SQLite does fastest (a covering index); ``id <= ?`` would walk the table itself."""
    plan = getattr(store, "_plan", None)  # (a SQLite store's: the twin as its table allows)
    where, args = where_clause(filters, plan(filters) if plan is not None else None)
    newer = f"{where}{' AND' if where else ' WHERE'} id > ?"
    sql = (f"SELECT (SELECT count(*) FROM captures{where})"
           f" - (SELECT count(*) FROM captures{newer})")
    with store.read_connection() as db:
        return int(db.execute(sql, [*args, *args, last_id]).fetchone()[0])


def _update(store: CaptureStore, filters: dict[str, Any], entry: _Cached,
            reveal: bool = True) -> pd.DataFrame:
    if entry.processed and _still_there(store, filters, entry.last_id) != entry.processed:
        entry.builder, entry.last_id, entry.processed = SchemaBuilder(), 0, 0  # deletions
    if not entry.processed:  # a first call: from segment summaries where the filters allow
        got = _from_summaries(store, entry.builder, filters)
        if got is not None:  # (captures stored meanwhile are read by the next call)
            entry.last_id, entry.processed = got
            return entry.builder.frame(reveal)
    since = filters.get("since") or 0
    after = max(since, entry.last_id)
    for rows in _chunks(store, {**filters, "since": after} if after else filters):
        entry.builder.add(rows)
        entry.last_id = rows[-1][0]
        entry.processed += len(rows)
    return entry.builder.frame(reveal)


_idle_stores: weakref.WeakSet[Any] = weakref.WeakSet()


def keep_summaries_up(store: CaptureStore) -> None:
    """Have ``store``'s upkeep thread make the schema summary of every column segment that
    has none, and the parsed payloads ``flatten=True`` keeps (``hooklab.frame.FLAT_KIND``),
    in quiet moments (``CaptureStore.when_idle``), so that a first ``schema()`` or
    ``dataframe(flatten=True)`` of any lab on this file reads those instead of parsing every
    body. A lab asks for it when it starts serving, and on its first ``schema()``. They are
    made by a helper process (:func:`summarize_segment`); the upkeep thread only waits for
    them and imports nothing. Idempotent; on a store without an upkeep thread (in memory,
    read-only) the work is never run; a Parquet dataset has no ``when_idle`` and is skipped.

    >>> keep_summaries_up(lab.store)
    """
    when_idle = getattr(store, "when_idle", None)
    if when_idle is None or store in _idle_stores:
        return
    from ..frame import FLAT_KIND

    _idle_stores.add(store)
    when_idle(partial(summarize_segment, store))
    when_idle(partial(summarize_segment, store, FLAT_KIND, "flat"))


def schema_frame(store: CaptureStore, *, reveal: bool = False, **filters: Any) -> pd.DataFrame:
    """The schema table of the captures in ``store`` matching ``filters`` (what
    ``lab.schema(**filters)`` returns), grouped by provider and event type; the ``example``
    of a field that may hold a credential hidden unless ``reveal`` (:func:`hide_examples`).

    The work is kept for the next call with the same filters, which then reads only the
    captures stored since (unless ``search=`` or a datetime ``since=`` is among the filters).
    An ``event_type`` holding a secret given to ``lab.secret`` after its captures were
    stored is ``[secret]``, as the capture's is in the live view and exports.
    """
    return _shown_event_types(store, _schema_frame(store, filters, reveal))


def _shown_event_types(store: Any, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its ``event_type`` values as ``store.shown_text`` shows them (each
    distinct value read once): a secret given with ``lab.secret`` after a capture was
    stored is ``[secret]``, as in one stored after it. The same frame when none changes."""
    shown = getattr(store, "shown_text", None)
    if shown is None or not getattr(store, "secrets", None) or not len(frame):
        return frame
    values = frame["event_type"]
    given = [v for v in values.dropna().unique() if isinstance(v, str)]
    changed = {v: w for v in given if (w := shown(v)) != v}
    if not changed:
        return frame
    out = frame.copy()
    out["event_type"] = values.map(lambda v: changed.get(v, v) if isinstance(v, str) else v)
    return out


def is_credential_field(field: str) -> bool:
    """Whether a schema ``field`` (a dotted path) may hold a credential: any of its names is
    one a form or query field is hidden by (:func:`hooklab.credentials.is_sensitive_field`),
    whatever the body's kind, as the live view's Tree tab decides.

    >>> [is_credential_field(f) for f in ("password", "data.api_key", "user[token]",
    ...                                   "data.lines[].secret", "data.amount", "(body)")]
    [True, True, True, True, False, False]
    """
    # (one rule with the views: a field's names joined by "." are judged as one JSON key is)
    return is_credential_key(field)


def hide_examples(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (a schema table made with ``reveal=True``) with the ``example`` of every
    credential field (:func:`is_credential_field`) replaced by its length, as the live view
    shows it: a notebook showing ``lab.schema()`` keeps its output when saved. The length is
    the value's, read back from the example's JSON text (a string's characters, not its
    quotes: ``"hunter2"`` is 7), a note after it kept; an example cut short at
    :data:`EXAMPLE_CHARS` shows ``<hidden>``. (:func:`schema_frame` hides them from the
    values themselves.)

    >>> import pandas as pd
    >>> t = pd.DataFrame({"field": ["password", "data.api_key", "user"], "example": ['"hunter2"', "1234", '"bob"']})
    >>> hide_examples(t)["example"].tolist()
    ['<hidden: 7 chars>', '<hidden: 4 chars>', '"bob"']
    """
    if not len(frame):
        return frame
    hide = frame["field"].map(is_credential_field).to_numpy(bool) & frame["example"].notna().to_numpy()
    if not hide.any():
        return frame
    out = frame.copy()
    out.loc[hide, "example"] = [_hidden_text(str(v)) for v in out.loc[hide, "example"]]
    return out


def _hidden_text(text: str) -> str:
    """:func:`_hidden_example` of the value an example's text shows (``<hidden>`` when it
    cannot be read back), with the note after it (``" (...)"``) kept."""
    try:
        value, end = json.JSONDecoder().raw_decode(text)
    except ValueError:
        return "<hidden>"
    rest = text[end:]
    if rest and not rest.startswith(" ("):
        return "<hidden>"
    return _hidden_example(value) + rest


def _schema_frame(store: CaptureStore, filters: dict[str, Any], reveal: bool = True) -> pd.DataFrame:
    f = validate(filters, provider_check=store.provider_check)
    _hash_check()  # (imports the string hash here, not on the upkeep thread)
    keep_summaries_up(store)
    if "search" in f or isinstance(f.get("since"), datetime):

        def build() -> pd.DataFrame:
            b = SchemaBuilder()
            for rows in _chunks(store, f):
                b.add(rows)
            return b.frame(reveal)

        return _building(build)
    key = _key(f)
    with _cache_lock:
        per_store = _cache.setdefault(store, OrderedDict())
        entry = per_store.get(key)
        if entry is None:
            entry = per_store[key] = _Cached()
        per_store.move_to_end(key)
        while len(per_store) > CACHED_FILTERS:
            per_store.popitem(last=False)
    with entry.lock:
        return _building(lambda: _update(store, f, entry, reveal))


def json_schema(store: CaptureStore, event_type: str | None, **filters: Any) -> dict[str, Any]:
    """Draft 2020-12 JSON Schema inferred from the captures with ``event_type`` (all providers
    sending it, unless ``provider=`` narrows them); ``None``: from the captures matching
    ``filters`` that have no event type (your own app's webhooks, say). It validates what
    each capture it came from gives: ``capture.json()`` of a JSON body, ``capture.form()`` of
    a form (each field the list of its values, strings; Slack's ``payload=`` a string whose
    ``contentSchema`` describes the JSON it holds).

    >>> json_schema(lab.store, None, bin="orders")["properties"]["order_id"]  # doctest: +SKIP
    {'type': 'integer'}
    """
    if event_type is None:
        return _json_schema_without_event_type(store, filters)
    if not isinstance(event_type, str) or not event_type:
        raise TypeError(
            f"json_schema() needs an event type, e.g. lab.json_schema('invoice.paid'), not "
            f"{event_type!r}; json_schema(None, bin=...) describes the captures without one")
    if filters.get("event_type") not in (None, event_type):
        raise ValueError("event_type given twice with different values")
    filters = {**filters, "event_type": event_type}

    def build() -> dict[str, Any]:
        _hash_check()  # (the string hash imported on this thread, before any worker's)
        b = SchemaBuilder()  # by provider: from the summaries when only one sends it
        if _from_summaries(store, b, validate(filters, provider_check=store.provider_check)) is None or len(b.groups) > 1:
            b = SchemaBuilder(group=False)  # (several: read in the order they arrived, so
            for rows in _chunks(store, filters):  # that properties keep that order)
                b.add(rows)
        if not b.groups:
            raise LookupError("no captures to infer a schema from")
        return b.json_schema(event_type)

    try:
        return _building(build)
    except LookupError:
        others = {k: v for k, v in filters.items() if k != "event_type"}
        more = f" and {describe(others)}" if others else ""
        raise LookupError(f"no captures with event_type={event_type!r}{more}") from None


def _json_schema_without_event_type(store: CaptureStore, filters: dict[str, Any]) -> dict[str, Any]:
    """:func:`json_schema` of the captures matching ``filters`` that have no event type (one
    schema across the providers that sent them)."""
    f = validate(filters, provider_check=store.provider_check)

    def unnamed(rows: Sequence[Sequence[Any]]) -> list[Sequence[Any]]:
        return [r for r in rows if r[3] is None]  # (row[3]: the event type)

    def build() -> dict[str, Any]:
        _hash_check()  # (the string hash imported on this thread, before any worker's)
        b = SchemaBuilder()  # by provider: from the summaries when only one sent them
        if _from_summaries(store, b, f) is None:
            b = SchemaBuilder()
            for rows in _chunks(store, filters):
                b.add(unnamed(rows))
        keys = [k for k in b.groups if k[1] is None]
        if len(keys) > 1:  # several providers: read in the order they arrived (see above)
            b = SchemaBuilder(group=False)
            for rows in _chunks(store, filters):
                b.add(unnamed(rows))
        else:
            b.groups = {k: b.groups[k] for k in keys}
        if not b.groups:
            raise LookupError("no captures to infer a schema from")
        return b.json_schema()

    try:
        return _building(build)
    except LookupError:
        raise LookupError(f"no captures without an event type and {describe(filters)}"
                          if filters else "no captures without an event type") from None
