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
    are counted but skipped (read as ``until=anchor``, so one arriving between the count and
    the query cannot slip in), so pages stay stable while webhooks keep arriving. The filter
    box is the store's ``search=`` filter, so its totals are exact, not a scan's estimate.
    """
    newer = 0
    skip = page * max_rows
    if anchor is not None:
        since = eff.get("since")
        after = max(anchor, since) if isinstance(since, int) else anchor
        newer = store.count(**{**eff, "since": after})
        until = eff.get("until")
        if until is None or isinstance(until, int):  # rows up to the anchor, whatever arrives
            eff = {**eff, "until": anchor if until is None else min(until, anchor)}
        else:  # a datetime ``until`` of the person's own: skip what was newer at the count
            skip += newer
            total = store.count(**eff) - newer
            return store.query(limit=max_rows, offset=skip, newest_first=True, **eff), total, newer
    total = store.count(**eff)
    rows = store.query(limit=max_rows, offset=skip, newest_first=True, **eff)
    return rows, total, newer
