"""SQL side of the capture store: schema, column conversions, filters, one-row insert.

Used by :class:`hooklab.store.CaptureStore` (which owns connections, the writer thread and
transactions); nothing here locks or commits.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta, timezone
from typing import Any

from ..capture import Capture, bin_of, decode_body
from ..filters import validate

_SCHEMA = """
CREATE TABLE IF NOT EXISTS captures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    received_us INTEGER NOT NULL,
    kind TEXT NOT NULL DEFAULT 'http',
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    bin TEXT NOT NULL,
    query TEXT NOT NULL DEFAULT '{}',
    headers TEXT NOT NULL DEFAULT '[]',
    body BLOB NOT NULL,
    remote_addr TEXT NOT NULL DEFAULT '',
    url TEXT NOT NULL DEFAULT '',
    status INTEGER NOT NULL DEFAULT 200,
    provider TEXT,
    event_type TEXT,
    delivery_id TEXT,
    verified INTEGER,
    verify_reason TEXT,
    duplicate INTEGER NOT NULL DEFAULT 0,
    content_type TEXT,
    handshake TEXT
);
CREATE INDEX IF NOT EXISTS captures_bin ON captures(bin);
CREATE INDEX IF NOT EXISTS captures_delivery ON captures(provider, delivery_id);

CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS forwards (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    capture_id INTEGER NOT NULL,
    at_us INTEGER NOT NULL,
    target TEXT NOT NULL,
    status INTEGER,
    latency_ms REAL,
    error TEXT
);
CREATE INDEX IF NOT EXISTS forwards_capture ON forwards(capture_id);
"""
_FORMAT = "hooklab-captures-1"
_COLS = (
    "id, received_us, kind, method, path, query, headers, body, remote_addr, url, status,"
    " provider, event_type, delivery_id, verified, verify_reason, duplicate, handshake"
)


def _dumps(obj: Any) -> str:
    """JSON text for a column (orjson when it can, the standard library otherwise)."""
    try:
        import orjson

        return orjson.dumps(obj).decode()
    except (ImportError, TypeError, ValueError):  # e.g. lone surrogates from an imported HAR
        return json.dumps(obj)


def _us(dt: datetime) -> int:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return int(round(dt.timestamp() * 1_000_000))


def _from_us(us: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=us)


def _row_to_capture(r: tuple) -> Capture:
    return Capture(
        id=r[0],
        received_at=_from_us(r[1]),
        kind=r[2],
        method=r[3],
        path=r[4],
        query=json.loads(r[5]),
        headers=[(k, v) for k, v in json.loads(r[6])],
        body=bytes(r[7]),
        remote_addr=r[8],
        url=r[9],
        status=r[10],
        provider=r[11],
        event_type=r[12],
        delivery_id=r[13],
        verified=None if r[14] is None else bool(r[14]),
        verify_reason=r[15],
        duplicate=bool(r[16]),
        handshake=r[17],
    )


def where_clause(filters: dict[str, Any]) -> tuple[str, list[Any]]:
    """SQL ``WHERE`` for capture filters (the vocabulary of :mod:`hooklab.filters`)."""
    clauses: list[str] = []
    args: list[Any] = []
    for key, value in validate(filters).items():
        if key == "since":
            if isinstance(value, datetime):
                clauses.append("received_us > ?")
                args.append(_us(value))
            else:
                clauses.append("id > ?")
                args.append(value)
        elif key == "until":
            clauses.append("received_us <= ?")
            args.append(_us(value))
        elif key == "search":
            clauses.append(_SEARCH_SQL)
            like = "%" + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            args.extend([like] * 5)
        elif isinstance(value, list):
            clauses.append(f"{key} IN ({','.join('?' * len(value))})")
            args.extend(value)
        else:
            clauses.append(f"{key} = ?")
            args.append(value)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", args


#: the ``search`` filter without an index: a scan (LIKE: case-insensitive for ASCII letters;
#: headers and query are matched in their stored JSON form; compressed bodies decoded)
_SEARCH_SQL = (
    "(path LIKE ? ESCAPE '\\' OR query LIKE ? ESCAPE '\\'"
    " OR headers LIKE ? ESCAPE '\\' OR CAST(body AS TEXT) LIKE ? ESCAPE '\\'"
    " OR (instr(lower(headers), '\"content-encoding\"') > 0"
    " AND hooklab_decoded(body, headers) LIKE ? ESCAPE '\\'))"
)


def add_columns(db: sqlite3.Connection) -> None:
    """Columns added after a database was created (``CREATE TABLE IF NOT EXISTS`` keeps the
    old table as it is): ``handshake`` (which endpoint handshake was answered)."""
    have = {r[1] for r in db.execute("PRAGMA table_info(captures)")}
    if "handshake" not in have:
        db.execute("ALTER TABLE captures ADD COLUMN handshake TEXT")
    db.execute("CREATE INDEX IF NOT EXISTS captures_handshake ON captures(id)"
               " WHERE handshake IS NOT NULL")


def decoded_text(body: bytes | None, headers: str | None) -> str | None:
    """SQL function ``hooklab_decoded(body, headers)``: a compressed body's decoded text, so
    ``search=`` sees inside gzip / deflate bodies as :func:`hooklab.filters.matches_text` does."""
    if not body or not headers:
        return None
    try:
        enc = next((v for k, v in json.loads(headers) if k.lower() == "content-encoding"), None)
        return decode_body(bytes(body), enc, limit=16 * 1024 * 1024).decode("utf-8", "replace")
    except (ValueError, TypeError):
        return None


def insert_row(db: sqlite3.Connection, record: dict[str, Any], seen: set) -> Capture:
    """INSERT one (already enriched) record inside the writer's transaction; flag repeated
    delivery ids (``seen`` holds this batch's); return the stored :class:`Capture`."""
    received = record.get("received_at") or datetime.now(timezone.utc)
    path = record.get("path") or "/"
    provider = record.get("provider")
    delivery = record.get("delivery_id")
    dup = False
    if delivery:
        key = (provider or "", delivery)
        dup = key in seen or (
            db.execute(
                "SELECT 1 FROM captures WHERE provider IS ? AND delivery_id = ? LIMIT 1",
                (provider, delivery),
            ).fetchone()
            is not None
        )
        seen.add(key)
    verified = record.get("verified")
    values = (
        _us(received),
        record.get("kind", "http"),
        str(record.get("method", "GET")),
        path,
        record.get("bin") if record.get("bin") is not None else bin_of(path),
        _dumps(record.get("query") or {}),
        _dumps([list(h) for h in record.get("headers") or []]),
        bytes(record.get("body") or b""),
        record.get("remote_addr") or "",
        record.get("url") or "",
        int(record.get("status", 200)),
        provider,
        record.get("event_type"),
        delivery,
        None if verified is None else int(bool(verified)),
        record.get("verify_reason"),
        int(dup),
    )
    ctype = None
    for k, v in record.get("headers") or ():
        if k.lower() == "content-type":
            ctype = v.split(";", 1)[0].strip().lower() or None
            break
    cur = db.execute(
        "INSERT INTO captures (received_us, kind, method, path, bin, query, headers, body,"
        " remote_addr, url, status, provider, event_type, delivery_id, verified,"
        " verify_reason, duplicate, content_type, handshake)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (*values, ctype, record.get("handshake")),
    )
    rid = cur.lastrowid
    assert rid is not None
    headers = record.get("headers") or []
    return Capture(
        id=rid,
        received_at=_from_us(values[0]),
        kind=values[1],
        method=values[2],
        path=path,
        query={k: list(v) for k, v in (record.get("query") or {}).items()},
        headers=[(str(k), str(v)) for k, v in headers],
        body=values[7],
        remote_addr=values[8],
        url=values[9],
        status=values[10],
        provider=provider,
        event_type=values[12],
        delivery_id=delivery,
        verified=None if verified is None else bool(verified),
        verify_reason=values[15],
        duplicate=dup,
        handshake=record.get("handshake"),
    )
