"""The live view: standard ipywidgets that show captures as they arrive.

>>> view = LiveView(lab.store, bin="github")      # what lab.live(bin="github") returns
>>> view
HookLab live view: 0 captures
>>> view.close()

How it stays cheap under load: the store calls :meth:`LiveView._on_capture` on its writer
thread; that only appends a timestamp and sets a *dirty* flag under a lock. One daemon flusher
thread per view re-reads the newest ``max_rows`` matching rows from the store and sets widget
traits, spending at most ``rate`` comm messages per second (token bucket), so the message
traffic never grows with the number of captures. Setting traits from a thread is delivered
live by ipykernel even while a cell is busy; the view never writes to an ``Output`` widget.
"""

from __future__ import annotations

import collections
import threading
import time
from html import escape
from typing import Any

import ipywidgets as W

from ..capture import Capture
from ..filters import matches, validate
from ..store.store import CaptureStore
from . import _render as R
from ._query import fetch_rows
from ._ui import _OPTIONS_EVERY, ALL, LiveControls

__all__ = ["LiveView"]


class LiveView(LiveControls, W.VBox):
    """Captures in ``store`` matching ``filters``, newest first, updated live.

    Parameters
    ----------
    store : the :class:`~hooklab.store.CaptureStore` to watch.
    max_rows : rows shown per page (older ones via the "Older" button or a filter).
    rate : most comm messages per second the view sends on its own (default 10).
    **filters : ``bin``, ``method``, ``provider``, ``event_type``, ``path``, ``kind``, ``since``.

    Usage::

        view = LiveView(lab.store, bin="stripe")   # what lab.live(bin="stripe") returns
        view.paused = True / False                 # same as the pause toggle
        view.select(capture_id)                    # show a capture in the detail pane
        view.refresh()                             # re-render now (normally automatic)
        view.close()                               # stops the flusher thread
    """

    def __init__(
        self, store: CaptureStore, *, max_rows: int = 200, rate: float = 10.0, **filters: Any
    ) -> None:
        if max_rows < 1:
            raise ValueError("max_rows must be >= 1")
        if rate <= 0:
            raise ValueError("rate must be > 0")
        self.store = store
        self.max_rows = int(max_rows)
        self.rate = float(rate)
        self.filters = validate(filters)  # unknown filter -> TypeError now, not in a thread
        self._lock = threading.Lock()  # guards the flags below
        self._cond = threading.Condition(self._lock)
        self._render_lock = threading.RLock()  # one render at a time (flusher vs. UI events)
        self._dirty = False  # new captures arrived
        self._ui_dirty = False  # a control changed
        self._options_dirty = True
        self._closed = False
        self._arrivals: collections.deque[float] = collections.deque(maxlen=200_000)
        self._rate_shown = 0
        self._known_bins: set[str] = set()
        self._known_providers: set[str] = set()
        self._options_at = 0.0
        self._page = 0
        self._anchor: int | None = None  # newest id considered while paused / paging
        self._cleared_after = 0
        self._row_ids: list[int] = []
        self._selected: Capture | None = None
        self._detail_stale = False  # the open capture changed (e.g. a forward outcome arrived)
        self._guard_owner: int | None = None  # thread setting traits: its observers are ignored
        self.count = 0  #: captures matching at the last render (shown in the text repr)
        self.renders = 0  #: renders that changed at least one widget
        self.error: str | None = None  #: last error raised while rendering, if any

        self._build_widgets()
        super().__init__(
            children=[
                self._head,
                W.HBox([self.search, self.bin_filter, self.provider_filter]),
                W.HBox([self.pause_button, self.clear_button, self.older_button, self.newer_button]),
                self._cols,
                self.table,
                self.tabs,
                W.HBox([self.show_credentials, self.confirm_clear, self.clear_db_button]),
            ],
            layout=W.Layout(width="100%"),
        )
        self.add_class("hooklab-live")
        self.refresh()
        self._unsubscribe = store.subscribe(
            self._on_capture, on_clear=self._on_store_clear, on_forward=self._on_forward
        )
        self._thread = threading.Thread(target=self._run, name="hooklab-live", daemon=True)
        self._thread.start()

    # -- public API -------------------------------------------------------------------------
    @property
    def paused(self) -> bool:
        """Whether the table is frozen (new captures are counted, shown on resume)."""
        return bool(self.pause_button.value)

    @paused.setter
    def paused(self, value: bool) -> None:
        self.pause_button.value = bool(value)

    @property
    def rows(self) -> list[int]:
        """Ids of the captures in the table, as shown (newest first)."""
        return list(self._row_ids)

    @property
    def selected(self) -> Capture | None:
        """The capture shown in the detail pane."""
        return self._selected

    def select(self, capture_id: int) -> Capture | None:
        """Show capture ``capture_id`` in the detail pane (and highlight its row if shown)."""
        cap = self.store.get(capture_id)
        with self._render_lock:
            self._selected = cap
            self._guard_owner = threading.get_ident()
            try:
                self.table.index = (
                    self._row_ids.index(capture_id) if capture_id in self._row_ids else None
                )
            finally:
                self._guard_owner = None
            self._show_selected()
        return cap

    def clear_view(self) -> None:
        """Hide everything received so far (the database is untouched)."""
        self._cleared_after = self.store.last_id
        self._page = 0
        self._anchor = None if not self.paused else self._cleared_after
        self._request_ui()

    def refresh(self) -> int:
        """Re-render now from the store; returns how many widgets changed."""
        with self._lock:
            self._dirty = self._ui_dirty = False
        with self._render_lock:
            try:
                changed = self._render()
                self.error = None
                return changed
            except Exception as exc:  # noqa: BLE001 - show it, keep the kernel alive
                self.error = f"{type(exc).__name__}: {exc}"
                self._set(self.counter, value=f'<span class="hl-counter">live view error: '
                                              f"{escape(self.error, quote=True)}</span>")
                return 1

    def close(self) -> None:
        """Stop the flusher thread, unsubscribe from the store and close all child widgets."""
        cond = getattr(self, "_cond", None)
        if cond is None:  # __init__ failed early
            super().close()
            return
        with cond:
            already = self._closed
            self._closed = True
            cond.notify_all()
        if not already:
            unsubscribe = getattr(self, "_unsubscribe", None)
            if unsubscribe is not None:
                unsubscribe()
            thread = getattr(self, "_thread", None)
            if thread is not None and thread.is_alive() and thread is not threading.current_thread():
                thread.join(timeout=5)
            for w in [*self._all_widgets(), self]:
                for sub in (getattr(w, "layout", None), getattr(w, "style", None)):
                    if isinstance(sub, W.Widget):
                        sub.close()
                if w is not self:
                    w.close()
        super().close()

    def __repr__(self) -> str:
        return f"HookLab live view: {self.count} capture{'' if self.count == 1 else 's'}"

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        data = super()._repr_mimebundle_(**kwargs)
        if data is not None:
            data["text/plain"] = repr(self)
        return data

    # -- events (writer thread / kernel thread) ---------------------------------------------
    def _on_capture(self, cap: Capture) -> None:
        """Store subscriber, runs on the writer thread: mark dirty, nothing else."""
        if not matches(cap, self.filters):
            return
        self._arrivals.append(time.monotonic())
        with self._cond:
            if cap.bin not in self._known_bins or (
                cap.provider and cap.provider not in self._known_providers
            ):
                self._options_dirty = True
            if not self._dirty:
                self._dirty = True
                self._cond.notify()

    def _on_store_clear(self) -> None:
        with self._cond:
            self._options_dirty = True
            self._ui_dirty = True
            self._cond.notify()

    def _on_forward(self, capture_id: int) -> None:
        selected = self._selected
        if selected is not None and selected.id == capture_id:
            self._detail_stale = True
            self._request_ui()  # show the new outcome in the open detail pane

    def _request_ui(self) -> None:
        with self._cond:
            self._ui_dirty = True
            self._cond.notify()

    def _on_control(self, _change: dict[str, Any]) -> None:
        if self._guard_owner == threading.get_ident():
            return
        self._page = 0
        self._anchor = self._anchor if self.paused else None
        self._request_ui()

    def _on_pause(self, change: dict[str, Any]) -> None:
        self.pause_button.description = "Resume" if change["new"] else "Pause"
        self.pause_button.icon = "play" if change["new"] else "pause"
        if change["new"]:
            if self._anchor is None:
                self._anchor = self.store.last_id
        elif self._page == 0:
            self._anchor = None
        self._request_ui()

    def _turn_page(self, step: int) -> None:
        if step > 0 and self._anchor is None:
            self._anchor = self._row_ids[0] if self._row_ids else self.store.last_id
        self._page = max(0, self._page + step)
        if self._page == 0 and not self.paused:
            self._anchor = None
        self._request_ui()

    def _on_pick(self, change: dict[str, Any]) -> None:
        if self._guard_owner == threading.get_ident():
            return
        idx = change["new"]
        if idx is None or not 0 <= idx < len(self._row_ids):
            return
        with self._render_lock:
            self._selected = self.store.get(self._row_ids[idx])
            self._show_selected()

    def _clear_database(self) -> None:
        if not self.confirm_clear.value:
            return
        self.confirm_clear.value = False
        self.store.clear()
        self._selected = None
        self._page, self._anchor = 0, (self.store.last_id if self.paused else None)
        self.refresh()
        self._show_selected()

    # -- flusher thread ---------------------------------------------------------------------
    def _options_wait(self) -> float | None:
        """Seconds until pending dropdown options may be refreshed (None: nothing pending)."""
        if not self._options_dirty:
            return None
        return max(0.0, self._options_at + _OPTIONS_EVERY - time.monotonic())

    def _wants_render(self) -> bool:
        return (
            self._ui_dirty
            or (self._dirty and not self.paused)
            or self._options_wait() == 0.0
        )

    def _run(self) -> None:
        next_at = 0.0
        while True:
            with self._cond:
                while not self._closed and not self._wants_render():
                    decay = self._rate_shown > 0 and not self.paused
                    pending = self._options_wait()  # new bins/providers seen inside the gate
                    timeout = 1.0 if decay else None
                    if pending is not None:
                        timeout = pending if timeout is None else min(timeout, pending)
                    if not self._cond.wait(timeout) and decay and pending is None:
                        break  # let the per-second counter fall back to 0
                if self._closed:
                    return
            delay = next_at - time.monotonic()
            if delay > 0:
                with self._cond:
                    self._cond.wait_for(lambda: self._closed, timeout=delay)
                    if self._closed:
                        return
            sent = self.refresh()
            next_at = time.monotonic() + max(sent, 1) / self.rate

    # -- rendering --------------------------------------------------------------------------
    def _effective_filters(self) -> dict[str, Any]:
        eff = dict(self.filters)
        if "bin" not in eff and self.bin_filter.value != ALL:
            eff["bin"] = self.bin_filter.value
        if "provider" not in eff and self.provider_filter.value != ALL:
            eff["provider"] = self.provider_filter.value
        since = eff.get("since")
        if self._cleared_after and not (isinstance(since, int) and since >= self._cleared_after):
            eff["since"] = self._cleared_after  # (a datetime ``since`` yields to the clear point)
        return eff

    def _fetch(self, eff: dict[str, Any]) -> tuple[list[Capture], int, int, bool]:
        return fetch_rows(
            self.store, eff, anchor=self._anchor, page=self._page,
            max_rows=self.max_rows, needle=self.search.value.strip(),
        )

    def _render(self) -> int:
        self._guard_owner = threading.get_ident()
        try:
            sent = self._refresh_options()
            eff = self._effective_filters()
            rows, total, newer, partial = self._fetch(eff)
            self.count = total
            ids = [c.id for c in rows]
            opts = [(R.row_label(c), c.id) for c in rows]
            sel = self._selected.id if self._selected is not None else None
            index = ids.index(sel) if sel in ids else None
            if ids != self._row_ids or list(self.table.options) != opts:
                with self.table.hold_sync():
                    self.table.options = opts
                    self.table.index = index
                self._row_ids = ids
                sent += 1
            else:
                sent += self._set(self.table, index=index)
            sent += self._set(self.counter, value=self._counter_html(total, newer, partial))
            more = (self._page + 1) * self.max_rows < total
            sent += self._set(self.older_button, disabled=not more)
            sent += self._set(self.newer_button, disabled=self._page == 0)
            if self._detail_stale:  # e.g. a forwarding outcome for the open capture
                self._detail_stale = False
                self._show_selected()
                sent += 1
        finally:
            self._guard_owner = None
        if sent:
            self.renders += 1
        return sent

