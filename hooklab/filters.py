"""The one filter vocabulary: which captures a call means, wherever filters are accepted.

``lab.wait``, ``lab.dataframe``, ``lab.live``, ``lab.captures``, the ``%hooklab`` magics, the
``/_hooklab/api/captures`` API and the ``/_hooklab/ws`` stream all take the same keywords:

========== ==========================================================================
key        meaning
========== ==========================================================================
bin        first path segment (``/github/x`` -> ``github``); a list means any of them
method     HTTP method, any case
provider   detected sender (``stripe``, ``github``, ...)
event_type e.g. ``invoice.paid``, ``pull_request.opened``
path       the exact path
kind       ``http`` (received), ``ws_in`` / ``ws_out`` (recorded WebSocket frames)
since      a capture id (newer ids only) or a datetime (received after it)
until      a datetime (received at or before it)
search     text anywhere in path, query, headers or body (case-insensitive)
========== ==========================================================================

>>> validate({"method": "post", "bin": None, "since": 3})
{'method': 'POST', 'since': 3}
>>> validate({"colour": "red"})
Traceback (most recent call last):
...
TypeError: unknown capture filter 'colour'; use one of bin, method, provider, event_type, path, kind, since, until, search
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .capture import Capture

__all__ = [
    "FIELD_KEYS",
    "FILTER_KEYS",
    "describe",
    "from_query",
    "matches",
    "matches_text",
    "validate",
]

#: filters that compare one capture field for equality (or membership, given a list)
FIELD_KEYS = ("bin", "method", "provider", "event_type", "path", "kind")
#: every filter key, in the order they are documented
FILTER_KEYS = (*FIELD_KEYS, "since", "until", "search")

_MULTI = (list, tuple, set, frozenset)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def validate(filters: Mapping[str, Any]) -> dict[str, Any]:
    """Check and normalise filters; ``None`` values are dropped. Raises ``TypeError``/``ValueError``."""
    out: dict[str, Any] = {}
    for key, value in filters.items():
        if value is None:
            continue
        if key not in FILTER_KEYS:
            raise TypeError(f"unknown capture filter {key!r}; use one of {', '.join(FILTER_KEYS)}")
        if key == "method":
            value = [str(v).upper() for v in value] if isinstance(value, _MULTI) else str(value).upper()
        elif key in FIELD_KEYS:
            if isinstance(value, _MULTI):
                value = [str(v) for v in value]
            elif not isinstance(value, str):
                raise TypeError(f"filter {key}= takes a string or a list of strings, not {value!r}")
        elif key == "since":
            if isinstance(value, bool) or not isinstance(value, (int, datetime)):
                raise TypeError(f"since= takes a capture id or a datetime, not {value!r}")
            value = _aware(value) if isinstance(value, datetime) else value
        elif key == "until":
            if not isinstance(value, datetime):
                raise TypeError(f"until= takes a datetime, not {value!r}")
            value = _aware(value)
        elif key == "search":
            if not isinstance(value, str):
                raise TypeError(f"search= takes text, not {value!r}")
            if not value:
                continue
        out[key] = value
    return out


def matches_text(cap: Capture, needle: str) -> bool:
    """Case-insensitive text match over path, query, headers and body (the ``search`` filter).

    Compressed bodies are searched in their decoded form too.
    """
    n = needle.lower()
    if n in cap.path.lower():
        return True
    if any(n in k.lower() or any(n in v.lower() for v in vs) for k, vs in cap.query.items()):
        return True
    if any(n in k.lower() or n in v.lower() for k, v in cap.headers):
        return True
    if n.encode("utf-8", "surrogateescape") in cap.body.lower():
        return True
    return n in cap.text.lower() if cap.header("content-encoding") else False


def matches(cap: Capture, filters: Mapping[str, Any]) -> bool:
    """Python twin of the store's SQL for validated ``filters`` (cheap test of one arrival)."""
    for key, want in filters.items():
        if key == "since":
            if isinstance(want, datetime):
                if cap.received_at <= want:
                    return False
            elif cap.id <= want:
                return False
        elif key == "until":
            if cap.received_at > want:
                return False
        elif key == "search":
            if not matches_text(cap, want):
                return False
        else:
            have = getattr(cap, key, None)
            if isinstance(want, list) and have not in want:
                return False
            if not isinstance(want, list) and have != want:
                return False
    return True


def from_query(get: Callable[[str], str | None]) -> dict[str, Any]:
    """Filters from URL query arguments (``?bin=github&since=12&search=refund``).

    ``get(name)`` returns the argument or ``None``. ``since`` is a capture id or an ISO 8601
    time, ``until`` an ISO 8601 time. Raises ``ValueError`` with a message fit for a 400.
    """
    raw: dict[str, Any] = {}
    for key in FILTER_KEYS:
        value = get(key)
        if value is None or value == "":
            continue
        if key == "since":
            raw[key] = int(value) if value.lstrip("-").isdigit() else _iso(value, key)
        elif key == "until":
            raw[key] = _iso(value, key)
        else:
            raw[key] = value
    try:
        return validate(raw)
    except TypeError as exc:
        raise ValueError(str(exc)) from None


def _iso(value: str, key: str) -> datetime:
    try:
        return _aware(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        raise ValueError(f"{key} must be a capture id or an ISO 8601 time, not {value!r}") from None


def describe(filters: Mapping[str, Any]) -> str:
    """``"bin='github', method='POST'"`` (``"no filters"`` when empty), for messages."""
    shown = {k: v for k, v in filters.items() if v is not None}
    return ", ".join(f"{k}={v!r}" for k, v in shown.items()) or "no filters"
