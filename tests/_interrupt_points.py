"""Ctrl-C at each moment of a piece of hooklab's code in turn, for tests that run a script in a
process of their own (``test_start_interrupted.py``, ``test_move_interrupted.py``,
``test_import_interrupt_points.py``).

Python raises a KeyboardInterrupt for a Ctrl-C in the main thread between two bytecode
instructions, and only after some of them: after a call returns (``CALL`` and its older
spellings), as a function starts (``RESUME``), at a loop's turn (``JUMP_BACKWARD``,
``JUMP_ABSOLUTE``). A :class:`Points` tracer (``sys.settrace`` with ``f_trace_opcodes``)
counts these moments, the *points*, in the code it watches, on the thread that enters it,
and raises the KeyboardInterrupt at point number ``at`` itself: a moment that a real Ctrl-C
hits once in thousands of runs is hit every time. Counted once with ``at=-1`` (no interrupt),
the points are then tried one by one, each on a fresh run.

A script given to :func:`run_script` imports this module::

    from _interrupt_points import Points, interrupted

    hit, points = interrupted(lab.start, -1)          # no interrupt: how many points
    for at in range(1, points.count + 1):
        hit, _ = interrupted(fresh_lab().start, at)   # a KeyboardInterrupt at point ``at``
        ...                                           # (hit: it came out of ``start``)

or, to catch what the traced code makes of the interrupt, uses :class:`Points` as a context
manager, here counting from the second call of ``CaptureStore._store_chunk`` on::

    with Points(at, start=(CaptureStore, "_store_chunk"), nth=2) as points:
        try:
            store.add_many(records)
        except ImportInterrupted as exc:
            ...

Tracing is slow (Python calls the tracer at each call, and at each instruction of a function
whose instructions it counts), so the tracer keeps to what it counts: with ``start``, nothing
is traced before that call (the function is wrapped for the ``with`` block, and the wrapper
sets the tracer as it is called); whether a function is watched is worked out once per code
object, and where its points are once per code object too (``co_code`` makes a new copy at
each reading); a count (``at=-1``) can stop where no more is needed (``until``,
``until_return``); and :func:`freeze_heap` keeps the garbage collections hooklab makes to what
a run made. So a script tries hundreds of points in one process.
"""

from __future__ import annotations

import dis
import functools
import gc
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from types import CodeType, FrameType
from typing import Any

#: instructions after which Python looks for a signal to handle
AFTER = frozenset({"CALL", "CALL_KW", "CALL_FUNCTION", "CALL_FUNCTION_KW", "CALL_FUNCTION_EX",
                   "CALL_METHOD", "RESUME", "JUMP_BACKWARD", "JUMP_ABSOLUTE"})
#: hooklab's own code (what a file's name has in it)
HOOKLAB = os.sep + "hooklab" + os.sep
#: the standard library's code that hooklab's threads and queues run
THREADS = (os.sep + "threading.py", os.sep + "queue.py",
           os.sep + "concurrent" + os.sep + "futures" + os.sep)

_HERE = Path(__file__).resolve().parent


def _point_offsets(code: CodeType) -> frozenset[int]:
    """The offsets in ``code`` of the instructions after which a point comes."""
    raw = code.co_code
    return frozenset(i for i in range(0, len(raw), 2) if dis.opname[raw[i]] in AFTER)


class Points:
    """A tracer of the points of the code in files whose name has one of ``watch`` in it,
    on the thread that enters the ``with`` block, raising a KeyboardInterrupt at point
    number ``at`` (from 1; ``-1``: none, the points are only counted).

    ``start``: ``None``, the points are counted from the first watched call; or ``(owner,
    name)``, a function that ``owner`` (a class, a module) has as attribute ``name``: from its
    ``nth`` call (a call through that attribute), that call and every watched one made after
    it (nothing is traced before: the attribute is a wrapper for the ``with`` block, that sets
    the tracer for the call it makes).

    ``again``: a second KeyboardInterrupt at the point after ``at`` (as the first is being
    handled). ``record``: called at each point with the frame; what it returns is appended to
    :attr:`where`. ``until``: the count stops after that many points, ``until_return``: as
    the ``start`` call returns (for a count that needs no more: what runs after it is not
    traced).

    After the block: :attr:`count`, the points passed; :attr:`raised`, whether the
    KeyboardInterrupt was raised; :attr:`at_return`, the count as the ``start`` call
    returned (``None``: it did not, or no interrupt came first).
    """

    def __init__(self, at: int = -1, *, watch: Iterable[str] = (HOOKLAB,),
                 start: tuple[Any, str] | None = None, nth: int = 1, again: bool = False,
                 record: Callable[[FrameType], Any] | None = None,
                 until: int | None = None, until_return: bool = False) -> None:
        self.at = at
        self.watch = tuple(watch)
        self.nth = nth
        self.again = again
        self.record = record
        self.until = until
        self.until_return = until_return
        self.count = 0
        self.where: list[Any] = []
        self.raised = False
        self.at_return: int | None = None
        self._done = False
        self.start = start
        self._calls = 0  # calls of ``start`` met
        self._starting = start is None  # (the next watched call starts the count)
        self._start_frame: FrameType | None = None
        self._real: Any = None  # (what ``start`` names, while it is wrapped)
        self._kind: dict[CodeType, bool] = {}  # whether a function is watched
        self._offsets: dict[CodeType, frozenset[int]] = {}
        self._last: dict[int, bool] = {}  # id(frame) -> whether its last instruction made a point

    def __enter__(self) -> Points:
        if self.start is None:
            sys.settrace(self._call)
            return self
        owner, name = self.start
        real = owner.__dict__[name]
        points = self

        @functools.wraps(real)
        def starting(*args: Any, **kwargs: Any) -> Any:
            points._calls += 1
            if points._calls == points.nth and not points._done:
                points._starting = True
                sys.settrace(points._call)  # (from the call just below: not this frame)
            return real(*args, **kwargs)

        setattr(owner, name, starting)
        self._real = real
        return self

    def __exit__(self, *exc: object) -> None:
        sys.settrace(None)
        if self.start is not None:
            owner, name = self.start
            setattr(owner, name, self._real)

    def _stop(self) -> None:
        self._done = True
        sys.settrace(None)

    def _call(self, frame: FrameType, event: str, arg: object) -> Any:
        if self._done:
            return None
        code = frame.f_code
        watched = self._kind.get(code)
        if watched is None:
            watched = self._kind[code] = any(w in code.co_filename for w in self.watch)
        if not watched:
            return None
        if self._starting:
            self._starting = False
            if self.start is not None:
                self._start_frame = frame
        self._last.pop(id(frame), None)
        frame.f_trace_opcodes = True
        return self._local

    def _local(self, frame: FrameType, event: str, arg: object) -> Any:
        if self._done:
            return None
        if event == "opcode":
            code = frame.f_code
            offsets = self._offsets.get(code)
            if offsets is None:
                offsets = self._offsets[code] = _point_offsets(code)
            key = id(frame)
            before = self._last.get(key)
            self._last[key] = frame.f_lasti in offsets
            if before:
                self.count += 1
                if self.record is not None:
                    self.where.append(self.record(frame))
                if self.count == self.at:
                    self.raised = True
                    if self.again:  # (the next point: a second one)
                        self.again, self.at = False, self.at + 1
                    else:
                        self._stop()
                    raise KeyboardInterrupt
                if self.count == self.until:
                    self._stop()
        elif event == "return" and frame is self._start_frame and self.at_return is None:
            self.at_return = self.count
            if self.until_return:
                self._stop()
        return self._local


def freeze_heap() -> None:
    """Leave what the process holds now (its modules, a first run's lab) out of every later
    garbage collection (``gc.freeze``), having collected what is garbage: a collection
    (hooklab makes one after an interrupted store opening) then costs what a run made since,
    not the whole process. For a script, once the first run has imported what runs import::

        hit, points = interrupted(first.start, -1)
        freeze_heap()
    """
    gc.collect()
    gc.freeze()


def interrupted(do: Callable[[], object], at: int, **points: Any) -> tuple[bool, Points]:
    """Run ``do()`` under a :class:`Points` tracer (``points``: its options), a
    KeyboardInterrupt raised at point ``at`` of it (``-1``: none): whether a
    KeyboardInterrupt came out of it, and the tracer (its :attr:`Points.count`)."""
    with Points(at, **points) as tracer:
        try:
            do()
        except KeyboardInterrupt:
            return True, tracer
    return False, tracer


def run_script(script: str, *args: str, timeout: float) -> Any:
    """Run ``script`` (Python source, ``sys.argv[1:]`` being ``args``) in a process of its own,
    this module importable there, and return what the last line it prints says (JSON);
    fail with the end of its standard error if it exits otherwise than with 0."""
    prelude = f"import sys; sys.path.append({str(_HERE)!r})\n"  # (last: it shadows nothing)
    r = subprocess.run([sys.executable, "-c", prelude + script, *args],
                       capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])
