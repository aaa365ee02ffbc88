"""The capture store: SQLite (WAL, group commit, bounded queue) and the queries over it.

>>> from hooklab.capture import new_record
>>> store = CaptureStore(":memory:")
>>> store.add(new_record("POST", "/github/push", [], b"{}")).result(timeout=10)
<Capture #1 POST /github/push 200 2B at ...>
>>> CaptureView(store, bin="github")[-1].path
'/github/push'
>>> store.close()
"""

from ._arrow import arrow_pool, duckdb_module
from ._columns import read_segment
from ._segments import DamagedSegment, inflate, section_encoding, section_encodings
from .store import (
           CaptureStore,
           DiskFull,
           ImportFailed,
           ImportInterrupted,
           ImportNotWritten,
           NotDurable,
           RowMaker,
           StoreError,
           new_paths,
           read_only_uri,
           remove_new_paths,
           where_clause,
           write_error,
)
from .view import CaptureView

__all__ = ["CaptureStore", "CaptureView", "DamagedSegment", "DiskFull", "ImportFailed", "ImportInterrupted", "ImportNotWritten", "NotDurable", "RowMaker", "StoreError",
           "arrow_pool", "duckdb_module", "inflate", "new_paths", "read_only_uri", "read_segment",
           "remove_new_paths", "section_encoding", "section_encodings", "where_clause",
           "write_error"]
