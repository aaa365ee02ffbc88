"""Which captures the live view shows: filters, paging and the pause anchor."""

from __future__ import annotations

from typing import Any

from ..capture import Capture
from ..store.store import CaptureStore


def fetch_rows(
    store: CaptureStore,
    eff: dict[str, Any],
    *,
    anchor: int | None,
    page: int,
    max_rows: int,
) -> tuple[list[Capture], int, int]:
    """(rows newest first, total matching, newer rows hidden by the anchor).

    ``anchor`` (a capture id) freezes the view while paused or paging: captures newer than it
    are counted but skipped, so pages stay stable while webhooks keep arriving. The filter
    box is the store's ``search=`` filter, so its totals are exact, not a scan's estimate.
    """
    newer = 0
    if anchor is not None:
        since = eff.get("since")
        after = max(anchor, since) if isinstance(since, int) else anchor
        newer = store.count(**{**eff, "since": after})
    total = store.count(**eff) - newer
    rows = store.query(limit=max_rows, offset=newer + page * max_rows, newest_first=True, **eff)
    return rows, total, newer
