"""``lab.sql`` over a Parquet export opened with ``hooklab.open(folder)``, as a user meets it.

Captures arrive over real sockets, the lab exports them to a folder, and a second lab opens
that folder: its ``lab.sql`` runs in DuckDB. Every statement that could write, read another
file, load code or reach the network is tried (a table of them, each also chained after a
harmless ``SELECT 1;``), and nothing may change on disk; results of ``json_extract`` are the
values SQLite's gives for the same bodies (written out here, not compared between engines).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest
from _http import post

import hooklab
from hooklab.explore import ReadOnlyError

pytest.importorskip("duckdb")
pytestmark = pytest.mark.timeout(120)

BODY = {"data": {"object": {"amount": 2000, "currency": "eur", "paid": True, "refund": None,
                            "lines": [{"n": 1}, {"n": 2}], "ratio": 1.5, "note": "crème"}}}


@pytest.fixture(scope="module")
def opened(tmp_path_factory: pytest.TempPathFactory) -> tuple[hooklab.HookLab, Path]:
    root = tmp_path_factory.mktemp("pqsql")
    lab = hooklab.start(port=0, db=str(root / "captures.sqlite3"))
    try:
        for amount in (2000, 500):
            body = {**BODY, "data": {"object": {**BODY["data"]["object"], "amount": amount}}}
            status, _ = post(lab.url_for("shop"), json.dumps(body).encode(),
                             {"Content-Type": "application/json"})
            assert status == 200
        lab.wait(2, timeout=10)
        assert lab.export(str(root / "ds"), fmt="parquet") == 2
    finally:
        lab.stop()
    (root / "secret.csv").write_text("token\nhunter2\n")
    return hooklab.open(str(root / "ds")), root


def _files(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


#: (statement, what the refusal says); {root} is the folder holding the dataset and the database
REFUSED = [
    ("COPY (SELECT 42) TO '{root}/x.csv'", "COPY"),
    ("COPY captures TO '{root}/all.parquet' (FORMAT parquet)", "COPY"),
    ("EXPORT DATABASE '{root}/dump'", "EXPORT"),
    ("ATTACH '{root}/new.db' AS z", "ATTACH"),
    ("ATTACH '{root}/captures.sqlite3' AS s (TYPE sqlite)", "ATTACH"),
    ("CREATE TABLE t AS SELECT 1", "CREATE"),
    ("CREATE OR REPLACE VIEW captures AS SELECT 1 AS id", "CREATE"),
    ("DROP VIEW captures", "DROP"),
    ("INSERT INTO captures SELECT * FROM captures", "INSERT"),
    ("DELETE FROM captures", "DELETE"),
    ("UPDATE captures SET status = 1", "UPDATE"),
    ("SET threads = 1", "SET"),
    ("SET enable_external_access = true", "SET"),
    ("RESET lock_configuration", "RESET"),
    ("INSTALL httpfs", "INSTALL"),
    ("LOAD httpfs", "LOAD"),
    ("PRAGMA threads = 1", "statements are refused"),
    ("CALL duckdb_settings()", "CALL"),
    ("CHECKPOINT", "CHECKPOINT"),
    ("DETACH memory", "DETACH"),
    ("USE memory", "USE"),
    ("BEGIN TRANSACTION", "BEGIN"),
    ("VACUUM", "VACUUM"),
    ("EXPLAIN ANALYZE COPY (SELECT 1) TO '{root}/e.csv'", "refused"),
    ("EXPLAIN CREATE TABLE t AS SELECT 1", "refused"),
    ("SELECT * FROM read_csv('{root}/secret.csv')", "reads the dataset only"),
    ("SELECT * FROM read_text('{root}/secret.csv')", "reads the dataset only"),
    ("SELECT * FROM read_blob('{root}/captures.sqlite3')", "reads the dataset only"),
    ("SELECT * FROM glob('{root}/*')", "reads the dataset only"),
    ("SELECT * FROM read_parquet('{root}/ds/../elsewhere.parquet')", "reads the dataset only"),
    ("SELECT * FROM sqlite_scan('{root}/captures.sqlite3', 'captures')", ""),
    ("FROM read_csv_auto('/etc/hostname')", "reads the dataset only"),
    # DuckDB allows its spill folder (./.tmp) by itself: there is none
    ("SELECT * FROM glob('.tmp/*')", "reads the dataset only"),
    ("SELECT * FROM read_text('.tmp/creds.txt')", "reads the dataset only"),
    # planned for 38 s and 11 GB, deaf to the timeout
    (" UNION ALL ".join(["SELECT 1"] * 20_000), "at most 100,000 characters"),
    ("WITH x AS (SELECT 1) SELECT * FROM read_csv('{root}/secret.csv')", "reads the dataset only"),
    ("", "empty statement"),
    ("SELEC 1", "a typo"),
]


@pytest.mark.parametrize("statement, says", REFUSED, ids=[s[:40] or "empty" for s, _ in REFUSED])
@pytest.mark.parametrize("chained", [False, True], ids=["alone", "after SELECT 1"])
def test_parquet_sql_refuses_what_is_not_reading_the_dataset(opened, statement: str, says: str,
                                                             chained: bool) -> None:
    import duckdb

    lab, root = opened
    if chained and not statement:
        pytest.skip("'SELECT 1; ' is one statement")
    before = _files(root)
    query = statement.format(root=root)
    if chained:
        query = "SELECT 1; " + query
    with pytest.raises((ReadOnlyError, duckdb.Error)) as err:
        lab.sql(query)
    if chained:  # two statements, or DuckDB's syntax error for the second
        assert (("one statement" in str(err.value) or "at most" in str(err.value))
                if isinstance(err.value, ReadOnlyError)
                else isinstance(err.value, duckdb.ParserException) and "SELEC" in statement), err.value
    elif says:
        assert isinstance(err.value, ReadOnlyError), err.value
        assert says in str(err.value), str(err.value)
    assert _files(root) == before  # nothing written, the dataset and database untouched
    assert lab.sql("SELECT count(*) AS n FROM captures")["n"].tolist() == [2]  # still works


def test_parquet_sql_answers_as_sqlite_does(opened) -> None:
    lab, _ = opened
    got = lab.sql(
        "SELECT json_extract(payload, '$.data.object.amount') AS amount,"
        " json_extract(payload, '$.data.object.currency') AS currency,"
        " json_extract(payload, '$.data.object.paid') AS paid,"
        " json_extract(payload, '$.data.object.refund') AS refund,"
        " json_extract(payload, '$.data.object.lines') AS lines,"
        " json_extract(payload, '$.data.object.ratio') AS ratio,"
        " json_extract(payload, '$.data.object.note') AS note,"
        " json_extract(payload, '$.nothing') AS nothing, received_at"
        " FROM captures ORDER BY id")
    rows = got.drop(columns="received_at").astype(object).where(got.notna(), None).values.tolist()
    assert rows == [[2000, "eur", 1, None, '[{"n":1},{"n":2}]', 1.5, "crème", None],
                    [500, "eur", 1, None, '[{"n":1},{"n":2}]', 1.5, "crème", None]]
    assert int(got["amount"].sum()) == 2500
    assert str(got["received_at"].dtype) == "datetime64[ns, UTC]"
    # the reading statements a DuckDB user writes all run
    assert lab.sql("FROM captures SELECT count(*) AS n")["n"].tolist() == [2]
    assert "payload" in lab.sql("DESCRIBE captures")["column_name"].tolist()
    assert lab.sql("VALUES (1), (2)").shape == (2, 1)
    assert len(lab.sql("EXPLAIN SELECT * FROM captures")) >= 1
    assert lab.sql("SELECT count(*) AS n FROM captures WHERE bin = ?", ["shop"])["n"].tolist() == [2]
    assert lab.sql("SELECT count(*) AS n FROM captures WHERE bin = $b", {"b": "shop"})["n"].tolist() == [2]


def test_parquet_sql_gives_deep_json_back_as_text(tmp_path) -> None:
    """A body nested 995 levels deep: ``json_extract(payload, '$')`` raised RecursionError
    on a Parquet dataset (each JSON value was parsed again); SQLite gives the text."""
    deep = ("[" * 995 + "]" * 995).encode()
    lab = hooklab.start(port=0, db=str(tmp_path / "d.sqlite3"))
    try:
        assert post(lab.url_for("deep"), deep, {"Content-Type": "application/json"})[0] == 200
        lab.wait(1, timeout=10)
        lab.export(str(tmp_path / "ds"), fmt="parquet")
    finally:
        lab.stop()
    got = hooklab.open(str(tmp_path / "ds")).sql("SELECT json_extract(payload, '$') AS j FROM captures")
    assert got["j"].tolist() == [deep.decode()]


def test_parquet_sql_stops_at_its_timeout(opened) -> None:
    lab, _ = opened
    with pytest.raises(TimeoutError, match="stopped after 0.5 s"):
        lab.sql("SELECT count(*) FROM range(10000000000) a, range(1000) b", timeout=0.5)
    assert lab.sql("SELECT count(*) AS n FROM captures")["n"].tolist() == [2]


def test_duckdb_is_installed_with_hooklab_and_said_when_missing(opened) -> None:  # type: ignore[no-untyped-def]
    """``lab.sql`` of a Parquet dataset gave a bare ``ModuleNotFoundError: duckdb`` after
    ``pip install hooklab``: DuckDB is a dependency now, and its absence is explained."""
    import subprocess
    import sys
    from importlib.metadata import requires

    assert any(r.startswith("duckdb") and "extra" not in r for r in requires("hooklab") or [])
    _, root = opened
    code = ("import sys; sys.modules['duckdb'] = None\n"
            "import hooklab\n"
            f"lab = hooklab.open({str(root / 'ds')!r})\n"
            "print(len(lab.dataframe()))\n"
            "try:\n"
            "    lab.sql('SELECT 1')\n"
            "except ImportError as e:\n"
            "    print(e)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    n, said = r.stdout.splitlines()
    assert int(n) > 0
    assert said == ("lab.sql and schema() of a Parquet dataset run in DuckDB, which is not "
                    "installed here: pip install 'duckdb>=1.3'")


#: (body as sent, json_extract path, expected value) — the same on SQLite and on Parquet
ESCAPED = [
    (json.dumps({"café": "crème"}), "$.café", "crème"),              # Python's default
    (json.dumps({"日本": {"東京": 1}}), "$.日本.東京", 1),
    (json.dumps({"日本": {"東京": 1}}), '$."日本"."東京"', 1),
    (json.dumps({"k\u00e9y": [1, {"\u00fc": True}]}), "$.kéy[1].ü", 1),
    ('{"emoji\\ud83d\\ude00": 7}', "$.emoji\U0001f600", 7),          # a surrogate pair
    ('{"a": "caf\\u00e9", "n": NaN}', "$.a", "café"),                 # NaN: the JSON5 way
    ('{"caf\u00e9": 2}', "$.café", 2),                                  # raw UTF-8: as before
    ('{"big\\u00e9": 1234567890123456789}', "$.bigé", 1234567890123456789),
]


@pytest.mark.parametrize("body, path, want", ESCAPED, ids=[e[1] for e in ESCAPED])
def test_a_key_written_with_escapes_is_found_on_both_engines(tmp_path, body, path, want) -> None:
    """(an analyst's check) Keys past ASCII as Python's ``json.dumps`` writes them
    (``"caf\\u00e9"``) were NULL to SQLite's ``json_extract`` (3.40 finds no escaped key)
    and found by DuckDB on the Parquet export of the same captures; a 64-bit integer with
    NULLs beside it came back from SQLite as float64 (another digit)."""
    lab = hooklab.start(port=0, db=str(tmp_path / "c.sqlite3"))
    try:
        for data in (body.encode("utf-8", "surrogatepass"), b"{}"):
            status, _ = post(lab.url_for("esc"), data, {"Content-Type": "application/json"})
            assert status == 200
        lab.wait(2, timeout=10)
        assert lab.export(str(tmp_path / "ds"), fmt="parquet") == 2
        query = "SELECT json_extract(payload, ?) AS v FROM captures ORDER BY id"
        on_sqlite = lab.sql(query, [path])["v"].tolist()
    finally:
        lab.stop()
    on_parquet = hooklab.open(str(tmp_path / "ds")).sql(query, [path])["v"].tolist()
    for got in (on_sqlite, on_parquet):
        assert got[0] == want and pd.isna(got[1]), got  # (int == float is exact in Python)


@pytest.mark.parametrize("timeout,error", [
    (float("nan"), ValueError), (-1, ValueError), (0, ValueError), (float("inf"), ValueError),
    (1e300, ValueError), (True, TypeError),
], ids=["nan", "minus-1", "zero", "inf", "1e300", "bool"])
def test_parquet_sql_refuses_a_timeout_that_is_no_time_limit(opened, timeout, error) -> None:  # type: ignore[no-untyped-def]
    """``timeout=nan`` and ``timeout=-1`` both ran a DuckDB query with no limit (its timer
    went off before the query began): refused before the query runs, as on SQLite."""
    lab, _ = opened
    with pytest.raises(error, match=r"^timeout must be a number of seconds"):  # (a count that
        lab.sql("SELECT count(*) AS n FROM range(300000000)", timeout=timeout)  # ends, in ~1 s)
    assert lab.sql("SELECT count(*) AS n FROM captures")["n"].tolist() == [2]
