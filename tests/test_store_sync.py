"""``durability="full"``: nothing is acknowledged before the WAL it was written to is synced.

The writer commits with ``synchronous = NORMAL`` and a thread of its own syncs the WAL, then
answers (see ``hooklab/store/_sync.py``). These tests hold that sync (a gate around the real
``fdatasync``) and check, on real SQLite files and a real server, that a committed capture is
not acknowledged -- no HTTP answer, no future, no subscriber -- until the sync has returned,
that a failed sync is never acknowledged, and that the file synced is the database's own WAL
whatever path opened it.
"""

from __future__ import annotations

import errno
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from _http import post, recv_until_close

from hooklab import HookLab
from hooklab.store import CaptureStore, StoreError
from hooklab.store._sync import WalSync

pytestmark = pytest.mark.skipif(os.name != "posix", reason="the WAL syncer is used on POSIX")


def rec(path: str = "/b", body: bytes = b"x") -> dict:
    return {"method": "POST", "path": path, "body": body}


class Gate:
    """Wraps a store's WAL sync: each sync waits for ``go``; ``calls`` counts them."""

    def __init__(self, store: CaptureStore, fail: OSError | None = None) -> None:
        assert store._sync is not None
        self.sync = store._sync
        self.real = store._sync.sync
        self.fail = fail
        self.entered = threading.Event()
        self.go = threading.Event()
        self.calls = 0
        self.sync.sync = self  # the syncer thread looks the method up on the instance

    def __call__(self) -> None:
        self.calls += 1
        self.entered.set()
        assert self.go.wait(30), "the test never released the sync"
        if self.fail is not None:
            raise self.fail
        self.real()

    def remove(self) -> None:
        self.go.set()
        self.sync.__dict__.pop("sync", None)

    def __enter__(self) -> Gate:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


@contextmanager
def gated(path: str | Path, fail: OSError | None = None) -> Iterator[tuple[CaptureStore, Gate]]:
    """A store with ``durability="full"`` on ``path`` and a :class:`Gate` on its sync; both
    undone (the gate opened, the store closed) at the end."""
    store = CaptureStore(path)
    gate = Gate(store, fail=fail)
    try:
        yield store, gate
    finally:
        gate.remove()
        store.close()


def committed(path: Path) -> int:
    """Captures a separate connection sees (committed, whether synced or not)."""
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT COUNT(*) FROM captures").fetchone()[0]
    finally:
        db.close()


def test_future_callback_and_subscribers_wait_for_the_sync(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    with gated(path) as (store, gate):
        seen: list[tuple[int, str]] = []
        done: list[int] = []
        store.subscribe(lambda cap: seen.append((cap.id, threading.current_thread().name)))
        fut = store.add(rec(), on_done=lambda cap: done.append(cap.id))
        assert gate.entered.wait(10)
        deadline = time.monotonic() + 10
        while committed(path) < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert committed(path) == 1  # in the database ...
        time.sleep(0.3)
        assert not fut.done() and done == [] and seen == []  # ... but nobody was told yet
        gate.go.set()
        assert fut.result(10).id == 1
        assert done == [1]
        assert seen == [(1, "hooklab-syncer")]


def test_an_http_answer_waits_for_the_sync(file_lab: HookLab) -> None:
    """What a sender sees: no status line while its capture is committed but not synced."""
    lab, path = file_lab, Path(file_lab.db)
    with Gate(lab.store) as gate:
        port = lab.server.port
        body = b'{"id": "evt_1"}'
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"POST /stripe HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json"
                      b"\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
            assert gate.entered.wait(10)
            assert committed(path) == 1
            s.settimeout(0.5)
            with pytest.raises(TimeoutError):
                s.recv(1)  # not one byte of the answer before the sync returned
            gate.go.set()
            answer = recv_until_close(s, timeout=10)
        assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
        assert b"X-Hooklab-Capture-Id: 1\r\n" in answer
        assert answer.endswith(b'{"ok": true, "id": 1}')


def test_a_failed_sync_is_never_acknowledged(file_lab: HookLab, tmp_path: Path) -> None:
    lab, path = file_lab, Path(file_lab.db)
    seen: list[int] = []
    lab.store.subscribe(lambda cap: seen.append(cap.id))
    with Gate(lab.store, fail=OSError(errno.EIO, "Input/output error")) as gate:
        gate.go.set()
        with socket.create_connection(("127.0.0.1", lab.server.port), timeout=10) as s:
            s.sendall(b"POST /b HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1\r\n"
                      b"Connection: close\r\n\r\nx")
            answer = recv_until_close(s, timeout=10)
        assert answer.startswith(b"HTTP/1.1 503 Service Unavailable\r\n"), answer[:200]
        assert answer.endswith(
            b'{"ok": false, "error": "capture not durable: syncing the database failed"}')
        assert seen == [1]  # in the database: the live view and the stream show it
        gate.remove()  # the disk answers again, but this store takes nothing more
        with pytest.raises(StoreError, match=r"syncing the database to disk failed \(.*Input/"
                                             r"output error\): nothing more is stored"):
            lab.store.add(rec())
        status, answer = post(f"{lab.url}/b", b"y")
        assert status == 503 and b"capture not stored: StoreError" in answer
        assert committed(path) == 1
        # reading still works: an export (which starts with a flush) has what was committed
        for fmt in ("jsonl", "har", "csv", "parquet"):
            assert lab.export(tmp_path / f"out.{fmt}", fmt=fmt) == 1, fmt


def test_one_sync_covers_what_was_committed_while_the_last_one_ran(tmp_path: Path) -> None:
    """Group commit for the disk too, answers in commit order."""
    with gated(tmp_path / "s.sqlite3") as (store, gate):
        order: list[int] = []
        first = store.add(rec("/first"), on_done=lambda cap: order.append(cap.id))
        assert gate.entered.wait(10)
        futures = []
        for i in range(200):  # several writer batches while the first sync is held
            futures.append(store.add(rec(f"/n/{i}"), on_done=lambda cap: order.append(cap.id)))
            if i % 50 == 0:
                time.sleep(0.02)
        deadline = time.monotonic() + 10
        while committed(store.path) < 201 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert committed(store.path) == 201 and not any(f.done() for f in futures)
        gate.go.set()
        assert first.result(10).id == 1
        assert [f.result(10).id for f in futures] == list(range(2, 202))
        assert order == list(range(1, 202))
        assert gate.calls == 2  # the held one, then one for everything behind it


def test_close_answers_what_is_still_queued(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    store = CaptureStore(path)
    futures = [store.add(rec(f"/c/{i}")) for i in range(500)]
    store.close()
    assert [f.result(0).id for f in futures] == list(range(1, 501))
    assert not store._sync.thread.is_alive()
    with CaptureStore(path, readonly=True) as again:
        assert again.count() == 500


def _inode(path: str) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_dev, st.st_ino


@pytest.mark.parametrize("how", ["absolute", "relative", "symlinked dir", "spaces and é",
                                 "dot segments"])
def test_the_file_synced_is_the_databases_own_wal(tmp_path: Path, monkeypatch, how: str) -> None:
    real = tmp_path / "real dir"
    real.mkdir()
    monkeypatch.chdir(tmp_path)
    name = "captures é 1.sqlite3" if how == "spaces and é" else "c.sqlite3"
    if how == "relative":
        given = f"real dir/{name}"
    elif how == "symlinked dir":
        (tmp_path / "link").symlink_to(real, target_is_directory=True)
        given = str(tmp_path / "link" / name)
    elif how == "dot segments":
        given = f"./real dir/../real dir/{name}"
    else:
        given = str(real / name)
    store = CaptureStore(given)
    try:
        monkeypatch.chdir("/")  # a notebook's %cd: the syncer's path must not depend on it
        store.add_sync(rec())
        assert store._sync is not None
        assert _inode(store._sync.path) == _inode(str(real / name) + "-wal")
        st = os.fstat(store._sync._fd)
        assert (st.st_dev, st.st_ino) == _inode(str(real / name) + "-wal")
        assert store._wdb.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    finally:
        store.close()


@pytest.mark.parametrize("kw", [{"durability": "normal"}, {"path": ":memory:"}])
def test_no_syncer_where_sqlite_syncs_or_nothing_is_on_disk(tmp_path: Path, kw: dict) -> None:
    store = CaptureStore(kw.pop("path", tmp_path / "s.sqlite3"), **kw)
    try:
        assert store._sync is None
        seen: list[str] = []
        store.subscribe(lambda cap: seen.append(threading.current_thread().name))
        assert store.add_sync(rec()).id == 1
        assert seen == ["hooklab-writer"]  # answered right after COMMIT, as before
    finally:
        store.close()


def test_a_removed_wal_is_an_error_not_a_sync(tmp_path: Path) -> None:
    """SQLite never removes the WAL while the store is open; if something else does (and
    even puts a new file there), SQLite keeps writing to the removed one, which a power cut
    takes with it: nothing may be acknowledged, and every later job hears of it too."""
    wal = tmp_path / "x.sqlite3-wal"
    wal.write_bytes(b"old")
    sync = WalSync(str(wal))
    try:
        wal.unlink()
        wal.write_bytes(b"new")
        results: list[OSError | None] = []
        done = threading.Event()
        sync.after_sync(results.append)
        sync.after_sync(lambda error: (results.append(error), done.set()))
        assert done.wait(10)
    finally:
        sync.close()
    assert [type(r) for r in results] == [FileNotFoundError, FileNotFoundError]
    assert "was removed while in use" in str(results[0])
    assert sync._fd == -1  # closed with the thread


def test_after_a_failed_sync_nothing_is_acknowledged_and_nothing_more_stored(tmp_path: Path) -> None:
    """Linux may mark pages it failed to write as clean, so a later sync can succeed without
    them and recovery would drop every commit behind the hole: a failure is final."""
    path = tmp_path / "s.sqlite3"
    with gated(path, fail=OSError(errno.EIO, "Input/output error")) as (store, gate):
        first = store.add(rec("/first"))
        assert gate.entered.wait(10)
        behind = store.add(rec("/behind"))  # committed while the failing sync runs
        deadline = time.monotonic() + 10
        while committed(path) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        gate.go.set()
        for fut in (first, behind):
            with pytest.raises(StoreError, match="syncing the database to disk failed"):
                fut.result(10)
        gate.remove()  # the disk answers again: still no acknowledgement from this store
        for write in (lambda: store.add(rec("/later")), store.clear,
                      lambda: store.add_many([rec("/bulk")])):
            with pytest.raises(StoreError, match="nothing more is stored until the store is"
                                                 " opened again"):
                write()
        store.flush()  # a barrier still (the captures carry the error): returns
        assert store._importing == 0
        assert committed(path) == 2
    with CaptureStore(path) as again:  # opened again: it stores (and acknowledges) again
        assert again.add_sync(rec("/again")).path == "/again"


def indexes(path: Path) -> list[str]:
    db = sqlite3.connect(path)
    try:
        return sorted(r[0] for r in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'captures'"
            " AND name NOT LIKE 'sqlite_%'"))
    finally:
        db.close()


def test_a_bulk_import_whose_sync_fails_is_not_reported_stored(tmp_path: Path) -> None:
    """Into an empty store the import drops the table's indexes and makes them again at the
    end: after a failed sync they are still made (they acknowledge nothing)."""
    path = tmp_path / "s.sqlite3"
    with CaptureStore(path, durability="normal"):
        pass
    expected = indexes(path)
    assert len(expected) == 6
    with gated(path, fail=OSError(errno.EIO, "Input/output error")) as (store, gate):
        gate.go.set()
        with pytest.raises(StoreError, match=r"syncing the database to disk failed.*"
                                             r"Input/output error"):
            store.add_many([rec(f"/bulk/{i}") for i in range(1000)])
        assert store._importing == 0
        assert indexes(path) == expected
        with pytest.raises(StoreError, match="nothing more is stored"):
            store.add_many([rec("/again")])
        assert store._importing == 0


def test_a_writer_waiting_for_room_is_refused_when_a_sync_fails(tmp_path: Path) -> None:
    """An add() waiting for room must not slip in after the failure frees the room."""
    from hooklab.store.store import QUEUE_BYTES

    path = tmp_path / "s.sqlite3"
    with gated(path, fail=OSError(errno.EIO, "Input/output error")) as (store, gate):
        body = b"x" * (1024 * 1024)
        outcome: list[BaseException | object] = []
        futures = [store.add(rec("/fill", body)) for _ in range(QUEUE_BYTES // len(body))]
        assert gate.entered.wait(10)

        def late() -> None:
            try:
                outcome.append(store.add(rec("/late", body)))
            except BaseException as exc:  # noqa: BLE001 - the expected refusal
                outcome.append(exc)

        t = threading.Thread(target=late)
        t.start()
        time.sleep(0.3)
        assert outcome == []  # waiting for room
        gate.go.set()
        t.join(20)
        assert not t.is_alive()
        assert isinstance(outcome[0], StoreError) and "nothing more is stored" in str(outcome[0])
        for f in futures:
            with pytest.raises(StoreError, match="syncing the database to disk failed"):
                f.result(10)
        db = sqlite3.connect(path)
        try:
            assert db.execute("SELECT COUNT(*) FROM captures WHERE path = '/late'").fetchone()[0] == 0
        finally:
            db.close()


@pytest.mark.parametrize("durability", ["full", "normal"])
def test_a_bulk_chunk_bigger_than_the_queue_is_stored(tmp_path: Path, durability: str) -> None:
    """A chunk closes once it holds 16 MiB, so one record can make it bigger than the whole
    queue (64 MiB): it is stored, not left waiting for its own room."""
    from hooklab.store.store import QUEUE_BYTES

    big = b"y" * (QUEUE_BYTES + 6 * 1024 * 1024)
    with CaptureStore(tmp_path / "s.sqlite3", durability=durability) as store:
        done: list[int] = []
        t = threading.Thread(target=lambda: done.append(
            store.add_many([rec("/small", b"x" * 1024), rec("/big", big)])))
        t.start()
        t.join(60)
        assert not t.is_alive(), "add_many hung"
        assert done == [2]
        assert [c.path for c in store.query(limit=5)] == ["/small", "/big"]
        assert len(store.get(2).body) == len(big)


def test_the_write_queue_counts_what_waits_for_the_disk(tmp_path: Path) -> None:
    """With the sync held, captures committed but not answered keep their room in the queue:
    memory stays bounded by QUEUE_BYTES (64 MiB) however long the disk takes."""
    from hooklab.store.store import QUEUE_BYTES, StoreBusy

    with gated(tmp_path / "b.sqlite3") as (store, gate):
        body = b"x" * (1024 * 1024)
        done: list[object] = []
        store.submit(rec("/first", body), done.append)
        assert gate.entered.wait(10)
        accepted = 1
        with pytest.raises(StoreBusy, match="write queue is full"):
            for _ in range(QUEUE_BYTES // len(body) + 8):  # bounded: refused well before
                store.submit(rec("/more", body), done.append)
                accepted += 1
        assert accepted == QUEUE_BYTES // len(body)
        assert done == []  # nothing answered while the sync is held
        gate.go.set()
        deadline = time.monotonic() + 20
        while len(done) < accepted and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(done) == accepted
        store.submit(rec("/room-again", body), done.append)  # answered: room given back
