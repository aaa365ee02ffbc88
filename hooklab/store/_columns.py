"""Bulk, columnar reads of the store: many captures as one ``pyarrow.Table``.

Used by DataFrames (:mod:`hooklab.frame`), exports and exploration. Few matching rows are
fetched with SQL through the indexes; many are read from the column segments (see
``_segments``), with only the rows no segment covers fetched row by row, and the filters
applied to whole columns at once. Bodies, when asked for, come from the segments too
(compressed there); a segment written without them has its bodies read a segment's worth at
a time, concatenated by SQLite (one Python object per few thousand bodies).

Segments are decoded and bodies read by a few threads, each with its own read connection
(SQLite works without the GIL); each segment's bodies are checked to be those of its ids.
A segment's blob is read by the thread that decodes it, not all of them first (a store of
big bodies kept gigabytes of them at once), and of a big one (an older segment that kept
every body) only its columns.

A DataFrame asks only for the bodies that may be JSON (``body="json"``): the others come as
empty bodies without being read into Python (``_segments.MAY_BE_JSON`` in SQL), so its memory
is one segment's work at a time plus the JSON it keeps, whatever else the store holds.

A segment that does not read as one (``_segments.DamagedSegment``: a damaged file, or a
database someone hands over, crafted: ``hooklab.open`` reads those) is read as if it were
not there: its rows from ``captures``. Segments that overlap one before them likewise.
"""

from __future__ import annotations

import os
import sqlite3
import zlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ..filters import FIELD_KEYS, provider_wanted, validate
from . import _segments as S
from ._sql import SearchPlan, _us, where_clause

__all__: list[str] = []

#: at most this many matching rows (known from the indexes) are fetched with SQL directly
SMALL = 20_000
#: threads reading segments and bodies
_WORKERS = max(2, min(4, os.cpu_count() or 2))
#: filters the indexes answer quickly (a count costs little)
_INDEXED = ("bin", "provider", "event_type", "since", "until", "search")
#: a segment blob larger than this has only its columns read (its bodies, when needed, come
#: from ``captures``): an older segment of big bodies kept them all
_WHOLE = 32 << 20
#: segment blobs up to this size are read with the list of segments (one query: those of a
#: store of JSON webhooks, a megabyte or two each); larger ones by the task that decodes them
_PRELOAD = 4 << 20
#: an older segment (every body kept) whose bodies that cannot be JSON weigh this much or
#: more gives a DataFrame its JSON bodies from ``captures`` instead (as ``frame`` drops them)
_HEAVY = 1 << 20
#: the body, or for ``body="json"`` the body if it may be JSON (else empty), in SQL
_JSON_BODY = f"CASE WHEN {S.MAY_BE_JSON} THEN body ELSE x'' END"


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
    plus ``body`` as ``large_binary`` when asked), oldest first. ``body="json"``: only the
    bodies that may be JSON (``_segments.MAY_BE_JSON``), the others empty.

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
    json: bool = False,
    connect: Callable[[], sqlite3.Connection] | None = None,
    release: Callable[[sqlite3.Connection], None] | None = None,
) -> tuple[Any, list[Any]]:
    """Every capture as ``(table, packs)``: the columns of :func:`read` without ``body``, and
    the bodies one item per chunk of the table, each either a segment's bodies as it keeps
    them (``_segments.packed``: compressed, not decompressed here) or a ``large_binary``
    array. ``json``: only the bodies that may be JSON, the others empty (for a DataFrame's
    ``json`` column)."""
    return _by_segments(db, {}, plan, "json-packed" if json else "packed", True, connect, release)


def _body_sql(body: Any) -> str:
    return ", " + (_JSON_BODY if body in ("json", "json-packed") else "body")


def _by_sql(db: sqlite3.Connection, where: str, args: list[Any], body: Any) -> Any:
    import pyarrow as pa

    cols = S.SELECT + (_body_sql(body) if body else "")
    rows = db.execute(f"SELECT {cols} FROM captures{where} ORDER BY id", args).fetchall()
    if not body:
        return S.decode(S.encode(rows))
    table = S.decode(S.encode([r[:-1] for r in rows]))
    return table.append_column("body", pa.array([r[-1] for r in rows], pa.large_binary()))


def _segment_ranges(db: sqlite3.Connection, use: bool) -> list[tuple[int, int, int, Any]]:
    """``(first_id, last_id, rows, blob size)`` of every segment (their blobs are read by
    the tasks that decode them)."""
    if not use:
        return []
    try:
        return db.execute(
            "SELECT first_id, last_id, rows, CASE WHEN length(data) <= ? THEN data"
            " ELSE length(data) END FROM segments ORDER BY first_id", (_PRELOAD,)
        ).fetchall()
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
        for first, last, rows, size in _segment_ranges(db, use):
            if (type(first) is not int or type(last) is not int or first <= covered_to
                    or last < first):  # (overlapping one before it, or not a range: its rows
                continue  # are read from captures, with those up to the next segment)
            if first > covered_to + 1:  # rows between segments (next to a deletion)
                tasks.append((covered_to, first - 1, None))
            tasks.append((first, last, (rows, size)))
            covered_to = last
        tasks.append((covered_to, None, None))  # the newest rows, after every segment
        if connect is None or len(tasks) < 4:
            results = [_task(db, t, body) for t in tasks]
        else:
            results = _parallel(tasks, body, connect, release)
        parts = [p for p, _ in results if p is not None and p.num_rows] or [S.empty()]
        table = pa.concat_tables(parts)
        if body in ("packed", "json-packed") and not filters:
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


#: a segment ``(first_id, last_id, (rows, blob size))``, or the rows between two ids ``(after,
#: upto or None, None)``
Task = tuple[int, int | None, tuple[Any, Any] | None]


def _task(db: sqlite3.Connection, task: Task, body: Any) -> Any:
    """(columns, bodies) of one segment, or of the rows between ``after`` and ``upto``;
    ``body="packed"``: a segment's bodies as it keeps them (see ``packed``). A damaged
    segment's are read from ``captures``, as rows no segment covers are."""
    first, last, kept = task
    if kept is None:
        return _gap(db, first, last, body)
    if type(kept[1]) is int and kept[1] > _WHOLE and not hasattr(db, "blobopen"):
        # (Python 3.10's sqlite3 has no blobopen, and SQL's substr() loads the whole value:
        # a big segment's columns alone cost its ~100 MB of kept bodies. Its rows from
        # ``captures`` instead, as a damaged segment's: the memory of its columns only)
        return _gap(db, first - 1, last, body)
    try:
        return _segment(db, first, last, kept, body)
    except S.DamagedSegment:
        return _gap(db, first - 1, last, body)


def _segment(db: sqlite3.Connection, first: int, last: Any, kept: tuple[Any, Any], body: Any) -> Any:
    rows, size = kept
    if type(rows) is not int or type(size) not in (int, bytes):
        raise S.DamagedSegment("a segment that is not a blob")
    data, whole = (size, True) if type(size) is bytes else _segment_blob(db, first, last, size)
    part = S.decode(data, first, last, rows)
    if not body:
        return part, None
    if body in ("json", "json-packed"):
        return part, _json_bodies(db, first, last, part, data if whole else None, body)
    if not whole:  # (a big segment: its bodies from the table)
        return part, _bodies(db, first, last, part.column("id"))
    if body == "packed":
        packed = S.packed(data)
        if packed is not None and len(packed[2]) == part.num_rows + 1:
            return part, packed
    kept = S.bodies(data)  # kept in the segment: no read of the table
    return part, (kept if kept is not None else _bodies(db, first, last, part.column("id")))


def _segment_blob(db: sqlite3.Connection, first: int, last: Any, size: int) -> tuple[bytes, bool]:
    """``(blob, whole)`` of the segment ``first``..``last``: all of it, or of a big one
    (:data:`_WHOLE`) only its columns (``whole`` False), read in place (``blobopen``)."""
    if size > _WHOLE and hasattr(db, "blobopen"):  # (Python 3.11 or later)
        found = db.execute("SELECT typeof(data) FROM segments WHERE first_id = ? AND last_id = ?",
                           (first, last)).fetchone()
        if found is None or found[0] != "blob":
            raise S.DamagedSegment("a segment that is not a blob (or gone since)")
        with db.blobopen("segments", "data", first, readonly=True) as blob:
            head = blob.read(8)
            if len(head) < 8 or head[:4] != b"HLS1":
                raise S.DamagedSegment("not a hooklab column segment")
            hlen = int.from_bytes(head[4:8], "little")
            if hlen > min(size, 1 << 24):
                raise S.DamagedSegment("a segment's header runs past its end")
            blob.seek(0)
            head = blob.read(8 + hlen)
            upto = S.prefix_size(head)
            if upto is not None and upto < size:
                blob.seek(0)
                return blob.read(upto), False
            blob.seek(0)
            return blob.read(), True
    found = db.execute("SELECT data FROM segments WHERE first_id = ? AND last_id = ?",
                       (first, last)).fetchone()
    if found is None or not isinstance(found[0], bytes):
        raise S.DamagedSegment("a segment that is not a blob (or gone since)")
    return found[0], True


def _json_bodies(db: sqlite3.Connection, first: int, last: int, part: Any, data: bytes | None,
                 body: str) -> Any:
    """The bodies of a segment that may be JSON (the others empty): its kept pack as it is
    when that holds them all and little else (``body="json-packed"``; an array for
    ``"json"``), else read from ``captures``."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    found = S.json_packed(data) if data is not None else None
    if found is not None:
        pack, flags = found
        if flags is None:  # an older segment, every body kept: those that cannot be JSON
            lengths = np.diff(pack[2])  # must weigh little (frame drops them past that)
            ct = part.column("content_type").chunk(0)
            lut = np.array(["json" in str(w) for w in ct.dictionary.to_pylist()] + [False])
            jsonish = lut[pc.fill_null(ct.indices, -1).to_numpy(zero_copy_only=False)]
            enc = part.column("encoded").to_numpy() != 0
            usable = int(lengths[~(jsonish | enc)].sum()) < _HEAVY
        else:
            usable = not bool((flags == S.ELSEWHERE).any())
        if usable:
            if body == "json-packed":
                return pack
            return pa.Array.from_buffers(
                pa.large_binary(), len(pack[2]) - 1,
                [None, pa.py_buffer(pack[2]), pa.py_buffer(S.inflate(pack[1], pack[3]))])
    ids = part.column("id").to_numpy()
    rows = dict(db.execute(f"SELECT id, {_JSON_BODY} FROM captures WHERE id >= ? AND id <= ?",
                           (first, last)).fetchall())
    got = pa.array([rows.get(i, b"") for i in ids.tolist()], pa.large_binary())
    del rows
    if body != "json-packed" or found is None:  # (a segment that keeps no bodies, sealed by
        return got  # an older hooklab: as before, no frame keeps its parsed payloads)
    # (zlib, as a segment keeps it: a frame's flatten=True keeps the parsed payloads of the
    # blocks that are segments, and knows them by that)
    offsets = np.frombuffer(got.buffers()[1], np.int64, len(got) + 1)
    raw = got.buffers()[2] or pa.py_buffer(b"")
    return ("zlib", zlib.compress(raw, 1), offsets, int(offsets[-1]))


def read_segment(db: sqlite3.Connection, first_id: int, last_id: int,
                 rows: int | None = None, *, json: bool = False) -> tuple[Any, Any] | None:
    """``(table, pack)`` of the column segment ``first_id``..``last_id`` of the capture
    database open as ``db`` (a plain ``sqlite3`` connection, e.g. read-only in another
    process): the columns of :func:`read_packed`'s table without ``body``, and its bodies as
    :func:`read_packed` gives them (``json``: as it gives them with ``json=True``); ``None``
    when there is no such segment (or, with ``rows``, when it does not hold exactly that many
    captures, ``first_id`` to ``last_id``: a segment key ``(first_id, last_id, rows)`` that
    no longer describes it)."""
    try:
        found = db.execute(
            "SELECT rows, length(data) FROM segments WHERE first_id = ? AND last_id = ?",
            (first_id, last_id)).fetchone()
    except sqlite3.OperationalError:  # a database of format 1: no segments
        return None
    if found is None:
        return None
    got = _task(db, (first_id, last_id, tuple(found)), "json-packed" if json else "packed")
    if rows is not None:
        ids = got[0].column("id")
        if (got[0].num_rows != rows or rows == 0 or ids[0].as_py() != first_id
                or ids[-1].as_py() != last_id):
            return None
    return got


def _parallel(
    tasks: list[Task],
    body: Any,
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


def _gap(db: sqlite3.Connection, after: int, upto: int | None, body: Any) -> Any:
    import pyarrow as pa

    where = " WHERE id > ?" + (" AND id <= ?" if upto is not None else "")
    args = [after] if upto is None else [after, upto]
    cols = S.SELECT + (_body_sql(body) if body else "")
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
            none = False
            if key == "provider":  # ("unknown": none detected, a null)
                wanted, none = provider_wanted(value)
            found = pc.fill_null(pc.is_in(col, value_set=pa.array(wanted, pa.large_string())), False)
            both(pc.or_(found, pc.is_null(col)) if none else found)
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
