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
    the query cannot slip in; with a datetime ``until=`` of the person's own, skipped by an
    offset that is checked after the read), so pages stay stable while webhooks keep
    arriving. The filter box is the store's ``search=`` filter, so its totals are exact, not a
    scan's estimate.
    """
    newer = 0
    until = eff.get("until")
    if anchor is not None:
        since = eff.get("since")
        after = max(anchor, since) if isinstance(since, int) else anchor
        newer = store.count(**{**eff, "since": after})
    if anchor is None or not isinstance(until, datetime):
        if anchor is not None:  # rows up to the anchor, whatever arrives meanwhile
            eff = {**eff, "until": anchor if until is None else min(until, anchor)}
        total = store.count(**eff)
        rows = store.query(limit=max_rows, offset=page * max_rows, newest_first=True, **eff)
        return rows, total, newer
    # a person's own datetime ``until``: the newer rows are skipped by an offset, right only if
    # none arrived while the page was read: counted again after, and read again if one did
    for _ in range(_TRIES):
        total = store.count(**eff) - newer
        rows = store.query(limit=max_rows, offset=newer + page * max_rows, newest_first=True, **eff)
        again = store.count(**{**eff, "since": after})
        if again == newer:
            break
        newer = again
    return rows, total, newer


#: reads of a page with a datetime ``until`` while webhooks keep arriving, at most
_TRIES = 5
