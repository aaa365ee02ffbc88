"""Time filters in ``lab.sql``, on SQLite and on a Parquet dataset (DuckDB), as a user writes them.

``received_at`` in the ``captures`` view is text (``2026-01-01T12:00:00.000000Z``): a datetime
parameter was bound as SQLite's ``2026-01-01 12:00:00+00:00`` (a space sorts before the ``T``,
so ``received_at > ?`` gave every capture of that day) and DuckDB refused to compare it with
text at all. Every time parameter (datetime, pandas.Timestamp, numpy.datetime64, date; aware,
naive, other zones; ``?``, ``:name`` and ``$name``) must give the ids written out here, on
both engines, and the ids ``since=`` gives. The captures are imported with their times
(``hooklab.load_jsonl``), one microsecond apart around noon, so a bound time that is off by
its format or its zone picks other rows.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import textwrap
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hooklab

pytest.importorskip("duckdb")
pytestmark = pytest.mark.timeout(180)

UTC = timezone.utc
#: id -> received_at (UTC)
TIMES = {
    1: "2026-01-01T11:59:59.999999+00:00",
    2: "2026-01-01T12:00:00+00:00",
    3: "2026-01-01T12:00:00.000001+00:00",
    4: "2026-01-02T00:00:00+00:00",
    5: "2026-01-02T09:30:00.5+00:00",
}
NOON = datetime(2026, 1, 1, 12, tzinfo=UTC)


def _record(i: int, when: str) -> dict:
    body = json.dumps({"n": i}).encode()
    return {"id": i, "kind": "http", "received_at": when, "method": "POST", "path": "/orders",
            "query": {}, "headers": [["Content-Type", "application/json"]],
            "remote_addr": "127.0.0.1", "status": 200, "provider": None, "event_type": None,
            "delivery_id": None, "verified": None, "body_b64": base64.b64encode(body).decode()}


@pytest.fixture(scope="module")
def labs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, hooklab.HookLab]:
    root = tmp_path_factory.mktemp("sqltimes")
    src = root / "captures.jsonl"
    src.write_text("".join(json.dumps(_record(i, t)) + "\n" for i, t in TIMES.items()))
    lab = hooklab.load_jsonl(str(src), db=str(root / "captures.sqlite3"))
    assert lab.sql("SELECT received_at || '' AS t FROM captures ORDER BY id").t.tolist() == [
        "2026-01-01T11:59:59.999999Z", "2026-01-01T12:00:00.000000Z",
        "2026-01-01T12:00:00.000001Z", "2026-01-02T00:00:00.000000Z",
        "2026-01-02T09:30:00.500000Z"]
    assert lab.export(str(root / "ds"), fmt="parquet") == 5
    pq = hooklab.open(str(root / "ds"))
    assert pq.sql("SELECT received_at || '' AS t FROM captures ORDER BY id").t.tolist()[1] == (
        "2026-01-01T12:00:00.000000Z")
    return {"sqlite": lab, "duckdb": pq}


PLUS_0530 = timezone(timedelta(hours=5, minutes=30))
#: (case, parameter, operator, expected ids)
CASES = [
    ("aware-utc", NOON, ">", [3, 4, 5]),
    ("aware-utc-ge", NOON, ">=", [2, 3, 4, 5]),
    ("aware-utc-lt", NOON, "<", [1]),
    ("aware-utc-le", NOON, "<=", [1, 2]),
    ("aware-utc-eq", NOON, "=", [2]),
    ("aware-utc-ne", NOON, "!=", [1, 3, 4, 5]),
    ("one-us-before", NOON - timedelta(microseconds=1), ">", [2, 3, 4, 5]),
    ("one-us-after", NOON + timedelta(microseconds=1), ">=", [3, 4, 5]),
    ("fraction", datetime(2026, 1, 2, 9, 30, 0, 499_999, tzinfo=UTC), ">", [5]),
    ("fraction-past", datetime(2026, 1, 2, 9, 30, 0, 500_001, tzinfo=UTC), ">", []),
    ("plus-0530", datetime(2026, 1, 1, 17, 30, tzinfo=PLUS_0530), ">", [3, 4, 5]),
    ("minus-10h", datetime(2026, 1, 1, 2, tzinfo=timezone(timedelta(hours=-10))), ">=",
     [2, 3, 4, 5]),
    ("day-before-in-utc", datetime(2026, 1, 2, 4, tzinfo=timezone(timedelta(hours=5))), "<",
     [1, 2, 3]),  # (23:00 UTC on the 1st: its local date is the 2nd)
    ("naive-is-utc", datetime(2026, 1, 1, 12), ">", [3, 4, 5]),
    ("timestamp-utc", pd.Timestamp("2026-01-01 12:00", tz="UTC"), ">", [3, 4, 5]),
    ("timestamp-new-york", pd.Timestamp("2026-01-01 07:00", tz="America/New_York"), ">",
     [3, 4, 5]),
    ("timestamp-naive", pd.Timestamp("2026-01-01 12:00"), ">=", [2, 3, 4, 5]),
    ("timestamp-ns", pd.Timestamp("2026-01-01 12:00:00.000000500", tz="UTC"), ">", [3, 4, 5]),
    ("timestamp-from-a-result", "RESULT", ">=", [3, 4, 5]),
    ("datetime64-us", np.datetime64("2026-01-01T12:00:00.000000"), ">", [3, 4, 5]),
    ("datetime64-ns", np.datetime64("2026-01-01T11:59:59.999999999"), ">", [2, 3, 4, 5]),
    ("datetime64-day", np.datetime64("2026-01-02"), ">=", [4, 5]),
    ("date-ge", date(2026, 1, 2), ">=", [4, 5]),
    ("date-lt", date(2026, 1, 2), "<", [1, 2, 3]),
    ("date-before-all", date(2025, 12, 31), ">", [1, 2, 3, 4, 5]),
    ("nat-is-null", pd.NaT, ">", []),
    ("year-1", datetime(1, 1, 1, tzinfo=UTC), ">", [1, 2, 3, 4, 5]),
    ("year-9999", datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC), "<", [1, 2, 3, 4, 5]),
]


def _value(labs: dict[str, hooklab.HookLab], engine: str, value: object) -> object:
    if isinstance(value, str):  # "RESULT": a time as lab.sql gave it back (a pandas Timestamp), passed back in
        got = labs[engine].sql("SELECT received_at FROM captures WHERE id = 3").received_at[0]
        assert isinstance(got, pd.Timestamp), got
        return got
    return value


@pytest.mark.parametrize("engine", ["sqlite", "duckdb"])
@pytest.mark.parametrize("case,value,op,expected", CASES, ids=[c[0] for c in CASES])
@pytest.mark.filterwarnings("error")  # (naive times here are UTC: no warning)
def test_a_time_parameter_picks_the_rows_its_instant_says(labs, engine, case, value, op,
                                                          expected) -> None:  # type: ignore[no-untyped-def]
    lab = labs[engine]
    value = _value(labs, engine, value)
    for query, params in (
        (f"SELECT id FROM captures WHERE received_at {op} ? ORDER BY id", [value]),
        (f"SELECT id FROM captures WHERE received_at {op} ? ORDER BY id", (value,)),
        (f"SELECT id FROM captures WHERE received_at {op} :t ORDER BY id", {"t": value}),
        (f"SELECT id FROM captures WHERE received_at {op} $t ORDER BY id", {"t": value}),
    ):
        assert lab.sql(query, params).id.tolist() == expected, (case, engine, query)


SINCE = [c for c in CASES if c[2] == ">" and isinstance(c[1], datetime) and c[1] == c[1]]


@pytest.mark.parametrize("engine", ["sqlite", "duckdb"])
@pytest.mark.parametrize("case,value,op,expected", SINCE, ids=[c[0] for c in SINCE])
def test_received_at_after_a_datetime_is_what_since_gives(labs, engine, case, value, op,
                                                          expected) -> None:  # type: ignore[no-untyped-def]
    lab = labs[engine]
    got = lab.sql("SELECT id FROM captures WHERE received_at > ? ORDER BY id", [value]).id.tolist()
    assert got == expected == sorted(c.id for c in lab.query(since=value)), case


@pytest.mark.parametrize("engine", ["sqlite", "duckdb"])
def test_between_two_parameters_and_two_names(labs, engine) -> None:  # type: ignore[no-untyped-def]
    lab = labs[engine]
    a, b = NOON, datetime(2026, 1, 2, tzinfo=UTC)
    q = "SELECT id FROM captures WHERE received_at BETWEEN ? AND ? ORDER BY id"
    assert lab.sql(q, [a, b]).id.tolist() == [2, 3, 4]
    q = "SELECT id FROM captures WHERE received_at >= :a AND received_at < :b AND id != :n"
    assert sorted(lab.sql(q, {"a": a, "b": b, "n": 3}).id.tolist()) == [2]


@pytest.mark.parametrize("engine", ["sqlite", "duckdb"])
def test_a_time_outside_utc_years_is_a_clear_error(labs, engine) -> None:  # type: ignore[no-untyped-def]
    lab = labs[engine]
    early = datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1)))  # 31 Dec of year 0 in UTC
    for params, name in (([1, early], "lab.sql parameter 2"), ({"t": early}, "lab.sql parameter 't'")):
        q = "SELECT id FROM captures WHERE id = ? AND received_at > ?" if isinstance(params, list) \
            else "SELECT id FROM captures WHERE received_at > :t"
        with pytest.raises(ValueError, match=f"{name}: 0001-01-01T00:00:00\\+01:00 is outside"):
            lab.sql(q, params)


#: (engine, the README's spelling of "after this time" in SQL, expected ids)
SPELLINGS = [
    ("sqlite", "strftime('%Y-%m-%dT%H:%M:%f000Z', '2026-01-01 13:00:00', '-1 hour')", [3, 4, 5]),
    ("sqlite", "strftime('%Y-%m-%dT%H:%M:%f000Z', '2026-01-01 11:59:59.999')", [1, 2, 3, 4, 5]),
    ("sqlite", "strftime('%Y-%m-%dT%H:%M:%f000Z', '2026-01-02 09:30:00.500')", []),
    ("sqlite", "'2026-01-01T12:00:00.000000Z'", [3, 4, 5]),
    ("duckdb", "strftime(TIMESTAMPTZ '2026-01-01 13:00:00+00' - INTERVAL 1 HOUR, "
               "'%Y-%m-%dT%H:%M:%S.%fZ')", [3, 4, 5]),
    ("duckdb", "strftime(TIMESTAMPTZ '2026-01-01 11:59:59.999999+00', '%Y-%m-%dT%H:%M:%S.%fZ')",
     [2, 3, 4, 5]),
    ("duckdb", "'2026-01-01T12:00:00.000000Z'", [3, 4, 5]),
]


@pytest.mark.parametrize("engine,spelling,expected", SPELLINGS)
def test_the_readme_s_sql_spellings_of_a_time(labs, engine, spelling, expected) -> None:  # type: ignore[no-untyped-def]
    got = labs[engine].sql(f"SELECT id FROM captures WHERE received_at > {spelling} ORDER BY id")
    assert got.id.tolist() == expected


def test_sqlite_now_spelling_has_microsecond_digits(labs) -> None:  # type: ignore[no-untyped-def]
    t = labs["sqlite"].sql("SELECT strftime('%Y-%m-%dT%H:%M:%f000Z', 'now', '-1 hour') AS t").t[0]
    assert len(t) == 27 and t[10] == "T" and t.endswith("000Z"), t
    got = labs["sqlite"].sql("SELECT id FROM captures WHERE received_at > "
                             "strftime('%Y-%m-%dT%H:%M:%f000Z', 'now', '-1 hour')").id.tolist()
    assert got == ([] if datetime.now(UTC) > datetime(2026, 1, 2, 11, tzinfo=UTC) else got)


def test_duckdb_time_arithmetic_on_a_parameter_still_works(labs) -> None:  # type: ignore[no-untyped-def]
    """A datetime parameter used as a time (``? - INTERVAL``), not compared with the text: as
    DuckDB took it before."""
    q = ("SELECT id FROM captures WHERE CAST(received_at AS TIMESTAMPTZ) > ? - INTERVAL 1 HOUR "
         "ORDER BY id")
    assert labs["duckdb"].sql(q, [NOON + timedelta(hours=1)]).id.tolist() == [3, 4, 5]
    q = "SELECT id FROM captures WHERE CAST(received_at AS TIMESTAMPTZ) > ? ORDER BY id"
    assert labs["duckdb"].sql(q, [NOON]).id.tolist() == [3, 4, 5]
    q = "SELECT count(*) AS n FROM captures WHERE day = ?"
    assert labs["duckdb"].sql(q, [date(2026, 1, 2)]).n.tolist() == [2]


def test_duckdb_says_how_received_at_compares_with_a_time(labs) -> None:  # type: ignore[no-untyped-def]
    import duckdb

    with pytest.raises(duckdb.BinderException, match=r"received_at is text in UTC.*strftime\(now"):
        labs["duckdb"].sql("SELECT id FROM captures WHERE received_at > now() - INTERVAL 1 HOUR")


@pytest.mark.parametrize("engine", ["sqlite", "duckdb"])
def test_a_named_colon_parameter_on_both_engines(labs, engine) -> None:  # type: ignore[no-untyped-def]
    """``:name`` is SQLite's spelling; on a Parquet dataset it is DuckDB's ``$name`` (DuckDB
    said "syntax error at or near ':'"), and ``::`` casts and ``:name`` in text stay."""
    cast = "id::INTEGER" if engine == "duckdb" else "CAST(id AS INTEGER)"
    q = (f"SELECT id, ':b' AS text, {cast} AS i FROM captures /* :n */ WHERE bin = :b "
         "AND json_extract(payload, '$.n') = :n AND received_at > :since -- :b")
    got = labs[engine].sql(q, {"b": "orders", "n": 4, "since": NOON})
    assert got.to_dict("records") == [{"id": 4, "text": ":b", "i": 4}]


def test_a_naive_time_warns_where_local_time_is_not_utc(labs, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """As ``since=`` does: ``datetime.now()`` is local time, read as UTC."""
    folder = labs["duckdb"].store.path
    db = labs["sqlite"].store.path
    script = textwrap.dedent(f"""
        import warnings, datetime as dt, hooklab
        warnings.simplefilter("always")
        for path, us in (({db!r}, 0), ({folder!r}, 1)):  # (each value is said once)
            lab = hooklab.open(path)
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter("always")
                ids = lab.sql("SELECT id FROM captures WHERE received_at > ? ORDER BY id",
                              [dt.datetime(2026, 1, 1, 12, 0, 0, us)]).id.tolist()
            print(ids, "|".join(f"{{x.category.__name__}}|{{x.filename}}|{{x.message}}" for x in w))
    """)
    env = {**os.environ, "TZ": "Europe/Berlin", "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120, env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 2, out.stdout
    for line, ids, when in zip(lines, ("[3, 4, 5]", "[4, 5]"), ("12:00:00", "12:00:00.000001"),
                               strict=True):
        # (one warning, at the caller's line, <string> here)
        assert line.startswith(f"{ids} RuntimeWarning|<string>|lab.sql parameter 1=2026-01-01 "
                               f"{when} has no time zone: it is read as UTC, but this machine's "
                               "local time is UTC+1 h"), line
        assert line.count("Warning|") == 1, line
