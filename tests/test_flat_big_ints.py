"""Integers past 2**53 and past int64 in ``dataframe(flatten=True)``'s ``payload.*`` columns:
the same dtype and the same exact values on every path the frame can take.

An id must never change silently. Within int64 a column of integers is int64, nullable
``Int64`` (``<NA>``) where a row lacks a value past 2**53, float64 beside floats unless a
value is past 2**53 (then an object column holding each exactly: 2**53 + 1 had become the
float 2**53). An integer int64 cannot hold but ``capture.json()`` reads exactly (2**63 to
2**64 - 1, and past 64 bits: 2**64, -2**63 - 1, a wei amount) is an object column of
Python ints, ``None`` where the body says ``null``, NaN where it lacks the field: alone or
beside anything (it was uint64 alone, float64 beside a small integer, a null or a missing
row, float64 again in the long way; past 64 bits the json column read a float, and so did
the frame).

Each case is a store of four captures: two with the value, two with its neighbour (a small
integer, a float, ``null`` or no field at all; "alone": the value again). The paths: Arrow's
reader (fresh captures), the long way (another field's type disagrees between the bodies),
the parsed payloads kept for a sealed segment (4,096 captures: read by a second call, and by
``hooklab.open`` in a new process), a serving lab that received the bodies over HTTP, and a
Parquet export opened with ``hooklab.open``. Real files, sockets on 127.0.0.1 only.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
import urllib.request
from typing import Any

import pandas as pd
import pytest
from _flat_frames import missing_kind
from _flat_stores import SEG, store_of

import hooklab
from hooklab.frame import FLAT_KIND, FLAT_UNREADABLE

pytestmark = pytest.mark.timeout(600)

NAN = object()  # expected: a float NaN (no such field in that body)
NA = object()  # expected: pandas' <NA> (an Int64 column's missing value)

# (value, its neighbour, dtype of payload.v, cell of the value's rows, cell of the neighbour's)
TABLE: list[tuple[int, str, str, Any, Any]] = [
    (2**53, "alone", "int64", 9007199254740992, 9007199254740992),
    (2**53, "small", "int64", 9007199254740992, 1),
    (2**53, "float", "float64", 9007199254740992.0, 0.5),  # (a float holds 2**53 exactly)
    (2**53, "null", "float64", 9007199254740992.0, NAN),
    (2**53, "missing", "float64", 9007199254740992.0, NAN),
    (2**53 + 1, "alone", "int64", 9007199254740993, 9007199254740993),
    (2**53 + 1, "small", "int64", 9007199254740993, 1),
    (2**53 + 1, "float", "object", 9007199254740993, 0.5),
    (2**53 + 1, "null", "Int64", 9007199254740993, NA),
    (2**53 + 1, "missing", "Int64", 9007199254740993, NA),
    (2**63 - 1, "alone", "int64", 9223372036854775807, 9223372036854775807),
    (2**63 - 1, "small", "int64", 9223372036854775807, 1),
    (2**63 - 1, "float", "object", 9223372036854775807, 0.5),
    (2**63 - 1, "null", "Int64", 9223372036854775807, NA),
    (2**63 - 1, "missing", "Int64", 9223372036854775807, NA),
    (-(2**63), "alone", "int64", -9223372036854775808, -9223372036854775808),
    (-(2**63), "small", "int64", -9223372036854775808, 1),
    (-(2**63), "float", "object", -9223372036854775808, 0.5),
    (-(2**63), "null", "Int64", -9223372036854775808, NA),
    (-(2**63), "missing", "Int64", -9223372036854775808, NA),
    (2**63, "alone", "object", 9223372036854775808, 9223372036854775808),
    (2**63, "small", "object", 9223372036854775808, 1),
    (2**63, "float", "object", 9223372036854775808, 0.5),
    (2**63, "null", "object", 9223372036854775808, None),
    (2**63, "missing", "object", 9223372036854775808, NAN),
    (2**63 + 5, "alone", "object", 9223372036854775813, 9223372036854775813),
    (2**63 + 5, "small", "object", 9223372036854775813, 1),
    (2**63 + 5, "float", "object", 9223372036854775813, 0.5),
    (2**63 + 5, "null", "object", 9223372036854775813, None),
    (2**63 + 5, "missing", "object", 9223372036854775813, NAN),
    (2**64 - 1, "alone", "object", 18446744073709551615, 18446744073709551615),
    (2**64 - 1, "small", "object", 18446744073709551615, 1),
    (2**64 - 1, "float", "object", 18446744073709551615, 0.5),
    (2**64 - 1, "null", "object", 18446744073709551615, None),
    (2**64 - 1, "missing", "object", 18446744073709551615, NAN),
    *[(v, beside, "object", v, {"alone": v, "small": 1, "float": 0.5, "null": None}.get(beside, NAN))
      for v in (2**64, -(2**63) - 1, 10**24 + 1)
      for beside in ("alone", "small", "float", "null", "missing")],
]

NEIGHBOUR = {"small": b"1", "float": b"0.5", "null": b"null"}


def bodies_of(value: int, beside: str, long_way: bool, rows: int = 4) -> list[bytes]:
    """Two bodies with ``value`` then two with its neighbour, repeated to ``rows``. The long
    way: a field ``z`` that is a number in one body of each pair and text in the other."""
    out = []
    for i in range(rows):
        z = (b'"t"' if i % 2 else b"1") if long_way else b"%d" % i
        if i % 4 < 2 or beside == "alone":
            out.append(b'{"v": %d, "z": %s}' % (value, z))
        elif beside == "missing":
            out.append(b'{"z": %s}' % z)
        else:
            out.append(b'{"v": %s, "z": %s}' % (NEIGHBOUR[beside], z))
    return out


def cell(x: Any) -> tuple[Any, ...]:
    """A frame's value as (kind, value): NaN, <NA>, None and each type told apart."""
    return missing_kind(x) or (type(x).__name__, repr(x))


def want_cells(value_cell: Any, other_cell: Any, rows: int) -> list[tuple[Any, ...]]:
    def one(w: Any) -> tuple[Any, ...]:
        return ("nan",) if w is NAN else ("NA",) if w is NA else cell(w)

    return [one(value_cell) if i % 4 < 2 else one(other_cell) for i in range(rows)]


def got_of(df: pd.DataFrame) -> tuple[str, list[tuple[Any, ...]]]:
    col = df["payload.v"]
    return str(col.dtype), [cell(x) for x in col.tolist()]


def wait(ok: Any, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while not ok() and time.monotonic() < end:
        time.sleep(0.05)
    assert ok()


def kept(path: str) -> list[bytes]:
    """What ``flatten=True`` kept for the file's segments."""
    db = sqlite3.connect(path)
    try:
        return [d for (d,) in db.execute(
            "SELECT data FROM segment_summaries WHERE kind = ?", (FLAT_KIND,))]
    except sqlite3.OperationalError:  # (no table yet)
        return []
    finally:
        db.close()


def frame_of(path: str) -> pd.DataFrame:
    lab = hooklab.open(path)
    try:
        return lab.dataframe(flatten=True)
    finally:
        lab.stop()


def check(got: dict[tuple[Any, ...], tuple[str, list[tuple[Any, ...]]]], rows: int) -> None:
    """Every case of :data:`TABLE` as written there; all the wrong ones listed at once."""
    wrong = []
    for value, beside, dtype, mine, other in TABLE:
        for key in [k for k in got if k[:2] == (value, beside)]:
            want = (dtype, want_cells(mine, other, rows))
            if got[key] != want:
                wrong.append((key, got[key], want))
    assert not wrong, "\n".join(map(repr, wrong))
    assert {k[:2] for k in got} == {(v, b) for v, b, *_ in TABLE}


def long_way_taken(df: pd.DataFrame, long_way: bool) -> None:
    z = df["payload.z"].tolist()
    if long_way:  # (the types disagree: the long way's object column)
        assert df["payload.z"].dtype == object and z == [1, "t"] * (len(z) // 2)
    else:
        assert z == list(range(len(z)))


@pytest.mark.parametrize("long_way", [False, True], ids=["arrow", "long way"])
def test_fresh_captures(tmp_path, long_way) -> None:
    """Captures of an open segment, parsed by this call: Arrow's reader, or the long way."""
    got = {}
    for n, (value, beside, *_) in enumerate(TABLE):
        path = str(tmp_path / f"c{n}.sqlite3")
        store_of(path, bodies_of(value, beside, long_way))
        df = frame_of(path)
        long_way_taken(df, long_way)
        got[(value, beside)] = got_of(df)
    check(got, 4)


NEW_PROCESS = r"""
import json, math, sys
import pandas as pd
import hooklab

def cell(x):
    if x is None:
        return ["None"]
    if x is pd.NA:
        return ["NA"]
    if isinstance(x, float) and math.isnan(x):
        return ["nan"]
    return [type(x).__name__, repr(x)]

out = []
for path in json.loads(sys.stdin.read()):
    lab = hooklab.open(path)
    try:
        col = lab.dataframe(flatten=True)["payload.v"]
    finally:
        lab.stop()
    out.append([str(col.dtype), [cell(x) for x in col.tolist()]])
print(json.dumps(out))
"""


@pytest.mark.parametrize("long_way", [False, True], ids=["arrow", "long way"])
def test_kept_segments_a_second_call_and_a_new_process(tmp_path, long_way) -> None:
    """A sealed segment, its parsed payloads kept in the file (or its mark: its bodies
    disagree): the first call, a second one, and ``hooklab.open`` in another process."""
    got: dict[tuple[Any, ...], Any] = {}
    paths = []
    for n, (value, beside, *_) in enumerate(TABLE):
        path = str(tmp_path / f"k{n}.sqlite3")
        store_of(path, bodies_of(value, beside, long_way, SEG))
        lab = hooklab.open(path)
        try:
            first = lab.dataframe(flatten=True)  # (parses the segment, and keeps it)
            wait(lambda: len(kept(path)) == 1)  # noqa: B023 - called here, in this pass
            second = lab.dataframe(flatten=True)
        finally:
            lab.stop()
        # the long way's mark, unless Python reads every body (none is Arrow's to refuse)
        everyone_python = beside == "alone" and not -(2**63) <= value < 2**63
        if long_way and not everyone_python:
            assert kept(path) == [FLAT_UNREADABLE], (value, beside)
        long_way_taken(first, long_way)
        got[(value, beside, "first")] = got_of(first)
        got[(value, beside, "second")] = got_of(second)
        paths.append(path)
    run = subprocess.run([sys.executable, "-c", NEW_PROCESS], input=json.dumps(paths),
                         capture_output=True, text=True, timeout=300, check=True)
    for (value, beside, *_), (dtype, cells) in zip(TABLE, json.loads(run.stdout), strict=True):
        got[(value, beside, "new process")] = (dtype, [tuple(c) for c in cells])
    check(got, SEG)


def post(url: str, body: bytes) -> None:
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert answer.status == 200


@pytest.mark.parametrize("long_way", [False, True], ids=["arrow", "long way"])
def test_a_serving_lab(tmp_path, long_way) -> None:
    """The bodies sent over HTTP to a running lab; each case in its own bin."""
    lab = hooklab.HookLab(port=0, db=str(tmp_path / "serving.sqlite3")).start()
    got = {}
    try:
        for n, (value, beside, *_) in enumerate(TABLE):
            for body in bodies_of(value, beside, long_way):
                post(lab.url_for(f"case{n}"), body)
        for n, (value, beside, *_) in enumerate(TABLE):
            df = lab.dataframe(flatten=True, bin=f"case{n}")
            long_way_taken(df, long_way)
            got[(value, beside)] = got_of(df)
    finally:
        lab.stop()
    check(got, 4)


@pytest.mark.parametrize("long_way", [False, True], ids=["arrow", "long way"])
def test_a_parquet_export_opened_again(tmp_path, long_way) -> None:
    """``lab.export(folder, fmt="parquet")`` read with ``hooklab.open(folder)``."""
    got = {}
    for n, (value, beside, *_) in enumerate(TABLE):
        path = str(tmp_path / f"p{n}.sqlite3")
        store_of(path, bodies_of(value, beside, long_way))
        folder = tmp_path / f"export{n}"
        lab = hooklab.open(path)
        try:
            assert lab.export(folder, fmt="parquet") == 4
        finally:
            lab.stop()
        df = frame_of(str(folder))
        long_way_taken(df, long_way)
        got[(value, beside)] = got_of(df)
    check(got, 4)


def test_the_json_column_reads_the_values_the_table_expects(tmp_path) -> None:
    """The table's premise: the frame's ``json`` column reads every integer exactly, as
    ``capture.json()`` does, past 64 bits too."""
    path = str(tmp_path / "json.sqlite3")
    values = [2**53 + 1, 2**63 - 1, -(2**63), 2**63, 2**63 + 5, 2**64 - 1, 2**64, -(2**63) - 1,
              10**24 + 1]
    store_of(path, [b'{"v": %d}' % v for v in values])
    lab = hooklab.open(path)
    try:
        column = [p["v"] for p in lab.dataframe()["json"].tolist()]
        read = [c.json()["v"] for c in lab.captures]
    finally:
        lab.stop()
    assert [cell(x) for x in column] == [cell(x) for x in values]
    assert [cell(x) for x in read] == [cell(x) for x in values]
