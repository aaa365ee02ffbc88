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
from typing import Any

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


# -- the path as spelled vs the file opened ----------------------------------------------------
# A tester's findings: ``db=".../work/data/../c.sqlite3"`` with ``data`` a link to ``real/sub``
# (the OS resolves ``..`` after the link: the file is ``real/c.sqlite3``) got every capture
# refused with 503 "deleted or moved away": the check looked at ``abspath`` of the path, which
# drops ``data/..`` as text (``work/c.sqlite3``, no such file). A link to the file removed or
# re-pointed while the lab ran did the same, though the file the lab writes was intact.
# Each layout: (the db path to give, the file it really is), made under ``base``.


def _relative(base: Path) -> tuple[str, Path]:
    os.chdir(base / "work")  # (monkeypatched: put back after the test)
    return "c.sqlite3", base / "work" / "c.sqlite3"


def _dotdot_through_linked_folder(base: Path) -> tuple[str, Path]:
    (base / "work" / "data").symlink_to(base / "real" / "sub")
    return f"{base}/work/data/../c.sqlite3", base / "real" / "c.sqlite3"


def _relative_dotdot_through_linked_folder(base: Path) -> tuple[str, Path]:
    (base / "work" / "data").symlink_to(base / "real" / "sub")
    os.chdir(base / "work")
    return "data/../c.sqlite3", base / "real" / "c.sqlite3"


def _linked_file(base: Path) -> tuple[str, Path]:
    (base / "work" / "c.sqlite3").symlink_to(base / "real" / "a.sqlite3")  # (dangling: made through it)
    return f"{base}/work/c.sqlite3", base / "real" / "a.sqlite3"


def _linked_folder(base: Path) -> tuple[str, Path]:
    (base / "work" / "data").symlink_to(base / "real" / "sub")
    return f"{base}/work/data/c.sqlite3", base / "real" / "sub" / "c.sqlite3"


def _double_slashes(base: Path) -> tuple[str, Path]:
    return f"{base}//work//c.sqlite3", base / "work" / "c.sqlite3"


def _dot_segments(base: Path) -> tuple[str, Path]:
    return f"{base}/./work/./c.sqlite3", base / "work" / "c.sqlite3"


def _nothing(base: Path, db: str) -> None:
    pass


def _chdir_away(base: Path, db: str) -> None:
    os.chdir(base / "elsewhere")  # (a %cd in the next cell)


def _link_removed(base: Path, db: str) -> None:
    os.unlink(db)  # (the link only: the file it named stays)


def _link_repointed(base: Path, db: str) -> None:
    other = base / "real" / "other.sqlite3"
    CaptureStore(str(other)).close()  # (another capture database)
    os.unlink(db)
    os.symlink(other, db)


def _folder_link_repointed(base: Path, db: str) -> None:
    (base / "other").mkdir()
    link = base / "work" / "data"  # (the folder the file is in stays: only the link changes)
    link.unlink()
    link.symlink_to(base / "other")


SPELLINGS = [
    ("relative, then chdir", _relative, _chdir_away),
    (".. through a linked folder", _dotdot_through_linked_folder, _nothing),
    ("relative .. through a linked folder, then chdir", _relative_dotdot_through_linked_folder,
     _chdir_away),
    ("a link to the file", _linked_file, _nothing),
    ("a link to the file, removed", _linked_file, _link_removed),
    ("a link to the file, re-pointed to another database", _linked_file, _link_repointed),
    ("a link to its folder", _linked_folder, _nothing),
    ("a link to its folder, re-pointed", _linked_folder, _folder_link_repointed),
    ("double slashes", _double_slashes, _nothing),
    ("/./ segments", _dot_segments, _nothing),
]


def _layout(tmp_path: Path) -> Path:
    for folder in ("work", "real/sub", "elsewhere"):
        (tmp_path / folder).mkdir(parents=True)
    return tmp_path


def _serving(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
             make: Any) -> tuple[Path, str, Path, HookLab]:
    """A lab serving the database at the path ``make`` spells in a fresh layout (the working
    folder ``tmp_path``): the layout's base, the path as given, the real file and the lab."""
    monkeypatch.chdir(tmp_path)
    base = _layout(tmp_path)
    db, real = make(base)
    return base, db, real, HookLab(port=0, db=db).start()


@pytest.mark.parametrize(("make", "then"), [s[1:] for s in SPELLINGS], ids=[s[0] for s in SPELLINGS])
def test_every_spelling_of_the_database_path_captures(tmp_path, monkeypatch, make, then):
    """The file the lab writes is what is watched: however its path was spelled, and whatever
    happens to a link to it, captures are stored (200) while that file stays where it is, and
    read back from it (``lab.sql``, and ``hooklab.open`` of the file)."""
    base, db, real, lab = _serving(tmp_path, monkeypatch, make)
    try:
        assert post(lab.url_for("x"), b"first")[0] == 200
        then(base, db if os.path.isabs(db) else str(base / "work" / db))
        answers = [post(lab.url_for("x"), b"after %d" % n) for n in range(2)]
        assert [status for status, _ in answers] == [200, 200], answers
        assert health(lab)[0] == 200
        assert lab.store.file_problem() is None
        assert lab.sql("SELECT count(*) AS n FROM captures")["n"].tolist() == [3]
    finally:
        lab.stop()
    with hooklab.open(str(real)) as store:
        assert [c.body for c in store.captures] == [b"first", b"after 0", b"after 1"]
    if then is _link_repointed:  # (nothing went into the database the link names now)
        with hooklab.open(db) as store:
            assert len(store.captures) == 0


def _target_deleted(base: Path, real: Path) -> None:
    real.unlink()


def _target_moved(base: Path, real: Path) -> None:
    os.rename(real, base / "elsewhere" / "moved.sqlite3")


def _target_replaced(base: Path, real: Path) -> None:
    os.rename(real, base / "elsewhere" / "old.sqlite3")
    con = sqlite3.connect(real)
    con.execute("CREATE TABLE t (x)")
    con.close()


GONE = [
    ("a link to the file, its file deleted", _linked_file, _target_deleted),
    ("a link to the file, its file moved", _linked_file, _target_moved),
    ("a link to the file, its file replaced", _linked_file, _target_replaced),
    ("a link to its folder, the file moved", _linked_folder, _target_moved),
    ("a link to its folder, the file replaced", _linked_folder, _target_replaced),
    (".. through a linked folder, the file deleted", _dotdot_through_linked_folder,
     _target_deleted),
    ("relative, then chdir, the file moved", _relative, _target_moved),
]


@pytest.mark.parametrize(("make", "change"), [g[1:] for g in GONE], ids=[g[0] for g in GONE])
def test_the_file_opened_leaving_its_path_is_refused_however_the_path_was_spelled(
        tmp_path, monkeypatch, make, change):
    base, db, real, lab = _serving(tmp_path, monkeypatch, make)
    try:
        assert post(lab.url_for("x"), b"first")[0] == 200
        os.chdir(base / "elsewhere")
        change(base, real)
        status, body = post(lab.url_for("x"), b"lost")
        assert status == 503, body
        said = json.loads(body)["error"]
        assert said in {"capture not stored: StoreError: " + s
                        for s in SAID["deleted"] + SAID["replaced"]}, said
        assert health(lab)[0] == 503
    finally:
        lab.stop()

