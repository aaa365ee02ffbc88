"""``lab.captures``: a live, read-only sequence over a capture store."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, overload

from ..capture import Capture, n_captures

if TYPE_CHECKING:
    from .store import CaptureStore

__all__ = ["CaptureView"]


class CaptureView(Sequence[Capture]):
    """``lab.captures``: a live, read-only sequence over the store, oldest first."""

    def __init__(self, store: CaptureStore, **filters: Any) -> None:
        self._store = store
        self._filters = filters

    def __len__(self) -> int:
        return self._store.count(**self._filters)

    @overload
    def __getitem__(self, i: int) -> Capture: ...
    @overload
    def __getitem__(self, i: slice) -> list[Capture]: ...
    def __getitem__(self, i: int | slice) -> Capture | list[Capture]:
        if isinstance(i, slice):
            return self._store.query(**self._filters)[i]
        i = int(i)
        # from the nearer end, through the id order: [-1] costs one index step on any size
        got = (
            self._store.query(limit=1, offset=-i - 1, newest_first=True, **self._filters)
            if i < 0
            else self._store.query(limit=1, offset=i, **self._filters)
        )
        if not got:
            raise IndexError("capture index out of range")
        return got[0]

    def __iter__(self) -> Iterator[Capture]:
        return iter(self._store.query(**self._filters))

    def __repr__(self) -> str:
        return f"<{n_captures(len(self))}>"
