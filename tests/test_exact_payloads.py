"""Payload values as the bodies hold them, on a lab's SQLite store and on its Parquet export
alike: 64-bit ids in ``flatten=True``, ``lab.sql``'s ``json_extract`` and ``payload``, as a
user meets them (captures sent over real HTTP on 127.0.0.1, a real export, ``hooklab.open``).
Expected values are written out or computed from the bodies sent, never taken from the other
path.
"""

from __future__ import annotations

import importlib.metadata
import json
import time
from pathlib import Path

import pytest
from _http import post

import hooklab

pytestmark = pytest.mark.timeout(120)

JSON = {"Content-Type": "application/json"}


def _lab_and_export(tmp_path: Path, bodies: list[tuple[str, bytes, dict[str, str]]]
                    ) -> tuple[hooklab.HookLab, hooklab.HookLab]:
    """A serving lab that received ``bodies`` ((bin, body, headers) each), and its Parquet
    export opened with ``hooklab.open``."""
    lab = hooklab.start(port=0, db=str(tmp_path / "captures.sqlite3"))
    for bin_, body, headers in bodies:
        assert post(lab.url_for(bin_), body, headers)[0] == 200
    lab.wait(len(bodies), timeout=10)
    assert lab.export(str(tmp_path / "ds"), fmt="parquet") == len(bodies)
    return lab, hooklab.open(str(tmp_path / "ds"))


def test_flatten_keeps_64_bit_ids_exact_when_some_captures_lack_them(tmp_path: Path) -> None:
    """``payload.guild_id`` of [1234567890123456789, 9007199254740993, missing] came out as
    float64 [1.2345678901234568e+18, 9007199254740992.0, nan]: a float cannot hold integers
    past 2**53. They come out as pandas' nullable Int64 now, from SQLite and from Parquet;
    small integers with a gap stay float64, as ``json_normalize`` gives them."""
    ids = [1234567890123456789, 9007199254740993, -(2**63)]
    sent = [{"type": "message", "guild_id": g, "n": k} for k, g in enumerate(ids)]
    sent.append({"type": "ping"})  # no guild_id, no n
    bodies = [("discord", json.dumps(b).encode(), JSON) for b in sent]
    bodies.append(("discord", b"not json at all", {"Content-Type": "text/plain"}))
    lab, pq = _lab_and_export(tmp_path, bodies)
    try:
        want = [b.get("guild_id") for b in sent] + [None]
        for opened in (lab, pq, lab):  # (the third: the segments the first call kept)
            f = opened.dataframe(flatten=True).sort_values("id")
            col = f["payload.guild_id"]
            assert str(col.dtype) == "Int64"
            assert [None if v is pd_na() else int(v) for v in col] == want
            assert str(f["payload.n"].dtype) == "float64"  # within 2**53: as json_normalize
            assert [None if v != v else v for v in f["payload.n"]] == [0.0, 1.0, 2.0, None, None]
        # every capture has it: plain int64, as before
        whole = lab.dataframe(flatten=True, until=3)["payload.guild_id"]
        assert str(whole.dtype) == "int64" and whole.tolist() == ids
    finally:
        lab.stop()
        pq.stop()


def pd_na() -> object:
    import pandas as pd

    return pd.NA


def test_flatten_reads_utf16_and_utf32_json_objects_as_json_does(tmp_path: Path) -> None:
    """A UTF-16 JSON object was parsed by ``capture.json()`` and the ``json`` column but got no
    ``payload.*`` columns in ``flatten=True`` (a UTF-8 byte order mark did)."""
    sent = {"utf8": {"type": "a", "n": 1}, "u16": {"type": "c", "n": 3},
            "u16be": {"type": "d", "n": 4}, "u32": {"type": "e", "n": 5}}
    codecs = {"utf8": "utf-8", "u16": "utf-16", "u16be": "utf-16-be", "u32": "utf-32"}
    bodies = [(b, json.dumps(v).encode(codecs[b]), {"Content-Type": f"application/json; charset={codecs[b]}"})
              for b, v in sent.items()]
    lab, pq = _lab_and_export(tmp_path, bodies)
    try:
        for opened in (lab, pq):
            f = opened.dataframe(flatten=True).sort_values("id")
            assert [c.json() for c in opened.captures] == list(sent.values())
            assert f["payload.type"].tolist() == [v["type"] for v in sent.values()]
            assert f["payload.n"].tolist() == [v["n"] for v in sent.values()]
    finally:
        lab.stop()
        pq.stop()


ORDERS = [{"amount": 5, "currency": "usd", "paid": True, "meta": {"k": [1, 2]}},
          {"amount": "5", "currency": "usd", "paid": False, "ratio": 1.5},
          {"amount": "5", "currency": "eur", "paid": None, "big": 2**64 + 1},
          {"amount": 7, "currency": "usd"}]


def _values(col: object) -> list[object]:
    """A result column's values, each missing one None (SQLite's None shows as NaN in a
    column of text)."""
    return [None if v is None or v is pd_na() or v != v else v for v in col]  # type: ignore[attr-defined]


def _sqlite_type(value: object) -> str | None:
    """The name SQLite's json_type gives a parsed JSON value (None: the path is missing)."""
    if value is True or value is False:
        return "true" if value else "false"
    return {type(None): "null", int: "integer", float: "real", str: "text", list: "array",
            dict: "object"}[type(value)]


#: duckdb 1.x (the one Python 3.10 gets): json_extract values of different kinds do not compare
_DUCKDB_1 = int(importlib.metadata.version("duckdb").split(".")[0]) < 2


def test_parquet_sql_json_extract_compares_and_sums_as_sqlite_does(tmp_path: Path) -> None:
    """``WHERE json_extract(payload, '$.currency') = 'usd'`` raised ConversionException on a
    Parquet dataset, ``= '5'`` silently counted the number 5 instead of the string "5", and
    ``sum(json_extract(...))`` raised BinderException (DuckDB's json_extract gives JSON)."""
    lab, pq = _lab_and_export(tmp_path, [("orders", json.dumps(b).encode(), JSON) for b in ORDERS])
    want_types = [_sqlite_type(b["amount"]) for b in ORDERS]
    ints = [b["amount"] for b in ORDERS if type(b["amount"]) is int]
    try:
        for opened in (lab, pq):
            def one(query: str) -> object:
                return opened.sql(query).iloc[0, 0]  # noqa: B023 - called in this iteration

            x = "json_extract(payload, '$.{}')".format
            assert one(f"SELECT count(*) AS n FROM captures WHERE {x('currency')} = 'usd'") == sum(
                b["currency"] == "usd" for b in ORDERS)
            mixed = [f"SELECT count(*) AS n FROM captures WHERE {x('amount')} = '5'",
                     f"SELECT count(*) AS n FROM captures WHERE {x('amount')} = 5"]
            if opened is pq and _DUCKDB_1:
                # duckdb 1.x (Python 3.10's) cannot compare the text "5" with 5: said so,
                # by hooklab, with the way out (the comparisons below need duckdb >= 2)
                for query in mixed:
                    with pytest.raises(TypeError, match=r"duckdb 1\.\S+ cannot compare json_extract"
                                       r".*duckdb >= 2 \(Python >= 3\.11\).*TRY_CAST"):
                        opened.sql(query)
                assert one(f"SELECT count(*) AS n FROM captures WHERE json_type(payload, '$.amount')"
                           f" = 'text' AND CAST({x('amount')} AS VARCHAR) = '5'") == 2
            else:
                assert one(mixed[0]) == sum(b["amount"] == "5" for b in ORDERS)
                assert one(mixed[1]) == sum(b["amount"] == 5 and type(b["amount"]) is int
                                            for b in ORDERS)
            assert one(f"SELECT sum({x('amount')}) AS n FROM captures "
                       "WHERE json_type(payload, '$.amount') = 'integer'") == sum(ints)
            got = opened.sql(f"SELECT json_type(payload, '$.amount') AS t, {x('paid')} AS paid,"
                             f" {x('meta')} AS meta, {x('ratio')} AS ratio, {x('big')} AS big,"
                             " json_type(payload, '$.paid') AS tp, json_type(payload) AS tb"
                             " FROM captures ORDER BY id")
            assert _values(got["t"]) == want_types
            assert _values(got["tp"]) == [_sqlite_type(b["paid"]) if "paid" in b else None
                                          for b in ORDERS]
            assert _values(got["tb"]) == ["object"] * len(ORDERS)
            assert _values(got["paid"]) == [1, 0, None, None]  # true as 1, as SQLite's
            assert _values(got["meta"]) == [json.dumps(ORDERS[0]["meta"], separators=(",", ":")),
                                            None, None, None]
            assert got["ratio"].tolist()[1] == 1.5
            assert float(got["big"].tolist()[2]) == float(2**64 + 1)
        # SQLite's ->> gives numbers, DuckDB's text: refused on Parquet, not answered otherwise
        arrow = "SELECT count(*) AS n FROM captures WHERE payload ->> '$.amount' = '5'"
        assert lab.sql(arrow).iloc[0, 0] == 2
        with pytest.raises(ValueError, match="json_extract"):
            pq.sql(arrow)
        assert pq.sql("SELECT '->>' AS s").iloc[0, 0] == "->>"  # (in a string it is text)
    finally:
        lab.stop()
        pq.stop()


def _finite(value: object) -> object:
    """``value`` with NaN as None: JSON text has no NaN, the ``payload`` column writes null."""
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def test_sql_payload_holds_what_capture_json_reads_on_sqlite_and_parquet(tmp_path: Path) -> None:
    """The SQL ``payload`` was NULL for a UTF-8 byte-order-mark body and a UTF-16 body that
    ``capture.json()`` parses, mangled text (SQLite) for a Latin-1 body it does not parse, and
    NULL on SQLite but a value on Parquet for ``{"v": NaN}``. Now, on both: what json() reads,
    payload holds (NaN as null, infinity as 9e999: JSON text has neither); else NULL."""
    import gzip

    bodies = [
        ("bom", b'\xef\xbb\xbf{"type":"bom","name":"x"}', JSON),
        ("utf16", '{"type":"u16","name":"x"}'.encode("utf-16"), {"Content-Type": "application/json; charset=utf-16"}),
        ("latin1", '{"type":"latin","name":"crème"}'.encode("latin-1"),
         {"Content-Type": "application/json; charset=iso-8859-1"}),
        ("nan", b'{"type":"nan","v":NaN,"w":-Infinity,"s":"NaN"}', JSON),
        ("utf8", '{"type":"utf8","name":"crème"}'.encode(), JSON),
        ("gz", gzip.compress(b'{"type":"gz","n":1}'), {**JSON, "Content-Encoding": "gzip"}),
        ("comma", b'{"type":"comma","n":1,}', JSON),  # DuckDB's JSON takes it, Python's not
        ("lower-nan", b'{"type":"lnan","v":nan}', JSON),
        ("form", b"a=1&b=2", {"Content-Type": "application/x-www-form-urlencoded"}),
        ("plain", b"hello", {"Content-Type": "text/plain"}),
    ]
    lab, pq = _lab_and_export(tmp_path, bodies)
    try:
        parsed = [c.json() for c in lab.captures]
        assert [p is not None for p in parsed] == [True, True, False, True, True, True, False, False,
                                                   False, False]
        for opened in (lab, pq):
            got = opened.sql("SELECT payload, json_extract(payload, '$.type') AS type,"
                             " json_extract(payload, '$.w') AS w FROM captures ORDER BY id")
            payloads = _values(got["payload"])
            assert [None if p is None else json.loads(p) for p in payloads] == [
                _finite(p) for p in parsed]
            assert _values(got["type"]) == [None if p is None else p["type"] for p in parsed]
            assert _values(got["w"])[3] == float("-inf")
    finally:
        lab.stop()
        pq.stop()


def test_diff_of_an_id_two_labs_exported_into_one_folder_says_it_is_ambiguous(tmp_path: Path) -> None:
    """``lab.diff(1, 2)`` on a folder holding two labs' Parquet exports (both have ids 1 and
    2) silently compared one capture of each id, maybe from different labs; it says the id is
    ambiguous now, as exporting such a folder again does, and captures passed as themselves
    still compare."""
    out = tmp_path / "pq"
    for name, amounts in (("lab_a", [100, 200]), ("lab_b", [999, 111])):
        lab = hooklab.start(port=0, db=str(tmp_path / f"{name}.sqlite3"))
        try:
            for a in amounts:
                assert post(lab.url_for(name), json.dumps({"amount": a}).encode(), JSON)[0] == 200
            lab.wait(2, timeout=10)
            lab.export(str(out), fmt="parquet")
        finally:
            lab.stop()
    both = hooklab.open(str(out))
    try:
        with pytest.raises(ValueError, match=r"capture id 1 names 2 captures.*lab_a, lab_b"):
            both.diff(1, 2)
        with pytest.raises(ValueError, match="ids repeat"):
            both.get(2)
        a1, a2 = both.query(bin="lab_a")
        d = both.diff(a1, a2)
        assert d[["field", "change", "a", "b"]].values.tolist() == [["amount", "changed", 100, 200]]
        # the live view of that folder: a click on such a row says it in the detail pane (a
        # traceback under the view, from the click's callback, said it before)
        view = both.live()
        try:
            view.refresh()
            assert len(view.rows) == 4
            view.table.index = 0
            assert "names 2 captures" in view.detail.value and view.selected is None
        finally:
            view.close()
    finally:
        both.stop()


def test_the_json_column_does_not_keep_bodies_that_cannot_be_json(tmp_path: Path) -> None:
    """A long-running lab's frames of megabyte binary bodies: the json column kept every body
    whole (compressed; random bytes do not shrink) for a value that is None, 40 MB for 40 of
    them, gigabytes over a day of dataframe() calls. Bodies that may be JSON stay: a text/plain
    body that starts with "{", a JSON-typed body that is not valid JSON, a gzip body."""
    import base64
    import gzip
    import os

    big = 1 << 20  # (random bodies start with a zero byte: one starting with "{", "[" or a
    # space may be JSON, and is kept to be tried, as it should be)
    lab = hooklab.start(port=0, db=str(tmp_path / "big.sqlite3"))
    try:
        sends = [(b"\x00" + os.urandom(big - 1), "application/octet-stream") for _ in range(6)]
        sends += [(b"plain text " * (big // 11), "text/plain")]
        sends += [(b'{"kept": "' + b"k" * big + b'"}', "text/plain")]  # parses: kept
        sends += [(b" [1, 2]" + b" " * big, "")]  # white space first: parses
        sends += [(b"not json" * (big // 8), "application/json")]  # JSON-typed: kept, None
        for body, ctype in sends:
            headers = {"Content-Type": ctype} if ctype else {}
            assert post(lab.url_for("b"), body, headers)[0] == 200
        gz = gzip.compress(b'{"zipped": true}' + b" " * big)
        assert post(lab.url_for("b"), gz, {"Content-Encoding": "gzip",
                                           "Content-Type": "application/octet-stream"})[0] == 200
        lab.wait(len(sends) + 1, timeout=30)
        df = lab.dataframe()
        values = df["json"].tolist()
        assert values[:7] == [None] * 7
        assert values[7] == {"kept": "k" * big} and values[8] == [1, 2]
        assert values[9] is None and values[10] == {"zipped": True}
        # what it keeps: the four that may be JSON (~3 MB of them shrink to little), not 7 MB
        assert df.memory_usage(deep=True)["json"] < 1 << 20
        flat = lab.dataframe(flatten=True)
        assert flat["payload.kept"].tolist()[7] == "k" * big
    finally:
        lab.stop()

    # a store whose first captures are in a column segment (kept zlib blocks), the newest not
    # (review: the newest rows were judged by the oldest rows' flags: gzip JSON came out None)
    path = tmp_path / "many.jsonl"
    gz = base64.b64encode(gzip.compress(b'{"zipped": 1}' + b" " * 400_000)).decode()
    with path.open("w") as f:
        for i in range(4600):
            headers = [["Content-Type", "application/json"]]
            if i in (7, 1007, 2007, 3007, 4500):
                body, headers = b"\x00" + os.urandom(big - 1), [["Content-Type", "application/octet-stream"]]
            elif i < 4096:
                body, headers = b"plain text %d" % i, [["Content-Type", "text/plain"]]
            else:
                body = json.dumps({"i": i}).encode()
            line = {"method": "POST", "path": "/m", "received_at": "2026-01-01T00:00:00Z",
                    "headers": headers, "body_b64": base64.b64encode(body).decode()}
            if 4100 <= i < 4104:
                line["headers"] = [["Content-Type", "application/octet-stream"],
                                   ["Content-Encoding", "gzip"]]
                line["body_b64"] = gz
            f.write(json.dumps(line) + "\n")
    many = hooklab.load_jsonl(path, db=str(tmp_path / "many.sqlite3"))
    try:
        seg = many.sql("SELECT count(*) AS n FROM captures")  # (the store as a user sees it)
        assert int(seg["n"][0]) == 4600
        deadline = time.monotonic() + 30
        while not _segmented(tmp_path / "many.sqlite3") and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _segmented(tmp_path / "many.sqlite3")
        values = many.dataframe()["json"].tolist()
        assert values[7] is None and values[4500] is None and values[8] is None
        assert values[4100:4104] == [{"zipped": 1}] * 4 and values[4200] == {"i": 4200}
        assert many.dataframe().memory_usage(deep=True)["json"] < 1 << 20  # (5 MB kept before)
    finally:
        many.stop()


def _segmented(db: Path) -> bool:
    """Whether the store keeps a column segment yet (made in its quiet moments)."""
    import sqlite3

    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        return con.execute("SELECT count(*) FROM segments").fetchone()[0] > 0
