"""Import JSON Lines exports (``lab.export(path, fmt="jsonl")``) back into a lab, streaming.

>>> lab.export("captures.jsonl")
1
>>> old = hooklab.load_jsonl("captures.jsonl")
>>> old.dataframe()["event_type"].tolist()
['payment_intent.succeeded']
>>> old.stop()

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


_fromiso = datetime.fromisoformat
_b64decode = base64.b64decode


def _text(value: Any, what: str, default: str = "") -> str:
    if value is None:
        return default
    if type(value) is not str:
        raise TypeError(f"{what} must be a string, got {type(value).__name__}")
    return value


def _pairs(headers: Any) -> list[tuple[str, str]]:
    out = []
    for h in headers:
        if type(h) is not list or len(h) != 2 or type(h[0]) is not str or type(h[1]) is not str:
            raise TypeError("headers must be [name, value] string pairs")
        out.append((h[0], h[1]))
    return out


def _record(d: Any) -> dict[str, Any]:
    """One line's capture record; every field is checked (the file is untrusted), in the order
    the error messages name them. Written out inline: it runs once per line of a large file."""
    if type(d) is not dict:
        raise TypeError("a line is not an object")
    get = d.get
    when = get("received_at")
    if type(when) is str and when:
        received = _fromiso(when.replace("Z", "+00:00"))
        if received.tzinfo is None:
            received = received.replace(tzinfo=timezone.utc)
    else:
        received = datetime.now(timezone.utc)
    query = get("query") or {}
    if type(query) is not dict:
        raise TypeError("query must be an object")
    if query:
        for k, vs in query.items():
            if type(vs) is not list or not all(type(v) is str for v in vs):
                raise TypeError(f"query {k!r} must be a list of strings")
    status = get("status") or 200
    if type(status) is not int or not 0 <= status <= 999:
        raise ValueError(f"status {status!r} is not an HTTP status")
    method = get("method")
    method = "GET" if method is None else _text(method, "method")
    path = get("path")
    path = ("/" if path is None else _text(path, "path")) or "/"
    headers = get("headers") or ()
    pairs = []
    for h in headers:
        if type(h) is not list or len(h) != 2 or type(h[0]) is not str or type(h[1]) is not str:
            raise TypeError("headers must be [name, value] string pairs")
        pairs.append((h[0], h[1]))
    b64 = get("body_b64")
    body = _b64decode("" if b64 is None else _text(b64, "body_b64"), validate=True)
    remote = get("remote_addr")
    url = get("url")
    kind = get("kind")
    record: dict[str, Any] = {
        "received_at": received,
        "method": method.upper(),
        "path": path,
        "query": query,
        "headers": pairs,
        "body": body,
        "remote_addr": "" if remote is None else _text(remote, "remote address"),
        "url": "" if url is None else _text(url, "url"),
        "status": status,
        "kind": ("http" if kind is None else _text(kind, "kind")) or "http",
    }
    for key in ("provider", "event_type", "delivery_id", "verify_reason"):
        value = get(key)
        if value is not None:
            record[key] = _text(value, key)
    if get("verified") is not None:
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
