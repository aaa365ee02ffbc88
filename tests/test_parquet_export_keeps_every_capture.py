"""A Parquet export into a folder never leaves a capture behind for good.

README ("Parquet: DuckDB, Dask, Spark"): a later export "adds only what is new ... never a
capture the folder already holds", and several labs can export into one folder. Two ways it
lost captures:

- ``until=<time>`` noted the highest id it wrote as the point the next export continues
  after; ids do not follow times (an import in any order; on a serving lab a slowly sent
  body keeps its earlier time but is stored, and numbered, after quicker ones), so a capture
  with a lower id received after ``until`` was skipped by every later export. Now the point
  stops before the first capture a bound left out.
- the export name is kept in the database's ``meta`` table: a copy of the database (or one
  restored from a backup) carried it, and exporting both into one folder dropped the second
  one's captures as "already there". Now a capture counts as there only if the folder holds
  that capture (its id, time, size, method and path), and a database whose name the folder
  shows to be another's takes a name of its own.
"""

from __future__ import annotations

import base64
import collections
import json
import shutil
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

import hooklab

EXE = str(Path(sys.executable).with_name("hooklab"))
NOV = datetime(2026, 11, 1, tzinfo=timezone.utc)
#: id -> (day of November, bin) of the imported captures: ids out of time order
TIMES = {1: (1, "a"), 2: (5, "b"), 3: (2, "a"), 4: (7, "b"), 5: (3, "a"), 6: (4, "b"), 7: (8, "a"),
         8: (6, "b")}


def _at(day: float) -> datetime:
    return NOV + timedelta(days=day - 1)


def _imported(tmp_path: Path) -> Any:
    """A lab of :data:`TIMES`, imported as a user imports a JSON Lines file (ids as given)."""
    src = tmp_path / "in.jsonl"
    with open(src, "w", encoding="utf-8") as f:
        for i, (day, bin_) in TIMES.items():
            body = json.dumps({"n": i}).encode()
            f.write(json.dumps({
                "id": i, "method": "POST", "status": 200, "url": f"http://127.0.0.1:8765/{bin_}",
                "received_at": _at(day).isoformat().replace("+00:00", "Z"),
                "headers": [["Content-Type", "application/json"]],
                "body_b64": base64.b64encode(body).decode()}) + "\n")
    return hooklab.load_jsonl(str(src), db=str(tmp_path / "c.sqlite3"))


def _ids(folder: Path) -> list[int]:
    """The dataset's ids, sorted, a repeated one twice (as DuckDB reads the files)."""
    import duckdb

    if not any(folder.rglob("*.parquet")):
        return []
    rows = duckdb.sql(f"SELECT id FROM read_parquet('{folder}/**/*.parquet', "
                      "hive_partitioning = true)").fetchall()
    return sorted(r[0] for r in rows)


def _selected(kw: dict[str, Any]) -> set[int]:
    """The ids of :data:`TIMES` that ``kw`` (since/until as ids or datetimes, bin) selects,
    as the filter vocabulary says: since an id, newer ids; a time, received after it;
    until an id, that id and older; a time, received at or before it."""
    out = set()
    for i, (day, bin_) in TIMES.items():
        t = _at(day)
        s, u = kw.get("since"), kw.get("until")
        if s is not None and not (i > s if isinstance(s, int) else t > s):
            continue
        if u is not None and not (i <= u if isinstance(u, int) else t <= u):
            continue
        if kw.get("bin") not in (None, bin_):
            continue
        out.add(i)
    return out


# each: the bounded exports made first, then plain exports must bring every capture, once
BOUNDED = {
    "until a time": [{"until": _at(3.5)}],
    "until a time, then a later one": [{"until": _at(3.5)}, {"until": _at(6.5)}],
    "until the first day: one capture": [{"until": _at(1)}],
    "until before every capture": [{"until": _at(0)}],
    "until an id": [{"until": 4}],
    "until a time, then since it": [{"until": _at(3.5)}, {"since": _at(3.5)}],
    "a window after a first day": [{"until": _at(1.5)}, {"since": _at(1.5), "until": _at(5.5)}],
    "since id 0, until a time": [{"since": 0, "until": _at(3.5)}],
    "since an id exported, until a time": [{"until": 1}, {"since": 1, "until": _at(4.5)}],
    "one bin until a time": [{"bin": "a", "until": _at(5.5)}],
    "until a time, twice the same": [{"until": _at(3.5)}, {"until": _at(3.5)}],
}


@pytest.mark.parametrize("calls", BOUNDED.values(), ids=BOUNDED.keys())
def test_bounded_exports_leave_nothing_for_good(tmp_path: Path, calls: list[dict[str, Any]]) -> None:
    lab = _imported(tmp_path)
    out = tmp_path / "pq"
    try:
        assert [c.id for c in lab.captures] == list(TIMES)
        held: set[int] = set()
        for kw in calls:
            new = _selected(kw) - held
            assert lab.export(str(out), fmt="parquet", **kw) == len(new), kw
            held |= new
            assert _ids(out) == sorted(held), kw
        rest = set(TIMES) - held
        assert lab.export(str(out), fmt="parquet") == len(rest)
        assert lab.export(str(out), fmt="parquet") == 0
        assert _ids(out) == sorted(TIMES)  # every capture, once
    finally:
        lab.stop()


def test_a_slow_body_stored_after_a_quick_one_is_exported_after_until(tmp_path: Path) -> None:
    """On a serving lab: a body sent slowly keeps the time its request came (before the cut)
    but is stored, and numbered, after a quick one received after the cut."""
    lab = hooklab.HookLab(port=0, db=str(tmp_path / "c.sqlite3")).start()
    out = tmp_path / "pq"
    try:
        body = b'{"slow": true}'
        with socket.create_connection(("127.0.0.1", lab.bound_port), timeout=30) as slow:
            slow.sendall(f"POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n"
                         "Connection: close\r\n\r\n".encode() + body[:3])
            time.sleep(0.3)
            cut = datetime.now(timezone.utc)
            time.sleep(0.3)
            hooklab.send(lab.url_for("quick"), payload={"quick": True})
            lab.wait(1, timeout=10)
            slow.sendall(body[3:])
            slow.settimeout(10)
            assert slow.recv(100).startswith(b"HTTP/1.1 ")
        lab.wait(2, timeout=10)
        by_bin = {c.bin: c for c in lab.captures}
        quick, late = by_bin["quick"], by_bin["slow"]
        assert quick.id < late.id and late.received_at <= cut < quick.received_at
        assert lab.export(str(out), fmt="parquet", until=cut) == 1
        assert _ids(out) == [late.id]
        assert lab.export(str(out), fmt="parquet") == 1
        assert _ids(out) == sorted([quick.id, late.id])
    finally:
        lab.stop()


# -- copies of one database exporting into one folder ---------------------------------------
def _lab(db: Path) -> Any:
    return hooklab.HookLab(port=0, db=str(db)).start()


def _send(lab: Any, *names: str) -> None:
    before = len(lab.captures)
    for n in names:
        hooklab.send(lab.url_for("orders"), payload={"n": n})
    lab.wait(before + len(names), timeout=10)


def _bodies(folder: Path) -> collections.Counter[str]:
    opened = hooklab.open(str(folder))
    try:
        return collections.Counter(c.json()["n"] for c in opened.captures)
    finally:
        opened.stop()


def _cli_export(db: Path, folder: Path) -> None:
    r = subprocess.run([EXE, "export", "--db", str(db), "--format", "parquet", "-o", str(folder)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


def _export(how: str, lab: Any, db: Path, folder: Path) -> None:
    if how == "cli":  # (beside the serving lab, as a cron export runs)
        _cli_export(db, folder)
    else:
        lab.export(str(folder), fmt="parquet")


@pytest.mark.parametrize("how", ["python", "cli"])
@pytest.mark.parametrize("first", ["original", "copy"])
def test_copies_of_one_database_export_into_one_folder(tmp_path: Path, how: str, first: str) -> None:
    a_db, b_db, out, other = (tmp_path / "a.sqlite3", tmp_path / "b.sqlite3", tmp_path / "pq",
                              tmp_path / "pq2")
    a = _lab(a_db)
    _send(a, "shared-1")
    a.export(str(out), fmt="parquet")  # (the name is kept in the database from here on)
    _send(a, "shared-2")  # (not exported yet: in both)
    a.stop()
    shutil.copy(a_db, b_db)  # a second project starts from a copy
    a, b = _lab(a_db), _lab(b_db)
    try:
        _send(a, "a-1", "a-2")
        _send(b, "b-1")
        order = [(a, a_db), (b, b_db)] if first == "original" else [(b, b_db), (a, a_db)]
        for lab, db in order:
            _export(how, lab, db, out)
        want = {"shared-1": 1, "shared-2": 1, "a-1": 1, "a-2": 1, "b-1": 1}
        assert _bodies(out) == want
        _send(a, "a-3")
        _send(b, "b-2")
        for lab, db in reversed(order):  # (later exports: only what is new, each once)
            _export(how, lab, db, out)
            _export(how, lab, db, out)
        assert _bodies(out) == {**want, "a-3": 1, "b-2": 1}
        # another folder: the copy's first export there adds the shared captures once
        a.export(str(other), fmt="parquet")
        b.export(str(other), fmt="parquet")
        assert _bodies(other) == {**want, "a-3": 1, "b-2": 1}
    finally:
        a.stop()
        b.stop()


def test_a_backup_restored_in_place_exports_its_new_captures(tmp_path: Path) -> None:
    """A backup taken after one capture, restored at the same path once three were exported:
    the restored database numbers its new captures 2, 3... as the lost ones were."""
    db, backup, out = tmp_path / "c.sqlite3", tmp_path / "backup.sqlite3", tmp_path / "pq"
    lab = _lab(db)
    _send(lab, "one")
    lab.export(str(out), fmt="parquet")
    lab.stop()
    shutil.copy(db, backup)
    lab = _lab(db)
    _send(lab, "two", "three")
    lab.export(str(out), fmt="parquet")
    lab.stop()
    for p in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        p.unlink(missing_ok=True)
    shutil.copy(backup, db)
    lab = _lab(db)
    try:
        _send(lab, "after restore")
        assert [c.id for c in lab.captures] == [1, 2]
        assert lab.export(str(out), fmt="parquet") == 1
        assert lab.export(str(out), fmt="parquet") == 0
        assert _bodies(out) == {"one": 1, "two": 1, "three": 1, "after restore": 1}
    finally:
        lab.stop()


def test_a_cleared_database_keeps_its_name(tmp_path: Path) -> None:
    """Not a copy: the capture the folder's note names was deleted here (``lab.clear()``)."""
    out = tmp_path / "pq"
    lab = _lab(tmp_path / "c.sqlite3")
    try:
        _send(lab, "one", "two")
        assert lab.export(str(out), fmt="parquet") == 2
        lab.clear()
        _send(lab, "three")
        assert lab.export(str(out), fmt="parquet") == 1
        names = {p.name.split("-")[1] for p in out.rglob("part-*.parquet")}
        assert len(names) == 1, names
        assert _bodies(out) == {"one": 1, "two": 1, "three": 1}
    finally:
        lab.stop()


@pytest.mark.parametrize("bodies", [
    ([b'{"n": 100}', b'{"n": 200}', b'{"n": 300}'], [b'{"n": 400}', b'{"n": 500}', b'{"n": 600}']),
    ([b'{"n": 1}', b""], [b'{"n": 2}', b""]),  # (an empty body alike: that one is the same)
], ids=["same-sizes", "one-empty-alike"])
def test_two_databases_that_never_were_one_keep_their_captures(tmp_path: Path, bodies) -> None:  # type: ignore[no-untyped-def]
    """Two labs' captures alike in everything but their bodies (the same second, path and body
    size: imported fixtures, samples without a delivery id): the second lab's were taken for
    the first's as held, and never exported. The bodies must be the same too."""
    out = tmp_path / "pq"
    when = datetime(2026, 12, 1, 9, 0, 0, tzinfo=timezone.utc).isoformat().replace("+00:00", "Z")
    labs = []
    for name, own in zip(("a", "b"), bodies, strict=True):
        src = tmp_path / f"{name}.jsonl"
        src.write_text("".join(json.dumps({
            "method": "POST", "url": "http://127.0.0.1:8765/stripe", "received_at": when,
            "headers": [["Content-Type", "application/json"]],
            "body_b64": base64.b64encode(b).decode()}) + "\n" for b in own))
        labs.append(hooklab.load_jsonl(str(src), db=str(tmp_path / f"{name}.sqlite3")))
    try:
        written = [lab.export(str(out), fmt="parquet") for lab in labs]
        again = [lab.export(str(out), fmt="parquet") for lab in labs]
    finally:
        for lab in labs:
            lab.stop()
    a, b = bodies
    shared = sum(1 for x, y in zip(a, b, strict=True) if x == y)  # (the very same capture in both: once)
    assert written == [len(a), len(b) - shared] and again == [0, 0], (written, again)
    opened = hooklab.open(str(out))
    try:
        got = collections.Counter(c.body for c in opened.captures)
    finally:
        opened.stop()
    assert got == collections.Counter(a) + collections.Counter(y for x, y in zip(a, b, strict=True) if x != y)
