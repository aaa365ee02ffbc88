"""Opening a capture database on a disk that is already full (an operator's findings).

Every open of an existing database said "cannot use '...' as a hooklab capture database: disk
I/O error; the file was left untouched" -- as if the file were no capture database -- while
SQLite could not make (size) the ``-shm`` it needs beside a WAL database, and a 3-byte
``-shm`` and an empty ``-wal`` stayed behind. ``hooklab serve --db new.sqlite3`` left an empty
database file. Now an analysis (``hooklab.open``, ``hooklab export``) reads the file as it is,
holding it locked meanwhile; what cannot open says the disk is full, on which device; and
whatever an open made is taken back.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from _http import post
from _relsupport import HOOKLAB, tmpfs

import hooklab
from hooklab import HookLab
from hooklab.export.jsonl import read_jsonl
from hooklab.store import DiskFull

pytestmark = pytest.mark.timeout(180)

BODIES = [b'{"n": %d, "pad": "%s"}' % (n, b"x" * (n * 97 % 3000)) for n in range(40)]


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """A capture database a real lab made from real requests, closed cleanly (no side files)."""
    db = tmp_path_factory.mktemp("src") / "c.sqlite3"
    lab = HookLab(port=0, db=str(db)).start()
    try:
        for body in BODIES:
            assert post(lab.url_for("hook"), body)[0] == 200
    finally:
        lab.stop()
    assert sorted(p.name for p in db.parent.iterdir()) == ["c.sqlite3"]
    return db


@pytest.fixture(scope="module")
def with_wal(tmp_path_factory, source) -> Path:
    """A copy of ``source`` whose last capture is only in its ``-wal`` (a lab killed)."""
    db = tmp_path_factory.mktemp("wal") / "c.sqlite3"
    shutil.copy(source, db)
    code = ("import os, sys; from hooklab.store import CaptureStore; "
            "from hooklab.capture import new_record; s = CaptureStore(sys.argv[1]); "
            "s.add(new_record('POST', '/hook', [], b'late')).result(10); os._exit(0)")
    subprocess.run([sys.executable, "-c", code, str(db)], check=True, timeout=60)
    assert (db.parent / "c.sqlite3-wal").stat().st_size > 0
    (db.parent / "c.sqlite3-shm").unlink()  # (copied onto the full disk without it)
    return db


@pytest.fixture
def disk(tmp_path):
    """A small tmpfs of its own (root only: CI runs as root), unmounted afterwards."""
    with tmpfs(tmp_path / "small") as where:
        yield where


def fill(where: Path) -> None:
    """Write a file until the disk has no room left (bounded: the disk is 24 MB)."""
    fd = os.open(where / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (65536, 4096):  # (then a page at a time: the last pages too)
            for _ in range(24 * 16 + 16):
                try:
                    os.write(fd, b"\0" * size)
                except OSError:
                    break
    finally:
        os.close(fd)
    assert os.statvfs(where).f_bavail == 0


def files(where: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(where.iterdir())
            if p.name != "filler" and p.is_file()} | {p.name + "/": "" for p in where.iterdir()
                                                       if p.is_dir()}


def read_with_open(db: Path, out: Path) -> list[bytes]:
    lab = hooklab.open(db)
    try:
        bodies = [c.body for c in lab.captures]
        # the other read paths open connections of their own: they read it as it is too
        assert lab.sql("SELECT count(*) AS n FROM captures")["n"][0] == len(bodies)
        assert len(lab.dataframe(bin="hook")) == len(bodies)
        # held meanwhile: no other program can open it (a writer could change what is read)
        other = subprocess.run(
            [sys.executable, "-c", "import sqlite3, sys; c = sqlite3.connect(sys.argv[1], "
             "timeout=0.2); c.execute('SELECT count(*) FROM captures')", str(db)],
            capture_output=True, text=True, timeout=60)
        assert other.returncode != 0 and "database is locked" in other.stderr, other.stderr
    finally:
        lab.stop()
    return bodies


def read_with_export(db: Path, out: Path) -> list[bytes]:
    target = out / "x.jsonl"
    r = subprocess.run([*HOOKLAB, "export", "--db", str(db), "--format", "jsonl", "-o",
                        str(target)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return [bytes(r["body"]) for r in read_jsonl(target)]


@pytest.mark.parametrize("read", [read_with_open, read_with_export], ids=["open", "export"])
def test_an_analysis_reads_a_database_on_a_full_disk_as_it_is(disk, source, tmp_path, read):
    db = disk / "c.sqlite3"
    shutil.copy(source, db)
    fill(disk)
    before = files(disk)
    assert read(db, tmp_path) == BODIES
    assert files(disk) == before  # nothing made beside it, nothing changed
    # let go once closed: with room again a lab serves from it, the old captures kept
    subprocess.run(["mount", "-o", "remount,size=48m", str(disk)], check=True)
    lab = HookLab(port=0, db=str(db)).start()
    try:
        assert post(lab.url_for("hook"), b"after")[0] == 200
        assert [c.body for c in lab.captures] == [*BODIES, b"after"]
    finally:
        lab.stop()


def start_lab(db: Path) -> str:
    lab = HookLab(port=0, db=str(db))
    try:
        with pytest.raises(DiskFull) as err:
            lab.start()
    finally:
        lab.stop()
    return str(err.value)


def open_lab(db: Path) -> str:
    with pytest.raises(DiskFull) as err:
        hooklab.open(db)
    return str(err.value)


def serve_cli(db: Path) -> str:
    r = subprocess.run([*HOOKLAB, "serve", "--port", "0", "--db", str(db)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1, (r.returncode, r.stderr)
    return r.stderr


def export_cli(db: Path) -> str:
    r = subprocess.run([*HOOKLAB, "export", "--db", str(db), "--format", "csv", "-o",
                        str(db.parent.parent / "x.csv")], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 1, (r.returncode, r.stderr)
    return r.stderr


# what is on the disk, how it is opened, what the error says besides "the disk is full"
CANNOT = [
    ("existing", start_lab, "SQLite needs room for its -wal and -shm files"),
    ("existing", serve_cli, "SQLite needs room for its -wal and -shm files"),
    ("wal", open_lab, "writes not yet in the database file wait beside it"),
    ("wal", export_cli, "writes not yet in the database file wait beside it"),
    ("new", start_lab, "cannot make a capture database at"),
    ("new", serve_cli, "cannot make a capture database at"),
]


@pytest.mark.parametrize(("kind", "how", "words"), CANNOT,
                         ids=[f"{k}-{h.__name__}" for k, h, _ in CANNOT])
def test_what_cannot_open_on_a_full_disk_says_so_and_leaves_nothing(
        disk, source, with_wal, kind, how, words):
    if kind == "existing":
        db = disk / "c.sqlite3"
        shutil.copy(source, db)
    elif kind == "wal":  # (its last capture only in the -wal: read as it is, it would be lost)
        db = disk / "c.sqlite3"
        shutil.copy(with_wal, db)
        shutil.copy(with_wal.parent / "c.sqlite3-wal", disk / "c.sqlite3-wal")
    else:
        db = disk / "new" / "c.sqlite3"  # (in a folder the open makes, taken back too)
    fill(disk)
    before = files(disk)
    said = how(db)
    assert f"the disk is full (no space left on the device mounted at {str(disk)!r}" in said, said
    assert words in said, said
    assert "as a hooklab capture database" not in said, said  # (the file is fine)
    assert ("the empty file made for it was removed" if kind == "new"
            else "the database file was left untouched") in said, said
    assert files(disk) == before  # the -shm and -wal it made are gone; the -wal there stays
