"""A lab opened on a Parquet folder, as a user keeps one open in a notebook: one answer from
every call, and times in UTC whatever the machine's time zone."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import urllib.request
from pathlib import Path

import pytest

import hooklab

pytest.importorskip("duckdb")
pytest.importorskip("pyarrow")
pytestmark = pytest.mark.timeout(180)


def post(lab: hooklab.HookLab, name: str, body: bytes = b'{"a": 1}') -> None:
    req = urllib.request.Request(lab.url_for(name), data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 200


def test_a_later_export_changes_no_answer_of_an_open_lab(tmp_path: Path) -> None:
    folder = str(tmp_path / "pq")
    lab = hooklab.HookLab(port=0, db=str(tmp_path / "a.sqlite3")).start()
    try:
        for i in range(3):
            post(lab, f"b{i}")
        lab.wait(3, timeout=10)
        assert lab.export(folder, fmt="parquet") == 3
        opened = hooklab.open(folder)
        for i in range(3, 5):
            post(lab, f"b{i}")
        lab.wait(5, timeout=10)
        assert lab.export(folder, fmt="parquet") == 2
    finally:
        lab.stop()
    answers = {
        "dataframe": len(opened.dataframe()),
        "captures": len(opened.captures),
        "search": len(opened.dataframe(search="a")),
        "sql": int(opened.sql("SELECT count(*) AS n FROM captures")["n"][0]),
        "sql bins": sorted(opened.sql("SELECT bin FROM captures")["bin"]),
    }
    assert answers == {"dataframe": 3, "captures": 3, "search": 3, "sql": 3,
                       "sql bins": ["b0", "b1", "b2"]}
    again = hooklab.open(folder)  # opened again: the later export too
    assert len(again.dataframe()) == 5
    assert int(again.sql("SELECT count(*) AS n FROM captures")["n"][0]) == 5


SCRIPT = textwrap.dedent("""
    import json, sys, urllib.request
    import hooklab
    db, folder = sys.argv[1], sys.argv[2]
    def iso(v):  # (a column named received_at comes back as a Timestamp, an alias as text)
        return v if isinstance(v, str) else v.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    lab = hooklab.HookLab(port=0, db=db).start()
    try:
        req = urllib.request.Request(lab.url_for("tz"), data=b'{"a": 1}', method="POST")
        urllib.request.urlopen(req, timeout=10).read()
        [cap] = lab.wait(1, timeout=10)
        lab.export(folder, fmt="parquet")
        on_sqlite = lab.sql("SELECT received_at AS t, substr(received_at, 1, 10) AS d "
                            "FROM captures")
    finally:
        lab.stop()
    opened = hooklab.open(folder)
    on_parquet = opened.sql("SELECT received_at AS t, substr(received_at, 1, 10) AS d, "
                            "CAST(day AS VARCHAR) AS part FROM captures")
    print(json.dumps({
        "truth": cap.received_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "sqlite": [iso(on_sqlite["t"][0]), on_sqlite["d"][0]],
        "parquet": [iso(on_parquet["t"][0]), on_parquet["d"][0]],
        "part": on_parquet["part"][0][:10],
        "frame": opened.dataframe()["received_at"][0].strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }))
""")


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "America/New_York", "Asia/Kolkata",
                                  "UTC"])
def test_sql_times_are_utc_whatever_the_machine_zone(tmp_path: Path, zone: str) -> None:
    """A capture's received_at (and its day) read the same in lab.sql on SQLite and on the
    Parquet folder, in a process whose TZ is ``zone`` (UTC+14 put it on the next day)."""
    import json

    script = tmp_path / "zone_check.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "TZ": zone}
    out = subprocess.run([sys.executable, str(script), str(tmp_path / "t.sqlite3"),
                          str(tmp_path / "pq")], env=env, capture_output=True, text=True,
                         timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    truth = got["truth"]
    assert got["sqlite"] == [truth, truth[:10]]
    assert got["parquet"] == [truth, truth[:10]]
    assert got["part"] == truth[:10]
    assert got["frame"] == truth


def test_sums_of_integers_are_integers_on_both_engines(tmp_path: Path) -> None:
    """sum() of an integer column is an integer on SQLite; DuckDB sums in 128 bits, which its
    frame made float64 (24.0 for 24)."""
    lab = hooklab.HookLab(port=0, db=str(tmp_path / "s.sqlite3")).start()
    try:
        for body in (b'{"z": 1}', b'{"z": 22}', b"xyz"):
            post(lab, "s", body)
        lab.wait(3, timeout=10)
        lab.export(str(tmp_path / "pq"), fmt="parquet")
        query = ("SELECT sum(size) AS s, sum(status) AS st, "
                 "sum(CASE WHEN bin = 's' THEN 1 ELSE 0 END) AS n, "
                 "sum(json_extract(payload, '$.z')) AS z FROM captures")
        expected = {"s": 8 + 9 + 3, "st": 600, "n": 3, "z": 23}
        on_sqlite = lab.sql(query).to_dict("records")[0]
    finally:
        lab.stop()
    on_parquet = hooklab.open(str(tmp_path / "pq")).sql(query).to_dict("records")[0]
    for got in (on_sqlite, on_parquet):
        assert got == expected
        assert all(type(v) is int for v in got.values()), got
