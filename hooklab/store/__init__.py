"""The capture store: SQLite (WAL, group commit, bounded queue) and the queries over it.

>>> store = CaptureStore(":memory:")                        # doctest: +SKIP
>>> store.add({"method": "POST", "path": "/github", "body": b"{}"}).result()  # doctest: +SKIP
>>> CaptureView(store, bin="github")[-1].path              # doctest: +SKIP
'/github'
"""

from .store import CaptureStore, StoreError, where_clause
from .view import CaptureView

__all__ = ["CaptureStore", "CaptureView", "StoreError", "where_clause"]
