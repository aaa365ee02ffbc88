"""Bulk, columnar reads of the store: many captures as one ``pyarrow.Table``.

Used by DataFrames (:mod:`hooklab.frame`), exports and exploration. Few matching rows are
fetched with SQL through the indexes; many are read from the column segments (see
``_segments``), with only the rows no segment covers fetched row by row, and the filters
applied to whole columns at once. Bodies, when asked for, are read a segment's worth at a
time, concatenated by SQLite (one Python object per few thousand bodies).

All reads of one call happen in one read transaction: they see one state of the database.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from ..filters import FIELD_KEYS, validate
from . import _segments as S
from ._sql import SearchPlan, _us, where_clause

__all__: list[str] = []

#: at most this many matching rows (known from the indexes) are fetched with SQL directly
SMALL = 20_000
#: filters the indexes answer quickly (a count costs little)
_INDEXED = ("bin", "provider", "event_type", "since", "until", "search")


def read(
    db: sqlite3.Connection,
    filters: dict[str, Any],
    plan: SearchPlan,
    *,
    body: bool = False,
    segments: bool = True,
) -> Any:
    """Captures matching ``filters`` as a ``pyarrow.Table`` (columns of ``_segments.NAMES``,
    plus ``body`` as ``large_binary`` when asked), oldest first. Runs in a read transaction."""
    import pyarrow as pa

    filters = validate(filters)
    db.execute("BEGIN")
    try:
        table = None
        if filters and any(k in _INDEXED for k in filters):
            where, args = where_clause(filters, plan)
            n = db.execute(f"SELECT COUNT(*) FROM captures{where}", args).fetchone()[0]
            if n <= SMALL:
                table = _by_sql(db, where, args, body)
        if table is None:
            table = _by_segments(db, filters, plan, body, segments)
    finally:
        db.execute("COMMIT")
    return table if table is not None else pa.table({})


def _by_sql(db: sqlite3.Connection, where: str, args: list[Any], body: bool) -> Any:
    import pyarrow as pa

    cols = S.SELECT + (", body" if body else "")
    rows = db.execute(f"SELECT {cols} FROM captures{where} ORDER BY id", args).fetchall()
    if not body:
        return S.decode(S.encode(rows))
    table = S.decode(S.encode([r[:-1] for r in rows]))
    return table.append_column("body", pa.array([r[-1] for r in rows], pa.large_binary()))


def _segment_ranges(db: sqlite3.Connection, use: bool) -> list[tuple[int, int, bytes]]:
    if not use:
        return []
    try:
        return db.execute("SELECT first_id, last_id, data FROM segments ORDER BY first_id").fetchall()
    except sqlite3.OperationalError:  # a database of format 1 opened read-only: no segments
        return []


def _by_segments(
    db: sqlite3.Connection, filters: dict[str, Any], plan: SearchPlan, body: bool, use: bool
) -> Any:
    import pyarrow as pa

    parts: list[Any] = []
    bodies: list[Any] = []
    covered_to = 0
    for first, last, data in _segment_ranges(db, use):
        if first > covered_to + 1:  # rows between segments (next to a deletion)
            _add_gap(db, covered_to, first - 1, body, parts, bodies)
        part = S.decode(data)
        parts.append(part)
        if body:
            bodies.append(_bodies(db, first, last, part.column("id")))
        covered_to = last
    _add_gap(db, covered_to, None, body, parts, bodies)
    parts = [p for p in parts if p.num_rows] or [S.empty()]
    table = pa.concat_tables(parts)
    if body:
        table = table.append_column(
            "body", pa.chunked_array([b for b in bodies if len(b)] or [pa.array([], pa.large_binary())])
        )
    mask = _mask(db, table, filters, plan)
    return table if mask is None else table.filter(mask)


def _add_gap(
    db: sqlite3.Connection, after: int, upto: int | None, body: bool, parts: list, bodies: list
) -> None:
    import pyarrow as pa

    where = " WHERE id > ?" + (" AND id <= ?" if upto is not None else "")
    args = [after] if upto is None else [after, upto]
    cols = S.SELECT + (", body" if body else "")
    rows = db.execute(f"SELECT {cols} FROM captures{where} ORDER BY id", args).fetchall()
    if not rows:
        return
    if body:
        parts.append(S.decode(S.encode([r[:-1] for r in rows])))
        bodies.append(pa.array([r[-1] for r in rows], pa.large_binary()))
    else:
        parts.append(S.decode(S.encode(rows)))


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
    if len(got) != n or not np.array_equal(got, ids.to_numpy()):
        # SQLite concatenated in another order (never seen): fetch them one by one
        rows = db.execute(
            "SELECT body FROM captures WHERE id >= ? AND id <= ? ORDER BY id", (first, last)
        ).fetchall()
        return pa.array([r[0] for r in rows], pa.large_binary())
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
            wanted = value if isinstance(value, list) else [value]
            both(pc.fill_null(pc.is_in(col, value_set=pa.array(wanted, pa.large_string())), False))
        elif key == "since" and isinstance(value, datetime):
            both(pc.greater(table.column("received_us"), _us(value)))
        elif key == "since":
            both(pc.greater(table.column("id"), value))
        elif key == "until":
            both(pc.less_equal(table.column("received_us"), _us(value)))
        elif key == "search":
            where, args = where_clause({"search": value}, plan)
            ids = np.fromiter(
                (r[0] for r in db.execute(f"SELECT id FROM captures{where}", args)), np.int64
            )
            both(pc.is_in(table.column("id"), value_set=pa.array(ids)))
    return mask
