"""Thread-safe, persistent capture store on SQLite (WAL) with group commit.

>>> store = CaptureStore(":memory:")
>>> cap = store.add_sync({"method": "POST", "path": "/github", "body": b"{}"})
>>> store.count(), store.get(cap.id).bin
(1, 'github')

Writes go through one writer thread that commits many captures per transaction; a capture's
``on_done`` callback (and every subscriber) runs only after its row is durable. With
``durability="full"`` on a WAL file that is after a third thread synced the WAL (``_sync``):
the writer commits without waiting for the disk and is on the next batch meanwhile. The queue
in front of it is bounded (:data:`QUEUE_CAPTURES` captures, :data:`QUEUE_BYTES` of bodies and
headers, counted until a capture is answered, so what waits for the disk counts too):
:meth:`CaptureStore.add` waits for room, :meth:`CaptureStore.submit` (the server's) refuses
with :class:`StoreBusy`, so memory stays bounded however fast records come.

A record is prepared by the thread that queues it (provider detection, signature check, the
row's values and search words): for a webhook that is the server's thread, which has time
while the writer waits for the disk. A batch then costs the writer a few SQL statements.

The writer also keeps the search index (``_search``) up to date: in the transaction that
stores the rows when it is keeping up, a chunk at a time between batches when it is behind
(after a bulk import, or on a database written by an older version); reads are exact either
way. A file store has a second thread, the upkeep thread, for what must not hold up an
acknowledgement: SQLite's WAL checkpoints and the column segments (``_segments``), encoded
from its own connection and handed to the writer to store.
"""

from __future__ import annotations

import bisect
import collections
import contextlib
import logging
import os
import queue
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timezone
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..capture import Capture, CaptureRecord, ForwardOutcome, scrub_detected
from ..filters import FIELD_KEYS, validate
from ..providers import HANDSHAKE_SEEN, detect_record, provider_refusal
from . import _columns, _search
from . import _segments as S
from ._segments import ENCODED, header_section_text
from ._sql import (
    _COLS,
    _FORMAT,
    _FORMATS_READ,
    _MAX_ID,
    _SCHEMA,
    INDEXES,
    VALUES,
    BulkValues,
    SearchPlan,
    _from_us,
    _row_to_capture,
    _us,
    add_columns,
    insert_many,
    insert_rows,
    record_values,
    row_capture,
    where_clause,
)
from ._sync import WalSync

_log = logging.getLogger("hooklab")

if TYPE_CHECKING:
    from ..signatures.book import SecretBook

__all__ = ["ENCODED", "MAX_RETENTION_COUNT", "QUEUE_BYTES", "QUEUE_CAPTURES", "CaptureStore",
           "DiskFull", "ImportFailed", "ImportNotWritten", "RowMaker", "StoreBusy", "StoreError", "Submitted",
           "check_retention",
           "header_section_text", "read_only_uri", "where_clause", "write_error"]

_BATCH = 512  # captures per transaction at most (group commit)
_BULK = 5000  # captures per transaction of a bulk import
#: id ranges of captures scrubbed on arrival a store keeps (see CaptureStore.scrubbed_on_arrival)
_CLEAN_RANGES = 256
#: captures whose fields shown() changes a store keeps (a live view's pages, an API client's)
_SHOWN_KEPT = 2048
_IDS_PER_QUERY = 500  # capture ids in one IN (...) of forwards(ids=...)
#: values of a prepared row (record_values); an import's row may hold one more, its forwards
_VALUES = VALUES
#: captures waiting for the writer at most
QUEUE_CAPTURES = 10_000
#: body bytes (and headers past _HEADERS_FREE) waiting for the writer at most (one larger capture is still let through alone)
QUEUE_BYTES = 64 * 1024 * 1024
#: bytes of a capture's stored headers not counted in QUEUE_BYTES (a usual head's are 1-2 KB)
_HEADERS_FREE = 16 * 1024
#: a capture waiting in a batch: INSERT values, record, future, callback, search words (or None)
_Pending = tuple[list[Any], dict[str, Any], "Future | None", "Callable | None", "str | None"]
#: keys of the writer's control items (queued like captures, never stored as one)
_CONTROL = ("__indexes__", "__meta__", "__clear__", "__bulk__", "__segment__", "__summaries__",
            "__status__")
#: captures committed between two WAL checkpoints (by the upkeep thread) at most
_CHECKPOINT_ROWS = 2048
#: commits between two checkpoints at most: a commit of one capture still adds a page of the
#: table and of each index to the WAL (some 40 KB), and the WAL needs that room on the disk
_CHECKPOINT_COMMITS = 256
#: body bytes committed between two checkpoints at most (the WAL holds them until then)
_CHECKPOINT_BYTES = 16 << 20
#: bytes of WAL file past which the upkeep thread checkpoints, however few commits made it:
#: a small webhook's commit writes a page of the table and of each index and of the search
#: index (some 60 KB), so 256 of them filled a 16 MiB disk with page copies alone
_CHECKPOINT_WAL = 4 << 20
#: a WAL past this size is also checkpointed once the disk has less room left than it holds
#: (a checkpoint needs up to as much room in the database file as the WAL holds)
_CHECKPOINT_WAL_MIN = 256 << 10
#: seconds between two looks, while captures are not being stored, at whether a write would
#: succeed again (the disk has room, the file is back): see _Upkeep._probe
_PROBE_EVERY = 2.0
#: bytes a WAL file keeps once checkpointed (the rest is given back to the disk as the WAL
#: starts over; in a quiet moment it is emptied altogether: see _Upkeep._shrink_wal)
_WAL_KEEP = 1 << 20
#: seconds between two attempts to give the WAL's room back after a write failed on a full disk
_FULL_RETRY = 5.0
#: times writes failed kept, numbered, for readers that look now and then (failures_after)
_EPISODES_KEPT = 64
#: summaries of column segments kept by upper layers (``explore``'s schema), see ``summaries``
_SUMMARIES_SCHEMA = """CREATE TABLE IF NOT EXISTS segment_summaries (
    kind TEXT NOT NULL,
    first_id INTEGER NOT NULL,
    last_id INTEGER NOT NULL,
    rows INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (kind, first_id)
)"""
_CATCH_UP = 2000  # rows indexed per catch-up transaction
_WORDS_HELD = 8 << 20  # characters of words a catch-up holds before handing them to the index
#: captures one retention pass deletes at most (it holds the writer: webhooks wait)
_RETENTION_CHUNK = 10_000
#: captures a retention pass deletes at most after passes failed on a full disk: a deletion
#: is written to the WAL first, so a pass that needs less room can succeed where a big one
#: cannot (and the pages it frees take the next captures)
_RETENTION_CHUNK_MIN = 64
#: seconds between two attempts of a retention pass after one failed (a locked database holds
#: the writer busy_timeout's 5 s per attempt: captures are waiting meanwhile)
_RETENTION_RETRY = 5.0
#: forwarding outcomes kept in memory while they cannot be stored (a full disk), stored once
#: writes work again; past this many a new one is dropped (and said so in the log)
_HELD_FORWARDS = 4096
#: seconds between retention passes that count the captures kept from the newest (the others
#: count the captures stored since the last pass: another process writing to the file is
#: caught up with then)
_RETENTION_EXACT = 30.0
#: seconds between two retention passes of a store nothing is written to (``retention_age``:
#: captures grow old without a write)
_RETENTION_IDLE = 2.0
_IDLE_AFTER = 1.0  # seconds without a write before ``when_idle`` work runs
_IDLE_SLICE = 0.2  # seconds of ``when_idle`` work per quiet wake-up of the upkeep thread
#: what the upkeep thread writes for itself: not a write that makes the store busy (nor is
#: a flush marker)
_UPKEEP_ONLY = ("__segment__", "__summaries__")
#: the row values (``record_values``) of TEXT columns a segment holds, and the types they
#: read back as they were given (SQLite writes a number there as text)
_TEXT_VALUES = (1, 2, 3, 4, 6, 8, 11, 12, 13, 17)
_AS_STORED = frozenset((str, bytes, type(None)))
#: rows after the last segment an import reads back to seal them with its own (see
#: ``CaptureStore._seal_imported``); more are left to the upkeep thread
_SEAL_BEHIND = 4 * S.SEG_ROWS
_LAG = 4 * S.SEG_ROWS  # behind by more than this, the writer catches up between batches too


#: the largest ``retention_count``: SQLite's integers (past them no pass could run: every one
#: failed on binding the count)
MAX_RETENTION_COUNT = 2**63 - 1
#: what each retention setting takes (besides ``None``, which turns it off)
_RETENTION_TAKES = {
    "retention_count": f"a whole number of captures to keep, 1 to {MAX_RETENTION_COUNT}",
    "retention_age": "a number of seconds, more than 0",
}


def check_retention(name: str, value: Any) -> Any:
    """``value`` as the retention setting ``name`` (``"retention_count"`` or
    ``"retention_age"``) holds it, or ``TypeError`` / ``ValueError`` saying what it takes.

    ``None`` turns the setting off; a count is a whole number, 1 or more, and an age a number
    of seconds, more than 0 (an ``int`` is made a ``float``), as ``hooklab serve
    --retention-count`` / ``--retention-age`` take them. ``0`` is no way to turn retention
    off: it was taken, and kept every capture. A ``bool`` is neither (``True`` kept one
    capture).

    >>> check_retention("retention_count", 1000), check_retention("retention_age", 90)
    (1000, 90.0)
    >>> check_retention("retention_count", None) is None
    True
    >>> check_retention("retention_count", 0)
    Traceback (most recent call last):
    ...
    ValueError: retention_count=0 refused: a whole number of captures to keep, 1 to 9223372036854775807 (None turns retention off)
    >>> check_retention("retention_age", float("nan"))
    Traceback (most recent call last):
    ...
    ValueError: retention_age=nan refused: a number of seconds, more than 0 (None turns retention off)
    """
    takes = _RETENTION_TAKES[name]
    if value is None:
        return None
    import reprlib

    short = reprlib.Repr()  # (not 400 digits of a typo)
    short.maxlong, short.maxstring, short.maxother = 40, 60, 60
    shown = short.repr(value)
    said = f"{name}={shown} refused: {takes} (None turns retention off)"
    if name == "retention_count":
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(said)
        if not 1 <= value <= MAX_RETENTION_COUNT:
            raise ValueError(said)
        return int(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(said)
    try:
        seconds = float(value)
    except OverflowError:  # (an int past a float's range: an age past any date, as 1e300
        seconds = float("inf")  # is, which deletes nothing)
    if not seconds > 0:  # (0, -0.0, below, and NaN)
        raise ValueError(said)
    return seconds


class ImportInterrupted(KeyboardInterrupt):
    """A bulk import (``add_many``, ``add_rows``, ``hooklab.load_jsonl``) stopped by Ctrl-C
    (a kernel interrupt): still a ``KeyboardInterrupt``, saying how many records are stored
    (``stored``: the first ones, in order; a chunk the writer was committing when the
    interrupt came is waited for and counted), so that the rest can be imported
    (``hooklab.load_jsonl(path, db=..., skip=stored)``) instead of all of them again.

    ``maybe`` is 0 when ``stored`` is exact. A second Ctrl-C while that chunk is waited for
    (or a writer still busy with it after a minute) stops the wait: then at least ``stored``
    records are stored, and perhaps the ``maybe`` after them too (a chunk is one transaction:
    all of it or none); the message says so. Count them before importing the rest.

    >>> str(ImportInterrupted(5000))
    'import interrupted: the first 5000 records are stored'
    >>> str(ImportInterrupted(5000, maybe=5000))  # doctest: +NORMALIZE_WHITESPACE
    'import interrupted: at least the first 5000 records are stored, perhaps the first 10000
    (the writer was still storing 5000 when the wait for it was cut short): count them before
    importing the rest'
    """

    def __init__(self, stored: int, message: str | None = None, *, maybe: int = 0) -> None:
        if message is None:
            message = f"import interrupted: the first {stored} records are stored"
            if maybe:
                message = (f"import interrupted: at least the first {stored} records are stored,"
                           f" perhaps the first {stored + maybe} (the writer was still storing"
                           f" {maybe} when the wait for it was cut short): count them before"
                           " importing the rest")
        super().__init__(message)
        self.stored = stored
        #: records after the first ``stored`` that may be stored too (0: ``stored`` is exact)
        self.maybe = maybe


class ImportFailed(ValueError):
    """A bulk import (``add_many``, ``add_rows``, ``hooklab.load_jsonl`` into a file) stopped
    by a record it could not read or store after chunks before it were stored (rows are
    committed thousands at a time): still a ``ValueError``, its message the error's
    (``reason``) and how many records are stored (``stored``: the first ones, in order; those
    are intact), so that once the record is put right the rest is imported
    (``hooklab.load_jsonl(path, db=..., skip=...)``) instead of all of them again, which
    stored the first ones twice. ``first``: records an earlier import stored (its ``skip=``),
    counted in. Nothing stored: the error is raised as it is.

    >>> str(ImportFailed("'x.jsonl': line 7002 is not a capture (no JSON)", 5000))
    "'x.jsonl': line 7002 is not a capture (no JSON); the first 5000 records are stored (do not import them again): once it is put right, import the rest with skip=5000"
    """

    def __init__(self, reason: str, stored: int, first: int = 0) -> None:
        done = first + stored
        super().__init__(f"{reason}; the first {done} records are stored (do not import them"
                         f" again): once it is put right, import the rest with skip={done}")
        self.reason = reason
        self.stored = stored
        self.first = first


class _Job:
    """One piece of an import's work, done by the store's import thread: ``done`` is
    released once it is done (a chunk: stored or refused), ``error`` then says what it
    raised. The importing thread waits on ``done`` alone: a lock no other thread waits on."""

    __slots__ = ("work", "payload", "rows", "done", "error", "finished")

    def __init__(self, work: Callable[[_Job], bool | None], payload: Any = None,
                 rows: int = 0) -> None:
        self.work = work  # True: done later, by another thread (a chunk: the writer's)
        self.payload = payload
        self.rows = rows
        self.done = threading.Lock()
        self.done.acquire()
        self.error: BaseException | None = None
        self.finished = False

    def finish(self, error: BaseException | None) -> None:
        self.error = error
        self.finished = True
        self.done.release()


class Submitted:
    """A capture queued by :meth:`CaptureStore.submit`, until the writer takes it: whoever
    queued it may take it back (:meth:`withdraw`) as long as no transaction holds it yet.

    The writer claims each capture once it holds the database's write lock, just before
    its row goes in: from then on the capture is being committed and cannot be withdrawn.
    A withdrawn capture is never stored, and its ``on_done`` is never called. The capture
    server withdraws, as it stops, the captures still waiting for the store (another
    program holding the database locked): their senders get no answer, so nothing may be
    stored for them.

    >>> got = []
    >>> ticket = Submitted(got.append)
    >>> ticket.withdraw(), ticket.claim()      # taken back first: the writer skips it
    (True, False)
    >>> ticket("capture"); got                 # (and its on_done is never called)
    []
    >>> other = Submitted(got.append)
    >>> other.claim(), other.withdraw()        # claimed first: it is being committed
    (True, False)
    """

    __slots__ = ("on_done", "state")

    def __init__(self, on_done: Callable[[Any], None]) -> None:
        self.on_done = on_done
        self.state = _QUEUED

    def claim(self) -> bool:
        """Writer thread, holding the write lock: whether to store it (not withdrawn)."""
        with _claims:
            if self.state == _QUEUED:
                self.state = _CLAIMED
            return self.state == _CLAIMED

    def withdraw(self) -> bool:
        """Take the capture back: ``True`` if it will never be stored (nor ``on_done``
        called), ``False`` if the writer already took it (its ``on_done`` comes)."""
        with _claims:
            if self.state == _QUEUED:
                self.state = _WITHDRAWN
            return self.state == _WITHDRAWN

    def __call__(self, result: Any) -> None:
        if self.state != _WITHDRAWN:  # (a batch that failed whole tells each of its items)
            self.on_done(result)


_QUEUED, _CLAIMED, _WITHDRAWN = 0, 1, 2
#: orders Submitted.claim (the writer) with Submitted.withdraw (the server's loop)
_claims = threading.Lock()


class _Cancelled(Exception):
    """A chunk of an interrupted import, not handed to the writer (see _Handover.known)."""


class _Handover:
    """One import's work, done by the store's import thread (``hooklab-import``).

    Python raises a Ctrl-C in the main thread, at any call or loop turn: one that landed
    after a chunk went into the queue and before the import knew it (just after the queue's
    ``put`` returned) left the writer storing a chunk that :class:`ImportInterrupted` did
    not count, so that ``skip=`` imported it twice; one just after a ``with`` took a lock
    the store's other threads take (the queue's room: ``Condition.__enter__`` returned, the
    ``with`` not yet begun) kept it for good, and the store hung; one as a thread of the
    import's own was started left it waiting forever. So the importing thread takes no lock
    of the store's, starts no thread and waits on no future: it puts a :class:`_Job` in the
    import thread's inbox (a ``SimpleQueue``, no Python-level lock) and waits on that job's
    own lock. The import thread counts the import (``_importing``), drops and makes again the
    indexes, takes the queue's room and queues the chunks; the writer's threads count what
    they stored. After an interrupt, the import's end is queued (its jobs are done in
    order), :meth:`settle` waits for it and for the chunks handed to the writer, and
    :meth:`known` says what is stored (at least, if a second Ctrl-C cut the wait short)."""

    def __init__(self, store: CaptureStore) -> None:
        self._store = store
        self._handed: list[_Job] = []  # chunks in the write queue (appended under _count)
        self._count = threading.Lock()  # (a plain lock: the importing thread takes it in a
        # ``with`` only in known(), where nothing can keep it)
        self.stored = 0  # records stored (in order: chunk by chunk)
        self._cancelled = False  # settle gave up waiting: no more chunks to the writer
        #: the import's end, queued first thing after an interrupt (see add_rows)
        self.ended = _Job(self.end)
        # the import thread's own, in the order of the jobs:
        self._begun = self._ended = False
        self._fresh = False  # the indexes were dropped (an import into an empty store)

    def run(self, work: Callable[[_Job], bool | None], payload: Any = None,
            rows: int = 0) -> None:
        """Have the import thread do ``work``; returns once it is done, raising what it
        raised."""
        job = _Job(work, payload, rows)
        self._store._imports.put(job)
        self._wait(job, None)
        if job.error is not None:
            raise job.error

    def _wait(self, job: _Job, timeout: float | None) -> bool:
        """Wait for ``job`` (``timeout`` seconds at most: False if not done by then)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = 0.5 if deadline is None else max(0.0, min(0.5, deadline - time.monotonic()))
            if job.done.acquire(timeout=left):
                return True
            if self._store._imports_over:  # (the store closed: nobody will do it)
                if job.done.acquire(timeout=1.0):  # (unless it was being answered just then)
                    return True
                raise StoreError("store is closed")
            if deadline is not None and time.monotonic() >= deadline:
                return False

    # -- the import thread's jobs ---------------------------------------------------------
    def begin(self, _job: _Job) -> None:
        """Count the import; into an empty store, drop the table's indexes (they are built
        once at the end: much faster than row by row; repeated deliveries are found in
        memory meanwhile)."""
        st = self._store
        with st._room:
            st._importing += 1  # no index upkeep between chunks: it would hold them up
        self._begun = True
        if st._importing == 1 and st._last_id == 0 and not st._subscribers:
            try:
                self._fresh = st._control({"__indexes__": "drop"})
            except sqlite3.OperationalError as exc:  # (the file: locked, a full disk)
                raise StoreError(f"no record stored: the database cannot be written"
                                 f" ({write_error(exc)})") from exc

    def hand(self, job: _Job) -> bool:
        """Queue the chunk ``job`` for the writer (``__bulk__`` rows), once there is room; it
        is finished by the writer's threads once stored."""
        st = self._store
        if self._cancelled:
            raise _Cancelled
        n, size = job.rows, job.payload["size"]
        # the chunk counts as its rows, once (a second reservation would wait for a chunk
        # over QUEUE_BYTES to leave: forever)
        st._reserve(n, size, True, None)
        fut: Future = Future()
        with self._count:
            if self._cancelled:
                st._release(n, size)
                raise _Cancelled
            try:
                st._enqueue(job.payload, fut, None, reserved=True)
            except BaseException:
                st._release(n, size)
                raise
            self._handed.append(job)
        fut.add_done_callback(lambda f: self._stored(job, f.exception()))
        return True

    def _stored(self, job: _Job, error: BaseException | None) -> None:
        # (the writer's thread or the WAL syncer's, once the chunk is durable)
        with self._count:
            if error is None:
                self.stored += job.rows
            # done with: its rows go (the writer has its own reference while it needs them),
            # and so does the job (a finished chunk is neither waited for nor counted by
            # settle and known): an import held every chunk it stored, bodies and all, until
            # the store closed (the import thread's last job kept this handover alive)
            job.payload = None
            with contextlib.suppress(ValueError):
                self._handed.remove(job)
            job.finish(error)

    def end(self, _job: _Job, stored: int | None = None) -> None:
        """The import is over (``stored``: how many it stored; ``None``: it failed or was
        interrupted): the indexes made again if they were dropped, the import no longer
        counted, the writer woken (it catches up from here). Done once, whoever asks."""
        if self._ended or not self._begun:
            return
        self._ended = True
        st = self._store
        try:
            if self._fresh:
                self._fresh = False  # (made now, or said why not)
                st._indexes_again(stored)
        finally:
            with st._room:
                st._importing -= 1
                if not st._importing:  # (the writer's rows of the last, partial segment,
                    # bodies and all, kept for the next chunk: read back from the file if
                    # another import comes; safe at any moment, _seal_imported checks it)
                    st._unsealed = (-1, [], None)
            if not st._closed and st._failed is None:
                # (a wake-up that fails, on a locked database, must not replace what the
                # import raised or returned)
                with contextlib.suppress(Exception):
                    st._through_writer()

    def settle(self, timeout: float = 60.0) -> None:
        """After an interrupt (:attr:`ended` queued): wait until the import ended (see
        :meth:`end`) and the chunks handed to the writer are stored or not; a second Ctrl-C
        (or ``timeout``) stops waiting. :meth:`known` then says what is stored."""
        try:
            deadline = time.monotonic() + timeout
            if self._wait(self.ended, timeout):
                for job in list(self._handed):
                    if not job.finished:  # (a finished one's lock is the import's own)
                        self._wait(job, max(0.0, deadline - time.monotonic()))
        except (KeyboardInterrupt, StoreError):
            pass

    def known(self) -> tuple[int, int]:
        """``(stored, maybe)``: the records stored, and those of the chunks handed to the
        writer that are not yet stored or refused (0 once :meth:`settle` waited for them all);
        no chunk is handed to it after this."""
        with self._count:
            self._cancelled = True
            return self.stored, sum(job.rows for job in self._handed if not job.finished)


class StoreError(RuntimeError):
    """The capture database cannot be used (corrupt, foreign or unwritable).

    ``reason``, when given, says why in words without a path (what a sender may read in a
    503, see :func:`write_error`); the message itself names the file.

    >>> StoreError("cannot open '/x/c.sqlite3': the disk is full", reason="the disk is full").reason
    'the disk is full'
    """

    def __init__(self, *args: object, reason: str | None = None) -> None:
        super().__init__(*args)
        self.reason = reason


class DiskFull(StoreError):
    """The capture database could not be opened or made because its disk is full (or out of
    inodes): the file itself is fine. ``hooklab.open`` then reads it as it is, if it can."""


class StoreBusy(StoreError):
    """The write queue is full (:meth:`CaptureStore.submit` does not wait)."""


class NotDurable(StoreError):
    """A capture was committed but the disk did not confirm it (a failed WAL sync): it is in
    the database, yet not acknowledged (the sender gets 503 and may retry)."""


class ImportNotWritten(StoreError):
    """A bulk import stopped because the database could not be written (a full disk, an I/O
    error): ``count`` records from ``stored`` on were not stored, the ``stored`` before them
    are (intact, in order), ``why`` is SQLite's word. ``first``: records an earlier import
    stored (its ``skip=``), counted in: ``hooklab.load_jsonl(path, db=..., skip=first +
    stored)`` imports the rest once there is room.

    >>> str(ImportNotWritten(5000, 700, "database or disk is full"))
    'records 5000 to 5699 not stored: the database cannot be written (database or disk is full); the 5000 before them are stored'
    >>> str(ImportNotWritten(5000, 700, "database or disk is full", first=100))
    'records 5100 to 5799 of the file not stored: the database cannot be written (database or disk is full); the first 5100 records of the file are stored: once there is room, import the rest with skip=5100'
    """

    def __init__(self, stored: int, count: int, why: str, first: int = 0) -> None:
        done = first + stored
        if first:
            said = (f"records {done} to {done + count - 1} of the file not stored: the database"
                    f" cannot be written ({why}); the first {done} records of the file are"
                    f" stored: once there is room, import the rest with skip={done}")
        else:
            said = (f"records {stored} to {stored + count - 1} not stored: the database cannot"
                    f" be written ({why}); the {stored} before them are stored")
        super().__init__(said)
        self.stored, self.count, self.why, self.first = stored, count, why, first


class RowMaker:
    """The row :meth:`CaptureStore.add_rows` stores for a capture record, as
    :meth:`CaptureStore.add_many` makes it: the sender detected (best effort; no signature is
    verified here), then the INSERT values. One maker per import: it remembers what repeats
    from record to record. Raises ``TypeError`` / ``ValueError`` for a record it cannot store.
    ``prepare(record)`` replaces the detection (a store with secrets verifies there too).
    An imported record's forwarding outcomes (``record["forwards"]``, see
    :func:`hooklab.capture.keep_imported`) ride after the values, as one more item: the store
    records them with the capture, whose id is known only then.

    >>> row = RowMaker()({"path": "/github", "headers": [("X-GitHub-Event", "ping")], "body": b"{}"})
    >>> row[3:5], row[11:13]
    (['/github', 'github'], ['github', 'ping'])
    """

    __slots__ = ("_prepare", "_values")

    def __init__(self, prepare: Callable[[dict[str, Any]], None] | None = None) -> None:
        self._values = BulkValues()
        self._prepare = _detect if prepare is None else prepare

    def __call__(self, record: dict[str, Any]) -> list[Any]:
        if not isinstance(record, dict):
            raise TypeError("not a dict")
        self._prepare(record)
        row = self._values(record)
        forwards = record.get("forwards")
        if forwards:
            row.append(forwards)
        return row


def _detect(record: dict[str, Any]) -> None:
    try:
        detect_record(record)
    except Exception:  # noqa: BLE001 - detection is best effort
        pass


class CaptureStore:
    """Captures in a SQLite database (``":memory:"`` for a throw-away one).

    Parameters: ``path``; ``retention_count`` keeps only the newest N captures (1 or more);
    ``retention_age`` (seconds, more than 0) drops older captures; both off (``None``) by
    default. A value they cannot take (``0``, a negative one, ``NaN``, a ``bool``) is refused,
    when given and when set later (``store.retention_count = 0``), as
    :func:`check_retention` says: ``None`` turns them off.
    ``durability="full"`` (default) fsyncs every group commit, so an acknowledged capture
    survives a power cut; ``"normal"`` survives a crash of the process but not of the machine.
    Provider, event type and delivery id are detected when a record is queued; then
    ``secrets`` (a :class:`~hooklab.signatures.book.SecretBook`, if given) verifies signatures,
    before the record is stored.
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
        # (checked before anything is opened: a refused value leaves no file behind)
        retention_count = check_retention("retention_count", retention_count)
        retention_age = check_retention("retention_age", retention_age)
        # the JSON columns and the search index's catch-up use orjson on the store's own threads:
        # imported here, on the caller's, since a first import on a background thread while the
        # kernel imports too can deadlock (and summarizing in quiet moments imports nothing)
        import orjson  # noqa: F401

        from ..filters import prime_codecs

        prime_codecs()  # (search words of UTF-16/32 bodies: the same, for their codecs)
        self.durability = durability
        self.path = str(path)
        self.retention_count = retention_count
        self.retention_age = retention_age
        self.secrets = secrets
        self.readonly = readonly
        #: export names given in place of the ``meta`` table's (read-only: renew_export_source)
        self._renamed: dict[str, str] = {}
        self._memory = self.path == ":memory:"
        self._read_lock = threading.RLock()
        self._cond = threading.Condition()
        self._subscribers: list[Callable[[Capture], None]] = []
        self._clear_subscribers: list[Callable[[], None]] = []
        self._forward_subscribers: list[Callable[[int], None]] = []
        self._status_subscribers: list[Callable[[int], None]] = []
        #: writer thread: status changes of rows no segment covered yet (capture id -> the
        #: ``_status_epoch`` it was made in): a segment read before one is not kept
        self._status_changed: dict[int, int] = {}
        self._status_epoch = 0
        #: status changes told by the store's threads as it closed (see record_status)
        self._late_status: list[tuple[int, int]] = []
        #: the writer waits for a write lock another connection holds (see _begin_batch)
        self._locked_out = False
        self._delete_subscribers: list[Callable[[], None]] = []
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        #: the import thread's inbox (see _Handover); ``_imports_over`` once it ended
        self._imports: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._imports_over = True  # (until it is started: a read-only store has none)
        self._room = threading.Condition()  # guards the two counters below
        self._queued = 0
        self._queued_bytes = 0
        self._closed = False
        self._last_id = 0
        #: (secrets generation, [[first, last] id ranges]): captures this store scrubbed on
        #: arrival of every secret given by then, under that generation of its book (see
        #: :meth:`shown`); ``_fresh``: the writer's batch's, (id, generation) until committed
        self._clean: tuple[int, list[list[int]]] = (-1, [])
        self._clean_lock = threading.Lock()
        self._fresh: list[tuple[int, int, int]] = []
        self._gens: dict[int, int] = {}  # (id of a record of the batch -> its generation)
        #: (id, arrival) -> (secrets version, the fields shown() changes), the last
        #: :data:`_SHOWN_KEPT`
        self._shown_memo: dict[tuple[int, Any], tuple[int, dict[str, Any]]] = {}
        #: provider names no provider id that a capture here was found to have
        #: (:meth:`provider_check`): valid for as long as this store is open, whatever is
        #: cleared or aged out since (a live view filtered on one stays one)
        self._providers_found: set[str] = set()
        self._generation = 0  # bumped after each commit that deleted captures
        #: the oldest id :meth:`stored_span` last found in the file (0: none, or not looked)
        self._oldest_seen = 0
        self._counts: dict[str, tuple[int, int, int]] = {}  # filters -> (generation, max id, n)
        self._pool: list[sqlite3.Connection] = []  # idle read connections for bulk reads
        self._importing = 0  # bulk imports under way: upkeep waits until they are done
        self._seen_deliveries: set[tuple[str, str, str]] | None = None  # (a load into an empty store)
        #: writer thread: an import's rows after ``_segments_upto`` not yet in a segment, as a
        #: segment reads them (its rows and the bodies it keeps): see _seal_imported
        self._unsealed: tuple[int, list[tuple], S.BodyPack | None] = (-1, [], None)
        self._last_retention = 0.0
        self._retention_left = False  # a pass is owed: skipped (a second not over) or partial
        self._last_idle_retention = 0.0  # the last pass after a batch that stored nothing
        #: after a retention pass that left exactly retention_count captures: (generation,
        #: newest id then, first id kept, when counted from the newest, retention_count, the
        #: writer connection's data_version: another connection's commits make it stale)
        self._retained: tuple[int, int, int, float, int, int] | None = None
        #: the retention settings the last pass applied (see _retention_wanted)
        self._retention_as: tuple[Any, Any] = (None, None)
        self._held: int | None = None  # the lock of a file read as it is (_hold_as_is)
        self._retention_chunk = _RETENTION_CHUNK  # smaller after passes failed on a full disk
        self._retention_retry_at = 0.0  # no pass before this (monotonic) after one failed
        #: why retention passes fail and since when (``None`` while they work): captures may
        #: still be stored meanwhile (so :attr:`failing` does not say it), but the store grows
        self.retention_failing: tuple[str, datetime] | None = None
        #: forwarding outcomes that could not be stored yet (see record_forward)
        self._held_forwards: list[ForwardOutcome] = []
        self._held_lock = threading.Lock()
        self._held_retry_at = 0.0  # no retry of them before this (monotonic)
        self._held_dropped = 0  # dropped since the last log line saying so
        self._held_said = False  # the log said outcomes are held (and not yet that they are stored)
        self._indexes_owed = False  # a bulk import could not make the table's indexes again
        self._indexes_retry_at = 0.0  # no retry of them before this (monotonic)
        self._sync: WalSync | None = None
        try:  # (whatever stops it, a Ctrl-C too: what it opened is closed, so that a file it
            # made can be removed: see remove_new_paths)
            self._db = self._connect()
            #: the file SQLite opened, its real path (links and ``..`` resolved as the OS resolves
            #: them): the file this store writes, and its other connections open, whatever later
            #: happens to ``path`` (a chdir, a link re-pointed)
            self._file = self.path if self._memory else _opened_file(self._db, self.path)
            #: the file opened (real path, device, inode): see file_problem
            self._identity: tuple[str, int, int] | None = None
            if not self._memory:
                with contextlib.suppress(OSError):
                    st = os.stat(self._file)
                    self._identity = (self._file, st.st_dev, st.st_ino)
            self._last_id = self._db.execute("SELECT COALESCE(MAX(id), 0) FROM captures").fetchone()[0]
            # a database opened read-only from before the handshake or trailers_at column reads
            # NULL for it (opened for writing, add_columns gave it the columns)
            have = {r[1] for r in self._db.execute("PRAGMA table_info(captures)")}
            self._handshakes = "handshake" in have
            self._cols = _COLS if self._handshakes else _COLS.replace(", handshake", ", NULL")
            #: False: a database opened read-only from before the trailers_at column, whose
            #: read connections read NULL for it (:class:`_WithoutTrailersAt`)
            self._trailers_at = "trailers_at" in have
            if not self._trailers_at:
                self._cols = self._cols.replace(", trailers_at", ", NULL")
            self._wdb = self._db if (self._memory or readonly) else self._connect()
            #: the ``-wal`` and ``-shm`` files this store's connections opened (side -> device,
            #: inode): the only ones it may remove (see _let_go_of_path)
            self._sides_opened = {} if (self._memory or readonly) else _side_ids(self._file)
            self._sync = self._wal_sync()
            self._start()
        except BaseException as exc:
            _let_go(exc)
            self._abandon()
            raise

    def _abandon(self) -> None:
        """A store whose opening failed: its threads stopped, its connections closed."""
        self._closed = True
        with contextlib.suppress(Exception):
            writer = getattr(self, "_writer", None)
            if writer is not None and writer.is_alive():
                self._queue.put(None)
                writer.join(5)
            importer = getattr(self, "_importer", None)
            if importer is not None and importer.is_alive():
                self._imports.put(None)
                importer.join(5)
            if getattr(self, "_upkeep", None) is not None:
                self._upkeep.stop()
        if self._sync is not None:
            self._sync.close()
        opened = (getattr(self, "_wdb", None), getattr(self, "_db", None))
        for db in {id(c): c for c in opened if c is not None}.values():
            with contextlib.suppress(Exception):
                db.close()
        self._unhold()

    def _start(self) -> None:
        tables = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master")}
        self._fts = "captures_fts" in tables
        self._has_segments = "segments" in tables
        self._search_upto = self._meta_int("search_upto")
        if self._search_upto >= self._last_id:  # caught up: index rows as they are stored
            self._search_upto = _MAX_ID
        self._segments_upto = self._meta_int("segments_upto")
        self._written = 0  # captures committed since the last checkpoint
        self._commits = 0  # and commits
        self._written_bytes = 0  # and their bodies' bytes
        #: why the last write failed and since when (None once a write succeeds again)
        self.last_error: tuple[str, datetime] | None = None
        #: times writes began to fail (see failure_count), and the latest time's words and start
        self._episodes = 0
        self._episode: tuple[str, datetime] | None = None
        #: the latest times, numbered: (number, words, start), replaced whole (read unlocked)
        self._episode_log: tuple[tuple[int, str, datetime], ...] = ()
        self._full_at = 0.0  # when the WAL's room was last given back after a full disk
        self._failed_at: datetime | None = None  # when a failed WAL sync was first seen
        self._last_write = time.monotonic()  # when the writer last committed anything
        self._idle_work: list[Callable[[], bool | None]] = []  # see when_idle
        self._checkpoint_due = False  # the upkeep thread checkpointed: the writer finishes it
        self._upkeep: _Upkeep | None = None
        if not (self._memory or self.readonly):
            self._wdb.execute("PRAGMA wal_autocheckpoint = 0")  # the upkeep thread does it
            self._wdb.execute(f"PRAGMA journal_size_limit = {_WAL_KEEP}")
            self._upkeep = _Upkeep(self)
        self._writer = threading.Thread(target=self._write_loop, name="hooklab-writer", daemon=True)
        self._writer.start()
        self._importer: threading.Thread | None = None
        if not self.readonly:  # (started with the store: an import started in the main thread
            # could be interrupted part-way through starting it, see _Handover)
            self._importer = threading.Thread(target=self._import_loop, name="hooklab-import",
                                              daemon=True)
            self._imports_over = False
            self._importer.start()

    # -- connection -------------------------------------------------------------------------
    def _wal_sync(self) -> WalSync | None:
        """``durability="full"`` on a WAL file: the writer commits with ``synchronous =
        NORMAL`` and a :class:`WalSync` thread syncs the WAL before anything is acknowledged
        (see :mod:`._sync`); elsewhere (Windows, a file system where SQLite could not use a WAL)
        SQLite syncs inside each COMMIT as before."""
        if self.durability != "full" or self._memory or self.readonly or os.name != "posix":
            return None
        db = self._wdb
        if str(db.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
            return None
        main = next((r[2] for r in db.execute("PRAGMA database_list") if r[1] == "main"), "")
        if not main:
            return None
        try:  # the WAL of the path SQLite opened (it resolves it; a later chdir does not matter)
            sync = WalSync(f"{main}-wal")
        except OSError:
            return None
        db.execute("PRAGMA synchronous = NORMAL")
        return sync

    def _connect(self) -> sqlite3.Connection:
        created = None  # the file this open makes (a new database), removed if it cannot be made
        folders: list[str] = []
        if not self._memory:
            p = Path(self.path)
            if self.readonly and not p.exists():
                raise StoreError(f"capture database {self.path!r} does not exist")
            if not self.readonly:
                real = os.path.realpath(p)
                created = None if os.path.lexists(real) else real
                folders = new_paths(self.path)[1:]  # (made for it: taken back with it)
                _create_private(p)
        # the side files there before this open: the ones it adds are its own to take back
        sides = [] if self._memory else [s for s in _SIDES if not os.path.lexists(self.path + s)]
        uri = read_only_uri(self.path) if self.readonly and not self._memory else None
        try:
            return self._open(uri)
        except sqlite3.DatabaseError as exc:
            left: list[str] = []
            if not self._memory:
                full = _full_disk(self.path, exc)  # (before its folders may go)
                left = _take_back(self.path, sides)
                if created is not None and _remove_empty(created):
                    left = []  # (its side files went before it)
                    for folder in folders:
                        with contextlib.suppress(OSError):  # (only an empty one goes)
                            os.rmdir(folder)
                if full is not None:
                    return self._on_full_disk(exc, full, created is not None, left)
            hint = ""
            if not self._memory and _unwritable_folder(self.path):
                hint = (" (its folder is not writable: SQLite writes -wal and -shm files beside "
                        "the database; open a copy in a writable folder"
                        + (", with its -wal file" if os.path.exists(self.path + "-wal") else "")
                        + ")")
            if not self._memory and os.path.isdir(self.path):  # (SQLite: "unable to open")
                raise StoreError(f"cannot use {self.path!r} as a hooklab capture database: it "
                                 "is a folder; name a file (in it, for example)",
                                 reason="the database path is a folder") from exc
            if created is not None and not os.path.lexists(created):
                raise StoreError(f"cannot make a capture database at {self.path!r}: {exc}{hint};"
                                 " the empty file made for it was removed", reason=str(exc)
                                 ) from exc
            raise StoreError(
                f"cannot use {self.path!r} as a hooklab capture database: {exc}{hint}; "
                "the file was left untouched" + _left_note(left), reason=str(exc)
            ) from exc

    def _on_full_disk(self, exc: sqlite3.DatabaseError, full: tuple[str, str], created: bool,
                      left: list[str]) -> sqlite3.Connection:
        """What an open that failed on a full disk does: a read-only store reads the file as
        it is when that is safe (see :meth:`_hold_as_is`); anything else raises
        :class:`DiskFull`, which says so (SQLite's "disk I/O error" read as if the file were
        broken, while it could not make its ``-shm``)."""
        what, short = full
        if created:
            raise DiskFull(f"cannot make a capture database at {self.path!r}: {what}; the empty "
                           "file made for it was removed", reason=short) from exc
        said = (f"cannot open {self.path!r}: {what}: SQLite needs room for its -wal and -shm "
                "files beside the database, even to read it")
        if self.readonly:
            why = self._hold_as_is()
            if why is None:
                try:
                    return self._open(_as_is_uri(self.path))
                except BaseException:
                    self._unhold()
                    raise
            said += f"; it cannot be read as it is either: {why}"
        raise DiskFull(f"{said}; the database file was left untouched{_left_note(left)}",
                       reason=short) from exc

    def _open(self, uri: str | None) -> sqlite3.Connection:
        """A connection to the database (``uri``: read-only), checked to be a capture database
        of a format this version reads, and for writing brought up to this version's format.
        A ``sqlite3.DatabaseError`` comes out with the connection closed."""
        db = (
            sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
            if uri
            else sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        )
        try:
            return self._checked(db)
        except BaseException as exc:
            _let_go(exc)
            db.close()  # (SQLite lets the side files it opened go; see _take_back)
            raise

    def _checked(self, db: sqlite3.Connection) -> sqlite3.Connection:
        db.execute("PRAGMA busy_timeout = 5000")
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        fmt = None
        if "meta" in tables:
            row = db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
            fmt = row[0] if row else None
        if not tables and not self.readonly and not self._memory:
            _claim_blank(self.path)
        if self.readonly and not tables:  # nothing to read, and no schema may be written
            db.close()
            raise StoreError(
                f"{self.path!r} holds no hooklab capture database (it is empty);"
                " it was left untouched"
            )
        if (tables and "captures" in tables and isinstance(fmt, str)
                and fmt.startswith("hooklab-captures-") and fmt not in _FORMATS_READ):
            db.close()  # (a later format: said so, not "not a hooklab capture database")
            raise StoreError(
                f"{self.path!r} was written by a newer hooklab (format {fmt!r}; this one "
                f"reads {', '.join(_FORMATS_READ)}): upgrade hooklab to open it; it was "
                "left untouched"
            )
        if tables and ("captures" not in tables or fmt not in _FORMATS_READ):
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
                db.execute("PRAGMA cache_size = -65536")  # 64 MiB: index pages of a big store
            if not tables:  # one transaction: a crash cannot leave a half-made database
                db.executescript(
                    f"BEGIN IMMEDIATE; {_SCHEMA} {S.SCHEMA} {self._fts_schema(db)}"
                    f"INSERT OR IGNORE INTO meta VALUES ('format', '{_FORMAT}');"
                    " INSERT OR IGNORE INTO meta VALUES ('search_upto', '0');"
                    f" INSERT OR IGNORE INTO meta VALUES ('search_version', '{_search.SEARCH_VERSION}');"
                    " INSERT OR IGNORE INTO meta VALUES ('segments_upto', '0'); COMMIT;"
                )
            else:  # adds what newer versions need (IF NOT EXISTS); format 1 -> 2
                self._upgrade(db, fmt)
            add_columns(db)
        _search.register(db)
        return db

    def _hold_as_is(self) -> str | None:
        """Lock the database file so that it can be read as it is (``immutable=1``: no
        ``-shm``, which a full disk has no room for); ``None`` once held, else why not.

        ``immutable=1`` alone is safe only while nobody writes: SQLite then skips all locking
        and change detection, so a writer's commits (or a checkpoint copying pages in) while
        it reads would give wrong answers, even "malformed" errors. ``nolock=1`` is no better
        (it still needs the ``-shm`` to read a WAL database) and ``locking_mode=EXCLUSIVE``
        (a WAL index in memory) would shut out this store's other read connections. So the
        file is held the way SQLite's own EXCLUSIVE lock holds it -- a write lock on its lock
        bytes, which every connection needs a shared lock in to read or write -- plus a byte
        of that page SQLite never locks, the sign :func:`read_only_uri` knows a held file by.
        An open file description lock (Linux): this store's own connections closing their
        descriptors cannot drop it, and it keeps out this process's other connections too.
        Taken only when nobody has a lock on the file or its ``-shm`` (a connection keeps a
        shared lock on the file as long as it has it open in WAL mode) and no writes wait in a
        ``-wal`` or ``-journal`` (they would not be read: ``-wal`` and ``-shm`` files left empty
        by a failed open are no such thing). Other programs get "database is locked" until
        this store closes."""
        import fcntl

        if not hasattr(fcntl, "F_OFD_SETLK"):
            return "only Linux can lock it for that"
        path = self.path
        if _has_writes(path):
            return ("writes not yet in the database file wait beside it (in its -wal or "
                    "-journal file; reading them needs room)")
        if _locks_on(path) != [] or (os.path.lexists(path + "-shm") and _locks_on(path + "-shm")):
            return "another program has it open"  # (looked at without opening it: _locks_on)
        try:
            fd = os.open(path, os.O_RDWR | getattr(os, "O_CLOEXEC", 0))
        except OSError as e:
            return f"it cannot be locked ({e.strerror})"
        try:
            fcntl.fcntl(fd, fcntl.F_OFD_SETLK, _lock_struct(fcntl.F_WRLCK))
        except OSError:
            # opened just now by another connection: closing this descriptor would drop the
            # locks this process's SQLite holds on the file, so it is kept open (not leaked
            # often: only a race on a full disk gets here)
            _PARKED.append(fd)
            return "another program has it open"
        self._held = fd
        st = os.fstat(fd)
        _HELD.add((st.st_dev, st.st_ino))
        if _has_writes(path):  # (written between the look and the lock)
            self._unhold()
            return "another program was writing to it"
        return None

    def _unhold(self) -> None:
        """Let go of the lock :meth:`_hold_as_is` took (as this store closes)."""
        fd, self._held = self._held, None
        if fd is not None:
            st = os.fstat(fd)
            _HELD.discard((st.st_dev, st.st_ino))
            os.close(fd)  # (no connection of this process could lock the file meanwhile)

    def file_problem(self) -> str | None:
        """Why the database file this store opened is no longer at its path (deleted, moved
        away or replaced while the store was open), in words without the path; ``None``
        while it is there (and for ``":memory:"``). Captures written then go to a file
        nobody can open again: ``/_hooklab/health`` says so.

        What is watched is the file SQLite opened, at its real path (links and ``..``
        resolved when the store opened it), not the path as it was spelled: a relative path
        and a later ``chdir``, ``data/../c.sqlite3`` through a linked ``data``, a link to
        the file or to its folder are all fine while that file stays where it is. A link
        removed or re-pointed to another database while the lab runs is not a problem
        either: the store goes on writing (and reading) the file it opened, which is intact
        and opens with ``hooklab.open(<its real path>)``; only a later open of the link's
        path finds the other file. The file itself moved, deleted or replaced (through a
        link too) is a problem.

        >>> store.file_problem() is None
        True
        """
        if self._identity is None:
            return None
        try:
            st = os.stat(self._identity[0])
        except FileNotFoundError:
            return "the database file was deleted or moved away while the lab ran"
        except OSError as exc:
            return f"the database file cannot be looked at ({exc.strerror})"
        if (st.st_dev, st.st_ino) != self._identity[1:]:
            # (or deleted, and a new one made there since: SQLite makes one as a connection
            # opens the path again)
            return "the database file was replaced by another file (or deleted) while the lab ran"
        return None

    def _file_still_there(self) -> None:
        """Writer thread, before a COMMIT: raise :class:`StoreError` if the database file is
        no longer at its path. In WAL mode SQLite itself does not look (it refuses to write a
        moved or deleted file only in rollback-journal mode): the commit would land in a WAL
        beside a name that no longer holds the database, or in a deleted file, and the
        sender would be told 200 for a capture nobody can read again. Refused instead (503:
        the sender retries); storing resumes if the file is put back. One ``stat`` a batch."""
        problem = self.file_problem()
        if problem is not None:
            raise StoreError(f"cannot store into {self.path!r}: {problem}", reason=problem)

    def _make_wal_harmless(self, db: sqlite3.Connection) -> bool:
        """Once the database file left its path (moved away, deleted, replaced): copy this
        store's WAL into the file it opened, through ``db`` (a connection on that file), and
        empty it (a ``TRUNCATE`` checkpoint), so that nothing of it can be read into whatever
        file is at the path now. A ``-wal`` left beside another database is read as that
        database's: any connection to the path saw the old lab's captures, and the last one
        to close (the next ``hooklab serve`` on the path) copied them into the new file, over
        its own. While the store runs its ``-wal`` stays (empty) at the path, so that the file
        put back is written again; :meth:`close` removes it. ``True`` once it is empty (or
        there was nothing to do); any thread with a connection opened on the file itself."""
        if self._memory or self.readonly or self.file_problem() is None:
            return True
        try:
            busy = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        except sqlite3.Error:
            return False
        # our -wal no longer at the path (the operator moved another database's there): our
        # -shm there is of no use to us, and would be read as the index of theirs
        if _side_ids(self._file).get("-wal") != self._sides_opened.get("-wal"):
            self._remove_own_side("-shm")
        return not busy

    def _remove_own_side(self, side: str) -> None:
        """Remove the ``-wal`` / ``-shm`` at the path if it is the very file this store opened
        (same device and inode) and no other process has a lock on the ``-shm`` (a connection
        to the database at the path using it): one the operator moved in is theirs. This
        store's connections keep theirs open: a new connection to the path makes new ones."""
        path = self._file + side
        if self._sides_opened.get(side) is None or _side_ids(self._file).get(side) != \
                self._sides_opened[side]:
            return
        if os.path.exists(self._file + "-shm") and _locked_by_others(self._file + "-shm"):
            return
        with contextlib.suppress(OSError):
            os.unlink(path)

    def _let_go_of_path(self) -> None:
        """:meth:`close`, its connections closed, the file having left its path: remove the
        ``-wal`` and ``-shm`` it opened there (SQLite leaves them when the file moved: it
        neither checkpoints nor deletes them as the last connection closes)."""
        for side in ("-wal", "-shm"):
            self._remove_own_side(side)

    @staticmethod
    def _fts_schema(db: sqlite3.Connection) -> str:
        return (_search.FTS_SCHEMA + ";") if _search.fts_available(db) else ""

    def _upgrade(self, db: sqlite3.Connection, fmt: str | None) -> None:
        """Bring a database up to this version's format: new tables and indexes, and the
        index and segments marked as built up to nothing (the writer catches up)."""
        stale = self._search_stale_on(db)
        if fmt == _FORMAT and not stale:
            db.executescript(_SCHEMA)
            return
        db.executescript(
            f"BEGIN IMMEDIATE; {_SCHEMA} {S.SCHEMA} {self._fts_schema(db)}"
            + ("INSERT INTO captures_fts(captures_fts) VALUES ('delete-all');"  # (contentless:
               if stale and self._fts_schema(db) else "")  # no DELETE) words rebuilt from 0
            + f"INSERT OR REPLACE INTO meta VALUES ('format', '{_FORMAT}');"
            " INSERT OR REPLACE INTO meta VALUES ('search_upto', '0');"
            f" INSERT OR REPLACE INTO meta VALUES ('search_version', '{_search.SEARCH_VERSION}');"
            " INSERT OR IGNORE INTO meta VALUES ('segments_upto', '0'); COMMIT;"
        )

    def _search_stale(self) -> bool:
        """Whether the search index holds words of another :data:`SEARCH_VERSION` (a read-only
        store cannot rebuild it: it is then not used)."""
        with self._read_lock:
            return self._search_stale_on(self._db)

    def _foreign_index(self, db: sqlite3.Connection) -> None:
        """Another hooklab (an older one, in another process on this file) rebuilt the search
        index with the words of its own :data:`SEARCH_VERSION` since this store opened: the
        index is then neither read nor written by this store (``search=`` matches row by row,
        as on a store without one) until the file is opened again, which rebuilds it."""
        if self._fts and self._search_stale_on(db):
            self._fts = False

    @staticmethod
    def _search_stale_on(db: sqlite3.Connection) -> bool:
        row = db.execute("SELECT value FROM meta WHERE key = 'search_version'").fetchone()
        return row is not None and row[0] != _search.SEARCH_VERSION

    def _meta_int(self, key: str) -> int:
        with self._read_lock:
            return self._meta_int_on(self._db, key)

    @staticmethod
    def _meta_int_on(db: sqlite3.Connection, key: str) -> int:
        try:
            row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        except sqlite3.OperationalError:
            return 0
        try:  # (a marker that is no number, in a damaged or crafted file: as if none, so
            return int(row[0]) if row else 0  # what it marks is made again from the rows)
        except (TypeError, ValueError):
            return 0

    def _set_meta(self, db: sqlite3.Connection, key: str, value: int) -> None:
        db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, str(value)))

    # -- writing ----------------------------------------------------------------------------
    def add(
        self, record: CaptureRecord, on_done: Callable[[Capture | BaseException], None] | None = None
    ) -> Future[Capture]:
        """Queue ``record`` for storage; the future (and ``on_done``) resolve once committed."""
        fut: Future[Capture] = Future()
        self._enqueue(self._prepared(record), fut, on_done)
        return fut

    def submit(self, record: CaptureRecord,
               on_done: Callable[[Capture | BaseException], None]) -> Submitted:
        """Like :meth:`add` without a future: ``on_done`` gets the capture (or the error).

        Never waits: raises :class:`StoreBusy` when the write queue is full (the server
        answers 503 then, and the sender retries). The :class:`Submitted` returned takes the
        capture back until the writer holds the write lock for it (``.withdraw()``; the
        capture server does so as it stops, see :class:`Submitted`).
        """
        ticket = Submitted(on_done)
        self._enqueue(self._prepared(record), None, ticket, block=False)
        return ticket

    def record_status(self, capture_id: int, status: int,
                      on_done: Callable[[Any], None] | None = None) -> None:
        """Say after the fact what a stored capture was answered: ``status`` for an answer
        about to be written to the sender, ``0`` when none reached it (the sender hung up, the
        server stopped first). The server calls it; a queued write like a capture's, never
        waiting (one or two per capture at most, so the write queue's bound does not apply),
        told to the subscribers' ``on_status(capture_id)`` once durable, and to ``on_done``
        (the store's thread: the capture id, or the exception if it could not be stored)
        after them. A capture deleted meanwhile is left deleted.

        >>> cap = store.add_sync({"method": "POST", "path": "/slow", "status": 0})
        >>> store.record_status(cap.id, 201); store.flush(); store.get(cap.id).status
        201
        """
        stored = self._status_stored
        if on_done is not None:
            def stored(result: Any) -> None:
                self._status_stored(result)
                on_done(result)
        item = ({"__status__": (int(capture_id), int(status))}, None, stored, 0)
        # the look at _closed and the put are one step under _room, as close() marks the
        # store closed and queues the writer's stop marker: a change queued behind that
        # marker was never written (a row said 200 for a capture never answered)
        with self._room:
            if self._closed:
                if self._on_store_thread() and not self.readonly:  # (an answer of the last
                    self._late_status.append(item[0]["__status__"])  # commits: close()
                    return  # stores it once the writer is done)
                raise StoreError("store is closed")
            if self.readonly:
                raise StoreError(f"{self.path!r} was opened read-only")
            self._queued += 1  # (counted, so that the writer's release stays even)
            self._queue.put(item)

    def _status_stored(self, result: Any) -> None:
        """Store thread: a status change is durable (its capture id), or failed."""
        if isinstance(result, BaseException):  # (a full disk: the row keeps what it said)
            _log.warning("hooklab: a capture's answered status could not be stored: %s",
                         write_error(result))
        elif type(result) is int:
            for sub in list(self._status_subscribers):
                try:
                    sub(result)
                except Exception:  # noqa: BLE001 - callbacks must not kill the writer
                    pass

    def _store_late_status(self) -> None:
        """Closing, the writer done: the status changes its last commits' answers told
        (a capture the server stopped before answering: status 0), in one transaction."""
        late, self._late_status = self._late_status, []
        db = self._wdb
        try:
            with self._read_lock:
                self._begin(db)
                try:
                    for capture_id, status in late:
                        self._set_status(db, capture_id, status)
                    db.execute("COMMIT")
                except BaseException:
                    _rollback(db)
                    raise
        except sqlite3.Error as exc:  # (locked again, a full disk: the rows say what they said)
            _log.warning("hooklab: %d captures' answered status could not be stored: %s",
                         len(late), write_error(exc))

    def _set_status(self, db: sqlite3.Connection, capture_id: int, status: int) -> None:
        """Writer thread: the row's status, and no segment keeps the old one."""
        db.execute("UPDATE captures SET status = ? WHERE id = ?", (status, capture_id))
        if not self._has_segments:
            return
        db.execute("DELETE FROM segments WHERE first_id <= ? AND last_id >= ?",
                   (capture_id, capture_id))
        if capture_id > self._segments_upto:  # (a segment being read now may hold the old)
            self._status_epoch += 1
            self._status_changed[capture_id] = self._status_epoch

    def _prepared(self, record: CaptureRecord) -> _Row | CaptureRecord:
        """Detection, verification and the INSERT values of ``record``, on the thread that
        queues it (the server's, for a webhook): the writer is left with SQL, so a batch
        commits sooner. A record that cannot be prepared goes as it is (its error is its
        answer, from the writer)."""
        if self._closed or self.readonly:
            return record
        try:
            gen = self._scrub_generation()  # (before the scrub: see shown)
            self._prepare(record)
            values = record_values(record)
            words = self._words(values, record) if self._fts else None
            return _Row(record, values, words, gen)
        except Exception:  # noqa: BLE001 - reported by the writer, as before
            return record

    def _enqueue(
        self,
        record: CaptureRecord | dict[str, Any] | None,
        fut: Future | None,
        on_done: Callable | None,
        *,
        block: bool = True,
        timeout: float | None = None,
        reserved: bool = False,
    ) -> None:
        if self._closed:
            raise StoreError("store is closed")
        if self.readonly:
            raise StoreError(f"{self.path!r} was opened read-only")
        # a flush, an index, a name acknowledge no capture: _reserve lets them by a failed sync
        repair = record is None or (
            isinstance(record, dict) and ("__indexes__" in record or "__meta__" in record))
        if isinstance(record, _Row):  # (the body; and headers past what a head usually
            # weighs: a head of thousands of fields held as much as a body, uncounted)
            size = len(record.values[7]) + max(0, len(record.values[6]) - _HEADERS_FREE)
            self._last_write = time.monotonic()  # a capture is coming: quiet-moment work stops
        else:
            size = len(record.get("body") or b"") if isinstance(record, dict) else 0
            if isinstance(record, dict) and not any(k in record for k in _CONTROL):
                self._last_write = time.monotonic()
        if not reserved:
            self._reserve(1, size, block, timeout, repair)
        self._queue.put((record, fut, on_done, size))

    @property
    def failing(self) -> tuple[str, datetime] | None:
        """Why captures are not being stored now and since when (``None`` while they are): the
        last write's error (a full disk), or a failed WAL sync (until the file is opened
        again). ``/_hooklab/health`` and ``hooklab serve`` say it.

        >>> store.failing is None
        True
        """
        if self._failed is not None:
            if self._failed_at is None:
                self._failed_at = datetime.now(timezone.utc)
            return ("syncing the database to disk failed: nothing more is stored until it is "
                    "opened again", self._failed_at)
        return self.last_error

    @property
    def failure_count(self) -> int:
        """How many times captures stopped being stored since this store was opened (a full
        disk, a failed WAL sync), however briefly: one that began and ended between two looks
        at :attr:`failing` is counted too. :attr:`last_failure` says the latest.

        >>> store.failure_count, store.last_failure
        (0, None)
        """
        return self._episodes + (self._failed is not None)

    def failures_after(self, count: int) -> list[tuple[int, str, datetime]]:
        """The times captures stopped being stored numbered after ``count`` (as
        :attr:`failure_count` counts them), oldest first, each ``(number, words, start)``: the
        latest 64 at most, so that a reader that looks now and then can say each one, also those
        begun and over between two looks. The error a write's captures get then carries its
        number as ``hooklab_failure`` (the server counts their 503s by it).

        >>> seen = store.failure_count  # ... later:
        >>> [number for number, why, since in store.failures_after(seen)]
        []
        """
        times = list(self._episode_log)
        if self._failed is not None and (failing := self.failing) is not None:
            times.append((self._episodes + 1, *failing))  # (a failed sync: until reopened)
        return [t for t in times if t[0] > count]

    @property
    def last_failure(self) -> tuple[str, datetime] | None:
        """Why captures last stopped being stored and since when, kept once they are stored
        again (:attr:`failing` is ``None`` then); ``None`` if they never stopped."""
        return self.failing if self._failed is not None else self._episode

    @property
    def _failed(self) -> OSError | None:
        """The error of the WAL sync that failed, if one did: no more writes (see ``_sync``)."""
        return self._sync.failed if self._sync is not None else None

    def _check_synced(self) -> None:
        if self._failed is not None:
            raise StoreError(
                f"syncing the database to disk failed ({self._failed}): nothing more is stored"
                " until the store is opened again (captures committed after a failed sync"
                " could be lost in a power cut)", reason=f"syncing the database to disk failed "
                f"({_no_paths(str(self._failed))}): nothing more is stored until it is opened again")

    def _on_store_thread(self) -> bool:
        """Whether this is the writer's thread or the WAL syncer's (where callbacks and
        subscribers run): a write from there must never wait for the queue to drain."""
        me = threading.current_thread()
        return me is self._writer or (self._sync is not None and me is self._sync.thread)

    def _reserve(self, n: int, size: int, block: bool, timeout: float | None,
                 repair: bool = False) -> None:
        """Wait for room for ``n`` items of ``size`` bytes in the queue (or refuse; also
        when a WAL sync failed meanwhile, unless it is for a ``repair``)."""
        if self._on_store_thread():  # a subscriber writing: never wait
            block = False
            deadline = None
        else:
            deadline = None if timeout is None else time.monotonic() + timeout
        with self._room:
            while self._queued and (
                self._queued + n > QUEUE_CAPTURES or self._queued_bytes + size > QUEUE_BYTES
            ):
                if self._closed:
                    raise StoreError("store is closed")
                if not repair:
                    self._check_synced()
                if not block and not self._on_store_thread():
                    raise StoreBusy(
                        f"the write queue is full ({self._queued} captures,"
                        f" {self._queued_bytes} bytes waiting)"
                    )
                if not block:
                    break
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise StoreBusy("timed out waiting for room in the write queue")
                self._room.wait(0.5 if remaining is None else min(remaining, 0.5))
            if not repair:  # (the room may have come from the batch whose sync failed)
                self._check_synced()
            self._queued += n
            self._queued_bytes += size

    def _release(self, n: int, size: int) -> None:
        with self._room:
            self._queued -= n
            self._queued_bytes -= size
            self._room.notify_all()

    def add_many(self, records: Iterable[dict[str, Any]], *, notify: bool | None = None) -> int:
        """Store many records fast (a bulk import); returns how many were stored, once durable.

        The calling thread reads ``records`` (an iterator stays lazy), detects and verifies them
        and prepares their rows, :data:`_BULK` at a time; the writer stores each chunk with one
        INSERT statement in one transaction (memory holds one chunk). Subscribers hear of each
        capture only if ``notify`` (default: when there are subscribers). The column segments
        of the imported rows are sealed as they are stored (a DataFrame of them is fast once
        the import returns); their search index is built once the import is done, between
        other writes. A record that cannot be stored raises ``ValueError`` naming its position (or
        its chunk's); the chunks before it stay stored, and the error says how many records
        that is (:class:`ImportFailed`).

        >>> store = CaptureStore(":memory:")
        >>> store.add_many([{"path": "/a", "body": b"{}"}, {"path": "/b", "body": b"[]"}])
        2
        >>> store.close()
        """
        return self.add_rows(self._rows_of(records), notify=notify)

    def _rows_of(self, records: Iterable[dict[str, Any]]) -> Iterator[list[Any]]:
        return _ScrubbedRows(self._made_rows(records))

    def _made_rows(self, records: Iterable[dict[str, Any]]) -> Iterator[list[Any]]:
        make = RowMaker(self._prepare)  # (detection and this store's secrets)
        for at, record in enumerate(records):
            try:
                row = make(record)
            except (TypeError, ValueError, OverflowError, AttributeError) as exc:
                # (AttributeError: a received_at given as text, "'str' object has no
                # attribute 'tzinfo'", said without which record it was)
                raise ValueError(f"record {at}: cannot be stored ({exc})") from None
            yield row

    def add_rows(self, rows: Iterable[list[Any]], *, notify: bool | None = None) -> int:
        """Store rows already prepared, as :meth:`add_many` stores the records they were made
        of: the same chunks, transactions and errors. A row is what
        :class:`hooklab.store.RowMaker` makes of a record (detected, not verified: a store with
        secrets verifies in :meth:`add_many`). For importers that prepare rows elsewhere (in
        helper processes: :func:`hooklab.export.jsonl.load`). An error ``rows`` raises is
        raised as it is, after the chunks before it were stored; a ``ValueError`` after some
        were is an :class:`ImportFailed` saying how many.

        >>> store = CaptureStore(":memory:")
        >>> make = RowMaker()
        >>> store.add_rows(make({"path": "/a", "body": b"{}"}) for _ in range(3))
        3
        >>> store.close()
        """
        if notify is None:
            notify = bool(self._subscribers)
        if self._closed:
            raise StoreError("store is closed")
        if self.readonly:
            raise StoreError(f"{self.path!r} was opened read-only")
        self._check_synced()
        handover = _Handover(self)  # (starts nothing: a Ctrl-C in here leaves nothing behind)
        try:
            return self._import(rows, notify, handover)
        except KeyboardInterrupt:  # (Ctrl-C at any moment: reading the rows, handing a chunk
            # over or waiting for it, making the indexes again, waking the writer, returning)
            # the import's end queued first (nothing runs before this call: whatever a second
            # Ctrl-C interrupts next, the import is ended and its indexes made again)
            self._imports.put(handover.ended)
            try:
                handover.settle()
            except KeyboardInterrupt:  # (a second one as the wait began)
                pass
            stored, maybe = handover.known()
            raise ImportInterrupted(stored, maybe=maybe) from None

    def _import(self, rows: Iterable[list[Any]], notify: bool, handover: _Handover) -> int:
        import gc

        collecting = gc.isenabled()
        try:
            gc.disable()  # millions of fresh containers and no cycles: ~8 % of the import's CPU
            handover.run(handover.begin)
            stored = self._import_chunks(rows, notify, handover)
        except KeyboardInterrupt:  # (settled by add_rows)
            raise
        except BaseException:
            # (never raises but a closed store: the error in flight says what happened)
            with contextlib.suppress(StoreError):
                handover.run(handover.end)
            raise
        finally:
            if collecting:
                gc.enable()
        handover.run(lambda job: handover.end(job, stored))
        return stored

    def _indexes_again(self, stored: int | None) -> None:
        """After an import into an empty store: make the table's indexes again (dropped for
        its speed). ``stored``: how many records it stored, ``None`` if it failed (then this
        never raises). The indexes only make queries fast (their answers are the same
        without them): if they cannot be made (a full disk), the upkeep thread tries again
        while the store is open, and a writable open makes them too."""
        try:
            self._control({"__indexes__": "create"})
            return
        except Exception as exc:  # noqa: BLE001 - said below, with what is stored
            self._indexes_owed = True  # (_retry_indexes)
            error = exc
        why = write_error(error)
        if stored is None:  # (a bare error from here replaced the import's own, which said
            # how many records were stored: a user would import them all again)
            _log.warning("hooklab: after the failed import the capture table's indexes could"
                         " not be made again (%s): queries are correct without them, only "
                         "slower; they are made once the database can be written (%s)", why,
                         self._where())
            return
        raise StoreError(
            f"all {stored} records are stored (do not import them again), but the capture "
            f"table's indexes could not be made again ({why}): queries are correct without "
            "them, only slower; they are made once the database can be written (tried again "
            "while the store is open, and when it is next opened writable)") from error

    def _retry_indexes(self) -> None:
        """Upkeep thread: make the indexes an import could not make again (every
        :data:`_FULL_RETRY` seconds at most, not during an import)."""
        now = time.monotonic()
        if (not self._indexes_owed or self._importing or self._closed
                or self._failed is not None or now < self._indexes_retry_at):
            return
        self._indexes_retry_at = now + _FULL_RETRY
        fut: Future[Any] = Future()

        def made(f: Future) -> None:
            if f.exception() is None and self._indexes_owed:
                self._indexes_owed = False
                _log.info("hooklab: the capture table's indexes are made again (%s)", self._where())

        fut.add_done_callback(made)
        with contextlib.suppress(StoreError):  # (the queue is full: next time)
            self._enqueue({"__indexes__": "create"}, fut, None, block=False)

    def _control(self, item: dict[str, Any]) -> Any:
        fut: Future[Any] = Future()
        self._enqueue(item, fut, None)
        return fut.result()

    def _import_loop(self) -> None:
        """The import thread: the jobs of imports (see :class:`_Handover`), in order."""
        try:
            while (job := self._imports.get()) is not None:
                try:
                    later = job.work(job)
                except BaseException as exc:  # noqa: BLE001 - the import's to raise
                    job.finish(exc)
                else:
                    if not later:
                        job.finish(None)
                # (not held while waiting for the next: the last job of an import, its end,
                # kept its handover and through it every chunk, until the store closed)
                job = None
        finally:
            self._imports_over = True
            while True:  # (jobs queued as the store closed: answered, not left waiting)
                try:
                    job = self._imports.get_nowait()
                except queue.Empty:
                    break
                if job is not None:
                    job.finish(StoreError("store is closed"))

    def _import_chunks(self, rows: Iterable[list[Any]], notify: bool,
                       handover: _Handover) -> int:
        at = 0
        chunk: list[list[Any]] = []
        forwards: list[tuple[int, list[tuple]]] = []  # (place in the chunk, its outcomes)
        size = 0
        # (rows made here by add_many are scrubbed of the secrets as they are made: the
        # generation before the chunk's first is made; others, prepared elsewhere, were not)
        here = type(rows) is _ScrubbedRows
        gen = self._scrub_generation() if here else None
        try:
            for row in rows:
                if len(row) > _VALUES:  # an imported capture's forwarding outcomes (RowMaker)
                    forwards.append((len(chunk), row[_VALUES]))
                    row = row[:_VALUES]
                chunk.append(row)
                size += len(row[7])
                if len(chunk) >= _BULK or size >= QUEUE_BYTES // 4:
                    # one chunk at a time: preparing the next while the writer inserts this
                    # one would take the GIL from it between every row (2-3 times slower)
                    at = self._store_chunk(at, chunk, size, notify, forwards, handover, gen)
                    chunk, size, forwards = [], 0, []
                    gen = self._scrub_generation() if here else None
        except BaseException as exc:
            # (the traceback a notebook keeps, IPython's last one, holds this frame: not its
            # rows; rebound, not emptied: the writer may still be storing the list)
            chunk = forwards = row = []
            if at and isinstance(exc, ValueError):  # (chunks before it stored: said)
                raise ImportFailed(str(exc), at) from None
            raise
        if chunk:
            at = self._store_chunk(at, chunk, size, notify, forwards, handover, gen)
        return at

    def _store_chunk(self, at: int, chunk: list[list[Any]], size: int, notify: bool,
                     forwards: list[tuple[int, list[tuple]]], handover: _Handover,
                     generation: int | None = None) -> int:
        try:
            handover.run(handover.hand, {"__bulk__": chunk, "notify": notify, "size": size,
                                         "forwards": forwards, "generation": generation},
                         len(chunk))
        except StoreError:  # the store's own state (closed, a failed sync), not these records
            raise
        except sqlite3.OperationalError as exc:  # the file, not the records: a full disk, I/O
            raise ImportNotWritten(at, len(chunk), write_error(exc)) from exc
        except Exception as exc:  # noqa: BLE001 - said with the position
            raise ValueError(
                f"record {at} (or one of the {len(chunk) - 1} after it): cannot be stored ({exc})"
            ) from None
        return at + len(chunk)

    def add_sync(self, record: CaptureRecord, timeout: float = 30.0) -> Capture:
        """Store ``record`` and return its :class:`Capture` once durable."""
        return self.add(record).result(timeout)

    def _write_loop(self) -> None:
        while True:
            behind = self._writer_behind()
            # (no upkeep thread asks for idle retention passes in a memory store: the writer
            # looks itself, once a second, while retention is set)
            wait = 1.0 if self._upkeep is None and (self.retention_count or self.retention_age) \
                else None
            try:
                item = self._queue.get(block=not behind, timeout=wait)
            except queue.Empty:  # idle and behind: index / seal a chunk, then look again
                if behind:
                    self._catch_up()
                else:
                    self._retain(wrote=False)
                continue
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
            bulk = [b for b in batch if isinstance(b[0], dict) and "__bulk__" in b[0]]
            plain = [b for b in batch if not (isinstance(b[0], dict) and "__bulk__" in b[0])]
            if plain:
                self._write_batch(plain)
            for item in bulk:
                self._write_bulk(item)
            n = len(batch) + sum(len(b[0]["__bulk__"]) - 1 for b in bulk)
            size = sum(b[3] for b in batch) + sum(b[0]["size"] for b in bulk)
            if self._sync is None:
                self._release(n, size)
            else:  # the room is free once they are answered: what waits for the disk counts
                self._sync.after_sync(lambda _error, n=n, size=size: self._release(n, size))
            if plain:
                self._after_batch()
            if plain and self._writer_behind(_LAG):  # live traffic: keep the index close behind
                self._catch_up(_BATCH)  # (a bulk import leaves it to the idle moments after)
            # (an idle writer holds no rows: the last batch, an import's last chunk of up to
            # 16 MiB of bodies, stayed referenced here until the next capture came)
            batch = bulk = plain = []
            item = nxt = None
            if stop:
                return

    def _behind(self, lag: int = 0) -> bool:
        """Whether the search index or the segments are more than ``lag`` rows behind."""
        if self.readonly or self._importing:
            return False
        last = self._last_id
        search = self._fts and self._search_upto < _MAX_ID and last - self._search_upto > lag
        segments = self._has_segments and last - self._segments_upto >= S.SEG_ROWS + lag
        return search or segments

    def _writer_behind(self, lag: int = 0) -> bool:
        """:meth:`_behind` in what the writer itself catches up on (the search index; the
        segments too when no upkeep thread seals them)."""
        if self._upkeep is None:
            return self._behind(lag)
        if self.readonly or self._importing:
            return False
        return self._fts and self._search_upto < _MAX_ID and self._last_id - self._search_upto > lag

    def _catch_up(self, limit: int = _CATCH_UP) -> None:
        """Index / seal up to ``limit`` rows after the markers, in one transaction."""
        try:
            with self._read_lock if self._memory else _nolock:
                db = self._wdb
                self._begin(db)
                search = segments = None
                try:
                    self._foreign_index(db)
                    if self._fts and self._search_upto < _MAX_ID:
                        # (from the file's marker, not this store's: another connection on
                        # the file, an import's lab or another kernel's, moves it too)
                        search = self._index_after(db, self._meta_int_on(db, "search_upto"), limit)
                    if (self._upkeep is None and self._has_segments
                            and self._last_id - self._segments_upto >= S.SEG_ROWS):
                        segments = self._seal(db)
                    db.execute("COMMIT")
                except BaseException:
                    _rollback(db)
                    raise
                if search is not None:  # only once committed
                    self._search_upto = search
                if segments is not None:
                    self._segments_upto = segments
        except Exception as exc:  # noqa: BLE001 - upkeep must never stop the writer; retried later
            self._search_upto = self._meta_int("search_upto")
            self._segments_upto = self._meta_int("segments_upto")
            # (still waiting on another connection's lock, the pause after a "database is
            # locked": a sender hanging up meanwhile is taken back, see locked_out)
            self._locked_out = isinstance(exc, sqlite3.Error) and _busy(exc)
            try:
                time.sleep(0.5)
            finally:
                self._locked_out = False

    def _index_after(self, db: sqlite3.Connection, after: int, limit: int) -> int:
        # (row by row, the words handed to the index every few megabytes: a reindex of a
        # store of 200 KB bodies held 2,000 of them, 400 MB)
        words: list[tuple[int, str]] = []
        held = count = 0
        last = after
        for r in db.execute(
            "SELECT id, path, query, headers, body, trailers_at FROM captures WHERE id > ?"
            " ORDER BY id LIMIT ?",
            (after, limit),
        ):
            line = _search.row_words(r[1], r[2], r[3], r[4], r[5])
            words.append((r[0], line))
            held += len(line)
            count += 1
            last = r[0]
            if held > _WORDS_HELD:
                _search.index_rows(db, words)
                words, held = [], 0
        _search.index_rows(db, words)
        upto = last if count == limit else self._last_id
        if count < limit:  # caught up: from now on rows are indexed as they are stored
            upto = max(upto, self._last_id)
        self._set_meta(db, "search_upto", upto)
        return _MAX_ID if upto >= self._last_id else upto

    def _seal(self, db: sqlite3.Connection) -> int | None:
        encoded = self._encode_segment(db, self._segments_upto)
        return None if encoded is None else self._store_segment(db, *encoded)

    @staticmethod
    def _encode_segment(db: sqlite3.Connection, after: int) -> tuple[int, int, int, int, bytes] | None:
        """``(after, first, last, rows, blob)``: the next segment's rows after id ``after``,
        encoded (``None`` until there are :data:`SEG_ROWS` of them)."""
        rows, pack = CaptureStore._segment_rows(db, "id > ? ORDER BY id LIMIT ?", (after, S.SEG_ROWS))
        if len(rows) < S.SEG_ROWS:
            return None
        blob = S.encode(rows, pack)
        return after, rows[0][0], rows[-1][0], len(rows), blob

    @staticmethod
    def _segment_rows(db: sqlite3.Connection, where: str, args: Sequence[Any],
                      pack: S.BodyPack | None = None) -> tuple[list[tuple], S.BodyPack]:
        """The rows of ``captures`` matching ``where`` as a segment reads them (:data:`S.SELECT`)
        and the bodies it keeps, given to ``pack`` (a new one if none) one row at a time."""
        # (row by row, each body packed as it comes: a segment's bodies were held together,
        # then joined, 1 GB for 4,096 webhooks of 100 KiB that any sender can send)
        rows: list[tuple] = []
        pack = S.BodyPack() if pack is None else pack
        for *row, body in db.execute(f"SELECT {S.SELECT}, body FROM captures WHERE {where}", args):
            rows.append(tuple(row))
            pack.add(row, body)
            body = None
        return rows, pack

    def _store_segment(
        self, db: sqlite3.Connection, after: int, first: int, last: int, n: int, blob: bytes,
        *, epoch: int | None = None,
    ) -> int | None:
        """Writer thread: keep an encoded segment if it still is exactly the rows after the
        last one (none of them deleted since it was read, nor a status changed since
        ``epoch``, the ``_status_epoch`` it was read at: see :meth:`record_status`); its
        last id."""
        if after != self._segments_upto:
            return None
        changed = self._status_changed
        if changed and epoch is not None and any(
                first <= cid <= last and at > epoch for cid, at in changed.items()):
            return None  # (read again, with the new status, at the next turn)
        kept = self._keep_segment(db, after, first, last, n, blob)
        if kept is not None and changed:
            self._status_changed = {c: at for c, at in changed.items() if c > kept}
        return kept

    def _keep_segment(
        self, db: sqlite3.Connection, after: int, first: int, last: int, n: int, blob: bytes
    ) -> int | None:
        """Writer thread: keep a segment of the ``n`` rows after ``after`` if the table holds
        exactly those (:meth:`_store_segment`'s check of the marker done by the caller); its
        last id."""
        (now,) = db.execute(
            "SELECT COUNT(*) FROM captures WHERE id > ? AND id <= ?", (after, last)
        ).fetchone()
        if now != n:
            return None
        db.execute(
            "INSERT OR REPLACE INTO segments (first_id, last_id, rows, data) VALUES (?,?,?,?)",
            (first, last, n, blob),
        )
        self._set_meta(db, "segments_upto", last)
        return last

    @property
    def locked_out(self) -> bool:
        """Whether the writer waits for another connection to release the database's write
        lock (another program inside a write transaction, e.g. a ``sqlite3`` shell after
        ``BEGIN IMMEDIATE``): for a batch of captures, a retention pass, a catch-up of the
        search index, a clear. The captures queued meanwhile wait behind it, and the capture
        server takes back the capture of a sender that hangs up (:meth:`Submitted.withdraw`):
        its sender got no answer, so nothing may be stored for it.

        >>> store.locked_out
        False
        """
        return self._locked_out

    def _begin(self, db: sqlite3.Connection) -> None:
        """Writer: ``BEGIN IMMEDIATE`` on ``db`` (every write transaction of the writer's),
        tried at once first: when another connection holds the write lock,
        :attr:`locked_out` says so while the busy timeout's wait for it lasts. A wait that
        ends without the lock raises SQLite's own error ("database is locked")."""
        if self._memory:  # (no other connection)
            db.execute("BEGIN IMMEDIATE")
            return
        db.execute("PRAGMA busy_timeout = 0")
        try:
            db.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if not _busy(exc):
                raise
        finally:
            db.execute("PRAGMA busy_timeout = 5000")
        self._locked_out = True
        try:
            db.execute("BEGIN IMMEDIATE")
        finally:
            self._locked_out = False

    def _write_batch(self, batch: list[tuple[Any, Future, Callable | None, int]]) -> None:
        done: list[tuple[Capture | BaseException | None, Future, Callable | None]] = []
        forwarded: list[int] = []
        try:
            with self._read_lock if self._memory else _nolock:
                db = self._wdb
                self._begin(db)
                try:
                    words: list[tuple[int, str]] = []
                    self._foreign_index(db)  # (one read of the meta table a batch)
                    inline = self._fts and self._search_upto >= _MAX_ID
                    pending: list[_Pending] = []
                    sealed: int | None = None
                    for record, fut, cb, _size in batch:
                        if type(cb) is Submitted and not cb.claim():
                            continue  # (taken back before this transaction held it)
                        if type(record) is _Row:
                            if record.gen is not None:
                                self._gens[id(record.record)] = record.gen
                            pending.append((record.values, record.record, fut, cb, record.words))
                            continue
                        if isinstance(record, dict) and not any(k in record for k in _CONTROL):
                            try:
                                gen = self._scrub_generation()
                                self._prepare(record)
                                if gen is not None:
                                    self._gens[id(record)] = gen
                                pending.append((record_values(record), record, fut, cb, None))
                            except Exception as exc:  # a bad record must not sink the batch
                                self._insert_pending(db, pending, done, words if inline else None)
                                done.append((exc, fut, cb))
                            continue
                        self._insert_pending(db, pending, done, words if inline else None)
                        if record is None:  # flush marker
                            done.append((None, fut, cb))
                        elif isinstance(record, ForwardOutcome):
                            db.execute(
                                "INSERT INTO forwards (capture_id, at_us, target, status,"
                                " latency_ms, error) VALUES (?,?,?,?,?,?)",
                                (record.capture_id, _us(record.at), record.target, record.status,
                                 record.latency_ms, record.error),
                            )
                            done.append((None, fut, cb))
                            forwarded.append(record.capture_id)
                        elif "__indexes__" in record:  # a bulk load into an empty store
                            done.append((self._indexes(db, record["__indexes__"]), fut, None))
                        elif "__meta__" in record:
                            key, value, *was = record["__meta__"]
                            if was:  # (a new value in place of that one only: a rename)
                                db.execute("UPDATE meta SET value = ? WHERE key = ? AND value = ?",
                                           (value, key, was[0]))
                            else:
                                db.execute("INSERT OR IGNORE INTO meta VALUES (?, ?)", (key, value))
                            done.append((None, fut, cb))
                        elif "__segment__" in record:  # encoded by the upkeep thread
                            sealed = self._store_segment(db, *record["__segment__"],
                                                         epoch=record.get("epoch")) or sealed
                            done.append((None, fut, cb))
                        elif "__status__" in record:
                            self._set_status(db, *record["__status__"])
                            done.append((record["__status__"][0], fut, cb))
                        elif "__summaries__" in record:
                            done.append((self._store_summaries(db, *record["__summaries__"]), fut, cb))
                        else:  # "__clear__": after this batch's earlier rows
                            db.execute("COMMIT")
                            try:
                                done.append((self._clear_all(), fut, None))
                            except Exception as exc:  # noqa: BLE001
                                done.append((exc, fut, None))
                                self._give_wal_back(exc)  # (its frames may have filled the disk)
                            self._begin(db)
                    self._insert_pending(db, pending, done, words if inline else None)
                    if words:
                        self._index_inline(db, words)
                    self._file_still_there()
                    db.execute("COMMIT")
                except BaseException:
                    self._fresh.clear()  # (rolled back: ids given again)
                    _rollback(db)
                    raise
                finally:
                    self._gens.clear()
                self._scrubbed_ids(self._fresh)
                self._fresh.clear()
                if sealed is not None:
                    self._segments_upto = sealed
            self._commits += 1
            if self.last_error is not None and (
                    forwarded or any(isinstance(c, Capture) for c, _, _ in done)):
                self.last_error = None  # (a batch of flushes alone proves nothing; rows do)
        except Exception as exc:
            done = [(exc, fut, cb) for _, fut, cb, _ in batch]
            forwarded = []  # (none was stored: no "forward stored" to the subscribers)
            self._write_failed(exc)
        caps = [c for c, _, _ in done if isinstance(c, Capture)]
        if caps:
            with self._cond:
                self._last_id = max(self._last_id, caps[-1].id)
                if self._sync is None:  # (else once synced: see _after_commit)
                    self._cond.notify_all()
        self._after_commit(done, forwarded, caps)
        self._retain(wrote=bool(caps))
        if self._upkeep is not None:
            self._written += len(batch)
            self._written_bytes += sum(item[3] for item in batch)
            if not all(r is None or (isinstance(r, dict) and any(k in r for k in _UPKEEP_ONLY))
                       for r, _, _, _ in batch):  # (flushes, its own segments and summaries:
                self._last_write = time.monotonic()  # still quiet)
            # (the upkeep's poke, a stat of the WAL, and a checkpoint: in _write_loop once the
            # batch's room is released: done here, between its answers and the release, a
            # flush() right after an add_sync() saw the batch still queued and opened a write)

    def _after_batch(self) -> None:
        """Writer thread, after a batch's room was released: wake the upkeep thread if there
        is work (:meth:`_Upkeep.poke`), then finish its checkpoint (:meth:`_finish_checkpoint`)."""
        if self._upkeep is not None:
            self._upkeep.poke()
            self._finish_checkpoint()

    def _retention_wanted(self) -> bool:
        """Upkeep thread: whether a retention pass is owed although nothing is written (the
        last write's pass came within a second of the one before, or did not delete all it
        should; or ``retention_age`` and captures growing old): the newest ``n`` exactly, and
        no old capture, also once webhooks stop coming."""
        if not (self.retention_count or self.retention_age) or self._closed:
            return False
        now = time.monotonic()
        if now < self._retention_retry_at:  # (a pass failed a moment ago)
            return False
        if self._retention_left and now - self._last_retention >= 1.0:
            return True
        if (self.retention_count, self.retention_age) != self._retention_as:
            return True  # (set on a store in use, %config HookLab.retention_count: applied
        since = now - max(self._last_retention, self._last_idle_retention)  # now, not at a write)
        return bool(self.retention_age) and since >= _RETENTION_IDLE

    def _write_failed(self, exc: BaseException) -> None:
        """Writer thread: a batch was not stored. Said by :attr:`last_error` (the health
        endpoint, ``hooklab serve``, the 503's text); on a full disk the WAL's room is given
        back (a TRUNCATE checkpoint: its pages go into the database, then the file is cut),
        so that freeing some space lets captures be stored again."""
        if self.last_error is None:  # (a new time: counted, as readers may look too late)
            self._episodes += 1
        self.last_error = (write_error(exc), self.last_error[1] if self.last_error else
                           datetime.now(timezone.utc))
        self._episode = self.last_error
        with contextlib.suppress(AttributeError, TypeError):  # (its captures' 503s: whose)
            exc.hooklab_failure = self._episodes  # type: ignore[attr-defined]
        log = self._episode_log  # (this time's words as the latest failure says them)
        kept = log[:-1] if log and log[-1][0] == self._episodes else log[1 - _EPISODES_KEPT:]
        self._episode_log = (*kept, (self._episodes, *self.last_error))
        self._give_wal_back(exc)
        self._make_wal_harmless(self._wdb)  # (the file left its path: see file_problem)

    def _give_wal_back(self, exc: BaseException) -> None:
        """Writer thread, after a write failed: if the disk is full, give the WAL's room back
        (at most every :data:`_FULL_RETRY` seconds)."""
        if _disk_full(exc) and not self._memory and time.monotonic() - self._full_at > _FULL_RETRY:
            self._full_at = time.monotonic()
            with contextlib.suppress(sqlite3.Error):
                self._wdb.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def _finish_checkpoint(self) -> None:
        """Writer thread, between transactions: after the upkeep thread's checkpoint, copy
        the few frames committed while it ran, so the next transaction starts the WAL file
        over (a checkpoint that never catches up with a busy writer would let it grow)."""
        if not self._checkpoint_due:
            return
        self._checkpoint_due = False
        try:
            self._wdb.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error:  # e.g. busy: the next round will do
            pass

    def _index_inline(self, db: sqlite3.Connection, words: list[tuple[int, str]]) -> None:
        """Index a batch's captures in its transaction (one statement, atomic by itself, for
        up to 400; a savepoint around more); on failure the twin covers them.

        Only if every row before them is indexed (the file's marker): rows another connection
        stored meanwhile and has not indexed yet (an import into this file by another lab, a
        second kernel's lab) are not jumped over. The marker moving past them made ``search=``
        of every lab on the file miss them for good. Then the batch is left to the catch-up,
        which indexes from the marker, those rows and these."""
        first = words[0][0]
        marker = self._meta_int_on(db, "search_upto")
        if marker < first - 1 and db.execute(
                "SELECT 1 FROM captures WHERE id > ? AND id < ? LIMIT 1", (marker, first)).fetchone():
            self._search_upto = marker  # (indexed as stored again once caught up)
            return
        one = len(words) <= _search.ROWS_PER_STATEMENT
        if not one:
            db.execute("SAVEPOINT words")
        try:
            _search.index_rows(db, words)
            self._set_meta(db, "search_upto", words[-1][0])
            if not one:
                db.execute("RELEASE words")
        except Exception:  # noqa: BLE001 - the twin covers unindexed rows
            if not db.in_transaction:  # SQLite gave the whole transaction up (a full disk):
                raise  # the batch fails, with that error
            if not one:
                db.execute("ROLLBACK TO words")
                db.execute("RELEASE words")
            self._search_upto = self._meta_int_on(db, "search_upto")

    def _insert_pending(
        self,
        db: sqlite3.Connection,
        pending: list[_Pending],
        done: list[tuple[Capture | BaseException | None, Future, Callable | None]],
        words: list[tuple[int, str]] | None,
    ) -> None:
        """INSERT the prepared captures of a batch (a few statements for all of them; one by
        one if that fails, so that one bad row fails alone) and clear ``pending``."""
        if not pending:
            return
        try:
            first = insert_rows(db, [p[0] for p in pending])
            results: list[Capture | BaseException] = [
                row_capture(first + i, values, record)
                for i, (values, record, _, _, _) in enumerate(pending)
            ]
        except Exception:  # noqa: BLE001 - each statement is atomic: nothing of it was kept
            if not db.in_transaction:  # SQLite gave the transaction up (a full disk): the
                raise  # batch fails whole; rows inserted one by one would be kept, unanswered
            results = []
            for values, record, _, _, _ in pending:
                values[16] = 0
                try:
                    results.append(row_capture(insert_rows(db, [values]), values, record))
                except Exception as exc:  # noqa: BLE001
                    if not db.in_transaction:  # (given up by SQLite now: the batch fails whole)
                        raise
                    results.append(exc)
        for result, (values, record, fut, cb, line) in zip(results, pending, strict=True):
            done.append((result, fut, cb))
            gen = self._gens.pop(id(record), None)
            if gen is not None and isinstance(result, Capture):
                self._fresh.append((result.id, result.id, gen))
            if words is not None and isinstance(result, Capture):
                words.append((result.id, self._words(values, record) if line is None else line))
        pending.clear()

    @staticmethod
    def _words(values: list[Any], record: dict[str, Any]) -> str:
        """The search index's words of a row (path, query, headers, body and trailers_at as
        stored: a trailer field describes none of the body)."""
        return _search.record_words(
            values[3], record.get("query") or {}, record.get("headers") or (), values[7],
            values[19])

    def _after_commit(self, done: list, forwarded: list[int], caps: list[Capture], *,
                      bulk: bool = False) -> None:
        """Writer thread, after a COMMIT: resolve the batch's futures and callbacks and tell
        the subscribers -- now, or once the WAL is synced (``durability="full"``). If that
        sync fails, captures (every row of a ``bulk`` import) get a :class:`StoreError` and
        the store takes no more captures."""
        sync = self._sync
        if sync is None:
            self._notify(done, forwarded, caps)
            return

        def durable(error: OSError | None) -> None:
            if error is None:
                with self._cond:  # wait_for() wakes when the captures are acknowledged
                    self._cond.notify_all()
                self._notify(done, forwarded, caps)
                return
            # committed (readers see the rows) but not known to be on disk: no capture is
            # acknowledged; what else the batch did (a clear, an index, a flush) did happen
            lost = NotDurable(f"committed, but syncing the database to disk failed: {error}")
            lost.hooklab_failure = self._episodes + 1  # type: ignore[attr-defined]
            self._notify([(lost if bulk or isinstance(r, Capture) else r, fut, cb)
                          for r, fut, cb in done], forwarded, caps)

        sync.after_sync(durable)

    def _notify(self, done: list, forwarded: list[int], caps: list[Capture]) -> None:
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

    def _prepare(self, record: dict[str, Any]) -> None:
        _detect(record)
        if self.secrets is not None:
            try:  # (raises if the record cannot be scrubbed of them: refused, not stored so)
                self.secrets.apply(record)
            except Exception as exc:
                for k, v in record.get("headers") or []:
                    if not (isinstance(k, str) and isinstance(v, str)):
                        raise TypeError(f"header {k!r}: {v!r} is not a pair of strings (a "
                                        "record's headers are (name, value) strings)") from exc
                raise
        # what arrived with the record for the checks only: off it, and out of what they wrote
        record.pop("signed_url", None)
        record.pop(HANDSHAKE_SEEN, None)
        key = record.pop("relay_key", None)
        never = record.pop("never_stored", None)
        if never or key:
            scrub_detected(record, (*(never or ()), *((key,) if key else ())))

    def _indexes(self, db: sqlite3.Connection, what: str) -> bool:
        """``drop`` the table's indexes if it is empty (True if they were), or ``create`` them
        (in the writer's open transaction)."""
        if what == "drop":
            if db.execute("SELECT 1 FROM captures LIMIT 1").fetchone() is not None:
                return False
            for name in INDEXES:
                db.execute(f"DROP INDEX IF EXISTS {name}")
            self._seen_deliveries = set()
            return True
        # (first: if this fails, later imports must look in the table, not in a set that no
        # longer holds every delivery stored)
        self._seen_deliveries = None
        for statement in _SCHEMA.split(";"):  # (no ";" inside them)
            if statement.strip():
                db.execute(statement)
        add_columns(db)
        return True

    def _write_bulk(self, item: tuple[Any, Future, Callable | None, int]) -> None:
        job, fut, _cb, _size = item
        self._last_write = time.monotonic()
        rows, notify, forwards = job["__bulk__"], job["notify"], job["forwards"]
        gen = job.get("generation")
        try:
            with self._read_lock if self._memory else _nolock:
                db = self._wdb
                self._begin(db)
                try:
                    first = insert_many(db, rows, self._seen_deliveries)
                    sealed = self._seal_imported(db, first, rows)
                    if forwards:  # (in the same transaction: the captures and their outcomes)
                        db.executemany(
                            "INSERT INTO forwards (capture_id, at_us, target, status,"
                            " latency_ms, error) VALUES (?,?,?,?,?,?)",
                            [(first + i, *f) for i, outcomes in forwards for f in outcomes])
                    self._file_still_there()
                    db.execute("COMMIT")
                except BaseException:
                    self._unsealed = (-1, [], None)  # (rows rolled back: not to be sealed)
                    _rollback(db)
                    raise
        except BaseException as exc:  # noqa: BLE001 - report, keep the writer alive
            fut.set_exception(exc)
            return
        if sealed is not None:
            self._segments_upto = sealed
        if gen is not None and rows:  # (rows this store scrubbed as it made them: add_many)
            self._scrubbed_ids([(first, first + len(rows) - 1, gen)])
        with self._cond:
            self._last_id = max(self._last_id, first + len(rows) - 1)
            if self._sync is None:  # (else once synced: see _after_commit)
                self._cond.notify_all()
        if self._search_upto >= _MAX_ID:  # the new rows are not indexed yet
            self._search_upto = first - 1
        if self.retention_count or self.retention_age:  # (owed: an import into a lab with
            self._retention_left = True  # retention was not trimmed until the next webhook)
        if self._upkeep is not None:
            self._written += len(rows)
            self._upkeep.poke()
            self._finish_checkpoint()
        caps = [
            _row_to_capture((first + i, v[0], v[1], v[2], v[3], v[5], v[6], v[7], v[8], v[9],
                             v[10], v[11], v[12], v[13], v[14], v[15], v[16], v[18], v[4],
                             v[19]))
            for i, v in enumerate(rows)
        ] if notify else []
        forwarded = [first + i for i, _ in forwards] if notify else []
        self._after_commit([(len(rows), fut, None)], forwarded, caps, bulk=True)

    def _seal_imported(self, db: sqlite3.Connection, first: int, rows: list[list[Any]]) -> int | None:
        """Writer thread, in a bulk import's transaction: seal the column segments its rows
        (ids ``first`` on, just inserted) complete, from the values in memory rather than
        read back from the table, and keep the rest for the next chunk; the new
        ``segments_upto``, or ``None`` if none was sealed. An import's store is then ready
        for fast DataFrames when the import returns (the upkeep thread, which seals
        segments by reading them back, waits during imports: it left a million imported
        captures without segments for half a minute, their DataFrames 20 times slower).
        Rows stored after the last segment and before these (captures that came while
        serving) are read back, up to :data:`_SEAL_BEHIND` of them; further behind, sealing
        is left to the upkeep thread."""
        if not self._has_segments:
            return None
        after, kept, pack = self._unsealed
        behind = pack is None or after != self._segments_upto or (
            kept[-1][0] if kept else after) != first - 1
        if behind:
            after, kept, pack = self._segments_upto, [], S.BodyPack()
            if first - 1 - after > _SEAL_BEHIND:
                self._unsealed = (-1, [], None)
                return None
        # (a number in a TEXT column is stored as SQLite writes it: the upkeep thread seals
        # such rows as it reads them back; the values' types looked at a column at a time)
        if any(not set(map(type, map(itemgetter(k), rows))) <= _AS_STORED for k in _TEXT_VALUES):
            self._unsealed = (-1, [], None)
            return None
        sealed = None

        def full() -> bool:  # (the segment's rows all given: kept, and the next one begun)
            nonlocal after, sealed, kept, pack
            if len(kept) < S.SEG_ROWS:
                return True
            blob = S.encode(kept, pack)
            got = self._keep_segment(db, after, kept[0][0], kept[-1][0], len(kept), blob)
            if got is None:  # (never expected: nothing deletes within the writer's transaction)
                return False
            after = sealed = got
            kept, pack = [], S.BodyPack()
            return True

        # (rows read back a segment's at most at a time, each body packed as it comes)
        while behind:
            got, pack = self._segment_rows(db, "id > ? AND id < ? ORDER BY id LIMIT ?",
                                           (kept[-1][0] if kept else after, first,
                                            S.SEG_ROWS - len(kept)), pack)
            kept.extend(got)
            behind = len(kept) == S.SEG_ROWS
            if not full():
                self._unsealed = (-1, [], None)
                return sealed
        for i, v in enumerate(rows):
            body = v[7]
            # (as S.SELECT reads the row back: the header section's Content-Encoding)
            row = (first + i, v[0], len(body), v[10], v[14], v[16], S.encoded_flag(v[6], v[19]),
                   v[1], v[4], v[2], v[11], v[12], v[17], v[3], v[13], v[8])
            kept.append(row)
            pack.add(row, body)
            if not full():
                self._unsealed = (-1, [], None)
                return sealed
        self._unsealed = (after, kept, pack)
        return sealed

    def _retain(self, *, wrote: bool = True) -> None:
        """Writer thread: :meth:`_apply_retention`, which must never stop the writer. A pass
        that fails (its COMMIT on a full disk; a database another process holds locked longer
        than the busy timeout) is rolled back, said (:attr:`retention_failing`, a warning on
        the ``hooklab`` logger) and tried again :data:`_RETENTION_RETRY` seconds later; on a
        full disk over fewer captures, as a smaller deletion needs less room in the WAL.
        (A writer killed here left every later capture unanswered, and ``stop()`` dropped the
        queue.) :attr:`failing` is not set by it: it says whether captures are stored."""
        try:
            ran = self._apply_retention(wrote=wrote)
        except Exception as exc:  # noqa: BLE001 - the writer must outlive a failed pass
            with self._read_lock if self._memory else _nolock, contextlib.suppress(sqlite3.Error):
                _rollback(self._wdb)  # (_apply_retention rolls back: unless that failed too)
            self._retention_failed(exc)
            return
        if ran is not None:  # (back up to full passes; made smaller again if one fails)
            self._retention_chunk = min(_RETENTION_CHUNK, self._retention_chunk * 2)
        if ran and self.retention_failing is not None:  # caught up: said once, not per chunk
            _log.info("hooklab: retention passes work again (%s): captures are deleted as"
                      " configured", self._where())
            self.retention_failing = None

    def _retention_failed(self, exc: BaseException) -> None:
        """Writer thread: a retention pass failed (rolled back): say it, try again later."""
        words = write_error(exc)
        if self.retention_failing is None:
            _log.warning("hooklab: a retention pass failed (%s): the captures it should delete "
                         "are kept; it is tried again every %g s (%s)", words, _RETENTION_RETRY,
                         self._where())
        since = self.retention_failing[1] if self.retention_failing else datetime.now(timezone.utc)
        self.retention_failing = (words, since)
        self._retention_left = True
        self._retention_retry_at = time.monotonic() + _RETENTION_RETRY
        if _disk_full(exc):
            self._retention_chunk = max(_RETENTION_CHUNK_MIN, self._retention_chunk // 8)
            self._give_wal_back(exc)  # (the failed deletion's frames filled the disk)

    def _where(self) -> str:
        """The database's file name for the log (not its folders)."""
        return "in memory" if self._memory else os.path.basename(self.path)

    def _apply_retention(self, *, wrote: bool = True) -> bool | None:
        """Writer thread, after a batch: a retention pass, at most one a second after writes;
        after a batch that stored no capture (the upkeep thread's, or a flush) only if one is
        owed (:meth:`_retention_wanted`), without taking the next write's turn. ``None`` if
        no pass ran, else whether it deleted all it should (``False``: more is left for the
        next); raises if it failed (see :meth:`_retain`)."""
        if not (self.retention_count or self.retention_age):
            return None
        now = time.monotonic()
        if now < self._retention_retry_at:  # (a pass failed a moment ago)
            self._retention_left = True
            return None
        if not wrote:
            if not self._retention_wanted():
                return None
            self._last_idle_retention = now
        elif now - self._last_retention < 1.0:
            self._retention_left = True  # (the upkeep thread asks for it once the second is over)
            return None
        else:
            self._last_retention = now
        self._retention_left = False
        self._retention_as = (self.retention_count, self.retention_age)
        deleted = 0
        whole = True  # (False: more to delete than one pass takes)
        kept = self._retained
        size = self._retention_chunk
        with self._read_lock if self._memory else _nolock:
            db = self._wdb
            self._begin(db)
            try:
                # a pass deletes at most _RETENTION_CHUNK captures: turning retention on for a
                # big store (or a long pause) held every webhook's answer for seconds
                chunk = db.execute("SELECT id FROM captures ORDER BY id LIMIT 1 OFFSET ?",
                                   (size - 1,)).fetchone()
                # changes committed by any other connection since the last pass (another
                # process serving the same file: its retention, its clear()) make the count
                # kept from then wrong: it deleted acknowledged captures it should keep
                version = db.execute("PRAGMA data_version").fetchone()[0]
                if self.retention_count:
                    n = int(self.retention_count)
                    if (kept is not None and kept[0] == self._generation and kept[1] <= self._last_id
                            and now - kept[3] < _RETENTION_EXACT and kept[4] == n
                            and kept[5] == version):
                        # the captures stored since the last pass: that many of the oldest go
                        # (walking those, not the n newest, which cost ~0.1 ms per thousand kept)
                        added = self._last_id - kept[1]
                        edge = db.execute(
                            "SELECT id FROM captures WHERE id >= ? ORDER BY id LIMIT 1 OFFSET ?",
                            (kept[2], added - 1)).fetchone() if added > 0 else None
                        exact_at = kept[3]
                    else:  # (now and then, and after any deletion: counted from the newest)
                        edge = db.execute("SELECT id FROM captures ORDER BY id DESC LIMIT 1 OFFSET ?",
                                          (n,)).fetchone()
                        exact_at, added = now, -1
                    exactly = edge is not None  # (then n are left: fewer before)
                    if edge is not None:
                        upto = edge[0]
                        if chunk is not None and chunk[0] < upto:
                            upto, whole = chunk[0], False
                        deleted += self._delete_where(db, "id <= ?", [upto])
                    elif added == 0:
                        exactly = True  # (nothing stored since the last pass left n: still n)
                if self.retention_age:
                    # (in microseconds: an age past datetime's years, 1e12 s, failed every pass
                    # with OverflowError; such an age deletes nothing)
                    cutoff = max(_us(datetime.now(timezone.utc))
                                 - int(min(self.retention_age, 2.0**62 / 1e6) * 1e6), -2**62)
                    where, args = "received_us < ?", [cutoff]
                    if chunk is not None:
                        where, args = "received_us < ? AND id <= ?", [cutoff, chunk[0]]
                    gone = self._delete_where(db, where, args)
                    deleted += gone
                    whole = whole and (chunk is None or gone < size)
                    if gone and self.retention_count:
                        exactly = False  # (fewer than n now: counted from the newest next time)
                # (the newest id there, not this process's: another's rows then seen are no
                # "added since" at the next pass)
                first, top = db.execute("SELECT MIN(id), MAX(id) FROM captures").fetchone()
                db.execute("COMMIT")
            except BaseException:
                _rollback(db)
                raise
        if deleted:  # after the commit: a count read meanwhile saw the rows still there
            self._generation += 1
            self._commits += 1  # (its frames are in the WAL: the upkeep thread checkpoints them)
            for dsub in list(self._delete_subscribers):  # (a live view showing one of them)
                try:
                    dsub()
                except Exception:  # noqa: BLE001 - callbacks must not kill the writer
                    pass
        if not whole:
            self._last_retention = 0.0  # (the rest at the next write, a commit later)
            self._retention_left = True
        self._retained = ((self._generation, max(top or 0, self._last_id), first, exact_at, n,
                           version)
                          if self.retention_count and whole and exactly and first is not None
                          else None)
        return whole

    def _delete_where(self, db: sqlite3.Connection, where: str, args: list[Any]) -> int:
        """Delete captures matching ``where`` with their index entries and segments (inside
        the caller's transaction, on the writer thread; the caller bumps ``_generation``
        once it has committed)."""
        lo, hi = db.execute(f"SELECT MIN(id), MAX(id) FROM captures WHERE {where}", args).fetchone()
        if lo is None:
            return 0
        if self._fts:  # (the rows the file's marker says are indexed: another connection's
            _search.unindex_where(db, where, args, self._meta_int_on(db, "search_upto"))  # too)
        if self._has_segments:
            db.execute("DELETE FROM segments WHERE last_id >= ? AND first_id <= ?", (lo, hi))
        try:  # (the table may have been made by another store object on this file)
            db.execute("DELETE FROM segment_summaries WHERE last_id >= ? AND first_id <= ?", (lo, hi))
        except sqlite3.OperationalError:
            pass
        return db.execute(f"DELETE FROM captures WHERE {where}", args).rowcount

    def _clear_all(self) -> int:
        """Writer thread: delete every capture, forward, index entry and segment."""
        with self._read_lock if self._memory else _nolock:
            db = self._wdb
            self._begin(db)
            try:
                n = db.execute("DELETE FROM captures").rowcount
                db.execute("DELETE FROM forwards")
                if self._fts:
                    _search.clear_index(db)
                    seq = db.execute(
                        "SELECT seq FROM sqlite_sequence WHERE name = 'captures'").fetchone()
                    self._set_meta(db, "search_upto", max(self._last_id, seq[0] if seq else 0))
                if self._has_segments:
                    db.execute("DELETE FROM segments")
                    self._set_meta(db, "segments_upto", self._last_id)
                try:
                    db.execute("DELETE FROM segment_summaries")
                except sqlite3.OperationalError:  # none kept
                    pass
                db.execute("COMMIT")
            except BaseException:
                _rollback(db)
                raise
        if self._fts:
            self._search_upto = _MAX_ID
        self._segments_upto = self._last_id
        self._status_changed = {}
        self._generation += 1
        with self._held_lock:  # (outcomes of captures that are gone)
            self._held_forwards.clear()
        return n

    def record_forward(self, outcome: ForwardOutcome) -> None:
        """Record what became of relaying a capture (a queued write, like a capture's).

        An outcome that cannot be stored (a full disk) is kept in memory, up to
        :data:`_HELD_FORWARDS` of them, and stored once writes work again (tried every
        :data:`_FULL_RETRY` seconds); one past that, or still kept when the store closes, is
        lost, and a warning on the ``hooklab`` logger says so. (Such outcomes were lost
        without a word: nothing looked at the write's result.)
        """
        self._queue_forward(outcome, block=True)

    def _queue_forward(self, outcome: ForwardOutcome, *, block: bool) -> None:
        fut: Future[Any] = Future()
        fut.add_done_callback(lambda f: self._forward_written(outcome, f))
        self._enqueue(outcome, fut, None, block=block)  # type: ignore[arg-type]

    def _forward_written(self, outcome: ForwardOutcome, fut: Future) -> None:
        """Store thread: an outcome's write is done; one that failed is held for later."""
        exc = fut.exception()
        if exc is not None and not isinstance(exc, NotDurable):  # (NotDurable: it is stored)
            self._hold_forwards([outcome], write_error(exc))
        elif self._held_said:
            with self._held_lock:
                if self._held_forwards:
                    return
                self._held_said = False
            _log.info("hooklab: the forward outcomes kept in memory are stored (%s)", self._where())

    def _hold_forwards(self, outcomes: list[ForwardOutcome], why: str) -> None:
        with self._held_lock:
            first, self._held_said = not self._held_said, True
            kept = outcomes[: max(0, _HELD_FORWARDS - len(self._held_forwards))]
            self._held_forwards += kept
            lost = len(outcomes) - len(kept)
            first_lost = lost and not self._held_dropped
            self._held_dropped += lost
        if first:
            _log.warning("hooklab: a forward's outcome could not be stored (%s): outcomes are "
                         "kept in memory (up to %d) and stored once the database can be written"
                         " (%s)", why, _HELD_FORWARDS, self._where())
        if first_lost:
            _log.warning("hooklab: %d forward outcomes are kept in memory, waiting to be stored:"
                         " more are lost (counted) until they are (%s)", _HELD_FORWARDS,
                         self._where())

    def _retry_forwards(self, *, now: bool = False) -> None:
        """Queue the held forward outcomes again (the upkeep thread, every
        :data:`_FULL_RETRY` seconds at most, or ``now``: closing). Never waits for room."""
        with self._held_lock:
            if not self._held_forwards or self._failed is not None or (
                    not now and time.monotonic() < self._held_retry_at):
                return
            held, self._held_forwards = self._held_forwards, []
            self._held_retry_at = time.monotonic() + _FULL_RETRY
            lost, self._held_dropped = self._held_dropped, 0
        if lost:
            _log.warning("hooklab: %d forward outcomes were lost while the database could not "
                         "be written (%s)", lost, self._where())
        for at, outcome in enumerate(held):
            try:
                self._queue_forward(outcome, block=False)
            except StoreError:  # the queue is full, or the store closed: kept for later
                with self._held_lock:
                    self._held_forwards[:0] = held[at:]
                break

    def forwards(self, capture_id: int | None = None, *,
                 ids: Iterable[int] | None = None) -> list[dict[str, Any]]:
        """Forwarding outcomes, oldest first: all, of one capture, or of the captures ``ids``
        (what an export reads for each page of captures it writes: the whole table, one
        forward per capture, was 122 MB for an export of one capture of 200,000).

        >>> store.forwards(ids=[cap.id])  # (it was not forwarded)
        []
        """
        sql = "SELECT id, capture_id, at_us, target, status, latency_ms, error FROM forwards"
        if ids is not None:
            wanted = sorted({int(i) for i in ids})
            rows: list[tuple] = []
            for at in range(0, len(wanted), _IDS_PER_QUERY):  # (SQLite's limit on ? is 999
                part = wanted[at : at + _IDS_PER_QUERY]  # before 3.32)
                rows += self._fetch(
                    f"{sql} WHERE capture_id IN ({','.join('?' * len(part))})", part)
            rows.sort()  # (by the outcome's own id: oldest first across the parts)
        elif capture_id is not None:
            rows = self._fetch(sql + " WHERE capture_id = ? ORDER BY id", [int(capture_id)])
        else:
            rows = self._fetch(sql + " ORDER BY id")
        return [
            {
                "capture_id": r[1],
                "at": _from_us(r[2]),
                "target": r[3],
                "status": r[4],
                "latency_ms": r[5],
                "error": r[6],
            }
            for r in rows
        ]

    # -- subscriptions ------------------------------------------------------------------------
    def subscribe(
        self,
        callback: Callable[[Capture], None],
        on_clear: Callable[[], None] | None = None,
        on_forward: Callable[[int], None] | None = None,
        on_delete: Callable[[], None] | None = None,
        on_status: Callable[[int], None] | None = None,
    ) -> Callable[[], None]:
        """Call ``callback(capture)`` for every newly stored capture, once it is durable: on
        the writer thread, or with ``durability="full"`` on the WAL syncer's thread.

        ``on_clear()`` runs after :meth:`clear`; ``on_forward(capture_id)`` after a forwarding
        outcome is stored; ``on_delete()`` after a retention pass deleted captures (on the
        writer thread; also when no webhook arrives: ``retention_age``); ``on_status(capture_id)``
        after a capture's answered status changed (:meth:`record_status`). Returns a function
        that unsubscribes. Callbacks must be quick.

        >>> unsubscribe = store.subscribe(print, on_delete=lambda: print("some were deleted"))
        >>> unsubscribe()
        """
        self._subscribers.append(callback)
        if on_clear is not None:
            self._clear_subscribers.append(on_clear)
        if on_forward is not None:
            self._forward_subscribers.append(on_forward)
        if on_delete is not None:
            self._delete_subscribers.append(on_delete)
        if on_status is not None:
            self._status_subscribers.append(on_status)

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)
            if on_clear is not None and on_clear in self._clear_subscribers:
                self._clear_subscribers.remove(on_clear)
            if on_forward is not None and on_forward in self._forward_subscribers:
                self._forward_subscribers.remove(on_forward)
            if on_delete is not None and on_delete in self._delete_subscribers:
                self._delete_subscribers.remove(on_delete)
            if on_status is not None and on_status in self._status_subscribers:
                self._status_subscribers.remove(on_status)

        return unsubscribe

    # -- reading ----------------------------------------------------------------------------
    def _fetch(self, sql: str, args: Sequence[Any] = ()) -> list[tuple]:
        with self._read_lock:
            return self._db.execute(sql, args).fetchall()

    def _fetch_apart(self, sql: str, args: Sequence[Any] = ()) -> list[tuple]:
        """``_fetch`` on a pooled read connection of its own (a file's store): a long scan,
        ``search=`` of punctuation row by row, holds up no other read meanwhile (the captures
        API's page on a worker thread held the one connection every other read waits for)."""
        if self._memory or self.file_problem() is not None:  # (see _reader)
            return self._fetch(sql, args)
        db = self._reader()
        try:
            return db.execute(sql, args).fetchall()
        finally:
            self._give_back(db)

    def _plan(self, filters: dict[str, Any] | None = None) -> SearchPlan:
        """How the ``search`` filter may use the index right now (``filters`` without
        ``search``: the plan is not used, and costs nothing)."""
        if filters is not None and not filters.get("search"):
            return SearchPlan(self._fts, self._search_upto, self._trailers_at)
        if self.readonly:  # another process writes: only what its markers say is indexed
            # (an index of words of another meaning, an older hooklab's: not used at all)
            return SearchPlan(self._fts, 0 if self._fts and self._search_stale() else self._meta_int("search_upto"), self._trailers_at)
        if self._fts and not self._memory:  # (another hooklab may have rebuilt it meanwhile)
            with self._read_lock:
                self._foreign_index(self._db)
        if self._fts and self._search_upto >= _MAX_ID and not self._memory:
            # caught up, as far as this store knows: rows another connection stored in the
            # file since (an import's lab, another kernel's) may not be indexed yet
            with self._read_lock:
                marker = self._meta_int_on(self._db, "search_upto")
                (top,) = self._db.execute("SELECT MAX(id) FROM captures").fetchone()
            if top is not None and marker < top:
                if self._search_upto >= _MAX_ID:  # (the writer catches up from the marker)
                    self._search_upto = marker
                    with contextlib.suppress(Exception):
                        self._enqueue(None, Future(), None, block=False)  # (wakes it)
                return SearchPlan(self._fts, marker, self._trailers_at)
        return SearchPlan(self._fts, self._search_upto, self._trailers_at)

    def _indexed(self, filters: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        """(FTS5 query, the other filters) when ``search`` can be answered by the index alone."""
        needle = filters.get("search")
        if not needle or not self._fts or self._plan().upto < _MAX_ID:
            return None
        match = _search.phrase(needle)
        if match is None or not _search.index_exact(needle):
            return None
        return match, {k: v for k, v in filters.items() if k != "search"}

    def shown(self, capture: Capture | None) -> Capture | None:
        """``capture`` as exports, views, the read API and wait messages show it: with the
        secrets given to this store's lab since it was stored (``lab.secret``) as
        ``[secret]``, as in captures stored after them
        (:meth:`~hooklab.signatures.book.SecretBook.scrubbed`); the database keeps it as it
        was stored. ``None`` stays ``None``. A capture this store scrubbed on arrival of
        every secret given since (:meth:`scrubbed_on_arrival`) is returned as it is, unread.

        >>> store.shown(store.get(1)) == store.get(1)   # (no secret given since)
        True
        """
        book = self.secrets
        if not book or capture is None or self.scrubbed_on_arrival(capture.id):
            return capture
        # (what it changes kept per capture: the live view shows its rows again each refresh)
        version, key = book.version, (capture.id, capture.received_at)
        kept = self._shown_memo.get(key)
        if kept is not None and kept[0] == version:
            changed = kept[1]
        else:
            changed = book.hidden_fields(capture)
            with self._clean_lock:
                self._shown_memo.pop(key, None)
                self._shown_memo[key] = (version, changed)
                while len(self._shown_memo) > _SHOWN_KEPT:
                    del self._shown_memo[next(iter(self._shown_memo))]
        return replace(capture, **changed) if changed else capture

    def shown_text(self, text: str) -> str:
        """``text`` (a label or note a view or a log line shows, a request target) with every
        secret given to this store's lab as ``[secret]`` (:meth:`shown`'s rule for a text).

        >>> store.shown_text("/orders/x")                  # (no secret given)
        '/orders/x'
        """
        book = self.secrets
        return book.scrub_text(text) if book else text

    def shown_forwards(self, forwards: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``forwards`` (outcomes as :meth:`forwards` lists them) as exports and views show
        them: the ``target`` and ``error`` of a capture's forward with every secret given to
        this store's lab since the capture was stored as ``[secret]`` (a forward's target
        holds the capture's path and query; an error may quote the target). The outcomes of
        a capture scrubbed on arrival of every secret given since
        (:meth:`scrubbed_on_arrival`) are returned as they are; the database keeps them as
        recorded.

        >>> store.shown_forwards(store.forwards(cap.id)) == store.forwards(cap.id)  # (stored after)
        True
        """
        book = self.secrets
        if not book or not forwards:
            return forwards
        clean: dict[int, bool] = {}
        shown = []
        for f in forwards:
            cid = f.get("capture_id")
            if cid is not None and cid not in clean:
                clean[cid] = self.scrubbed_on_arrival(cid)
            if cid is not None and clean[cid]:
                shown.append(f)
                continue
            changed = {k: book.scrub_text(f[k]) for k in ("target", "error")
                       if isinstance(f.get(k), str)}
            shown.append({**f, **changed} if any(f[k] != v for k, v in changed.items()) else f)
        return shown

    def scrubbed_on_arrival(self, capture_id: int) -> bool:
        """Whether this store scrubbed capture ``capture_id`` of every secret given to its
        lab so far as it stored it (no ``lab.secret`` gave a new one since): :meth:`shown`
        has nothing to hide in it. ``False`` for one stored before, imported from rows
        prepared elsewhere, or written by another process: those are scrubbed as shown.

        >>> store.scrubbed_on_arrival(10**9)
        False
        """
        book = self.secrets
        if book is None:
            return False
        gen, ranges = self._clean
        if gen != book.generation or not ranges:
            return False
        at = bisect.bisect_right(ranges, [capture_id, _MAX_ID]) - 1
        return at >= 0 and ranges[at][0] <= capture_id <= ranges[at][1]

    def _scrub_generation(self) -> int | None:
        """The secrets generation a record prepared now is scrubbed under (``None``: no
        secrets book)."""
        return None if self.secrets is None else self.secrets.generation

    def _scrubbed_ids(self, fresh: list[tuple[int, int, int]]) -> None:
        """Writer thread, after a commit: note the ``(first id, last id, generation)`` of
        captures scrubbed on arrival (ascending; adjacent ones one range) that are still
        clean (their generation the book's now), for :meth:`scrubbed_on_arrival`. At most
        :data:`_CLEAN_RANGES` ranges are kept (the newest): one forgotten is scrubbed as shown."""
        book = self.secrets
        if book is None or not fresh:
            return
        with self._clean_lock:
            now = book.generation
            gen, ranges = self._clean
            if gen != now:
                ranges = []
            for first, last, g in fresh:
                if g != now:
                    continue
                if ranges and ranges[-1][1] + 1 >= first >= ranges[-1][0]:
                    ranges[-1][1] = max(ranges[-1][1], last)
                elif not ranges or first > ranges[-1][1]:
                    ranges.append([first, last])
            del ranges[:-_CLEAN_RANGES]
            self._clean = (now, ranges)  # (a new list when the generation changed: readers
            # holding the old tuple see it whole)

    def get(self, capture_id: int) -> Capture | None:
        rows = self._fetch(f"SELECT {self._cols} FROM captures WHERE id = ?", (int(capture_id),))
        return _row_to_capture(rows[0]) if rows else None

    def _select(
        self, columns: str, filters: dict[str, Any], order: str, limit: int | None, offset: int
    ) -> list[tuple]:
        filters = validate(filters, provider_check=self.provider_check)
        page = ""
        args_page: list[Any] = []
        if limit is not None or offset:
            page = " LIMIT ? OFFSET ?"
            args_page = [-1 if limit is None else int(limit), int(offset)]
        indexed = self._indexed(filters)
        if indexed is not None:  # walk the index in id order: stops as soon as the page is full
            match, rest = indexed
            where, args = where_clause(rest)
            more = (" AND " + where[len(" WHERE "):]) if where else ""
            return self._fetch(
                f"SELECT {columns} FROM captures_fts CROSS JOIN captures"
                f" ON captures.id = captures_fts.rowid WHERE captures_fts MATCH ?{more}"
                f" ORDER BY captures_fts.rowid {order}{page}",
                [match, *args, *args_page],
            )
        where, args = where_clause(filters, self._plan(filters))
        return self._fetch(
            f"SELECT {columns} FROM captures{where} ORDER BY id {order}{page}", args + args_page
        )

    def query(
        self, *, limit: int | None = None, offset: int = 0, newest_first: bool = False, **filters: Any
    ) -> list[Capture]:
        """Captures matching ``filters`` (oldest first unless ``newest_first``)."""
        order = "DESC" if newest_first else "ASC"
        return [_row_to_capture(r) for r in self._select(self._cols, filters, order, limit, offset)]

    def iter_captures(self, *, chunk: int = 1_000, **filters: Any) -> Iterator[Capture]:
        """Captures matching ``filters``, oldest first, read ``chunk`` at a time: all of them
        (an export) without holding them all. Each chunk is one short query from the last id
        read (keyset paging), so the millionth capture costs what the first does.

        >>> [c.path for c in store.iter_captures(provider="stripe")]
        ['/stripe']
        """
        filters = validate(filters, provider_check=self.provider_check)
        for rows in self.iter_rows(self._cols.split(", ", 1)[1], chunk=chunk, **filters):
            yield from map(_row_to_capture, rows)

    def handshakes(self) -> dict[int, str]:
        """``{capture id: what was answered}`` for the captures that were endpoint handshakes
        (few: read through a partial index)."""
        if not self._handshakes:
            return {}
        return dict(self._fetch("SELECT id, handshake FROM captures WHERE handshake IS NOT NULL"))

    def rows(self, columns: str, **filters: Any) -> list[tuple]:
        """Raw rows of selected columns, oldest first (SQL expressions over ``captures``)."""
        return self._select(columns, filters, "ASC", None, 0)

    def columns(self, *, body: bool = False, segments: bool = True, **filters: Any) -> Any:
        """Captures matching ``filters`` as a ``pyarrow.Table``, oldest first: the fast way to
        read many (DataFrames, exports, exploration).

        Columns: ``id, received_us, size, status`` (int64), ``verified`` (int8: 1, 0, -1 for
        unknown), ``duplicate``, ``encoded`` (int8: the capture has a ``Content-Encoding``, or a
        transfer coding besides ``chunked``),
        ``kind, bin, method, provider, event_type, content_type, path, delivery_id,
        remote_addr`` (dictionary-encoded strings), and ``body`` (``large_binary``) if asked.
        ``segments=False`` reads every row through SQL (slow; for checking the fast path).

        >>> store.columns(provider="stripe", body=True).num_rows
        1
        """
        filters = validate(filters, provider_check=self.provider_check)
        if self._memory:
            with self._read_lock:
                return _columns.read(self._db, filters, self._plan(filters), body=body, segments=segments)
        db = self._reader()
        try:
            return _columns.read(
                db, filters, self._plan(filters), body=body, segments=segments,
                connect=self._reader, release=self._give_back,
            )
        finally:
            self._give_back(db)

    def packed_columns(self, **filters: Any) -> tuple[Any, list[Any]] | None:
        """:meth:`columns` with the bodies as the store keeps them (for DataFrames): ``(table
        without body, packs)``, one pack per chunk of the table: ``("zlib", compressed bytes,
        offsets, size)`` or a ``large_binary`` array. ``None`` when ``filters`` are given (then
        :meth:`columns` it is)."""
        if filters:
            return None
        if self._memory:
            with self._read_lock:
                return _columns.read_packed(self._db, self._plan({}))
        db = self._reader()
        try:
            return _columns.read_packed(db, self._plan({}), connect=self._reader, release=self._give_back)
        finally:
            self._give_back(db)

    def json_columns(self, **filters: Any) -> tuple[Any, list[Any] | None]:
        """:meth:`columns` with the bodies a DataFrame's ``json`` column may need: those that
        may be JSON (``_segments.MAY_BE_JSON``), every other one empty, never read into
        memory (a frame of big binary bodies read them all first). ``(table, packs)`` as
        :meth:`packed_columns` gives them, or with
        ``filters`` ``(table with its body column, None)``.

        >>> table, packs = store.json_columns()
        >>> table.num_rows == sum(len(p[2]) - 1 if isinstance(p, tuple) else len(p) for p in packs)
        True
        """
        filters = validate(filters, provider_check=self.provider_check)
        if self._memory:
            with self._read_lock:
                if filters:
                    return _columns.read(self._db, filters, self._plan(filters), body="json"), None
                return _columns.read_packed(self._db, self._plan({}), json=True)
        db = self._reader()
        try:
            if filters:
                return _columns.read(db, filters, self._plan(filters), body="json", connect=self._reader,
                                     release=self._give_back), None
            return _columns.read_packed(db, self._plan({}), json=True, connect=self._reader,
                                        release=self._give_back)
        finally:
            self._give_back(db)

    def summaries(self, kind: str) -> dict[tuple[int, int, int], bytes | None]:
        """Every column segment as ``(first_id, last_id, rows)``, with the summary kept for it
        under ``kind`` by :meth:`keep_summaries` (``None`` where there is none yet).

        A segment's rows never change (ids are never reused), so a summary made from them
        stays true for as long as the segment exists; whatever deletes captures deletes the
        summaries of the segments that covered them.

        >>> store = CaptureStore(":memory:")
        >>> store.summaries("demo")
        {}
        """
        joined = ("SELECT s.first_id, s.last_id, s.rows, m.data FROM segments s"
                  " LEFT JOIN segment_summaries m ON m.kind = ? AND m.first_id = s.first_id"
                  " AND m.last_id = s.last_id AND m.rows = s.rows ORDER BY s.first_id")
        with self.read_connection() as db:
            try:
                got = db.execute(joined, [kind]).fetchall()
            except sqlite3.OperationalError:  # no summaries table (yet), or no segments
                try:
                    got = db.execute("SELECT first_id, last_id, rows, NULL FROM segments"
                                     " ORDER BY first_id").fetchall()
                except sqlite3.OperationalError:  # a database of format 1 opened read-only
                    return {}
        return {(first, last, rows): data for first, last, rows, data in got}

    def unsummarized(self, kind: str, limit: int = 1) -> list[tuple[int, int, int]]:
        """The oldest ``limit`` column segments, as ``(first_id, last_id, rows)``, that have
        no summary kept under ``kind`` (see :meth:`summaries`)."""
        with self.read_connection() as db:
            try:
                return db.execute(
                    "SELECT s.first_id, s.last_id, s.rows FROM segments s WHERE NOT EXISTS"
                    " (SELECT 1 FROM segment_summaries m WHERE m.kind = ? AND m.first_id ="
                    " s.first_id AND m.last_id = s.last_id AND m.rows = s.rows)"
                    " ORDER BY s.first_id LIMIT ?", (kind, limit)).fetchall()
            except sqlite3.OperationalError:  # no summaries table (yet), or no segments
                try:
                    return db.execute("SELECT first_id, last_id, rows FROM segments"
                                      " ORDER BY first_id LIMIT ?", (limit,)).fetchall()
                except sqlite3.OperationalError:
                    return []

    def when_idle(self, work: Callable[[], bool | None]) -> None:
        """Run ``work`` on the upkeep thread in quiet moments: when no capture (or other
        write of the store's users) has come for a second, a small piece at a time, pieces
        one after another for at most a fifth of a second, then again a second later while
        it stays quiet. ``work`` returns whether it did something; after ``False`` it runs
        again only once a segment is sealed or captures are deleted (``None``: not now, ask
        again). It must not import anything for the first time (an import on two threads at
        once can deadlock). Schema summaries are kept up this way (see
        :func:`hooklab.explore.keep_summaries_up`). Stores without an upkeep thread (in
        memory, read-only) never run it. Quiet is this store object's: another process (or
        another store object) writing captures to the same file does not count.
        """
        self._idle_work.append(work)

    @property
    def closing(self) -> bool:
        """Whether :meth:`close` has begun (quiet-moment work stops at once then)."""
        return self._closed

    @property
    def written_at(self) -> float:
        """``time.monotonic()`` when a capture was last queued or committed (or anything
        written but the store's own upkeep: segments, summaries; flushes do not count), or
        when the store was opened: what quiet-moment work compares to see whether a capture
        came."""
        return self._last_write

    def keep_summaries(self, kind: str, items: Sequence[tuple[int, int, int, bytes]]) -> bool:
        """Keep ``(first_id, last_id, rows, data)`` summaries of column segments under ``kind``
        (what :meth:`summaries` gives back), each only while its segment is still exactly
        those rows. A kind ``name-N`` (N a number) replaces the segment's summary under any
        other ``name-M`` (an earlier layout, never read again). Best effort and never waits:
        ``False`` when the store is read-only, closed or its queue is full (the summaries are
        then simply made again next time).
        """
        if not items or self.readonly or self._closed:
            return False
        try:
            self._enqueue({"__summaries__": (kind, list(items))}, None, None, block=False)
        except StoreError:
            return False
        return True

    def _store_summaries(
        self, db: sqlite3.Connection, kind: str, items: list[tuple[int, int, int, bytes]]
    ) -> int:
        """Writer thread: keep the summaries whose segment still exists as described, in a
        savepoint of the batch's transaction: whatever fails here (a blob too big, a table of
        another layout) is dropped alone, never the captures of the same batch."""
        if not self._has_segments:
            return 0
        db.execute("SAVEPOINT summaries")
        try:
            db.execute(_SUMMARIES_SCHEMA)
            kept = 0
            family, _, version = kind.rpartition("-")
            layouts = re.compile(re.escape(family) + r"-[0-9]+") if version.isdigit() else None
            for first, last, rows, data in items:
                if layouts is not None:  # the same segment's summary in an earlier layout
                    for (other,) in db.execute(
                        "SELECT kind FROM segment_summaries WHERE first_id = ? AND kind != ?",
                        (first, kind),
                    ).fetchall():
                        if layouts.fullmatch(other):
                            db.execute("DELETE FROM segment_summaries WHERE kind = ? AND"
                                       " first_id = ?", (other, first))
                kept += db.execute(
                    "INSERT OR REPLACE INTO segment_summaries (kind, first_id, last_id, rows, data)"
                    " SELECT ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM segments WHERE first_id = ?"
                    " AND last_id = ? AND rows = ?)",
                    (kind, first, last, rows, data, first, last, rows),
                ).rowcount
            db.execute("RELEASE summaries")
        except Exception:  # noqa: BLE001 - summaries are made again when next needed
            if not db.in_transaction:  # SQLite gave the whole transaction up (a full disk)
                raise
            db.execute("ROLLBACK TO summaries")
            db.execute("RELEASE summaries")
            return 0
        return kept

    def export_source(self) -> str:
        """This database's name in exported file names, made once and kept (in its ``meta``
        table): from its path and first capture, so that the same database read-only (a
        mount no one may write: nothing can be kept) gets the same name in every process and
        as when it is writable; random for a database with no capture yet."""
        import hashlib
        import secrets

        with self._read_lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = 'export_source'").fetchone()
            first = self._db.execute(
                "SELECT id, received_us FROM captures ORDER BY id LIMIT 1").fetchone()
        if row:
            return self._renamed_to(str(row[0]))
        if first is not None or self.readonly:
            seed = f"{os.path.realpath(self.path)}|{first and tuple(first)}".encode()
            name = "r" + hashlib.sha256(seed).hexdigest()[:8]
        else:
            name = secrets.token_hex(4)
        if self.readonly:
            return self._renamed_to(name)
        fut: Future[Any] = Future()
        self._enqueue({"__meta__": ("export_source", name)}, fut, None)
        fut.result()
        with self._read_lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = 'export_source'").fetchone()
        return str(row[0]) if row else name

    def _renamed_to(self, name: str) -> str:
        """``name``, or what a read-only database was renamed to in its place."""
        for _ in range(len(self._renamed)):
            name = self._renamed.get(name, name)
        return name

    def renew_export_source(self, old: str) -> str:
        """Give this database a new export name in place of ``old``, which another database
        also carries (a copy of this one, or this one a copy or a restored backup of it: the
        name is kept in the file). Returns the name now kept (another thread's, if it
        renamed first). A read-only database, where nothing can be
        kept, is renamed in memory, to a name made from ``old``, its path and first capture
        (the same in every process that opens it there).

        >>> old = store.export_source()
        >>> store.renew_export_source(old) != old
        True
        """
        import hashlib
        import secrets

        if self.readonly:
            with self._read_lock:
                first = self._db.execute(
                    "SELECT id, received_us FROM captures ORDER BY id LIMIT 1").fetchone()
            seed = f"{os.path.realpath(self.path)}|{first and tuple(first)}|{old}".encode()
            self._renamed[old] = "r" + hashlib.sha256(seed).hexdigest()[:8]
            return self.export_source()
        new = secrets.token_hex(4)
        fut: Future[Any] = Future()
        self._enqueue({"__meta__": ("export_source", new, old)}, fut, None)
        fut.result()
        return self.export_source()

    def highest_id_given(self) -> int:
        """The highest id this database ever gave a capture, deleted ones too (SQLite's
        ``AUTOINCREMENT`` never gives one twice); 0 when none."""
        if self._memory:
            return self._last_id
        rows = self._fetch_apart("SELECT seq FROM sqlite_sequence WHERE name = 'captures'")
        return max(self._last_id, int(rows[0][0]) if rows and rows[0][0] is not None else 0)

    def extra_columns(self, ids: Any) -> dict[str, list[Any]]:
        """``url``, ``query``, ``headers`` (stored JSON text), ``verify_reason``, ``handshake``
        and ``trailers_at`` (as stored: the Parquet export keeps it where it names one of the
        capture's header fields) of the captures ``ids``."""
        wanted = [int(i) for i in ids]
        found: dict[int, tuple] = {}
        # (a database opened read-only from before the trailers_at column: NULL, no trailers)
        trail = "trailers_at" if "trailers_at" in self._cols else "NULL"
        for at in range(0, len(wanted), 50_000):
            part = wanted[at : at + 50_000]
            shake = "handshake" if self._handshakes else "NULL"
            rows = self._fetch(
                f"SELECT id, url, query, headers, verify_reason, {shake}, {trail} FROM captures"
                " WHERE id >= ? AND id <= ?",
                (min(part), max(part)),
            )
            found.update((r[0], r[1:]) for r in rows)
        blank = ("", "{}", "[]", None, None, None)
        got = [found.get(i, blank) for i in wanted]
        return {
            "url": [g[0] for g in got],
            "query": [g[1] for g in got],
            "headers": [g[2] for g in got],
            "verify_reason": [g[3] for g in got],
            "handshake": [g[4] for g in got],
            "trailers_at": [g[5] for g in got],
        }

    def bodies(self, ids: Any) -> Any:
        """The bodies of the captures ``ids`` (in that order) as a ``large_binary`` array,
        null where there is no such capture (deleted since the ids were read): an export
        reads them a batch at a time, not every body of the store at once.

        >>> store.bodies([1]).to_pylist()[0][:1]
        b'{'
        """
        import numpy as np
        import pyarrow as pa

        wanted = [int(i) for i in ids]
        found: dict[int, bytes] = {}
        if wanted:
            lo, hi = min(wanted), max(wanted)
            if wanted == list(range(lo, hi + 1)):  # a run of ids: SQLite joins them in one
                ((data, lengths, order),) = self._fetch_apart(  # buffer (no object per body)
                    "SELECT CAST(group_concat(body, '') AS BLOB), group_concat(length(body)),"
                    " group_concat(id) FROM captures WHERE id >= ? AND id <= ?", (lo, hi))
                got = np.fromstring(order or "", dtype=np.int64, sep=",")
                if np.array_equal(got, np.asarray(wanted, np.int64)):
                    offsets = np.zeros(len(got) + 1, np.int64)
                    np.cumsum(np.fromstring(lengths, dtype=np.int64, sep=","), out=offsets[1:])
                    return pa.Array.from_buffers(pa.large_binary(), len(got), [
                        None, pa.py_buffer(offsets), pa.py_buffer(data or b"")])
            for at in range(0, len(wanted), 500):  # (under SQLite's oldest limit of 999)
                part = wanted[at : at + 500]
                found.update(self._fetch_apart(
                    f"SELECT id, body FROM captures WHERE id IN ({','.join('?' * len(part))})",
                    part))
        return pa.array([found.get(i) for i in wanted], pa.large_binary())

    def _reader(self) -> sqlite3.Connection:
        """A read connection of its own, for long reads that must not hold up the live view."""
        with self._room:
            if self._pool:
                return self._pool.pop()
        problem = None if self._memory else self.file_problem()
        if problem is not None:  # (the path holds another file now, or none: a connection
            # to it would read that one's captures as this lab's, and make -wal and -shm there)
            raise StoreError(f"cannot read {self.path!r}: {problem}", reason=problem)
        db = sqlite3.connect(read_only_uri(self._file), uri=True, check_same_thread=False,
                             isolation_level=None)
        db.execute("PRAGMA busy_timeout = 5000")
        _search.register(db)
        # (the column segments' SQL names trailers_at: _segments.ENCODED)
        return db if self._trailers_at else _WithoutTrailersAt(db)  # type: ignore[return-value]

    def _give_back(self, db: sqlite3.Connection) -> None:
        with self._room:
            if self._closed:
                db.close()
                return
            self._pool.append(db)

    def iter_rows(self, columns: str, *, chunk: int = 32_768, **filters: Any) -> Iterator[list[tuple]]:
        """Raw rows ``(id, <columns>)`` matching ``filters``, oldest first, ``chunk`` rows at a
        time (keyset paging: each chunk is one short query, the lock is not held between them)."""
        where, args = where_clause(filters, self._plan(filters))
        sql = f"SELECT id, {columns} FROM captures{where}{' AND' if where else ' WHERE'} id > ? ORDER BY id LIMIT ?"
        after = -1
        while True:
            rows = self._fetch_apart(sql, [*args, after, int(chunk)])
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
        db = sqlite3.connect(read_only_uri(self._file), uri=True, check_same_thread=False,
                             isolation_level=None)
        try:
            db.execute("PRAGMA busy_timeout = 5000")
            _search.register(db)  # where_clause's search= twin
            yield db
        finally:
            db.close()

    def count(self, **filters: Any) -> int:
        """How many captures match ``filters``.

        Counts are remembered per filter set and brought up to date with only the rows stored
        since (while nothing is deleted), so asking again, as the live view does, costs little.
        """
        filters = validate(filters, provider_check=self.provider_check)
        if self.readonly:  # another process may delete: count afresh
            return self._count(filters, None, None)
        key = repr(sorted(filters.items(), key=lambda kv: kv[0]))
        # the newest row in the file, not only this object's: another store (a second
        # notebook's hooklab.open, a lab in another kernel) may write to it too
        newest = max(self._last_id, self._fetch("SELECT COALESCE(MAX(id), 0) FROM captures")[0][0])
        generation = self._generation
        cached = self._counts.get(key)
        if cached is not None and cached[0] == generation and cached[1] <= newest:
            n = cached[2] + (self._count(filters, cached[1], newest) if cached[1] < newest else 0)
        else:
            n = self._count(filters, None, newest)
        if generation == self._generation:
            if len(self._counts) > 256:
                self._counts.clear()
            self._counts[key] = (generation, newest, n)
        return n

    def _count(self, filters: dict[str, Any], after: int | None, upto: int | None) -> int:
        """Captures matching ``filters`` with ``after < id <= upto`` (None: no bound)."""
        bounds: list[str] = []
        extra: list[Any] = []
        if after is not None:
            bounds.append("id > ?")
            extra.append(after)
        if upto is not None:
            bounds.append("id <= ?")
            extra.append(upto)
        indexed = self._indexed(filters)
        if indexed is not None:
            match, rest = indexed
            where, args = where_clause(rest)
            conds = ([where[len(" WHERE "):]] if where else []) + bounds
            if not rest:  # the index alone (its rowid bounds are cheap)
                conds = [c.replace("id", "rowid", 1) for c in bounds]
                more = "".join(" AND " + c for c in conds)
                return self._fetch(
                    f"SELECT COUNT(*) FROM captures_fts WHERE captures_fts MATCH ?{more}",
                    [match, *extra],
                )[0][0]
            return self._fetch(
                "SELECT COUNT(*) FROM captures_fts CROSS JOIN captures"
                " ON captures.id = captures_fts.rowid WHERE captures_fts MATCH ? AND "
                + " AND ".join(conds),
                [match, *args, *extra],
            )[0][0]
        where, args = where_clause(filters, self._plan(filters))
        conds = ([where[len(" WHERE "):]] if where else []) + bounds
        sql = "SELECT COUNT(*) FROM captures" + (" WHERE " + " AND ".join(conds) if conds else "")
        return self._fetch(sql, [*args, *extra])[0][0]

    def provider_check(self, name: str) -> str | None:
        """``None`` when a ``provider=name`` filter can match here: a provider id hooklab
        detects, or one a capture in this store has (an import's, an older hooklab's: looked
        up through the provider index, only for a name hooklab does not detect); else why
        not, the ``ValueError`` every read of filters raises
        (:func:`hooklab.providers.provider_refusal`)."""
        return provider_refusal(name, self._has_provider)

    def _has_provider(self, name: str) -> bool:
        """Whether a capture here has provider ``name``, or had since this store opened
        (a ``lab.clear()`` or retention does not turn a filter that was good into an error:
        a view or an ``assert_received(count=0, ...)`` on it goes on meaning nothing there)."""
        if name in self._providers_found:
            return True
        if self._fetch("SELECT 1 FROM captures WHERE provider = ? LIMIT 1", (name,)):
            self._providers_found.add(name)
            return True
        return False

    def distinct(self, column: str) -> list[str]:
        """The distinct non-null values of a filter column, sorted (an index skip-scan: fast
        on a large store for the indexed columns bin, provider, event_type)."""
        if column not in FIELD_KEYS:
            raise ValueError(column)
        rows = self._fetch(
            f"WITH RECURSIVE d(v) AS (SELECT MIN({column}) FROM captures"
            f" UNION ALL SELECT (SELECT MIN({column}) FROM captures WHERE {column} > d.v)"
            " FROM d WHERE d.v IS NOT NULL) SELECT v FROM d WHERE v IS NOT NULL"
        )
        return sorted(r[0] for r in rows)

    @property
    def last_id(self) -> int:
        """Id of the newest capture stored (0 when none ever was)."""
        return self._last_id

    def stored_last_id(self) -> int:
        """Id of the newest capture in the database, whoever stored it: another process
        serving the same file too (:attr:`last_id` knows this process's own)."""
        if self._memory:
            return self._last_id
        return max(self._last_id, self._fetch_apart("SELECT COALESCE(MAX(id), 0) FROM captures")[0][0])

    def stored_span(self) -> tuple[int, int]:
        """(oldest id, newest id) of the captures in the database now, whoever stored or
        deleted them; ``(0, 0)`` when it holds none. Two lookups of the primary key, a few
        microseconds however many captures (a live view of a file reads it once a second).

        >>> store.stored_span()       # (the example's store holds one capture)
        (1, 1)

        Deletions another connection made (another process's ``lab.clear()`` or retention)
        tell this store nothing: when the oldest id rose or the file emptied since the last
        call, the counts it remembers (:meth:`count`) are counted afresh, as after its own.
        (Retention by age of captures imported with old times, between others, moves
        neither end: not seen here.)"""
        oldest, newest = self._fetch_apart(
            "SELECT COALESCE((SELECT MIN(id) FROM captures), 0),"
            " COALESCE((SELECT MAX(id) FROM captures), 0)")[0]
        seen, self._oldest_seen = self._oldest_seen, oldest
        if seen and (oldest == 0 or oldest > seen):
            self._generation += 1
        return oldest, newest

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

    @property
    def retention_count(self) -> int | None:
        """The newest N captures kept (``None``: off); set it to change it on a store in use.

        >>> store = CaptureStore(":memory:", retention_count=10)
        >>> store.retention_count = 0
        Traceback (most recent call last):
        ...
        ValueError: retention_count=0 refused: a whole number of captures to keep, 1 to 9223372036854775807 (None turns retention off)
        >>> store.retention_count
        10
        >>> store.close()
        """
        return self._retention_count

    @retention_count.setter
    def retention_count(self, value: int | None) -> None:
        self._retention_count = check_retention("retention_count", value)

    @property
    def retention_age(self) -> float | None:
        """Seconds after which a capture is deleted (``None``: off); refused as
        :attr:`retention_count` is, by :func:`check_retention`."""
        return self._retention_age

    @retention_age.setter
    def retention_age(self, value: float | None) -> None:
        self._retention_age = check_retention("retention_age", value)

    def retention_changed(self) -> None:
        """Have the writer look at ``retention_count`` / ``retention_age`` now (they were
        changed on a store in use; or a pass is owed, the upkeep thread's ask): an empty batch,
        after which the writer runs a pass if one is wanted. A ``:memory:`` store's writer,
        idle while retention is off, waits without a timeout, and a file store's upkeep thread
        asks only within a second. Never waits."""
        if self.readonly or self._closed:
            return
        with contextlib.suppress(StoreError):  # (a full queue: its batches ask anyway)
            self._enqueue(None, None, None, block=False)

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until everything queued so far is committed (a barrier: after a failed WAL
        sync too, where the captures themselves carry the error; an export starts with it).
        A read-only store has nothing queued: it returns at once.

        With nothing queued it returns at once too, without touching the database: every
        write queued before was committed, synced and answered (the queue's count falls only
        then), so there is nothing to wait for. A marker sent through the writer opened a
        write transaction for it, and an export of a database another connection held the
        write lock of (a ``sqlite3`` shell in ``BEGIN IMMEDIATE``) failed after the busy
        timeout with "database is locked", where a reader is not blocked at all.

        >>> store = CaptureStore(":memory:")
        >>> fut = store.add({"method": "POST", "path": "/github", "body": b"{}"})
        >>> store.flush()                        # waits for that capture's commit
        >>> fut.done(), store.count()
        (True, 1)
        >>> store.flush()                        # nothing queued: returns at once
        >>> store.close()
        """
        if self._closed or self.readonly:
            return
        with self._room:  # (counted from before an item is queued until it is answered)
            if not self._queued:
                return
        self._through_writer(timeout)

    def _through_writer(self, timeout: float = 30.0) -> None:
        """Send a marker through the writer and wait until it has passed: everything queued
        before it is committed, and a writer that was waiting for work looks again at what
        it has to catch up on (the end of an import: :meth:`flush` with nothing queued no
        longer wakes it, and the search index of an import was then built only when the next
        capture came)."""
        fut: Future[Capture] = Future()
        self._enqueue(None, fut, None, timeout=timeout)
        fut.result(timeout)

    # -- maintenance --------------------------------------------------------------------------
    def clear(self) -> int:
        """Delete every capture (ids keep increasing afterwards). Returns how many were deleted.

        Raises :class:`StoreError` with SQLite's words if the database cannot be written (and
        nothing is deleted): on a full disk clearing needs some room first, as SQLite writes
        the deletion to its WAL file (up to as much as the captures take). The file does not
        shrink: later captures reuse its pages.

        >>> store = CaptureStore(":memory:")
        >>> _ = store.add_sync({"path": "/a", "body": b"{}"})
        >>> store.clear(), store.count()
        (1, 0)
        >>> store.close()
        """
        if self.readonly:
            raise StoreError(f"{self.path!r} was opened read-only")
        fut: Future[int] = Future()
        self._enqueue({"__clear__": True}, fut, None)
        try:
            n = fut.result()
        except sqlite3.Error as exc:  # (it was a bare OperationalError, with no word of what)
            hint = (": on a full disk clearing needs some room first, as SQLite writes the"
                    " deletion to its WAL file (up to as much as the captures take); free"
                    " some, then clear again" if _disk_full(exc) else "")
            raise StoreError(f"captures not cleared: the database cannot be written"
                             f" ({write_error(exc)}){hint}") from exc
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
        if not self.readonly:
            self._retry_forwards(now=True)  # (a last try for outcomes held on a full disk)
        with self._room:  # (one step, as record_status looks at _closed and queues)
            self._closed = True
            self._queue.put(None)
        self._imports.put(None)  # (an import's jobs before it fail: the store is closed)
        self._writer.join(timeout=30)
        if self._importer is not None:
            self._importer.join(timeout=30)
        if self._sync is not None and not self._writer.is_alive():
            self._sync.close()  # the last commits' answers, after their sync (a writer still
            # busy keeps it: its jobs are answered when it is done)
        if self._late_status and not self._writer.is_alive():
            self._store_late_status()
        with self._held_lock:
            lost = len(self._held_forwards) + self._held_dropped
        if lost:
            _log.warning("hooklab: %d forward outcomes were not stored: the database could not "
                         "be written (%s)", lost, self._where())
        if self._upkeep is not None:
            self._upkeep.stop()
        with self._room:
            pool, self._pool = self._pool, []
        for db in pool:
            db.close()
        gone = False  # the file left its path: its WAL emptied into it, then its sides go
        if not (self._memory or self.readonly) and self.file_problem() is not None:
            gone = True
            with self._read_lock:
                self._make_wal_harmless(self._wdb)
        with self._read_lock:
            if self._wdb is not self._db:
                self._wdb.close()
            self._db.close()
        self._unhold()  # (after every connection: see _hold_as_is)
        if gone:
            self._let_go_of_path()

    def __enter__(self) -> CaptureStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<CaptureStore {self.path!r}>"


def new_paths(db: str) -> list[str]:
    """What serving ``db`` would create: the file and the folders above it that are not there
    yet (deepest first); ``[]`` when the file is there already (or ``:memory:``).

    >>> new_paths(":memory:")
    []
    """
    if db == ":memory:":
        return []
    path = os.path.abspath(os.path.expanduser(db))
    if os.path.lexists(path):
        return []
    made = [path]
    folder = os.path.dirname(path)
    while not os.path.exists(folder) and folder != os.path.dirname(folder):
        made.append(folder)
        folder = os.path.dirname(folder)
    return made


def remove_new_paths(made: list[str]) -> None:
    """Remove the database a start created and could not serve (``hooklab serve`` or
    ``%hooklab start --db`` whose address could not be bound), and the folders made for it
    if they are empty: a failed start left an empty capture database behind. Never a file
    that was there before (:func:`new_paths` lists none), nor one another process has open
    meanwhile (its ``-wal`` or ``-shm`` is beside it: SQLite removes them as the last
    connection closes)."""
    if not made:
        return
    db = made[0]
    if any(os.path.lexists(db + side) for side in ("-wal", "-shm", "-journal")):
        return
    with contextlib.suppress(OSError):
        os.unlink(db)
    for folder in made[1:]:
        with contextlib.suppress(OSError):  # (only an empty one goes)
            os.rmdir(folder)


def _let_go(exc: BaseException) -> None:
    """Drop the local variables of the frames ``exc`` went through, once they are done (a
    cursor left in one, of a query interrupted part-way by a Ctrl-C, kept its connection
    open past ``close()``, and with it the -wal and -shm files that keep a database made for
    nothing from being removed)."""
    import traceback

    traceback.clear_frames(exc.__traceback__)


def _opened_file(db: sqlite3.Connection, path: str) -> str:
    """The real path of the file ``db`` opened as ``path``. SQLite resolves links itself
    (``PRAGMA database_list`` names the file); ``realpath`` of either is the same file, and
    ``data/../c.sqlite3`` through a linked ``data`` is the OS's file (the link target's
    parent's), not the one ``abspath`` makes of it by dropping ``data/..`` as text."""
    main = next((r[2] for r in db.execute("PRAGMA database_list") if r[1] == "main"), "")
    return os.path.realpath(main or path)


def read_only_uri(path: str) -> str:
    """The SQLite URI that reads the database at ``path`` (``mode=ro``); also ``immutable=1``
    on a read-only mount (no ``-shm`` can be made there and nobody can change the file, so
    SQLite reads it as it is: it refuses to otherwise), and while a store holds the file to
    read it as it is on a full disk (nobody else can open it meanwhile; see
    ``CaptureStore._hold_as_is``)."""
    uri = Path(path).resolve().as_uri() + "?mode=ro"
    wal = path + "-wal"  # (captures in a WAL beside it: immutable would not see them)
    if _unwritable_folder(path) and not (os.path.exists(wal) and os.path.getsize(wal) > 0):
        return uri + "&immutable=1"
    if _held_as_is(path):
        return uri + "&immutable=1"
    return uri


#: suffixes of the files SQLite keeps beside a database
_SIDES = ("-wal", "-shm", "-journal")
#: SQLite's lock bytes in a database file (unix): PENDING, then RESERVED, then 510 SHARED
_PENDING_BYTE = 0x40000000
#: a byte of that (never read) page SQLite never locks: locked with them by a store that
#: reads the file as it is (CaptureStore._hold_as_is)
_AS_IS_MARK = _PENDING_BYTE + 512
#: descriptors of a database file that could not be locked and must not be closed (see
#: CaptureStore._hold_as_is)
_PARKED: list[int] = []
#: (device, inode) of the files stores of this process hold to read as they are
_HELD: set[tuple[int, int]] = set()
#: bytes of a -shm file SQLite has made a WAL index of (at least one 32 KiB region)
_SHM_INDEX = 32768
#: bytes free below which a failed open is put down to a full disk (a -shm takes 32 KiB)
_FULL_BELOW = 1 << 20


def _side_ids(path: str) -> dict[str, tuple[int, int]]:
    """The ``-wal`` and ``-shm`` files beside ``path`` now: side -> (device, inode)."""
    ids = {}
    for side in ("-wal", "-shm"):
        with contextlib.suppress(OSError):
            st = os.stat(path + side)
            ids[side] = (st.st_dev, st.st_ino)
    return ids


def _locked_by_others(path: str) -> bool:
    """Whether another process holds a lock on the file at ``path`` (``False`` where that
    cannot be told)."""
    return bool(_locks_on(path, but=os.getpid()))


def _lock_struct(kind: int) -> bytes:
    """A ``struct flock`` (Linux) over SQLite's lock bytes and :data:`_AS_IS_MARK`."""
    import struct

    packed = struct.pack("hhqqi", kind, os.SEEK_SET, _PENDING_BYTE,
                         _AS_IS_MARK - _PENDING_BYTE + 1, 0)
    return packed + bytes(max(0, 32 - len(packed)))  # (the kernel reads its full size)


def _as_is_uri(path: str) -> str:
    return Path(path).resolve().as_uri() + "?mode=ro&immutable=1"


def _locks_on(path: str, but: int | None = None) -> list[tuple[str, int, int]] | None:
    """The locks any process (but the one whose id is ``but``) holds on the file at ``path``
    (``READ``/``WRITE``, first and last byte), from Linux's ``/proc/locks``; ``None`` where
    that cannot be told.

    Read without opening the file: closing a descriptor of it would drop every POSIX lock
    this process's SQLite holds on it. (On a btrfs subvolume ``/proc/locks`` names another
    device than ``stat``: none is found there, and the callers stay on the careful side.)
    """
    try:
        st = os.stat(path)
        with open("/proc/locks", encoding="ascii", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    want = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    found = []
    for line in lines:  # "3: POSIX  ADVISORY  READ 2903 fe:00:2146346 1073741826 1073742335"
        parts = line.split()  # (a waiter's line has "->" after the number: not a lock held)
        if len(parts) < 8 or parts[1] == "->" or parts[5] != want or parts[4] == str(but):
            continue
        with contextlib.suppress(ValueError):
            last = (1 << 63) if parts[7] == "EOF" else int(parts[7])
            found.append((parts[3], int(parts[6]), last))
    return found


def _held_as_is(path: str) -> bool:
    """Whether a store holds ``path`` to read it as it is (see ``CaptureStore._hold_as_is``):
    one of this process (its other read connections), or of another (``explore``'s helper
    processes read for it)."""
    try:
        if os.path.getsize(path + "-shm") >= _SHM_INDEX:
            return False  # (a WAL index: in use as usual, not held)
    except OSError:
        pass
    try:
        st = os.stat(path)
    except OSError:
        return False
    if (st.st_dev, st.st_ino) in _HELD:
        return True
    return any(kind == "WRITE" and first <= _PENDING_BYTE and _AS_IS_MARK <= last
               for kind, first, last in _locks_on(path) or ())


def _has_writes(path: str) -> bool:
    """Whether writes wait beside the database at ``path`` in a ``-wal`` or a ``-journal``."""
    for side in ("-wal", "-journal"):
        with contextlib.suppress(OSError):
            if os.path.getsize(path + side) > 0:
                return True
    return False


def _take_back(path: str, sides: Sequence[str]) -> list[str]:
    """Remove the side files a failed open made (``sides``: those not there before it) -- a
    3-byte ``-shm`` and an empty ``-wal`` on a full disk -- unless somebody has the database
    or the ``-shm`` locked meanwhile (another connection opening it uses them); the ones
    left are returned."""
    made = [s for s in sides if os.path.lexists(path + s)]
    if not made:
        return []
    for f in (path, path + "-shm"):
        if os.path.lexists(f) and _locks_on(f) != []:
            return made
    left = []
    for s in made:
        try:  # (only as a failed open leaves them: a WAL index in use has its full size, a
            # -wal or -journal written to is somebody's)
            if os.path.getsize(path + s) >= (_SHM_INDEX if s == "-shm" else 1):
                left.append(s)
                continue
            os.unlink(path + s)
        except FileNotFoundError:
            pass
        except OSError:
            left.append(s)
    return left


def _remove_empty(path: str) -> bool:
    """Remove the new database file an open made and could not make a database of, if it is
    still empty with nothing beside it and nobody has it locked."""
    try:
        if os.path.getsize(path) or any(os.path.lexists(path + s) for s in _SIDES):
            return False
        if _locks_on(path) != []:
            return False
        os.unlink(path)
    except OSError:
        return False
    return True


def _left_note(left: Sequence[str]) -> str:
    return (f" (SQLite's {' and '.join(left)} file{'s' if len(left) > 1 else ''} beside it "
            "may be in use and stayed)" if left else "")


def _full_disk(path: str, exc: BaseException) -> tuple[str, str] | None:
    """Whether an open of ``path`` that failed with ``exc`` failed for want of room: words
    for the message (naming the device's mount point) and short ones without a path;
    ``None`` if there is room. SQLite says "database or disk is full" where it writes, but
    "disk I/O error" where it cannot size its ``-shm``: the folder's free space decides."""
    said = str(exc)
    if not ("disk" in said or "I/O" in said or "unable to open" in said):
        return None  # (a file that is no database, say, whatever room is left)
    folder = os.path.dirname(os.path.abspath(path))
    try:
        v = os.statvfs(folder)
    except (OSError, AttributeError):  # (Windows has no statvfs)
        return None
    if v.f_blocks == 0:  # no disk at all (/proc, /sys: no room is ever "free" there)
        return None
    root = hasattr(os, "geteuid") and os.geteuid() == 0  # (root may use the reserved blocks)
    free = (v.f_bfree if root else v.f_bavail) * v.f_frsize
    no_inodes = v.f_files > 0 and (v.f_ffree if root else v.f_favail) == 0
    if free >= _FULL_BELOW and not no_inodes:
        return None
    where = _mount_point(folder)
    if free < _FULL_BELOW:
        return (f"the disk is full (no space left on the device mounted at {where!r}, {free} "
                f"bytes free; SQLite said: {exc})", "the disk is full (no space left on device)")
    return (f"the disk is full (no free inodes left on the device mounted at {where!r}; SQLite "
            f"said: {exc})", "the disk is full (no free inodes left on device)")


def _mount_point(folder: str) -> str:
    """The mount point of the file system ``folder`` is on (as far as ``stat`` tells)."""
    try:
        dev = os.stat(folder).st_dev
        for _ in range(256):  # (bounded: a path has fewer levels)
            parent = os.path.dirname(folder)
            if parent == folder or os.stat(parent).st_dev != dev:
                return folder
            folder = parent
    except OSError:
        pass
    return folder


def _create_private(p: Path) -> None:
    """A new database file readable by its owner only (SQLite gives its ``-wal`` and ``-shm``
    the file's permissions), in folders made for it likewise (``0700``): captures hold
    bodies, headers and tokens, and any local user could read a file the umask left open.

    A link is followed (the file it names is made private; a dangling one was created by
    SQLite with the umask's permissions). An empty file counts as no database yet: made
    private if it is this user's, refused if it is another's (one made in a shared folder
    beforehand would let that user read every capture). A ``-wal``, ``-shm`` or ``-journal``
    beside a new database is not its own (planted, or left by a deleted one: SQLite would
    write into it, or replay it): removed, or the database refused. An existing database
    keeps the permissions it has."""
    import stat

    p = Path(os.path.realpath(p))
    missing = []
    folder = p.parent
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for f in reversed(missing):
        with contextlib.suppress(FileExistsError):
            f.mkdir(mode=0o700)
    try:
        # (made and closed from C, map calling os.open then os.close: no moment for a Ctrl-C
        # between them, as there was after "fd = os.open(...)" returned: the file stayed open)
        collections.deque(map(os.close, map(
            os.open, (p,), (os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0),),
            (0o600,))), maxlen=0)
    except FileExistsError:
        st = os.stat(p)
        if stat.S_ISREG(st.st_mode) and hasattr(os, "getuid") and st.st_uid != os.getuid():
            # (one made in a shared folder beforehand would let its owner read every capture)
            raise StoreError(
                f"{str(p)!r} is an empty file of another user: captures written into it would be "
                "theirs to read; choose another path" if not st.st_size else
                f"{str(p)!r} is another user's database: captures written into it would be "
                "theirs to read; open it read-only with hooklab.open(), or choose another path"
            ) from None
        if not stat.S_ISREG(st.st_mode) or st.st_size:
            _check_side_files(p)  # (a database already: as it is, its -wal its own)
            return
        os.chmod(p, 0o600)
    except OSError:  # there (a read-only mount): SQLite says what it can do with it; not
        if os.path.lexists(p):  # there and not to be made (a file where a folder should be,
            return  # no permission): the system's own words, as before
        raise
    else:
        for suffix in ("-wal", "-shm", "-journal"):
            side = f"{p}{suffix}"
            if os.path.lexists(side):
                try:
                    os.unlink(side)
                except OSError as exc:
                    raise StoreError(f"{side!r} is beside a new database and is not its own; "
                                     f"it cannot be removed ({exc.strerror}): choose another path"
                                     ) from None
        return
    _check_side_files(p)


def _check_side_files(p: Path) -> None:
    """An existing database's ``-wal`` and ``-shm`` must be its owner's, with no more
    permissions than the database: SQLite writes every capture into the ``-wal`` there is
    (one another user planted, 0666, after the last clean close, would receive them)."""
    import stat

    try:
        mode = stat.S_IMODE(os.stat(p).st_mode)
    except OSError:
        return
    for suffix in ("-wal", "-shm"):
        side = f"{p}{suffix}"
        try:
            st = os.lstat(side)
        except OSError:
            continue
        theirs = hasattr(os, "getuid") and st.st_uid != os.getuid()
        if stat.S_ISLNK(st.st_mode) or not stat.S_ISREG(st.st_mode) or theirs:
            raise StoreError(f"{side!r} is {'another user' + chr(39) + 's' if theirs else 'no file'}: "
                             "SQLite would write the captures into it; remove it if no hooklab "
                             "is using this database")
        if stat.S_IMODE(st.st_mode) & ~mode:
            with contextlib.suppress(OSError):
                os.chmod(side, stat.S_IMODE(st.st_mode) & mode)


def _claim_blank(path: str) -> None:
    """A file SQLite reads as a database with no tables is no capture database yet: made
    private (this user's: another user's was refused by :func:`_create_private`)."""
    import stat

    try:
        st = os.stat(path)
    except OSError:
        return
    if stat.S_IMODE(st.st_mode) & 0o077:
        with contextlib.suppress(OSError):
            os.chmod(path, 0o600)


def _unwritable_folder(path: str) -> bool:
    """Whether the folder of an existing database file cannot be written to (a read-only
    mount, another user's folder)."""
    folder = os.path.dirname(os.path.abspath(path))
    return os.path.exists(path) and not os.access(folder, os.W_OK)


def _rollback(db: sqlite3.Connection) -> None:
    """Roll a failed transaction back, unless SQLite already has: on a full disk or an I/O
    error it may give the transaction up itself, and a second ``ROLLBACK`` would then raise
    "cannot rollback - no transaction is active" in place of the error that says why."""
    if db.in_transaction:
        db.execute("ROLLBACK")


def _busy(exc: sqlite3.Error) -> bool:
    """Whether a statement failed because another connection holds a lock (SQLITE_BUSY)."""
    code = getattr(exc, "sqlite_errorcode", None)  # (Python 3.11+)
    return (code & 0xFF) == 5 if code is not None else "database is locked" in str(exc)


def _disk_full(exc: BaseException) -> bool:
    """Whether a write failed because the disk (or ``max_page_count``) is full."""
    return isinstance(exc, sqlite3.Error) and (
        getattr(exc, "sqlite_errorcode", None) == 13 or "disk is full" in str(exc))


def write_error(exc: BaseException) -> str:
    """What a failed write says to a sender and in ``/_hooklab/health``: SQLite's own words
    (``database or disk is full``), or a :class:`StoreError`'s ``reason`` (its message may
    name a path: only the class then); no path or capture data.

    >>> write_error(sqlite3.OperationalError("database or disk is full"))
    'OperationalError: database or disk is full'
    >>> write_error(DiskFull("cannot open '/srv/c.sqlite3': ...", reason="the disk is full"))
    'DiskFull: the disk is full'
    >>> write_error(StoreError("'/srv/c.sqlite3' was opened read-only"))
    'StoreError'
    """
    if isinstance(exc, sqlite3.Error) and str(exc):  # (hooklab's own errors may name a path)
        return f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    reason = getattr(exc, "reason", None) if isinstance(exc, StoreError) else None
    if reason:  # (a 503 saying only "StoreError" gave a sender nothing to act on)
        return f"{type(exc).__name__}: {_no_paths(reason.splitlines()[0])[:200]}"
    return type(exc).__name__


#: a quoted string (hooklab quotes paths with !r) or an absolute path in a message
_PATHISH = re.compile(r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|(?<![\w.:/])/[^\s'"():;,]+""")


def _no_paths(text: str) -> str:
    """``text`` with every quoted string and absolute path in it put as ``<path>``.

    >>> _no_paths("[Errno 2] the WAL file '/srv/c.sqlite3-wal' was removed while in use")
    '[Errno 2] the WAL file <path> was removed while in use'
    """
    return _PATHISH.sub("<path>", text)


class _Row:
    """A capture record prepared for the writer: detected, verified, its INSERT values, the
    secrets generation it was scrubbed under (``None``: a store without secrets)."""

    __slots__ = ("gen", "record", "values", "words")

    def __init__(self, record: CaptureRecord, values: list[Any], words: str | None,
                 gen: int | None = None) -> None:
        self.record = record
        self.values = values
        self.words = words
        self.gen = gen


class _ScrubbedRows:
    """The rows :meth:`CaptureStore.add_many` makes, each scrubbed of the lab's secrets as it
    is made (told apart from rows prepared elsewhere, which were not)."""

    __slots__ = ("_rows",)

    def __init__(self, rows: Iterator[list[Any]]) -> None:
        self._rows = rows

    def __iter__(self) -> _ScrubbedRows:
        return self

    def __next__(self) -> list[Any]:
        return next(self._rows)


class _Upkeep:
    """A file store's second thread: WAL checkpoints and column segments, off the writer.

    The writer commits captures and nothing else, so an acknowledgement never waits for a
    checkpoint (SQLite would otherwise run one inside a COMMIT every thousand pages) or for
    4,096 rows being encoded. Checkpoints are ``PASSIVE`` (they never hold up the writer or
    a reader); a segment is encoded from this thread's own connection and handed to the
    writer, which keeps it only if its rows are still exactly the ones read.
    """

    def __init__(self, store: CaptureStore) -> None:
        self.store = store
        self._wake = threading.Event()
        self._stopping = False
        self._sealing = False
        self._idle_done: dict[int, tuple[int, int]] = {}  # work -> store state it found nothing in
        self._wal = store._file + "-wal"
        self._wal_seen = 0  # the WAL file's size at the last checkpoint (see _wal_grown)
        self._probed_at = 0.0  # when a write was last tried while failing (see _probe)
        self._thread = threading.Thread(target=self._loop, name="hooklab-upkeep", daemon=True)
        store._upkeep = self  # (held before its thread starts: a Ctrl-C just after the start,
        self._thread.start()  # before "self._upkeep = _Upkeep(self)", left that thread for good)

    def poke(self) -> None:
        """Writer thread, after a commit: wake up if there is work."""
        st = self.store
        if st._written >= _CHECKPOINT_ROWS or st._commits >= _CHECKPOINT_COMMITS or (
            st._written_bytes >= _CHECKPOINT_BYTES
        ) or self._wal_grown() or (
            not self._sealing and st._has_segments
            and st._last_id - st._segments_upto >= S.SEG_ROWS
        ):
            self._wake.set()

    def _wal_grown(self) -> bool:
        """Writer thread: whether the WAL file passed :data:`_CHECKPOINT_WAL` bytes since the
        last checkpoint, or (past :data:`_CHECKPOINT_WAL_MIN`) the room left on its disk: the
        checkpoint may need as much in the database file, and once done the WAL is written
        over from its start rather than grown (a ``stat`` a batch, a ``statvfs`` past 256
        KiB). Its size is what it holds: each time it starts over ``journal_size_limit`` cuts
        it to :data:`_WAL_KEEP`. One a reader keeps from starting over is checkpointed again
        each time it grows by a quarter of its limit. Past twice its limit (this thread lags
        behind a busy writer) it also marks the writer's own checkpoint due
        (:meth:`CaptureStore._finish_checkpoint`)."""
        try:
            size = os.stat(self._wal).st_size
        except OSError:
            return False
        limit = _CHECKPOINT_WAL
        if size >= _CHECKPOINT_WAL_MIN:
            with contextlib.suppress(OSError, AttributeError):  # (no statvfs: Windows)
                v = os.statvfs(self._wal)
                limit = min(limit, max(_CHECKPOINT_WAL_MIN, v.f_bavail * v.f_frsize))
        if size < self._wal_seen:  # (started over since)
            self._wal_seen = 0
        if size >= self._wal_seen + 2 * limit:  # the upkeep thread lags (a loaded machine:
            self.store._checkpoint_due = True  # 7 MB on a 12 MiB disk): the writer, next,
            self._wal_seen = size  # checkpoints itself (_finish_checkpoint), then waits again
        return size >= max(limit, self._wal_seen + limit // 4)

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        st = self.store
        db: sqlite3.Connection | None = None
        try:
            while not self._stopping:
                self._wake.wait(1.0)  # also every second: a checkpoint after a quiet burst
                self._wake.clear()
                if self._stopping:
                    break
                failed = False
                try:
                    if db is None and st.file_problem() is None:
                        db = self._connect()
                    if db is None:  # (the file left its path before this thread opened it)
                        continue
                    if st.file_problem() is not None:  # (writes are refused meanwhile)
                        st._make_wal_harmless(db)
                        continue
                    self._probe(db)
                    self._seal(db)
                    if st._written or st._commits:
                        st._written = st._commits = st._written_bytes = 0
                        with contextlib.suppress(OSError):
                            self._wal_seen = os.stat(self._wal).st_size
                        db.execute("PRAGMA wal_checkpoint(PASSIVE)")
                        st._checkpoint_due = True
                    else:
                        self._shrink_wal(db)
                    self._idle()
                except Exception:  # noqa: BLE001 - upkeep must never stop; tried again later
                    self._sealing = False
                    failed = True
                # each on its own: a step above that fails every time (a checkpoint on a full
                # disk) kept retention from ever being asked for, and the store from shrinking
                for step in (st._retry_forwards,  # (outcomes held while the disk was full)
                             st._retry_indexes,  # (and indexes an import could not make again)
                             self._ask_retention):
                    try:
                        step()
                    except Exception:  # noqa: BLE001 - as above
                        failed = True
                if failed:
                    time.sleep(0.5)
        finally:
            if db is not None:
                db.close()

    def _connect(self) -> sqlite3.Connection | None:
        """This thread's connection, to the file the store opened: ``None`` if another file
        is at its path (a connection to that one would copy this store's WAL into it as it
        checkpoints). ``mode=rw``: a file deleted meanwhile is not made again, empty, where
        :meth:`CaptureStore.file_problem` must find it gone."""
        st = self.store
        db = sqlite3.connect(Path(st._file).as_uri() + "?mode=rw", uri=True,
                             check_same_thread=False, isolation_level=None)
        if st.file_problem() is not None:  # (replaced while it opened)
            db.close()
            return None
        db.execute("PRAGMA busy_timeout = 5000")
        return db

    def _shrink_wal(self, db: sqlite3.Connection) -> None:
        """In a quiet moment (nothing written for :data:`_IDLE_AFTER` seconds), give all of
        the WAL's room back to the disk: a ``TRUNCATE`` checkpoint copies its pages into the
        database and cuts it to nothing. Under steady traffic ``journal_size_limit`` cuts it to
        :data:`_WAL_KEEP` each time it starts over; a WAL grown once (a burst, a reader that
        held a checkpoint back) otherwise kept its size for as long as the lab ran."""
        st = self.store
        if not self._quiet():
            return
        try:
            if os.path.getsize(st._file + "-wal") == 0:
                return
        except OSError:
            return
        # (no waiting: a TRUNCATE checkpoint that waits for a reader holds off the writer
        # meanwhile, and a webhook's answer with it; busy now, it is tried at the next wake)
        db.execute("PRAGMA busy_timeout = 0")
        try:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        finally:
            db.execute("PRAGMA busy_timeout = 5000")

    def _probe(self, db: sqlite3.Connection) -> None:
        """While captures are not being stored (:attr:`CaptureStore.failing`: a full disk, a
        database file moved away and put back, one locked by another program), every
        :data:`_PROBE_EVERY` seconds: give the WAL's room back (a ``TRUNCATE`` checkpoint)
        and try a write of this thread's own (a key added to the meta table and deleted in one
        transaction: a page written to the WAL and synced, nothing changed). Once it commits,
        the failure is over: ``/_hooklab/health`` says so without waiting for a webhook. A
        write that failed meanwhile (a newer error) keeps it."""
        st = self.store
        seen = st.last_error
        if seen is None or st._failed is not None or st._closed or st._importing:
            return
        now = time.monotonic()
        if now - self._probed_at < _PROBE_EVERY:
            return
        self._probed_at = now
        db.execute("PRAGMA busy_timeout = 0")  # (the writer's write lock: its writes decide)
        try:
            with contextlib.suppress(sqlite3.Error):
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute("INSERT OR REPLACE INTO meta VALUES ('probe', '1')")
                db.execute("DELETE FROM meta WHERE key = 'probe'")
                db.execute("COMMIT")
            except BaseException:
                _rollback(db)
                raise
        except sqlite3.Error:
            return  # (still failing: tried again later)
        finally:
            db.execute("PRAGMA busy_timeout = 5000")
        if st.last_error is seen and st.file_problem() is None:
            st.last_error = None

    def _ask_retention(self) -> None:
        """A retention pass of the writer's, when one is owed and nothing is written (the
        writer runs one after any batch: an empty one will do)."""
        if self.store._retention_wanted():
            self.store.retention_changed()

    def _seal(self, db: sqlite3.Connection) -> None:
        st = self.store
        if self._sealing or st._importing or not st._has_segments or st._failed is not None:
            return
        if st._last_id - st._segments_upto < S.SEG_ROWS:
            return
        epoch = st._status_epoch  # (before the rows are read: see _store_segment)
        encoded = st._encode_segment(db, st._segments_upto)
        if encoded is None:
            return
        self._sealing = True
        fut: Future[Any] = Future()
        fut.add_done_callback(self._sealed)
        try:
            st._enqueue({"__segment__": encoded, "epoch": epoch}, fut, None, block=False)
        except StoreError:  # closed meanwhile, or the queue is full: later
            self._sealing = False

    def _quiet(self) -> bool:
        st = self.store
        return not (st._closed or st._importing or self._sealing or self._stopping
                    or st._failed is not None or time.monotonic() - st._last_write < _IDLE_AFTER)

    def _idle(self) -> None:
        """Pieces of the ``when_idle`` work while nothing is written, for at most
        :data:`_IDLE_SLICE` seconds (then the next wake-up, a second later at most)."""
        st = self.store
        if not st._idle_work or not self._quiet():
            return
        end = time.monotonic() + _IDLE_SLICE
        for work in list(st._idle_work):
            while self._quiet() and time.monotonic() < end:
                state = (st._segments_upto, st._generation)
                if self._idle_done.get(id(work)) == state:
                    break  # it had nothing to do, and no segment came or went since
                try:
                    did = work()
                except Exception:  # noqa: BLE001 - optional work must never stop the upkeep
                    did = False
                if not did:
                    if did is not None:  # (None: not now, ask again next time)
                        self._idle_done[id(work)] = state
                    break
                self._idle_done.pop(id(work), None)

    def _sealed(self, _fut: Future) -> None:  # store thread: kept or dropped, seal the next
        self._sealing = False
        self.poke()


#: the trailers_at column named in SQL
_TRAILERS_AT = re.compile(r"\btrailers_at\b")


class _WithoutTrailersAt:
    """A read connection on a database written before the ``trailers_at`` column and opened
    read-only (it cannot be given the column): SQL that names the column reads NULL for it,
    no trailers, as :attr:`CaptureStore._cols` does (``_segments.ENCODED``, which the column
    segments' reads and the DataFrame's use, names it). Anything else is the connection's."""

    __slots__ = ("_db",)

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        return self._db.execute(_TRAILERS_AT.sub("NULL", sql), *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)


class _NoLock:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


_nolock = _NoLock()
