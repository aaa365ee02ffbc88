"""Store files of JSON bodies with their column segments sealed, for the ``flatten=True`` tests
(``test_flat_kept``, ``test_flat_refused_kept``, ``test_flat_big_ints``).

>>> store_of(path, [b'{"a": 1}'] * (SEG + 3))  # doctest: +SKIP
>>> copy_store(path, other)  # doctest: +SKIP
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from hooklab.frame import FLAT_KIND
from hooklab.store import CaptureStore

#: when the first capture came (one second apart)
T0 = datetime(2026, 6, 1, tzinfo=timezone.utc)
#: captures per column segment
SEG = 4096


def wait(ok: Any, timeout: float = 30) -> None:
    """Until ``ok()`` (bounded: then asserted)."""
    end = time.monotonic() + timeout
    while not ok() and time.monotonic() < end:
        time.sleep(0.05)
    assert ok()


def store_of(path: str, bodies: list[bytes], timeout: float = 60) -> None:
    """A store of JSON-typed captures with these bodies, its segments sealed (within
    ``timeout`` seconds)."""
    records = [{"method": "POST", "path": "/hook", "headers": [("Content-Type", "application/json")],
                "body": body, "received_at": T0 + timedelta(seconds=i)} for i, body in enumerate(bodies)]
    store = CaptureStore(path, durability="normal")
    try:
        assert store.add_many(records) == len(bodies)
        wait(lambda: len(store.summaries(FLAT_KIND)) == len(bodies) // SEG, timeout)
    finally:
        store.close()


def copy_store(src: str, dst: str) -> str:
    """A copy of store file ``src`` (closed: no hooklab has it open) at ``dst``, its WAL
    checkpointed into it first: a store built once serves several tests, each on its own copy,
    instead of each building it again."""
    db = sqlite3.connect(src)
    try:
        busy, _, _ = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        assert busy == 0, f"{src} is still in use"
    finally:
        db.close()
    assert not os.path.exists(src + "-wal") or os.path.getsize(src + "-wal") == 0
    shutil.copyfile(src, dst)
    return dst
