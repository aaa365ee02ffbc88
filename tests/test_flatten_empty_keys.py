"""``dataframe(flatten=True)`` names a field under an empty JSON key as ``pandas.json_normalize``
does, whichever way a body is read.

A field under a leading empty key (``{"": {"e": 1}}``) was ``payload..e`` when Arrow read the
body and ``payload.e`` (json_normalize's name, which README promises) when Python did (a body
that also held a dotted key): two deliveries of one shape put the field in two columns of one
frame, and the live view's Tree named ``payload..e``. Every expected column name and value
here comes from running ``pandas.json_normalize`` on the same bodies (the independent
oracle), through a serving lab on 127.0.0.1 with a SQLite file (Arrow's reader beside
Python's, in one frame), and through a store whose segments are sealed and kept (the kept
segment tables, read twice) opened with ``hooklab.open``.

Collisions, as json_normalize has them: a top-level key ``"a.b"`` beside ``{"a": {"b": ...}}``
and ``"e"`` beside ``{"": {"e": ...}}`` are one column, and the nested field's value wins
(json_normalize writes the top level's plain values first, the objects' fields after them).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from _flat_stores import SEG, store_of
from _http import post_each

import hooklab
from hooklab import HookLab

pytestmark = pytest.mark.timeout(600)

# (case, bodies: each delivered in turn; plain ones beside so that Arrow reads some rows)
CASES: list[tuple[str, list[dict[str, Any]]]] = [
    ("the report: empty key, then beside a dotted key",
     [{"": {"e": 1}, "id": "A"}, {"": {"e": 2}, "id": "B", "meta.v": 1}, {"id": "C"}]),
    ("an empty key with a value", [{"": 1, "id": "A"}, {"id": "B"}]),
    ("a key that is a dot", [{".": 1, "id": "A"}, {".": {"x": 2}, "id": "B"}]),
    ("a key ending in a dot", [{"a.": {"x": 1}}, {"a.": {"x": 2}, "id": "B"}]),
    ("a key starting with a dot", [{".a": 1}, {".a": {"b": 2}}]),
    ("a key with two dots", [{"a..b": 1}, {"a": {"": {"b": 2}}}]),
    ("empty keys nested", [{"": {"": {"x": 1}}}, {"": {"": {"x": 2}}, "y": 1}, {"x": {"": 3}}]),
    ("an empty key under a named one", [{"a": {"": {"b": 1}}}, {"a": {"": 2}}]),
    ("an empty key under one", [{"": {"e": {"": 1}}}, {"q": 1}]),
    ("a dotted key equals another field's path", [{"a": {"b": 1}, "a.b": 2}, {"a": {"b": 3}}]),
    ("a key equals the path under an empty key", [{"": {"e": 1}, "e": 2}, {"e": 3}]),
]
IDS = [c[0] for c in CASES]


def _rows(frame: pd.DataFrame, prefix: str = "") -> list[dict[str, Any]]:
    """Each row's present values by column (NaN and None: absent), the column names without
    ``prefix``."""
    def present(v: Any) -> bool:
        return v is not None and not (isinstance(v, float) and math.isnan(v))
    return [{c.removeprefix(prefix): (int(v) if isinstance(v, float) and v.is_integer() else v)
             for c, v in row.items() if present(v)} for row in frame.to_dict("records")]


def _oracle(bodies: list[dict[str, Any]]) -> tuple[set[str], list[dict[str, Any]]]:
    flat = pd.json_normalize(bodies)
    return {"payload." + c for c in flat.columns}, _rows(flat)


def _payload(df: pd.DataFrame) -> pd.DataFrame:
    return df[[c for c in df.columns if c.startswith("payload.")]]


@pytest.mark.parametrize("case, bodies", CASES, ids=IDS)
def test_flatten_names_empty_keys_as_json_normalize(file_lab: HookLab, case: str,
                                                    bodies: list[dict[str, Any]]) -> None:
    port = int(file_lab.url.rsplit(":", 1)[1])
    assert post_each(port, "/t", [json.dumps(b).encode() for b in bodies]) == [200] * len(bodies)
    file_lab.wait(len(bodies))
    columns, rows = _oracle(bodies)
    df = _payload(file_lab.dataframe(flatten=True))
    assert set(df.columns) == columns, case
    assert len(df.columns) == len(columns)  # (no column twice)
    assert _rows(df, "payload.") == rows, case
    for cap in file_lab.captures:  # (the Tree's column of each leaf: the frame's)
        for path, column in _leaf_columns(cap.json()):
            assert hooklab.explore.column_name(path) == column and column in columns


def _leaf_columns(body: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], str]]:
    """(path, its json_normalize column) of each leaf of ``body`` (an object): the column
    found by normalizing the body with only that leaf kept."""
    out = []
    for k, v in body.items():
        if isinstance(v, dict) and v:
            out += [(p, c) for p, c in _leaf_columns(v, (*path, k))]
        else:
            only: Any = v
            for key in reversed((*path, k)):
                only = {key: only}
            (name,) = pd.json_normalize(only).columns
            out.append(((*path, k), "payload." + name))
    return out


def test_kept_segment_tables_name_them_as_json_normalize(tmp_path: Path) -> None:
    """Segments sealed and kept (the store keeps their columns): bodies with empty keys Arrow
    reads (no dotted key, no field both an object and a number: those go to Python) in turn,
    past one segment; the frame, made twice (the second from kept tables), has the columns
    and values json_normalize gives."""
    every = [{"": {"e": 1}, "id": "A"}, {"": {"e": 2, "": {"f": 3}}, "id": "B"},
             {"x": {"": 3}}, {"id": "C", "w": {"": {"": {"z": 1}}}}]
    plain = [{"id": f"P{i}", "n": i} for i in range(64)]  # (rows Arrow reads in each segment)
    bodies = [(every + plain)[i % (len(every) + len(plain))] for i in range(SEG + 50)]
    path = str(tmp_path / "kept.sqlite3")
    store_of(path, [json.dumps(b).encode() for b in bodies])
    columns, rows = _oracle(bodies)
    lab = hooklab.open(path)
    try:
        for _ in range(2):
            df = _payload(lab.dataframe(flatten=True))
            assert set(df.columns) == columns and len(df.columns) == len(columns)
            assert _rows(df, "payload.") == rows
    finally:
        lab.stop()
