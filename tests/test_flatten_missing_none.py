"""``dataframe(flatten=True)``: in an object column of booleans, or of a mix holding text or
booleans, a field a body lacks reads ``None``, as a ``null`` does (README, "A million
captures"). An outside tester found NaN there: bodies ``{"flag": true, "mix": "a"}``,
``{"other": 1}``, ``{"flag": false, "mix": 1}`` gave ``payload.flag`` ``[True, nan, False]``
and ``payload.mix`` ``['a', nan, 1]``. ``json_normalize`` fills a missing field with NaN, and
so did pandas' joining of the parts a frame is read in (Arrow's tables, Python's rows, the
tables kept per column segment, one segment lacking a field another has).

Paths: a serving lab that received the bodies over HTTP (Arrow's reader, or the long way when
a field is text in one body and a number in another), and stores of sealed column segments
(4,096 captures each, their parsed payloads kept) read by ``hooklab.open``, with the field in
some segments only. Columns of numbers only keep NaN where a field is missing (README, as
``test_flat_big_ints`` checks). Real SQLite files, sockets on 127.0.0.1 only; the expected
cells are written from each body's own fields.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import pytest
from _flat_frames import missing_kind
from _flat_stores import SEG, store_of
from _http import post_each

import hooklab

pytestmark = pytest.mark.timeout(600)

#: each small case: the bodies (dicts, sent as JSON) in order
SMALL: dict[str, list[dict[str, Any]]] = {
    "the tester's bodies (the long way: mix is text and a number)": [
        {"email": None, "flag": True, "mix": "a"}, {"other": 1}, {"email": None, "flag": False, "mix": 1}],
    "booleans only (Arrow's reader)": [{"flag": True}, {"other": 1}, {"flag": False}, {"flag": None}],
    "text beside booleans": [{"tb": "x"}, {"other": 1}, {"tb": True}, {"tb": None}, {"other": 2}],
    "lacking in the first and last body": [{"other": 0}, {"flag": True, "mix": [1]}, {"flag": False, "mix": "s"},
                                           {"other": 1}],
    "a NaN elsewhere sends the rows to Python": [{"flag": True, "n": float("nan")}, {"other": 1},
                                                 {"flag": False, "n": 1.5}],
}
#: the columns whose missing rows must read None (objects of booleans or of a mix with text)
OBJECTS = ("payload.flag", "payload.mix", "payload.tb")


def expected(bodies: list[dict[str, Any]], name: str) -> list[tuple[Any, ...]]:
    """The cells of ``payload.<name>``: the body's value, ``None`` where it lacks the field
    or holds ``null``."""
    field = name[len("payload."):]
    return [cell(b.get(field)) for b in bodies]


def cell(x: Any) -> tuple[Any, ...]:
    """A frame's value as (kind, value): NaN, <NA>, None and each type told apart."""
    return missing_kind(x) or (type(x).__name__, repr(x))


def got(df: pd.DataFrame, name: str) -> list[tuple[Any, ...]]:
    return [cell(x) for x in df[name].tolist()]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    """Each small case's frame: its bodies sent over HTTP to a lab with a database file."""
    out = {}
    lab = hooklab.start(port=0, db=str(tmp_path_factory.mktemp("served") / "c.sqlite3"))
    try:
        for k, (case, bodies) in enumerate(SMALL.items()):
            raw = [json.dumps(b).encode() for b in bodies]
            assert post_each(lab.bound_port, f"/case{k}/hook", raw) == [200] * len(raw)
            lab.wait(len(raw), timeout=30, bin=f"case{k}")
            out[case] = lab.dataframe(flatten=True, bin=f"case{k}")
    finally:
        lab.stop()
    return out


@pytest.mark.parametrize("case", list(SMALL))
def test_a_missing_field_reads_none_in_an_object_column(served, case: str) -> None:
    df, bodies = served[case], SMALL[case]
    names = [n for n in OBJECTS if n in df.columns]
    assert names, list(df.columns)
    for name in names:
        assert df[name].dtype == object, (name, df[name].dtype)
        assert got(df, name) == expected(bodies, name), name
        assert df[name].isna().tolist() == [b.get(name[len("payload."):]) is None for b in bodies]
    if "payload.email" in df.columns:  # (null wherever present: None already)
        assert got(df, "payload.email") == [("None",)] * len(bodies)


def big_body(i: int, mix: bool) -> dict[str, Any]:
    """Body ``i`` of a store of two segments and a tail: ``flag`` in the first segment and
    the tail's even rows, lacking in the whole second segment (that segment's kept table has
    no such column); ``mix`` (with ``mix``) text or a number in the first segment's rows, so
    that its segment and the tail are read the long way; ``n`` a number in every body."""
    body: dict[str, Any] = {"n": i}
    in_tail = i >= 2 * SEG
    if i < SEG or (in_tail and i % 2 == 0):
        body["flag"] = i % 3 == 0
    if mix and (i < SEG or in_tail) and i % 5:
        body["mix"] = "t" if i % 2 else i
    return body


@pytest.mark.parametrize("mix", [False, True], ids=["booleans", "booleans and a mix"])
def test_segments_lacking_a_field_read_none_on_every_path(tmp_path, mix: bool) -> None:
    n = 2 * SEG + 40
    bodies = [big_body(i, mix) for i in range(n)]
    path = str(tmp_path / "big.sqlite3")
    store_of(path, [json.dumps(b).encode() for b in bodies])
    frames = []
    for _ in range(2):  # a fresh lab, then another: the tail parsed again, the segments kept
        lab = hooklab.open(path)
        try:
            frames.append(lab.dataframe(flatten=True))
        finally:
            lab.stop()
    for df in frames:
        assert len(df) == n
        assert df["payload.n"].tolist() == list(range(n))  # (numbers: int64, none missing)
        for name in ["payload.flag"] + (["payload.mix"] if mix else []):
            assert df[name].dtype == object, (name, df[name].dtype)
            want = expected(bodies, name)
            have = got(df, name)
            wrong = [i for i in range(n) if have[i] != want[i]]
            assert not wrong, (name, len(wrong), [(i, have[i], want[i]) for i in wrong[:3]])


def test_a_column_of_numbers_keeps_nan_where_a_field_is_missing(tmp_path) -> None:
    """README: an integer int64 cannot hold makes an object column, NaN where a body lacks
    the field; so does an integer past 2**53 beside floats."""
    bodies = [{"v": 2**64, "w": 2**53 + 1}, {"other": 1}, {"v": 5, "w": 0.5}]
    path = str(tmp_path / "n.sqlite3")
    store_of(path, [json.dumps(b).encode() for b in bodies])
    lab = hooklab.open(path)
    try:
        df = lab.dataframe(flatten=True)
    finally:
        lab.stop()
    assert got(df, "payload.v") == [("int", repr(2**64)), ("nan",), ("int", "5")]
    assert got(df, "payload.w") == [("int", repr(2**53 + 1)), ("nan",), ("float", "0.5")]
