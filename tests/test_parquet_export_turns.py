"""Parquet exports into one folder take turns, and none writes into the database.

Two exports into one folder that overlap in time (a cron export every minute where one run
outlasts the next; two people exporting) wrote the same captures twice: the second read the
folder's note before the first had written it, and saw none of the first's files (still
hidden ``.part-...tmp`` names). Now an export holds the folder's lock (``_hooklab/.lock``)
while it writes; one started meanwhile says once on stderr that it waits, waits, then adds
only what the first did not. The lock file is no data to any reader.

README: "``export`` and ``replay`` only read ``--db``", but a first Parquet export wrote the
database's name (``export_source``) into its ``meta`` table. Now the name is found without
writing: the database file (and its ``-wal``/``-shm``) is left byte for byte as it was.
"""

from __future__ import annotations

import base64
import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import hooklab

EXE = str(Path(sys.executable).with_name("hooklab"))
ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}
POSIX = os.name == "posix"


def _add(db: Path, first: int, n: int, pad: int = 64) -> None:
    """``n`` captures (bodies ``{"seq": first..}``) added to the database ``db`` as a user
    adds an export to it (``hooklab.load_jsonl(..., db=)``)."""
    src = db.with_name(f"in-{first}.jsonl")
    with open(src, "w", encoding="utf-8") as f:
        for i in range(first, first + n):
            body = json.dumps({"seq": i, "pad": "x" * pad}).encode()
            f.write(json.dumps({
                "method": "POST", "url": "http://127.0.0.1:8765/orders",
                "headers": [["Content-Type", "application/json"]],
                "body_b64": base64.b64encode(body).decode(),
                "received_at": f"2026-12-05T10:{i // 60 % 60:02d}:{i % 60:02d}Z"}) + "\n")
    hooklab.load_jsonl(str(src), db=str(db)).stop()
    src.unlink()


def _export(db: Path, folder: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([EXE, "export", "--db", str(db), "--format", "parquet", "-o", str(folder)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)


def _ids_everywhere(folder: Path) -> dict[str, list[int]]:
    """The ids the dataset holds, sorted, as each reader reads the folder."""
    import duckdb
    import pyarrow.dataset as ds

    lab = hooklab.open(str(folder))
    try:
        mine = sorted(int(i) for i in lab.dataframe()["id"])
    finally:
        lab.stop()
    glob = str(folder / "**" / "*.parquet")
    return {
        "hooklab.open": mine,
        "pyarrow": sorted(ds.dataset(str(folder), format="parquet", partitioning="hive")
                          .to_table(columns=["id"]).column("id").to_pylist()),
        "duckdb": sorted(r[0] for r in duckdb.sql(
            f"SELECT id FROM read_parquet('{glob}', hive_partitioning = true)").fetchall()),
    }


class _Lines:
    """A child's stderr read line by line on a thread (so a wait for a line is bounded)."""

    def __init__(self, stream: Any) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: Any) -> None:
        for line in stream:
            self.lines.put(line)

    def next(self, timeout: float) -> str:
        line = self.lines.get(timeout=timeout)
        self.seen.append(line)
        return line

    def rest(self) -> str:
        self._thread.join(30)
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return "".join(self.seen)


def _hold(lock: Path) -> int:
    """Lock ``lock`` as a running export holds it (made if it is not there)."""
    import fcntl

    lock.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def _release(fd: int, lock: Path, *, remove: bool) -> None:
    import fcntl

    if remove:  # (as an export does as it finishes)
        lock.unlink()
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


# how the folder's lock is met by the second export: (held by a running export, removed as
# that one lets go, a second waiting export too)
CASES = [
    pytest.param(True, True, 1, id="held-removed-on-release"),
    pytest.param(True, False, 1, id="held-left-on-release"),
    pytest.param(True, True, 2, id="two-waiting"),
    pytest.param(False, False, 1, id="stale-file-nobody-holds"),
]


@pytest.mark.skipif(not POSIX, reason="the test holds the lock with fcntl.flock")
@pytest.mark.parametrize(("held", "remove", "waiting"), CASES)
def test_an_export_waits_for_the_one_under_way_then_adds_only_the_new(
        tmp_path: Path, held: bool, remove: bool, waiting: int) -> None:
    db, folder = tmp_path / "db.sqlite3", tmp_path / "pq"
    lock = folder / "_hooklab" / ".lock"
    _add(db, 0, 30)
    r = subprocess.run([EXE, "export", "--db", str(db), "--format", "parquet", "-o", str(folder)],
                       capture_output=True, text=True, env=ENV, timeout=120)
    assert (r.returncode, r.stderr) == (0, f"wrote 30 captures to {folder}\n")
    assert not lock.exists()  # (removed once done: an idle folder has none)
    _add(db, 30, 5)  # (new ones, as the first export of them is under way)
    if held:
        fd = _hold(lock)
    else:  # (a killed export's, or one on a system that cannot remove an open file)
        lock.write_text("")
    procs = [_export(db, folder) for _ in range(waiting)]
    errs = [_Lines(p.stderr) for p in procs]
    try:
        if held:
            for err in errs:
                assert err.next(timeout=60) == (
                    f"hooklab: another export into {str(folder)!r} is under way; waiting for it "
                    "to finish (then only what it did not add is added; Ctrl-C stops waiting)\n")
            time.sleep(1.0)
            assert [p.poll() for p in procs] == [None] * waiting  # (still waiting)
            assert len(list(folder.rglob("*.parquet"))) == 1  # (nothing added meanwhile)
            # readers of the folder take the lock file for no data, while it is there
            assert _ids_everywhere(folder) == dict.fromkeys(
                ("hooklab.open", "pyarrow", "duckdb"), list(range(1, 31)))
            _release(fd, lock, remove=remove)
        rcs = [p.wait(timeout=120) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(30)
    said = sorted(err.rest() for err in errs)
    assert rcs == [0] * waiting
    wait_line = (f"hooklab: another export into {str(folder)!r} is under way; waiting for it "
                 "to finish (then only what it did not add is added; Ctrl-C stops waiting)\n")
    expected = [f"wrote {n} captures to {folder}\n" for n in [5] + [0] * (waiting - 1)]
    if held:
        expected = [wait_line + e for e in expected]
    assert said == sorted(expected)
    assert _ids_everywhere(folder) == dict.fromkeys(
        ("hooklab.open", "pyarrow", "duckdb"), list(range(1, 36)))
    lab = hooklab.open(str(folder))
    try:
        assert json.loads(lab.get(5).body)["seq"] == 4  # (one capture, not "2 captures")
    finally:
        lab.stop()
    assert not lock.exists()


def test_overlapping_cli_exports_write_each_capture_once(tmp_path: Path) -> None:
    """Two ``hooklab export --format parquet`` started together (no lock held by the test):
    whichever runs second adds nothing the first wrote."""
    db, folder = tmp_path / "db.sqlite3", tmp_path / "pq"
    _add(db, 0, 3000, pad=2000)
    procs = [_export(db, folder) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    wrote = sorted(err.splitlines()[-1] for _out, err in outs)
    assert wrote == [f"wrote 0 captures to {folder}", f"wrote 3000 captures to {folder}"], outs
    assert _ids_everywhere(folder)["pyarrow"] == list(range(1, 3001))
    assert _ids_everywhere(folder)["hooklab.open"] == list(range(1, 3001))


def test_two_threads_exporting_one_lab_write_each_capture_once(tmp_path: Path) -> None:
    """``lab.export(folder, fmt="parquet")`` from two threads at once: one writes them all,
    the other waits and adds none; again with new ones, only those."""
    db, folder = tmp_path / "db.sqlite3", tmp_path / "pq"
    _add(db, 0, 3000, pad=2000)
    for new, total in ((3000, 3000), (40, 3040)):
        if new != 3000:
            _add(db, 3000, new)
        lab = hooklab.open(str(db))
        try:
            start = threading.Barrier(2)
            got: list[Any] = []

            def export(lab: Any = lab, start: threading.Barrier = start, got: list[Any] = got) -> None:
                start.wait(30)
                try:
                    got.append(lab.export(str(folder), fmt="parquet"))
                except BaseException as exc:  # (said by the assertion below)
                    got.append(exc)

            threads = [threading.Thread(target=export) for _ in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(300)
            assert sorted(got, key=repr) == [0, new]
        finally:
            lab.stop()
        assert _ids_everywhere(folder) == dict.fromkeys(
            ("hooklab.open", "pyarrow", "duckdb"), list(range(1, total + 1)))


@pytest.mark.skipif(not POSIX, reason="hard links and flock as on POSIX")
@pytest.mark.parametrize("planted", ["hard link", "symbolic link", "empty file", "fifo"])
def test_a_lock_name_planted_in_the_folder_changes_no_file(tmp_path: Path, planted: str) -> None:
    """The folder's ``_hooklab/.lock`` named beforehand by someone who may write there: a hard
    link to a file of the user's (the export truncated it and wrote its process id into it),
    a symbolic link, an empty file, a FIFO. The file linked keeps every byte; the export
    adds its captures (a symbolic link, a FIFO: refused, by name, nothing written)."""
    db, folder = tmp_path / "db.sqlite3", tmp_path / "pq"
    victim = tmp_path / "notes.txt"
    victim.write_bytes(b"the user's own notes\n" * 10)
    before = victim.read_bytes()
    _add(db, 0, 4)
    lock = folder / "_hooklab" / ".lock"
    lock.parent.mkdir(parents=True)
    if planted == "hard link":
        os.link(victim, lock)
    elif planted == "symbolic link":
        lock.symlink_to(victim)
    elif planted == "empty file":
        lock.write_bytes(b"")
    else:
        os.mkfifo(lock)
    r = subprocess.run([EXE, "export", "--db", str(db), "--format", "parquet", "-o", str(folder)],
                       capture_output=True, text=True, env=ENV, timeout=120)
    assert victim.read_bytes() == before
    if planted in ("symbolic link", "fifo"):  # (refused, by name, nothing written)
        assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
        assert ".lock" in r.stderr and len(r.stderr.splitlines()) == 1, r.stderr
        assert not list(folder.rglob("*.parquet"))
    else:
        assert (r.returncode, r.stderr) == (0, f"wrote 4 captures to {folder}\n")
        assert _ids_everywhere(folder)["pyarrow"] == [1, 2, 3, 4]
