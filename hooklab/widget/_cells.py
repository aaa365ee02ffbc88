"""When the kernel's current code execution started and when the last one ended.

A click on a widget reaches the kernel as a message on its shell channel; while a cell runs,
that message waits in the queue until the cell ends. The live view's flusher thread keeps
refreshing the rows meanwhile, so the view must know whether a click made now may still be
on its way when it replaces what a table shows (:meth:`hooklab.widget.LiveView._show_rows`).

A widget's own message is no execution, though IPython's events say it is: the ``comm``
package fires ``pre_execute`` / ``post_execute`` around each one's handler. Counted, every
key pressed in the live view's table was a "cell" for the moment of its handling, and a
refresh falling into it hid the table the person was moving through (its keyboard focus went
to the page). Those of a widget message (the kernel's current message is a ``comm_*`` one)
are left out.

>>> clock = cell_clock()          # None outside IPython (a script, a test without a shell)
>>> clock.running if clock else False
False
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable
from typing import Any


class CellClock:
    """Follows IPython's ``pre_execute`` / ``post_execute`` events (every execution, silent
    ones too: they hold clicks back as well; not a widget message's, see the module).

    ``started`` is when the newest execution began (``time.monotonic()``), ``ended`` when it
    ended (None while it runs). ``on_end(callback)`` calls ``callback()`` at the end of every
    execution while the object the callback is bound to lives.
    """

    def __init__(self, shell: Any) -> None:
        self.started: float | None = None
        self.ended: float | None = None
        self._shell = shell
        #: one entry per ``pre_execute`` not yet ended: whether it is an execution (False: a
        #: widget message's); a cell may run cells (run_cell() inside one), and a cell that
        #: polls the kernel's queue may handle widget messages inside it
        self._frames: list[bool] = []
        self._listeners: weakref.WeakSet[Any] = weakref.WeakSet()
        shell.events.register("pre_execute", self._pre)
        shell.events.register("post_execute", self._post)

    @property
    def running(self) -> bool:
        return self.started is not None and self.ended is None

    def on_end(self, owner: Any) -> None:
        """Call ``owner._cell_ended()`` whenever an execution ends (held weakly)."""
        self._listeners.add(owner)

    def _widget_message(self) -> bool:
        """Whether the kernel is handling a widget's message (``comm_msg``, ``comm_open``,
        ``comm_close``) rather than an execution (a kernel's shell says which message it
        handles; no kernel, no such message)."""
        header = getattr(self._shell, "parent_header", None)
        kind = header.get("msg_type") if isinstance(header, dict) else None
        return isinstance(kind, str) and kind.startswith("comm_")

    def _pre(self) -> None:
        execution = not self._widget_message()
        self._frames.append(execution)
        if execution and self._frames.count(True) == 1:
            self.started, self.ended = time.monotonic(), None

    def _post(self) -> None:
        # (IPython fires post_execute without pre_execute for an empty cell: nothing to end)
        if not self._frames or not self._frames.pop():
            return
        if True not in self._frames and self.started is not None:
            self.ended = time.monotonic()
            for owner in list(self._listeners):
                callback: Callable[[], None] | None = getattr(owner, "_cell_ended", None)
                if callback is not None:
                    callback()


def cell_clock() -> CellClock | None:
    """The clock of the running IPython shell (made on first use, one per shell), or None
    when there is no shell."""
    try:
        from IPython import get_ipython
    except ImportError:  # (ipywidgets needs IPython; still, a view must not fail without it)
        return None
    shell = get_ipython()
    if shell is None:
        return None
    clock = getattr(shell, "_hooklab_cell_clock", None)
    if clock is None:
        clock = CellClock(shell)
        shell._hooklab_cell_clock = clock
    return clock
