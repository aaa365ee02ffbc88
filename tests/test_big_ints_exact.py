"""Integers past 64 bits (a wei amount, ``1234567000000000000000001``) and at int64's ends,
read by every reader of a user's payloads exactly as ``json.loads`` reads them.

``capture.json()`` and ``lab.diff()`` kept such an integer exact, but ``lab.dataframe()``'s
``json`` column gave ``1.234567e+24`` (orjson reads an integer past 64 bits as a float),
``flatten=True`` made its column float64 (the plain ``5`` beside it ``5.0``) and
``lab.schema()`` typed the field ``integer|number`` with a float example.

Each value of :data:`VALUES` gets five fields of its own: ``a`` beside small integers (one
negative), ``b`` beside floats, ``c`` alone, ``n.x`` in a nested object beside a negative
integer, ``l`` in a list beside an integer, and lists of floats in other bodies. Every
expected cell is ``json.loads`` of the body that was stored (its value and its Python
type), NaN/None/<NA> where a body lacks the field. Stores of two sizes (the column
segments of 4,096 captures, and the parsed payloads ``flatten=True`` keeps for them, start
at a sealed segment): a few captures of one value, and a segment per value with every body
again after them. Read by a first and a second call (kept tables), a fresh
``hooklab.open``, and a Parquet export opened with ``hooklab.open``; the SQL given in the
README for the exact text is checked on SQLite and on DuckDB. Real files; the bodies
arrive as a user imports them (``hooklab.load_jsonl``), and two by HTTP on 127.0.0.1.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
import time
import urllib.request
from typing import Any

import pandas as pd
import pytest

import hooklab

pytestmark = pytest.mark.timeout(900)

#: integers at and past int64's ends, past 64 bits, and one of 4,000 digits (under Python's
#: 4,300-digit limit, past any float)
VALUES: list[int] = [2**53 + 1, 2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63) - 1, 10**24 + 1,
                     -(10**24 + 1), 1234567000000000000000001, 10**4000]
#: captures per column segment (README: "a few thousand captures per blob")
SEG = 4096


def bodies_for(k: int, x: int) -> list[bytes]:
    """Four bodies of value ``x`` (fields suffixed ``k``), written as a sender writes them."""
    return [
        b'{"a%d": %d, "b%d": %d, "c%d": %d, "n%d": {"x": %d}, "l%d": [%d, 1]}' % (
            k, x, k, x, k, x, k, x, k, x),
        b'{"a%d": 5, "b%d": 0.5, "c%d": %d, "n%d": {"x": -7}, "l%d": [0.5, -2]}' % (k, k, k, x, k, k),
        b'{"a%d": -9, "b%d": 1.25, "n%d": {"x": %d}, "l%d": []}' % (k, k, k, x, k),
        b'{"c%d": %d, "other": "x"}' % (k, x),
    ]


CASES = [body for k, x in enumerate(VALUES) for body in bodies_for(k, x)]


def filler(i: int) -> bytes:
    return b'{"p": %d, "q": "evt_%d"}' % (i, i)


def layout(size: str, k: int | None = None) -> list[bytes]:
    """The bodies of a store. ``few``: value ``k``'s four bodies and two others, no sealed
    segment (one reading by Arrow: another value beside them, such as the 4,000-digit one
    Arrow refuses, would send them all to Python). ``segments``: a sealed segment per value,
    starting with two of its bodies and two of the previous value's (a field then spans two
    segments whose tables are combined), then every body again in the open part."""
    if size == "few":
        return [filler(0), *bodies_for(k, VALUES[k]), filler(5)]  # type: ignore[arg-type]
    out: list[bytes] = []
    n = len(VALUES)
    for s in range(n):
        start = len(out)
        out += bodies_for(s, VALUES[s])[:2] + bodies_for((s - 1) % n, VALUES[(s - 1) % n])[2:]
        out += [filler(j) for j in range(len(out), start + SEG)]
    return out + CASES + [filler(len(out) + len(CASES))]


def write_jsonl(path: str, bodies: list[bytes]) -> None:
    """A JSON Lines file as a person writes one (README: ``body`` as text, ``url``)."""
    with open(path, "w", encoding="utf-8") as f:
        for i, body in enumerate(bodies):
            f.write(json.dumps({
                "method": "POST", "url": "http://127.0.0.1/hook", "status": 200,
                "received_at": f"2026-06-01T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z",
                "headers": [["Content-Type", "application/json"]], "body": body.decode(),
            }) + "\n")


def flat_expected(obj: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``json_normalize``'s record of one object: nested objects as dotted keys."""
    out: dict[str, Any] = {}
    for k, v in obj.items():
        if isinstance(v, dict):
            out.update(flat_expected(v, f"{prefix}{k}."))
        else:
            out[prefix + k] = v
    return out


def same(got: Any, want: Any) -> bool:
    """The same JSON value with the same Python types (an int is not a float of it)."""
    if type(got) is not type(want):
        return False
    if isinstance(want, list):
        return len(got) == len(want) and all(same(g, w) for g, w in zip(got, want, strict=True))
    if isinstance(want, dict):
        return got.keys() == want.keys() and all(same(got[k], want[k]) for k in want)
    return bool(got == want)


def missing(x: Any) -> bool:
    return x is None or x is pd.NA or (isinstance(x, float) and math.isnan(x))


def wide(v: Any) -> bool:
    return type(v) is int and not -(2**63) <= v < 2**63


def check_json_column(df: pd.DataFrame, bodies: list[bytes]) -> None:
    wrong = [(i, str(got)[:60]) for i, (got, body) in enumerate(zip(df["json"], bodies, strict=True))
             if not same(got, json.loads(body))]
    assert not wrong, wrong[:5]


def check_flat(df: pd.DataFrame, bodies: list[bytes]) -> None:
    """Every ``payload.*`` cell of a field the cases have is ``json.loads``' value; a column
    holding an integer outside int64 is an object column."""
    records = [flat_expected(json.loads(b)) for b in bodies]
    wrong = []
    names = {key for r in records for key in r if key not in ("p", "q", "other")}
    assert {f"payload.{n}" for n in names} <= set(df.columns)
    for name in sorted(names):
        col = df[f"payload.{name}"].tolist()
        values = [r[name] for r in records if name in r]
        if any(wide(v) for v in values):
            if df[f"payload.{name}"].dtype != object:
                wrong.append((name, "dtype", str(df[f"payload.{name}"].dtype)))
        for i, (cell, r) in enumerate(zip(col, records, strict=True)):
            ok = same(cell, r[name]) if name in r else missing(cell)
            if not ok:
                wrong.append((name, i, str(cell)[:40], str(r.get(name, "(none)"))[:40]))
    assert not wrong, wrong[:8]


def check_schema(s: pd.DataFrame, ks: list[int]) -> None:
    rows = s.set_index("field")
    for k in ks:
        x = VALUES[k]
        assert rows.loc[f"a{k}", "types"] == "integer", k
        assert rows.loc[f"c{k}", "types"] == "integer", k
        assert rows.loc[f"n{k}.x", "types"] == "integer", k
        assert rows.loc[f"b{k}", "types"] == "integer|number", k
        assert rows.loc[f"l{k}[]", "types"] == "integer|number", k
        example = rows.loc[f"c{k}", "example"]
        text = json.dumps(x)
        if len(text) <= 80:
            assert example == text, (k, example)
        else:  # (cut, but its digits: no float's exponent)
            assert re.fullmatch(r"1(0)+…?", example), (k, example[:40])


def wait_kept(path: str, segments: int, timeout: float = 120) -> None:
    """Until the file holds what ``flatten=True`` kept for each sealed segment (the table the
    README names, ``segment_summaries``), bounded."""
    end = time.monotonic() + timeout
    n = -1
    while time.monotonic() < end:
        db = sqlite3.connect(path)
        try:
            n = db.execute("SELECT count(*) FROM segment_summaries WHERE kind LIKE 'flat-%'").fetchone()[0]
        except sqlite3.OperationalError:
            n = 0
        finally:
            db.close()
        if n >= segments:
            return
        time.sleep(0.1)
    raise AssertionError(f"{n} kept tables, {segments} expected")


def store(tmp_path: Any, bodies: list[bytes], name: str) -> str:
    source = str(tmp_path / f"{name}.jsonl")
    write_jsonl(source, bodies)
    path = str(tmp_path / f"{name}.sqlite3")
    hooklab.load_jsonl(source, db=path).stop()
    return path


@pytest.mark.parametrize("k", range(len(VALUES)), ids=[str(v)[:26] for v in VALUES])
def test_a_few_captures_of_one_value(tmp_path, k: int) -> None:
    """No sealed segment: the frame's columns, read by Arrow where it can, and the schema."""
    bodies = layout("few", k)
    lab = hooklab.open(store(tmp_path, bodies, "few"))
    try:
        assert [c.json() for c in lab.captures] == [json.loads(b) for b in bodies]
        check_json_column(lab.dataframe(), bodies)
        check_flat(lab.dataframe(flatten=True), bodies)
        check_schema(lab.schema(), [k])
        assert lab.json_schema(None)["properties"][f"c{k}"]["type"] == "integer"
        assert lab.export(tmp_path / "pq", fmt="parquet") == len(bodies)
    finally:
        lab.stop()
    pq = hooklab.open(tmp_path / "pq")
    try:
        check_flat(pq.dataframe(flatten=True).sort_values("id", ignore_index=True), bodies)
    finally:
        pq.stop()


def test_sealed_segments_kept_tables_and_a_parquet_export(tmp_path) -> None:
    """A segment per value, kept tables and schema summaries read back by a second call and
    by a fresh lab, the open part after them, and a Parquet export of it all; the SQL the
    README gives for the exact text."""
    bodies = layout("segments")
    segments = len(bodies) // SEG
    everything = list(range(len(VALUES)))
    path = store(tmp_path, bodies, "segments")
    lab = hooklab.open(path)
    try:
        check_json_column(lab.dataframe(), bodies)
        check_flat(lab.dataframe(flatten=True), bodies)
        check_schema(lab.schema(), everything)
        wait_kept(path, segments)
        check_flat(lab.dataframe(flatten=True), bodies)  # (the kept tables)
        properties = lab.json_schema(None)["properties"]
        assert all(properties[f"c{k}"]["type"] == "integer" for k in everything)
        # SQLite's json_extract gives a REAL (README); -> gives the JSON text, exact
        got = lab.sql("SELECT payload -> '$.c6' AS t FROM captures WHERE payload -> '$.c6' IS NOT NULL")
        assert got["t"].tolist() == [str(json.loads(b)["c6"]) for b in bodies if b'"c6"' in b]
        wei = str(1234567000000000000000001)
        assert len(lab.dataframe(search=wei)) == sum(wei.encode() in b for b in bodies)
        assert lab.export(tmp_path / "pq", fmt="parquet") == len(bodies)
    finally:
        lab.stop()

    again = hooklab.open(path)  # a fresh lab: kept tables and schema summaries as read back
    try:
        check_flat(again.dataframe(flatten=True), bodies)
        check_schema(again.schema(), everything)
    finally:
        again.stop()

    pq = hooklab.open(tmp_path / "pq")
    try:
        check_json_column(pq.dataframe().sort_values("id", ignore_index=True), bodies)
        check_flat(pq.dataframe(flatten=True).sort_values("id", ignore_index=True), bodies)
        check_schema(pq.schema(), everything)
        got = pq.sql("SELECT json_extract_string(payload, '$.c9') AS t FROM captures"
                     " WHERE json_extract_string(payload, '$.c9') IS NOT NULL")
        assert sorted(got["t"]) == [str(json.loads(b)["c9"]) for b in bodies if b'"c9"' in b]
    finally:
        pq.stop()


def test_sent_over_http_the_frame_shows_the_wei_amount(tmp_path) -> None:
    """The tester's report: ``{"value": 1234567000000000000000001}`` and ``{"value": 5}``
    posted to a serving lab."""
    wei = 1234567000000000000000001
    lab = hooklab.HookLab(port=0, db=str(tmp_path / "served.sqlite3")).start()
    try:
        for v in (wei, 5):
            request = urllib.request.Request(
                lab.url_for("alchemy"), data=json.dumps({"value": v}).encode(), method="POST",
                headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=30) as answer:
                assert answer.status == 200
        lab.wait(2, timeout=30)
        df = lab.dataframe(flatten=True)
        assert [j["value"] for j in df["json"]] == [wei, 5]
        assert [type(j["value"]) for j in df["json"]] == [int, int]
        assert df["payload.value"].dtype == object
        assert df["payload.value"].tolist() == [wei, 5]
        assert [type(v) for v in df["payload.value"]] == [int, int]
        s = lab.schema().set_index("field")
        assert s.loc["value", "types"] == "integer" and s.loc["value", "example"] == str(wei)
        assert lab.json_schema(None)["properties"]["value"]["type"] == "integer"
        assert lab.diff(lab.captures[0], lab.captures[1])["a"].tolist() == [wei]
        # the json column written to Parquet by pandas: each payload as its JSON text
        df[["json"]].to_parquet(tmp_path / "frame.parquet")
        back = pd.read_parquet(tmp_path / "frame.parquet")["json"].tolist()
        assert [json.loads(t) for t in back] == [{"value": wei}, {"value": 5}]
    finally:
        lab.stop()
