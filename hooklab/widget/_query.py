"""Which captures the live view shows: Python filter twin, paging, free-text scan."""

from __future__ import annotations

from typing import Any

from ..capture import Capture
from ..store.store import CaptureStore
from . import _render as R

SCAN_LIMIT = 20_000  # rows scanned at most for a free-text search
_CHUNK = 500


def fetch_rows(
    store: CaptureStore,
    eff: dict[str, Any],
    *,
    anchor: int | None,
    page: int,
    max_rows: int,
    needle: str,
) -> tuple[list[Capture], int, int, bool]:
    """(rows newest first, total matching, newer rows hidden by the anchor, total is partial).

    ``anchor`` (a capture id) freezes the view while paused or paging: captures newer than it
    are counted but skipped, so pages stay stable while webhooks keep arriving.
    """
    newer = 0
    if anchor is not None:
        since = eff.get("since")
        after = max(anchor, since) if isinstance(since, int) else anchor
        newer = store.count(**{**eff, "since": after})
    start = page * max_rows
    if not needle:
        total = store.count(**eff) - newer
        rows = store.query(limit=max_rows, offset=newer + start, newest_first=True, **eff)
        return rows, total, newer, False
    found: list[Capture] = []
    offset = newer
    while offset - newer < SCAN_LIMIT:
        chunk = store.query(limit=_CHUNK, offset=offset, newest_first=True, **eff)
        found.extend(c for c in chunk if R.matches_text(c, needle))
        offset += len(chunk)
        if len(chunk) < _CHUNK:
            return found[start : start + max_rows], len(found), newer, False
    return found[start : start + max_rows], len(found), newer, True
