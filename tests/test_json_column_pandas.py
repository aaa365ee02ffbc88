"""The frame's ``json`` column as a pandas user meets it, found by an outside tester: ``df.info()``
parsed every payload at once (+555 MiB at 200,000 captures), ``pd.concat`` of two labs' frames
decompressed every body into Python bytes, ``apply`` giving text stayed dtype ``json`` (no
``.str``), ``where``/``mask`` with a dict to put in raised, ``groupby``/``factorize`` merged
``{"a": NaN}``, ``{"a": null}`` and ``{"a": Infinity}`` (and crashed on arrays beside objects),
``explode`` left a batch webhook's array whole, and ``fillna(inplace=True)`` on the frame failed
with the whole column in its message.

Real labs: captures sent over HTTP on 127.0.0.1, or imported from a JSON Lines file (the many
captures the memory cases need); expected values written out, or those of the same operation
on an object column (``df["json"].astype(object)``).
"""

from __future__ import annotations

import base64
import json
import math
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pytest
from _http import post

import hooklab

BODIES = [b'{"b": 1, "a": NaN}', b'{"b": 1, "a": null}', b'{"b": 1, "a": Infinity}',
          b'[{"event": "open", "n": 1}, {"event": "click", "n": 2}]', b"[]",
          b'{"type": "invoice.paid", "n": 5}', b"not json", b'{"type": "invoice.paid", "n": 5}']


@pytest.fixture(scope="module")
def served() -> Iterator[hooklab.HookLab]:
    lab = hooklab.HookLab(port=0, db=":memory:").start()
    try:
        for body in BODIES:
            ctype = "text/plain" if body == b"not json" else "application/json"
            assert post(lab.url_for("p"), body, {"Content-Type": ctype})[0] == 200
        lab.wait(len(BODIES), timeout=10)
        yield lab
    finally:
        lab.stop()


def same(a: Any, b: Any) -> bool:
    """Equal JSON values, NaN equal to NaN."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def test_factorize_and_groupby_tell_nan_null_and_infinity_apart(served: hooklab.HookLab) -> None:
    df = served.dataframe()
    codes, uniques = pd.factorize(df["json"])
    assert codes.tolist() == [0, 1, 2, 3, 4, 5, -1, 5]
    # (each unique as it came: its keys in their order, NaN and infinity as themselves)
    first = uniques[0]
    assert list(first) == ["b", "a"] and math.isnan(first["a"])
    assert uniques[1] == {"b": 1, "a": None} and uniques[2]["a"] == math.inf
    sizes = df.groupby("json", dropna=False, sort=False).size()
    assert sizes.tolist() == [1, 1, 1, 1, 1, 2, 1]
    # sorted (groupby's default): arrays and objects together, in the order of their JSON text
    assert df.groupby("json").size().tolist() == [1, 1, 1, 1, 1, 2]


def test_apply_giving_text_or_mixed_values_is_pandas_own_column(served: hooklab.HookLab) -> None:
    s = served.dataframe()["json"]
    kinds = s.apply(lambda p: p.get("type") if isinstance(p, dict) else None)
    plain = s.astype(object).apply(lambda p: p.get("type") if isinstance(p, dict) else None)
    assert str(kinds.dtype) == str(plain.dtype) != "json"
    assert kinds.str.upper().tolist() == plain.str.upper().tolist()
    assert kinds.value_counts().to_dict() == {"invoice.paid": 2}
    mixed = s.map(lambda p: p.get("n") if isinstance(p, dict) else False)
    assert str(mixed.dtype) != "json" and mixed.sum() == 10
    # (objects and arrays stay payloads)
    assert str(s.map(lambda p: {"wrapped": p}).dtype) == "json"


@pytest.mark.parametrize("how", ["where", "mask"])
def test_where_and_mask_put_a_dict_in_as_one_value(served: hooklab.HookLab, how: str) -> None:
    s = served.dataframe()["json"]
    keep = s.map(lambda p: isinstance(p, dict) and "type" in p).astype(bool)
    cond = keep if how == "where" else ~keep
    got = getattr(s, how)(cond, {"redacted": True})
    want = getattr(s.astype(object), how)(cond, {"redacted": True})
    assert [same(a, b) for a, b in zip(got, want, strict=True)] == [True] * len(BODIES)
    assert sum(v == {"redacted": True} for v in got) == len(BODIES) - 2
    assert str(got.dtype) == "json"


def test_explode_gives_one_row_per_item_of_a_batch(served: hooklab.HookLab) -> None:
    df = served.dataframe()
    got = df.explode("json")
    # (an object is one value: an object column's explode would split a dict into its keys)
    assert list(got.index) == [0, 1, 2, 3, 3, 4, 5, 6, 7]
    assert got["json"].isna().tolist() == [False] * 5 + [True, False, True, False]
    items = [v for v in got["json"] if isinstance(v, dict) and "event" in v]
    assert items == [{"event": "open", "n": 1}, {"event": "click", "n": 2}]
    assert pd.json_normalize(items)["event"].tolist() == ["open", "click"]
    assert len(got) == len(BODIES) + 1  # (two items of one array; the empty one a missing row)


def test_fillna_in_place_fills_the_frame_and_nothing_else(served: hooklab.HookLab) -> None:
    df = served.dataframe()
    df.fillna({"json": "F"}, inplace=True)
    assert df["json"].tolist()[6] == "F"
    assert served.dataframe()["json"].tolist()[6] is None
    assert served.captures[6].json() is None


def test_concat_of_two_labs_frames(served: hooklab.HookLab) -> None:
    other = hooklab.HookLab(port=0, db=":memory:").start()
    try:
        for i in range(3):
            assert post(other.url_for("q"), json.dumps({"other": i}).encode(),
                        {"Content-Type": "application/json"})[0] == 200
        other.wait(3, timeout=10)
        a, b = served.dataframe(), other.dataframe()
        both = pd.concat([a, b, a], ignore_index=True)
        assert str(both["json"].dtype) == "json"
        want = [*a["json"].astype(object), *b["json"].astype(object), *a["json"].astype(object)]
        assert [same(x, y) for x, y in zip(both["json"], want, strict=True)] == [True] * len(want)
        assert both["json"].isna().sum() == 2  # (the body that is not JSON, twice)
    finally:
        other.stop()


N = 20_000


@pytest.fixture(scope="module")
def many(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[hooklab.HookLab]]:
    """Two labs of 20,000 imported captures each (~600 B of JSON apiece)."""
    where = tmp_path_factory.mktemp("json_pandas")
    labs = []
    for k in range(2):
        path = where / f"many{k}.jsonl"
        with open(path, "w") as f:
            for i in range(N):
                body = json.dumps({"id": f"evt_{k}_{i}", "type": "charge.succeeded", "n": i,
                                   "data": {"object": {"amount": i, "note": "x" * 480}}})
                f.write(json.dumps({"method": "POST", "path": "/m", "headers": [["Content-Type", "application/json"]],
                                    "received_at": "2026-06-01T00:00:00+00:00", "status": 200,
                                    "body_b64": base64.b64encode(body.encode()).decode()}) + "\n")
        labs.append(hooklab.HookLab.from_jsonl(str(path), db=":memory:"))
    try:
        yield labs
    finally:
        for lab in labs:
            lab.stop()


def peak(fn: Any) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_isna_and_info_do_not_hold_every_payload_at_once(many: list[hooklab.HookLab]) -> None:
    df = many[0].dataframe()
    bodies = [orjson.dumps(c) for c in df["json"].astype(object).head(N)]
    every = peak(lambda: [orjson.loads(b) for b in bodies])  # (what isna held before)
    fresh = many[0].dataframe()
    took = peak(lambda: fresh["json"].isna())
    assert took < every / 2, (took, every)  # (a few blocks of bodies, not every payload)
    assert not fresh["json"].isna().any()
    shown = many[0].dataframe()  # (made outside what is measured: info() alone)
    assert peak(lambda: shown.info(buf=_Sink())) < every / 2


class _Sink:
    def write(self, text: str) -> int:
        return len(text)


def test_concat_keeps_the_bodies_compressed(many: list[hooklab.HookLab]) -> None:
    a, b = (lab.dataframe() for lab in many)
    raw = 2 * N * 600  # (the bodies' bytes, as the old concat held them)
    took = peak(lambda: pd.concat([a, b], ignore_index=True))
    assert took < raw / 4, (took, raw)
    both = pd.concat([a, b], ignore_index=True)
    assert both["json"][N - 1]["id"] == f"evt_0_{N - 1}" and both["json"][N]["id"] == "evt_1_0"


def test_a_copy_of_a_value_written_keeps_its_value(served: hooklab.HookLab, tmp_path: Path) -> None:
    df = served.dataframe()
    df.at[0, "json"] = {"mine": [1, 2]}
    assert df["json"][0] == {"mine": [1, 2]}
    assert served.captures[0].json()["b"] == 1  # (the capture's own payload)
