"""Capture rows prepared once per test module, for stores that repeat most of their captures
(``test_flatten_null_objects``: 36 stores of the same 4,100 filler captures, a few of each
store's own among them).

``CaptureStore.add_many`` detects each record and makes its INSERT values (``RowMaker``)
before storing it: about a third of a store's build. The same record always makes the same
row, so here a row is made once per record (its body, headers and time) and each store that
holds the record stores that row with ``add_rows``, which stores prepared rows as ``add_many``
stores records (stores without secrets: nothing to verify).

>>> rows = Rows(T0)
>>> store.add_rows([rows.of(body, headers, i) for i, (body, headers) in enumerate(sent)])  # doctest: +SKIP
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from hooklab.store import RowMaker

__all__ = ["Rows"]


class Rows:
    """The rows of ``POST /hook`` captures, the i-th received at ``t0`` + i seconds, each made
    once."""

    def __init__(self, t0: datetime) -> None:
        self.t0 = t0
        self._make = RowMaker()
        self._made: dict[tuple[bytes, tuple[tuple[str, str], ...], int], list[Any]] = {}

    def of(self, body: bytes, headers: list[tuple[str, str]], i: int) -> list[Any]:
        key = (body, tuple(headers), i)
        row = self._made.get(key)
        if row is None:
            row = self._made[key] = self._make({
                "method": "POST", "path": "/hook", "headers": list(headers), "body": body,
                "received_at": self.t0 + timedelta(seconds=i)})
        return list(row)  # (a copy: the import holds on to it)
