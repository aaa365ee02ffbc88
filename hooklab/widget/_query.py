"""Which captures the live view shows: filters, paging and the pause anchor."""

from __future__ import annotations

from datetime import datetime
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
    newer = hidden = 0  # hidden: newer rows still inside ``eff``, skipped by the offset
    if anchor is not None:
        since = eff.get("since")
        after = max(anchor, since) if isinstance(since, int) else anchor
        newer = store.count(**{**eff, "since": after})
        until = eff.get("until")
        if isinstance(until, datetime):  # a person's own datetime: skip what was newer
            hidden = newer
        else:  # rows up to the anchor, whatever arrives between the count and the query
            eff = {**eff, "until": anchor if until is None else min(until, anchor)}
    total = store.count(**eff) - hidden
    rows = store.query(limit=max_rows, offset=hidden + page * max_rows, newest_first=True, **eff)
    return rows, total, newer
