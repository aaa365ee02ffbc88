"""Rows of ``schema()`` that share a name: the literal key's first, whatever came first.

README: ``{"a.b": 1, "a": {"b": 2}}`` gives ``schema()`` two rows named ``a.b``, the literal
key's first. That held only while ``a`` was new: once an earlier capture had a field ``a`` (or
the body wrote ``"a"`` before ``"a.b"``) the nested row came first. Each case lists the bodies,
in the order they arrive, and the rows expected, written from the bodies: the rows of one name
take the places they took, the one of fewest keys (the literal key) first, each with its own
example; every other row keeps its place.
"""

from __future__ import annotations

import json

import pytest
from _import_records import imported_lab

pytest.importorskip("duckdb")
pytestmark = pytest.mark.timeout(180)

#: (case, bodies in order, [(field, example), ...] expected for the fields named)
CASES = [
    ("readme", [{"a.b": 1, "a": {"b": 2}}],
     [("(body)", None), ("a.b", "1"), ("a", None), ("a.b", "2")]),
    ("a-seen-before", [{"a": 0}, {"a.b": 1, "a": {"b": 2}}],
     [("(body)", None), ("a", "0"), ("a.b", "1"), ("a.b", "2")]),
    ("nested-written-first", [{"a": {"b": 2}, "a.b": 1}],
     [("(body)", None), ("a", None), ("a.b", "1"), ("a.b", "2")]),
    ("three-spellings", [{"a": {"b": {"c": 3}}}, {"a.b": {"c": 2}}, {"a.b.c": 1}],
     [("(body)", None), ("a", None), ("a.b", None), ("a.b.c", "1"), ("a.b", None),
      ("a.b.c", "2"), ("a.b.c", "3")]),
    ("in-an-array", [{"x": [{"a": {"b": 2}}]}, {"x": [{"a.b": 1}]}],
     [("(body)", None), ("x", None), ("x[]", None), ("x[].a", None), ("x[].a.b", "1"),
      ("x[].a.b", "2")]),
    ("no-clash-order-kept", [{"z": 1, "a": {"b": 2}, "m": 3}],
     [("(body)", None), ("z", "1"), ("a", None), ("a.b", "2"), ("m", "3")]),
]


@pytest.mark.parametrize("engine", ["sqlite", "parquet"])
@pytest.mark.parametrize(("case", "bodies", "want"), CASES, ids=[c[0] for c in CASES])
def test_rows_of_one_name_literal_key_first(tmp_path, engine: str, case: str,  # noqa: ANN001
                                            bodies: list[dict], want: list[tuple]) -> None:
    s = imported_lab(tmp_path, [json.dumps(b).encode() for b in bodies], engine).schema()
    got = [(f, None if e is None or e != e else e) for f, e in zip(s.field, s.example, strict=True)]
    assert got == want, case
