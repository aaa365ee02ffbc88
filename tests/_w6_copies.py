"""Copies of a store file built once per module, so that each test gets its own file without
filling a store again."""

from __future__ import annotations

import os
import shutil
import sqlite3


def checkpointed_copy(source: str, target: str) -> str:
    """Copy the SQLite file ``source`` (closed by every store that wrote it) to ``target``,
    its write-ahead log checkpointed into the main file first, so the one file is the whole
    database; returns ``target``."""
    db = sqlite3.connect(source)
    try:
        busy, _, _ = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        db.close()
    assert busy == 0, f"{source}: the write-ahead log could not be checkpointed"
    wal = source + "-wal"
    assert not os.path.exists(wal) or os.path.getsize(wal) == 0, f"{wal} is not empty"
    shutil.copy(source, target)
    return target
