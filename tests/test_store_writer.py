"""The store's write path on real SQLite files: batches, their failures, the upkeep thread.

A batch of live captures is inserted in a few statements; these tests hold the writer at
the start of its first batch so that what is queued meanwhile is written as one batch, and
check what each capture became with expected values (with either durability: "full" answers
after a WAL sync on a thread of its own, "normal" right after the commit).
"""

from __future__ import annotations

import json
import os
import random
import re
import string
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from hooklab.filters import search_line, search_words
from hooklab.providers.detect import parse_json
from hooklab.store import CaptureStore


def rec(path: str = "/b", body: bytes = b"x", **kw: object) -> dict:
    return {"method": "POST", "path": path, "body": body, **kw}


class Held:
    """Holds the store's writer at the start of its first batch until released."""

    def __init__(self, store: CaptureStore) -> None:
        self.entered = threading.Event()
        self.go = threading.Event()
        self.sizes: list[int] = []  # of the batches written while held
        write_batch = store._write_batch

        def held(batch: list) -> None:
            self.sizes.append(len(batch))
            if not self.entered.is_set():
                self.thread = threading.current_thread()
                self.entered.set()
                assert self.go.wait(30), "the test never released the writer"
            write_batch(batch)

        store._write_batch = held  # (looked up on the instance by the writer loop)

    def release(self) -> None:
        self.go.set()  # (the wrapper stays: it goes on counting the batches)


def one_batch(store: CaptureStore, records: list[dict]) -> list:
    """Queue ``records`` while the writer is held, so they are written as one batch."""
    held = Held(store)
    store.add(rec("/first"))
    assert held.entered.wait(10)
    assert held.thread is store._writer
    futures = [store.add(r) for r in records]
    held.release()
    results = []
    for f in futures:
        try:
            results.append(f.result(10))
        except Exception as exc:  # noqa: BLE001 - the expected failures are returned
            results.append(exc)
    assert held.sizes[:2] == [1, len(records)]  # "/first", then all of them at once
    return results


@pytest.mark.parametrize("durability", ["full", "normal"])
def test_a_bad_record_fails_alone_and_the_batch_keeps_its_order(tmp_path, durability):
    store = CaptureStore(tmp_path / "s.sqlite3", durability=durability)
    try:
        records = [rec(f"/ok/{i}") for i in range(5)]
        records.insert(2, rec("/bad", provider={"not": "a string"}))  # SQLite cannot bind it
        results = one_batch(store, records)
        # (sqlite3's error for a value it cannot bind: ProgrammingError from Python 3.11,
        # InterfaceError before)
        names = [type(r).__name__ for r in results]
        names[2] = "ProgrammingError" if names[2] == "InterfaceError" else names[2]
        assert names == ["Capture", "Capture", "ProgrammingError", "Capture", "Capture", "Capture"]
        assert [r.id for r in results if not isinstance(r, Exception)] == [2, 3, 4, 5, 6]
        assert [r.path for r in results if not isinstance(r, Exception)] == [
            "/ok/0", "/ok/1", "/ok/2", "/ok/3", "/ok/4"]
        stored = [(c.id, c.path) for c in store.query(limit=10)]
        assert stored == [(1, "/first"), (2, "/ok/0"), (3, "/ok/1"), (4, "/ok/2"), (5, "/ok/3"),
                          (6, "/ok/4")]
    finally:
        store.close()


@pytest.mark.parametrize("durability", ["full", "normal"])
def test_duplicates_within_one_batch_and_against_the_table(tmp_path, durability):
    store = CaptureStore(tmp_path / "s.sqlite3", durability=durability)
    try:
        gh = {"X-GitHub-Event": "push", "X-GitHub-Delivery": "d-1"}
        first = store.add_sync(rec("/gh", b"{}", headers=list(gh.items())))
        assert (first.provider, first.delivery_id, first.duplicate) == ("github", "d-1", False)
        other = dict(gh, **{"X-GitHub-Delivery": "d-2"})
        results = one_batch(store, [
            rec("/gh", b"{}", headers=list(gh.items())),     # stored before: a duplicate
            rec("/gh", b"{}", headers=list(other.items())),  # new
            rec("/gh", b"{}", headers=list(other.items())),  # same batch, again: a duplicate
            rec("/plain", b"{}"),                            # no delivery id: never one
        ])
        assert [(r.delivery_id, r.duplicate) for r in results] == [
            ("d-1", True), ("d-2", False), ("d-2", True), (None, False)]
        again = {c.id: c.duplicate for c in store.query(limit=10)}
        assert again == {1: False, 2: False, 3: True, 4: False, 5: True, 6: False}
    finally:
        store.close()


@pytest.mark.parametrize("durability", ["full", "normal"])
def test_a_big_batch_spans_several_statements_with_consecutive_ids(tmp_path, durability):
    store = CaptureStore(tmp_path / "s.sqlite3", durability=durability)
    try:
        results = one_batch(store, [rec(f"/n/{i}", str(i).encode()) for i in range(237)])
        assert [r.id for r in results] == list(range(2, 239))
        assert all(r.body == str(r.id - 2).encode() for r in results)
        assert store.count() == 238
        assert store.count(search="n 236") == 1  # indexed in the same transaction
    finally:
        store.close()


def _wal(path: Path) -> int:
    wal = Path(str(path) + "-wal")
    return wal.stat().st_size if wal.exists() else 0


def test_the_upkeep_thread_keeps_the_wal_small(tmp_path):
    """WAL checkpoints run off the writer; without them this WAL would pass 40 MB."""
    path = tmp_path / "s.sqlite3"
    store = CaptureStore(path, durability="normal")
    try:
        body = json.dumps({"data": "y" * 1000}).encode()
        for _ in range(20):
            futures = [store.add(rec("/w", body)) for _ in range(1000)]
            for f in futures:
                f.result(30)
        assert store.count() == 20_000
        assert _wal(path) < 24 * 1024 * 1024, _wal(path)
        deadline = time.monotonic() + 30
        while store._behind() and time.monotonic() < deadline:  # segments are sealed too
            time.sleep(0.05)
        assert store._segments_upto == 16_384  # four segments of 4,096
    finally:
        store.close()
    assert not Path(str(path) + "-wal").exists()  # the last connection checkpointed it


def test_a_segment_read_before_a_deletion_is_not_kept(tmp_path):
    """The upkeep thread encodes a segment from its own connection; if captures are deleted
    before the writer stores it, it is dropped, and frames stay exact."""
    path = tmp_path / "s.sqlite3"
    store = CaptureStore(path, durability="normal")
    try:
        for f in [store.add(rec(f"/s/{i}")) for i in range(4096 + 10)]:
            f.result(30)
        import sqlite3

        reader = sqlite3.connect(path)
        encoded = store._encode_segment(reader, 0)
        reader.close()
        assert encoded is not None and encoded[1:4] == (1, 4096, 4096)
        store.clear()
        store.add(rec("/after")).result(10)
        store._enqueue({"__segment__": encoded}, None, None)
        store.flush()
        with store.read_connection() as db:
            assert db.execute("SELECT COUNT(*) FROM segments").fetchone()[0] == 0
        frame = store.columns()
        assert frame.column("path").to_pylist() == ["/after"]
        assert [c.path for c in store.query()] == ["/after"]
    finally:
        store.close()


# -- the words of the search index, and the JSON of detection ---------------------------------
_WORD = re.compile(r"[^\W_]+")


def _reference(text: str) -> list[str]:
    return _WORD.findall(text.lower())


@pytest.mark.parametrize("text", [
    "".join(chr(c) for c in range(128)),
    "Refund-42 OK_now", "", "___", "a_b-c.d/e", "ÄBC äbc straße", "x\u0130y", "日本語 テキスト",
    "tab\tnew\nline\r\x00nul", "MiXeD CaSe 123abc", "\x7f\x80\xff", "café-42", "½ ² ³ ٣",
])
def test_search_words_match_the_regex_they_replace(text):
    assert search_words(text) == _reference(text)
    assert search_line(text) == " ".join(_reference(text))


def test_search_words_on_random_text():
    rnd = random.Random(7)
    alphabet = string.printable + "_\x00\x7fé\u0130ß日"
    for _ in range(3000):
        text = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 40)))
        assert search_words(text) == _reference(text), text
        assert search_line(text) == " ".join(_reference(text)), text


@pytest.mark.parametrize("body", [
    b'{"id": 123456789012345678901234567890}',      # past 64 bits: orjson would give a float
    b'{"id": 18446744073709551615, "n": -9223372036854775808}',
    b'{"a": "\\ud800"}',                              # a lone surrogate
    b'{"a": NaN, "b": Infinity, "c": -Infinity}',
    b'\xef\xbb\xbf{"bom": 1}',
    b'{"a": 1, "a": 2}',
    b'[1.5, 1e400, -0, 0.1]',
    b'{"deep": ' + b"[" * 500 + b"]" * 500 + b"}",
    b'{"text": "caf\\u00e9 \\u65e5"}',
])
def test_parse_json_gives_what_the_standard_library_gives(body):
    expected = json.loads(body)
    got = parse_json(bytes(body))
    assert repr(got) == repr(expected)


@pytest.mark.parametrize("body", [b"{", b'{"a": }', b"[1,]", b'{"a": 1} x', b"\xff{}"])
def test_parse_json_refuses_what_the_standard_library_refuses(body):
    with pytest.raises(ValueError):
        json.loads(body)
    with pytest.raises(ValueError):
        parse_json(bytes(body))


def test_the_wal_file_is_not_left_by_a_reopened_store(tmp_path):
    path = tmp_path / "s.sqlite3"
    for round_ in range(3):
        store = CaptureStore(path)
        store.add_sync(rec(f"/r/{round_}"))
        store.close()
    assert not os.path.exists(str(path) + "-wal")
    store = CaptureStore(path, readonly=True)
    try:
        assert [c.path for c in store.query()] == ["/r/0", "/r/1", "/r/2"]
    finally:
        store.close()


def test_count_sees_captures_another_store_object_wrote(tmp_path):
    """A second notebook's ``hooklab.open(db)`` beside a running lab: counts follow the file."""
    path = tmp_path / "shared.sqlite3"
    writer = CaptureStore(path)
    reader = CaptureStore(path)
    try:
        writer.add_sync(rec("/a"))
        assert reader.count() == 1
        assert reader.count(bin="a") == 1
        for f in [writer.add(rec("/a")) for _ in range(4)] + [writer.add(rec("/b"))]:
            f.result(10)
        assert (reader.count(), reader.count(bin="a"), reader.count(bin="b")) == (6, 5, 1)
        reader.add_sync(rec("/b"))  # and its own, after the other's
        assert (reader.count(), writer.count(), writer.count(bin="b")) == (7, 7, 2)
    finally:
        reader.close()
        writer.close()


@pytest.mark.parametrize("content", [b"", None])
def test_reading_an_empty_or_missing_file_is_a_clear_error(tmp_path, content):
    from hooklab.store import StoreError

    path = tmp_path / "empty.sqlite3"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(StoreError, match="empty|does not exist"):
        CaptureStore(path, readonly=True)
    assert (path.read_bytes() if path.exists() else None) == content  # left as it was


def test_parse_json_keeps_a_small_body_for_the_next_check_but_not_a_big_one():
    import sys

    small = b'{"n": [1, 2, 3]}'
    assert parse_json(small) is parse_json(small)  # one request's checks parse it once
    big = b'{"pad": "' + b"x" * (2 << 20) + b'"}'
    refs = sys.getrefcount(big)
    assert parse_json(big) == {"pad": "x" * (2 << 20)}
    assert sys.getrefcount(big) == refs  # nothing keeps a 2 MiB body (and its objects) alive
    again = b'{"n": [1, 2, 3]}!'[:-1]
    refs = sys.getrefcount(again)
    parse_json(again)
    assert sys.getrefcount(again) == refs + 1  # a small one is kept until the next parse


@pytest.mark.parametrize("rule", ["count", "age"])
def test_a_count_read_while_retention_deletes_is_not_kept_past_its_commit(tmp_path, rule):
    """A count taken while retention's transaction is open still sees every row; once that
    transaction commits, the next count must see the rows gone (a full test run once read
    8,203 for 30 s after retention had kept 5,000: the remembered count outlived the delete)."""
    store = CaptureStore(str(tmp_path / "kept.sqlite3"))
    try:
        old = datetime(2020, 1, 1, tzinfo=timezone.utc)
        for i in range(12):  # 7 old, 5 recent
            store.add(rec(f"/{i}", received_at=old if i < 7 else datetime.now(timezone.utc)))
        store.flush(10)
        assert store.count() == 12
        assert store.count(path="/0") == 1
        inside, go = threading.Event(), threading.Event()
        real = store._delete_where

        def held(db, where, args):  # the writer, in retention's transaction, after its DELETE
            n = real(db, where, args)
            inside.set()
            assert go.wait(30), "the test never released the writer"
            return n

        store._delete_where = held
        if rule == "count":
            store.retention_count = 6  # the 12 and the one below: 7 go
        else:
            store.retention_age = 3600.0  # the 7 old ones go
        store._last_retention = 0.0
        store.add(rec("/last"))
        assert inside.wait(10)
        assert store.count() == 13  # not committed yet: every row is still there
        assert store.count(path="/0") == 1
        go.set()
        store.flush(10)
        assert store.count() == 6
        assert store.count(path="/0") == 0
        assert [c.path for c in store.query()] == ["/7", "/8", "/9", "/10", "/11", "/last"]
    finally:
        store.close()


def test_quiet_moment_work_runs_in_slices_and_steps_aside_for_captures(tmp_path) -> None:
    """``when_idle`` work: once nothing was written for a second, pieces one after another
    for at most a fifth of a second per wake-up; a capture stops it for a second; the
    store's own summary writes do not."""
    opened = time.monotonic()  # before the open: the store's own writes start its quiet clock
    store = CaptureStore(str(tmp_path / "idle.sqlite3"))
    calls: list[float] = []

    def work() -> bool:
        calls.append(time.monotonic())
        if len(calls) % 3 == 0:  # (its own summary writes now and then: still quiet)
            store.keep_summaries("test-1", [(1, 1, 1, b"x")])
        time.sleep(0.01)
        return True

    try:
        store.when_idle(work)
        deadline = time.monotonic() + 30
        while len(calls) < 40 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(calls) >= 40
        assert calls[0] - opened >= 0.99  # a quiet second first
        bursts: list[list[float]] = [[calls[0]]]
        for t in calls[1:40]:
            if t - bursts[-1][-1] > 0.5:
                bursts.append([t])
            else:
                bursts[-1].append(t)
        assert len(bursts) >= 2 and all(len(b) >= 2 for b in bursts[:-1])  # pieces back to back
        assert all(b[-1] - b[0] < 0.2 for b in bursts)  # no piece starts past the slice
        assert all(b2[0] - b1[-1] > 0.5 for b1, b2 in zip(bursts, bursts[1:], strict=False))
        store.add({"method": "POST", "path": "/in", "body": b"{}"}).result(10)
        store.flush(10)
        came = time.monotonic()
        n = len(calls)
        time.sleep(0.6)
        assert [t for t in calls[n:] if t > came] == []  # a capture: a quiet second again
        deadline = time.monotonic() + 10
        while len(calls) == n and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(calls) > n and calls[n] - came >= 0.4  # and then on
    finally:
        store.close()


@pytest.mark.parametrize("small", ["queued with it", "sent after its answer"])
def test_a_transaction_sqlite_gives_up_fails_the_whole_batch(tmp_path, small: str) -> None:
    """A full disk in the middle of a batch: SQLite rolls the transaction back, and the
    one-by-one retry then stored the small capture in autocommit while its sender got 503
    ("cannot commit - no transaction is active"). The batch now fails whole, with SQLite's
    error, and nothing of it is kept. (A page limit stands in for the full disk.)"""
    import threading

    from hooklab.store import CaptureStore

    s = CaptureStore(str(tmp_path / "c.sqlite3"))
    try:
        s.add_sync({"method": "POST", "path": "/a", "body": b"x"})
        (pages,) = s._wdb.execute("PRAGMA page_count").fetchone()
        s._wdb.execute(f"PRAGMA max_page_count = {pages + 40}")  # room for a small one only
        results: list = []
        done = threading.Event()

        def cb(r) -> None:  # type: ignore[no-untyped-def]
            results.append(r)
            if len(results) == 2:
                done.set()

        # (queued at once: nearly always one batch; if not, the same must hold)
        s.submit({"method": "POST", "path": "/a", "body": b"B" * 400_000}, cb)
        if small == "sent after its answer":  # (a batch of its own: stored, as there is room)
            for _ in range(200):
                if results:
                    break
                time.sleep(0.05)
            assert results and isinstance(results[0], Exception), results
        s.submit({"method": "POST", "path": "/a", "body": b"small"}, cb)
        assert done.wait(10)
        assert any(isinstance(r, Exception) and "database or disk is full" in str(r)
                   for r in results), results
        stored = {bytes(b) for (b,) in s._wdb.execute("SELECT body FROM captures WHERE id > 1")}
        answered = {r.body for r in results if not isinstance(r, Exception)}
        assert stored == answered  # nothing kept that was answered as not stored
        if small == "sent after its answer" or answered:  # (the small one came in a batch of
            # its own, after: stored, so writes work now; a loaded machine's writer may take
            # the first of two submits alone too)
            assert answered == {b"small"}
            assert s.failing is None and s.failure_count == 1
            assert "database or disk is full" in s.last_failure[0]
        else:
            assert s.failing is not None and "database or disk is full" in s.failing[0]
            s.flush()
            assert s.failing is not None  # (a flush stores no capture: still failing)
        s._wdb.execute("PRAGMA max_page_count = 1000000")
        s.add_sync({"method": "POST", "path": "/a", "body": b"again"})
        assert s.failing is None
    finally:
        s.close()


def test_each_time_writes_fail_is_counted_however_short(tmp_path) -> None:
    """``failing`` says only whether writes fail *now*: a reader looking every 0.2 s (``hooklab
    serve``) missed a failure over within that time. ``failure_count`` counts each time
    (several failed batches in a row are one time), ``last_failure`` keeps its words after.
    (A page limit stands in for the full disk.)"""
    s = CaptureStore(str(tmp_path / "c.sqlite3"))
    try:
        s.add_sync(rec("/a"))
        assert (s.failure_count, s.last_failure) == (0, None)
        (pages,) = s._wdb.execute("PRAGMA page_count").fetchone()
        for time_ in (1, 2):
            s._wdb.execute(f"PRAGMA max_page_count = {pages + 5}")
            for _ in range(2):  # (two failed writes, one after the other: one time)
                with pytest.raises(Exception, match="database or disk is full"):
                    s.add_sync(rec("/big", b"B" * 400_000))
            assert s.failure_count == time_ and s.failing is not None
            s._wdb.execute("PRAGMA max_page_count = 1000000")
            s.add_sync(rec("/a"))
            assert s.failing is None and s.failure_count == time_
            last = s.last_failure
            assert last is not None and "database or disk is full" in last[0]
            assert isinstance(last[1], datetime) and last[1].tzinfo is not None
    finally:
        s.close()


@pytest.mark.parametrize("durability", ["full", "normal"])
def test_a_bulk_import_tells_subscribers_each_capture_as_stored(tmp_path, durability):
    """``add_many`` while someone listens (a forward, the live view, a stream): building the
    captures it tells them of raised IndexError on the writer thread (a row one field short of
    what a capture is read from since ``stored_bin``), which ended the writer: the import
    never returned and no later capture was stored or answered."""
    store = CaptureStore(str(tmp_path / "c.sqlite3"), durability=durability)
    heard: list = []
    store.subscribe(heard.append)
    try:
        records = [rec("/orders/x", b'{"n": 1}'), rec("/a", b"\xff\x00", bin="echo", kind="ws"),
                   rec("/b?q=1", b"", headers=[("X-A", "1")])]
        assert store.add_many(records, notify=True) == 3
        ids = [c.id for c in heard]
        assert ids == [1, 2, 3]
        for c in heard:  # (what a reader gets of the same row)
            assert c == store.get(c.id), c
        assert [c.bin for c in heard] == ["orders", "echo", "b"]
        assert store.add_sync(rec("/after")).id == 4  # (the writer lives)
    finally:
        store.close()
