"""The body as a collapsible tree of text rows, and what the live view says about one field.

Pure functions (no ipywidgets, no I/O). Rows are plain text for a ``Select`` (the browser shows
them as text, never as HTML); what reaches HTML (the field pane, the diff table) is escaped with
:func:`html.escape` after control and bidi characters were made visible.

>>> from hooklab.explore import read_payload
>>> t = Tree.of(read_payload(b'{"data": {"amount": 5, "tags": ["a", "b"]}}', "application/json"))
>>> [label for label, _ in t.rows()]
['▾ (body)  {1 key}', '  ▾ data  {2 keys}', '      amount: 5', '    ▸ tags  [2 items]']
>>> t.toggle(("data", "tags")); [label for label, _ in t.rows()][-2:]
['        [0]: "a"', '        [1]: "b"']
>>> path_text(("data", "tags", 1)), schema_path(("data", "tags", 1))
('data.tags[1]', ('data', 'tags', None))

Bounds: :data:`MAX_CHILDREN` children shown per object or array, :data:`MAX_ROWS` rows in all,
:data:`MAX_LABEL` characters of a value; indentation stops growing at :data:`MAX_INDENT` levels
(the depth is then written out). Bodies too deep or too large to parse are one row saying so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from html import escape
from itertools import islice
from typing import Any

from ..explore import Payload, column_name, field_name
from ..jsonread import json_text
from ._render import visible

__all__ = [
    "MAX_CHILDREN",
    "MAX_INDENT",
    "MAX_LABEL",
    "MAX_ROWS",
    "Tree",
    "diff_html",
    "field_html",
    "path_text",
    "schema_path",
]

MAX_CHILDREN = 200
MAX_ROWS = 2_000
MAX_LABEL = 80
MAX_INDENT = 24
#: depth the tree opens to when a capture is selected
OPEN_DEPTH = 2

Key = tuple[str | int, ...]
_MORE = object()  # the name of a "… N more not shown" row


def path_text(key: Key) -> str:
    """``("data", "lines", 0, "amount") -> "data.lines[0].amount"``; ``() -> "(body)"``."""
    if not key:
        return "(body)"
    out = ""
    for seg in key:
        if isinstance(seg, int):
            out += f"[{seg}]"
        else:
            out += f".{seg}" if out else seg
    return out


def schema_path(key: Key) -> tuple[str | None, ...]:
    """The path as ``schema`` names it: array positions become ``None`` (shown as ``[]``)."""
    return tuple(None if isinstance(seg, int) else seg for seg in key)


def _preview(value: Any) -> str:
    """One line of ``value``'s JSON text, cut at :data:`MAX_LABEL` characters. Built without
    recursion and only as far as shown (``json.dumps`` of a value 1,000 levels deep, which a
    body may hold, raised RecursionError in the Diff tab)."""
    if isinstance(value, float) and not math.isfinite(value):
        text = repr(value)
    else:
        try:  # (visible() only lengthens text: one character more than shown decides the cut)
            text = json_text(value, MAX_LABEL + 1)
        except (TypeError, ValueError):  # pragma: no cover - parsed JSON only
            text = repr(value)
    text = visible(text)
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


def _summary(value: Any) -> str:
    if isinstance(value, dict):
        n = len(value)
        return f"{{{n:,} key{'' if n == 1 else 's'}}}"
    n = len(value)
    return f"[{n:,} item{'' if n == 1 else 's'}]"


@dataclass
class Tree:
    """A body's tree: which nodes are open, and its visible rows ``(label, key)``."""

    value: Any = None
    explorable: bool = False
    kind: str = "empty"
    note: str | None = None
    form_json: frozenset[str] = frozenset()
    expanded: set[Key] = field(default_factory=set)

    @classmethod
    def of(cls, payload: Payload) -> Tree:
        t = cls(payload.value, payload.explorable, payload.root, payload.note, payload.form_json)
        if payload.explorable:
            t.open_to(OPEN_DEPTH)
        return t

    def node(self, key: Key) -> Any:
        """The value at ``key`` (``KeyError`` if it is not there)."""
        v = self.value
        for seg in key:
            if isinstance(v, dict) and isinstance(seg, str):
                v = v[seg]
            elif isinstance(v, list) and isinstance(seg, int):
                v = v[seg]
            else:
                raise KeyError(key)
        return v

    def is_container(self, key: Key) -> bool:
        try:
            return isinstance(self.node(key), (dict, list))
        except (KeyError, IndexError):
            return False

    def toggle(self, key: Key) -> None:
        """Open a closed object/array node, close an open one."""
        if key in self.expanded:
            self.expanded.discard(key)
        elif self.is_container(key):
            self.expanded.add(key)

    def open_to(self, depth: int) -> None:
        """Open every node above ``depth`` (bounded by :data:`MAX_ROWS`)."""
        self.expanded = {()}
        frontier: list[tuple[Key, Any]] = [((), self.value)]
        rows = 0
        for _ in range(depth - 1):
            nxt = []
            for key, v in frontier:
                for k, child in self._children(v):
                    rows += 1
                    if isinstance(child, (dict, list)) and child:
                        nxt.append(((*key, k), child))
            if rows > MAX_ROWS // 2:
                return
            for key, _v in nxt:
                self.expanded.add(key)
            frontier = nxt

    def close_all(self) -> None:
        self.expanded = {()}

    @staticmethod
    def _children(v: Any, limit: int = MAX_CHILDREN) -> list[tuple[str | int, Any]]:
        """The first ``limit`` (key, value) pairs of an object or array."""
        if isinstance(v, dict):
            return list(islice(v.items(), limit))
        if isinstance(v, list):
            return list(enumerate(v[:limit]))
        return []

    def rows(self) -> list[tuple[str, Key | None]]:
        """Visible rows, top down: ``(text label, node key)``; notes have key ``None``."""
        if not self.explorable:
            why = f": {self.note}" if self.note else ""
            return [(visible(f"(body) {self.kind}{why} — no fields to show"), None)]
        out: list[tuple[str, Key | None]] = []
        stack: list[tuple[Key, Any, Any, int]] = [((), self.value, None, 0)]
        while stack:
            key, v, name, depth = stack.pop()
            if len(out) >= MAX_ROWS:
                out.append((f"… the tree stops at {MAX_ROWS:,} rows: close some nodes", None))
                break
            if name is _MORE:
                out.append(("  " * min(depth, MAX_INDENT) + "  " + v, None))
                continue
            out.append((self._label(key, v, name, depth), key))
            if isinstance(v, (dict, list)) and key in self.expanded:
                more = len(v) - MAX_CHILDREN
                if more > 0:
                    what = "keys" if isinstance(v, dict) else "items"
                    stack.append(((), f"… {more:,} more {what} not shown", _MORE, depth + 1))
                for k, child in reversed(self._children(v)):
                    stack.append(((*key, k), child, k, depth + 1))
        return out

    def _label(self, key: Key, v: Any, name: str | int | None, depth: int) -> str:
        indent = "  " * min(depth, MAX_INDENT) + (f"⋯{depth} " if depth > MAX_INDENT else "")
        if name is None:
            title = "(body)"
        elif isinstance(name, int):
            title = f"[{name}]"
        else:
            title = visible(name)
            if len(title) > MAX_LABEL:
                title = title[: MAX_LABEL - 1] + "…"
        if isinstance(v, (dict, list)):
            mark = "▾" if key in self.expanded else "▸"
            extra = "  (JSON in a form field)" if len(key) == 1 and key[0] in self.form_json else ""
            if not key and self.kind == "form":
                extra = "  (form fields)"
            return f"{indent}{mark} {title}  {_summary(v)}{extra}"
        return f"{indent}  {title}: {_preview(v)}"


# -- HTML panes (all escaped) --------------------------------------------------------------------
def _e(s: Any) -> str:
    return escape(visible(str(s)), quote=True)


def _kv(rows: list[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
    return f'<table class="hl-kv">{body}</table>'


def field_html(key: Key, value: Any, schema_row: dict[str, Any] | None, sample_note: str) -> str:
    """The pane under the tree: the field's paths, its value type and its ``schema`` row."""
    sp = schema_path(key)
    col = column_name(sp)
    rows = [
        ("path", path_text(key)),
        ("schema field", field_name(sp)),
        ("flatten=True column", col if col else "— (the body itself is not a column)"),
    ]
    if col and None in sp:
        rows.append(("", "the column holds the whole list; items are inside it"))
    kind = ("object" if isinstance(value, dict) else "array" if isinstance(value, list)
            else type(value).__name__)
    rows.append(("value", _summary(value) if isinstance(value, (dict, list)) else f"{_preview(value)} ({kind})"))
    out = '<div class="hl-field">' + _kv(rows)
    if schema_row is None:
        out += f'<div class="hl-none">{_e("no schema row for this field " + sample_note)}</div>'
    else:
        shown = [
            ("types", schema_row["types"]),
            ("present", f"{schema_row['present']:.0%} of the captures"),
            ("count", f"{schema_row['count']:,} values"),
            ("distinct", "—" if schema_row["distinct"] is None else f"{schema_row['distinct']:,}"),
            ("example", schema_row["example"] if schema_row["example"] is not None else "—"),
            ("first seen", schema_row["first_seen"]),
            ("last seen", schema_row["last_seen"]),
        ]
        out += f"<h4>{_e('schema row ' + sample_note)}</h4>" + _kv(shown)
    return out + "</div>"


#: diff rows shown at most in the live view (the rest is counted)
DIFF_SHOWN = 200


def diff_html(rows: list[tuple[str, str, Any, Any]] | None, title: str, notes: list[str], *,
              headers: bool = False) -> str:
    """The diff pane: one escaped table row per changed field; ``rows`` None: nothing was
    compared (no earlier delivery), said as such, not as "no differences" (which an empty
    ``rows`` is: of the payload, ``headers`` of the headers too, as ``lab.diff`` gives an
    empty frame). ``notes`` (bounds reached) are shown in every case, as ``lab.diff`` warns.

    >>> diff_html(None, "#1: no earlier delivery of push is stored", [])
    '<div class="hl-title">#1: no earlier delivery of push is stored</div><div class="hl-none">nothing to compare</div>'
    """
    head = f'<div class="hl-title">{_e(title)}</div>'
    tail = "".join(f'<div class="hl-none">{_e(n)}</div>' for n in notes)
    if rows is None:
        return head + '<div class="hl-none">nothing to compare</div>' + tail
    if not rows:
        what = "the payload or headers" if headers else "the payload"
        return head + f'<div class="hl-none">no differences in {what}</div>' + tail
    missing = object()

    def cell(change: str, side: str, v: Any) -> str:
        if (change == "added" and side == "a") or (change == "removed" and side == "b"):
            return "—"
        return _preview(v) if v is not missing else "—"

    body = "".join(
        f"<tr><th>{_e(f)}</th><td>{_e(c)}</td><td>{_e(cell(c, 'a', a))}</td>"
        f"<td>{_e(cell(c, 'b', b))}</td></tr>"
        for f, c, a, b in rows[:DIFF_SHOWN]
    )
    more = len(rows) - DIFF_SHOWN
    if more > 0:
        tail = f'<div class="hl-none">{more:,} more rows: use lab.diff()</div>' + tail
    return (head + '<table class="hl-kv hl-diff"><tr><th>field</th><th>change</th><th>previous</th>'
            f"<th>this</th></tr>{body}</table>" + tail)
