"""Counting payloads in the frame's ``json`` column: ``value_counts``, ``nunique``,
``unique``, ``duplicated``, ``drop_duplicates``, ``mode`` and ``groupby`` say two payloads are
the same when they are the same JSON value (README: ``groupby``/``factorize`` "tell ``NaN``,
``null`` and ``Infinity`` apart and sort payloads by their JSON text"): keys in any order and
any whitespace count together; ``true`` and ``1``, ``null`` and a missing key, NaN and
``null``, 2**53 and 2**53 + 1 count apart.

An outside tester (200,000 captures) found ``df["json"].value_counts()`` quadratic: pandas
hashed the parsed dicts, which have no hash, took 0 for each and compared every payload with
all the ones before it (4,000 rows: a second; 30,000 did not finish in 13 minutes); it also
counted ``{"a": true}`` with ``{"a": 1}`` (Python's ``True == 1``), and ``nunique``/``unique``
raised ``TypeError: unhashable type: 'dict'``. Timings are in ``bench/README.md``; here the
results, against counts written out by hand.

A real lab on 127.0.0.1 with a database file; the bodies sent over HTTP.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from _http import post_each

import hooklab

NAN = float("nan")
#: the groups of equal payloads: (the value, its spellings as sent, how often each is sent)
GROUPS: list[tuple[Any, list[bytes], int]] = [
    ({"a": 1, "b": 2}, [b'{"a": 1, "b": 2}', b'{"b":2,"a":1}', b'{ "b" : 2 ,\n "a" : 1 }'], 30),
    ({"a": True, "b": 2}, [b'{"a": true, "b": 2}'], 25),  # (true is not 1)
    ({"a": None}, [b'{"a": null}', b'{ "a":null }'], 20),
    ({}, [b"{}", b"{ }"], 11),  # (a missing key is not null)
    ({"a": NAN}, [b'{"a": NaN}'], 9),  # (NaN is not null, and is itself)
    ({"a": float("inf")}, [b'{"a": Infinity}'], 8),
    ({"id": 2**53}, [b'{"id": 9007199254740992}'], 7),
    ({"id": 2**53 + 1}, [b'{"id": 9007199254740993}', b'{"id":9007199254740993}'], 6),
    ({"w": 10**24 + 1}, [b'{"w": 1000000000000000000000001}'], 5),
    ({"o": {"x": 1, "y": [1, 2]}}, [b'{"o": {"x": 1, "y": [1, 2]}}', b'{"o": {"y": [1,2], "x": 1}}'], 12),
    ({"o": {"x": 1, "y": [2, 1]}}, [b'{"o": {"x": 1, "y": [2, 1]}}'], 4),  # (a list's order counts)
    ({"s": "\u00e9"}, ['{"s": "\u00e9"}'.encode(), b'{"s": "\\u00e9"}'], 10),
    ([1, "two"], [b'[1, "two"]', b'[1,"two"]'], 3),
    ([], [b"[]", b"[ ]"], 2),
    ({"one": 1}, [b'{"one": 1}'], 1),
]
NOT_JSON = [b"not json at all", b""]  # (missing in the json column)
MISSING = 13  # bodies sent that are no JSON


def sent() -> list[tuple[bytes, int | None]]:
    """Every body sent, in order (spellings interleaved), with its group (None: not JSON)."""
    rows: list[tuple[bytes, int | None]] = []
    for g, (_, spellings, each) in enumerate(GROUPS):
        rows += [(spellings[k % len(spellings)], g) for k in range(each * len(spellings))]
    rows += [(NOT_JSON[k % 2], None) for k in range(MISSING)]
    order = sorted(range(len(rows)), key=lambda i: (i * 7919) % len(rows))  # (a fixed shuffle)
    return [rows[i] for i in order]


SENT = sent()
#: payloads per group, as written above: each group's count
COUNTS = [each * len(spellings) for _, spellings, each in GROUPS]


def key(v: Any) -> str:
    """A value told apart by type and by NaN (for comparing results with :data:`GROUPS`)."""
    return json.dumps(v, sort_keys=True)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("counts") / "c.sqlite3")
    lab = hooklab.start(port=0, db=path)
    try:
        assert post_each(lab.bound_port, "/counts", [b for b, _ in SENT]) == [200] * len(SENT)
        lab.wait(len(SENT), timeout=30)
    finally:
        lab.stop()
    return path


def fresh(db: str) -> pd.DataFrame:
    """A frame nothing has been asked of yet (``isna`` not remembered)."""
    lab = hooklab.open(db)
    try:
        return lab.dataframe()
    finally:
        lab.stop()


@pytest.fixture(scope="module")
def frame(db: str) -> Iterator[pd.DataFrame]:
    df = fresh(db)
    assert len(df) == len(SENT) == sum(COUNTS) + MISSING
    assert df["json"].isna().tolist() == [g is None for _, g in SENT]
    yield df


def test_value_counts_counts_equal_json_values_together(frame) -> None:
    vc = frame["json"].value_counts()
    assert str(vc.index.dtype) == "json" and vc.name == "count"
    got = sorted((key(v), int(c)) for v, c in zip(vc.index, vc.tolist(), strict=True))
    assert got == sorted((key(v), c) for (v, _, _), c in zip(GROUPS, COUNTS, strict=True))
    assert vc.tolist() == sorted(COUNTS, reverse=True)  # (most common first)
    with_missing = frame["json"].value_counts(dropna=False)
    assert sorted(with_missing.tolist()) == sorted(COUNTS + [MISSING])
    assert with_missing[with_missing.index.isna()].tolist() == [MISSING]
    shares = frame["json"].value_counts(normalize=True)
    assert shares.tolist() == pytest.approx([c / sum(COUNTS) for c in sorted(COUNTS, reverse=True)])


def test_unique_nunique_and_duplicated_go_by_json_value(frame) -> None:
    s = frame["json"]
    first_of: dict[int | None, int] = {}
    for i, (_, g) in enumerate(SENT):
        first_of.setdefault(g, i)
    assert s.nunique() == len(GROUPS)
    assert s.nunique(dropna=False) == len(GROUPS) + 1
    uniques = s.unique()
    assert [key(v) for v in uniques] == [
        key(None if g is None else GROUPS[g][0]) for g in sorted(first_of, key=first_of.get)]
    dup = s.duplicated().tolist()
    assert dup == [first_of[g] != i for i, (_, g) in enumerate(SENT)]
    assert s.duplicated(keep=False).tolist() == [
        (MISSING if g is None else COUNTS[g]) > 1 for _, g in SENT]
    kept = frame.drop_duplicates(subset=["json"])
    assert kept.index.tolist() == sorted(first_of.values())


def test_groupby_and_mode_agree_with_the_counts(frame) -> None:
    sizes = frame.groupby("json").size()
    assert sorted((key(v), int(c)) for v, c in zip(sizes.index, sizes.tolist(), strict=True)) == sorted(
        (key(v), c) for (v, _, _), c in zip(GROUPS, COUNTS, strict=True))
    top = max(COUNTS)
    assert [key(v) for v in frame["json"].mode()] == sorted(
        key(v) for (v, _, _), c in zip(GROUPS, COUNTS, strict=True) if c == top)


@pytest.mark.parametrize("rows", [[0], [3, 1, 4, 1, 5], list(range(0, len(SENT), 7)), [-1, -2, -3]])
def test_isna_of_a_few_rows_of_a_fresh_frame(db: str, rows: list[int]) -> None:
    """A few rows of a frame read only their own bodies (groupby's sort of a handful of unique
    payloads read all of the frame's), with the same answers."""
    s = fresh(db)["json"].iloc[rows]
    assert s.isna().tolist() == [SENT[r][1] is None for r in rows]
    assert s.notna().sum() == sum(SENT[r][1] is not None for r in rows)


def test_groupby_of_a_fresh_frame_and_of_a_slice(db: str) -> None:
    df = fresh(db)
    sizes = df.groupby("json", dropna=False).size()
    assert sorted(sizes.tolist()) == sorted(COUNTS + [MISSING])
    part = fresh(db).iloc[:40]
    want: dict[str, int] = {}
    for _, g in SENT[:40]:
        k = "missing" if g is None else key(GROUPS[g][0])
        want[k] = want.get(k, 0) + 1
    got = part.groupby("json", dropna=False).size()
    assert {("missing" if v is None else key(v)): int(c)
            for v, c in zip(got.index, got.tolist(), strict=True)} == want
