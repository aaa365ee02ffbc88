"""Thread-safe, persistent capture store on SQLite (WAL) with group commit.

>>> store = CaptureStore(":memory:")
>>> cap = store.add_sync({"method": "POST", "path": "/github", "body": b"{}"})
>>> store.count(), store.get(cap.id).bin
(1, 'github')

Writes go through one writer thread that commits many captures per transaction; a capture's
``on_done`` callback (and every subscriber) runs only after its row is durable.
"""

from __future__ import annotations

import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..capture import Capture, CaptureRecord, ForwardOutcome
from ..filters import FIELD_KEYS
from ..providers import detect_record
from ._sql import (
    _COLS,
    _FORMAT,
    _SCHEMA,
    _from_us,
    _row_to_capture,
    _us,
    add_columns,
    decoded_text,
    insert_row,
    where_clause,
)

if TYPE_CHECKING:
    from ..signatures.book import SecretBook

__all__ = ["CaptureStore", "StoreError", "where_clause"]

_BATCH = 512  # captures per transaction at most (group commit)


class StoreError(RuntimeError):
    """The capture database cannot be used (corrupt, foreign or unwritable)."""


class CaptureStore:
    """Captures in a SQLite database (``":memory:"`` for a throw-away one).

    Parameters: ``path``; ``retention_count`` keeps only the newest N captures;
    ``retention_age`` (seconds) drops older captures; both off by default.
    ``durability="full"`` (default) fsyncs every group commit, so an acknowledged capture
    survives a power cut; ``"normal"`` survives a crash of the process but not of the machine.
    Provider, event type and delivery id are detected on the writer thread; then ``secrets``
    (a :class:`~hooklab.signatures.book.SecretBook`, if given) verifies signatures, before the record
    is stored.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] = ":memory:",
        *,
        retention_count: int | None = None,
        retention_age: float | None = None,
        secrets: SecretBook | None = None,
        readonly: bool = False,
        durability: str = "full",
    ) -> None:
        if durability not in ("full", "normal"):
            raise ValueError("durability must be 'full' (fsync per group commit) or 'normal'")
        self.durability = durability
        self.path = str(path)
        self.retention_count = retention_count
        self.retention_age = retention_age
        self.secrets = secrets
        self.readonly = readonly
        self._memory = self.path == ":memory:"
        self._read_lock = threading.RLock()
        self._cond = threading.Condition()
        self._subscribers: list[Callable[[Capture], None]] = []
        self._clear_subscribers: list[Callable[[], None]] = []
        self._forward_subscribers: list[Callable[[int], None]] = []
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._closed = False
        self._last_id = 0
        self._generation = 0  # bumped by clear()
        self._last_retention = 0.0
        self._db = self._connect()
        self._last_id = self._db.execute("SELECT COALESCE(MAX(id), 0) FROM captures").fetchone()[0]
        self._cols = _COLS  # a database opened read-only from before the handshake column:
        if "handshake" not in {r[1] for r in self._db.execute("PRAGMA table_info(captures)")}:
            self._cols = _COLS.replace(", handshake", ", NULL")
        self._wdb = self._db if (self._memory or readonly) else self._connect()
        self._writer = threading.Thread(target=self._write_loop, name="hooklab-writer", daemon=True)
        self._writer.start()

    # -- connection -------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        if not self._memory:
            p = Path(self.path)
            if self.readonly and not p.exists():
                raise StoreError(f"capture database {self.path!r} does not exist")
            if not self.readonly:
                p.parent.mkdir(parents=True, exist_ok=True)
        try:
            uri = f"file:{Path(self.path).resolve()}?mode=ro" if self.readonly and not self._memory else None
            db = (
                sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
                if uri
                else sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            )
            db.execute("PRAGMA busy_timeout = 5000")
            db.create_function("hooklab_decoded", 2, decoded_text, deterministic=True)
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            fmt = None
            if "meta" in tables:
                row = db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
                fmt = row[0] if row else None
            if tables and ("captures" not in tables or fmt != _FORMAT):
                # checked before anything is written: another app's database stays as it was
                db.close()
                raise StoreError(
                    f"{self.path!r} is a SQLite database but not a hooklab capture database "
                    f"(tables: {', '.join(sorted(tables))}; format: {fmt!r}); it was left untouched"
                )
            if not self.readonly:
                if not self._memory:
                    db.execute("PRAGMA journal_mode = WAL")
                    db.execute(f"PRAGMA synchronous = {self.durability.upper()}")
                if not tables:  # one transaction: a crash cannot leave a half-made database
                    db.executescript(
                        f"BEGIN IMMEDIATE; {_SCHEMA} "
                        f"INSERT OR IGNORE INTO meta VALUES ('format', '{_FORMAT}'); COMMIT;"
                    )
                else:
                    db.executescript(_SCHEMA)  # adds what newer versions need (IF NOT EXISTS)
                add_columns(db)
            return db
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"cannot use {self.path!r} as a hooklab capture database: {exc}; "
                "the file was left untouched"
            ) from exc

    # -- writing ----------------------------------------------------------------------------
    def add(
        self, record: CaptureRecord, on_done: Callable[[Capture | BaseException], None] | None = None
    ) -> Future[Capture]:
        """Queue ``record`` for storage; the future (and ``on_done``) resolve once committed."""
        fut: Future[Capture] = Future()
        self._enqueue(record, fut, on_done)
        return fut

    def submit(self, record: CaptureRecord, on_done: Callable[[Capture | BaseException], None]) -> None:
        """Like :meth:`add` without a future: ``on_done`` gets the capture (or the error)."""
        self._enqueue(record, None, on_done)

    def _enqueue(self, record: CaptureRecord, fut: Future | None, on_done: Callable | None) -> None:
        if self._closed:
            raise StoreError("store is closed")
        if self.readonly:
            raise StoreError(f"{self.path!r} was opened read-only")
        self._queue.put((record, fut, on_done))

    def add_sync(self, record: CaptureRecord, timeout: float = 30.0) -> Capture:
        """Store ``record`` and return its :class:`Capture` once durable."""
        return self.add(record).result(timeout)

    def _write_loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            batch = [item]
            stop = False
            while len(batch) < _BATCH:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                batch.append(nxt)
            self._write_batch(batch)
            if stop:
                return

    def _write_batch(self, batch: list[tuple[dict[str, Any], Future, Callable | None]]) -> None:
        done: list[tuple[Capture | BaseException | None, Future, Callable | None]] = []
        forwarded: list[int] = []
        try:
            with self._read_lock if self._memory else _nolock:
                db = self._wdb
                db.execute("BEGIN IMMEDIATE")
                try:
                    seen: set[tuple[str, str]] = set()
                    for record, fut, cb in batch:
                        if record is None:  # flush marker
                            done.append((None, fut, cb))
                            continue
                        if isinstance(record, ForwardOutcome):
                            db.execute(
                                "INSERT INTO forwards (capture_id, at_us, target, status,"
                                " latency_ms, error) VALUES (?,?,?,?,?,?)",
                                (record.capture_id, _us(record.at), record.target, record.status,
                                 record.latency_ms, record.error),
                            )
                            done.append((None, fut, cb))
                            forwarded.append(record.capture_id)
                            continue
                        try:
                            cap = self._insert(db, record, seen)
                            done.append((cap, fut, cb))
                        except Exception as exc:  # a bad record must not sink the batch
                            done.append((exc, fut, cb))
                    db.execute("COMMIT")
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
        except Exception as exc:
            done = [(exc, fut, cb) for _, fut, cb in batch]
        caps = [c for c, _, _ in done if isinstance(c, Capture)]
        if caps:
            with self._cond:
                self._last_id = max(self._last_id, caps[-1].id)
                self._cond.notify_all()
        for result, fut, cb in done:
            if fut is not None:
                if isinstance(result, BaseException):
                    fut.set_exception(result)
                else:
                    fut.set_result(result)
            if result is None:
                continue
            if cb is not None:
                try:
                    cb(result)
                except Exception:  # noqa: BLE001 - callbacks must not kill the writer
                    pass
        for cid in forwarded:
            for fsub in list(self._forward_subscribers):
                try:
                    fsub(cid)
                except Exception:  # noqa: BLE001
                    pass
        for cap in caps:
            for sub in list(self._subscribers):
                try:
                    sub(cap)
                except Exception:  # noqa: BLE001
                    pass
        self._apply_retention()

    def _insert(self, db: sqlite3.Connection, record: dict[str, Any], seen: set) -> Capture:
        try:
            detect_record(record)
        except Exception:  # noqa: BLE001 - detection is best effort
            pass
        if self.secrets is not None:
            try:
                self.secrets.apply(record)
            except Exception:  # noqa: BLE001 - verification is best effort, storage is not
                pass
        return insert_row(db, record, seen)

    def _apply_retention(self) -> None:
        if not (self.retention_count or self.retention_age):
            return
        now = time.monotonic()
        if now - self._last_retention < 1.0:
            return
        self._last_retention = now
        with self._read_lock if self._memory else _nolock:
            if self.retention_count:
                self._wdb.execute(
                    "DELETE FROM captures WHERE id <= (SELECT id FROM captures ORDER BY id DESC"
                    " LIMIT 1 OFFSET ?)",
                    (int(self.retention_count),),
                )
            if self.retention_age:
                cutoff = datetime.now(timezone.utc) - timedelta(seconds=self.retention_age)
                self._wdb.execute("DELETE FROM captures WHERE received_us < ?", (_us(cutoff),))

    def record_forward(self, outcome: ForwardOutcome) -> None:
        """Record what became of relaying a capture (a queued write, like a capture's)."""
        fut: Future[Any] = Future()
        self._queue.put((outcome, fut, None))

    def forwards(self, capture_id: int | None = None) -> list[dict[str, Any]]:
        """Forwarding outcomes (all, or of one capture), oldest first."""
        sql = "SELECT capture_id, at_us, target, status, latency_ms, error FROM forwards"
        args: list[Any] = []
        if capture_id is not None:
            sql += " WHERE capture_id = ?"
            args.append(int(capture_id))
        return [
            {
                "capture_id": r[0],
                "at": _from_us(r[1]),
                "target": r[2],
                "status": r[3],
                "latency_ms": r[4],
                "error": r[5],
            }
            for r in self._fetch(sql + " ORDER BY id", args)
        ]

    # -- subscriptions ------------------------------------------------------------------------
    def subscribe(
        self,
        callback: Callable[[Capture], None],
        on_clear: Callable[[], None] | None = None,
        on_forward: Callable[[int], None] | None = None,
    ) -> Callable[[], None]:
        """Call ``callback(capture)`` on the writer thread for every newly stored capture.

        ``on_clear()`` runs after :meth:`clear`; ``on_forward(capture_id)`` after a forwarding
        outcome is stored. Returns a function that unsubscribes. Callbacks must be quick.
        """
        self._subscribers.append(callback)
        if on_clear is not None:
            self._clear_subscribers.append(on_clear)
        if on_forward is not None:
            self._forward_subscribers.append(on_forward)

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)
            if on_clear is not None and on_clear in self._clear_subscribers:
                self._clear_subscribers.remove(on_clear)
            if on_forward is not None and on_forward in self._forward_subscribers:
                self._forward_subscribers.remove(on_forward)

        return unsubscribe

    # -- reading ----------------------------------------------------------------------------
    def _fetch(self, sql: str, args: Sequence[Any] = ()) -> list[tuple]:
        with self._read_lock:
            return self._db.execute(sql, args).fetchall()

    def get(self, capture_id: int) -> Capture | None:
        rows = self._fetch(f"SELECT {self._cols} FROM captures WHERE id = ?", (int(capture_id),))
        return _row_to_capture(rows[0]) if rows else None

    def query(
        self, *, limit: int | None = None, offset: int = 0, newest_first: bool = False, **filters: Any
    ) -> list[Capture]:
        """Captures matching ``filters`` (oldest first unless ``newest_first``)."""
        where, args = where_clause(filters)
        order = "DESC" if newest_first else "ASC"
        sql = f"SELECT {self._cols} FROM captures{where} ORDER BY id {order}"
        if limit is not None or offset:
            sql += " LIMIT ? OFFSET ?"
            args += [-1 if limit is None else int(limit), int(offset)]
        return [_row_to_capture(r) for r in self._fetch(sql, args)]

    def handshakes(self) -> dict[int, str]:
        """``{capture id: what was answered}`` for the captures that were endpoint handshakes
        (few: read through a partial index)."""
        if self._cols is not _COLS:
            return {}
        return dict(self._fetch("SELECT id, handshake FROM captures WHERE handshake IS NOT NULL"))

    def rows(self, columns: str, **filters: Any) -> list[tuple]:
        """Raw rows of selected columns (used by the DataFrame builder)."""
        where, args = where_clause(filters)
        return self._fetch(f"SELECT {columns} FROM captures{where} ORDER BY id", args)

    def iter_rows(self, columns: str, *, chunk: int = 32_768, **filters: Any) -> Iterator[list[tuple]]:
        """Raw rows ``(id, <columns>)`` matching ``filters``, oldest first, ``chunk`` rows at a
        time (keyset paging: each chunk is one short query, the lock is not held between them)."""
        where, args = where_clause(filters)
        sql = f"SELECT id, {columns} FROM captures{where}{' AND' if where else ' WHERE'} id > ? ORDER BY id LIMIT ?"
        after = -1
        while True:
            rows = self._fetch(sql, [*args, after, int(chunk)])
            if not rows:
                return
            yield rows
            if len(rows) < chunk:
                return
            after = rows[-1][0]

    @contextmanager
    def read_connection(self) -> Iterator[sqlite3.Connection]:
        """A connection for read-only work such as ``lab.sql``: a new ``mode=ro`` connection on
        a database file (closed afterwards), or for ``":memory:"`` the store's own connection,
        held under its lock meanwhile (writes wait). Leave it as you found it."""
        if self._memory:
            with self._read_lock:
                yield self._db
            return
        db = sqlite3.connect(
            Path(self.path).resolve().as_uri() + "?mode=ro", uri=True, check_same_thread=False,
            isolation_level=None,
        )
        try:
            db.execute("PRAGMA busy_timeout = 5000")
            yield db
        finally:
            db.close()

    def count(self, **filters: Any) -> int:
        where, args = where_clause(filters)
        return self._fetch(f"SELECT COUNT(*) FROM captures{where}", args)[0][0]

    def distinct(self, column: str) -> list[str]:
        if column not in FIELD_KEYS:
            raise ValueError(column)
        rows = self._fetch(f"SELECT DISTINCT {column} FROM captures WHERE {column} IS NOT NULL")
        return sorted(r[0] for r in rows)

    @property
    def last_id(self) -> int:
        """Id of the newest capture stored (0 when none ever was)."""
        return self._last_id

    def wait_for(
        self, predicate: Callable[[], bool], timeout: float | None
    ) -> bool:
        """Block until ``predicate()`` (re-checked after each commit) is true or time runs out."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not predicate():
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(0.25 if remaining is None else min(remaining, 0.25))
        return True

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until everything queued so far is committed."""
        if self._closed:
            return
        fut: Future[Capture] = Future()
        self._queue.put((None, fut, None))
        fut.result(timeout)

    # -- maintenance --------------------------------------------------------------------------
    def clear(self) -> int:
        """Delete every capture (ids keep increasing afterwards). Returns how many were deleted."""
        if self.readonly:
            raise StoreError(f"{self.path!r} was opened read-only")
        self.flush()
        with self._read_lock:
            n = self._wdb.execute("DELETE FROM captures").rowcount
            self._wdb.execute("DELETE FROM forwards")
        self._generation += 1
        for cb in list(self._clear_subscribers):
            try:
                cb()
            except Exception:  # noqa: BLE001
                pass
        return n

    def close(self) -> None:
        """Flush pending writes and close the database."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._writer.join(timeout=30)
        with self._read_lock:
            if self._wdb is not self._db:
                self._wdb.close()
            self._db.close()

    def __enter__(self) -> CaptureStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<CaptureStore {self.path!r}>"


class _NoLock:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


_nolock = _NoLock()
