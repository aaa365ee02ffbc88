"""``dataframe(flatten=True)``'s dtypes when some rows are read the long way (by Python).

A body Arrow's reader cannot take as it is (a NaN, an infinity, a lone surrogate, an integer
past 64 bits, a body nested deeper than Arrow's columns go) is parsed by Python and its row
combined with the rows Arrow read. That combination made every integer column float64 and
every boolean column objects, in every row: ``{"n": 1, "f": NaN}`` then ``{"n": 2}`` gave
``payload.n`` ``[1.0, 2.0]`` where ``{"n": 1, "f": 1.5}`` then ``{"n": 2}`` gives int64
``[1, 2]``. A column's dtype must not depend on which reader read a row: an integer field
every body has is int64, one some bodies lack (or hold ``null``) float64 with NaN there (as
``pandas.json_normalize`` makes it: the README's "A million captures"), booleans ``bool``.

Each case is one hostile field ``h`` (in every fourth body) beside integer, float, boolean,
string and nested-object fields, present in every body, missing in some (the hostile ones,
or others) or ``null`` in some. The expected dtypes and values are written out below; the
row without a hostile field (``None``) is Arrow's reading of the same bodies, and gives the
same columns. Paths: a fresh store file, a serving lab that received the bodies over HTTP,
a sealed column segment read by a first and a second call (its parsed payloads kept), and a
Parquet export opened with ``hooklab.open``. Real files, sockets on 127.0.0.1 only.
"""

from __future__ import annotations

import json
import math
import sqlite3
import time
import urllib.request
from typing import Any

import pandas as pd
import pytest
from _flat_frames import missing_kind
from _flat_stores import SEG, store_of

import hooklab
from hooklab.frame import FLAT_KIND

pytestmark = pytest.mark.timeout(600)

#: hostile field text -> its ``payload.h*`` column name and the value shown in its row
DEEP_LIST = "[" * 600 + "1" + "]" * 600  # (past Arrow's depth: Python reads the body)
DEEP_OBJECT = '{"a": ' * 40 + "1" + "}" * 40  # (past json_normalize's 32 levels)
HOSTILE: dict[str | None, tuple[str, str, Any]] = {
    # name: (JSON text of h, its column, (dtype, the cell of the hostile row))
    None: ("", "", None),  # no hostile field: every body is Arrow's
    "NaN": ("NaN", "payload.h", ("float64", ("nan",))),
    "Infinity": ("Infinity", "payload.h", ("float64", ("float", math.inf))),
    "-Infinity": ("-Infinity", "payload.h", ("float64", ("float", -math.inf))),
    "lone surrogate": ('"x\\ud800"', "payload.h", ("str", ("str", "x\\ud800"))),
    "2**64": ("18446744073709551616", "payload.h", ("object", ("int", 18446744073709551616))),
    "deep list": (DEEP_LIST, "payload.h", ("object", ("list", json.loads(DEEP_LIST)))),
    "deep object": (DEEP_OBJECT, "payload.h" + ".a" * 32,
                    ("object", ("dict", json.loads(DEEP_OBJECT[6 * 32 : -32])))),  # (its 33rd key's)
}
#: where the neighbours are absent (or null): every body has them; the third of each four
#: lacks them; the hostile one (the first) lacks them; the third holds ``null`` for each
MODES = {"every": None, "missing": 2, "missing beside": 0, "null": 2}


def body(row: int, mode: str, hostile: str | None) -> bytes:
    """Body ``row``: ``h`` in every fourth, then the neighbours ``i`` (integer), ``f`` (float),
    ``b`` (boolean), ``s`` (text), ``o`` (an object of an integer and a float), and ``z``."""
    parts = []
    if row % 4 == 0 and hostile is not None:
        parts.append('"h": ' + HOSTILE[hostile][0])
    gap = MODES[mode] is not None and row % 4 == MODES[mode]
    if gap and mode == "null":
        parts += ['"i": null', '"f": null', '"b": null', '"s": null', '"o": null']
    elif not gap:
        parts += [f'"i": {row + 1}', f'"f": {row}.5', f'"b": {"true" if row % 2 == 0 else "false"}',
                  f'"s": "s{row}"', f'"o": {{"k": {row + 10}, "x": 1.5}}']
    parts.append(f'"z": {row}')
    return ("{" + ", ".join(parts) + "}").encode()


STR = str(pd.Series(["a"]).dtype)  # ("str" on pandas 3, "object" before)


def want(mode: str, hostile: str | None, rows: int) -> dict[str, tuple[str, list[tuple[Any, ...]]]]:
    """The expected ``payload.*`` columns: {name: (dtype, cells)}."""
    at = MODES[mode]
    gaps = [at is not None and r % 4 == at for r in range(rows)]
    nan = ("nan",)
    if not any(gaps):
        out = {
            "payload.i": ("int64", [("int", r + 1) for r in range(rows)]),
            "payload.o.k": ("int64", [("int", r + 10) for r in range(rows)]),
            "payload.b": ("bool", [("bool", r % 2 == 0) for r in range(rows)]),
        }
    else:  # (json_normalize's float64 with NaN; Arrow's booleans with None)
        out = {
            "payload.i": ("float64", [nan if g else ("float", float(r + 1)) for r, g in enumerate(gaps)]),
            "payload.o.k": ("float64", [nan if g else ("float", float(r + 10)) for r, g in enumerate(gaps)]),
            "payload.b": ("object", [("None",) if g else ("bool", r % 2 == 0) for r, g in enumerate(gaps)]),
        }
    out["payload.f"] = ("float64", [nan if g else ("float", r + 0.5) for r, g in enumerate(gaps)])
    out["payload.s"] = (STR, [("missing",) if g else ("str", f"s{r}") for r, g in enumerate(gaps)])
    out["payload.o.x"] = ("float64", [nan if g else ("float", 1.5) for r, g in enumerate(gaps)])
    out["payload.z"] = ("int64", [("int", r) for r in range(rows)])
    if hostile is not None:
        _, name, (dtype, first) = HOSTILE[hostile]
        missing = ("missing",) if dtype == STR else nan
        out[name] = (dtype, [first if r % 4 == 0 else missing for r in range(rows)])
    return out


def cell(x: Any, strings: bool) -> tuple[Any, ...]:
    """A frame's value as (kind, value): NaN, <NA>, None and each type told apart (a text
    column's missing value is pandas' own: ``missing``)."""
    if isinstance(x, (list, dict)):
        return (type(x).__name__, x)
    if strings and pd.isna(x):
        return ("missing",)
    return missing_kind(x) or (type(x).__name__, x)


def got(df: pd.DataFrame) -> dict[str, tuple[str, list[tuple[Any, ...]]]]:
    out = {}
    for name in df.columns:
        if name.startswith("payload."):
            dtype = str(df[name].dtype)
            out[name] = (dtype, [cell(x, dtype == STR) for x in df[name].tolist()])
    return out


CASES = [(mode, hostile) for mode in MODES for hostile in HOSTILE]
IDS = [f"{mode}-{hostile}" for mode, hostile in CASES]


def check(results: dict[tuple[str, str | None], Any], rows: int) -> None:
    """Every case as :func:`want` writes it; all the wrong ones listed at once (dtypes and
    the first differing cell, not the 600-deep lists)."""
    wrong = []
    for (mode, hostile), frame in results.items():
        expected = want(mode, hostile, rows)
        if set(frame) != set(expected):
            wrong.append((mode, hostile, "columns", sorted(frame), sorted(expected)))
            continue
        for name, (dtype, cells) in expected.items():
            have = frame[name]
            if have[0] != dtype:
                wrong.append((mode, hostile, name, have[0], dtype, have[1][:2]))
            elif have[1] != cells:
                i = next(k for k, (a, b) in enumerate(zip(have[1], cells, strict=True)) if a != b)
                wrong.append((mode, hostile, name, i, str(have[1][i])[:80], str(cells[i])[:80]))
    assert not wrong, "\n".join(map(repr, wrong))
    assert set(results) == set(CASES)


def frame_of(path: str) -> pd.DataFrame:
    lab = hooklab.open(path)
    try:
        return lab.dataframe(flatten=True)
    finally:
        lab.stop()


def test_the_table_itself() -> None:
    """The premise: the hostile bodies are what the table says, JSON Python reads."""
    for mode, hostile in CASES:
        for r in range(4):
            value = json.loads(body(r, mode, hostile))
            assert ("h" in value) == (r == 0 and hostile is not None)
    assert json.loads(body(0, "every", "lone surrogate"))["h"] == "x\ud800"
    deep = json.loads(body(0, "every", "deep object"))["h"]
    for _ in range(32):
        deep = deep["a"]
    assert deep == HOSTILE["deep object"][2][1][1]


def test_a_fresh_store(tmp_path: Any) -> None:
    """Captures of an open segment, parsed by this call."""
    results = {}
    for n, (mode, hostile) in enumerate(CASES):
        path = str(tmp_path / f"c{n}.sqlite3")
        store_of(path, [body(r, mode, hostile) for r in range(4)])
        results[(mode, hostile)] = got(frame_of(path))
    check(results, 4)


def post(url: str, data: bytes) -> None:
    request = urllib.request.Request(url, data=data, method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert answer.status == 200


def test_a_serving_lab(tmp_path: Any) -> None:
    """The bodies sent over HTTP to a running lab, each case in a bin of its own."""
    lab = hooklab.HookLab(port=0, db=str(tmp_path / "serving.sqlite3")).start()
    results = {}
    try:
        for n, (mode, hostile) in enumerate(CASES):
            for r in range(4):
                post(lab.url_for(f"case{n}"), body(r, mode, hostile))
        for n, case in enumerate(CASES):
            lab.wait(4, bin=f"case{n}", timeout=30)
            results[case] = got(lab.dataframe(flatten=True, bin=f"case{n}"))
    finally:
        lab.stop()
    check(results, 4)


def kept(path: str) -> int:
    """How many segments' parsed payloads ``flatten=True`` kept in the file."""
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT count(*) FROM segment_summaries WHERE kind = ?",
                          (FLAT_KIND,)).fetchone()[0]
    except sqlite3.OperationalError:  # (no table yet)
        return 0
    finally:
        db.close()


def test_a_sealed_segment_a_first_and_a_second_call(tmp_path: Any) -> None:
    """A sealed column segment: its parsed payloads are kept in the file, and a second call
    reads them instead of the bodies."""
    first, second = {}, {}
    for n, case in enumerate(CASES):
        path = str(tmp_path / f"k{n}.sqlite3")
        store_of(path, [body(r, *case) for r in range(SEG)])
        lab = hooklab.open(path)
        try:
            first[case] = got(lab.dataframe(flatten=True))
            end = time.monotonic() + 60
            while kept(path) < 1 and time.monotonic() < end:
                time.sleep(0.05)
            assert kept(path) == 1, case
            second[case] = got(lab.dataframe(flatten=True))
        finally:
            lab.stop()
    check(first, SEG)
    check(second, SEG)


def test_a_parquet_export_opened_again(tmp_path: Any) -> None:
    """``lab.export(folder, fmt="parquet")`` read with ``hooklab.open(folder)``."""
    results = {}
    for n, case in enumerate(CASES):
        path = str(tmp_path / f"p{n}.sqlite3")
        store_of(path, [body(r, *case) for r in range(4)])
        folder = tmp_path / f"export{n}"
        lab = hooklab.open(path)
        try:
            assert lab.export(folder, fmt="parquet") == 4
        finally:
            lab.stop()
        results[case] = got(frame_of(str(folder)))
    check(results, 4)
