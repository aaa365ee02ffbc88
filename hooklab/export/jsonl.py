"""Import JSON Lines exports (``lab.export(path, fmt="jsonl")``) back into a lab, streaming.

>>> old = hooklab.load_jsonl("captures.jsonl")             # doctest: +SKIP
>>> old.dataframe().groupby("event_type").size()           # doctest: +SKIP

One capture per line, as the export writes it (``body_b64`` holds the exact body); the file
is read a line at a time and stored thousands of rows per transaction, so a million captures
import in seconds with memory that does not grow with the file. Captures keep their provider,
event type, status and verification.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

__all__ = ["read_jsonl"]


def _text(value: Any, what: str, default: str = "") -> str:
    if value is None:
        return default
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a string, got {type(value).__name__}")
    return value


def _record(d: Any) -> dict[str, Any]:
    if not isinstance(d, dict):
        raise TypeError("a line is not an object")
    when = d.get("received_at")
    received = datetime.now(timezone.utc)
    if isinstance(when, str) and when:
        received = datetime.fromisoformat(when.replace("Z", "+00:00"))
        if received.tzinfo is None:
            received = received.replace(tzinfo=timezone.utc)
    query = d.get("query") or {}
    headers = d.get("headers") or []
    if not isinstance(query, dict) or not isinstance(headers, list):
        raise TypeError("query must be an object and headers a list")
    status = int(d.get("status") or 200)
    if not 0 <= status <= 999:
        raise ValueError(f"status {status} is not an HTTP status")
    record: dict[str, Any] = {
        "received_at": received,
        "method": _text(d.get("method"), "method", "GET").upper(),
        "path": _text(d.get("path"), "path", "/") or "/",
        "query": {_text(k, "query name"): [_text(v, "query value") for v in vs] for k, vs in query.items()},
        "headers": [(_text(h[0], "header name"), _text(h[1], "header value")) for h in headers],
        "body": base64.b64decode(_text(d.get("body_b64"), "body_b64"), validate=True),
        "remote_addr": _text(d.get("remote_addr"), "remote address"),
        "url": _text(d.get("url"), "url"),
        "status": status,
        "kind": _text(d.get("kind"), "kind", "http") or "http",
    }
    for key in ("provider", "event_type", "delivery_id", "verify_reason"):
        if d.get(key) is not None:
            record[key] = _text(d[key], key)
    if d.get("verified") is not None:
        record["verified"] = bool(d["verified"])
    return record


def read_jsonl(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """Capture records from a JSON Lines export, one line at a time (blank lines skipped).

    Raises ``ValueError`` naming the file and line when a line is malformed.
    """
    import orjson

    name = os.fspath(path)
    with open(path, "rb") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                yield _record(orjson.loads(line))
            except (orjson.JSONDecodeError, TypeError, ValueError, KeyError, IndexError,
                    OverflowError, binascii.Error) as exc:  # fmt: skip
                raise ValueError(f"{name!r}: line {number} is not a capture ({exc})") from None
