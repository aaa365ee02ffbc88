"""CaptureStore on real SQLite files: durability, persistence, filters, retention, errors."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from _http import post

import hooklab
from hooklab import HookLab
from hooklab.store import CaptureStore, StoreError


def rec(path="/b", body=b"x", **kw):
    return {"method": "POST", "path": path, "body": body, **kw}


def test_wal_mode_and_default_location(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    lab = HookLab(port=0)
    try:
        lab.store.add_sync(rec())
        db = tmp_path / ".hooklab" / "captures.sqlite3"
        assert db.exists()
        mode = sqlite3.connect(db).execute("PRAGMA journal_mode").fetchone()[0]
        assert mode == "wal"
    finally:
        lab.stop()


def test_capture_is_committed_before_callback(tmp_path):
    path = tmp_path / "c.sqlite3"
    store = CaptureStore(path)
    seen = []

    def check(cap):
        # a separate connection sees the row: it is committed
        n = sqlite3.connect(path).execute("SELECT COUNT(*) FROM captures").fetchone()[0]
        seen.append((cap.id, n))

    store.add(rec(), on_done=check).result(5)
    store.close()
    assert seen == [(1, 1)]


def test_ids_continue_after_reopen_and_clear(tmp_path):
    path = tmp_path / "c.sqlite3"
    s = CaptureStore(path)
    ids = [s.add_sync(rec()).id for _ in range(3)]
    s.clear()
    ids.append(s.add_sync(rec()).id)
    s.close()
    s2 = CaptureStore(path)
    ids.append(s2.add_sync(rec()).id)
    assert ids == [1, 2, 3, 4, 5]
    assert [c.id for c in s2.query()] == [4, 5]
    s2.close()


def test_group_commit_batches_concurrent_writers(tmp_path):
    store = CaptureStore(tmp_path / "c.sqlite3")
    futures = []
    lock = threading.Lock()

    def writer(n):
        for i in range(200):
            f = store.add(rec(body=f"{n}:{i}".encode()))
            with lock:
                futures.append(f)

    ts = [threading.Thread(target=writer, args=(n,)) for n in range(5)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    caps = [f.result(10) for f in futures]
    assert len({c.id for c in caps}) == 1000
    assert store.count() == 1000
    store.close()


def test_filters_and_since(tmp_path):
    s = CaptureStore(":memory:")
    a = s.add_sync(rec("/github/x", provider="github", event_type="push"))
    s.add_sync(rec("/stripe", provider="stripe", event_type="invoice.paid"))
    s.add_sync(rec("/github", method="GET"))
    assert s.count(bin="github") == 2
    assert s.count(provider="stripe") == 1
    assert s.count(method="get") == 1
    assert [c.path for c in s.query(since=a.id)] == ["/stripe", "/github"]
    later = datetime.now(timezone.utc) + timedelta(seconds=5)
    assert s.count(since=later) == 0
    with pytest.raises(TypeError, match="unknown capture filter 'colour'"):
        s.count(colour="red")
    s.close()


def test_duplicate_delivery_ids_are_flagged():
    s = CaptureStore(":memory:")
    first = s.add_sync(rec(provider="github", delivery_id="d-1"))
    again = s.add_sync(rec(provider="github", delivery_id="d-1"))
    other = s.add_sync(rec(provider="github", delivery_id="d-2"))
    assert (first.duplicate, again.duplicate, other.duplicate) == (False, True, False)
    s.close()


def test_subscribe_gets_every_capture_and_unsubscribes():
    s = CaptureStore(":memory:")
    got = []
    unsub = s.subscribe(got.append)
    s.add_sync(rec())
    unsub()
    s.add_sync(rec())
    assert [c.id for c in got] == [1]
    s.close()


def test_retention_by_count_is_off_by_default_and_works_when_set():
    s = CaptureStore(":memory:")
    for _ in range(600):
        s.add(rec())
    s.flush()
    assert s.count() == 600  # no silent cap
    s.close()
    r = CaptureStore(":memory:", retention_count=10)
    for _ in range(50):
        r.add(rec())
    r.flush()
    r._last_retention = 0
    r.add_sync(rec())
    assert r.count() == 10
    assert r.query()[-1].id == 51
    r.close()


def test_retention_by_age():
    s = CaptureStore(":memory:", retention_age=60)
    old = datetime.now(timezone.utc) - timedelta(minutes=5)
    s.add_sync(rec(received_at=old))
    s._last_retention = 0
    s.add_sync(rec())
    assert s.count() == 1
    s.close()


def test_corrupt_file_gives_clear_error_and_is_not_overwritten(tmp_path):
    bad = tmp_path / "bad.sqlite3"
    content = b"this is not a database at all" * 100
    bad.write_bytes(content)
    with pytest.raises(StoreError, match="bad.sqlite3"):
        CaptureStore(bad)
    assert bad.read_bytes() == content


def test_foreign_sqlite_database_is_refused(tmp_path):
    foreign = tmp_path / "app.db"
    con = sqlite3.connect(foreign)
    con.execute("CREATE TABLE users (id INTEGER)")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="not a hooklab capture database"):
        CaptureStore(foreign)
    tables = sqlite3.connect(foreign).execute("SELECT name FROM sqlite_master").fetchall()
    assert tables == [("users",)]


@pytest.mark.parametrize("readonly", [False, True])
def test_a_database_of_a_newer_hooklab_is_said_to_be_one(tmp_path, readonly):
    """It said "is a SQLite database but not a hooklab capture database" (tables: captures)."""
    db = tmp_path / "new.sqlite3"
    with CaptureStore(str(db)) as store:
        store.add_sync({"method": "POST", "path": "/x", "headers": [], "body": b"x"})
    con = sqlite3.connect(db)
    con.execute("UPDATE meta SET value = 'hooklab-captures-9' WHERE key = 'format'")
    con.commit()
    con.close()
    before = db.read_bytes()
    with pytest.raises(StoreError, match=r"written by a newer hooklab \(format 'hooklab-captures-9'; "
                                         r"this one reads .*\): upgrade hooklab"):
        CaptureStore(str(db), readonly=readonly)
    assert db.read_bytes() == before


def test_restart_on_same_database_keeps_captures(tmp_path):
    db = str(tmp_path / "c.sqlite3")
    lab = HookLab(port=0, db=db).start()
    post(lab.url_for("one"), b"1")
    lab.wait(1)
    lab.stop()
    lab2 = HookLab(port=0, db=db).start()
    try:
        assert [c.body for c in lab2.captures] == [b"1"]
        post(lab2.url_for("two"), b"2")
        caps = lab2.wait(2)
        assert [c.id for c in caps] == [1, 2]
    finally:
        lab2.stop()


def test_open_for_analysis_without_serving(tmp_path):
    db = str(tmp_path / "c.sqlite3")
    with HookLab(port=0, db=db) as lab:
        post(lab.url_for("github"), b'{"action": "opened"}', {"X-GitHub-Event": "issues"})
        lab.wait(1)
    opened = hooklab.open(db)
    try:
        assert not opened.is_running
        df = opened.dataframe()
        assert list(df["event_type"]) == ["issues.opened"]
    finally:
        opened.stop()
    with pytest.raises(FileNotFoundError):
        hooklab.open(tmp_path / "missing.sqlite3")


def test_wait_counts_existing_and_since(lab):
    post(lab.url_for("a"), b"1")
    first = lab.wait(1, timeout=5)[0]
    assert len(lab.wait(1, timeout=1)) == 1  # already there
    with pytest.raises(TimeoutError, match=r"1 capture\(s\) matching since=1; 0 matched"):
        lab.wait(1, timeout=0.3, since=first.id)
    threading.Timer(0.2, post, args=(lab.url_for("a"), b"2")).start()
    (new,) = lab.wait(1, timeout=5, since=first.id)
    assert new.body == b"2"


def test_wait_timeout_message_names_filters(lab):
    with pytest.raises(TimeoutError) as exc:
        lab.wait(2, timeout=0.2, bin="github", provider="github")
    msg = str(exc.value)
    assert "bin='github'" in msg and "provider='github'" in msg and "0 matched" in msg


def test_retention_keeps_exactly_the_newest_n_pass_after_pass(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Retention counted the n newest captures on every pass (70 ms a second at 590,000 kept:
    webhooks waited behind it) and deleted a big backlog in one transaction (7 s a webhook
    waited in a soak test). Now a pass deletes at most a chunk, counts only what was stored
    since the last one, and still keeps exactly the newest n: checked after every pass, also
    when n changes, after a clear, and with an age limit beside it."""
    import hooklab.store.store as store_module

    monkeypatch.setattr(store_module, "_RETENTION_CHUNK", 500)
    store = CaptureStore(str(tmp_path / "r.sqlite3"), durability="normal")

    def pass_once() -> None:
        store._last_retention = 0.0
        store.add_sync({"method": "POST", "path": "/r", "body": b"{}"})
        store.flush()  # (retention runs on the writer after that capture's commit)

    def ids() -> list[int]:
        return [c.id for c in store.query()]

    try:
        store.add_many([{"method": "POST", "path": "/r", "body": b"{}"} for _ in range(3000)])
        passes: list[int] = []  # captures each pass deleted
        real_delete = store._delete_where

        def counted(db: Any, where: str, args: list[Any]) -> int:
            n = real_delete(db, where, args)
            passes.append(n)
            return n

        monkeypatch.setattr(store, "_delete_where", counted)
        store.retention_count = 1000
        for _ in range(20):  # (a write may run several passes: every batch of the writer)
            pass_once()
            if len(ids()) == 1000:
                break
        assert len(ids()) == 1000 and sum(passes) > 2000 and max(passes) <= 500, passes
        assert len([n for n in passes if n]) >= 4
        last = store.last_id
        assert ids() == list(range(last - 999, last + 1))
        for batch in (1, 7, 250, 0):  # the captures stored since a pass: that many go
            if batch:
                store.add_many([{"method": "POST", "path": "/r", "body": b"{}"} for _ in range(batch)])
            pass_once()
            last = store.last_id
            assert ids() == list(range(last - 999, last + 1)), batch
        store.retention_count = 300  # n changes: counted from the newest (700 to delete:
        for _ in range(5):  # two chunks)
            pass_once()
            if len(ids()) == 300:
                break
        last = store.last_id
        assert ids() == list(range(last - 299, last + 1))
        store.retention_age = 3600.0  # beside an age limit (nothing that old here)
        pass_once()
        assert len(ids()) == 300
        store.clear()
        for _ in range(3):
            pass_once()
        assert len(ids()) == 3
    finally:
        store.close()


def test_retention_is_exact_once_webhooks_stop_and_old_captures_go_without_a_write(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A pass ran only after a write, at most once a second: a burst left 825 - 1,190 of a
    ``retention_count=500`` store for good, and ``retention_age`` deleted nothing while no
    webhook came. The upkeep thread now asks for the pass that is owed."""
    from _http import post_each

    lab = HookLab(port=0, db=str(tmp_path / "r.sqlite3"), retention_count=200).start()
    try:
        assert post_each(lab.bound_port, "/burst", (b"%d" % n for n in range(1500))) == [200] * 1500
        deadline = time.monotonic() + 10
        while len(lab.captures) != 200:
            assert time.monotonic() < deadline, len(lab.captures)
            time.sleep(0.1)
        assert [int(c.body) for c in lab.query()] == list(range(1300, 1500))
    finally:
        lab.stop()
    store = CaptureStore(str(tmp_path / "a.sqlite3"), retention_age=1.5)
    try:
        for n in range(5):
            store.add_sync({"method": "POST", "path": "/old", "body": b"%d" % n})
        deadline = time.monotonic() + 15
        while store.count():  # (nothing written after these)
            assert time.monotonic() < deadline, store.count()
            time.sleep(0.2)
    finally:
        store.close()


@pytest.mark.parametrize("rule", [{"retention_count": 3}, {"retention_age": 1.0}])
def test_retention_in_memory_also_once_webhooks_stop(rule) -> None:  # type: ignore[no-untyped-def]
    """(a new user) The README's 'also once webhooks stop coming' held for files only: a
    ``db=":memory:"`` lab (the pytest fixture's) has no upkeep thread, and kept all 6 of a
    burst with retention_count=3, and a capture 6 s old with retention_age=1, for good."""
    from _http import post_each

    lab = HookLab(port=0, db=":memory:", **rule).start()
    try:
        assert post_each(lab.bound_port, "/burst", (b"%d" % n for n in range(6))) == [200] * 6
        want = 3 if "retention_count" in rule else 0
        deadline = time.monotonic() + 10
        while len(lab.captures) != want:
            assert time.monotonic() < deadline, len(lab.captures)
            time.sleep(0.1)
        if want:
            assert [int(c.body) for c in lab.query()] == [3, 4, 5]
    finally:
        lab.stop()


def test_a_new_database_and_the_folders_made_for_it_are_private(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Captures hold bodies, headers and tokens: a database hooklab creates is its owner's
    alone (with its -wal and -shm) whatever the umask, in folders made 0700; a database or
    folder that already exists keeps its permissions."""
    import os
    import stat

    def mode(p) -> int:  # type: ignore[no-untyped-def]
        return stat.S_IMODE(os.stat(p).st_mode)

    old = os.umask(0o022)  # the usual umask: files 0644, folders 0755
    try:
        monkeypatch.chdir(tmp_path)
        lab = hooklab.start(port=0)  # the default database: .hooklab/captures.sqlite3
        try:
            assert post(lab.url + "/x", b"secret=42")[0] == 200
            lab.wait(1)
            db = tmp_path / ".hooklab" / "captures.sqlite3"
            assert mode(tmp_path / ".hooklab") == 0o700 and mode(db) == 0o600
            assert mode(f"{db}-wal") == 0o600 and mode(f"{db}-shm") == 0o600
        finally:
            lab.stop()
        nested = tmp_path / "a" / "b" / "c.sqlite3"
        with CaptureStore(str(nested)) as store:
            store.add_sync({"method": "POST", "path": "/x", "headers": [], "body": b"x"})
        assert [mode(p) for p in (tmp_path / "a", tmp_path / "a" / "b", nested)] == [0o700, 0o700, 0o600]
        shared = tmp_path / "shared"
        shared.mkdir(mode=0o755)
        with CaptureStore(str(shared / "team.sqlite3")):  # a database its owner shares
            pass
        os.chmod(shared / "team.sqlite3", 0o664)
        with CaptureStore(str(shared / "team.sqlite3")) as store:
            store.add_sync({"method": "POST", "path": "/x", "headers": [], "body": b"x"})
        assert mode(shared) == 0o755 and mode(shared / "team.sqlite3") == 0o664
    finally:
        os.umask(old)


def test_the_status_line_names_a_database_outside_the_working_folder_by_its_path(tmp_path, monkeypatch):
    """An absolute --db outside the working folder was shown as ``../../../abs.sqlite3``."""
    (tmp_path / "work" / "sub").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "work")
    outside, inside = HookLab(port=0, db=str(tmp_path / "abs.sqlite3")), HookLab(port=0, db="sub/c.sqlite3")
    try:
        assert outside.status_line() == f"hooklab stopped (db {tmp_path / 'abs.sqlite3'}, 0 captures)"
        assert inside.status_line() == "hooklab stopped (db sub/c.sqlite3, 0 captures)"
    finally:
        outside.stop()
        inside.stop()


def test_a_new_database_is_private_whatever_was_prepared_at_its_path(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A second attacker: a dangling link made SQLite create the file with the umask's 0644; a
    -wal planted beside a new database received its captures; an empty file someone else
    made in a shared folder was used as it was."""
    import os
    import stat

    def mode(p) -> int:  # type: ignore[no-untyped-def]
        return stat.S_IMODE(os.stat(p).st_mode)

    def fill(path) -> None:  # type: ignore[no-untyped-def]
        with CaptureStore(str(path)) as store:
            store.add_sync({"method": "POST", "path": "/x", "headers": [], "body": b"SECRET-BODY"})

    old = os.umask(0o022)
    try:
        real = tmp_path / "real.sqlite3"
        (tmp_path / "link.sqlite3").symlink_to(real)  # dangling
        fill(tmp_path / "link.sqlite3")
        assert mode(real) == 0o600
        empty = tmp_path / "empty.sqlite3"
        empty.touch()
        os.chmod(empty, 0o666)
        fill(empty)
        assert mode(empty) == 0o600
        planted = tmp_path / "planted.sqlite3"
        for side in ("-wal", "-shm", "-journal"):
            (tmp_path / f"planted.sqlite3{side}").write_bytes(b"not its own")
            os.chmod(tmp_path / f"planted.sqlite3{side}", 0o666)
        fill(planted)
        for side in ("", "-wal", "-shm"):
            p = tmp_path / f"planted.sqlite3{side}"
            assert not p.exists() or mode(p) == 0o600, side
        with CaptureStore(str(planted), readonly=True) as store:
            assert [c.body for c in store.query()] == [b"SECRET-BODY"]
        # (review) an existing database's -wal left 0666 after a clean close: made its own
        existing = tmp_path / "existing.sqlite3"
        fill(existing)
        (tmp_path / "existing.sqlite3-wal").write_bytes(b"planted")
        os.chmod(tmp_path / "existing.sqlite3-wal", 0o666)
        with CaptureStore(str(existing)) as store:  # (looked at while open: a close removes it)
            store.add_sync({"method": "POST", "path": "/x", "headers": [], "body": b"SECRET-BODY"})
            assert mode(tmp_path / "existing.sqlite3-wal") == 0o600
        # (review) a SQLite file with no tables yet is no database either
        import sqlite3 as sq

        blank = tmp_path / "blank.sqlite3"
        con = sq.connect(blank)
        con.execute("VACUUM")
        con.close()
        os.chmod(blank, 0o666)
        fill(blank)
        assert mode(blank) == 0o600
        if hasattr(os, "geteuid") and os.geteuid() == 0:  # another user's files: refused
            theirs = tmp_path / "theirs.sqlite3"
            theirs.touch()
            os.chown(theirs, 65534, 65534)
            with pytest.raises(StoreError, match="is an empty file of another user"):
                CaptureStore(str(theirs))
            assert theirs.stat().st_size == 0
            their_blank = tmp_path / "their-blank.sqlite3"
            con = sq.connect(their_blank)
            con.execute("VACUUM")
            con.close()
            os.chown(their_blank, 65534, 65534)
            with pytest.raises(StoreError, match="another user.s database|empty database of another user"):
                CaptureStore(str(their_blank))
            (tmp_path / "existing.sqlite3-wal").write_bytes(b"planted")
            os.chown(tmp_path / "existing.sqlite3-wal", 65534, 65534)
            with pytest.raises(StoreError, match="existing.sqlite3-wal' is another user's"):
                CaptureStore(str(existing))
            # (third attacker) a whole hooklab database another user made, 0666, in a shared
            # folder: writing captures into it is refused; reading it is not
            (tmp_path / "existing.sqlite3-wal").unlink()
            os.chown(existing, 65534, 65534)
            os.chmod(existing, 0o666)
            with pytest.raises(StoreError, match="is another user's database.*hooklab.open"):
                CaptureStore(str(existing))
            with CaptureStore(str(existing), readonly=True) as store:
                assert store.count() == 2  # (fill() and the open above)
            opened = hooklab.open(str(existing))  # (review: it opened for writing, refused)
            assert len(opened.captures) == 2
            opened.stop()
    finally:
        os.umask(old)


@pytest.mark.parametrize("durability", ["full", "normal"])
def test_a_flush_with_nothing_queued_leaves_a_locked_database_alone(tmp_path, durability):
    """``flush()`` sent a marker through the writer, which opened a write transaction for
    it: with another connection in ``BEGIN IMMEDIATE`` (a ``sqlite3`` shell) an export, which
    starts with a flush, waited 5 s and failed with "database is locked" although it only
    reads. With nothing queued it returns at once; with captures queued it still waits for
    them (and their WAL sync) before returning."""
    db = str(tmp_path / "c.sqlite3")
    lab = HookLab(db=db, durability=durability)
    lab.store.add_sync(rec(body=b'{"n": 1}'))
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        lab.store.flush()  # (raised "database is locked" after SQLite's 5 s busy wait)
        assert lab.export(str(tmp_path / "out.jsonl"), fmt="jsonl") == 1  # (a user's export)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    futures = [lab.store.add(rec(body=b"%d" % i)) for i in range(200)]
    lab.store.flush()
    assert all(f.done() for f in futures) and lab.store.count() == 201
    lab.stop()


def _ids(path: Any) -> list[int]:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return [r[0] for r in con.execute("SELECT id FROM captures ORDER BY id")]
    finally:
        con.close()


def _settled(path: Any, want: int, seconds: float = 6.0) -> list[int]:
    """The ids once ``want`` are left (passes run about once a second), or as they are."""
    deadline = time.monotonic() + seconds
    ids = _ids(path)
    while len(ids) != want and time.monotonic() < deadline:
        time.sleep(0.05)
        ids = _ids(path)
    return ids


def test_retention_counts_right_when_another_process_stores_and_deletes_in_the_file(tmp_path):
    """Two labs on one file (two notebooks in one folder share .hooklab/captures.sqlite3),
    both with ``retention_count``: a pass counted from what it had kept at its last pass,
    blind to the other's rows and deletions, and deleted acknowledged captures it should keep
    (100, then 81, 70, 59...; after the other's clear(), one of ten new captures)."""
    db = tmp_path / "team.sqlite3"
    a = CaptureStore(str(db), retention_count=20)
    b = None
    try:
        for n in range(20):
            a.add_sync({"method": "POST", "path": "/a", "body": b"%d" % n})
        time.sleep(1.2)  # (a's pass after its last write: what it keeps from then)
        b = CaptureStore(str(db), retention_count=20)
        for _ in range(3):
            for _n in range(5):
                b.add_sync({"method": "POST", "path": "/b", "body": b"b"})
            ids = _settled(db, 20)
            a.add_sync({"method": "POST", "path": "/a", "body": b"a"})
            time.sleep(1.5)  # (each side's next pass)
            ids = _settled(db, 20)
            assert ids == list(range(ids[-1] - 19, ids[-1] + 1)), ids  # the newest 20
        b.clear()
        for n in range(10):  # (under the 20 kept: every one stays)
            a.add_sync({"method": "POST", "path": "/a", "body": b"after %d" % n})
        time.sleep(1.5)
        assert len(_settled(db, 10)) == 10
    finally:
        a.close()
        if b is not None:
            b.close()


@pytest.mark.parametrize("setting", ["count", "age"])
def test_retention_set_on_a_serving_lab_applies_without_a_webhook(tmp_path, setting):
    """``lab.retention_count = 5`` (or ``%config``) on a lab already serving did nothing
    until the next webhook came; the README says retention trims once webhooks stop too."""
    lab = HookLab(port=0, db=str(tmp_path / "c.sqlite3")).start()
    try:
        for n in range(20):
            assert post(lab.url_for("x"), b"%d" % n)[0] == 200
        lab.wait(20, timeout=10)
        time.sleep(1.2)
        if setting == "count":
            lab.retention_count = 5
        else:
            lab.retention_age = 0.5
        deadline = time.monotonic() + 6
        want = 5 if setting == "count" else 0
        while len(lab.captures) != want and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(lab.captures) == want
    finally:
        lab.stop()


def test_retention_trims_a_bulk_import_without_a_webhook(tmp_path):
    """``store.add_many`` into a lab with ``retention_count``: 50 imported stayed 50 (55
    with the webhooks before) until the next webhook came; trimmed within a second now."""
    lab = HookLab(port=0, db=str(tmp_path / "c.sqlite3"), retention_count=20).start()
    try:
        lab.store.add_many([{"method": "POST", "path": "/i", "body": b"%d" % n}
                            for n in range(50)])
        deadline = time.monotonic() + 6
        while len(lab.captures) != 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [c.body for c in lab.captures] == [b"%d" % n for n in range(30, 50)]
    finally:
        lab.stop()


@pytest.mark.parametrize("setting", ["count", "age"])
def test_retention_turned_on_for_an_idle_memory_lab_applies(setting):
    """A ``:memory:`` lab's writer, idle with retention off, waited without end: turning
    retention on (``%config``, ``lab.retention_count = 10``) did nothing until a webhook."""
    lab = HookLab(port=0, db=":memory:").start()
    try:
        for n in range(30):
            assert post(lab.url_for("m"), b"%d" % n)[0] == 200
        lab.wait(30, timeout=10)
        if setting == "count":
            lab.retention_count = 10
        else:
            time.sleep(0.3)
            lab.retention_age = 0.2
        want = 10 if setting == "count" else 0
        deadline = time.monotonic() + 5
        while len(lab.captures) != want and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(lab.captures) == want
    finally:
        lab.stop()


@pytest.mark.parametrize(("name", "value"), [("retention_count", -1), ("retention_age", -5.0),
                                             ("retention_age", -0.001)])
def test_a_negative_retention_is_refused_not_a_deletion_of_everything(name, value):
    """``retention_count=-1`` (SQLite's ``OFFSET -1`` is 0) or ``retention_age=-5`` deleted
    every capture, acknowledged ones too, as they came."""
    from traitlets import TraitError

    with pytest.raises(TraitError):
        HookLab(port=0, db=":memory:", **{name: value})
    lab = HookLab(port=0, db=":memory:").start()
    try:
        with pytest.raises(TraitError):
            setattr(lab, name, value)
        assert post(lab.url_for("k"), b"kept")[0] == 200
        assert [c.body for c in lab.wait(1, timeout=10)] == [b"kept"]
    finally:
        lab.stop()


@pytest.mark.parametrize("age", [1e12, 1e18, 1e300, float(2**63)])
def test_a_retention_age_past_the_calendar_deletes_nothing_and_never_fails(tmp_path, age):
    """``retention_age=1e12`` (a typo, or "keep for ever" spelt big): every retention pass
    failed with OverflowError (``lab.store.retention_failing`` set, a log line every 5 s).
    Such an age deletes nothing, and a capture a year old beside it is kept too."""
    from datetime import datetime, timedelta, timezone

    lab = HookLab(port=0, db=str(tmp_path / "r.sqlite3"), retention_age=age).start()
    try:
        old = datetime.now(timezone.utc) - timedelta(days=365)
        assert lab.store.add_many([{"method": "POST", "path": "/old", "body": b"1",
                                    "received_at": old}]) == 1
        assert post(lab.url_for("k"), b"new")[0] == 200
        lab.wait(2, timeout=10)
        lab.store.retention_changed()  # (a pass now, as a changed setting asks for one)
        time.sleep(2.5)  # (passes run about once a second after writes)
        assert lab.store.retention_failing is None
        assert [c.path for c in lab.captures] == ["/old", "/k"]
    finally:
        lab.stop()
