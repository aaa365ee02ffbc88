"""lab.sql: read-only SQL over the documented ``captures`` view, on real stores.

Every statement that could change something is tried, as a table, on an in-memory store (the
store's own connection, shared with its writer) and on a database file (a separate read-only
connection); afterwards the captures, the files next to the database and the store's ability
to take new captures are checked.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from _http import post

import hooklab
from hooklab import HookLab
from hooklab.capture import ForwardOutcome
from hooklab.explore import VIEW_COLUMNS, ReadOnlyError

pytestmark = pytest.mark.timeout(180)

BODIES = [
    {"type": "invoice.paid", "data": {"object": {"amount": 4200, "currency": "eur",
                                                 "lines": [{"amount": 4000}, {"amount": 200}]}}},
    {"type": "charge.refunded", "data": {"object": {"amount": 999, "currency": "usd"}}},
]


def fill(lab: HookLab) -> None:
    for b in BODIES:
        hooklab.send(lab.url_for("stripe"), payload=b,
                     headers={"Stripe-Signature": "t=1,v1=00", "X-Trace": "abc"})
    assert post(lab.url_for("text"), b"\xff\xfe not utf-8 \x00", {"Content-Type": "text/plain"})[0] == 200
    assert post(lab.url_for("form"), b"a=1", {"Content-Type": "application/x-www-form-urlencoded"})[0] == 200
    lab.wait(4, timeout=10)


@pytest.fixture(params=["memory", "file"])
def filled(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[HookLab]:
    db = ":memory:" if request.param == "memory" else str(tmp_path / "db" / "c.sqlite3")
    lab = HookLab(port=0, db=db).start()
    try:
        fill(lab)
        yield lab
    finally:
        lab.stop()


def test_the_view_documented_columns_and_json(filled: HookLab) -> None:
    everything = filled.sql("SELECT * FROM captures ORDER BY id")
    assert tuple(everything.columns) == VIEW_COLUMNS
    assert len(everything) == 4
    assert str(everything["received_at"].dtype) == "datetime64[ns, UTC]"
    assert everything["received_at"].tolist() == [c.received_at for c in filled.captures]
    frame = filled.dataframe()
    shared = [c for c in VIEW_COLUMNS if c in frame.columns and c not in ("received_at",)]
    for col in ("id", "bin", "method", "path", "provider", "event_type", "content_type", "size",
                "status", "handshake"):
        assert col in shared
        assert everything[col].astype(object).where(everything[col].notna(), None).tolist() == \
            frame[col].astype(object).where(frame[col].notna(), None).tolist(), col
    assert everything["payload"].tolist()[:2] == [json.dumps(b) for b in BODIES]
    assert pd.isna(everything["payload"][2]) and pd.isna(everything["payload"][3])
    assert ["X-Trace", "abc"] in json.loads(everything["headers"][0])

    got = filled.sql(
        "SELECT event_type, json_extract(payload, '$.data.object.amount') AS amount, "
        "payload ->> '$.data.object.currency' AS currency FROM captures "
        "WHERE provider = ? ORDER BY id", ["stripe"])
    assert got.values.tolist() == [["invoice.paid", 4200, "eur"], ["charge.refunded", 999, "usd"]]
    lines = filled.sql(
        "SELECT c.id, j.value AS amount FROM captures c, "
        "json_each(c.payload, '$.data.object.lines') j WHERE j.value IS NOT NULL ORDER BY 1")
    assert lines.values.tolist() == [[1, '{"amount":4000}'], [1, '{"amount":200}']]
    named = filled.sql("SELECT count(*) AS n FROM captures WHERE bin = :b", {"b": "stripe"})
    assert named["n"].tolist() == [2]
    assert filled.sql("SELECT name FROM pragma_table_info('captures') LIMIT 1")["name"].tolist() == ["id"]
    tree = filled.sql("SELECT count(*) AS n FROM captures, json_tree(captures.payload) "
                      "WHERE json_tree.type = 'integer'")
    assert tree["n"].tolist() == [4]


def test_forward_columns_show_the_latest_outcome(lab: HookLab, tmp_path: Path) -> None:
    hooklab.send(lab.url_for("f"), payload={"x": 1})
    (cap,) = lab.wait(1, timeout=10)
    lab.store.record_forward(ForwardOutcome(cap.id, "http://127.0.0.1:9/x", None, None, "refused"))
    lab.store.record_forward(ForwardOutcome(cap.id, "http://127.0.0.1:9/x", 202, 3.5))
    lab.store.flush()
    got = lab.sql("SELECT forward_status, forward_latency_ms, forward_error FROM captures")
    assert got.values.tolist() == [[202, 3.5, None]]


# what must be refused, and the words the refusal names
WRITES = [
    ("INSERT INTO captures (received_us, method, path, bin, body) VALUES (1, 'GET', '/', '', x'')", "INSERT"),
    ("UPDATE captures SET status = 500", "UPDATE"),
    ("DELETE FROM captures", "DELETE"),
    ("DELETE FROM main.captures WHERE id = 1", "DELETE"),
    ("DROP TABLE captures", "DROP"),
    ("DROP VIEW captures", "DROP"),
    ("ALTER TABLE captures ADD COLUMN x", "ALTER"),
    ("CREATE TABLE t (a)", "CREATE"),
    ("CREATE TEMP TABLE t (a)", "CREATE"),
    ("CREATE INDEX i ON captures(status)", "CREATE"),
    ("CREATE TRIGGER tr AFTER INSERT ON captures BEGIN DELETE FROM captures; END", "CREATE"),
    ("REPLACE INTO captures (id, received_us, method, path, bin, body) VALUES (1, 1, 'GET', '/', '', x'')", "REPLACE"),
    ("ATTACH DATABASE '{tmp}/evil.db' AS evil", "ATTACH"),
    ("DETACH DATABASE temp", "DETACH"),
    ("VACUUM", "VACUUM"),
    ("VACUUM INTO '{tmp}/copy.db'", "VACUUM"),
    ("REINDEX", "REINDEX"),
    ("ANALYZE", "ANALYZE"),
    ("BEGIN", "BEGIN"),
    ("SAVEPOINT s", "SAVEPOINT"),
    ("PRAGMA user_version = 7", "pragma user_version"),
    ("PRAGMA query_only = 0", "pragma query_only"),
    ("PRAGMA journal_mode = DELETE", "pragma journal_mode"),
    ("PRAGMA writable_schema = 1", "pragma writable_schema"),
    ("SELECT * FROM pragma_user_version", "pragma user_version"),
    ("SELECT 1; DELETE FROM captures", "one statement"),
    ("SELECT 1; SELECT 2", "one statement"),
    ("WITH x AS (SELECT 1) DELETE FROM captures", "cannot modify captures"),
    ("WITH x AS (SELECT 1) DELETE FROM main.captures", "delete captures"),
    ("WITH x AS (SELECT id FROM captures) UPDATE main.captures SET status = 1 WHERE id IN x", "update captures"),
    ("WITH x(a) AS (VALUES (1)) INSERT INTO main.captures (received_us, method, path, bin, body) SELECT 1, 'G', '/', '', x'' FROM x", "insert captures"),
    ("WITH x(a) AS (VALUES (1)) INSERT INTO captures (id) SELECT a FROM x",
     "insert captures|cannot modify captures"),
    ("EXPLAIN DELETE FROM main.captures", "delete captures"),
    ("/* hidden */ -- comment\n DELETE FROM captures", "DELETE"),
    ("  (DELETE FROM captures)", "DELETE"),
    ("SELECT load_extension('/tmp/x.so')", "load_extension"),
    ("SELECT fts3_tokenizer('simple')", "fts3_tokenizer"),
    ("CREATE VIRTUAL TABLE temp.f USING fts5(x)", "CREATE"),
    ("", "empty statement"),
    ("SELEC id FROM captures", "not 'SELEC id FROM captur' \\(a typo\\?\\)"),
    ("captures", "not 'captures'"),
    ("FROM captures SELECT id", "not 'FROM captures SELECT'"),
]


@pytest.mark.parametrize("statement, says", WRITES, ids=[w[0][:40] for w in WRITES])
def test_writes_are_refused_and_change_nothing(filled: HookLab, tmp_path: Path,
                                               statement: str, says: str) -> None:
    files_before = sorted(p.name for p in tmp_path.rglob("*"))
    db_file = Path(filled.db_path) if filled.db != ":memory:" else None
    digest = hashlib.sha256(db_file.read_bytes()).hexdigest() if db_file else None
    before = filled.sql("SELECT id, status, size FROM captures ORDER BY id")
    with pytest.raises(ReadOnlyError, match=says):
        filled.sql(statement.format(tmp=tmp_path))
    after = filled.sql("SELECT id, status, size FROM captures ORDER BY id")
    pd.testing.assert_frame_equal(before, after)
    assert sorted(p.name for p in tmp_path.rglob("*")) == files_before  # no attached / vacuumed file
    if db_file is not None:
        assert hashlib.sha256(db_file.read_bytes()).hexdigest() == digest
    # the store still works normally afterwards: the shared connection was restored
    hooklab.send(filled.url_for("after"), payload={"ok": True})
    assert filled.wait(5, timeout=10)[-1].bin == "after"
    assert filled.captures[-1].json() == {"ok": True}
    assert filled.sql("SELECT count(*) AS n FROM captures")["n"].tolist() == [5]


def test_refusal_is_a_permission_error_and_the_store_table_stays_shadowed(lab: HookLab) -> None:
    with pytest.raises(PermissionError):
        lab.sql("DELETE FROM captures")
    # the temporary view is gone afterwards: the store's own queries see its table again
    with lab.store.read_connection() as db:
        assert db.execute("SELECT count(*) FROM sqlite_temp_master").fetchone()[0] == 0
        assert db.execute("PRAGMA query_only").fetchone()[0] == 0
    assert lab.dataframe().empty and lab.schema().empty


def test_runaway_queries_stop_and_syntax_errors_pass_through(lab: HookLab) -> None:
    t0 = time.monotonic()
    with pytest.raises(TimeoutError, match="stopped after 0.5 s"):
        lab.sql("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
                "SELECT count(*) FROM c", timeout=0.5)
    assert time.monotonic() - t0 < 10
    with pytest.raises(sqlite3.OperationalError, match="syntax error"):
        lab.sql("SELECT FROM WHERE")
    with pytest.raises(TypeError):
        lab.sql(b"SELECT 1")  # type: ignore[arg-type]
    assert lab.sql("VALUES (1, 'a')").values.tolist() == [[1, "a"]]


def test_memory_store_keeps_receiving_while_sql_runs(lab: HookLab) -> None:
    """lab.sql on ":memory:" holds the store's lock only for its own query."""
    stop = threading.Event()
    sent: list[int] = []

    def sender() -> None:
        while not stop.is_set() and len(sent) < 200:
            hooklab.send(lab.url_for("bg"), payload={"i": len(sent)})
            sent.append(1)

    t = threading.Thread(target=sender)
    t.start()
    try:
        for _ in range(20):
            lab.sql("SELECT count(*) FROM captures, json_each(captures.payload)")
    finally:
        stop.set()
        t.join(30)
    lab.wait(len(sent), timeout=10)
    assert lab.sql("SELECT count(*) AS n FROM captures")["n"].tolist() == [len(sent)]


def test_undecodable_text_does_not_break_a_query(filled: HookLab) -> None:
    got = filled.sql("SELECT CAST(c.headers AS TEXT) AS h, method FROM captures c WHERE bin = 'text'")
    assert got["method"].tolist() == ["POST"]
    raw: Any = filled.sql("SELECT CAST(body AS TEXT) AS t FROM main.captures WHERE bin = 'text'")
    assert raw["t"][0].startswith("\ufffd")


@pytest.mark.parametrize("stamp, shown", [
    ("1969-12-31T23:59:59.999999Z", "1969-12-31T23:59:59.999999Z"),  # (was 1970-01-01T00:00:00.-00001Z)
    ("1969-07-20T20:17:40.5Z", "1969-07-20T20:17:40.500000Z"),
    ("1970-01-01T00:00:00Z", "1970-01-01T00:00:00.000000Z"),
    ("1677-09-22T00:00:00.000001Z", "1677-09-22T00:00:00.000001Z"),
    ("2100-01-01T00:00:00.25Z", "2100-01-01T00:00:00.250000Z"),
])
def test_received_at_of_any_time_an_import_takes(tmp_path: Path, stamp: str, shown: str) -> None:
    import json

    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps({"received_at": stamp, "path": "/old"}) + "\n")
    lab = hooklab.load_jsonl(str(path))
    try:
        got = lab.sql("SELECT received_at FROM captures")
        assert got["received_at"].tolist() == [pd.Timestamp(shown)]  # (a frame's datetime)
        assert lab.sql("SELECT received_at || '' AS t FROM captures")["t"].tolist() == [shown]
        assert lab.sql("SELECT id FROM captures WHERE received_at < '1970'")["id"].tolist() == (
            [1] if shown < "1970" else [])
    finally:
        lab.stop()


#: counts to 2,000,000 in about a second: a timeout that set no limit lets it finish
_COUNTING = ("WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 2000000) "
             "SELECT count(*) AS n FROM r")


@pytest.mark.parametrize("timeout,error", [
    (float("nan"), ValueError),  # ran with no limit: no time is past NaN
    (-1, ValueError),  # "stopped after -1 s"
    (0, ValueError),
    (-0.0, ValueError),
    (float("inf"), ValueError),  # (None says no limit)
    (float("-inf"), ValueError),
    (1e300, ValueError),  # (past what a timer can wait)
    (True, TypeError),
    ("5", TypeError),
    ([5], TypeError),
], ids=["nan", "minus-1", "zero", "minus-zero", "inf", "minus-inf", "1e300", "bool", "text", "list"])
def test_a_timeout_that_is_no_time_limit_is_refused_before_the_query_runs(
        filled: HookLab, timeout: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match=r"^timeout must be a number of seconds"):
        filled.sql(_COUNTING, timeout=timeout)
    assert filled.sql("SELECT count(*) AS n FROM captures")["n"].tolist() == [4]


@pytest.mark.parametrize("timeout", [None, 60, 60.0, 1e-9 + 60])
def test_a_timeout_of_seconds_or_none_runs_the_query(filled: HookLab, timeout: Any) -> None:
    assert filled.sql(_COUNTING, timeout=timeout)["n"].tolist() == [2_000_000]


# (a lab.sql, what it raises: None when it answers) - each tried before the lab takes a webhook
ENDINGS = [
    ("SELECT count(*) AS n FROM captures", None),
    ("DELETE FROM captures", ReadOnlyError),
    ("SELECT nonsense FROM captures", sqlite3.OperationalError),
    ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c",
     TimeoutError),
]


@pytest.mark.parametrize("removal", ["this python", "before 3.11"])
@pytest.mark.parametrize("query, raises", ENDINGS, ids=["answers", "refused", "fails", "times out"])
def test_a_memory_lab_stores_webhooks_after_any_lab_sql(
        lab: HookLab, monkeypatch: pytest.MonkeyPatch, removal: str, query: str,
        raises: type[Exception] | None) -> None:
    """On Python 3.10 (``requires-python >= 3.10``) every lab.sql failed ("not authorized")
    and an in-memory lab then answered every webhook 503 ("capture not stored:
    DatabaseError: not authorized"): the clean-up removed lab.sql's authorizer with
    ``set_authorizer(None)``, which only 3.11 reads as "none"; 3.10 installed one that
    refuses everything, and the clean-up stopped at its next statement, leaving
    ``query_only`` on. "before 3.11" runs the way hooklab removes it there (an authorizer
    that allows everything) on whatever Python runs this."""
    from hooklab.explore import sql

    if removal == "before 3.11":
        monkeypatch.setattr(sql, "_NO_AUTHORIZER", sql._allow_all)
    r = hooklab.send(lab.url_for("before"), payload={"n": 1})
    assert r.status == 200, r.body
    lab.wait(1, timeout=10)
    if raises is None:
        assert lab.sql(query)["n"].tolist() == [1]
    else:
        with pytest.raises(raises):
            lab.sql(query, timeout=0.3)
    # the store's own connection is as it was: no view, writable, no authorizer left refusing
    with lab.store.read_connection() as db:
        assert db.execute("SELECT count(*) FROM sqlite_temp_master").fetchone()[0] == 0
        assert db.execute("PRAGMA query_only").fetchone()[0] == 0
    r = hooklab.send(lab.url_for("after"), payload={"n": 2})
    assert (r.status, r.body) == (200, b'{"ok": true, "id": 2}')
    assert [c.bin for c in lab.wait(2, timeout=10)] == ["before", "after"]
    # and the next lab.sql answers, and refuses writes, as the first did
    assert lab.sql("SELECT bin FROM captures ORDER BY id")["bin"].tolist() == ["before", "after"]
    with pytest.raises(ReadOnlyError):
        lab.sql("DELETE FROM captures")
    assert len(lab.captures) == 2
