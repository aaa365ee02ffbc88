"""SQL side of the capture store: schema, column conversions, filters, one-row insert.

Used by :class:`hooklab.store.CaptureStore` (which owns connections, the writer thread and
transactions); nothing here locks or commits.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

from ..capture import Capture, bin_of, micros, trailers_start
from ..filters import provider_wanted, validate

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
    handshake TEXT,
    trailers_at INTEGER
);
CREATE INDEX IF NOT EXISTS captures_bin ON captures(bin);
CREATE INDEX IF NOT EXISTS captures_delivery ON captures(provider, delivery_id);
CREATE INDEX IF NOT EXISTS captures_event ON captures(event_type);
CREATE INDEX IF NOT EXISTS captures_provider ON captures(provider);
CREATE INDEX IF NOT EXISTS captures_received ON captures(received_us);
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
#: ``meta.format`` of databases this version writes (2: column segments and search index);
#: databases of format 1 are upgraded when opened for writing, read as they are otherwise
_FORMAT = "hooklab-captures-2"
_FORMATS_READ = ("hooklab-captures-1", _FORMAT)
_COLS = (
    "id, received_us, kind, method, path, query, headers, body, remote_addr, url, status,"
    " provider, event_type, delivery_id, verified, verify_reason, duplicate, handshake, bin,"
    " trailers_at"
)


def _dumps(obj: Any) -> str:
    """JSON text for a column (orjson when it can, the standard library otherwise)."""
    try:
        import orjson

        return orjson.dumps(obj).decode()
    except (ImportError, TypeError, ValueError):  # e.g. lone surrogates from an imported HAR
        return json.dumps(obj)


def _loads(text: str) -> Any:
    """A stored JSON column (orjson; the standard library for what only it wrote: surrogates)."""
    try:
        import orjson

        return orjson.loads(text)
    except (ImportError, ValueError):
        return json.loads(text)


_us = micros  # (exact: timestamp()'s float was a microsecond off far from now)


def _from_us(us: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=us)


def _row_to_capture(r: tuple) -> Capture:
    headers = [(k, v) for k, v in _loads(r[6])]
    return Capture(
        id=r[0],
        received_at=_from_us(r[1]),
        kind=r[2],
        method=r[3],
        path=r[4],
        query=_loads(r[5]),
        headers=headers,
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
        stored_bin=other_bin(r[18], r[4]),
        # (a row of a database from before the column, read as it is, has none)
        trailers_at=trailers_start(r[19] if len(r) > 19 else None, len(headers)),
    )


def other_bin(stored: str | None, path: str) -> str | None:
    """``stored`` (a row's bin) if it is not ``path``'s own: :attr:`Capture.stored_bin`."""
    return stored if stored is not None and stored != bin_of(path) else None


def where_clause(
    filters: dict[str, Any], search: SearchPlan | None = None
) -> tuple[str, list[Any]]:
    """SQL ``WHERE`` for capture filters (the vocabulary of :mod:`hooklab.filters`).

    ``search`` says how the ``search`` filter can use the index; without it (or without an
    index) every row is matched by the Python twin (``hooklab_search``, see ``_search``).
    """
    clauses: list[str] = []
    args: list[Any] = []
    for key, value in validate(filters).items():
        if key == "since":
            if isinstance(value, datetime):  # (the planner's hint: "since" asks for the recent)
                clauses.append("likelihood(received_us > ?, 0.01)")
                args.append(_us(value))
            else:
                clauses.append("id > ?")
                args.append(value)
        elif key == "until":
            if isinstance(value, datetime):
                clauses.append("received_us <= ?")
                args.append(_us(value))
            else:
                clauses.append("id <= ?")
                args.append(value)
        elif key == "search":
            clause, more = search_clause(value, search)
            clauses.append(clause)
            args.extend(more)
        elif key == "provider":  # ("unknown": none detected, NULL; through the index too)
            names, none = provider_wanted(value)
            held = ["provider IS NULL"] if none else []
            if names or not none:  # (an empty list: IN (), nothing, as for the other fields)
                held.insert(0, "provider = ?" if len(names) == 1
                            else f"provider IN ({','.join('?' * len(names))})")
            clauses.append(held[0] if len(held) == 1 else f"({' OR '.join(held)})")
            args.extend(names)
        else:  # (a method is stored as sent, matched in any case: no index to lose)
            column = "upper(method)" if key == "method" else key
            if isinstance(value, list):
                clauses.append(f"{column} IN ({','.join('?' * len(value))})")
                args.extend(value)
            else:
                clauses.append(f"{column} = ?")
                args.append(value)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", args


class SearchPlan:
    """What the store's search index offers a query: whether it exists, and up to which id
    every row is in it (rows after that are matched by the twin)."""

    __slots__ = ("fts", "trailers", "upto")

    def __init__(self, fts: bool, upto: int, trailers: bool = True) -> None:
        self.fts = fts
        self.upto = upto
        #: whether the table has the trailers_at column (not a database of an older hooklab
        #: opened read-only): the twin reads each row's header section by it
        self.trailers = trailers


_TWIN = "hooklab_search(path, query, headers, body, trailers_at, ?)"
#: the twin on a table without the trailers_at column (no capture of it has trailers)
_TWIN_ALL_HEADERS = "hooklab_search(path, query, headers, body, ?)"


def search_clause(needle: str, plan: SearchPlan | None) -> tuple[str, list[Any]]:
    """The ``search`` filter as SQL: the index where it can, the twin where it must."""
    from ._search import index_exact, phrase

    match = phrase(needle)
    twin = _TWIN if plan is None or plan.trailers else _TWIN_ALL_HEADERS
    exact = index_exact(needle)
    needle = needle_param(needle)
    if plan is None or not plan.fts or match is None:
        return twin, [needle]
    indexed = "id IN (SELECT rowid FROM captures_fts WHERE captures_fts MATCH ?)"
    if not exact:  # (a word past FTS5's longest: the index narrows, the twin decides)
        return f"(({indexed} OR id > ?) AND {twin})", [match, plan.upto, needle]
    if plan.upto >= _MAX_ID:
        return indexed, [match]
    return (
        "(id IN (SELECT rowid FROM captures_fts WHERE captures_fts MATCH ? AND rowid <= ?)"
        f" OR (id > ? AND {twin}))",
        [match, plan.upto, plan.upto, needle],
    )


def needle_param(needle: str) -> str | bytes:
    """``needle`` as the twin (``hooklab_search``) is handed it: as it is, or, when it holds a
    lone surrogate (half of an emoji, as ``capture.json()`` keeps ``"\\ud83d"``), which
    ``sqlite3`` cannot bind as text, its UTF-8 bytes with the surrogate kept
    (``surrogatepass``), read back whole by the twin. (It raised UnicodeEncodeError where a
    Parquet dataset answered.)

    >>> needle_param("refund"), needle_param("\\ud83d")
    ('refund', b'\\xed\\xa0\\xbd')
    """
    try:
        needle.encode("utf-8")
    except UnicodeEncodeError:
        return needle.encode("utf-8", "surrogatepass")
    return needle


#: ``SearchPlan.upto`` when every row, now and to come, is indexed as it is stored
_MAX_ID = 1 << 62


def add_columns(db: sqlite3.Connection) -> None:
    """Columns added after a database was created (``CREATE TABLE IF NOT EXISTS`` keeps the
    old table as it is): ``handshake`` (which endpoint handshake was answered) and
    ``trailers_at`` (where a capture's trailer fields start in ``headers``; ``NULL``, as in
    every row from before it, when none came). Both nullable: an older hooklab sharing the
    file reads the columns it knows and stores its rows without them."""
    have = {r[1] for r in db.execute("PRAGMA table_info(captures)")}
    if "handshake" not in have:
        db.execute("ALTER TABLE captures ADD COLUMN handshake TEXT")
    if "trailers_at" not in have:
        db.execute("ALTER TABLE captures ADD COLUMN trailers_at INTEGER")
    db.execute("CREATE INDEX IF NOT EXISTS captures_handshake ON captures(id)"
               " WHERE handshake IS NOT NULL")


_INSERT = (
    "INSERT INTO captures (received_us, kind, method, path, bin, query, headers, body,"
    " remote_addr, url, status, provider, event_type, delivery_id, verified,"
    " verify_reason, duplicate, content_type, handshake, trailers_at)"
    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)


def record_values(record: dict[str, Any]) -> list[Any]:
    """The INSERT values of one (already enriched) record; ``duplicate`` (index 16) is 0,
    ``trailers_at`` (index 19, the last: :data:`VALUES`) ``None`` unless trailer fields came."""
    received = record.get("received_at") or datetime.now(timezone.utc)
    path = record.get("path") or "/"
    verified = record.get("verified")
    headers = record.get("headers") or []
    ctype = None
    at = trailers_start(record.get("trailers_at"), len(headers))
    for k, v in headers if at is None else headers[:at]:  # (the header section's: a
        if k.lower() == "content-type":  # Content-Type sent as a trailer describes no body)
            ctype = v.split(";", 1)[0].strip().lower() or None
            break
    return [
        _us(received),
        record.get("kind", "http"),
        str(record.get("method", "GET")),
        path,
        record.get("bin") if record.get("bin") is not None else bin_of(path),
        _dumps(record.get("query") or {}),
        _dumps([list(h) for h in headers]),
        bytes(record.get("body") or b""),
        record.get("remote_addr") or "",
        record.get("url") or "",
        int(record.get("status", 200)),
        record.get("provider"),
        record.get("event_type"),
        record.get("delivery_id"),
        None if verified is None else int(bool(verified)),
        record.get("verify_reason"),
        0,
        ctype,
        record.get("handshake"),
        trailers_start(record.get("trailers_at"), len(headers)),
    ]


class BulkValues:
    """:func:`record_values` for the many records of a bulk import, faster: what repeats from
    record to record (the bin of a path, the content type of a header value, the JSON of an
    empty query) is worked out once. Gives exactly what :func:`record_values` gives (records
    of unusual shapes go through it)."""

    __slots__ = ("_bins", "_ctypes")

    _CAP = 65_536  # remembered paths / content types at most (then forgotten, and again)

    def __init__(self) -> None:
        self._bins: dict[str, str] = {}
        self._ctypes: dict[str, str | None] = {}

    def __call__(self, record: dict[str, Any]) -> list[Any]:
        get = record.get
        received = get("received_at")
        headers = get("headers") or []
        path = get("path") or "/"
        query = get("query") or {}
        if (type(received) is not datetime or received.tzinfo is None or type(path) is not str
                or type(headers) is not list or type(query) is not dict):
            return record_values(record)
        ctype = None
        for h in headers:
            if type(h) is not tuple or len(h) != 2 or type(h[0]) is not str or type(h[1]) is not str:
                return record_values(record)
        at = trailers_start(get("trailers_at"), len(headers))
        for k, v in headers if at is None else headers[:at]:  # (the header section's, as
            if k.lower() == "content-type":  # record_values reads it)
                ctypes = self._ctypes
                ctype = ctypes.get(v, _UNSET)
                if ctype is _UNSET:
                    if len(ctypes) >= self._CAP:
                        ctypes.clear()
                    ctype = ctypes[v] = v.split(";", 1)[0].strip().lower() or None
                break
        bin_ = get("bin")
        if bin_ is None:
            bins = self._bins
            bin_ = bins.get(path)
            if bin_ is None:
                if len(bins) >= self._CAP:
                    bins.clear()
                bin_ = bins[path] = bin_of(path)
        verified = get("verified")
        return [
            _us(received),
            get("kind", "http"),
            str(get("method", "GET")),
            path,
            bin_,
            _dumps(query) if query else "{}",
            _dumps(headers),  # (tuples are written as JSON arrays, like lists)
            bytes(get("body") or b""),
            get("remote_addr") or "",
            get("url") or "",
            int(get("status", 200)),
            get("provider"),
            get("event_type"),
            get("delivery_id"),
            None if verified is None else int(bool(verified)),
            get("verify_reason"),
            0,
            ctype,
            get("handshake"),
            trailers_start(get("trailers_at"), len(headers)),
        ]


_UNSET: Any = object()


def _seen_before(db: sqlite3.Connection,
                 keys: list[tuple[Any, Any, str]]) -> set[tuple[str, str, str]]:
    """Which (bin, provider, delivery id) triples are already stored (through the index on
    provider and delivery id: a delivery id is rarely stored more than a few times)."""
    found: set[tuple[str, str, str]] = set()
    by_place: dict[tuple[Any, Any], list[str]] = {}
    for b, p, d in keys:
        by_place.setdefault((b, p or None), []).append(d)
    for (bin_, provider), ids in by_place.items():
        ids = sorted(set(ids))
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            rows = db.execute(  # one index probe per id, however often it was stored
                f"SELECT column1 FROM (VALUES {','.join(['(?)'] * len(part))}) WHERE EXISTS"
                " (SELECT 1 FROM captures WHERE provider IS ? AND delivery_id = column1"
                " AND bin = ?)",
                [*part, provider, bin_],
            ).fetchall()
            found.update((bin_, provider or "", r[0]) for r in rows)
    return found


#: the captures table's secondary indexes (a bulk load into an empty store builds them after)
INDEXES = ("captures_bin", "captures_delivery", "captures_event", "captures_provider",
           "captures_received", "captures_handshake")  # fmt: skip


def _flag_duplicates(
    db: sqlite3.Connection, rows: list[list[Any]], seen: set[tuple[str, str, str]] | None
) -> None:
    """Set ``duplicate`` (index 16) of rows whose (bin, provider, delivery id) is stored
    already (``seen``, or looked up in the table) or comes earlier in ``rows``: a retry to
    the same endpoint. (One event sent to two endpoints, two bins, is two deliveries.)"""
    keys = [(v[4], v[11], v[13]) for v in rows if v[13]]
    if not keys:
        return
    before = _seen_before(db, keys) if seen is None else seen
    for v in rows:
        if v[13]:
            key = (v[4], v[11] or "", v[13])
            if key in before:
                v[16] = 1
            before.add(key)


def insert_many(
    db: sqlite3.Connection, rows: list[list[Any]], seen: set[tuple[str, str, str]] | None = None
) -> int:
    """INSERT prepared rows (:func:`record_values`) in one statement inside the writer's
    transaction, flagging repeated delivery ids; returns the first id given (ids follow one
    another). ``seen`` (every delivery stored so far, kept up to date here) replaces the
    lookup in the table, for a load into a store that was empty."""
    _flag_duplicates(db, rows, seen)
    seq = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'captures'").fetchone()
    start = (seq[0] if seq else 0) + 1
    whole = len(rows) - len(rows) % _ROWS_PER_STATEMENT
    if whole:  # 49 rows a statement: less of Python's per-row work than executemany
        many = _INSERT_HEAD + ",".join([_ROW] * _ROWS_PER_STATEMENT)
        db.executemany(many, _row_groups(rows, whole))
    if whole < len(rows):
        db.executemany(_INSERT, rows[whole:])
    end = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'captures'").fetchone()[0]
    if end - start + 1 != len(rows):  # never expected: ids must follow one another
        raise RuntimeError("capture ids of a bulk insert are not consecutive")
    return start


#: values of a row (:func:`record_values`): ``trailers_at`` is the last
VALUES = 20
#: rows a multi-row INSERT takes: 20 values each stays under the 999 variables of the
#: oldest SQLite builds Python ships with
_ROWS_PER_STATEMENT = 49
_ROW = "(" + ",".join("?" * VALUES) + ")"


_INSERT_HEAD = _INSERT.split(" VALUES ", 1)[0] + " VALUES "


def _row_groups(rows: list[list[Any]], upto: int) -> Iterator[list[Any]]:
    """The values of ``rows[:upto]``, 49 rows at a time, flattened (one statement's)."""
    n = _ROWS_PER_STATEMENT
    for i in range(0, upto, n):
        yield [x for v in rows[i : i + n] for x in v]


def insert_rows(db: sqlite3.Connection, rows: list[list[Any]]) -> int:
    """INSERT prepared rows (:func:`record_values`) inside the writer's transaction, flagging
    repeated delivery ids (against the table and the earlier rows); returns the first id.

    A statement takes up to 49 rows, so a batch of live captures costs SQLite (and Python's
    GIL, which ``sqlite3`` gives up around each step) a few calls, not one per capture.
    """
    _flag_duplicates(db, rows, None)
    first = -1
    for i in range(0, len(rows), _ROWS_PER_STATEMENT):
        chunk = rows[i : i + _ROWS_PER_STATEMENT]
        cur = db.execute(_INSERT_HEAD + ",".join([_ROW] * len(chunk)), [x for v in chunk for x in v])
        last = cur.lastrowid  # AUTOINCREMENT: one statement's rows take consecutive ids
        assert last is not None
        if first < 0:
            first = last - len(chunk) + 1
        elif last - len(chunk) + 1 != first + i:  # never expected: one writer, one transaction
            raise RuntimeError("capture ids of a batch are not consecutive")
    return first


def row_capture(rid: int, values: list[Any], record: dict[str, Any]) -> Capture:
    """The stored :class:`Capture` of a row inserted from ``record`` (its ``values``)."""
    headers = record.get("headers") or []
    verified = values[14]
    return Capture(
        id=rid,
        received_at=_from_us(values[0]),
        kind=values[1],
        method=values[2],
        path=values[3],
        query={k: list(v) for k, v in (record.get("query") or {}).items()},
        headers=[(str(k), str(v)) for k, v in headers],
        body=values[7],
        remote_addr=values[8],
        url=values[9],
        status=values[10],
        provider=values[11],
        event_type=values[12],
        delivery_id=values[13],
        verified=None if verified is None else bool(verified),
        verify_reason=values[15],
        duplicate=bool(values[16]),
        handshake=record.get("handshake"),
        stored_bin=other_bin(values[4], values[3]),
        trailers_at=values[19],
    )
