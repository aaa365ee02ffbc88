"""``since=`` is a start for the Parquet export: what it passes over stays out, whatever its id.

README ("Parquet: DuckDB, Dask, Spark"): a later export "adds only what is new", and "`since=`
is a start (what it passes over stays out ...)". Ids do not follow times (an import in any
order), and an export ``since=<a time>`` noted the highest id it *wrote* as the point the
next plain export continues after: the next one then added the older captures with higher
ids (passed over by ``since=``, nothing new) but not those with lower ids. Now the note says
the highest id stored when the export read its rows: each capture up to it was written or
passed over.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

import hooklab

EXE = str(Path(sys.executable).with_name("hooklab"))
#: id -> day of November 2026 it was received: ids out of time order (an import)
DAYS = {1: 25, 2: 2, 3: 26, 4: 3, 5: 27, 6: 4}


def _nov(day: float) -> datetime:
    return datetime(2026, 11, 1, tzinfo=timezone.utc).replace(day=int(day),
                                                             hour=int(day % 1 * 24))


def _imported(tmp_path: Path) -> Any:
    src = tmp_path / "in.jsonl"
    with open(src, "w", encoding="utf-8") as f:
        for i, day in DAYS.items():
            f.write(json.dumps({
                "id": i, "method": "POST", "status": 200,
                "url": f"http://127.0.0.1:8765/{'ba'[i % 2]}",
                "received_at": f"2026-11-{day:02d}T10:00:00Z",
                "headers": [["Content-Type", "application/json"]],
                "body_b64": base64.b64encode(json.dumps({"n": i}).encode()).decode()}) + "\n")
    return hooklab.load_jsonl(str(src), db=str(tmp_path / "c.sqlite3"))


def _ids(folder: Path) -> list[int]:
    import duckdb

    if not any(folder.rglob("*.parquet")):
        return []
    return sorted(r[0] for r in duckdb.sql(
        f"SELECT id FROM read_parquet('{folder}/**/*.parquet', hive_partitioning = true)"
    ).fetchall())


# each: (filters of one export, the ids it adds), in order; worked out by hand from DAYS
# (since a time: received after it; since an id: higher ids; plain: after the point up to
# which every capture was written or passed over)
ORDERS = {
    "since a time, then plain": [
        ({"since": _nov(20)}, {1, 3, 5}), ({}, set()), ({}, set())],
    "since a time after every capture, then plain": [
        ({"since": _nov(30)}, set()), ({}, set())],
    "since an id, then plain": [
        ({"since": 3}, {4, 5, 6}), ({}, set())],
    "since a time, then an earlier time, then plain": [
        ({"since": _nov(20)}, {1, 3, 5}), ({"since": _nov(3.5)}, {6}), ({}, set())],
    "since a time, then since id 0": [  # (an explicit start: every capture, none twice)
        ({"since": _nov(20)}, {1, 3, 5}), ({"since": 0}, {2, 4, 6}), ({}, set())],
    "plain, then since a time, then plain": [
        ({}, {1, 2, 3, 4, 5, 6}), ({"since": _nov(20)}, set()), ({}, set())],
    "one bin, then since a time, then plain": [  # (a filter moves no start)
        ({"bin": "a"}, {1, 3, 5}), ({"since": _nov(3.5)}, {6}), ({}, set())],
}


@pytest.mark.parametrize("calls", ORDERS.values(), ids=ORDERS.keys())
def test_a_plain_export_after_since_adds_only_what_is_new(tmp_path: Path, calls: Any) -> None:
    lab = _imported(tmp_path)
    out = tmp_path / "pq"
    try:
        assert {c.id: c.received_at.day for c in lab.captures} == DAYS
        held: set[int] = set()
        for kw, new in calls:
            assert lab.export(str(out), fmt="parquet", **kw) == len(new), kw
            held |= new
            assert _ids(out) == sorted(held), kw
    finally:
        lab.stop()


def test_a_capture_arriving_later_is_added_after_since(tmp_path: Path) -> None:
    """What arrives after a ``since=`` export is new, older or not."""
    lab = _imported(tmp_path)
    out = tmp_path / "pq"
    try:
        assert lab.export(str(out), fmt="parquet", since=_nov(20)) == 3
    finally:
        lab.stop()
    with open(tmp_path / "more.jsonl", "w", encoding="utf-8") as f:  # an old one, imported
        f.write(json.dumps({"method": "POST", "url": "http://127.0.0.1:8765/a", "status": 200,
                            "received_at": "2026-11-01T10:00:00Z", "headers": [],
                            "body_b64": ""}) + "\n")
    lab = hooklab.load_jsonl(str(tmp_path / "more.jsonl"), db=str(tmp_path / "c.sqlite3"))
    try:
        assert lab.export(str(out), fmt="parquet") == 1
        assert _ids(out) == [1, 3, 5, 7]
    finally:
        lab.stop()


def test_the_command_line_export_passes_over_as_since_does(tmp_path: Path) -> None:
    _imported(tmp_path).stop()
    out = tmp_path / "pq"

    def export(*more: str) -> None:
        r = subprocess.run([EXE, "export", "--db", str(tmp_path / "c.sqlite3"), "--format",
                            "parquet", "-o", str(out), *more],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr

    export("--since", "2026-11-20T00:00:00Z")
    assert _ids(out) == [1, 3, 5]
    export()  # (nothing arrived: nothing added)
    assert _ids(out) == [1, 3, 5]
