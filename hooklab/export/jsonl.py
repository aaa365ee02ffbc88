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

A big file (:data:`HELPER_BYTES` or more) on a machine with CPUs to spare is read by helper
processes too (:mod:`hooklab.explore.parallel`): each prepares the rows of byte ranges of the
file while the caller stores the ranges before, in file order. The store ends up the same,
and a bad line raises the same error after storing the same captures as when one process
reads it all.
"""

from __future__ import annotations

import base64
import binascii
import io
import marshal
import os
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..explore.parallel import Helpers
    from ..store import CaptureStore, RowMaker

__all__ = ["HELPER_BYTES", "RANGE_BYTES", "load", "prepare_range", "read_jsonl"]

#: files at least this big are read by helper processes too (starting one costs about half a
#: second; 64 MiB is some 70,000 captures)
HELPER_BYTES = 64 * 2**20
#: bytes of the file in one helper's piece of work (about 4,000 captures)
RANGE_BYTES = 4 * 2**20


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


_ERRORS = (ValueError, TypeError, KeyError, IndexError, OverflowError, binascii.Error)


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
            except _ERRORS as exc:  # (orjson.JSONDecodeError is a ValueError)
                raise ValueError(f"{name!r}: line {number} is not a capture ({exc})") from None


def load(store: CaptureStore, path: str | os.PathLike[str]) -> int:
    """Import the JSON Lines export ``path`` into ``store``; returns how many captures.

    What ``store.add_many(read_jsonl(path))`` does, with helper processes preparing the rows of
    a big file (see the module's text). A store that verifies signatures (it has secrets)
    reads it in this process.

    >>> from hooklab.store import CaptureStore
    >>> lab.export("captures.jsonl")
    1
    >>> store = CaptureStore(":memory:")
    >>> load(store, "captures.jsonl")
    1
    >>> store.close()
    """
    from ..explore import parallel

    name = os.fspath(path)
    helpers = None
    if not store.secrets and os.path.getsize(path) >= HELPER_BYTES:
        keys = ranges(path)
        helpers = parallel.start(os.path.abspath(path), keys, task="jsonl", newest_first=False,
                                 ahead=2, least=HELPER_BYTES // RANGE_BYTES, per=4, spare=0)
    if helpers is None:
        return store.add_many(read_jsonl(path))
    try:
        return store.add_rows(_rows(name, path, keys, helpers))
    except BaseException:
        helpers.kill()
        raise
    finally:
        helpers.close()


def ranges(path: str | os.PathLike[str], size: int | None = None) -> list[tuple[int, int, int]]:
    """The file cut into pieces of about ``size`` (:data:`RANGE_BYTES`) bytes at line ends:
    ``(start, end, 0)`` each."""
    size = RANGE_BYTES if size is None else size
    out = []
    with open(path, "rb") as f:
        end = os.fstat(f.fileno()).st_size
        start = 0
        while start < end:
            f.seek(min(start + size, end))
            f.readline()  # (to the end of the line the cut falls in)
            stop = min(f.tell(), end)
            out.append((start, stop, 0))
            start = stop
    return out


def _rows(name: str, path: str | os.PathLike[str], keys: Sequence[tuple[int, int, int]],
          helpers: Helpers) -> Iterator[list[Any]]:
    """Every row of the file in order: each range's from its helper (or made here when no
    helper gives it), raising where :func:`read_jsonl` and ``add_many`` would."""
    from ..store import RowMaker

    lines = records = 0  # before this range
    make = RowMaker()
    with open(path, "rb") as f:
        for key in keys:
            got = _unpack(helpers.take(key), key)
            rows, counted, error = got if got is not None else _prepare(f, key, make)
            yield from rows
            if error is not None:
                kind, at, text = error
                if kind == "line":
                    raise ValueError(f"{name!r}: line {lines + at} is not a capture ({text})")
                raise ValueError(f"record {records + at}: cannot be stored ({text})")
            lines += counted
            records += len(rows)


def _unpack(packed: bytes | None, key: tuple[int, int, int]) -> Any:
    """A helper's answer for ``key``, or ``None`` when it is not one (then it is made here)."""
    if not packed:
        return None
    try:
        got = marshal.loads(packed)
    except (ValueError, EOFError, TypeError):
        return None
    if (type(got) is not tuple or len(got) != 4 or got[0] != key or type(got[1]) is not list
            or type(got[2]) is not int or got[2] < len(got[1])
            or not (got[3] is None or (type(got[3]) is tuple and len(got[3]) == 3))
            or not all(type(r) is list and len(r) == 19 for r in got[1])):
        return None
    return got[1:]


_MAKE: RowMaker | None = None  # a helper process's (it remembers what repeats)


def prepare_range(f: Any, key: tuple[int, int, int]) -> bytes:
    """A helper's work: the rows of the byte range ``key`` of the open file ``f``, packed
    (:mod:`marshal`) with the key, the lines counted and the first error."""
    global _MAKE
    if _MAKE is None:
        from ..store import RowMaker

        _MAKE = RowMaker()
    return marshal.dumps((key, *_prepare(f, key, _MAKE)))


def _prepare(f: Any, key: tuple[int, int, int], make: RowMaker
             ) -> tuple[list[list[Any]], int, tuple[str, int, str] | None]:
    """The rows of the lines in bytes ``key[0]`` to ``key[1]`` of ``f``, how many lines those
    are, and the first error: ``("line", number in the range from 1, text)`` for a line that
    is not a capture, ``("record", index among the range's captures, text)`` for a capture
    that cannot be stored. The rows stop at the error."""
    import orjson

    start, end, _ = key
    f.seek(start)
    pieces = io.BytesIO(f.read(end - start)).readlines()  # (cut as read_jsonl's file is)
    rows: list[list[Any]] = []
    for number, line in enumerate(pieces, 1):
        if not line.strip():
            continue
        try:
            record = _record(orjson.loads(line))
        except _ERRORS as exc:
            return rows, len(pieces), ("line", number, str(exc))
        try:
            rows.append(make(record))
        except (TypeError, ValueError, OverflowError) as exc:
            return rows, len(pieces), ("record", len(rows), str(exc))
    return rows, len(pieces), None
