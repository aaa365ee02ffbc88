"""``lab.export(path, fmt="parquet")``: captures as a Parquet dataset, added to, never rewritten.

>>> lab.export("exports/captures", fmt="parquet")          # every capture so far
1
>>> lab.export("exports/captures", fmt="parquet")          # later: only what is new
0
>>> hooklab.open("exports/captures").dataframe()["event_type"].tolist()
['payment_intent.succeeded']

The layout (hive partitions ``day=YYYY-MM-DD/provider=...``, the columns) is described in
:mod:`hooklab.store.parquet`; DuckDB (``read_parquet('exports/captures/**/*.parquet',
hive_partitioning=true)``), pyarrow, Dask and Spark read it as it is, polars its files
(``pl.scan_parquet("exports/captures/**/*.parquet", hive_partitioning=True)``: the folder
also holds this module's notes in ``_hooklab/``), and ``hooklab.open("exports/captures")``
analyses it in place.

Exporting again continues after the id up to which every capture of this database is in
that folder (remembered in ``<folder>/_hooklab/<source>.json``: what ``until=`` or a filter
left out comes next time); ``since=`` (an id or a datetime) picks the start instead, and
captures the folder already holds are not written again (the dataset never holds one
twice; a capture is held where the folder has that very capture, not another of its id). A
database that began as a copy of one that exported there (same name, kept in its file)
takes a name of its own once the folder shows it. Each call writes new files only, named by the source database and the
ids they hold, so a long-running lab can export every hour, and several labs into one folder.

Exports into one folder take turns (a lock on ``<folder>/_hooklab/.lock``, held while one
writes): a second one started meanwhile (a cron export outlasting the minute, two people
exporting) says once on standard error that it waits, waits for the first to finish, and
then adds only what the first did not.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import secrets
import stat
import tempfile
from collections.abc import Iterator
from typing import Any

from ..store import arrow_pool
from ..store.parquet import NO_PROVIDER, PARQUET_COLUMNS, file_schema, partitioning
from ._scrub import book_of, scrubbed_columns, stored_before

__all__ = ["export_parquet"]

#: captures per file at most (row groups of this size read well in every engine)
ROWS_PER_FILE = 250_000


def _source(store: Any) -> str:
    """The name of the exporting database in file names (so files of two labs never clash)."""
    if hasattr(store, "export_source"):
        return store.export_source()
    name = getattr(store, "_parquet_source", None)
    if name is None:
        name = secrets.token_hex(4)
        store._parquet_source = name
    return name


def _manifest(path: str, source: str) -> str:
    return os.path.join(path, "_hooklab", f"{source}.json")


def export_parquet(store: Any, path: str | os.PathLike[str], /, **filters: Any) -> int:
    """Write the captures matching ``filters`` to the dataset at ``path``; returns how many.

    Without ``since=``, continues after the id up to which every capture of this store is
    there: one of some bins, or ``until=`` a time, leaves out captures whose ids may be below
    ones it wrote, and they come with the next export (``since=`` is a start: what it passes
    over stays out).

    Exports into one folder take turns: one started while another writes there (another
    process's, another thread's) says so once on standard error, ``hooklab: another export
    into 'out' is under way (process 4242); waiting for it to finish ...``, waits, then adds
    only what that one did not.

    An export that fails (a full disk, a file-size limit, Ctrl-C) leaves the folder as it was:
    the files and folders it made are removed (a first one's folder too), and its ``OSError``
    says so: ``[Errno 27] ... File too large (exporting to 'out.parquet': what this export
    wrote was removed)``.
    """
    from ..filters import validate

    validate(filters, provider_check=store.provider_check)  # (a mistyped filter: said
    # before any folder is made)
    given = os.fspath(path)
    if os.path.isfile(given):
        raise ValueError(f"{given!r} is a file: a Parquet export is a folder")
    # resolved once, and that path both made and written: "link/../x.parquet" made a folder
    # beside the link (reading ".." as text) while Arrow wrote under the link's target
    base = os.path.realpath(given)
    # the folders this export makes (the dataset's own and its parents when new, a new day's
    # or provider's, _hooklab/): a failed one removes them, as it does its files (a first
    # export stopped by a full disk left an empty out.parquet/day=.../provider=... tree)
    made: list[str] = []
    try:
        _make(base, made)
        with _taking_turns(base, given, made):
            return _export_into(store, base, made, filters)
    except BaseException as exc:
        for folder in reversed(made):  # (only while empty: a file another export put there
            with contextlib.suppress(OSError):  # meanwhile stays, and its folders)
                os.rmdir(folder)
        # Arrow's words ("Error writing bytes to file") say neither where nor what is left
        if isinstance(exc, OSError) and exc.errno is not None:
            raise OSError(exc.errno, f"{exc.strerror or exc} (exporting to {given!r}: what "
                          "this export wrote was removed)") from exc
        raise


#: the file exports into a folder lock in turn (in ``_hooklab/``, a name that starts with a
#: dot: no reader takes it for data, as none takes the notes beside it)
LOCK_NAME = ".lock"


@contextlib.contextmanager
def _taking_turns(base: str, given: str, made: list[str]) -> Iterator[None]:
    """Hold the lock of the dataset at ``base`` (``_hooklab/.lock``) for the ``with`` block.

    Another export holding it (another process's, another thread's) is waited for as long as
    it takes, said once on standard error; then this one reads what that one wrote (its note,
    its files) and adds only what it did not. Waiting is stopped as any wait is (Ctrl-C, the
    CLI's SIGTERM). The lock file is removed once done (where the system lets an open file
    go: not on Windows), so a name another export opened meanwhile may name no file, or
    another one: the lock is held only on the file the name still names.
    """
    import sys

    folder = os.path.join(base, "_hooklab")
    path = os.path.join(folder, LOCK_NAME)
    said = False
    for _ in range(10_000):  # (a turn lost to a removed lock file is rare; bounded anyway)
        _make(folder, made)  # (the export before may have removed an empty one)
        try:
            # read-only where flock allows it: nothing is ever written into the file, so a
            # name another user planted there (a hard link to a file of yours: O_NOFOLLOW
            # stops symbolic ones only) is locked and unlinked, never changed (it was
            # truncated, its content replaced by a process id); msvcrt locks need writing
            # (O_NONBLOCK: a FIFO planted there is opened at once, then refused below)
            fd = os.open(path, (os.O_RDWR if os.name == "nt" else os.O_RDONLY) | os.O_CREAT
                         | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
                         | getattr(os, "O_NONBLOCK", 0), 0o666)
        except FileNotFoundError:  # (the folder went just now: made again)
            continue
        except OSError as exc:
            if exc.errno != errno.ELOOP:
                raise
            raise OSError(exc.errno, f"{path!r} is a symbolic link (an export's lock file is no "
                          "link): remove it, then export again") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise OSError(errno.EINVAL, f"{path!r} is no file (an export's lock file is one): "
                          "remove it, then export again")
        try:
            if not _lock(fd, wait=False):
                if not said:
                    said = True
                    print(f"hooklab: another export into {given!r} is under way; waiting "
                          "for it to finish (then only what it did not add is added; Ctrl-C "
                          "stops waiting)", file=sys.stderr, flush=True)
                _lock(fd, wait=True)
            if _names(path, fd):
                break
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)  # (a file the name no longer names: taken again)
    else:  # pragma: no cover - another program removing the file again and again
        raise OSError(errno.EAGAIN, f"could not take the lock of {given!r} ({path!r})")
    try:
        yield
    finally:
        with contextlib.suppress(OSError):  # (while held: see above)
            os.unlink(path)
        _unlock(fd)
        os.close(fd)
        if folder in made:  # (made for the lock alone: nothing was exported)
            with contextlib.suppress(OSError):
                os.rmdir(folder)


def _lock(fd: int, *, wait: bool) -> bool:
    """Lock the open file ``fd`` exclusively (whether it was: ``False`` only without
    ``wait``). flock on POSIX: another open of the file, in this process too, is another lock
    holder; msvcrt's lock of its first byte on Windows."""
    if os.name == "nt":  # pragma: no cover - Windows
        import msvcrt
        import time

        while True:  # (LK_LOCK gives up after 10 s: an export may take longer)
            os.lseek(fd, 0, os.SEEK_SET)
            try:
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
                return True
            except OSError:
                if not wait:
                    return False
                time.sleep(0.1)
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except BlockingIOError:
        return False
    return True


def _unlock(fd: int) -> None:
    """Let go of :func:`_lock`'s lock (closing ``fd`` would too on POSIX)."""
    with contextlib.suppress(OSError):
        if os.name == "nt":  # pragma: no cover - Windows
            import msvcrt

            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_UN)


def _names(path: str, fd: int) -> bool:
    """Whether ``path`` still names the open file ``fd`` (the export that held the lock
    removes the file as it lets go)."""
    try:
        st, mine = os.stat(path, follow_symlinks=False), os.fstat(fd)
    except OSError:
        return False
    return (st.st_dev, st.st_ino) == (mine.st_dev, mine.st_ino)


def _make(folder: str, made: list[str]) -> None:
    """Make ``folder`` and its parents that are not there (``os.makedirs``), appending those
    this call made to ``made``, outermost first (one another export makes meanwhile is its)."""
    missing: list[str] = []
    at = os.path.abspath(folder)
    for _ in range(at.count(os.sep) + 1):  # (bounded: one step up each time)
        if os.path.lexists(at):  # (a file: mkdir under it says so, as makedirs did)
            break
        missing.insert(0, at)
        up = os.path.dirname(at)
        if up == at:
            break
        at = up
    for new in missing:
        try:
            os.mkdir(new)
        except FileExistsError:
            if not os.path.isdir(new):
                raise
            continue
        made.append(new)


def _export_into(store: Any, base: str, made: list[str], filters: dict[str, Any]) -> int:
    """:func:`export_parquet` into the folder ``base``, there now; appends the folders it
    makes to ``made``. Under the store's export name, or a new one if the folder holds
    another database's captures under that name (:class:`_NameTaken`)."""
    for _ in range(4):  # (another thread renaming the store meanwhile: tried again; bounded)
        source = _source(store)
        try:
            return _export_as(store, source, base, made, dict(filters))
        except _NameTaken as taken:
            _rename(store, source, base, str(taken))
    raise ValueError(f"could not give this database an export name of its own in {base!r}")


class _NameTaken(Exception):  # noqa: N818 - a finding, handled here: never raised to users
    """The folder holds captures of another database under the store's export name (one
    began as a copy of the other, or is a restored backup): the message says which."""


def _rename(store: Any, source: str, base: str, why: str) -> None:
    """Give ``store`` an export name of its own in place of ``source`` (see
    :class:`_NameTaken`); ``ValueError`` saying what to do where it cannot take one."""
    renew = getattr(store, "renew_export_source", None)
    if renew is None and not hasattr(store, "export_source"):  # (a name held in memory)
        store._parquet_source = secrets.token_hex(4)
        return
    said = (f"{base!r} holds exports of another database under this one's export name "
            f"{source!r} ({why}): this database is a copy of that one, that one of this, or a "
            "restored backup")
    if renew is None:
        raise ValueError(f"{said}; export into another folder")
    try:
        renew(source)
    except Exception as exc:  # noqa: BLE001 - a read-only database: said with what to do
        raise ValueError(f"{said}, and it cannot take a name of its own ({exc}): open it "
                         "writable, or export into another folder; nothing was exported") from None


def _export_as(store: Any, source: str, base: str, made: list[str], filters: dict[str, Any]) -> int:
    """:func:`_export_into` under the name ``source``; :class:`_NameTaken` (before anything
    is written) if the folder's captures of that name are not this store's."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    manifest = _manifest(base, source)
    _forget_unfinished(base, source)
    # an export of some bins, providers, events or a search leaves out captures between its
    # ids: the next export without since= must still find them
    partial = any(v is not None for k, v in filters.items() if k not in ("since", "until"))
    note = _read_note(manifest)
    store.flush()
    if note is not None:
        _check_ours(store, base, source, note)
    start = filters.get("since") is not None  # (given: a start, passing over what is before)
    if not start:
        filters.pop("since", None)
        if note is not None:
            filters["since"] = note["last_id"]
    # every capture up to this id is stored before the rows are read: in them, or passed
    # over by since= (a time passes over captures of any id; see _all_upto)
    top = _stored_top(store)
    # the rows first, without bodies; then their bodies a batch at a time while the files are
    # written (every body of the selection was read first: 1.3 GB of memory for 1,854 rows
    # of 200 KB bodies, 3.5 times their bytes)
    bodies_of = getattr(store, "bodies", None)
    cols = store.columns(body=bodies_of is None, **filters)
    n = cols.num_rows
    if not n:
        if start and not partial:  # (since= passed over all it met: remembered too)
            upto = _all_upto(store, filters, np.empty(0, np.int64), top)
            if upto > (note["last_id"] if note is not None else 0):
                _note(manifest, source, upto, None, 0, made)
        return 0
    ids = cols.column("id").to_numpy()
    upto = None if partial else _all_upto(store, filters, ids, top)
    # (an explicit since= before what was exported already, a time-bounded export before, a
    # database that began as a copy of one that exported there: what the folder holds is skipped)
    held = _held_here(cols, base, source, store)
    if held is not None:
        cols = cols.filter(pa.array(~held))
        n = cols.num_rows
        if not n:
            if upto is not None:
                _note(manifest, source, upto, None, 0, made)
            return 0
        ids = cols.column("id").to_numpy()
    outcomes = getattr(store, "forwards", None)
    book = book_of(store)  # (secrets given after some captures were stored: [secret] in them)
    shown = store.shown_forwards if book is not None else (lambda f: f)  # (forward_error)
    pool = arrow_pool()  # (the C library's allocator: see hooklab.store.arrow_pool)
    schema = pa.schema([*file_schema(), pa.field("day", pa.string()), pa.field("provider", pa.string())])
    written = [0, 0]  # rows written, the highest id of them

    def batch(part: Any) -> Any:
        """The dataset's rows of ``part`` (rows of ``cols``), its bodies read now."""
        pids = part.column("id").to_numpy()
        body = part.column("body") if bodies_of is None else bodies_of(pids)
        if body.null_count:  # (deleted since the rows were read: not exported)
            there_ = pc.is_valid(body)
            part, body = part.filter(there_), body.filter(there_)
            pids = part.column("id").to_numpy()
        written[0] += part.num_rows
        if len(pids):
            written[1] = max(written[1], int(pids.max()))
        # the latest outcome of each capture of the batch (the last listed): only theirs (the
        # whole forwards table was read for an export of one capture)
        latest = {} if outcomes is None else {
            f["capture_id"]: f for f in shown(outcomes(ids=pids.tolist()))}
        extra = _extra(store, pids)
        if book is not None:  # (only where a capture was stored before a secret was given)
            older = stored_before(store, pids)
            if any(older):
                part = scrubbed_columns(part, book)
                extra = _scrubbed_extra(extra, book, older)
        return _file_table(part, body, extra, latest, pool, schema)

    first, last = int(np.min(ids)), int(np.max(ids))
    # each file is written under a name no reader takes (".part-...parquet.<random>.tmp": a
    # dot first, another extension) and renamed once complete: an export stopped part-way
    # (killed, a full disk) leaves no cut file that readers and the next export would stumble
    # on. Only the files this export made are renamed (see _write): others that start so
    # (another user's, in a shared folder) are no part of it
    unfinished = f".part-{source}-{first}-{last}-"
    mine: list[_Unfinished] = []  # the files this export made, as it made them
    done: list[str] = []  # files renamed once complete
    try:
        _write(map(batch, _parts(cols)), base, unfinished, schema, made, mine)
        for file in mine:
            file.check()
            os.replace(file.tmp, file.final)
            done.append(file.final)
        n = written[0]
        if upto is not None:  # (a filtered export: the rest of those ids are not there)
            _note(manifest, source, upto, written[1] or None, n, made)  # (in the try: a note that cannot be
    except BaseException:  # written undoes the export, whose start would stay behind it)
        for file in mine:  # Ctrl-C, SIGTERM (the CLI unwinds), a full disk: what this export
            if file.final not in done:  # wrote goes now, not an hour later (and what it
                with contextlib.suppress(OSError):  # renamed already: no manifest counts it)
                    os.unlink(file.tmp)
        for final in done:
            with contextlib.suppress(OSError):
                os.unlink(final)
        raise
    return n


class _Unfinished:
    """A file :func:`_write` makes: ``tmp``, the name it has while written (``.part-...
    .parquet.<random>.tmp``), made by this export and no one else (``O_EXCL``, never through a
    link: a name others may guess, in a folder others may write, had Arrow write through a
    link planted there into any file), ``final``, its name once complete, and what it is
    (device and inode, to check that the name still names it before it is renamed)."""

    __slots__ = ("final", "ino", "tmp")

    def __init__(self, folder: str, head: str, count: int) -> None:
        self.tmp = os.path.join(folder, f"{head}{count}.parquet.{secrets.token_hex(8)}{_UNFINISHED}")
        self.final = os.path.join(folder, f"{head[1:]}{count}.parquet")
        self.ino: tuple[int, int] | None = None

    def open(self) -> Any:
        """The file made, opened to write bytes (for Arrow's writer, which does not close it).
        Made as Arrow made it: readable as your umask says (the README: exports follow it)."""
        fd = os.open(self.tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
                     | getattr(os, "O_CLOEXEC", 0), 0o666)
        try:
            st = os.fstat(fd)
            self.ino = (st.st_dev, st.st_ino)
            return os.fdopen(fd, "wb")
        except BaseException:
            os.close(fd)
            raise

    def check(self) -> None:
        """``OSError`` unless ``tmp`` still names the file this export wrote: another user
        who may write the folder replaced it meanwhile (a link, a file of theirs), and renaming
        it would put theirs in the dataset."""
        st = os.lstat(self.tmp)
        if (st.st_dev, st.st_ino) != self.ino:
            raise OSError(errno.EEXIST, f"{self.tmp!r} was replaced while the export wrote it "
                          "(does another user write to that folder?)", self.tmp)


def _read_note(manifest: str) -> dict[str, Any] | None:
    """The note ``<folder>/_hooklab/<source>.json`` (``None``: none, or unreadable): ``last_id``,
    the id up to which every capture of the source is in the folder (or was passed over by a
    ``since=``: exports continue after it), and ``check``, the highest id the source wrote
    there (to tell its database by; a note of an older hooklab has none: its ``last_id`` is)."""
    try:
        with open(manifest, encoding="utf-8") as f:
            note = json.load(f)
        note["last_id"] = int(note["last_id"])
        check = note.get("check", note["last_id"])
        note["check"] = None if check is None else int(check)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return None
    return note


def _note(manifest: str, source: str, upto: int, check: int | None, rows: int,
          made: list[str]) -> None:
    """Write ``<folder>/_hooklab/<source>.json`` (:func:`_read_note`): ``upto`` or the note's
    ``last_id``, whichever is later (an export of older captures does not move the default
    start back), and ``check`` or the note's, whichever is higher. Written beside it and put in
    its place; a failed write leaves no temporary file (a full disk left
    ``_hooklab/tmp*.tmp``)."""
    folder = os.path.dirname(manifest)
    _make(folder, made)
    old = _read_note(manifest)
    if old is not None:
        upto = max(upto, old["last_id"])
        check = max((c for c in (check, old["check"]) if c is not None), default=None)
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"source": source, "last_id": upto, "check": check, "rows": rows}, f)
        os.replace(tmp, manifest)  # the export counts once its files are all written
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _all_upto(store: Any, filters: dict[str, Any], ids: Any, top: int) -> int:
    """The id up to which an export of the captures ``ids`` (those of ``store`` matching
    ``filters``, whose only bounds are ``since`` and ``until``) leaves none behind: the next
    export continues after it. ``top`` is the highest id stored before the rows were read.

    ``since=`` is a start: what it passes over stays out, whichever its id (a time passes
    over every capture received at or before it, and ids do not follow times: an import in
    any order), so every capture up to ``top`` is exported or passed over. ``until=`` is not:
    ids do not follow times (a slowly sent body keeps the time it came but is stored, and
    given its id, after quicker ones), so a capture received after ``until`` may have an id
    below ones received before it. Each one left out keeps the start before it."""
    import numpy as np

    highest = max(top, int(np.max(ids)) if len(ids) else 0)
    if filters.get("until") is None:
        return highest
    since = {"since": filters["since"]} if filters.get("since") is not None else {}
    # (read after the export's rows: a capture stored meanwhile counts as left out)
    every = store.columns(**since).column("id").to_numpy()
    left = np.setdiff1d(every, ids, assume_unique=True)
    return int(left.min()) - 1 if len(left) else highest


def _stored_top(store: Any) -> int:
    """The highest id of a capture stored in ``store`` now (another process's too)."""
    stored = getattr(store, "stored_last_id", None)
    return int(stored() if stored is not None else store.last_id)


def _check_ours(store: Any, base: str, source: str, note: dict[str, Any]) -> None:
    """:class:`_NameTaken` unless ``store`` is the database that wrote ``note`` to the folder
    ``base``: its capture ``check`` is the one the folder holds under ``source`` (as in
    :func:`_same`), or was deleted here (cleared, retention). A copy of the database holds
    the same captures up to where it was copied, then others under the same ids; a restored
    backup had not yet come to ``check``."""
    check = note["check"]
    if check is None or check < 1:
        return
    theirs = _held(base, [source], check, check)
    if not theirs.num_rows:  # (its files moved away: nothing to tell by)
        return
    mine = store.columns(since=check - 1, until=check)
    if not mine.num_rows:
        given = getattr(store, "highest_id_given", None)
        if (given() if given is not None else store.last_id) >= check:
            return
        raise _NameTaken(f"it holds capture #{check}, which this database never had")
    if not _same(mine, theirs.slice(0, 1))[0]:
        raise _NameTaken(f"its capture #{check} is not this database's #{check}")


def _write(tables: Any, base: str, head: str, schema: Any, made: list[str],
           mine: list[_Unfinished]) -> None:
    """Write ``tables`` (rows in id order, ``schema``) to the dataset at ``base`` as Arrow's
    dataset writer laid them out: a hive folder per day and provider, a file per folder
    until it holds :data:`ROWS_PER_FILE` rows, named ``head`` + a count + ``.parquet.`` + a
    random part + ``.tmp`` (see :class:`_Unfinished`; appended to ``mine`` once made), each
    table's rows of a folder one row group; the folders it makes are appended to
    ``made``. One table at a time, here: Arrow's writer
    was handed the batches as they were read and queued them faster than it wrote them
    (hundreds of megabytes of binary bodies held at once)."""
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    layout = partitioning()
    file_schema = _without(schema, ("day", "provider"))
    # (day, provider) -> [writer, rows in it, the file it writes to]
    files: dict[tuple[str, str], list[Any]] = {}
    count = 0
    try:
        for table in tables:
            keys = list(zip(table.column("day").to_pylist(), table.column("provider").to_pylist(),
                            strict=True))
            at: dict[tuple[str, str], list[int]] = {}
            for i, key in enumerate(keys):
                at.setdefault(key, []).append(i)
            rows = table.drop_columns(["day", "provider"])
            for key, where in at.items():
                part = rows if len(at) == 1 else rows.take(where)
                while part.num_rows:
                    file = files.get(key)
                    if file is None or file[1] >= ROWS_PER_FILE:
                        if file is not None:
                            file[0].close()
                            file[2].close()
                        folder = layout.format((ds.field("day") == key[0])
                                               & (ds.field("provider") == key[1]))[0]
                        _make(os.path.join(base, folder), made)  # (a new day's, a new
                        # provider's: to go if the export fails)
                        new = _Unfinished(os.path.join(base, folder), head, count)
                        count += 1
                        sink = new.open()
                        mine.append(new)  # (made: removed if the export fails from now on)
                        try:
                            writer = pq.ParquetWriter(sink, file_schema, compression="zstd",
                                                      store_schema=False, memory_pool=arrow_pool())
                        except BaseException:
                            sink.close()
                            raise
                        file = files[key] = [writer, 0, sink]
                    take = min(part.num_rows, ROWS_PER_FILE - file[1])
                    file[0].write_table(part.slice(0, take), row_group_size=min(ROWS_PER_FILE, 131_072))
                    file[1] += take
                    part = part.slice(take)
    finally:
        _close_all(files.values())


def _close_all(files: Any) -> None:
    """Close each ``[writer, rows, file]`` of :func:`_write`, every one of them (the file's
    last bytes are written here: a full disk may be said now); the first error is raised once
    all are closed."""
    first: BaseException | None = None
    for file in files:
        for close in (file[0].close, file[2].close):
            try:
                close()
            except BaseException as exc:  # (Ctrl-C too: the rest are closed first)
                first = first or exc
    if first is not None:
        raise first


def _without(schema: Any, names: tuple[str, ...]) -> Any:
    """``schema`` without the fields ``names`` (the folders' parts, not the files')."""
    import pyarrow as pa

    return pa.schema([f for f in schema if f.name not in names])


#: bytes of bodies one batch of rows holds at most (a batch is a column segment's rows, or
#: fewer where its bodies weigh more: a row group of the files each); an export's memory
#: stays about a dozen batches' whatever the store holds (the allocators keep some)
BATCH_BYTES = 8 << 20


def _parts(cols: Any) -> Any:
    """``cols`` (without bodies) in batches: each chunk (a column segment's rows: the row
    groups of the files, as before) cut where its bodies would pass :data:`BATCH_BYTES`."""
    import numpy as np

    at = 0
    for chunk in cols.column("id").chunks:
        n = len(chunk)
        sizes = cols.column("size").slice(at, n).to_numpy()
        lo = 0
        while lo < n:
            total = np.cumsum(sizes[lo:])
            hi = lo + max(1, int(np.searchsorted(total, BATCH_BYTES, "right")))
            yield cols.slice(at + lo, hi - lo)
            lo = hi
        at += n


def _file_table(cols: Any, body: Any, extra: dict[str, list[Any]], latest: dict[int, Any],
                pool: Any, schema: Any) -> Any:
    """The rows ``cols`` (as ``CaptureStore.columns`` gives them) with their ``body`` as the
    dataset's files hold them (``schema``)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    idl = cols.column("id").to_pylist()
    received = pc.cast(cols.column("received_us"), pa.timestamp("us", tz="UTC"), memory_pool=pool)
    verified = cols.column("verified").to_numpy()

    def text(name: str) -> Any:  # a dictionary column as plain strings
        return pc.cast(cols.column(name), pa.string(), memory_pool=pool)

    def forward(key: str, kind: Any) -> Any:  # of each capture's latest forward, if any
        return pa.array([latest[i][key] if i in latest else None for i in idl], kind, memory_pool=pool)

    table = pa.table({
        "id": cols.column("id"),
        "received_at": received,
        "kind": text("kind"),
        "bin": text("bin"),
        "method": text("method"),
        "path": text("path"),
        "event_type": text("event_type"),
        "delivery_id": text("delivery_id"),
        "content_type": text("content_type"),
        "size": cols.column("size"),
        "status": cols.column("status"),
        "verified": pa.array(verified == 1, pa.bool_(), mask=verified < 0, memory_pool=pool),
        "duplicate": pa.array(cols.column("duplicate").to_numpy() != 0, pa.bool_(), memory_pool=pool),
        "handshake": pa.array(extra["handshake"], pa.string(), memory_pool=pool),
        "remote_addr": text("remote_addr"),
        "forward_status": forward("status", pa.int64()),
        "forward_latency_ms": forward("latency_ms", pa.float64()),
        "forward_error": forward("error", pa.string()),
        "url": pa.array(extra["url"], pa.string(), memory_pool=pool),
        "query": pa.array(extra["query"], pa.string(), memory_pool=pool),
        "headers": pa.array(extra["headers"], pa.string(), memory_pool=pool),
        "verify_reason": pa.array(extra["verify_reason"], pa.string(), memory_pool=pool),
        "body": pc.cast(body, pa.binary(), memory_pool=pool),
        "trailers_at": pa.array(_trailers_at(extra.get("trailers_at"), extra["headers"]),
                                pa.int64(), memory_pool=pool),
        "day": pc.strftime(received, format="%Y-%m-%d", memory_pool=pool),
        "provider": pc.coalesce(text("provider"), NO_PROVIDER, memory_pool=pool),  # (not fill_null: no pool)
    })  # fmt: skip
    assert table.column_names[: len(PARQUET_COLUMNS)] == list(PARQUET_COLUMNS)
    assert table.column_names == schema.names
    return pa.table([pc.cast(col, field.type, memory_pool=pool)
                     for col, field in zip(table.columns, schema, strict=True)], schema=schema)


#: the end of the name a file has while it is written
_UNFINISHED = ".tmp"
#: files of an export stopped part-way are removed by a later export once this old (seconds)
_UNFINISHED_AGE = 3600


def _forget_unfinished(base: str, source: str) -> None:
    """Remove what an export of ``source`` stopped part-way left (an hour old or more)."""
    import time

    head, now = f".part-{source}-", time.time()
    for folder, _dirs, names in os.walk(base):
        for name in names:
            if name.startswith(head) and name.endswith(_UNFINISHED):
                path = os.path.join(folder, name)
                try:
                    if now - os.stat(path).st_mtime > _UNFINISHED_AGE:
                        os.unlink(path)
                except OSError:
                    pass


#: what tells two captures of one id apart (the files' columns; ``received_at`` in
#: microseconds): a capture of a copy of the database, made later under the same id, differs
FINGERPRINT = ("id", "received_at", "size", "method", "path", "delivery_id")
#: the name of an export's file: ``part-<export name>-<first id>-<last id>-<n>.parquet``
_PART = re.compile(r"part-([0-9a-z]+)-(\d+)-(\d+)-\d+\.parquet")


def _files(base: str, names: list[str] | None, lo: int, hi: int) -> dict[str, list[str]]:
    """The files of the exports named ``names`` (``None``: every export's) in the dataset at
    ``base`` that may hold ids ``lo`` to ``hi`` (their names say: :data:`_PART`), by name."""
    files: dict[str, list[str]] = {}
    for folder, _dirs, found in os.walk(base):
        for file in found:
            m = _PART.fullmatch(file)
            if (m and (names is None or m.group(1) in names) and int(m.group(2)) <= hi
                    and int(m.group(3)) >= lo):
                files.setdefault(m.group(1), []).append(os.path.join(folder, file))
    return files


def _bodies_held(base: str, name: str, ids: list[int]) -> dict[int, bytes | None]:
    """The bodies of the captures ``ids`` in the files of the export ``name`` at ``base``."""
    import pyarrow.dataset as ds

    paths = _files(base, [name], min(ids), max(ids)).get(name, [])
    if not paths:
        return {}
    t = ds.dataset(paths, format="parquet").to_table(
        columns=["id", "body"], filter=ds.field("id").isin(ids))
    return dict(zip(t.column("id").to_pylist(), t.column("body").to_pylist(), strict=True))


def _held(base: str, names: list[str] | None, lo: int, hi: int) -> Any:
    """:data:`FINGERPRINT` of the captures with ids ``lo`` to ``hi`` in the files of the
    exports named ``names`` (``None``: every export's) in the dataset at ``base``, found by
    their file names (:data:`_PART`), with ``name``, the export name of each row's file."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    files = _files(base, names, lo, hi)
    schema = pa.schema([("id", pa.int64()), ("received_at", pa.int64()), ("size", pa.int64()),
                        ("method", pa.string()), ("path", pa.string()),
                        ("delivery_id", pa.string()), ("name", pa.string())])
    tables = []
    for n, paths in files.items():
        try:
            t = ds.dataset(paths, format="parquet").to_table(
                columns=list(FINGERPRINT), filter=(ds.field("id") >= lo) & (ds.field("id") <= hi))
        except (OSError, ValueError) as exc:  # (pyarrow's ArrowInvalid is a ValueError)
            raise ValueError(f"{base!r} holds a Parquet file that cannot be read ({exc}); an "
                             "export of an older hooklab stopped part-way? Remove that file and "
                             "export again") from None
        cols = [pc.cast(t.column(f), schema.field(f).type) for f in FINGERPRINT]
        tables.append(pa.table([*cols, pa.array([n] * t.num_rows, pa.string())], schema=schema))
    return pa.concat_tables(tables) if tables else schema.empty_table()


def _same(mine: Any, theirs: Any) -> Any:
    """Row by row, whether the captures ``mine`` (rows of ``CaptureStore.columns``) and
    ``theirs`` (rows of :func:`_held`, as many, in the same order) are the same capture:
    the same :data:`FINGERPRINT` (two nulls the same). A numpy array of booleans."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    same = np.ones(mine.num_rows, bool)
    for name in FINGERPRINT:
        a = mine.column("received_us" if name == "received_at" else name)
        b = theirs.column(name)
        a = pc.cast(a, b.type)
        eq = pc.or_kleene(pc.equal(a, b), pc.and_(pc.is_null(a), pc.is_null(b)))
        same &= pc.fill_null(eq, pa.scalar(False)).to_numpy(zero_copy_only=False)
    return same


def _held_here(cols: Any, base: str, source: str, store: Any = None) -> Any:
    """Which rows of ``cols`` the dataset at ``base`` already holds: a numpy array of
    booleans, ``None`` when it holds none of their ids. A row is held where the folder holds
    the same capture (:func:`_same`), in any export's files (a database that began as a copy
    of another shares the captures it had then, under the same ids), never another capture
    of its id; another one in the files of ``source`` itself is :class:`_NameTaken`
    (another database exported under this store's name). In another export's files the body
    must be the same too (``store``'s: two databases that never were one may hold captures
    alike but for their bodies, made at the same second on the same path)."""
    import numpy as np

    ids = cols.column("id").to_numpy()
    theirs = _held(base, None, int(ids.min()), int(ids.max()))
    if not theirs.num_rows:
        return None
    order = np.argsort(ids, kind="stable")
    at = order[np.minimum(np.searchsorted(ids[order], theirs.column("id").to_numpy()), len(ids) - 1)]
    found = ids[at] == theirs.column("id").to_numpy()
    theirs, at = theirs.filter(found), at[found]
    mine = cols.select(["id", "received_us", "size", "method", "path", "delivery_id"])
    same = _same(mine.take(at), theirs)
    own = (theirs.column("name").to_numpy(zero_copy_only=False) == source) & ~same
    if own.any():
        i = int(theirs.column("id").to_numpy()[own][0])
        raise _NameTaken(f"its capture #{i} is not this database's #{i}")
    names = theirs.column("name").to_numpy(zero_copy_only=False)
    other = same & (names != source)
    if other.any() and store is not None and hasattr(store, "bodies"):
        their_ids = theirs.column("id").to_numpy()
        for name in set(names[other].tolist()):
            pick = np.flatnonzero(other & (names == name))
            wanted = [int(i) for i in their_ids[pick]]
            held_bodies = _bodies_held(base, name, wanted)
            own_bodies = store.bodies(wanted).to_pylist()
            for k, i, body in zip(pick.tolist(), wanted, own_bodies, strict=True):
                if i not in held_bodies or (held_bodies[i] or b"") != (body or b""):
                    same[k] = False
    held = np.zeros(len(ids), bool)
    held[at[same]] = True
    return held


def _extra(store: Any, ids: Any) -> dict[str, list[Any]]:
    """url, query, headers, verify_reason, handshake, trailers_at of the captures ``ids`` (as
    stored: JSON text; a store that gives no ``trailers_at``, none)."""
    out: dict[str, list[Any]] = {"url": [], "query": [], "headers": [], "verify_reason": [],
                                 "handshake": [], "trailers_at": []}
    if hasattr(store, "extra_columns"):
        return store.extra_columns(ids)
    for c in (store.get(int(i)) for i in ids.tolist()):
        out["url"].append(c.url if c else "")
        out["query"].append(json.dumps(c.query) if c else "{}")
        out["headers"].append(json.dumps([list(h) for h in c.headers]) if c else "[]")
        out["verify_reason"].append(c.verify_reason if c else None)
        out["handshake"].append(c.handshake if c else None)
        out["trailers_at"].append(c.trailers_at if c else None)
    return out


def _scrubbed_extra(extra: dict[str, list[Any]], book: Any,
                    rows: list[bool]) -> dict[str, list[Any]]:
    """:func:`_extra`'s columns with the secrets of ``book`` as ``[secret]`` in the ``rows``
    that are true (:func:`~hooklab.export._scrub.stored_before`), as
    :meth:`~hooklab.signatures.book.SecretBook.scrub` writes a record on arrival (headers and
    query JSON text as stored: read, scrubbed and written again only where that changes
    them)."""
    out: dict[str, list[Any]] = {k: list(v) for k, v in extra.items()}
    for i, (url, query, headers) in enumerate(zip(extra["url"], extra["query"], extra["headers"],
                                                  strict=True)):
        if not rows[i]:
            continue
        try:
            record = {"url": url, "query": json.loads(query),
                      "headers": [tuple(h) for h in json.loads(headers)],
                      "verify_reason": extra["verify_reason"][i], "handshake": extra["handshake"][i]}
            given = dict(record)
            book.scrub(record)
        except (TypeError, ValueError, RecursionError):  # (a crafted database: as stored)
            continue
        if record != given:
            out["url"][i], out["verify_reason"][i] = record["url"], record["verify_reason"]
            out["handshake"][i] = record["handshake"]
            out["query"][i] = json.dumps(record["query"])
            out["headers"][i] = json.dumps([list(h) for h in record["headers"]])
    return out


def _trailers_at(given: list[Any] | None, headers: list[Any]) -> list[int | None]:
    """The ``trailers_at`` column of captures with ``headers`` (JSON text): each ``given``
    value (as stored; ``None``: a store that gives none) kept where it names one of the
    capture's header fields (:func:`hooklab.capture.trailers_start`), else null, no
    trailers, as a capture read from the store has it (a database may be crafted: text or a
    number past the fields was written as it was, or refused by Arrow). Only rows with a
    value have their headers parsed (few: trailers are rare).

    >>> _trailers_at([None, 1, 2, "1", -1], ['[["A", "1"], ["B", "2"]]'] * 5)
    [None, 1, None, None, None]
    """
    from ..capture import trailers_start

    if given is None:
        return [None] * len(headers)
    out: list[int | None] = []
    for at, text in zip(given, headers, strict=True):
        if at is not None:
            try:
                fields = json.loads(text)
            except (TypeError, ValueError, RecursionError):
                fields = None
            at = trailers_start(at, len(fields) if type(fields) is list else 0)
        out.append(at)
    return out
