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

import atexit
import collections
import re
import threading
import time
import weakref
from dataclasses import fields
from html import escape
from typing import Any, Literal

import ipywidgets as W

from ..capture import Capture, micros
from ..credentials import hidden_value
from ..explore import (
    SCHEMA_COLUMNS,
    SchemaBuilder,
    capture_payload,
    column_name,
    diff_rows,
    field_name,
    is_credential_field,
    shown_payload,
)
from ..filters import NO_PROVIDER, is_capture_id, matches, validate
from ..jsonread import section_coding
from ..store.store import CaptureStore, StoreError
from . import _render as R
from . import _tree
from ._cells import cell_clock
from ._query import fetch_rows
from ._ui import _OPTIONS_EVERY, ALL, TAB_TITLES, TABLE_POOL, TABLES, LiveControls

#: seconds between updates of a paused view's counter (its rows stay as they were)
_PAUSED_EVERY = 1.0
#: seconds between a view's looks at its store when no capture server of that store feeds
#: it: closed yet? captures another lab or process stored into its file?
_LOOK_EVERY = 1.0
#: seconds new rows may wait for a table that may take them while a cell runs; past that the
#: table shown takes them itself, disabled (see LiveView._show_rows)
_CELL_LAG = 1.0
#: seconds after a cell ended in which the clicks it held back are handled
_AFTER_CELL = 2.0
#: seconds the rows hold still after a pick (a click, or a key that moved the highlight) on the
#: table shown reached the kernel: the person is moving through them (each pick starts it
#: again). Short enough that a click's row moves down with new arrivals within 2 s
_HOLD = 1.5
#: seconds after the last such pick in which new rows go into the table shown itself (it keeps
#: the keyboard focus) instead of a hidden one (the focused table hidden sent the focus to the
#: page: the arrow keys then did nothing) ...
_KEEP = 60.0
#: ... at most once in this many seconds (a pick made while new rows are on their way to the
#: browser is read against the rows it still showed: LiveView._ids_seen)
_KEEP_EVERY = 1.0
#: what a notebook shows in place of the view where no widget can be drawn (a saved notebook
#: opened without its kernel, nbconvert, GitHub). No count: it is written once, when the view
#: is displayed ("0 captures" stayed in a saved notebook whose view had shown thousands)
_PLAIN = "HookLab live view (live while its kernel runs)"
#: the counter of a view whose kernel exited (shut down or restarted): its lab is gone with it
_GONE_HTML = ('<span class="hl-counter"><b>stopped</b>: this view\'s kernel shut down or '
              "restarted — its lab is gone, so this view shows no new captures (its rows stay, "
              "its controls are off); run the cell that made it again to see the captures "
              "from the new kernel</span>")
#: a table's classes the browser sends back: its number (hl-tN), its row list's (hl-gN)
_SEEN = re.compile(r"hl-([tg])([0-9]{1,9})", re.ASCII)

__all__ = ["LiveView"]

#: every live view of this process not closed yet (told when the kernel exits: see
#: :meth:`LiveView.kernel_exiting`)
_VIEWS: weakref.WeakSet[LiveView] = weakref.WeakSet()
#: views a newer one replaced, each one line on screen: kept so at a kernel's exit (the lab's
#: stop then closes them, and a closed view's output goes blank)
_LINES: weakref.WeakSet[LiveView] = weakref.WeakSet()
#: :meth:`LiveView.kernel_exiting` once registered with :mod:`atexit` (by the first view)
_EXIT_HOOK: list[Any] = []


class LiveView(LiveControls, W.VBox):
    """Captures in ``store`` matching ``filters``, newest first, updated live.

    Parameters
    ----------
    store : the :class:`~hooklab.store.CaptureStore` to watch.
    max_rows : rows shown per page (older ones via the "Older" button or a filter).
    rate : most comm messages per second the view sends on its own (default 10).
    base_url : where "Copy as curl" sends a capture: the lab's ``lab.url`` (``lab.live()`` sets it).
    serving : whether webhooks arrive. ``"auto"`` (the default, and ``lab.live()``'s): the
        view follows the capture servers of this kernel that write into ``store``: while one
        listens the counter reads as live ("waiting for webhooks…" when empty); once it
        stopped, "stopped" (and why, when its thread ended without ``lab.stop_serving()`` /
        ``%hooklab stop``: an exception escaped its loop); and "not serving" when none ever
        served this store (``hooklab.open``'s lab, a bare ``CaptureStore``). ``True`` /
        ``False`` / ``None`` fix it instead (``None``: not known, nothing said; e.g. a store
        your own code fills); :meth:`set_serving` changes it in either case. A view of a
        database file looks at the file once a second (its oldest and newest ids), whether or
        not a server of ``store`` itself feeds it: captures another lab or process stores into
        it show, and those it deletes (its ``lab.clear()``, its retention) go (a second notebook in the same folder shares ``.hooklab/captures.sqlite3``; the
        counter names that lab's server when it is of this kernel and this lab does not
        serve); and any view notices its database closed (``lab.stop()``): it says so and
        turns its controls off.
    **filters : any of :mod:`hooklab.filters` (``bin``, ``provider``, ``search``...).

    Usage::

        view = LiveView(lab.store, bin="stripe")   # what lab.live(bin="stripe") returns;
                                                   # it says "stopped" when the lab stops
        view.paused = True / False                 # same as the pause toggle
        view.select(capture_id)                    # show a capture in the detail pane
        view.tabs.selected_index = 1               # its body as a tree (2: diff with previous)
        view.pick_field(("data", "object", "amount"))   # what a click on that tree row shows
        view.refresh()                             # re-render now (normally automatic)
        view.set_serving(None)                     # what lab.stop_serving() tells its views
        view.set_store(lab.store)                  # what a move (lab.db = ...) does to them
        view.close()                               # stops the flusher thread

    Keyboard (a limit of JupyterLab 4 with ipywidgets 8, README "The keyboard in the live
    view"): inside a notebook, ArrowUp / ArrowDown and command-mode letters pressed in the
    capture table or the Tree tab go to the notebook's shortcuts (ArrowDown selects the next
    cell, ``b`` inserts one, ``d d`` deletes one). JupyterLab keeps a key from them only when
    the focused element is ``:read-write`` (a text field) or inside an element marked
    ``data-lm-suppress-shortcuts``; the tables are ``<select>`` elements (``ipywidgets.Select``),
    which are neither, and ipywidgets 8 has no trait that sets such an attribute, so without a
    frontend extension of its own (which hooklab does not ship) the view cannot keep them.
    Home / End / PageUp / PageDown work; the filter box is a text field. In the panel
    JupyterLab opens with "Create New View for Cell Output" the notebook's shortcuts do not
    apply: the arrow keys move through the rows there too, and letters do nothing
    (``tests/browser/test_live_keyboard.py``). While you move through the rows they hold still,
    then come into the same table, which keeps the focus (:meth:`_keep_focus`); a key pressed
    while those rows are on their way to the browser opens the row it highlighted
    (:meth:`_ids_seen`).
    """

    def __init__(
        self, store: CaptureStore, *, max_rows: int = 200, rate: float = 10.0,
        base_url: str | None = None, serving: bool | None | Literal["auto"] = "auto",
        **filters: Any,
    ) -> None:
        #: where "Copy as curl" sends a capture (the lab's ``lab.url``); not a trait
        self.base_url = base_url
        if isinstance(serving, str) and serving != "auto":
            raise ValueError(f"serving must be 'auto', True, False or None, not {serving!r}")
        #: the view follows the servers writing into its store (``serving="auto"``)
        self._follow = serving == "auto"
        #: whether webhooks arrive (None: no server ever wrote into the store, or, given as
        #: None, not known); see :meth:`set_serving`
        self.serving: bool | None = None if self._follow else serving  # type: ignore[assignment]
        #: why the store's capture server stopped when nobody stopped it (its thread ended)
        self.server_ended: str | None = None
        if max_rows < 1:
            raise ValueError("max_rows must be >= 1")
        if rate <= 0:
            raise ValueError("rate must be > 0")
        self.store = store
        self.max_rows = int(max_rows)
        self.rate = float(rate)
        # unknown filter -> TypeError now, not in a thread; a provider no capture has: ValueError
        self.filters = validate(filters, provider_check=store.provider_check)
        self._lock = threading.Lock()  # guards the flags below
        self._cond = threading.Condition(self._lock)
        self._render_lock = threading.RLock()  # one render at a time (flusher vs. UI events)
        self._dirty = False  # new captures arrived
        self._ui_dirty = False  # a control changed
        self._options_dirty = True
        self._closed = False
        self._closed_shown = False  # the counter says the store was closed (lab.stop())
        self._ended = False  # the kernel is exiting: the view stays on screen as left
        self._note: W.HTML | None = None  # what a view closed with ``why`` says instead
        self._follow_file(store)  # (_file, _file_last, _foreign, _other_url, _looked_at)
        self._arrivals: collections.deque[float] = collections.deque(maxlen=200_000)
        self._rate_shown = 0
        self._paused_at = 0.0  # when a paused view's counter was last brought up to date
        self._known_bins: set[str] = set()
        self._known_providers: set[str] = set()
        self._options_at = 0.0
        self._page = 0
        self._anchor: int | None = None  # newest id considered while paused / paging
        #: where the view went when retention or a clear deleted the Older page it showed
        #: (the counter says so until the person pages, filters, pauses or clears the view)
        self._moved: str | None = None
        self._cleared_after = 0
        self._row_ids: list[int] = []
        self._table_ids: dict[int, list[int]] = {}  # id(table widget) -> the ids it shows
        #: id(table) -> {number: ids} of the row lists it was sent that the browser may still
        #: show (each list of new ids a table is sent gets the next number, its ``hl-gN``)
        self._gen_ids: dict[int, dict[int, list[int]]] = {}
        #: id(table) -> the number of the row list the browser last said it shows (absent:
        #: it said nothing, e.g. no browser, or one without links: the newest is read)
        self._acked: dict[int, int] = {}
        #: id(table) -> the link that tells the kernel which row list the browser shows
        self._seen_links: dict[int, W.Widget] = {}
        self._seen_box: W.Box | None = None  # (never displayed: the links' target)
        #: id(table) -> since when no click can be made on it (hidden, or shown disabled);
        #: absent: the table shown, clickable
        self._unclickable: dict[int, float] = {}
        self._deferred_at: float | None = None  # new rows wait for a table since then
        #: when a pick on the table shown last reached the kernel (None: none since the last
        #: change of filter, page, pause or clear): see _keep_focus
        self._picked_at: float | None = None
        self._refilled_at = float("-inf")  # when the table shown last took new rows in place
        self._waiting = 0  # newer rows held back while the person moves through the rows
        self._retry_at: float | None = None  # when a table may take them (None: not known)
        self._cells = cell_clock()  # None outside IPython
        self._tree: _tree.Tree | None = None
        #: (the capture's identity, revealed) the tree shows: its id alone named one capture of
        #: each lab in a folder of several labs' Parquet exports (see :func:`_identity`)
        self._tree_for: tuple[tuple[Any, ...], bool] | None = None
        self._tree_keys: list[_tree.Key | None] = []
        self._diff_for: tuple[Any, ...] | None = None
        self._diff_prev: int | None = None  # the capture the Diff tab compares with (its id)
        #: retention passes that deleted captures, heard of / looked at by a render
        self._deletions = self._deletions_seen = 0
        #: the open capture was deleted (retention, a clear): its id, which the panes name
        self._gone: int | None = None
        self._schema_cache: dict[tuple[Any, ...], dict[str, dict[str, Any]]] = {}
        self._selected: Capture | None = None
        self._detail_stale = False  # the open capture changed (e.g. a forward outcome arrived)
        self._restatused = False  # ... its answered status did: read it again
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
                self._table_box,
                self.tabs,
                W.HBox([self.show_credentials, self.confirm_clear, self.clear_db_button]),
            ],
            layout=W.Layout(width="100%"),
        )
        self.add_class("hooklab-live")
        if self._follow:  # (told the state now, then every start and stop of its servers)
            from ..server import watch_serving

            self._unwatch = watch_serving(store, self._on_serving)
        if self._cells is not None:
            self._cells.on_end(self)
        if not _EXIT_HOOK:  # (registered after hooklab.core's: run before it stops the labs)
            _EXIT_HOOK.append(atexit.register(LiveView.kernel_exiting))
        _VIEWS.add(self)
        self.refresh()
        self._unsubscribe = self._subscribe(store)
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

    def select(self, capture_id: int | Capture) -> Capture | None:
        """Show capture ``capture_id`` in the detail pane (and highlight its row if shown).

        A :class:`~hooklab.capture.Capture` itself may be given: in a folder of several labs'
        Parquet exports an id may name one capture of each (``hooklab.open(folder)``), and
        ``lab.query(bin=...)`` tells them apart. Once the view's database was closed
        (``lab.stop()``), :class:`~hooklab.store.StoreError` says so.
        """
        if self._store_closed():  # (sqlite3.ProgrammingError: Cannot operate on a closed database)
            raise StoreError("this live view's database was closed (lab.stop(), "
                             "store.close(), or its lab moved to another database): nothing "
                             "can be shown from it; lab.live() makes a view that can")
        if is_capture_id(capture_id):  # (numpy's too: an id read from lab.dataframe())
            capture_id = int(capture_id)
        cap = self._shown(capture_id if isinstance(capture_id, Capture)
                          else self.store.get(capture_id))
        capture_id = cap.id if cap is not None else capture_id
        with self._render_lock:
            self._selected = cap
            # (a row still shown whose capture retention or a clear deleted: the panes say so)
            self._gone = (capture_id if cap is None and is_capture_id(capture_id)
                          and 0 < capture_id <= self._newest() else None)
            self._guard_owner = threading.get_ident()
            try:
                self.table.index = (
                    self._row_ids.index(capture_id) if capture_id in self._row_ids else None
                )
            finally:
                self._guard_owner = None
            self._show_selected()
        return cap

    def set_serving(self, url: str | None) -> None:
        """The lab listens at ``url`` again, or (``None``) stopped listening: the counter
        says so. ``lab.start()`` and ``lab.stop_serving()`` (``%hooklab start`` / ``stop``)
        call it for the lab's views; without it a stopped lab's view looked as live as ever
        while senders got "connection refused".

        >>> view = lab.live()
        >>> view.set_serving(None)               # as lab.stop_serving() does
        >>> _ = view.refresh()
        >>> "stopped" in view.counter.value
        True
        >>> view.set_serving(lab.url)            # as lab.start() does (its port may be new)
        >>> view.close()

        A view that follows its store's servers (``serving="auto"``) whose store no server
        ever wrote into goes on saying "not serving" (``hooklab.open(path)``'s lab after
        ``lab.stop_serving()`` was called "stopped", as if it had served).
        """
        serving: bool | None = url is not None
        if not serving and self._follow:
            from ..server import serving_of

            serving = False if serving_of(self.store).served else None
        self._serving_now(url, serving, None)

    def _on_serving(self, state: Any) -> None:
        """A server of the store started or stopped (:func:`hooklab.server.watch_serving`,
        on that server's thread): what the counter says follows (``serving="auto"``)."""
        if not self._closed:
            self._serving_now(state.url, True if state.url else (False if state.served else None),
                              state.reason)

    def set_store(self, store: CaptureStore) -> None:
        """Show ``store`` from now on, as if the view had been made on it (same filters,
        first page, nothing open). A lab's move to another database (``lab.db = ...``,
        ``%config HookLab.db``, ``%hooklab start --db``) moves the views ``lab.live()`` made
        this way before it closes the old store: the view on screen goes on, live, with the
        new file's captures (it was closed, gone from the notebook, and its counter blamed
        ``lab.stop()``).

        >>> view = lab.live(bin="github")
        >>> lab.db = "other.sqlite3"                 # the lab moves to another file
        >>> view.store is lab.store                  # and its view with it
        True
        >>> view.close()

        Rows of the old store the browser still shows open nothing when clicked (their ids
        name other captures in the new store) until the new rows replace them.
        """
        if self._closed or self._closed_shown:
            raise StoreError("this live view was closed (or its database was): "
                             "lab.live() makes a new one")
        self._unsubscribe()  # (outside the render lock: the old store's threads may be
        unwatch = getattr(self, "_unwatch", None)  # telling the view something right now)
        if unwatch is not None:
            unwatch()
        now = time.monotonic()
        with self._render_lock:
            self.store = store
            try:
                self._follow_file(store)
            except Exception:  # noqa: BLE001 - closing meanwhile: the next look says so
                self._file_last = 0
            self.server_ended = None
            self._arrivals.clear()
            self._known_bins.clear()
            self._known_providers.clear()
            self._page, self._cleared_after, self._picked_at, self._waiting = 0, 0, None, 0
            self._moved = None
            self._anchor = self._newest() if self.paused else None
            self._schema_cache, self._diff_for = {}, None
            self._deferred_at = self._retry_at = None
            # (ids of the old store name other captures in the new one: a click on a row the
            # browser still shows, or one on its way, opens nothing; the table shown takes
            # the new rows at once, disabled if no other table is free: see _show_rows)
            for table in self._tables:
                gens = self._gen_ids.get(id(table))
                if gens:
                    self._gen_ids[id(table)] = {max(gens): []}
                self._table_ids[id(table)] = []
                self._acked.pop(id(table), None)
            self._unclickable.setdefault(id(self.table), now)
            self._forget_selected()
        if self._follow:  # (told the new store's state now: serving or not)
            from ..server import watch_serving

            self._unwatch = watch_serving(store, self._on_serving)
        self._unsubscribe = self._subscribe(store)
        with self._cond:
            self._options_dirty, self._options_at = True, 0.0  # (its bins and providers)
            self._dirty = self._ui_dirty = True
            self._cond.notify()

    def _follow_file(self, store: CaptureStore) -> None:
        """What the view's looks at ``store``'s database file start from (see :meth:`_look`)."""
        #: the store's database file (None: in memory, or not a CaptureStore of a file)
        self._file: str | None = _file_of(store)
        self._foreign = False  # another writer stored captures into the file meanwhile
        #: a capture server of this kernel writing into the file through another store
        self._other_url: str | None = None
        self._looked_at = 0.0  # (the first look comes at once)
        #: the oldest and newest ids the last look found in that file (any writer's)
        self._file_first, self._file_last = (
            store.stored_span() if self._file is not None and not store.closing else (0, 0))
        self._file_last = max(self._file_last, store.last_id)

    def _subscribe(self, store: CaptureStore) -> Any:
        """Hear of ``store``'s new captures, clears, forwarding outcomes, deletions and
        answered statuses; returns what unsubscribes."""
        return store.subscribe(
            self._on_capture, on_clear=self._on_store_clear, on_forward=self._on_forward,
            on_delete=self._on_store_delete,  # (retention: rows, perhaps the open one, are gone)
            on_status=self._on_status,  # (a delayed answer written, or one never sent)
        )

    def _serving_now(self, url: str | None, serving: bool | None, ended: str | None) -> None:
        self.serving, self.server_ended = serving, ended
        if url is not None and url != self.base_url:
            self.base_url = url  # (port=0 picks a new port: "Copy as curl" follows it)
            self._detail_stale = self._selected is not None
        self._request_ui()

    def clear_view(self) -> None:
        """Hide everything received so far (the database is untouched)."""
        self._cleared_after = self._newest(fresh=True)
        self._page, self._moved = 0, None
        self._picked_at = None  # (what the person asked for shows now, rows held or not)
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

    def close(self, *, why: str | None = None) -> None:
        """Stop the flusher thread, unsubscribe from the store and close all child widgets.

        With ``why`` the view stays on screen as one line that says it (escaped), its
        table, tabs and controls gone: what ``lab.live()`` does to the view it replaces
        (the same filters again, from another cell: that view's output went blank without
        a word). Only its box and that line stay open; a later ``close()`` (the lab's stop
        does it) closes them.

        >>> view = lab.live()
        >>> view.close(why="replaced by a newer view")
        """
        cond = getattr(self, "_cond", None)
        if cond is None:  # __init__ failed early
            super().close()
            return
        first = self._stop()
        if self._ended:  # (the kernel is exiting: a closed view's output goes blank)
            return
        if first and why is not None:
            # (every widget read before the children go: its rows of controls are among them,
            # and found no more afterwards they stayed open, three boxes a replaced view)
            doomed = self._all_widgets()
            self._note = W.HTML(f'<div class="hl-counter hl-ended"><b>closed</b>: '
                                f"{escape(R.visible(why), quote=True)}</div>")
            self.children = (self._note,)  # (then its widgets close: no view is left empty)
            self._close_widgets(doomed)
            _LINES.add(self)
            return
        if first:
            self._close_widgets(self._all_widgets())
        if self._note is not None:  # (the line a close(why=...) left, going now with its box)
            for w in (self._note.layout, self._note.style, self._note, self.layout):
                if isinstance(w, W.Widget):
                    w.close()
        super().close()

    def _stop(self) -> bool:
        """Stop the flusher thread and hear nothing more of the store or its servers;
        False when it was done before."""
        with self._cond:
            already = self._closed
            self._closed = True
            self._cond.notify_all()
        _VIEWS.discard(self)
        if already:
            return False
        for unsubscribe in (getattr(self, "_unsubscribe", None), getattr(self, "_unwatch", None)):
            if unsubscribe is not None:
                unsubscribe()
        thread = getattr(self, "_thread", None)
        if thread is not None and thread.is_alive() and thread is not threading.current_thread():
            thread.join(timeout=5)
        return True

    def _close_widgets(self, widgets: list[W.Widget]) -> None:
        """Close ``widgets`` (the view's, read by ``_all_widgets``) and their layouts and
        styles, but the view's box itself (and, while it shows a note, its layout)."""
        for w in [*widgets, self]:
            for sub in (getattr(w, "layout", None), getattr(w, "style", None)):
                if isinstance(sub, W.Widget) and (w is not self or self._note is None):
                    sub.close()
            if w is not self:
                w.close()

    @staticmethod
    def kernel_exiting() -> None:
        """Every live view of this process says its kernel is gone, keeps its rows and turns
        its controls off, and no widget is closed (registered with :mod:`atexit`; the lab's
        exit, which stops the labs, calls it first too). After a kernel restart the view of
        ``lab.live()`` went blank without a word (the lab's stop at exit closed it), and one
        made with ``LiveView(lab.store)`` went on saying "stopped … lab.start() resumes",
        its controls on, in a kernel that was gone."""
        for view in list(_VIEWS):
            try:
                view._kernel_gone()
            except Exception:  # noqa: BLE001 - exiting: the others are told all the same
                pass
        for view in list(_LINES):  # (a replaced view's line stays as it is)
            view._ended = True

    def _kernel_gone(self) -> None:
        """What :meth:`kernel_exiting` does to this view: its last words, sent now."""
        if not self._stop():
            return
        self._ended = True
        locked = self._render_lock.acquire(timeout=2)  # (a render stuck: said all the same)
        try:
            self._closed_shown, self._rate_shown = True, 0
            for w in self._controls():
                self._set(w, disabled=True)
            self._set(self.counter, value=_GONE_HTML)
        finally:
            if locked:
                self._render_lock.release()

    def __repr__(self) -> str:
        return f"HookLab live view: {self.count} capture{'' if self.count == 1 else 's'}"

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        data = super()._repr_mimebundle_(**kwargs)
        if data is not None:
            data["text/plain"] = _PLAIN
        return data

    # -- events (the store's writer or syncer thread / kernel thread) -----------------------
    def _on_capture(self, cap: Capture) -> None:
        """Store subscriber, runs on the store's thread: mark dirty, nothing else (the rate
        counts the captures the view's filters and boxes let through)."""
        shown = matches(cap, self.filters)
        if not shown and self.count:  # (while it shows none, its counter says how many
            # arrived that its filters hide: "0 of N match the filter")
            return
        if shown and matches(cap, self._box_filters()):
            self._arrivals.append(time.monotonic())
        with self._cond:
            if shown and (cap.bin not in self._known_bins or (
                (cap.provider or NO_PROVIDER) not in self._known_providers  # (none: its choice)
            )):
                self._options_dirty = True
            if not self._dirty:
                self._dirty = True
                self._cond.notify()

    def _on_store_clear(self) -> None:
        """Store subscriber, after any clear (``lab.clear()``, ``%hooklab clear``, this or
        another view's "Clear database"): back to the first page, and the open capture is
        forgotten here and now, as "Clear database" does. Only the table used to follow: the
        Details, Raw body and Copy as curl tabs kept the deleted body, and a notebook saved
        afterwards kept it in its widget state."""
        if self._closed:
            return
        with self._render_lock:
            self._page, self._anchor = 0, (self._newest() if self.paused else None)
            self._picked_at = self._moved = None
            self._forget_selected(gone=True)
        with self._cond:
            self._options_dirty = True
            self._ui_dirty = True
            self._cond.notify()

    def _forget_selected(self, *, gone: bool = False) -> None:
        """The open capture was deleted (``gone``: its panes say so) or belongs to a store the
        view left: nothing of it stays in any tab (under the render lock)."""
        self._gone = self._selected.id if gone and self._selected is not None else None
        self._selected = None
        self._detail_stale = False
        self._empty_extra_tabs()
        self._show_selected()

    def _on_forward(self, capture_id: int) -> None:
        selected = self._selected
        if selected is not None and selected.id == capture_id:
            self._detail_stale = True
            self._request_ui()  # show the new outcome in the open detail pane

    def secrets_changed(self) -> None:
        """The lab's secrets changed (``lab.secret``): its rows and the open capture are drawn
        again, with a secret given now as ``[secret]`` in captures stored before it."""
        if self._selected is not None:
            self._restatused = True  # (read again: shown by the secrets now)
        with self._lock:  # (a bin named by a secret: its dropdown label too)
            self._options_dirty, self._options_at = True, 0.0
        self._detail_stale = True
        self._request_ui()

    def _on_status(self, capture_id: int) -> None:
        """A capture's answered status changed (writer thread): its row, and its detail pane
        if it is the open capture, show the new one."""
        selected = self._selected
        if selected is not None and selected.id == capture_id:
            self._restatused = True
            self._detail_stale = True
        self._request_ui()

    def _on_store_delete(self) -> None:
        """Store subscriber (writer thread): a retention pass deleted captures. The next
        render drops their rows, forgets the open capture if it is one of them, and draws the
        Diff tab again if the capture it compares with is (:meth:`_diff_followed`)."""
        with self._cond:
            self._deletions += 1
            self._ui_dirty = True
            self._cond.notify()

    def _request_ui(self) -> None:
        with self._cond:
            self._ui_dirty = True
            self._cond.notify()

    def _cell_ended(self) -> None:
        """A cell ended (:class:`~hooklab.widget._cells.CellClock`, kernel thread): rows
        waiting for a table, or a table disabled meanwhile, may now be seen to (the render
        says when)."""
        if not self._closed and (self._deferred_at is not None
                                 or id(self.table) in self._unclickable):
            self._request_ui()

    def _on_control(self, _change: dict[str, Any]) -> None:
        if self._guard_owner == threading.get_ident():
            return
        self._page, self._moved = 0, None
        self._anchor = self._anchor if self.paused else None
        self._picked_at = None  # (a filter typed shows at once, rows held or not)
        self._detail_stale = self._selected is not None  # (its Diff: among what shows now)
        self._request_ui()

    def _on_pause(self, change: dict[str, Any]) -> None:
        self.pause_button.description = "Resume" if change["new"] else "Pause"
        self.pause_button.icon = "play" if change["new"] else "pause"
        self._picked_at = self._moved = None
        if change["new"]:
            if self._anchor is None:
                self._anchor = self._newest(fresh=True)
        elif self._page == 0:
            self._anchor = None
        self._request_ui()

    def _turn_page(self, step: int) -> None:
        if step > 0 and self._anchor is None:
            self._anchor = self._row_ids[0] if self._row_ids else self._newest()
        self._page = max(0, self._page + step)
        self._picked_at = self._moved = None
        if self._page == 0 and not self.paused:
            self._anchor = None
        self._request_ui()

    def _on_pick(self, change: dict[str, Any]) -> None:
        """A click in a table: an index into the rows *that* table showed, so the capture is
        the one the person saw, even if newer rows replaced the table meanwhile. A pick on the
        table shown (a click, or a key moving the highlight) keeps its rows still for a while
        and the table shown (:meth:`_keep_focus`)."""
        if self._guard_owner == threading.get_ident():
            return
        idx = change["new"]
        owner = change["owner"]
        with self._render_lock:  # (a refresh decides with or without it, not in between)
            ids = self._ids_seen(owner)
            if owner is self.table and id(owner) not in self._unclickable:
                self._picked_at = time.monotonic()  # (a late click on a hidden table is not:
                # its focus went to the page when it was hidden)
                self._watch_seen(owner)  # (its rows may now change in place: _keep_focus)
        if idx is None or ids is None or not 0 <= idx < len(ids):
            return
        try:
            self.select(ids[idx])
        except (ValueError, StoreError) as exc:  # an id several labs' exports in one folder
            # share, or a database closed under a click already on its way:
            self._selected = self._gone = None  # said in the pane, not as a traceback
            self.detail.value = f'<div class="hl-none">{escape(str(exc), quote=True)}</div>'

    def _clear_database(self) -> None:
        if not self.confirm_clear.value:
            return
        self.confirm_clear.value = False
        self.store.clear()  # (its on_clear, _on_store_clear, forgets the open capture)
        self.refresh()

    # -- flusher thread ---------------------------------------------------------------------
    def _options_wait(self) -> float | None:
        """Seconds until pending dropdown options may be refreshed (None: nothing pending)."""
        if not self._options_dirty:
            return None
        return max(0.0, self._options_at + _OPTIONS_EVERY - time.monotonic())

    def _paused_wait(self) -> float | None:
        """Seconds until the counter of a paused view may show new captures (None: none
        pending, or not paused): once a second, the rows staying as they were."""
        if not (self.paused and self._dirty):
            return None
        return max(0.0, self._paused_at + _PAUSED_EVERY - time.monotonic())

    def _look_wait(self) -> float | None:
        """Seconds until the view looks at its store again (None: it need not): once every
        :data:`_LOOK_EVERY` seconds until the view says its store was closed, unless its store
        is in memory and a capture server of this very store feeds it (its store then tells
        it everything, and the server stops before the store closes). Nothing else tells a
        view that ``lab.stop()`` or ``store.close()`` closed its database (the lab closes only
        its own views), nor that another lab or process stored or deleted captures in its file (see
        :meth:`_look`): also while its own server serves the file (two notebooks in one
        folder share ``.hooklab/captures.sqlite3``; the second kernel's view stayed at
        "waiting for webhooks" while the first stored into the file). One
        :meth:`~hooklab.store.CaptureStore.stored_span` a look (two lookups of the primary
        key), however many captures arrive."""
        if self._closed_shown or (self._follow and self.serving is True and self._file is None):
            return None
        return max(0.0, self._looked_at + _LOOK_EVERY - time.monotonic())

    def _look(self) -> None:
        """Flusher thread, outside the lock (the file's oldest and newest ids): whether the
        store was closed, whether another writer stored captures into its file or deleted
        some, and which capture server of this kernel writes into that file through another
        store. Captures stored by another connection (``hooklab.open(path)`` of the file
        ``%load_ext hooklab`` serves, or a second kernel's lab) reach no subscriber of this
        store: the view showed the rows it found when made and never more. Nor do its
        deletions: after another process's ``lab.clear()`` or retention the table, the Diff
        tab and an open capture stayed as they were until something else redrew them; now
        the oldest id risen (or the file emptied) is handled as this store's own deletions
        are (:meth:`_on_store_delete`)."""
        self._looked_at = time.monotonic()
        if self._store_closed():
            self._request_ui()  # (the render says so, disables the controls, looks no more)
            return
        store, file = self.store, self._file
        if file is None:
            return
        from ..server import serving_file

        other = serving_file(file, besides=store)
        try:
            oldest, newest = store.stored_span()
        except Exception:  # noqa: BLE001 - closing meanwhile: the next look says so
            return
        newest = max(newest, store.last_id)
        with self._cond:
            if store is not self.store:  # (the view moved meanwhile: set_store)
                return
            first, self._file_first = self._file_first, oldest
            if first and (oldest == 0 or oldest > first):  # deleted: another process's clear
                # or retention (this store's own are heard of too, and told once more)
                self._deletions += 1
                self._ui_dirty = self._options_dirty = True
                self._cond.notify()
            if newest > self._file_last:
                if newest > max(self._file_last, store.last_id):
                    self._foreign = True  # (not this store's own writes: another writer's)
                self._file_last = newest
                self._dirty = self._options_dirty = True  # (new bins and providers too)
                self._cond.notify()
            if other != self._other_url:
                self._other_url = other
                self._ui_dirty = True
                self._cond.notify()

    def _newest(self, *, fresh: bool = False) -> int:
        """Id of the newest capture the view knows of in its store: the store's own, and
        what another writer stored into its file (``fresh``: looked up now, for a person's
        click on Pause or "Clear view", which must not leave the newest rows out)."""
        if fresh and self._file is not None and not self._store_closed():
            try:
                self._file_last = max(self._file_last, self.store.stored_last_id())
            except Exception:  # noqa: BLE001 - closing meanwhile: what it knew
                pass
        return max(self.store.last_id, self._file_last)

    def _store_closed(self) -> bool:
        return bool(getattr(self.store, "closing", False))

    def _retry_wait(self) -> float | None:
        """Seconds until rows waiting for a table may be shown (None: none wait, or a running
        cell must end first: :meth:`_cell_ended` says when)."""
        if self._retry_at is None:
            return None
        return max(0.0, self._retry_at - time.monotonic())

    def _wants_render(self) -> bool:
        return (
            self._ui_dirty
            or (self._dirty and not self.paused)
            or self._options_wait() == 0.0
            or self._paused_wait() == 0.0
            or self._retry_wait() == 0.0
        )

    def _run(self) -> None:
        next_at = 0.0
        while True:
            due = False  # the per-second counter's second passed
            with self._cond:
                while not self._closed and not self._wants_render() and self._look_wait() != 0.0:
                    decay = self._rate_shown > 0
                    pending = self._options_wait()  # new bins/providers seen inside the gate
                    for held in (self._paused_wait(),  # the counter of a paused view
                                 self._look_wait(),  # its database closing, another writer
                                 self._retry_wait()):  # rows waiting for a table
                        if held is not None:
                            pending = held if pending is None else min(pending, held)
                    timeout = 1.0 if decay else None
                    if pending is not None:
                        timeout = pending if timeout is None else min(timeout, pending)
                    # (a second passed: the per-second counter falls back to 0)
                    if not self._cond.wait(timeout) and decay and timeout >= 1.0:
                        due = True
                        break
                if self._closed:
                    return
            if self._look_wait() == 0.0:
                self._look()
                with self._cond:
                    if not due and not self._wants_render():
                        continue  # (nothing new: nothing sent)
            delay = next_at - time.monotonic()
            if delay > 0:
                with self._cond:
                    self._cond.wait_for(lambda: self._closed, timeout=delay)
                    if self._closed:
                        return
            if self.paused:
                self._paused_at = time.monotonic()
            sent = self.refresh()
            next_at = time.monotonic() + max(sent, 1) / self.rate

    # -- rendering --------------------------------------------------------------------------
    def _box_filters(self) -> dict[str, Any]:
        """The filters chosen in the view's own boxes (bin, provider, search text)."""
        eff: dict[str, Any] = {}
        if "bin" not in self.filters and self.bin_filter.value != ALL:
            eff["bin"] = self.bin_filter.value
        if "provider" not in self.filters and self.provider_filter.value != ALL:
            eff["provider"] = self.provider_filter.value
        needle = self.search.value.strip()
        if "search" not in self.filters and needle:
            eff["search"] = needle
        return eff

    def _effective_filters(self) -> dict[str, Any]:
        eff = {**self.filters, **self._box_filters()}  # (the filter box is the search= filter)
        since = eff.get("since")
        if self._cleared_after and not (isinstance(since, int) and since >= self._cleared_after):
            eff["since"] = self._cleared_after  # (a datetime ``since`` yields to the clear point)
        return eff

    def _fetch(self, eff: dict[str, Any]) -> tuple[list[Capture], int, int]:
        rows, total, newer = fetch_rows(self.store, eff, anchor=self._anchor, page=self._page,
                                        max_rows=self.max_rows)
        return [self._shown(c) for c in rows], total, newer

    def _shown(self, cap: Any) -> Any:
        """``cap`` as the view shows it: a secret given with ``lab.secret`` after it was
        stored as ``[secret]``, as in captures stored since (the widget state a saved
        notebook keeps holds no secret of the lab's); ``None`` stays ``None``."""
        return self.store.shown(cap)

    def _render(self) -> int:
        if self._store_closed():  # lab.stop(): its rows stay; nothing more can be read
            self._closed_shown, self._rate_shown = True, 0
            # (its controls stayed enabled and did nothing: a click on a row showed no
            # detail, a filter changed nothing, Pause flipped to Resume and no more)
            sent = sum(self._set(w, disabled=True) for w in self._controls())
            return sent + self._set(self.counter, value=self._closed_html())
        self._guard_owner = threading.get_ident()
        try:
            sent = self._refresh_options()
            eff = self._effective_filters()
            rows, total, newer = self._fetch(eff)
            if self._page and not rows and (total or newer):  # (retention emptied the page)
                rows, total, newer = self._page_gone(eff, total)
            self.count = total + newer
            ids = [c.id for c in rows]
            opts = [(R.row_label(c), c.id) for c in rows]
            sel = self._selected.id if self._selected is not None else None
            index = ids.index(sel) if sel in ids else None
            if self._selected is not None and index is None and self._deleted(self._selected.id):
                self._forget_selected(gone=True)  # retention, or another process's clear
                sent += 1
            if self._deletions != self._deletions_seen:
                self._deletions_seen = self._deletions
                sent += self._diff_followed()
            self._waiting = 0
            if ids != self._row_ids or id(self.table) in self._unclickable:
                sent += self._show_rows(opts, ids, index)
            if self._deferred_at is not None:  # (the rows shown stay until a table is free)
                shown = self._row_ids.index(sel) if sel in self._row_ids else None
                sent += self._set(self.table, index=shown)
            elif list(self.table.options) != opts:  # same rows, new labels: indexes still hold
                with self.table.hold_sync():
                    self.table.options = opts
                    self.table.index = index
                sent += 1
            else:
                sent += self._set(self.table, index=index)
            sent += self._set(self.counter, value=self._counter_html(total, newer))
            more = (self._page + 1) * self.max_rows < total
            sent += self._set(self.older_button, disabled=not more)
            sent += self._set(self.newer_button, disabled=self._page == 0)
            if self._detail_stale:  # e.g. a forwarding outcome for the open capture
                self._detail_stale = False
                if self._restatused and self._selected is not None:  # (read again: its status)
                    self._restatused = False
                    self._selected = self._shown(self.store.get(self._selected.id)) or self._selected
                self._show_selected()
                sent += 1
        finally:
            self._guard_owner = None
        if sent:
            self.renders += 1
        return sent

    def _page_gone(self, eff: dict[str, Any], total: int) -> tuple[list[Capture], int, int]:
        """The Older page shown holds no row any more: retention (or another process's
        clear) deleted them while newer captures arrived. It goes to the oldest page left
        of the rows it froze, or, none left, to the newest rows (still frozen if paused),
        and the counter says so; it said "200 captures · rows 201–200 · 50 newer", then
        "0 captures · 300 newer — press Newer · waiting for webhooks…" after a burst, the
        table empty while 300 were stored. Returns the rows read again (see :meth:`_fetch`).
        Unless paused, a first page is the newest rows (a first page of frozen rows had
        "press Newer" said and its Newer button off)."""
        page = (total - 1) // self.max_rows if total else 0
        if total and (page or self.paused):
            self._page, self._moved = page, "now the oldest page left"
        else:
            self._page, self._moved = 0, "now the newest rows"
            self._anchor = self._newest() if self.paused else None
        self._picked_at = None
        return self._fetch(eff)

    def _deleted(self, capture_id: int) -> bool:
        """Whether the open capture, not among the rows shown, is no longer in the store (one
        lookup by id, only while it is off the page)."""
        return self.store.count(since=capture_id - 1, until=capture_id) == 0

    # -- the capture tables ---------------------------------------------------------------
    _GRACE = 10.0  # seconds a table no longer clickable still answers late clicks

    def _show_rows(self, opts: list[tuple[str, int]], ids: list[int], index: int | None) -> int:
        """Show new rows ``opts`` (capture ids ``ids``); returns the messages sent.

        The browser reports a click as an index into the rows *it* showed, and the kernel may
        have sent newer rows meanwhile (a burst; a click made while a cell runs waits in the
        kernel's queue until the cell ends, while this thread goes on refreshing). So each row
        list goes into a table of its own that maps its indexes to its own capture ids, and
        the table that showed it keeps those ids until no click on it can still be on its way.

        The tables are a pool of at most :data:`TABLE_POOL` ``Select`` widgets made once, in a
        box of their own; the box's class (``hl-show-N``) says which one is displayed, the
        view's CSS hides the others. A refresh fills a hidden table (one message), then sets
        the box's class (one message: the switch; the new rows are there before it), then
        blanks the labels of the table now hidden (its row count stays, so a late click on
        it is still a valid index; its ids stay in ``_table_ids``; a saved notebook's widget
        state held every hidden table's rows). No widget view is made or removed. (A new
        ``Select`` per refresh, the old one closed, left every table the browser drew in its
        memory: JupyterLab 4 with ipywidgets 8 grew by about 185,000 DOM nodes and 27 MB of
        heap a minute at 3 webhooks a second.) While the pool is not full one empty table
        waits in the box, made a refresh ahead, so the browser has drawn it when it is shown.

        A table may be filled again once no click has been possible on it for
        :attr:`_GRACE` seconds, and not while a cell runs that started less than that after
        (its clicks wait behind the cell; :data:`_AFTER_CELL` seconds after it ended they
        are handled). When no table may be filled and the pool is full, the rows wait
        (:meth:`_retry_wait`); while a cell runs, after :data:`_CELL_LAG` seconds, the table
        shown takes them itself, disabled (a click on it would wait for the cell anyway), and
        keeps mapping clicks to the rows it showed when it was last clickable.

        While the person moves through the rows of the table shown, it stays shown: see
        :meth:`_keep_focus`.
        """
        now = time.monotonic()
        shown, sent = self.table, 0
        at = self._keep_focus(now)
        if at is not None and at > now:  # the person is moving through the rows: they hold
            self._waiting = len(ids) if not self._row_ids else sum(
                1 for i in ids if i > self._row_ids[0])
            if self._deferred_at is None:
                self._deferred_at = now
            self._retry_at = at
            return 0
        if at is not None:  # the table shown takes them itself: it keeps the focus
            self._new_ids(shown, ids)
            with shown.hold_sync():  # (rows, the open capture's new place, the list's number:
                shown.options = opts  # one message, applied at once by the browser)
                shown.index = index
                shown._dom_classes = self._table_classes(shown, shown=True)
            self._row_ids, self._refilled_at = ids, now
            self._deferred_at = self._retry_at = None
            return 1
        table = self._free_table(now)
        if table is None and len(self._tables) < TABLE_POOL:  # (none made ahead: at the start)
            table = self._add_table()
            sent += 2
        if table is not None:
            self._new_ids(table, ids)
            with table.hold_sync():  # rows, highlight, enabled, name: one message, while hidden
                table.options = opts
                table.index = index
                table.disabled = False
                table._dom_classes = self._table_classes(table, shown=True)
            sent += 1
            self._unclickable.pop(id(table), None)
            if table is not shown:
                # the switch, in one message, after the new rows (a table's own class for each
                # took two messages: a frame showed both tables)
                self._table_box._dom_classes = (TABLES, f"hl-show-{self._tables.index(table)}")
                self._unclickable.setdefault(id(shown), now)  # (a disabled one: since then)
                with shown.hold_sync():  # hidden by now: as many rows, blank (see above)
                    shown._dom_classes = self._table_classes(shown, shown=False)
                    shown.options = [("", i) for i in self._table_ids.get(id(shown), [])]
                    shown.index = None
                self.table = table
                sent += 2
                if len(self._tables) < TABLE_POOL and self._free_table(now) is None:
                    self._add_table()  # (drawn by the browser before the next refresh)
                    sent += 2
            self._row_ids = ids
            self._deferred_at = self._retry_at = None
            return sent
        held = id(shown) in self._unclickable  # (the table shown, disabled: it takes them)
        if self._deferred_at is None:
            self._deferred_at = now
        running = self._cells is not None and self._cells.running
        if held or (running and now - self._deferred_at >= _CELL_LAG):
            if ids != self._row_ids or not held:
                with shown.hold_sync():  # (its ids stay those it showed while clickable)
                    shown.options = opts
                    shown.index = index
                    shown.disabled = True
                sent += 1
            self._unclickable.setdefault(id(shown), now)
            self._row_ids = ids
            self._deferred_at = None
            self._retry_at = self._free_at()
            return sent
        self._retry_at = self._free_at()
        if running:  # (no table frees itself while the cell runs)
            self._retry_at = self._deferred_at + _CELL_LAG
        return sent

    def _add_table(self) -> W.Select:
        """One more table of the pool, empty and hidden, at the end of the tables' box (the
        views of the others stay as they are); free to be filled at once. Two messages: the
        widget's and the box's."""
        table = self._new_table(shown=False)
        self._unclickable[id(table)] = float("-inf")  # (no click was ever possible on it)
        self._table_box.children = (*self._table_box.children, table)
        return table

    #: row lists of a table kept for a browser that has not said which one it shows
    _GENS_KEPT = 16

    def _new_ids(self, table: W.Select, ids: list[int]) -> None:
        """``table`` is sent the rows ``ids``: their list gets the table's next number, which
        goes with them in the same message (its ``hl-gN`` class, :meth:`_table_classes`)."""
        gens = self._gen_ids.setdefault(id(table), {})
        gens[max(gens, default=-1) + 1] = ids
        acked = self._acked.get(id(table))
        for old in sorted(gens)[:-1]:  # (the lists the browser can no longer show)
            if (acked is not None and old < acked) or len(gens) > self._GENS_KEPT:
                del gens[old]
        self._table_ids[id(table)] = ids

    def _gen_of(self, table: W.Select) -> int:
        """The number of the newest row list ``table`` was sent."""
        return max(self._gen_ids.get(id(table), {0: []}))

    def _ids_seen(self, table: W.Select) -> list[int] | None:
        """The capture ids of the rows ``table`` showed in the browser when the pick now read
        was made (None: not a table of this view).

        The table shown takes new rows in place (:meth:`_keep_focus`), and the browser needs
        a moment to draw them: a key pressed meanwhile is an index into the rows it still
        showed. Read against the new ones, ArrowDown opened a row three above the one it
        highlighted (three webhooks a second, a loaded machine). The browser says which list
        it shows (:meth:`_watch_seen`), in the same stream as the picks and after any pick
        made before it showed the new list: a pick is read against the list it last said."""
        key = id(table)
        acked, gens = self._acked.get(key), self._gen_ids.get(key, {})
        if acked is not None and acked in gens:
            return gens[acked]
        return self._table_ids.get(key)

    def _watch_seen(self, table: W.Select) -> None:
        """From now on the browser says which row list of ``table`` it shows: a link of the
        browser's own (``jsdlink``) copies the table's classes, its ``hl-gN`` among them, to
        a widget never displayed, and sends them to the kernel in the same moment it applies
        a message that changed them (with the rows). Made at the first pick on the table, a
        while before its rows can change in place (:data:`_HOLD`)."""
        if id(table) in self._seen_links or self._closed:
            return
        if self._seen_box is None:
            self._seen_box = W.Box()
            self._seen_box.observe(self._seen, "_dom_classes")
        self._seen_links[id(table)] = W.jsdlink((table, "_dom_classes"),
                                                (self._seen_box, "_dom_classes"))

    def _seen(self, change: dict[str, Any]) -> None:
        """The browser shows row list ``hl-gN`` of table ``hl-tM`` (kernel thread, in the
        order of the picks)."""
        said = {m[1]: int(m[2]) for name in change["new"] or ()
                if isinstance(name, str) and (m := _SEEN.fullmatch(name))}
        table, gen = said.get("t"), said.get("g")
        with self._render_lock:
            if table is None or gen is None or not 0 <= table < len(self._tables):
                return
            key = id(self._tables[table])
            if gen >= self._acked.get(key, -1) and gen in self._gen_ids.get(key, {}):
                self._acked[key] = gen

    def _seen_widgets(self) -> list[W.Widget]:
        """The links and their target (closed with the view)."""
        box = [] if self._seen_box is None else [self._seen_box]
        return [*self._seen_links.values(), *box]

    def _keep_focus(self, now: float) -> float | None:
        """When the rows of the table shown may change while the person moves through them
        (None: they are not; new rows go to a hidden table as usual).

        A table hidden while focused sends the keyboard focus to the page: in the panel of
        "Create New View for Cell Output" (the README's way to use the keyboard) a click on
        a row, then ArrowDown a second later, did nothing once a refresh had swapped tables.
        So after a pick on the table shown (a click, or a key that moved the highlight) the
        rows hold still for :data:`_HOLD` seconds (each pick starts it again; the counter
        says how many newer ones wait), and until :data:`_KEEP` seconds after the last pick
        the table shown takes new rows itself, at most every :data:`_KEEP_EVERY` seconds,
        the open capture highlighted at its new place. Not while a cell runs or the table
        shown is disabled (clicks held back by the cell are mapped by the pool)."""
        picked = self._picked_at
        if (picked is None or now - picked >= _KEEP or id(self.table) in self._unclickable
                or (self._cells is not None and self._cells.running)):
            return None
        return max(picked + _HOLD, self._refilled_at + _KEEP_EVERY)

    def _may_refill(self, since: float, now: float) -> bool:
        """Whether a table no click has been possible on since ``since`` may be refilled."""
        if now - since < self._GRACE:
            return False
        cells = self._cells
        if cells is None or cells.started is None or since + self._GRACE <= cells.started:
            return True  # (any click on it was handled before the newest cell began)
        return cells.ended is not None and now - cells.ended >= _AFTER_CELL

    def _free_table(self, now: float) -> W.Select | None:
        """The table that may be refilled and has been unclickable longest (None: none)."""
        free = [(since, i) for i, t in enumerate(self._tables)
                if (since := self._unclickable.get(id(t))) is not None
                and self._may_refill(since, now)]
        return self._tables[min(free)[1]] if free else None

    def _free_at(self) -> float | None:
        """When a table may next be refilled (None: once the running cell ends)."""
        cells, best = self._cells, None
        for since in self._unclickable.values():
            at = since + self._GRACE
            if cells is not None and cells.started is not None and at > cells.started:
                if cells.ended is None:
                    continue  # (the cell's end: _cell_ended wakes the view)
                at = max(at, cells.ended + _AFTER_CELL)
            best = at if best is None else min(best, at)
        return best

    # -- tree and diff tabs ---------------------------------------------------------------------
    def _show_extra(self) -> None:
        """Fill the Tree or Diff tab if it is the open one (both are computed on demand;
        under the render lock: a tab opened while the flusher renders waits for it)."""
        if self._store_closed():  # (the tabs cannot be disabled: a tab opened does nothing)
            return
        with self._render_lock:
            title = self._open_tab()
            if title == "Tree":
                self._show_tree()
            elif title == "Diff with previous":
                self._show_diff()

    def _open_tab(self) -> str | None:
        tab = self.tabs.selected_index
        return TAB_TITLES[tab] if tab is not None and tab < len(TAB_TITLES) else None

    def _show_tree(self) -> None:
        cap = self._selected
        if cap is None:
            self._tree, self._tree_for, self._tree_keys = None, None, []
            self._set(self.tree, options=[])
            if self._gone is not None:
                self._set(self.field_info, value=f'<div class="hl-none">{self._gone_text()}.</div>')
            return
        shows = (_identity(cap), bool(self.show_credentials.value))
        if self._tree_for != shows or self._tree is None:
            # (as the Details tab shows them: in the charset the sender declared)
            payload = shown_payload(cap, capture_payload(cap), shows[1])
            self._tree = _tree.Tree.of(payload)
            self._tree_for = shows
            self._set(self.field_column, value="")
            self._set(self.field_info, value='<div class="hl-none">Click a field to see its path '
                                             "and its schema row.</div>")
            self._render_tree()

    def _render_tree(self, index: int | None = None) -> None:
        assert self._tree is not None
        rows = self._tree.rows()
        self._tree_keys = [k for _, k in rows]
        self._guard_owner = threading.get_ident()
        try:
            with self.tree.hold_sync():
                self.tree.options = [(label, i) for i, (label, _) in enumerate(rows)]
                self.tree.index = index
        finally:
            self._guard_owner = None

    def _tree_all(self, open_: bool) -> None:
        with self._render_lock:
            if self._tree is None:
                return
            if open_:
                self._tree.open_to(_tree.MAX_INDENT)
            else:
                self._tree.close_all()
            self._render_tree()

    def _on_tree_pick(self, change: dict[str, Any]) -> None:
        if self._guard_owner == threading.get_ident():
            return
        idx = change["new"]
        if idx is None or not 0 <= idx < len(self._tree_keys):
            return
        key = self._tree_keys[idx]
        if key is not None:
            self.pick_field(key)

    def pick_field(self, key: tuple[str | int, ...]) -> None:
        """What a click on a tree row does: show the field's paths (the ``flatten=True`` column
        name in a copyable box) and its schema row; an object or array also opens / closes."""
        with self._render_lock:
            tree, cap = self._tree, self._selected
            if tree is None or cap is None or self._store_closed():
                return
            try:
                value = tree.node(key)
            except (KeyError, IndexError, TypeError):
                return
            if isinstance(value, (dict, list)) and key:
                tree.toggle(key)
                self._render_tree()  # no row stays picked: a second click toggles again
            else:
                pos = self._tree_keys.index(key) if key in self._tree_keys else None
                self._render_tree(pos)
            row, note = self._schema_row(cap, key)
            if row is not None and row.get("example") is not None and self._credential(cap, key):
                row = {**row, "example": hidden_value(str(row["example"]))}
            col = column_name(_tree.schema_path(key))
            self._set(self.field_column, value=col or "")
            self._set(self.field_info, value=_tree.field_html(key, value, row, note))

    def _credential(self, cap: Capture, key: tuple[str | int, ...]) -> bool:
        """Whether the field at ``key`` may be a credential the view hides: its schema row's
        example is a value of another capture (a form's ``password`` beside a JSON body with
        the same field), so any name of the path that is a credential's counts, whatever
        this body's kind; in a form hidden whole, every field."""
        if self.show_credentials.value or not key:
            return False
        if is_credential_field(field_name(_tree.schema_path(key))):  # (lab.schema()'s rule)
            return True
        whole = R.hidden_form(cap) if self._tree is not None and self._tree.kind == "form" else None
        return whole is not None and whole.startswith(R.WHOLE_FORM)

    #: captures of an event type the field pane's schema row is computed over
    SCHEMA_SAMPLE = 2_000

    def _schema_row(self, cap: Capture, key: tuple[str | int, ...]) -> tuple[dict[str, Any] | None, str]:
        """The schema row of the field at ``key`` over the newest captures of this capture's
        provider and event type (cached until new captures arrive)."""
        group = (cap.provider, cap.event_type)
        # (captures without an event type are read by bin: two bins' were one cache entry, and
        # a field of the second bin clicked had "no schema row")
        cache_key = (*group, cap.bin if cap.event_type is None else None, self._newest(),
                     self._deletions)  # (retention deleted some: counted without them)
        table = self._schema_cache.get(cache_key)
        if table is None:
            if cap.event_type is not None:
                caps = self.store.query(event_type=cap.event_type, provider=cap.provider,
                                        limit=self.SCHEMA_SAMPLE, newest_first=True)
            else:
                caps = self.store.query(bin=cap.bin, limit=self.SCHEMA_SAMPLE, newest_first=True)
            caps = [c for c in reversed(caps) if (c.provider, c.event_type) == group]
            builder = SchemaBuilder()
            builder.add([(c.id, _us(c), c.provider, c.event_type,  # (with its charset)
                          c.header("content-type", trailers=False),
                          section_coding(c.header_section), c.body) for c in caps])
            table = {r[2]: dict(zip(SCHEMA_COLUMNS, r, strict=True)) for r in builder.records()}
            for r in table.values():
                r["first_seen"] = _when(r["first_seen"])
                r["last_seen"] = _when(r["last_seen"])
            self._schema_cache = {cache_key: table}
            self._schema_n = len(caps)
        what = f"{cap.provider or 'no provider'} / {cap.event_type or 'no event type'}"
        note = f"(over the newest {getattr(self, '_schema_n', 0):,} captures of {what})"
        return table.get(field_name(_tree.schema_path(key))), note

    def _diff_scope(self) -> dict[str, Any]:
        """The captures "Diff with previous" looks among: those the view shows, its filters
        and its bin, provider and search boxes (not "Clear view"'s point: a retry is still
        compared with its original cleared from sight). A redelivery in bin ``github`` was
        compared with another bin's delivery of the same event type that the view hid."""
        scope = {**self.filters, **self._box_filters()}
        scope.pop("until", None)  # (the capture's own time bounds the look: see _previous)
        return scope

    def _previous(self, cap: Capture, scope: dict[str, Any]) -> Capture | None:
        """The delivery before ``cap`` of the same provider and event type (same bin and path
        when it has no event type) among the captures ``scope`` filters to."""
        if cap.event_type is not None:
            flt: dict[str, Any] = {**scope, "event_type": cap.event_type, "provider": cap.provider}
        else:
            flt = {**scope, "bin": cap.bin, "path": cap.path}
        for c in self.store.query(until=cap.received_at, newest_first=True, limit=200, **flt):
            if c.id < cap.id and (c.provider, c.event_type) == (cap.provider, cap.event_type) and (
                    cap.event_type is not None or c.bin == cap.bin):  # (bin="/a" is "a" too)
                return self._shown(c)
        return None

    def _show_diff(self) -> None:
        cap = self._selected
        reveal = bool(self.show_credentials.value)
        headers = bool(self.diff_headers.value)
        scope = self._diff_scope()  # (another bin or provider chosen: another previous)
        state = (None if cap is None else _identity(cap), reveal, headers, self._newest(),
                 self._gone, repr(sorted(scope.items(), key=repr)))  # (the capture itself:
        # an id may name one of each lab's, see above)
        if state == self._diff_for:
            return
        self._diff_for = state
        self._diff_prev = None
        if cap is None and self._gone is not None:
            html = _tree.diff_html(None, self._gone_text(), [])
            self._set(self.diff_pane, value=f'<div class="hl-diffpane">{html}</div>')
            return
        if cap is None:
            self._set(self.diff_pane, value='<div class="hl-none">Click a row: what changed '
                                            "since the previous delivery of its event type.</div>")
            return
        prev = self._previous(cap, scope)
        self._diff_prev = None if prev is None else prev.id
        what = R.event_read(cap) or f"capture to {R.target_as_sent(cap.path)}"
        if prev is None:  # (the first one, or the earlier ones deleted: by retention, clear())
            html = _tree.diff_html(None, f"#{cap.id}: no earlier delivery of {what} is stored", [])
        else:
            rows, notes = diff_rows(prev, cap, headers=headers, reveal=reveal)
            html = _tree.diff_html(rows, f"#{cap.id} against the previous {what}: #{prev.id}",
                                   notes, headers=headers)
        self._set(self.diff_pane, value=f'<div class="hl-diffpane">{html}</div>')

    def _diff_followed(self) -> int:
        """After a retention pass (render, under the render lock): if the capture the Diff tab
        compared the open one with was deleted, the tab is drawn again, against the earlier
        delivery still stored or "nothing to compare" (it went on showing the deleted one);
        when the tab is not open it is emptied, and drawn when opened. One lookup by id,
        only while the tab shows a comparison. Returns the messages sent."""
        prev = self._diff_prev
        if self._diff_for is None or prev is None or not self._deleted(prev):
            return 0
        self._diff_for = self._diff_prev = None
        if self._open_tab() == "Diff with previous":
            self._show_diff()
            return 1
        return self._set(self.diff_pane, value="")

    def _gone_text(self) -> str:
        """What the panes of an open capture that was deleted say (not HTML-escaped: none
        is needed, it is a number and our words)."""
        return f"#{self._gone} is no longer stored: deleted by retention or a clear"


def _file_of(store: Any) -> str | None:
    """The database file of ``store`` if it is a :class:`CaptureStore` of one (others may
    write into it too), else None (in memory, a Parquet dataset)."""
    if not isinstance(store, CaptureStore) or store.path == ":memory:":
        return None
    return store.path


#: the fields that tell one capture from another: all but its answered status, which may change
#: while it is open (a delayed answer written) and is shown by neither the Tree nor the Diff tab
_IDENTITY = tuple(f.name for f in fields(Capture) if f.name != "status")


def _identity(cap: Capture) -> tuple[Any, ...]:
    """What the Tree and Diff tabs know the capture they show by. Not its id alone: in a folder
    of several labs' Parquet exports (``hooklab.open(folder)``) an id names one capture of
    each, and ``view.select(capture)`` opens either; keyed on the id, the tabs went on showing
    the first one opened while the Details tab (drawn from the capture itself) showed the
    other. Compared with ``==`` (a capture holds a dict: it has no hash)."""
    return tuple(getattr(cap, name) for name in _IDENTITY)


def _us(cap: Capture) -> int:
    """The capture's time in microseconds since 1970, exactly as the store keeps it."""
    return micros(cap.received_at)


def _when(us: int | None) -> str:
    if us is None:
        return "—"
    from datetime import datetime, timezone

    return datetime.fromtimestamp(us / 1_000_000, tz=timezone.utc).isoformat()
