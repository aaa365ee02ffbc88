"""Durable commits without holding up the writer: the WAL is synced on a thread of its own.

With ``durability="full"`` SQLite would fsync the WAL inside every ``COMMIT`` (``synchronous =
FULL``), and the writer could not start the next batch until the disk answered. Instead the
writer's connection commits with ``synchronous = NORMAL`` (the frames are written to the WAL,
not synced) and hands what must wait for the disk -- acknowledgements, futures, subscribers --
to a :class:`WalSync`. Its thread syncs the WAL file once for every commit queued so far and
then runs those jobs in commit order, while the writer is already on the next batch.

Why this is as durable as ``FULL`` for what is acknowledged: a commit writes its frames (the
last one marked as the commit) to the WAL; ``fdatasync`` of that file after the commit puts
every byte written before it on disk, so the transaction is there after a power cut before
anyone hears of it. What NORMAL leaves to chance are only transactions not yet synced, which
nobody was told about; SQLite's frame checksums and salts make recovery drop a torn tail.
Checkpoints under NORMAL still sync the WAL before and the database after copying.

What changes: a committed capture is visible to readers (the API, ``hooklab.open`` in another
process) for the fraction of a millisecond before its sync returns, where ``FULL`` showed it
only after; the futures, subscribers and ``wait_for`` still hear of it only after the sync. A
sync that fails is final: Linux may mark the pages it could not write as clean, so a later
sync could succeed without them, and recovery would stop at the hole and drop the commits
behind it. So every job after a failure gets its error, and the store takes no more writes.

>>> import os, tempfile
>>> d = tempfile.mkdtemp()
>>> wal = os.path.join(d, "c.sqlite3-wal")
>>> open(wal, "wb").close()
>>> sync = WalSync(wal)
>>> seen = []
>>> sync.after_sync(seen.append)
>>> sync.close()
>>> seen
[None]
>>> import shutil; shutil.rmtree(d)
"""

from __future__ import annotations

import contextlib
import errno
import os
import queue
import threading
import weakref
from collections.abc import Callable
from typing import Any

__all__ = ["WalSync"]

_fsync: Callable[[int], None] = getattr(os, "fdatasync", os.fsync)  # (macOS has no fdatasync)


class WalSync:
    """Sync the WAL file at ``wal_path``, then run the jobs queued before that sync.

    ``after_sync(job)`` queues ``job(error)``: ``error`` is ``None`` once everything written
    to the WAL before the call is on disk, or the ``OSError`` of a sync that failed (that one
    or an earlier one: after a failure nothing is durable any more). Jobs
    run on this object's thread, in the order they were queued; one sync covers every job
    queued while the previous one ran (group commit for the disk too).
    """

    def __init__(self, wal_path: str, *, name: str = "hooklab-syncer") -> None:
        self.path = wal_path
        #: the error of the first sync that failed; every job after it gets it too
        self.failed: OSError | None = None
        self._jobs: queue.SimpleQueue[Callable[[OSError | None], None] | None] = queue.SimpleQueue()
        #: the WAL's descriptor, while open (whoever takes it out closes it: see _let_go)
        self._fds: list[int] = []
        # The thread holds this object by a weak reference only, so one its maker never
        # kept (a Ctrl-C just after the thread started, before the store held it) ends: its
        # thread stops and the descriptor is closed as it goes. A thread of each such one
        # was left for good. Registered before anything is opened or started.
        self._gone = weakref.finalize(self, _let_go, self._jobs, self._fds)
        # (opened from C, map calling os.open: no moment for a Ctrl-C between the open and
        # the descriptor kept, as there is after an "fd = os.open(...)" returns)
        self._fds.extend(map(os.open, (wal_path,), (os.O_RDONLY | getattr(os, "O_CLOEXEC", 0),)))
        self.thread = threading.Thread(target=_loop, args=(weakref.ref(self), self._jobs, self._fds),
                                       name=name, daemon=True)
        self.thread.start()

    @property
    def _fd(self) -> int:
        """The WAL's descriptor (-1 once closed)."""
        fds = self._fds
        return fds[0] if fds else -1

    def after_sync(self, job: Callable[[OSError | None], None]) -> None:
        """Run ``job`` once what was written so far is on disk (writer thread, after COMMIT)."""
        self._jobs.put(job)

    def close(self, timeout: float = 30.0) -> None:
        """Run the jobs still queued (after a last sync), then stop the thread (which closes
        the WAL's descriptor as it ends)."""
        self._gone.detach()  # (closed: nothing to do when it goes)
        self._jobs.put(None)
        if self.thread.ident is None:  # (never started: nothing else closes it)
            _close(self._fds)
        else:
            self.thread.join(timeout)

    def sync(self) -> None:
        """``fdatasync`` the WAL. SQLite never removes it while a connection has the database
        open (each holds a shared lock on it); if something else did, SQLite still writes to
        the removed file, which a power cut takes with it: that is an error, not a sync."""
        if os.fstat(self._fd).st_nlink == 0:
            raise OSError(errno.ENOENT, f"the WAL file {self.path!r} was removed while in use")
        _fsync(self._fd)


def _close(fds: list[int]) -> None:
    """Close the descriptor in ``fds``, if it is still there (taken out first: closed once)."""
    with contextlib.suppress(IndexError, OSError):
        os.close(fds.pop())


def _let_go(jobs: queue.SimpleQueue[Any], fds: list[int]) -> None:
    """A :class:`WalSync` gone unclosed: its thread ends (closing the descriptor), or, if it
    never started, the descriptor is closed here."""
    jobs.put(None)
    _close(fds)  # (a thread still running has no more use for it: it syncs for nobody)


def _loop(owner: weakref.ref[WalSync], jobs: queue.SimpleQueue[Any], fds: list[int]) -> None:
    """The syncer thread: sync for each group of jobs queued (by ``owner.sync``, which a
    test may replace on the instance), then run them; ends at ``None``."""
    stop = False
    try:
        while not stop:
            batch = [jobs.get()]
            while True:
                try:
                    batch.append(jobs.get_nowait())
                except queue.Empty:
                    break
            if None in batch:
                stop = True
                batch = [j for j in batch if j is not None]
            if not batch:
                continue
            me = owner()
            if me is None:  # (gone unclosed with jobs queued: nobody to answer with a sync)
                error: OSError | None = OSError(errno.EBADF, "the WAL syncer was dropped unclosed")
            else:
                error = me.failed
                if error is None:
                    try:
                        me.sync()
                    except OSError as exc:
                        # after a failed fdatasync Linux may mark the unwritten pages clean,
                        # so a later sync can succeed without them: no later commit is
                        # durable either
                        error = me.failed = exc
            del me  # (held only while syncing: a WalSync nobody keeps goes, and this ends)
            for job in batch:
                try:
                    job(error)
                except Exception:  # noqa: BLE001 - one job must not stop the others' answers
                    pass
            del batch, job  # (nothing of theirs kept while waiting for the next ones)
    finally:
        _close(fds)
