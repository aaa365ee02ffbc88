"""The database file deleted or replaced under a running lab (an operator's findings).

``/_hooklab/health`` answered 500 Internal Server Error, a traceback in the log ("unable to
open database file" / "no such table: captures" from counting the captures); the senders
after the first got "capture not stored: StoreError", no words. Now the check answers 503
``{"status": "failing", "error": ...}`` saying what happened to the file, and every 503 says
why in words without the file's path (anyone who can send a webhook reads them).
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from _http import post

import hooklab
from hooklab import HookLab
from hooklab.store import CaptureStore, DiskFull, StoreError, write_error

pytestmark = pytest.mark.timeout(120)


def delete(db: Path) -> None:
    for side in ("", "-wal", "-shm"):
        Path(f"{db}{side}").unlink(missing_ok=True)


def replace(db: Path) -> None:
    os.rename(db, db.with_name("old.sqlite3"))  # (another database put at its path)
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE t (x)")
    con.close()


def health(lab: HookLab, method: str = "GET") -> tuple[int, bytes]:
    req = urllib.request.Request(lab.url + "/_hooklab/health", method=method)
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


# (a file deleted may be made again at its path by a connection opening it meanwhile: then it
# is "replaced (or deleted)")
SAID = {"deleted": ("the database file was deleted or moved away while the lab ran",
                    "the database file was replaced by another file (or deleted) while the lab ran"),
        "replaced": ("the database file was replaced by another file (or deleted) while the lab ran",)}


@pytest.mark.parametrize(("change", "said"), [(delete, SAID["deleted"]),
                                              (replace, SAID["replaced"])],
                         ids=["deleted", "replaced"])
def test_health_says_the_file_is_gone_and_every_503_says_why(tmp_path, change, said):
    db = tmp_path / "private-folder" / "c.sqlite3"
    lab = HookLab(port=0, db=str(db)).start()
    try:
        assert post(lab.url_for("x"), b"before")[0] == 200
        assert health(lab)[0] == 200
        change(db)
        status, body = health(lab)  # (before any sender: writes would go to a lost file)
        assert status == 503, body
        answer = json.loads(body)
        assert answer["status"] == "failing" and answer["error"] in said, answer
        assert answer["since"] and answer["port"] == lab.bound_port
        assert health(lab, "HEAD")[0] == 503
        answers = [post(lab.url_for("x"), b"after %d" % n) for n in range(3)]
        for status, body in answers:  # (nothing acknowledged: the first commit's sync failed)
            assert status == 503, answers
            error = json.loads(body)["error"]
            assert error not in ("capture not stored: StoreError", "capture not stored"), answers
            assert "private-folder" not in error and str(tmp_path) not in error, error
        assert b"syncing the database to disk failed" in answers[-1][1], answers
        status, body = health(lab)
        assert status == 503 and json.loads(body)["error"] in said, body
        assert b"private-folder" not in body
    finally:
        lab.stop()


@pytest.mark.parametrize(("error", "said"), [
    (DiskFull("cannot open '/srv/x/c.sqlite3': the disk is full (no space left on the device "
              "mounted at '/srv')", reason="the disk is full (no space left on device)"),
     "DiskFull: the disk is full (no space left on device)"),
    (StoreError("'/srv/x/c.sqlite3' was opened read-only"), "StoreError"),  # no reason: no words
    (StoreError("x", reason="syncing failed ([Errno 2] the WAL file '/srv/c-wal' was removed)"),
     "StoreError: syncing failed ([Errno 2] the WAL file <path> was removed)"),
    (StoreError("x", reason='gone: "/srv/a b/c.sqlite3" and /srv/secret/c.sqlite3-wal'),
     "StoreError: gone: <path> and <path>"),
    (sqlite3.OperationalError("database or disk is full"),
     "OperationalError: database or disk is full"),
])
def test_a_store_error_tells_a_sender_its_reason_without_a_path(error, said):
    assert write_error(error) == said


def move(db: Path) -> None:
    os.rename(db, db.with_name("moved.sqlite3"))  # (only the file: its -wal stays at the old name)


def delete_file(db: Path) -> None:
    db.unlink()  # (only the file: SQLite keeps writing its -wal and the deleted inode)


def replace_empty(db: Path) -> None:
    os.rename(db, db.with_name("moved.sqlite3"))
    db.write_bytes(b"")


@pytest.mark.parametrize("change", [move, delete_file, replace_empty],
                         ids=["moved", "deleted", "replaced-by-empty"])
def test_a_capture_is_not_acknowledged_into_a_file_that_left_its_path(tmp_path, change):
    """The database file alone moved, deleted or replaced (its ``-wal`` left in place): in WAL
    mode SQLite goes on committing, into a WAL beside a name that no longer holds the database
    (moved: ``hooklab.open`` of the moved file did not see them) or into a deleted file, and
    every sender was told 200. A 503 saying why now (the sender retries), and not one
    acknowledged capture is missing from the file when it is put back."""
    db = tmp_path / "c.sqlite3"
    lab = HookLab(port=0, db=str(db)).start()
    try:
        assert post(lab.url_for("x"), b"kept 0")[0] == 200
        change(db)
        answers = [post(lab.url_for("x"), b"after %d" % n) for n in range(3)]
        said = {json.loads(body)["error"] for _, body in answers}
        assert [status for status, _ in answers] == [503] * 3, answers
        assert said <= {"capture not stored: StoreError: " + s
                        for s in SAID["deleted"] + SAID["replaced"]}, said
        if change is move:  # put back: stored again, on the same open lab
            os.rename(db.with_name("moved.sqlite3"), db)
            assert post(lab.url_for("x"), b"kept 1")[0] == 200
            assert health(lab)[0] == 200
    finally:
        lab.stop()
    if change is move:
        with hooklab.open(str(db)) as store:
            assert [c.body for c in store.captures] == [b"kept 0", b"kept 1"]


def test_a_bulk_import_is_not_committed_into_a_file_that_left_its_path(tmp_path):
    db = tmp_path / "c.sqlite3"
    store = CaptureStore(str(db))
    try:
        store.add_many([{"method": "POST", "path": "/x", "body": b"first"}])
        move(db)
        with pytest.raises(StoreError, match="deleted or moved away"):
            store.add_many([{"method": "POST", "path": "/x", "body": b"lost"}])
    finally:
        store.close()
    os.rename(db.with_name("moved.sqlite3"), db)  # (back beside its -wal, which holds "first")
    with hooklab.open(str(db)) as back:
        assert [c.body for c in back.captures] == [b"first"]


def test_a_deleted_file_is_not_made_again_empty_at_its_path(tmp_path):
    """The upkeep thread opened its connection lazily, with SQLite's default mode: about a
    second after the file was deleted, an empty file stood at its path (and the lab called
    it "replaced")."""
    db = tmp_path / "c.sqlite3"
    lab = HookLab(port=0, db=str(db)).start()
    try:
        db.unlink()
        deadline = time.monotonic() + 2.5  # (the upkeep thread wakes every second)
        while time.monotonic() < deadline and not db.exists():
            time.sleep(0.05)
        assert not db.exists()
        status, body = health(lab)
        assert status == 503 and json.loads(body)["error"] == SAID["deleted"][0], body
    finally:
        lab.stop()
    assert not db.exists()
