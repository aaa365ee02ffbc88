"""The store's writer on a full disk or a locked database: it survives what fails there.

Found by an operator on a machine with a full disk and a database another process held
locked: a retention pass whose COMMIT failed killed the ``hooklab-writer`` thread (every later
capture went unanswered, ``stop()`` dropped the queue); a failed bulk import raised a bare
``sqlite3.OperationalError`` from the index rebuild in place of the error that said how many
records were stored; a forward's outcome was lost without a word; ``clear()`` raised a bare
``OperationalError``.

The disk is really full here (a small tmpfs: root only, skipped otherwise); a database really
locked (a second process in ``BEGIN IMMEDIATE``: no root needed); SQLite's
``PRAGMA max_page_count`` on the writer's connection stands in for a disk that fills at an
exact moment (an import's last chunk).
"""

from __future__ import annotations

import contextlib
import http.client
import http.server
import json
import logging
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from _relsupport import can_mount, tmpfs

import hooklab
from hooklab import HookLab
from hooklab.store import CaptureStore, RowMaker, StoreError

pytestmark = pytest.mark.timeout(240)

MB = 1 << 20


# -- helpers ---------------------------------------------------------------------------------
@contextlib.contextmanager
def small_disk(where: Path, size: int) -> Iterator[Path]:
    """A tmpfs of ``size`` bytes (rounded up to a MiB) at ``where``, unmounted after."""
    with tmpfs(where, f"size={-(-size // MB)}m") as disk:
        yield disk


def grow(disk: Path, size_mb: int) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size_mb}m", str(disk)], check=True)


def fill(disk: Path) -> Path:
    """Fill ``disk`` to the last byte with a file; returns it (remove it to make room)."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for _ in range(1 << 20):  # (bounded: 4 GiB at most)
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)
    return filler


_HOLDER = """
import select, sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
select.select([sys.stdin], [], [], 60)  # until told (or a minute: never held for ever)
db.execute("ROLLBACK")
print("released", flush=True)
"""


@contextlib.contextmanager
def write_lock(db: Path) -> Iterator[None]:
    """Another process holds ``db``'s write lock (``BEGIN IMMEDIATE``) until the block ends
    (longer than the store's 5 s busy timeout, when the block lasts that long)."""
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(db)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        yield
        holder.communicate("go\n", timeout=20)
        assert holder.returncode == 0
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(10)


def post(lab: HookLab, body: bytes, timeout: float = 30.0) -> tuple[int | str, bytes]:
    """POST ``body`` to ``/x``: (status, answer), or ("no answer", why) after ``timeout``."""
    conn = http.client.HTTPConnection("127.0.0.1", lab.bound_port, timeout=timeout)
    try:
        conn.request("POST", "/x", body=body)
        r = conn.getresponse()
        return r.status, r.read()
    except OSError as exc:  # (a timeout: the writer never answered)
        return "no answer", repr(exc).encode()
    finally:
        conn.close()


def post_until_stored(lab: HookLab, body: bytes, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        status, answer = post(lab, body, timeout=15)
        if status == 200:
            return
        assert status == 503 and time.monotonic() < deadline, (status, answer)
        time.sleep(0.5)


def health(lab: HookLab) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(lab.url + "/_hooklab/health", timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def wait_until(what, seconds: float, step: float = 0.2) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not what():
        if time.monotonic() > deadline:
            return False
        time.sleep(step)
    return True


def said(caplog: pytest.LogCaptureFixture, *words: str) -> bool:
    return any(all(w in r.getMessage() for w in words) for r in caplog.records
               if r.name == "hooklab" and r.levelno >= logging.WARNING)


def stop(lab: HookLab, seconds: float = 40.0) -> None:
    """``lab.stop()``, which must return (it hung, or dropped the queue, with no writer)."""
    t = threading.Thread(target=lab.stop, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), "lab.stop() did not return"


def source(path: Path, n: int = 3000) -> int:
    """A capture database of ``records(n)`` stored as webhooks are (in group commits, their
    search words with them: nothing left to index where it is copied to); its size."""
    with CaptureStore(str(path)) as store:
        for fut in [store.add(r) for r in records(n)]:
            fut.result(60)
    return os.path.getsize(path)


def records(n: int, bins: tuple[str, ...] = ("stripe", "github")) -> Iterator[dict]:
    """``n`` webhook-like records of 0.3 - 3.3 KB (as an operator's captures were)."""
    for i in range(n):
        payload = {"i": i, "type": f"evt{i % 5}", "pad": "y" * (300 + (i % 7) * 500)}
        yield {"method": "POST", "path": f"/{bins[i % len(bins)]}", "body": json.dumps(payload).encode(),
               "headers": [("Content-Type", "application/json"), ("X-Delivery", str(i))]}


# -- 1. a failed retention pass --------------------------------------------------------------
def test_a_retention_pass_on_a_locked_database_leaves_the_writer_answering(tmp_path, caplog):
    """Another process held the write lock past the busy timeout: the retention pass's
    BEGIN failed, the exception killed the writer, and after the lock was released every
    POST went unanswered and /_hooklab/health said "failing" for ever. Now captures are
    answered meanwhile (503, SQLite's words), the failed pass is said and tried again, and
    once the lock is gone captures are stored and retention catches up."""
    caplog.set_level(logging.INFO, logger="hooklab")
    db = tmp_path / "c.sqlite3"
    # (retention_age: a pass is owed every couple of seconds, so one surely meets the lock)
    lab = HookLab(port=0, db=str(db), retention_count=5, retention_age=3600).start()
    try:
        for i in range(20):
            assert post(lab, b"before %d" % i)[0] == 200
        with write_lock(db):
            status, answer = post(lab, b"during")  # (a batch waits the 5 s busy timeout)
            assert (status, b"database is locked" in answer) == (503, True), (status, answer)
            wait_until(lambda: said(caplog, "retention pass failed"), 20)
            # the health check says it too (an operator's probe sees no log)
            assert "database is locked" in health(lab)[1]["retention_error"]["error"]
        post_until_stored(lab, b"after")
        assert health(lab)[0] == 200 and health(lab)[1]["status"] == "ok"
        assert said(caplog, "retention pass failed", "database is locked")
        # retention is tried again (5 s later at most) and keeps the newest 5
        assert wait_until(lambda: lab.store.count() == 5, 30), lab.store.count()
        assert lab.store.retention_failing is None
        assert "retention_error" not in health(lab)[1]
        assert lab.store.failing is None and lab.store.failure_count == 1
        assert lab.query()[-1].body == b"after"
    finally:
        stop(lab)


def test_a_retention_pass_on_a_full_disk_leaves_the_writer_answering(tmp_path, caplog):
    """A retention pass whose deletion did not fit in the WAL (COMMIT: "database or disk is
    full") killed the writer; its WAL had taken the disk's last bytes, so nothing was stored
    again even once there was room, the health check said "ok", ``stop()`` dropped what was
    queued. Now the pass is rolled back and said, the WAL's room given back, and tried again
    (over fewer captures at a time: it often gets there on the same disk); captures are
    answered all along, and once there is room retention catches up. Filled up, the disk
    gets 503s, and 200s again once there is room."""
    caplog.set_level(logging.INFO, logger="hooklab")
    src = tmp_path / "src.sqlite3"
    size = source(src)
    with small_disk(tmp_path / "small", size + 4 * MB) as disk:
        db = disk / "c.sqlite3"
        shutil.copy(src, db)
        lab = HookLab(port=0, db=str(db), retention_count=100).start()
        try:
            assert post(lab, b"first")[0] == 200  # (stored: the retention pass after it fails)
            assert wait_until(lambda: said(caplog, "retention pass failed"), 20)
            assert said(caplog, "retention pass failed", "database or disk is full")
            # captures are answered all along (a writer killed by the pass answered none)
            for n in range(20):
                status, answer = post(lab, b"meanwhile %d" % n, timeout=20)
                assert status in (200, 503), (status, answer)
                time.sleep(0.25)
            grow(disk, -(-size // MB) + 24)  # room: retention catches up
            deadline = time.monotonic() + 60
            while lab.store.count() > 101 or lab.store.retention_failing is not None:
                assert time.monotonic() < deadline, ("retention never caught up",
                                                     lab.store.count(), lab.store.retention_failing)
                assert post(lab, b"meanwhile", timeout=20)[0] in (200, 503)
                time.sleep(0.5)
            # no room at all: 503 with SQLite's words, then 200 once there is room again
            # (12 MB: more than the WAL file keeps between checkpoints, so it must grow)
            filler = fill(disk)
            status, answer = post(lab, b"x" * (12 * MB))
            assert status == 503 and b"database or disk is full" in answer, (status, answer)
            assert health(lab)[0] == 503
            filler.unlink()
            post_until_stored(lab, b"room again")
            assert health(lab)[1]["status"] == "ok"
            assert lab.query()[-1].body == b"room again" and lab.store.count() <= 101
        finally:
            stop(lab)
            grow(disk, 64)  # (room for the read below)
        assert hooklab.open(str(db)).query()[-1].body == b"room again"


# -- 2. a bulk import that cannot be finished ------------------------------------------------
def _rows_then_full(store: CaptureStore, n: int, full_after: int) -> Iterator[list]:
    """Rows of ``records(n)``; after the first ``full_after`` rows are taken the database
    may grow by a few pages only (the import stores 5,000 rows a chunk: a multiple of it
    fills the disk just before the indexes are made again)."""
    make = RowMaker()
    for at, record in enumerate(records(n)):
        if at == full_after:
            (pages,) = store._wdb.execute("PRAGMA page_count").fetchone()
            store._wdb.execute(f"PRAGMA max_page_count = {pages + 2}")
        yield make(record)
    if n == full_after:
        (pages,) = store._wdb.execute("PRAGMA page_count").fetchone()
        store._wdb.execute(f"PRAGMA max_page_count = {pages + 2}")


def _indexes(db: Path) -> set[str]:
    con = sqlite3.connect(db)
    try:
        return {n for (n,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'index'"
                                          " AND tbl_name = 'captures' AND name NOT LIKE 'sqlite_%'")}
    finally:
        con.close()


@pytest.mark.parametrize(
    ("n", "full_after", "error"),
    [
        # the disk fills mid-import: the import's own error (how many are stored) is raised,
        # not the index rebuild's bare OperationalError that replaced it
        (10_000, 5_000, r"records 5000 to 9999 not stored: the database cannot be written "
                        r"\(OperationalError: database or disk is full\); the 5000 before them"),
        # every row stored, only the indexes not made: said as such (a user would otherwise
        # import them all again, and have each twice)
        (5_000, 5_000, r"all 5000 records are stored \(do not import them again\), but the "
                       r"capture table's indexes could not be made again \(OperationalError: "
                       r"database or disk is full\)"),
    ],
    ids=["mid-import", "only-the-indexes"],
)
def test_an_import_onto_a_filling_disk_says_what_is_stored(tmp_path, n, full_after, error):
    db = tmp_path / "c.sqlite3"
    store = CaptureStore(str(db))
    try:
        with pytest.raises(StoreError, match=error):
            store.add_rows(_rows_then_full(store, n, full_after))
        # read-only, without the indexes: the same answers (slower)
        assert "captures_bin" not in _indexes(db)
        lab = hooklab.open(str(db))
        try:
            assert lab.store.count() == 5000 and len(lab.query(bin="stripe")) == 2500
            assert [c.body for c in lab.query(bin="github", limit=2)] == [
                r["body"] for r in list(records(4))[1::2]]
            assert len(lab.dataframe(provider=None)) == 5000
        finally:
            lab.stop()
        # room again: the open store makes them itself (the upkeep thread tries again)
        store._wdb.execute("PRAGMA max_page_count = 1000000000")
        assert wait_until(lambda: "captures_bin" in _indexes(db), 30), _indexes(db)
    finally:
        store.close()
    assert CaptureStore(str(db), readonly=True).count() == 5000


def test_an_import_that_fills_a_real_disk_keeps_its_own_error(tmp_path, caplog):
    """``HookLab.from_jsonl`` of 15,000 records onto a disk that holds about 10,000: the
    StoreError naming what is stored, not the index rebuild's bare OperationalError; a
    writable open (once there is room) makes the indexes again."""
    caplog.set_level(logging.INFO, logger="hooklab")
    can_mount()
    src = tmp_path / "src.sqlite3"
    source(src)
    jsonl = tmp_path / "big.jsonl"
    one = hooklab.open(str(src))
    try:
        one.export(str(tmp_path / "one.jsonl"), fmt="jsonl")
    finally:
        one.stop()
    with open(jsonl, "wb") as out:
        for _ in range(5):
            out.write((tmp_path / "one.jsonl").read_bytes())
    with small_disk(tmp_path / "small", 30 * MB) as disk:
        db = disk / "imp.sqlite3"
        with pytest.raises(StoreError) as raised:
            HookLab.from_jsonl(str(jsonl), db=str(db))
        # (5,000 records a chunk: the one that did not fit; which depends on when the WAL
        # was last checkpointed)
        m = re.search(r"records (\d+) to (\d+) not stored: the database cannot be written "
                      r"\(OperationalError: database or disk is full\); the (\d+) before them "
                      r"are stored", str(raised.value))
        assert m and m[1] == m[3] and int(m[2]) == min(int(m[1]) + 4999, 14999), str(raised.value)
        # the indexes are made again at once if the failed chunk's room came back in time (the
        # WAL given back after it: when depends on the last checkpoint; 4 runs in about 20
        # at one time), else the log says they could not be, and a writable open makes them
        rebuilt = "captures_bin" in _indexes(db)
        assert rebuilt != said(caplog, "indexes could not be made again",
                               "database or disk is full"), (rebuilt, caplog.records)
        grow(disk, 128)
        assert ("captures_bin" in _indexes(db)) == rebuilt
        lab = hooklab.open(str(db))
        try:
            assert lab.store.count() == int(m[1]) and len(lab.query(bin="stripe")) == int(m[1]) // 2
        finally:
            lab.stop()
        CaptureStore(str(db)).close()  # writable: the indexes are made again
        assert "captures_bin" in _indexes(db)


# -- 3. a forward's outcome that cannot be stored yet ----------------------------------------
class _App(http.server.BaseHTTPRequestHandler):
    release = threading.Event()

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.release.wait(30)  # (answers once the test has made the store unwritable)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.parametrize("how", ["locked", "full"])
def test_a_forward_outcome_is_stored_once_writes_work_again(tmp_path, caplog, how):
    """A forward that finished while the database could not be written: its outcome was
    lost without a word (nothing looked at the write's result). Now it is said, kept, and
    stored once writes work again."""
    caplog.set_level(logging.INFO, logger="hooklab")
    if how == "full":
        where = small_disk(tmp_path / "small", 8 * MB)
    else:
        where = contextlib.nullcontext(tmp_path)
    app = http.server.ThreadingHTTPServer(("127.0.0.1", 0), type("App", (_App,), {
        "release": threading.Event()}))
    threading.Thread(target=app.serve_forever, daemon=True).start()
    try:
        with where as disk:
            db = disk / "c.sqlite3"
            lab = HookLab(port=0, db=str(db)).start()
            try:
                lab.forward("x", to=f"http://127.0.0.1:{app.server_address[1]}/hook")
                assert post(lab, b'{"a": 1}')[0] == 200
                blocked = fill(disk) if how == "full" else None
                with write_lock(db) if how == "locked" else contextlib.nullcontext():
                    app.RequestHandlerClass.release.set()  # the outcome comes now
                    assert wait_until(lambda: said(caplog, "forward's outcome could not be "
                                                           "stored"), 30)
                    assert lab.forwards() == []
                if blocked is not None:
                    blocked.unlink()
                assert wait_until(lambda: lab.forwards() != [], 30), "never stored"
                (outcome,) = lab.forwards()
                assert (outcome["capture_id"], outcome["status"], outcome["error"]) == (1, 204, None)
                assert list(lab.dataframe()["forward_status"]) == [204]
                assert lab.store.failing is None  # (stored rows: writes work again)
            finally:
                stop(lab)
    finally:
        app.shutdown()
        app.server_close()


# -- 4. clear() when the database cannot be written ------------------------------------------
@pytest.mark.parametrize(
    ("how", "words"),
    [
        ("locked", r"captures not cleared: the database cannot be written \(OperationalError: "
                   r"database is locked\)$"),
        ("full", r"captures not cleared: the database cannot be written \(OperationalError: "
                 r"database or disk is full\): on a full disk clearing needs some room first, as "
                 r"SQLite writes the deletion to its WAL file"),
    ],
    ids=["locked", "full"],
)
def test_clear_that_cannot_write_says_why(tmp_path, how, words):
    src = tmp_path / "src.sqlite3"
    size = source(src)
    where = small_disk(tmp_path / "small", size + 6 * MB) if how == "full" else \
        contextlib.nullcontext(tmp_path / "here")
    with where as disk:
        disk.mkdir(exist_ok=True)
        db = disk / "c.sqlite3"
        shutil.copy(src, db)
        lab = HookLab(port=0, db=str(db)).start()
        try:
            filler = fill(disk) if how == "full" else None
            with write_lock(db) if how == "locked" else contextlib.nullcontext():
                with pytest.raises(StoreError, match=words):
                    lab.clear()
            assert lab.store.count() == 3000  # nothing deleted
            if filler is not None:  # (room for the deletion in the WAL: here SQLite overwrites
                filler.unlink()  # what it deletes, secure_delete, so about the database's size)
                grow(disk, -(-2 * size // MB) + 8)
            assert lab.clear() == 3000 and lab.store.count() == 0
            assert post(lab, b"after")[0] == 200
        finally:
            stop(lab)


def test_retention_is_asked_for_though_an_upkeep_step_fails_every_time(tmp_path, monkeypatch):
    """The upkeep thread asked for an idle retention pass last, in the same ``try`` as its
    other steps: one that failed every time (a checkpoint on a still-full disk, say) kept it
    from ever asking, and ``retention_age`` deleted nothing while no webhook came. (A step
    made to fail stands in for the full disk.)"""
    from hooklab.store import CaptureStore

    real = CaptureStore._retry_forwards

    def failing(self, *, now: bool = False) -> None:  # type: ignore[no-untyped-def]
        if now:  # (closing: as it is)
            return real(self, now=now)
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(CaptureStore, "_retry_forwards", failing)
    lab = HookLab(port=0, db=str(tmp_path / "c.sqlite3"), retention_age=1).start()
    try:
        for i in range(5):
            assert post(lab, b"old %d" % i)[0] == 200
        assert lab.store.count() == 5
        # nothing is sent after them: only the upkeep thread's request deletes them
        assert wait_until(lambda: lab.store.count() == 0, 20), lab.store.count()
    finally:
        stop(lab)
