"""``dataframe(flatten=True)`` gives the same ``payload.*`` columns whichever way it reads the
bodies: Arrow's reader (one segment, several segments, kept segments), the long way (a field of
other captures is a number in one body and text in another, in the same segment or another
one), Python's parse of rows Arrow cannot take, a Parquet export opened with ``hooklab.open``.

Real SQLite files (segments of 4,096 captures sealed by the store), a serving lab receiving
over HTTP on 127.0.0.1, real Parquet exports. Expected values are written out from the bodies
sent, never taken from another path.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from _http import post_each

import hooklab
from hooklab.frame import FLAT_KIND
from hooklab.store import CaptureStore

pytestmark = pytest.mark.timeout(600)

T0 = datetime(2026, 6, 1, tzinfo=timezone.utc)
SEG = 4096
B = 1234567890123456789  # a 64-bit snowflake id: float64 makes it 1234567890123456768
MISSING = object()  # the field is not in that body


class Odd:
    """A value in a body that also holds a NaN: Arrow cannot read it, Python does (its
    columns are made apart and then combined with Arrow's)."""

    def __init__(self, value: Any) -> None:
        self.value = value

# name -> (the field's value in each of the case's bodies, the dtype, the values expected)
NUMBERS: dict[str, tuple[list[Any], str, list[Any]]] = {
    "past 2**53, some captures lack it": ([B, B + 1, MISSING, B + 2], "Int64", [B, B + 1, None, B + 2]),
    "negative past 2**53": ([-B, MISSING, -B - 1], "Int64", [-B, None, -B - 1]),
    "past 2**53 and null": ([B, None, B + 1], "Int64", [B, None, B + 1]),
    "past 2**53 among floats": ([B, 1.5, MISSING, B + 1], "object", [B, 1.5, None, B + 1]),
    "past 2**53 among text": ([B, "seven", MISSING], "object", [B, "seven", None]),
    "past 2**53 among booleans": ([B, True, MISSING], "object", [B, True, None]),
    # past 64 bits exact, as the json column reads it (README); the snowflake beside it too
    "past 64 bits beside a snowflake": ([2**64 + 1, B, MISSING], "object", [2**64 + 1, B, None]),
    "past int64, within 64 bits": ([2**63 + 5, B], "object", [2**63 + 5, B]),
    "small integers, some lack it": ([5, MISSING, 7], "float64", [5.0, None, 7.0]),  # json_normalize's
    "null wherever present": ([None, MISSING, None], "object", [None, None, None]),
    "past 2**53 where only Python reads it, small integers beside": (
        [5, MISSING, Odd(B)], "Int64", [5, None, B]),
    "small integers where only Python reads them and beside": ([5, MISSING, Odd(7)], "float64", [5.0, None, 7.0]),
    "past 2**53 beside a float only Python reads": ([B, MISSING, Odd(1.5)], "object", [B, None, 1.5]),
}


def field(name: str) -> str:
    return "f" + str(list(NUMBERS).index(name))


def case_rows(case: str, spread: bool) -> list[int]:
    """The rows of the case's bodies; ``spread``: its first body in the first segment, the
    others in the second (their types unified across segments)."""
    c = list(NUMBERS).index(case)
    return [(10 + c if j == 0 else SEG + 100 + 10 * c + j) if spread else 10 * c + j
            for j in range(len(NUMBERS[case][0]))]


#: cases whose field is itself a type conflict (Arrow never reads them in one column): in a
#: store of their own, so that the others' stores are read by Arrow where nothing conflicts
MIXED = ("past 2**53 among text", "past 2**53 among booleans")


def case_bodies(spread: bool, cases: list[str]) -> dict[int, dict[str, Any]]:
    """{row: body} of the cases' bodies, each case its own field, nested one level in ``n``."""
    rows: dict[int, dict[str, Any]] = {}
    for case in cases:
        values = NUMBERS[case][0]
        for at, v in zip(case_rows(case, spread), values, strict=True):
            rows[at] = {"kind": "case", "n": {} if v is MISSING else {field(case): getattr(v, "value", v)}}
            if isinstance(v, Odd):
                rows[at]["odd"] = float("nan")
    return rows


def filler(i: int) -> dict[str, Any]:
    return {"kind": "order", "amount": i, "currency": ["usd", "eur"][i % 2]}


def store_file(path: Path, bodies: list[bytes]) -> str:
    records = [{"method": "POST", "path": "/hook", "headers": [("Content-Type", "application/json")],
                "body": body, "received_at": T0 + timedelta(seconds=i)} for i, body in enumerate(bodies)]
    store = CaptureStore(str(path), durability="normal")
    try:
        assert store.add_many(records) == len(bodies)
        end = time.monotonic() + 60
        while len(store.summaries(FLAT_KIND)) < len(bodies) // SEG and time.monotonic() < end:
            time.sleep(0.05)
    finally:
        store.close()
    return str(path)


def frames_of(path: str, export: Path, long_way: list[bool] | None = None,
              keeps: bool = False) -> dict[str, pd.DataFrame]:
    """The first and a second ``flatten=True`` of a lab opened on ``path`` (the first keeps
    the parsed payloads of the sealed segments it read in the file: the second reads those),
    the frame read through SQL alone (every body parsed now), and that of its Parquet
    export. ``long_way`` gets whether any of them was read the long way
    (``frame._arrow_flatten``); ``keeps``: every segment's are kept (checked) before the
    second (a segment with a body nested too deep for Arrow keeps none)."""
    from hooklab import frame as frame_mod
    from hooklab.frame import _frame

    out = {}
    lab = hooklab.open(path)
    real = frame_mod._arrow_flatten
    took: list[bool] = []

    def spy(*args: Any, **kwargs: Any) -> Any:
        took.append(True)
        return real(*args, **kwargs)

    mp = pytest.MonkeyPatch()
    mp.setattr(frame_mod, "_arrow_flatten", spy)
    try:
        out["sqlite"] = lab.dataframe(flatten=True)
        kept(lab)
        if keeps:
            assert None not in lab.store.summaries(FLAT_KIND).values()
        out["sqlite again"] = lab.dataframe(flatten=True)
        out["sql only"] = _frame(lab.store, {}, flatten=True, combined=False)
        assert lab.export(str(export), fmt="parquet") == len(out["sqlite"])
    finally:
        lab.stop()
    pq = hooklab.open(str(export))
    try:
        out["parquet"] = pq.dataframe(flatten=True)
    finally:
        pq.stop()
        mp.undo()
    if long_way is not None:
        long_way.append(bool(took))
    return out


def kept(lab: hooklab.HookLab) -> None:
    """Wait until what a ``flatten=True`` of ``lab`` keeps is in its file: it keeps it on a
    thread of its own, through the store's queue."""
    for t in threading.enumerate():
        if t.name == "hooklab-keep-flat":
            t.join(30)
    lab.store.flush(30)


LAYOUTS = {  # name -> (rows of the store, spread, row: conflicting body or None)
    "one segment": (300, False, None),
    "one segment, a type conflict in it": (300, False, {250: {"zz": 7}, 251: {"zz": "seven"}}),
    "two segments": (2 * SEG + 300, True, None),
    "two segments, a type conflict between them": (2 * SEG + 300, True, {5: {"zz": 7}, SEG + 5: {"zz": "seven"}}),
}


@pytest.fixture(scope="module")
def numbers(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str, bool], tuple[pd.DataFrame, dict]]:
    got = {}
    for name, (n, spread, conflict) in LAYOUTS.items():
        for mixed in (False, True):
            tmp = tmp_path_factory.mktemp("numbers")
            rows = case_bodies(spread, [c for c in NUMBERS if (c in MIXED) == mixed])
            bodies = {i: rows.get(i, filler(i)) for i in range(n)}
            bodies.update(conflict or {})
            path = store_file(tmp / "s.sqlite3", [json.dumps(bodies[i]).encode() for i in range(n)])
            long_way: list[bool] = []
            for how, df in frames_of(path, tmp / "pq", long_way, keeps=True).items():
                got[(name, how, mixed)] = (df.sort_values("id").reset_index(drop=True), bodies)
            got[(name, "long way", mixed)] = long_way  # type: ignore[assignment]
    return got


@pytest.mark.parametrize("mixed", [False, True])
@pytest.mark.parametrize("layout", ["one segment", "one segment, a type conflict in it",
                                    "two segments, a type conflict between them"])
def test_each_store_is_read_the_way_it_is_meant_to_be(numbers, layout: str, mixed: bool) -> None:
    """A store without a conflict is read by Arrow in one table (the integers past 64 bits
    by Python beside it), the others the long way. (Across segments Arrow refuses to make
    one segment's integers past 2**53 a float column with the other's floats: the store of
    two segments goes the long way too, so it is not among these.)"""
    assert numbers[(layout, "long way", mixed)] == ["conflict" in layout or mixed]


def plain(v: Any) -> Any:
    """A cell as a value to compare: every kind of missing is None, numbers Python's."""
    if isinstance(v, (list, dict)):
        return v
    if pd.isna(v):
        return None
    return v.item() if hasattr(v, "item") else v  # (numpy's scalars as Python's)


#: (id of a fixture's frame, column) -> (the frame, kept alive: ids stay its own; its cells)
_plain: dict[tuple[int, str], tuple[pd.DataFrame, list[Any]]] = {}


def plain_column(df: pd.DataFrame, name: str) -> list[Any]:
    """``[plain(v) for v in df[name]]``, made once per frame and column: the module's frames
    are checked by hundreds of cases, each looking at the same 8,000 cells."""
    key = (id(df), name)
    if key not in _plain:
        _plain[key] = (df, [plain(v) for v in df[name]])
    return _plain[key][1]


@pytest.fixture(scope="module", autouse=True)
def _forget_plain_columns() -> Any:
    yield
    _plain.clear()


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("how", ["sqlite", "sqlite again", "sql only", "parquet"])
@pytest.mark.parametrize("case", list(NUMBERS))
def test_integers_past_2_53_stay_exact_on_every_path(numbers, layout: str, how: str, case: str) -> None:
    """The long way (one ``json_normalize`` over every object, then ``_exact_ints``) made an
    integer column with gaps float64 first: snowflakes 1234567890123456789/90/91 all came back
    as 1234567890123456768. Each case is one field; the dtype and values are the same
    whichever way the frame was read."""
    df, bodies = numbers[(layout, how, case in MIXED)]
    values, dtype, want = NUMBERS[case]
    name = f"payload.n.{field(case)}"
    col = df[name]
    assert str(col.dtype) == dtype
    mine = case_rows(case, layout.startswith("two"))
    got = [plain(col.iloc[i]) for i in mine]
    assert got == want
    for g, w in zip(got, want, strict=True):
        assert type(g) is type(w), (g, w)  # 5 is not 5.0, the snowflake not a float
    others = [v for i, v in enumerate(plain_column(df, name)) if i not in mine]
    assert others == [None] * len(others)
    orders = [i for i, b in bodies.items() if b.get("kind") == "order"]
    amounts = plain_column(df, "payload.amount")
    assert [amounts[i] for i in orders] == orders


@pytest.mark.parametrize("mixed", [False, True])
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_the_same_columns_on_every_path(numbers, layout: str, mixed: bool) -> None:
    """Per store, every ``payload.n.*`` column the same on every way it was read."""
    first = numbers[(layout, "sqlite", mixed)][0]
    for how in ("sqlite again", "sql only", "parquet"):
        other = numbers[(layout, how, mixed)][0]
        for c in (c for c in first if c.startswith("payload.n.")):
            assert str(other[c].dtype) == str(first[c].dtype), (how, c)
            assert plain_column(other, c) == plain_column(first, c), (how, c)


def test_the_snowflakes_of_a_store_that_also_has_a_type_conflict_are_exact(tmp_path: Path) -> None:
    """The outside tester's case, over HTTP: three captures of ``{"snowflake": id}`` and two
    unrelated ones, ``{"value": 7}`` and ``{"value": "seven"}``."""
    lab = hooklab.start(port=0, db=str(tmp_path / "c.sqlite3"))
    try:
        port = int(lab.url.rsplit(":", 1)[1])
        bodies = [json.dumps({"snowflake": B + i}).encode() for i in range(3)]
        bodies += [b'{"value": 7}', b'{"value": "seven"}']
        assert post_each(port, "/iot", bodies) == [200] * 5
        lab.wait(5, timeout=10)
        col = lab.dataframe(flatten=True).sort_values("id")["payload.snowflake"]
        assert str(col.dtype) == "Int64"
        assert [plain(v) for v in col] == [B, B + 1, B + 2, None, None]
        value = lab.dataframe(flatten=True).sort_values("id")["payload.value"]
        assert [plain(v) for v in value] == [None, None, None, 7, "seven"]
    finally:
        lab.stop()


# -- objects nested deep ------------------------------------------------------------------------
DEPTHS = [10, 32, 33, 34, 100, 1000, 100_000]
#: orjson (the json column) reads 1,024 levels; deeper bodies have no payload, as the json
#: column and ``capture.json()`` have none
READ = 1000


def deep_body(shape: str, depth: int) -> bytes:
    """One object ``depth`` levels deep in all: a key ``o<depth>`` holding objects under
    ``a`` keys, or ``e<depth>`` holding lists, the number 1 at the bottom."""
    inner = depth - 1
    if shape == "objects":
        return b'{"o%d": ' % depth + b'{"a": ' * inner + b"1" + b"}" * inner + b"}"
    return b'{"e%d": ' % depth + b"[" * inner + b"1" + b"]" * inner + b"}"


def depth_and_leaf(value: Any) -> tuple[int, Any]:
    """How deep ``value`` nests (dicts under ``a``, lists of one item) and what is at the
    bottom, in a loop (comparing a 1,000-deep value with ``==`` would recurse)."""
    d = 0
    for _ in range(200_000):
        if isinstance(value, dict) and list(value) == ["a"]:
            value = value["a"]
        elif isinstance(value, list) and len(value) == 1:
            value = value[0]
        else:
            return d, value
        d += 1
    raise AssertionError("deeper than any body sent")


def deep_expected(shape: str, depth: int) -> dict[str, tuple[int, Any]]:
    """The deep body's payload columns: {column: (nesting of its value, leaf)}. Objects make
    dotted columns down to 33 keys (``json_normalize(max_level=32)``); deeper, the 33rd key
    holds the rest as one value. Lists are one value whatever their depth."""
    if depth > READ:
        return {}
    if shape == "arrays":
        return {f"payload.e{depth}": (depth - 1, 1)}
    keys = min(depth, 33)
    name = "payload." + ".".join([f"o{depth}"] + ["a"] * (keys - 1))
    return {name: (depth - keys, 1)}


SHAPES = ["objects", "arrays"]


@pytest.fixture(scope="module")
def deep(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[pd.DataFrame, dict, dict]]:
    """Frames of stores holding normal captures and one body of each shape and depth: sent
    to a serving lab over HTTP (and its Parquet export), the same bodies in a store of two
    sealed segments, and with a type conflict among the normal captures (the long way)."""
    tmp = tmp_path_factory.mktemp("deep")
    deep_rows = {}
    normal = [json.dumps(filler(i)).encode() for i in range(40)]
    bodies = list(normal)
    for shape in SHAPES:
        for depth in DEPTHS:
            deep_rows[len(bodies)] = (shape, depth)
            bodies.append(deep_body(shape, depth))
    bodies += normal[:5]
    got = {}
    lab = hooklab.start(port=0, db=str(tmp / "served.sqlite3"))
    try:
        port = int(lab.url.rsplit(":", 1)[1])
        assert post_each(port, "/hook", bodies) == [200] * len(bodies)
        lab.wait(len(bodies), timeout=30)
        got["served"] = lab.dataframe(flatten=True)
        got["served again"] = lab.dataframe(flatten=True)
        assert lab.export(str(tmp / "pq"), fmt="parquet") == len(bodies)
    finally:
        lab.stop()
    pq = hooklab.open(str(tmp / "pq"))
    try:
        got["parquet"] = pq.dataframe(flatten=True)
    finally:
        pq.stop()
    big = [json.dumps(filler(i)).encode() for i in range(2 * SEG + 10)]
    at = {}
    for k, (row, which) in enumerate(deep_rows.items()):
        spot = 100 + 7 * k if k % 2 else SEG + 100 + 7 * k  # in both segments
        big[spot] = bodies[row]
        at[spot] = which
    for name, conflict in (("segments", {}), ("segments, a type conflict", {3: b'{"amount": "three"}'})):
        stored = list(big)
        for i, b in conflict.items():
            stored[i] = b
        path = store_file(tmp / f"{name}.sqlite3", stored)
        frames = frames_of(path, tmp / f"{name}-pq")
        for how, df in frames.items():
            got[f"{name}: {how}"] = df
    out = {}
    for name, df in got.items():
        rows = at if name.startswith("segments") else deep_rows
        sent = big if name.startswith("segments") else bodies
        amounts = {i: json.loads(b)["amount"] for i, b in enumerate(sent) if i not in rows}
        out[name] = (df.sort_values("id").reset_index(drop=True), rows, amounts)
    return out


@pytest.mark.parametrize("how", ["served", "served again", "parquet", "segments: sqlite",
                                 "segments: sqlite again", "segments: sql only", "segments: parquet",
                                 "segments, a type conflict: sqlite",
                                 "segments, a type conflict: sql only",
                                 "segments, a type conflict: parquet"])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("depth", DEPTHS)
def test_a_body_nested_deep_is_cut_into_one_value(deep, how: str, shape: str, depth: int) -> None:
    """A body nested 450 deep made ``flatten=True`` raise RecursionError for the whole store,
    every call (``_dotted`` recursed over Arrow's 450-deep struct, and pandas' fallback
    deep-copied the body). Now the frame comes out; the deep body's columns go down 33 keys
    as ``json_normalize(max_level=32)``'s do, the rest one value; the others' columns are
    theirs."""
    df, rows, sent = deep[how]
    row = next(i for i, which in rows.items() if which == (shape, depth))
    want = deep_expected(shape, depth)
    mark = f"o{depth}" if shape == "objects" else f"e{depth}"
    have = {c: df[c].iloc[row] for c in df if c.startswith(f"payload.{mark}")
            and c.split(".")[1] == mark and not (isinstance(df[c].iloc[row], float) and pd.isna(df[c].iloc[row]))}
    assert sorted(have) == sorted(want)
    for c, (nest, leaf) in want.items():
        assert depth_and_leaf(have[c]) == (nest, leaf)
    assert (df["json"].iloc[row] is None) == (depth > READ)
    normal = [i for i in range(len(df)) if i not in rows]
    amounts, kinds = plain_column(df, "payload.amount"), plain_column(df, "payload.kind")
    if how.startswith("segments, a type conflict"):
        normal = [i for i in normal if i != 3]
        assert df["payload.amount"].iloc[3] == "three"
    assert [amounts[i] for i in normal] == [sent[i] for i in normal]
    assert [kinds[i] for i in normal] == ["order"] * len(normal)
    assert all(kinds[i] is None for i in rows)


def test_every_call_after_a_deep_body_still_flattens(tmp_path: Path) -> None:
    """The outside tester's case: one 3-6 KB webhook nested 450 and 990 deep among normal
    captures; filters that pick it, the whole store, and its Parquet export."""
    lab = hooklab.start(port=0, db=str(tmp_path / "r.sqlite3"))
    try:
        port = int(lab.url.rsplit(":", 1)[1])
        bodies = [b'{"amount": 5}'] + [b'{"a":' * d + b"1" + b"}" * d for d in (450, 990)]
        assert post_each(port, "/orders", bodies) == [200] * 3
        lab.wait(3, timeout=10)
        cut = "payload." + ".".join(["a"] * 33)
        for filters, n in (({"since": 1, "until": 2}, 1), ({"since": 2}, 1), ({}, 3)):
            df = lab.dataframe(flatten=True, **filters)
            assert len(df) == n and cut in df
        whole = lab.dataframe(flatten=True).sort_values("id")
        assert whole["payload.amount"].iloc[0] == 5
        assert [depth_and_leaf(v) for v in whole[cut].iloc[1:]] == [(450 - 33, 1), (990 - 33, 1)]
        lab.export(str(tmp_path / "pq"), fmt="parquet")
    finally:
        lab.stop()
    pq = hooklab.open(str(tmp_path / "pq"))
    try:
        assert pq.dataframe(flatten=True).shape[0] == 3
    finally:
        pq.stop()
    assert sys.getrecursionlimit() >= 1000  # (nothing raised the limit to get there)
