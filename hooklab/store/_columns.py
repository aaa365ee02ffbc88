"""Bulk, columnar reads of the store: many captures as one ``pyarrow.Table``.

Used by DataFrames (:mod:`hooklab.frame`), exports and exploration. Few matching rows are
fetched with SQL through the indexes; many are read from the column segments (see
``_segments``), with only the rows no segment covers fetched row by row, and the filters
applied to whole columns at once. Bodies, when asked for, come from the segments too
(compressed there); a segment written without them has its bodies read a segment's worth at
a time, concatenated by SQLite (one Python object per few thousand bodies).

Segments are decoded and bodies read by a few threads, each with its own read connection
(SQLite works without the GIL); each segment's bodies are checked to be those of its ids.

A segment that does not read as one (``_segments.DamagedSegment``: a damaged file, or a
database someone hands over, crafted: ``hooklab.open`` reads those) is read as if it were
not there: its rows from ``captures``. Segments that overlap one before them likewise.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ..filters import FIELD_KEYS, validate
from . import _segments as S
from ._sql import SearchPlan, _us, where_clause

__all__: list[str] = []

#: at most this many matching rows (known from the indexes) are fetched with SQL directly
SMALL = 20_000
#: threads reading segments and bodies
_WORKERS = max(2, min(4, os.cpu_count() or 2))
#: filters the indexes answer quickly (a count costs little)
_INDEXED = ("bin", "provider", "event_type", "since", "until", "search")


def read(
    db: sqlite3.Connection,
    filters: dict[str, Any],
    plan: SearchPlan,
    *,
    body: bool = False,
    segments: bool = True,
    connect: Callable[[], sqlite3.Connection] | None = None,
    release: Callable[[sqlite3.Connection], None] | None = None,
) -> Any:
    """Captures matching ``filters`` as a ``pyarrow.Table`` (columns of ``_segments.NAMES``,
    plus ``body`` as ``large_binary`` when asked), oldest first.

    ``connect``/``release`` lend more read connections for worker threads (none: all on
    ``db``, in one read transaction).
    """
    filters = validate(filters)
    if filters and any(k in _INDEXED for k in filters):
        where, args = where_clause(filters, plan)
        db.execute("BEGIN")
        try:
            n = db.execute(f"SELECT COUNT(*) FROM captures{where}", args).fetchone()[0]
            if n <= SMALL:
                return _by_sql(db, where, args, body)
        finally:
            db.execute("COMMIT")
    return _by_segments(db, filters, plan, body, segments, connect, release)


def read_packed(
    db: sqlite3.Connection,
    plan: SearchPlan,
    *,
    connect: Callable[[], sqlite3.Connection] | None = None,
    release: Callable[[sqlite3.Connection], None] | None = None,
) -> tuple[Any, list[Any]]:
    """Every capture as ``(table, packs)``: the columns of :func:`read` without ``body``, and
    the bodies one item per chunk of the table, each either a segment's bodies as it keeps
    them (``_segments.packed``: compressed, not decompressed here) or a ``large_binary``
    array."""
    return _by_segments(db, {}, plan, "packed", True, connect, release)


def _by_sql(db: sqlite3.Connection, where: str, args: list[Any], body: bool) -> Any:
    import pyarrow as pa

    cols = S.SELECT + (", body" if body else "")
    rows = db.execute(f"SELECT {cols} FROM captures{where} ORDER BY id", args).fetchall()
    if not body:
        return S.decode(S.encode(rows))
    table = S.decode(S.encode([r[:-1] for r in rows]))
    return table.append_column("body", pa.array([r[-1] for r in rows], pa.large_binary()))


def _segment_ranges(db: sqlite3.Connection, use: bool) -> list[tuple[int, int, int, bytes]]:
    if not use:
        return []
    try:
        return db.execute(
            "SELECT first_id, last_id, rows, data FROM segments ORDER BY first_id").fetchall()
    except sqlite3.OperationalError:  # a database of format 1 opened read-only: no segments
        return []


def _by_segments(
    db: sqlite3.Connection,
    filters: dict[str, Any],
    plan: SearchPlan,
    body: Any,
    use: bool,
    connect: Callable[[], sqlite3.Connection] | None,
    release: Callable[[sqlite3.Connection], None] | None,
) -> Any:
    import pyarrow as pa

    db.execute("BEGIN")
    try:
        tasks: list[Task] = []
        covered_to = 0
        for first, last, rows, data in _segment_ranges(db, use):
            if (type(first) is not int or type(last) is not int or first <= covered_to
                    or last < first):  # (overlapping one before it, or not a range: its rows
                continue  # are read from captures, with those up to the next segment)
            if first > covered_to + 1:  # rows between segments (next to a deletion)
                tasks.append((covered_to, first - 1, None))
            tasks.append((first, last, (rows, data)))
            covered_to = last
        tasks.append((covered_to, None, None))  # the newest rows, after every segment
        if connect is None or len(tasks) < 4:
            results = [_task(db, t, body) for t in tasks]
        else:
            results = _parallel(tasks, body, connect, release)
        parts = [p for p, _ in results if p is not None and p.num_rows] or [S.empty()]
        table = pa.concat_tables(parts)
        if body == "packed" and not filters:
            return table, [b for p, b in results if p is not None and p.num_rows]
        if body:
            chunks = [b for p, b in results if p is not None and p.num_rows]
            table = table.append_column(
                "body", pa.chunked_array(chunks or [pa.array([], pa.large_binary())], pa.large_binary())
            )
        mask = _mask(db, table, filters, plan)
    finally:
        db.execute("COMMIT")
    return table if mask is None else table.filter(mask)


#: a segment ``(first_id, last_id, (rows, blob))``, or the rows between two ids ``(after,
#: upto or None, None)``
Task = tuple[int, int | None, tuple[Any, Any] | None]


def _task(db: sqlite3.Connection, task: Task, body: Any) -> Any:
    """(columns, bodies) of one segment, or of the rows between ``after`` and ``upto``;
    ``body="packed"``: a segment's bodies as it keeps them (see ``packed``). A damaged
    segment's are read from ``captures``, as rows no segment covers are."""
    first, last, kept = task
    if kept is None:
        return _gap(db, first, last, body)
    try:
        return _segment(db, first, last, kept, body)
    except S.DamagedSegment:
        return _gap(db, first - 1, last, body)


def _segment(db: sqlite3.Connection, first: int, last: Any, kept: tuple[Any, Any], body: Any) -> Any:
    rows, data = kept
    if not isinstance(data, bytes) or type(rows) is not int:
        raise S.DamagedSegment("a segment that is not a blob")
    part = S.decode(data, first, last, rows)
    if not body:
        return part, None
    if body == "packed":
        packed = S.packed(data)
        if packed is not None and len(packed[2]) == part.num_rows + 1:
            return part, packed
    kept = S.bodies(data)  # kept in the segment: no read of the table
    return part, (kept if kept is not None else _bodies(db, first, last, part.column("id")))


def read_segment(db: sqlite3.Connection, first_id: int, last_id: int,
                 rows: int | None = None) -> tuple[Any, Any] | None:
    """``(table, pack)`` of the column segment ``first_id``..``last_id`` of the capture
    database open as ``db`` (a plain ``sqlite3`` connection, e.g. read-only in another
    process): the columns of :func:`read_packed`'s table without ``body``, and its bodies as
    :func:`read_packed` gives them; ``None`` when there is no such segment (or, with
    ``rows``, when it does not hold exactly that many captures, ``first_id`` to ``last_id``:
    a segment key ``(first_id, last_id, rows)`` that no longer describes it)."""
    try:
        found = db.execute("SELECT rows, data FROM segments WHERE first_id = ? AND last_id = ?",
                           (first_id, last_id)).fetchone()
    except sqlite3.OperationalError:  # a database of format 1: no segments
        return None
    if found is None:
        return None
    got = _task(db, (first_id, last_id, tuple(found)), "packed")
    if rows is not None:
        ids = got[0].column("id")
        if (got[0].num_rows != rows or rows == 0 or ids[0].as_py() != first_id
                or ids[-1].as_py() != last_id):
            return None
    return got


def _parallel(
    tasks: list[Task],
    body: bool,
    connect: Callable[[], sqlite3.Connection],
    release: Callable[[sqlite3.Connection], None] | None,
) -> list[Any]:
    import threading
    from concurrent.futures import ThreadPoolExecutor

    local = threading.local()
    made: list[sqlite3.Connection] = []
    lock = threading.Lock()

    def run(task: Task) -> Any:
        db = getattr(local, "db", None)
        if db is None:
            db = local.db = connect()
            with lock:
                made.append(db)
        return _task(db, task, body)

    try:
        with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
            return list(pool.map(run, tasks))
    finally:
        for db in made:
            if release is not None:
                release(db)
            else:
                db.close()


def _gap(db: sqlite3.Connection, after: int, upto: int | None, body: bool) -> Any:
    import pyarrow as pa

    where = " WHERE id > ?" + (" AND id <= ?" if upto is not None else "")
    args = [after] if upto is None else [after, upto]
    cols = S.SELECT + (", body" if body else "")
    rows = db.execute(f"SELECT {cols} FROM captures{where} ORDER BY id", args).fetchall()
    if not rows:
        return None, None
    if body:
        return S.decode(S.encode([r[:-1] for r in rows])), pa.array(
            [r[-1] for r in rows], pa.large_binary()
        )
    return S.decode(S.encode(rows)), None


def _bodies(db: sqlite3.Connection, first: int, last: int, ids: Any) -> Any:
    """The bodies of captures ``first..last`` (a segment's), in id order, one ``large_binary``
    array built from SQLite's concatenation of them."""
    import numpy as np
    import pyarrow as pa

    data, lengths, order = db.execute(
        "SELECT CAST(group_concat(body, '') AS BLOB), group_concat(length(body)),"
        " group_concat(id) FROM captures WHERE id >= ? AND id <= ?",
        (first, last),
    ).fetchone()
    n = len(ids)
    got = np.fromstring(order or "", dtype=np.int64, sep=",") if n else np.empty(0, np.int64)
    want = ids.to_numpy()
    if len(got) != n or not np.array_equal(got, want):
        # another order, or rows deleted since the segment was read: fetch them one by one
        found = dict(
            db.execute("SELECT id, body FROM captures WHERE id >= ? AND id <= ?", (first, last))
        )
        return pa.array([found.get(i, b"") for i in want.tolist()], pa.large_binary())
    sizes = np.fromstring(lengths or "", dtype=np.int64, sep=",")
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(sizes, out=offsets[1:])
    return pa.Array.from_buffers(
        pa.large_binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data or b"")]
    )


def _mask(db: sqlite3.Connection, table: Any, filters: dict[str, Any], plan: SearchPlan) -> Any:
    """Which rows of ``table`` match ``filters`` (None: all)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    mask = None

    def both(m: Any) -> None:
        nonlocal mask
        mask = m if mask is None else pc.and_(mask, m)

    for key, value in filters.items():
        if key in FIELD_KEYS:
            col = table.column(key)
            if key == "method":  # (stored as sent, matched in any case)
                col = pc.ascii_upper(col.cast(pa.large_string()))
            wanted = value if isinstance(value, list) else [value]
            both(pc.fill_null(pc.is_in(col, value_set=pa.array(wanted, pa.large_string())), False))
        elif key == "verified":  # (1 valid, 0 not, -1 not checked)
            both(pc.equal(table.column("verified"), 1 if value else 0))
        elif key == "since" and isinstance(value, datetime):
            both(pc.greater(table.column("received_us"), _us(value)))
        elif key == "since":
            both(pc.greater(table.column("id"), value))
        elif key == "until" and isinstance(value, datetime):
            both(pc.less_equal(table.column("received_us"), _us(value)))
        elif key == "until":
            both(pc.less_equal(table.column("id"), value))
        elif key == "search":
            where, args = where_clause({"search": value}, plan)
            ids = np.fromiter(
                (r[0] for r in db.execute(f"SELECT id FROM captures{where}", args)), np.int64
            )
            both(pc.is_in(table.column("id"), value_set=pa.array(ids)))
    return mask
