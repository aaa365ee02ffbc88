"""A database file replaced or moved away under a running ``hooklab serve`` (an operator's
findings, restoring a backup with ``mv other.sqlite3 r.sqlite3``).

hooklab answered 503 as it should, but left its own ``r.sqlite3-wal`` and ``-shm`` beside the
file now at the path, on stop too: any reader of the path saw the old lab's captures, and the
next ``hooklab serve`` there copied the old WAL into the new file, whose own captures were gone
(``integrity_check`` ok, nothing said). Moved away (``mv r.sqlite3 elsewhere.sqlite3``), the
captures still in the WAL stayed beside the old name, missing from the moved file. Now the
store empties its WAL into the file it opened, and removes the ``-wal`` / ``-shm`` at the path
only if they are the very files it opened.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from test_cli import _stop
from test_cli_retention import _serve

import hooklab
from hooklab.store import CaptureStore

pytestmark = pytest.mark.timeout(180)


def _request(port: int, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        conn.request(method, path, body, {"Content-Type": "application/octet-stream"})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def _bodies(db: Path) -> list[bytes]:
    with hooklab.open(str(db)) as lab:
        return [c.body for c in sorted(lab.captures, key=lambda c: c.id)]


def _raw_bodies(db: Path) -> list[bytes]:
    """What a plain SQLite reader of the path sees (the ``sqlite3`` shell, say)."""
    con = sqlite3.connect(db)
    try:
        return [bytes(r[0]) for r in con.execute("SELECT body FROM captures ORDER BY id")]
    finally:
        con.close()


def _sides(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(("-wal", "-shm")))


def _other_lab(folder: Path, bodies: list[bytes]) -> Path:
    """Another hooklab database (the operator's backup), closed cleanly: no side files."""
    other = folder / "backup" / "other.sqlite3"
    other.parent.mkdir()
    with CaptureStore(str(other)) as store:
        store.add_many([{"method": "POST", "path": "/o", "body": b} for b in bodies])
    return other


def _with_its_wal(folder: Path, bodies: list[bytes]) -> Path:
    """Another hooklab database copied with its ``-wal`` (taken while a connection had
    written to it and not yet checkpointed): its last change is only in that ``-wal``."""
    other = _other_lab(folder, [*bodies[:-1], b"changed in the -wal only"])
    con = sqlite3.connect(other, isolation_level=None)
    con.execute("PRAGMA wal_autocheckpoint = 0")
    con.execute("UPDATE captures SET body = ? WHERE id = (SELECT MAX(id) FROM captures)",
                (bodies[-1],))
    copy = folder / "backup" / "copy.sqlite3"
    shutil.copyfile(other, copy)
    shutil.copyfile(f"{other}-wal", f"{copy}-wal")
    con.close()
    return copy


def replace(db: Path, folder: Path) -> list[bytes]:
    """``mv other.sqlite3 r.sqlite3``: the path's captures are the backup's from then on."""
    theirs = [b"backup 1", b"backup 2"]
    os.rename(_other_lab(folder, theirs), db)
    return theirs


def replace_with_wal(db: Path, folder: Path) -> list[bytes]:
    """The backup moved in with its own ``-wal``: that one is theirs and stays."""
    theirs = [b"backup 1", b"backup 2 (only in its -wal)"]
    copy = _with_its_wal(folder, [b"backup 1", theirs[1]])
    os.rename(copy, db)
    os.rename(f"{copy}-wal", f"{db}-wal")
    return theirs


CASES: list[tuple[str, Callable[[Path, Path], list[bytes]], bool]] = [
    # (what the operator did, whether something reads the path while serve still runs)
    ("replaced", replace, True),
    ("replaced-with-its-wal", replace_with_wal, True),
    ("replaced-with-its-wal-unread", replace_with_wal, False),
]


@pytest.mark.parametrize(("change", "read"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_file_put_at_the_path_is_never_read_with_the_old_labs_wal(tmp_path, change, read) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "r.sqlite3"
    kept = tmp_path / "replaced.sqlite3"  # (a second name of the file replaced: still read)
    proc, _out, port = _serve(str(db))
    try:
        ours = [b"lab %d" % i for i in range(30)]
        for body in ours:
            assert _request(port, "POST", "/a", body)[0] == 200
        os.link(db, kept)
        theirs = change(db, tmp_path)
        moved_in = os.stat(f"{db}-wal").st_ino if change is replace_with_wal else None
        status, body = _request(port, "POST", "/a", b"refused")
        assert status == 503 and b"replaced by another file" in body, body
        if read:
            assert _raw_bodies(db) == theirs  # (while serve runs: a reader sees the file alone)
        assert json.loads(_request(port, "GET", "/_hooklab/health")[1])["status"] == "failing"
    finally:
        _stop(proc, read=False)
    assert proc.returncode == 0
    # its own sides are gone; a -wal the operator moved in is left alone (a reader meanwhile,
    # the last connection to the file put there, took it into that file, as SQLite does)
    if moved_in is not None and not read:
        assert _sides(tmp_path) == ["r.sqlite3-wal"]
        assert os.stat(f"{db}-wal").st_ino == moved_in
    else:
        assert _sides(tmp_path) == []
    assert _raw_bodies(db) == theirs  # (their change only in their -wal: read, not dropped)
    assert _bodies(kept) == ours  # (acknowledged: all in the file it wrote)
    proc, _out, port = _serve(str(db))  # the next serve on the path goes on with the file put there
    try:
        assert _request(port, "POST", "/a", b"next")[0] == 200
    finally:
        _stop(proc, read=False)
    assert _bodies(db) == [*theirs, b"next"]
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


@pytest.mark.parametrize("away", ["moved", "deleted"])
def test_captures_in_a_file_moved_away_are_all_in_it_and_nothing_is_left_at_the_path(
        tmp_path, away: str) -> None:
    """``mv r.sqlite3 elsewhere.sqlite3`` (or ``rm r.sqlite3``) just after a burst: the
    captures still in its WAL went nowhere but the ``-wal`` at the old name."""
    db = tmp_path / "r.sqlite3"
    elsewhere = tmp_path / "moved" / "elsewhere.sqlite3"
    elsewhere.parent.mkdir()
    proc, _out, port = _serve(str(db))
    try:
        ours = [b"capture %d" % i for i in range(40)]
        for body in ours:  # (the last ones are in the WAL: checkpoints come once a second)
            assert _request(port, "POST", "/a", body)[0] == 200
        if away == "moved":
            os.rename(db, elsewhere)
        else:
            os.link(db, elsewhere)  # (so that what it holds can be read: the name goes)
            db.unlink()
        status, body = _request(port, "POST", "/a", b"refused")
        assert status == 503, body
    finally:
        _stop(proc, read=False)
    assert proc.returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["moved"]  # nothing at the path
    assert sorted(p.name for p in elsewhere.parent.iterdir()) == ["elsewhere.sqlite3"]
    con = sqlite3.connect(f"file:{elsewhere}?mode=ro", uri=True)
    try:  # (read as it is, no -wal beside it: what the file itself holds)
        assert [bytes(r[0]) for r in con.execute("SELECT body FROM captures ORDER BY id")] == ours
    finally:
        con.close()
