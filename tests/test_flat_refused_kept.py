"""``dataframe(flatten=True)`` of a lab made by ``hooklab.open`` on a store whose column segment
holds bodies that disagree on a field's type (a bool in some, a number in others): Arrow
cannot read the segment as one table and the frame takes the long way (pandas' types). The
first call keeps a mark for such a segment (``FLAT_UNREADABLE``, as a serving lab's quiet
moments keep it), replacing the segment's tables of an earlier layout, and later calls, in a
lab opened again, do not try Arrow on it again: each body is parsed once, by Python.
Nothing was kept before, so every call read the segment with Arrow, parsed it again in
Python, and again (three to four parses of each body); the frame stays what the first call
gives, column for column, dtype for dtype, value for value.

Real SQLite files with sealed segments (4,096 captures each) written by ``CaptureStore``,
opened with ``hooklab.open`` as a user would.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import numpy as np
import pandas as pd
import pytest
from _flat_stores import SEG, store_of, wait

import hooklab
from hooklab import frame as frame_mod
from hooklab.frame import FLAT_KIND, FLAT_UNREADABLE

pytestmark = pytest.mark.timeout(300)

MISSING = object()


def _v(i: int, a: Any, b: Any) -> Any:
    return a(i) if i % 2 else b(i)


# name -> (body of capture i, rows, {column: value of capture i as the frame holds it})
CASES: dict[str, tuple[Any, int, dict[str, Any]]] = {
    "bool / number": (
        lambda i: {"i": i, "created": _v(i, lambda i: True, lambda i: i)}, SEG + 40,
        {"payload.created": lambda i: _v(i, lambda i: True, lambda i: i)}),
    "number / text": (
        lambda i: {"i": i, "v": _v(i, lambda i: f"t{i}", lambda i: i * 0.5)}, SEG + 40,
        {"payload.v": lambda i: _v(i, lambda i: f"t{i}", lambda i: i * 0.5)}),
    "object / scalar": (
        lambda i: {"i": i, "o": _v(i, lambda i: {"a": i}, lambda i: "flat")}, SEG + 40,
        {"payload.o": lambda i: _v(i, lambda i: MISSING, lambda i: "flat"),
         "payload.o.a": lambda i: _v(i, lambda i: float(i), lambda i: MISSING)}),
    "list / scalar": (
        lambda i: {"i": i, "l": _v(i, lambda i: [i, "x"], lambda i: i)}, SEG + 40,
        {"payload.l": lambda i: _v(i, lambda i: [i, "x"], lambda i: i)}),
    "nested bool / float / text": (
        lambda i: {"d": {"e": {"f": [True, 1.5, "s"][i % 3]}}, "i": i}, SEG + 40,
        {"payload.d.e.f": lambda i: [True, 1.5, "s"][i % 3]}),
    "nested list / object, some missing": (
        lambda i: {"i": i, "d": {"x": [i] if i % 3 == 0 else {"y": i}} if i % 5 else {}},
        SEG + 40,
        {"payload.d.x": lambda i: [i] if (i % 5 and i % 3 == 0) else MISSING,
         "payload.d.x.y": lambda i: float(i) if (i % 5 and i % 3) else MISSING}),
    "two segments: number, then text": (
        lambda i: {"i": i, "v": i if i < SEG else f"t{i}"}, 2 * SEG + 40,
        {"payload.v": lambda i: i if i < SEG else f"t{i}"}),
    "big integer / bool": (
        lambda i: {"i": i, "id": _v(i, lambda i: False, lambda i: 2**60 + i)}, SEG + 40,
        {"payload.id": lambda i: _v(i, lambda i: False, lambda i: 2**60 + i)}),
}


def kept(path: str) -> dict[tuple[str, int], bytes]:
    db = sqlite3.connect(path)
    try:
        return {(k, f): d for k, f, d in db.execute(
            "SELECT kind, first_id, data FROM segment_summaries")}
    except sqlite3.OperationalError:
        return {}
    finally:
        db.close()


class Counted:
    """How often a body is parsed by Python, and which blocks Arrow is asked to read."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.parsed: list[int] = []
        self.blocks: list[int] = []
        parse, read = frame_mod._parse_one, frame_mod._read_block

        def parse_one(*args: Any) -> Any:
            self.parsed.append(1)
            return parse(*args)

        def read_block(b: Any, k: int) -> Any:
            self.blocks.append(k)
            return read(b, k)

        monkeypatch.setattr(frame_mod, "_parse_one", parse_one)
        monkeypatch.setattr(frame_mod, "_read_block", read_block)


def same(got: Any, want: Any) -> bool:
    if want is MISSING:
        return got is None or (not isinstance(got, (list, dict)) and pd.isna(got))
    if isinstance(want, list):
        return isinstance(got, list) and json.dumps(got) == json.dumps(want)
    return type(got) is type(want) and got == want


@pytest.mark.parametrize("case", list(CASES))
def test_the_long_way_is_marked_kept_and_the_next_frame_is_the_same(tmp_path, monkeypatch,
                                                                    case) -> None:
    body, n, columns = CASES[case]
    path = str(tmp_path / "disagree.sqlite3")
    store_of(path, [json.dumps(body(i)).encode() for i in range(n)])
    segments = n // SEG
    lab = hooklab.open(path)
    try:
        first = lab.dataframe(flatten=True)
        wait(lambda: len([k for k in kept(path) if k[0] == FLAT_KIND]) == segments)
        through_sql = frame_mod._frame(lab.store, {}, flatten=True, combined=False)
    finally:
        lab.stop()
    marks = [d for (k, _), d in kept(path).items() if k == FLAT_KIND]
    if case.startswith("two segments"):  # each segment alone is one table: kept as tables
        assert all(d[:4] == b"HLF1" for d in marks)
    else:
        assert marks == [FLAT_UNREADABLE] * segments

    count = Counted(monkeypatch)
    lab = hooklab.open(path)  # a fresh lab on the file
    try:
        again = lab.dataframe(flatten=True)
        parsed, blocks = len(count.parsed), sorted(set(count.blocks))
        again_2 = lab.dataframe(flatten=True)
    finally:
        lab.stop()
    monkeypatch.undo()
    # not read by Arrow again (only the rows after the segments), each body of the segments
    # parsed once (the rows after them are also tried in Arrow first, as no segment holds them)
    assert blocks == [segments], blocks
    assert parsed <= n + (n - segments * SEG), (parsed, n)
    for got in (again, again_2, through_sql):
        pd.testing.assert_frame_equal(got, first)
    assert list(again.columns) == list(first.columns)
    assert again.dtypes.tolist() == first.dtypes.tolist()

    # values, as the bodies hold them
    for col, want in columns.items():
        assert col in again.columns, (col, list(again.columns))
        values = again[col].tolist()
        for i in [*range(12), *range(SEG - 6, SEG + 6), n - 1]:
            assert same(values[i], want(i)), (case, col, i, values[i], want(i))
    assert again["payload.i"].tolist() == list(range(n))


def test_an_earlier_layouts_tables_are_replaced_by_the_mark(tmp_path) -> None:
    """After an upgrade, a segment kept as ``flat-4`` by an older hooklab: the first
    ``flatten=True`` of an opened lab keeps this layout's mark in its place (before, nothing
    was kept, and the old table stayed for good)."""
    n = SEG + 10
    path = str(tmp_path / "upgraded.sqlite3")
    store_of(path, [json.dumps({"i": i, "created": True if i % 2 else i}).encode() for i in range(n)])
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE IF NOT EXISTS segment_summaries (kind TEXT NOT NULL, first_id INTEGER"
        " NOT NULL, last_id INTEGER NOT NULL, rows INTEGER NOT NULL, data BLOB NOT NULL,"
        " PRIMARY KEY (kind, first_id))")
    db.execute("INSERT INTO segment_summaries VALUES ('flat-4', 1, ?, ?, x'00')", (SEG, SEG))
    db.commit()
    db.close()
    lab = hooklab.open(path)
    try:
        df = lab.dataframe(flatten=True)
        wait(lambda: (FLAT_KIND, 1) in kept(path))
    finally:
        lab.stop()
    assert kept(path) == {(FLAT_KIND, 1): FLAT_UNREADABLE}
    assert df["payload.created"].tolist()[:4] == [0, True, 2, True]
    assert df["payload.created"].dtype == np.dtype(object)
