"""A capture's answered status recorded after it was stored (``CaptureStore.record_status``,
the server's when a delayed answer is written or an answer never is): every read sees the new
one, column segments too, on a real SQLite file."""

from __future__ import annotations

import sqlite3
import time

from hooklab.store import CaptureStore

_SEG = 4096  # (captures per column segment)


def _fill(store: CaptureStore, n: int) -> None:
    for f in [store.add({"method": "POST", "path": f"/s/{i}", "body": b"x", "status": 200})
              for i in range(n)]:
        f.result(30)


def _statuses(store: CaptureStore, ids: list[int]) -> tuple[list[int], list[int], list[int]]:
    """The statuses of ``ids`` as a frame's columns, a query and ``get`` read them."""
    table = store.columns()
    by_id = dict(zip(table.column("id").to_pylist(), table.column("status").to_pylist(), strict=True))
    queried = {c.id: c.status for c in store.query()}
    return ([by_id[i] for i in ids], [queried[i] for i in ids], [store.get(i).status for i in ids])


def test_a_status_recorded_later_is_read_everywhere_sealed_segment_or_not(tmp_path) -> None:
    store = CaptureStore(tmp_path / "s.sqlite3", durability="normal")
    told: list[int] = []
    store.subscribe(lambda _cap: None, on_status=told.append)
    try:
        _fill(store, _SEG + 10)
        deadline = time.monotonic() + 30
        while store._behind() and time.monotonic() < deadline:  # the first segment sealed
            time.sleep(0.05)
        assert store._segments_upto == _SEG
        # (id, status): in the sealed segment, at its edges, and after it (no segment yet)
        changes = [(1, 0), (7, 503), (_SEG, 0), (_SEG + 1, 201), (_SEG + 10, 0)]
        for cid, status in changes:
            store.record_status(cid, status)
        store.flush()
        ids = [cid for cid, _ in changes] + [2, _SEG - 1, _SEG + 2]
        expected = [s for _, s in changes] + [200, 200, 200]
        assert _statuses(store, ids) == (expected, expected, expected)
        assert sorted(told) == sorted(cid for cid, _ in changes)
        assert store.count() == _SEG + 10  # (every capture stays stored)
    finally:
        store.close()
    again = CaptureStore(tmp_path / "s.sqlite3")
    try:
        assert _statuses(again, ids) == (expected, expected, expected)
    finally:
        again.close()


def test_a_segment_read_before_a_status_changed_is_not_kept(tmp_path) -> None:
    """The upkeep thread encodes a segment from its own connection; a status recorded
    before the writer stores it makes it stale: it is dropped (read again later), and frames
    stay exact."""
    path = tmp_path / "s.sqlite3"
    store = CaptureStore(path, durability="normal")
    try:
        store._upkeep._sealing = True  # (the upkeep thread seals nothing of its own here)
        _fill(store, _SEG + 10)

        def encoded_now() -> tuple:
            epoch = store._status_epoch  # (read before the rows, as the upkeep thread does)
            reader = sqlite3.connect(path)
            try:
                return store._encode_segment(reader, 0), epoch
            finally:
                reader.close()

        def segments() -> int:
            with store.read_connection() as db:
                return db.execute("SELECT COUNT(*) FROM segments").fetchone()[0]

        stale, epoch = encoded_now()
        assert stale is not None and stale[1:4] == (1, _SEG, _SEG)
        store.record_status(3, 0)
        store.flush()
        store._enqueue({"__segment__": stale, "epoch": epoch}, None, None)
        store.flush()
        assert segments() == 0
        assert _statuses(store, [3, 4]) == ([0, 200], [0, 200], [0, 200])
        fresh, epoch = encoded_now()  # (read after the change: kept, and says it)
        store._enqueue({"__segment__": fresh, "epoch": epoch}, None, None)
        store.flush()
        assert segments() == 1 and store._segments_upto == _SEG
        assert _statuses(store, [3, 4]) == ([0, 200], [0, 200], [0, 200])
    finally:
        store.close()
