"""Helper processes: ``schema()``'s first call on a big store, and big JSON Lines imports.

The first ``schema()`` on a store nobody has summarized reads every body: on a million
captures that is seconds of pure Python under one GIL. Its work splits by column segment (a
summary per segment, merged in order), so other CPUs can take part: :class:`Helpers` starts
a few ``python`` processes that each open the database read-only and make the summaries of
segments handed to them, newest first, while the caller makes the oldest ones itself. The two
meet in the middle; the caller merges every summary in segment order, so the table is the one
it would have made alone.

The helpers are only an acceleration. A segment is the caller's whenever it gets there first;
whatever a helper cannot give (it failed to start, died, answered something that does not
unpack, or found the segment gone) the caller makes itself. A helper runs no code of the
person's program: it is ``python -c`` with a fixed bootstrap (not ``multiprocessing``, whose
``spawn`` imports the main script again), reads requests on its stdin, and ends when that
closes. Stores in memory, small stores and machines with one CPU start none.

The same helpers prepare the rows of a big JSON Lines import (:func:`hooklab.export.jsonl.load`,
and a big HAR file as hooklab writes it, :func:`hooklab.export.jsonl.load_har`):
there the work is byte ranges of the file, handed out oldest first, and the caller stores each
range's rows in file order while the helpers prepare the ranges after it.

>>> from hooklab.explore import parallel
>>> parallel.cpus() >= 1
True
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

__all__ = ["MAX_ANSWER", "MIN_SEGMENTS", "PER_HELPER", "PROCESSES", "READY", "TAKE_TIMEOUT",
           "TASKS", "Helpers", "cgroup_cpus", "cpus", "register_task", "serve", "start",
           "wanted"]

#: helper processes for a first ``schema()``: ``None`` picks one less than the CPUs this
#: process may use (at most 7); ``0`` starts none
PROCESSES: int | None = None
#: segments without a summary below which no helper is started (starting one costs about
#: half a second; a segment of 4,096 captures takes a few tens of milliseconds)
MIN_SEGMENTS = 32
#: segments without a summary per helper process at least
PER_HELPER = 16
#: seconds the caller waits for a segment a helper is making before making it itself (a
#: helper that hangs costs this once, then nothing: it is given no other segment)
TAKE_TIMEOUT = 30.0
#: the largest answer read from a helper (a packed summary is far smaller)
MAX_ANSWER = 512 * 1024 * 1024
#: what a helper writes first, once everything it needs is imported
READY = b"HLH1"

_BOOT = ("import sys, json; h = json.loads(sys.stdin.buffer.readline()); sys.path[:] = h['path']; "
         "getattr(sys, 'set_int_max_str_digits', len)(h['digits']); "
         "from hooklab.explore.parallel import serve; serve(h)")

#: what a helper can be asked to do: the module and function that make one answer, and what
#: it reads (the store's database, opened read-only, or a file opened for reading bytes).
#: Each module adds its own task with :func:`register_task` (``"schema"`` by
#: :mod:`hooklab.explore.schema` when imported, ``"jsonl"`` by :mod:`hooklab.export.jsonl`
#: before it starts helpers), so this module names none of them: it sits below both.
TASKS: dict[str, tuple[str, str, str]] = {}

_READS = ("database", "file")


def register_task(name: str, module: str, function: str, reads: str) -> None:
    """Let helpers do task ``name``: ``module.function(source, key)`` makes one answer
    (bytes, or ``None``) from ``source``, which ``reads`` says is the store's ``"database"``
    or a ``"file"``. A module of hooklab registers its own tasks before it starts helpers.

    >>> register_task("x", "os", "getcwd", "file")
    Traceback (most recent call last):
    ...
    ValueError: a helper task runs a function of hooklab, not of 'os'
    """
    if not module.startswith("hooklab."):
        raise ValueError(f"a helper task runs a function of hooklab, not of {module!r}")
    if reads not in _READS:
        raise ValueError(f"a helper task reads one of {_READS}, not {reads!r}")
    TASKS[name] = (module, function, reads)

Key = tuple[int, int, int]


def cpus() -> int:
    """The CPUs this process may use: its affinity, capped by the CPU quota of its cgroup
    and of every cgroup above it (a container's CPU limit, as on Binder, or a JupyterHub
    user's, as The Littlest JupyterHub sets on each user's systemd unit)."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # (macOS, Windows)
        n = os.cpu_count() or 1
    quota = cgroup_cpus()
    return max(1, n if quota is None else min(n, quota))


_CGROUP_ROOT = "/sys/fs/cgroup"
_V1_FILES = ("cpu.cfs_quota_us", "cpu.cfs_period_us")  # a number each; -1: no quota
_V2_FILES = ("cpu.max",)  # "quota period", or "max period": no quota


def cgroup_cpus(root: str = _CGROUP_ROOT, own: str = "/proc/self/cgroup") -> int | None:
    """Whole CPUs (at least 1) that the smallest CPU quota on the way from this process's
    cgroup (``own`` names it) up to the hierarchy's ``root`` allows; ``None`` when there is no
    quota. Both cgroup versions; a cgroup that is not there (a container that shows its own
    cgroup as the root) is passed over.

    >>> cgroup_cpus(root="/no/such/place", own="/no/such/file") is None
    True
    """
    try:
        with open(own) as f:
            lines = f.read().splitlines()
    except OSError:
        lines = []
    places: list[tuple[str, str, tuple[str, ...]]] = []
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if controllers == "":
            places.append((root, path, _V2_FILES))
        elif "cpu" in controllers.split(","):
            for mount in dict.fromkeys((controllers, "cpu")):
                places.append((os.path.join(root, mount), path, _V1_FILES))
    # the roots, too: what was read before /proc/self/cgroup was (and where it is missing)
    places += [(root, "/", _V2_FILES), (os.path.join(root, "cpu"), "/", _V1_FILES)]
    found = [q for mount, path, files in places for q in _quotas(mount, path, files)]
    return min(found) if found else None


def _quotas(mount: str, path: str, files: tuple[str, ...]) -> list[int]:
    """The quotas (whole CPUs) of the cgroup ``path`` under ``mount`` and of those above it."""
    parts = [p for p in path.split("/") if p and p != "."]
    if ".." in parts:  # a cgroup outside this process's cgroup namespace: not in this view
        return []
    out = []
    for depth in range(len(parts), -1, -1):
        folder = os.path.join(mount, *parts[:depth])
        words: list[str] = []
        try:
            for name in files:
                with open(os.path.join(folder, name)) as f:
                    words += f.read().split()[:2]
            quota, period = int(words[0]), int(words[1])
        except (OSError, ValueError, IndexError):  # not there, or "max" (no quota)
            continue
        if quota > 0 and period > 0:
            out.append(max(1, quota // period))
    return out


def wanted(missing: int, least: int | None = None, per: int | None = None, spare: int = 1) -> int:
    """How many helpers to start for ``missing`` pieces of work (segments without a summary):
    none below ``least`` (:data:`MIN_SEGMENTS`), one per ``per`` (:data:`PER_HELPER`) at most,
    and (unless :data:`PROCESSES` says) ``spare`` CPUs fewer than this process may use, at
    most 7, none on one CPU. (An import leaves none spare: its caller mostly waits for SQLite.)"""
    if missing < (MIN_SEGMENTS if least is None else least):
        return 0
    if PROCESSES is not None:
        most = PROCESSES
    else:
        have = cpus()
        most = min(7, have - spare) if have > 1 else 0
    return max(0, min(most, missing // max(1, PER_HELPER if per is None else per)))


class _Slot:
    """A segment handed to a helper: its packed summary once answered (``None``: not given)."""

    __slots__ = ("done", "packed")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.packed: bytes | None = None


class Helpers:
    """Helper processes doing ``task`` (:data:`TASKS`) for ``keys`` (segments of the
    database at ``path``, oldest first; or byte ranges of the file at ``path``), newest first
    (or oldest first: ``newest_first=False``), while the caller goes through them oldest first
    with :meth:`take`; :meth:`close` (or :meth:`kill`) ends every helper. With ``ahead``, no
    helper starts a key while ``ahead`` keys per helper are handed out and not yet taken, and
    with ``ahead_bytes`` none while answers of that many bytes wait (big answers wait in
    memory only that far ahead of the caller)."""

    def __init__(self, path: str, keys: Sequence[Key], processes: int, *, task: str = "schema",
                 newest_first: bool = True, ahead: int | None = None,
                 ahead_bytes: int | None = None, nice: int = 0,
                 on_close: Callable[[], None] | None = None) -> None:
        #: called once the helpers are ended (by kill() or close(), whichever comes first)
        self.on_close = on_close
        #: ended by :func:`start` for a caller that waits (background work gives way)
        self.preempted = False
        if task not in TASKS:
            raise ValueError(f"no helper task {task!r}")
        self._lock = threading.Lock()
        self._space = threading.Condition(self._lock)  # a slot was taken, or all is over
        self._given = threading.Condition(self._lock)  # a key was handed out, or all is over
        self._ahead = ahead
        self._ahead_bytes = ahead_bytes
        self._waiting = 0  # bytes of answers given and not yet taken
        self._newest_first = newest_first
        self._todo: deque[Key] = deque(keys)
        self._slots: dict[Key, _Slot] = {}
        self._closed = False
        self._procs: list[subprocess.Popen[bytes]] = []
        self._threads: list[threading.Thread] = []
        # the kernel's import path, absolute entries only: "" or "." would mean the helper's
        # working directory, where a module of the same name must not take the place of ours
        where = [os.fsdecode(p) for p in sys.path if isinstance(p, (str, bytes, os.PathLike))]
        where = [p for p in where if os.path.isabs(p)]
        digits = getattr(sys, "get_int_max_str_digits", lambda: 0)()  # (bodies parse alike)
        head = json.dumps({"path": where, "task": TASKS[task], "source": path,
                           "digits": digits, "nice": int(nice)}).encode() + b"\n"
        try:
            self._start(processes, head)
        except BaseException:
            self.kill()
            self.close()  # (reaps them too)
            raise

    def _start(self, processes: int, head: bytes) -> None:
        for _ in range(processes):
            try:  # -I: nothing from the working directory or PYTHON* variables before the
                # bootstrap sets this process's sys.path
                proc = subprocess.Popen(  # noqa: S603 - this interpreter, a fixed bootstrap
                    [sys.executable, "-I", "-c", _BOOT], stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, close_fds=True)
            except (OSError, ValueError):
                break  # no helper then (or fewer): the caller makes those segments itself
            self._procs.append(proc)  # (ended by close() whatever happens next)
            try:
                assert proc.stdin is not None
                proc.stdin.write(head)
                proc.stdin.flush()
            except (OSError, ValueError):
                break
            t = threading.Thread(target=self._feed, args=(proc,), name="hooklab-helper",
                                 daemon=True)
            self._threads.append(t)
            t.start()

    @property
    def started(self) -> int:
        """How many helper processes were started (and are being fed)."""
        return len(self._threads)

    @property
    def running(self) -> bool:
        """Whether the helpers still take keys (not closed, killed or all gone): a ``None``
        from :meth:`answer` then means a helper answered nothing for that key."""
        with self._lock:
            closed = self._closed
        return not closed and any(t.is_alive() for t in self._threads)

    def take(self, key: Key, give_up: Callable[[], bool] | None = None) -> bytes | None:
        """A helper's answer for ``key`` (a segment's packed summary, a range's packed rows),
        waiting for it if a helper is making it, or ``None``: the caller makes it itself (it
        was not handed out yet, and now never will be, or a helper could not give it). With
        ``give_up``, the wait ends (and every helper) as soon as it says so."""
        with self._lock:
            slot = self._slots.get(key)
            if slot is None:
                try:
                    self._todo.remove(key)  # (the leftmost one whenever keys are taken in order)
                except ValueError:
                    pass
                return None
        end = time.monotonic() + TAKE_TIMEOUT
        while not slot.done.wait(0.1 if give_up is not None else TAKE_TIMEOUT):
            if time.monotonic() >= end or (give_up is not None and give_up()):
                self.kill()  # a helper hangs (no helper is waited for again), or the caller
                break  # gave up
        with self._lock:
            del self._slots[key]  # (its answer is not kept until the call ends)
            self._waiting -= len(slot.packed or b"")
            self._space.notify_all()
        return slot.packed if slot.done.is_set() else None

    def answer(self, key: Key, timeout: float = TAKE_TIMEOUT,
               give_up: Callable[[], bool] | None = None) -> bytes | None:
        """A helper's answer for ``key``, waiting until a helper is handed it and answers
        (where :meth:`take` gives ``None`` for a key no helper has started, so that the
        caller makes it): for a caller that makes nothing itself. ``None`` when the helpers
        ended first, or gave nothing for it, or ``timeout`` seconds passed, or ``give_up()``
        said so (every helper is ended then)."""
        end = time.monotonic() + timeout
        with self._lock:
            while key not in self._slots:
                left = end - time.monotonic()
                if (self._closed or key not in self._todo or left <= 0
                        or not any(t.is_alive() for t in self._threads)):
                    return None
                self._given.wait(min(left, 0.1))  # (and looks again: a helper may have died)
        return self.take(key, give_up)

    def _feed(self, proc: subprocess.Popen[bytes]) -> None:
        """One helper's thread: hand it the next key left (the newest, or the oldest), read its
        answer, again."""
        stdin, stdout = proc.stdin, proc.stdout
        assert stdin is not None and stdout is not None
        slot: _Slot | None = None
        try:
            if _read(stdout, len(READY)) != READY:  # (its imports done: a helper that hangs
                return  # or is no Python is never handed a segment)
            while True:
                with self._lock:
                    while not self._closed and (
                            (self._ahead is not None
                             and len(self._slots) >= self._ahead * len(self._threads))
                            or (self._ahead_bytes is not None
                                and self._waiting >= self._ahead_bytes)):
                        self._space.wait()
                    if self._closed or not self._todo:
                        return
                    key = self._todo.pop() if self._newest_first else self._todo.popleft()
                    slot = self._slots[key] = _Slot()
                    self._given.notify_all()
                stdin.write(json.dumps(key).encode() + b"\n")
                stdin.flush()
                size = int.from_bytes(_read(stdout, 8), "little")
                if size > MAX_ANSWER:
                    raise ValueError("a helper's answer is too large")
                slot.packed = _read(stdout, size) if size else None
                with self._lock:
                    self._waiting += size
                slot.done.set()
                slot = None
        except (OSError, ValueError, EOFError):
            return  # the helper is gone: what it did not answer, the caller makes
        finally:
            if slot is not None:
                slot.done.set()  # (packed stays None)

    def close(self) -> None:
        """Stop handing out keys and end every helper (killed if it does not end at once)."""
        try:
            self._end()
        finally:
            self._ended()

    def _end(self) -> None:
        with self._lock:
            self._closed = True
            self._todo.clear()
            self._space.notify_all()
            self._given.notify_all()
        for proc in self._procs:
            try:
                if proc.stdin is not None:
                    proc.stdin.close()  # a helper ends when its stdin closes
            except OSError:
                pass
        end = time.monotonic() + 2
        for proc in self._procs:
            try:
                proc.wait(timeout=max(0.0, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for t in self._threads:
            t.join(timeout=5)
        for proc in self._procs:
            if proc.stdout is not None:
                proc.stdout.close()

    def _ended(self) -> None:
        with self._lock:
            done, self.on_close = self.on_close, None
        if done is not None:
            done()

    def kill(self) -> None:
        """End every helper now (an interrupted call, a helper that hangs); what they did not
        answer, the caller makes."""
        with self._lock:
            self._closed = True
            self._todo.clear()
            for slot in self._slots.values():
                slot.done.set()  # (a waiting take() gets None)
            self._space.notify_all()
            self._given.notify_all()
        try:
            for proc in self._procs:
                try:
                    proc.kill()
                except OSError:
                    pass
            for proc in self._procs:  # reaped: a killed helper left as a zombie (<defunct>)
                with contextlib.suppress(subprocess.TimeoutExpired, OSError):  # outlived the
                    proc.wait(timeout=1)  # call, until the next Popen or the GC reaped it
        finally:
            self._ended()


def _read(stream: Any, n: int) -> bytes:
    data = stream.read(n)
    if len(data) != n:
        raise EOFError("a helper ended")
    return data


def start(path: str | None, keys: Sequence[Key], *, task: str = "schema",
          newest_first: bool = True, ahead: int | None = None, ahead_bytes: int | None = None,
          least: int | None = None, per: int | None = None, spare: int = 1,
          nice: int = 0, background: bool = False) -> Helpers | None:
    """Helpers doing ``task`` for ``keys`` of the file ``path`` (see :class:`Helpers`) when it
    is worth it (:func:`wanted`), else ``None``; ``nice`` lowers the helpers' CPU priority
    (background work: ``os.nice`` where there is one). One set of helpers at a time per process:
    while one works (each takes every CPU but the caller's), a second caller, on another
    thread, gets ``None`` and does its own work alone; but a ``background`` set (quiet-moment
    work nobody waits for) gives way: it is ended (``preempted``) for a caller that is not."""
    global _running, _running_helpers, _running_background
    if not path or path == ":memory:" or not os.path.isfile(path):
        return None
    if not sys.executable or getattr(sys, "frozen", False):  # no Python to start (embedded,
        return None  # or a frozen app, which would start itself)
    n = wanted(len(keys), least, per, spare)
    if n <= 0:
        return None
    turn = object()
    victim = None
    with _RUNNING_LOCK:
        if _running:
            if background or not _running_background or _running_helpers is None:
                return None
            victim = _running_helpers
            victim.preempted = True
        _running, _running_helpers, _running_background = turn, None, background
    if victim is not None:  # (its end of turn no longer ends anything: the turn is this one's)
        victim.kill()
    end = partial(_end_turn, turn)
    try:
        helpers = Helpers(os.path.abspath(path), keys, n, task=task, newest_first=newest_first,
                          ahead=ahead, ahead_bytes=ahead_bytes, nice=nice, on_close=end)
    except BaseException:
        end()
        raise
    if not helpers.started:
        helpers.close()
        return None
    with _RUNNING_LOCK:
        if _running is turn:
            _running_helpers = helpers
    return helpers


_RUNNING_LOCK = threading.Lock()
_running: object | None = None  # the turn of the set of helpers from start() at work
_running_helpers: Helpers | None = None  # that set, once started
_running_background = False  # whether it is background work (it gives way)


def _end_turn(turn: object) -> None:
    """End ``turn`` if it is still the one at work (so a late second end of a set never
    ends the turn of a set started after it)."""
    global _running, _running_helpers
    with _RUNNING_LOCK:
        if _running is turn:
            _running, _running_helpers = None, None


# -- the helper process ----------------------------------------------------------------------


def serve(head: dict[str, Any]) -> None:
    """A helper's loop: for each key (three integers: ``[first_id, last_id, rows]`` of a
    segment, or ``[start, end, 0]`` of a byte range) on a line of stdin, the answer of the
    task ``head["task"]`` (a :data:`TASKS` entry: module, function, what it reads) on stdout: 8 bytes of length, little-endian, then
    the bytes; length 0 when the task gave ``None`` or failed. Its source is
    ``head["source"]``, opened read-only. Ends at the end of stdin."""
    import gc
    import importlib
    import sqlite3

    module, name, kind = head["task"]
    if not module.startswith("hooklab.") or kind not in _READS:
        raise ValueError(f"not a helper task: {head['task']!r}")
    work: Callable[[Any, Key], bytes | None] = getattr(importlib.import_module(module), name)
    if head.get("nice") and hasattr(os, "nice"):
        try:
            os.nice(int(head["nice"]))
        except OSError:
            pass
    gc.disable()  # (millions of fresh containers, no cycles; the process is short-lived)
    out = sys.stdout.buffer
    out.write(READY)  # (everything imported)
    out.flush()
    source: Any
    if kind == "database":
        from ..store import read_only_uri

        source = sqlite3.connect(read_only_uri(head["source"]), uri=True, check_same_thread=False)
    else:
        source = open(head["source"], "rb")  # noqa: SIM115 - closed below
    try:
        for line in sys.stdin.buffer:
            try:
                a, b, c = (int(v) for v in json.loads(line))
                packed = work(source, (a, b, c)) or b""
            except Exception:  # noqa: BLE001 - this piece is then made by the caller
                packed = b""
            out.write(len(packed).to_bytes(8, "little"))
            out.write(packed)  # (not joined: an answer may be big)
            out.flush()
    finally:
        source.close()
