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

import errno
import os
import queue
import threading
from collections.abc import Callable

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
        self._fd = os.open(wal_path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        #: the error of the first sync that failed; every job after it gets it too
        self.failed: OSError | None = None
        self._jobs: queue.SimpleQueue[Callable[[OSError | None], None] | None] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self.thread.start()

    def after_sync(self, job: Callable[[OSError | None], None]) -> None:
        """Run ``job`` once what was written so far is on disk (writer thread, after COMMIT)."""
        self._jobs.put(job)

    def close(self, timeout: float = 30.0) -> None:
        """Run the jobs still queued (after a last sync), then stop the thread."""
        self._jobs.put(None)
        self.thread.join(timeout)
        if not self.thread.is_alive() and self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def sync(self) -> None:
        """``fdatasync`` the WAL. SQLite never removes it while a connection has the database
        open (each holds a shared lock on it); if something else did, SQLite still writes to
        the removed file, which a power cut takes with it: that is an error, not a sync."""
        if os.fstat(self._fd).st_nlink == 0:
            raise OSError(errno.ENOENT, f"the WAL file {self.path!r} was removed while in use")
        _fsync(self._fd)

    def _loop(self) -> None:
        stop = False
        while not stop:
            jobs = [self._jobs.get()]
            while True:
                try:
                    jobs.append(self._jobs.get_nowait())
                except queue.Empty:
                    break
            if None in jobs:
                stop = True
                jobs = [j for j in jobs if j is not None]
            if not jobs:
                continue
            error = self.failed
            if error is None:
                try:
                    self.sync()
                except OSError as exc:
                    # after a failed fdatasync Linux may mark the unwritten pages clean, so a
                    # later sync can succeed without them: no later commit is durable either
                    error = self.failed = exc
            for job in jobs:
                try:
                    job(error)
                except Exception:  # noqa: BLE001 - one job must not stop the others' answers
                    pass
