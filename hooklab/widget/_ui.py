"""Controls and layout of the live view (a mixin used by :class:`hooklab.widget.LiveView`).

Static HTML here is ours; request data only reaches HTML through
:mod:`hooklab.widget._render`, which escapes it.
"""

from __future__ import annotations

import time
from html import escape
from typing import Any

import ipywidgets as W

from ..explore.payload import displayable
from ..filters import NO_PROVIDER, bin_name
from . import _render as R

ALL = "\x00all"  # dropdown sentinel meaning "no filter"
#: the provider dropdown's label of :data:`~hooklab.filters.NO_PROVIDER`, the captures without a
#: detected provider (the filter value ``"unknown"``, as ``lab.live(provider="unknown")``)
NO_PROVIDER_LABEL = "(no provider)"


def sendable(value: Any) -> Any:
    r"""``value`` (a widget trait's: text, or a list or tuple of such, as options) as a
    widget message can carry it to the browser (UTF-8 JSON): each lone surrogate in its
    text (``"\ud83d"`` in a JSON body: no character) written as JSON escapes it, the six
    characters ``\ud83d`` (:func:`hooklab.explore.displayable`); ``value`` itself when
    none has one. A trait holding one made its whole message fail (``UnicodeEncodeError``
    raised where it was set: the view showed nothing more).

    >>> sendable("Party time \ud83d"), sendable([("k\udc80", 1)]), sendable(5)
    ('Party time \\ud83d', [('k\\udc80', 1)], 5)
    """
    if isinstance(value, str):
        return displayable(value)
    if isinstance(value, (list, tuple)) and value:
        shown = [sendable(v) for v in value]
        if any(a is not b for a, b in zip(shown, value, strict=True)):
            return type(value)(shown)
    return value


#: what the Copy as curl tab says while no capture is open
_CURL_PLACEHOLDER = "click a row: a curl command that re-sends it"
TAB_TITLES = ("Details", "Tree", "Diff with previous", "Raw body", "Copy as curl")
_OPTIONS_EVERY = 2.0  # seconds between bin/provider dropdown refreshes
#: most capture tables a view keeps (one shown, the others hidden: see LiveView._show_rows)
TABLE_POOL = 24
#: what the table shown and the hidden ones are called (``hl-table`` / ``hl-spare``: names for
#: readers and tests; which one is *seen* is said by the tables' box alone, see _SHOW_RULES)
SHOWN, SPARE = "hl-table", "hl-spare"
#: the class of the tables' box; with it ``hl-show-N``: only the table of class ``hl-tN`` (the
#: N-th made, a class it keeps for life) is displayed. One message switches tables: a class
#: on each table (the new one's "shown", the old one's "hidden") took two, and the browser
#: drew the frame in between with both tables, a ~195 px jump (a click there hit the wrong one)
TABLES = "hl-tables"
_SHOW_RULES = "\n".join(
    f".hooklab-live .hl-show-{n} > :not(.hl-t{n}) {{ display: none !important; }}"
    for n in range(TABLE_POOL))

_STYLE = f"""<style>
.hooklab-live select, .hooklab-live .hl-cols {{ font-family: var(--jp-code-font-family, monospace);
  font-size: 12px; white-space: pre; }}
.hooklab-live .widget-select, .hooklab-live select {{ box-sizing: border-box; max-width: 100%; }}
{_SHOW_RULES}
.hooklab-live .hl-cols {{ font-weight: bold; padding-left: 4px; color: var(--jp-ui-font-color1); }}
.hooklab-live .hl-counter {{ font-size: 13px; overflow-wrap: anywhere; }}
.hooklab-live button:disabled, .hooklab-live select:disabled, .hooklab-live input:disabled {{
  cursor: default; }}
.hooklab-live .hl-detail table, .hooklab-live table.hl-kv {{ border-collapse: collapse; }}
.hooklab-live table.hl-kv th {{ text-align: left; padding: 1px 10px 1px 0; vertical-align: top;
  font-family: var(--jp-code-font-family, monospace); font-size: 12px; white-space: nowrap; }}
.hooklab-live table.hl-kv td {{ padding: 1px 0; font-family: var(--jp-code-font-family, monospace);
  font-size: 12px; word-break: break-all; }}
.hooklab-live .hl-title {{ font-weight: bold; font-family: var(--jp-code-font-family, monospace);
  word-break: break-all; margin-bottom: 4px; }}
.hooklab-live .hl-pre {{ max-height: 360px; overflow: auto; white-space: pre-wrap;
  word-break: break-all; font-size: 12px; background: var(--jp-layout-color2, #f5f5f5);
  padding: 6px; margin: 2px 0; }}
.hooklab-live h4 {{ margin: 8px 0 2px 0; }}
.hooklab-live .widget-html-content {{ line-height: 1.35; }}
.hooklab-live .hl-detail {{ max-height: 440px; overflow: auto; padding-right: 6px; }}
.hooklab-live .hl-none, .hooklab-live .hl-gone {{ color: var(--jp-ui-font-color2, #777); }}
.hooklab-live .hl-field, .hooklab-live .hl-diffpane {{ max-height: 360px; overflow: auto; }}
.hooklab-live table.hl-diff td {{ padding-right: 10px; }}
.hooklab-live table.hl-diff td:nth-child(2) {{ white-space: nowrap; word-break: normal; }}
</style>"""


class _Table(W.Select):
    """A capture table (an ipywidgets ``Select``) that hands every pick the browser sends to
    ``on_pick``, also one whose index equals the index the kernel holds: that index may mean
    another row (the browser had not drawn the rows sent meanwhile: ArrowDown from a row that
    one new capture moved down sends the index of its new place), and traitlets reports only
    changes."""

    def __init__(self, *, on_pick: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._on_same_pick = on_pick
        self.observe(on_pick, "index")

    def set_state(self, sync_data: dict[str, Any]) -> None:
        index = sync_data.get("index") if isinstance(sync_data, dict) else None
        same = index is not None and index == self.index
        super().set_state(sync_data)
        if same and self.index == index:
            self._on_same_pick({"name": "index", "old": index, "new": index, "owner": self,
                                "type": "change"})


class LiveControls:
    """Builds the child widgets and renders the counter line and the detail pane."""

    # provided by LiveView
    store: Any
    filters: dict[str, Any]
    max_rows: int
    paused: bool
    serving: bool | None
    server_ended: str | None
    _follow: bool
    _file: str | None
    _foreign: bool
    _other_url: str | None
    _lock: Any
    _options_dirty: bool
    _options_at: float
    _known_bins: set[str]
    _known_providers: set[str]
    _table_ids: dict[int, list[int]]
    _new_ids: Any
    _gen_of: Any
    _seen_widgets: Any
    _waiting: int
    _store_closed: Any
    _cleared_after: int
    _row_ids: list[int]
    _page: int
    _moved: str | None
    _gone: int | None
    _gone_text: Any

    def _build_widgets(self) -> None:
        self.counter = W.HTML(layout=W.Layout(flex="1 1 auto"))
        self._head = W.HBox([W.HTML(_STYLE), self.counter])
        self.search = W.Text(
            placeholder="filter: text in path, headers or body",
            continuous_update=True,
            layout=W.Layout(flex="2 1 auto", width="auto"),
        )
        fixed_bin = self.filters.get("bin")
        fixed_provider = self.filters.get("provider")
        self.bin_filter = W.Dropdown(
            options=[("all bins", ALL)], value=ALL, description="bin",
            disabled=fixed_bin is not None, layout=W.Layout(width="220px"),
        )
        self.provider_filter = W.Dropdown(
            options=[("all providers", ALL)], value=ALL, description="provider",
            disabled=fixed_provider is not None, layout=W.Layout(width="240px"),
        )
        self.pause_button = W.ToggleButton(value=False, description="Pause", icon="pause",
                                           tooltip="freeze the table; resume catches up")
        self.clear_button = W.Button(description="Clear view", icon="eraser",
                                     tooltip="show only captures that arrive from now on")
        self.older_button = W.Button(description="Older", icon="chevron-down", disabled=True)
        self.newer_button = W.Button(description="Newer", icon="chevron-up", disabled=True)
        self._cols = W.HTML(f'<div class="hl-cols">{escape(R.header_label(), quote=True)}</div>')
        self._table_layout = W.Layout(width="auto", height="auto")  # shared by the tables
        # (each Select made a style of its own, which closing it left open: one leaked a swap)
        from ipywidgets.widgets.widget_description import DescriptionStyle

        self._table_style = DescriptionStyle()
        #: every capture table made, at most TABLE_POOL; only ``self.table`` is shown
        self._tables: list[W.Select] = []
        self.table = self._new_table(shown=True)
        # (the tables' own box: a table added at its end leaves the views of the others, and
        # of the tabs below, as they are; a Box re-creates the views after a changed child)
        self._table_box = W.VBox([self.table], layout=W.Layout(width="auto"),
                                 _dom_classes=(TABLES, "hl-show-0"))
        self.detail = W.HTML('<div class="hl-none">Click a row to see its headers and body.</div>')
        self.raw = W.HTML('<div class="hl-none">Click a row to see its raw body.</div>')
        self.curl = W.Textarea(value="", rows=8, layout=W.Layout(width="100%"),
                               placeholder=_CURL_PLACEHOLDER)
        # the Tree tab: the body as a collapsible tree; a click shows the field's paths and row
        self.tree = W.Select(options=[], index=None, rows=16,
                             layout=W.Layout(width="auto", height="auto"))
        self.tree.add_class("hl-tree")
        self.tree_open_button = W.Button(description="Open all", icon="plus-square",
                                         tooltip="open every object and array (bounded)")
        self.tree_close_button = W.Button(description="Close all", icon="minus-square")
        self.field_column = W.Text(value="", placeholder="click a field: its flatten=True column",
                                   description="column", layout=W.Layout(width="100%"))
        self.field_column.add_class("hl-column")
        self.field_info = W.HTML('<div class="hl-none">Click a field to see its path and '
                                 "its schema row; click an object or array to open or close it."
                                 "</div>")
        self._tree_box = W.VBox([W.HBox([self.tree_open_button, self.tree_close_button]),
                                 self.tree, self.field_column, self.field_info])
        # the Diff tab: this capture against the previous delivery of its event type
        self.diff_headers = W.Checkbox(value=False, description="compare headers too",
                                       indent=False, layout=W.Layout(width="auto"))
        self.diff_pane = W.HTML('<div class="hl-none">Click a row: what changed since the '
                                "previous delivery of its event type.</div>")
        self._diff_box = W.VBox([self.diff_headers, self.diff_pane])
        self.tabs = W.Tab(children=[self.detail, self._tree_box, self._diff_box, self.raw, self.curl],
                          titles=TAB_TITLES)
        self.show_credentials = W.Checkbox(value=False, description="show credentials",
                                           indent=False, layout=W.Layout(width="auto"))
        self.confirm_clear = W.Checkbox(value=False, description="really delete all captures",
                                        indent=False, layout=W.Layout(width="auto"))
        self.clear_db_button = W.Button(description="Clear database", icon="trash",
                                        button_style="danger", disabled=True)
        self.search.observe(self._on_control, "value")
        self.bin_filter.observe(self._on_control, "value")
        self.provider_filter.observe(self._on_control, "value")
        self.pause_button.observe(self._on_pause, "value")
        self.show_credentials.observe(self._credentials_toggled, "value")
        self.confirm_clear.observe(
            lambda c: setattr(self.clear_db_button, "disabled", not c["new"]), "value"
        )
        self.tree.observe(self._on_tree_pick, "index")
        self.tree_open_button.on_click(lambda _b: self._tree_all(True))
        self.tree_close_button.on_click(lambda _b: self._tree_all(False))
        self.diff_headers.observe(lambda _c: self._show_extra(), "value")
        self.tabs.observe(lambda _c: self._show_extra(), "selected_index")
        fixed_search = self.filters.get("search")
        if fixed_search is not None:  # lab.live(search=...): the box shows it and is fixed
            self.search.value = fixed_search
            self.search.disabled = True
        self.clear_button.on_click(lambda _b: self.clear_view())
        self.clear_db_button.on_click(lambda _b: self._clear_database())
        self.older_button.on_click(lambda _b: self._turn_page(+1))
        self.newer_button.on_click(lambda _b: self._turn_page(-1))

    def _new_table(self, *, shown: bool) -> W.Select:
        """A capture table of the view's pool, empty (see ``LiveView._show_rows``): a click is
        an index into the options the browser showed, and each table knows the ids of its own
        rows. It is displayed only while the box's class names it (``hl-show-N``)."""
        n = len(self._tables)
        table = _Table(options=[], index=None, rows=12, layout=self._table_layout,
                       style=self._table_style, on_pick=self._on_pick,
                       _dom_classes=(f"hl-t{n}", SHOWN if shown else SPARE, "hl-g0"))
        self._tables.append(table)
        self._new_ids(table, [])  # (its row list 0)
        return table

    def _table_classes(self, table: W.Select, *, shown: bool) -> tuple[str, str, str]:
        """``table``'s classes: its own number (for life), what it is now, and which of its
        row lists it holds (``hl-gN``: the browser says which one it shows, see
        ``LiveView._seen``)."""
        return (f"hl-t{self._tables.index(table)}", SHOWN if shown else SPARE,
                f"hl-g{self._gen_of(table)}")

    def _controls(self) -> list[W.Widget]:
        """What a person clicks or types into (disabled once the view's database closed)."""
        return [
            self.search, self.bin_filter, self.provider_filter, self.pause_button,
            self.clear_button, self.older_button, self.newer_button, *self._tables, self.tree,
            self.tree_open_button, self.tree_close_button, self.diff_headers,
            self.show_credentials, self.confirm_clear, self.clear_db_button,
        ]

    def _all_widgets(self) -> list[W.Widget]:
        return [
            self.counter, self._head, self.search, self.bin_filter, self.provider_filter,
            self.pause_button, self.clear_button, self.older_button, self.newer_button,
            self._cols, *self._tables, self._table_box, self.detail, self.raw,
            self.curl, self.tabs, self.tree, self.tree_open_button, self.tree_close_button,
            self.field_column, self.field_info, self._tree_box, *self._tree_box.children,
            self.diff_headers, self.diff_pane, self._diff_box,
            self.show_credentials, self.confirm_clear, self.clear_db_button,
            *[c for c in self.children if isinstance(c, W.HBox)],
            *self._head.children, self._table_layout, self._table_style,
            *self._seen_widgets(),
        ]

    def _counter_html(self, total: int, newer: int) -> str:
        now = time.monotonic()
        arr = self._arrivals
        while arr and arr[0] < now - 1.0:
            arr.popleft()
        self._rate_shown = len(arr)
        # the captures stored that the view's filters match (those a paused or paged view
        # holds back too: "200 captures" was said with 250 stored), and the place of the rows
        # the table shows among them, newest first: below those held back, as many as shown
        # ("rows 1–79" was said of a table of 39 rows holding still, 40 newer waiting; "rows
        # 201–140" of an Older page that retention emptied)
        stored = total + newer
        n = f"{stored:,}"
        parts = [f"<b>{n}</b> capture{'' if stored == 1 else 's'}", f"{self._rate_shown:,}/s"]
        chosen = {**self.filters, **self._box_filters()}
        if chosen:
            shown = self._hidden(", ".join(f"{k}={v}" for k, v in chosen.items()))
            parts.append(f"filter: {escape(R.visible(shown), quote=True)}")
        if self._row_ids:
            a = newer + self._waiting + self._page * self.max_rows + 1
            parts.append(f"rows {a:,}–{a + len(self._row_ids) - 1:,}")
        if self._moved is not None:  # (an Older page whose rows were deleted: moved, and said)
            parts.append(f"the page shown was deleted (retention or a clear): {self._moved}")
        if self.paused:  # (words, not U+23F8: without an emoji font it was an empty box)
            parts.append(f"<b>paused</b>{f' ({newer:,} newer hidden)' if newer else ''}")
        elif newer:
            parts.append(f"{newer:,} newer — press Newer")
        elif self._waiting:  # (held while the person moves through the rows: LiveView._keep_focus)
            parts.append(f"{self._waiting:,} newer waiting: the rows hold still while you "
                         "move through them")
        if self._cleared_after:
            parts.append("view cleared")
        if self.serving is False and self.server_ended:  # (its thread ended unasked)
            why = escape(R.visible(self.server_ended), quote=True)
            parts.append(f"<b>stopped</b>: the capture server ended on its own ({why}) — not "
                         "receiving webhooks; %hooklab start or lab.start() starts it again")
        elif self.serving is False:  # (senders get "connection refused": not "waiting")
            parts.append("<b>stopped</b>: not receiving webhooks — %hooklab start or "
                         "lab.start() resumes")
        elif self.serving is None and self._follow:  # (no server writes into the store)
            parts.append(self._not_serving_html())
        elif not stored and not self.paused:
            unfiltered = self._unfiltered_count() if chosen else 0
            parts.append(f"0 of {unfiltered:,} match the filter — waiting for one that does"
                         if unfiltered else "waiting for webhooks…")
        return f'<span class="hl-counter">{" · ".join(parts)}</span>'

    def _unfiltered_count(self) -> int:
        """How many captures the view would show without its filters (since "Clear view"):
        the count the store keeps up to date (:meth:`~hooklab.store.CaptureStore.count`, one
        look at the rows stored since it last counted). A filtered view that shows none
        said "waiting for webhooks…" while they poured in, none of them matching."""
        since = {"since": self._cleared_after} if self._cleared_after else {}
        return self.store.count(**since)

    def _not_serving_html(self) -> str:
        """What the counter says when no capture server ever wrote into the view's store.

        It said "start with lab.start() or %hooklab start" in every case: also to a view of
        ``hooklab.open(path)`` of the very file the lab of ``%load_ext hooklab`` serves (the
        advice changed nothing), and to a view of a bare ``CaptureStore`` (no lab at all).
        """
        if self._other_url is not None:  # (this kernel's other lab serves the same file)
            url = escape(self._other_url, quote=True)
            return ("<b>not serving</b> in this lab: the capture server at " + url + " (another "
                    "lab of this kernel) writes into this file — what it stores shows here")
        if self._file is not None and self._foreign:  # (a second kernel, a process; said in
            # the past: that lab may have stopped since, and this one may not know)
            return ("<b>not serving</b> in this lab: another lab or process has stored into "
                    "this file since this view opened — what it stores shows here")
        if self._file is not None and getattr(self.store, "readonly", False):
            return ("<b>not serving</b>: this lab reads the file read-only — what another lab "
                    "or process stores into it shows here")
        if self._file is not None:  # (a second kernel's lab may serve it: nothing says so
            # until it stores a capture, so the advice is conditional)
            return ("<b>not serving</b> in this lab: what another lab or process stores into "
                    "this file shows here; if none serves it, start with lab.start() or "
                    "%hooklab start")
        if getattr(self.store, "readonly", False):  # (a Parquet dataset: read as it is)
            return "<b>not serving</b>: a read-only dataset — nothing arrives into it"
        return ("<b>not serving</b>: no capture server writes into this store — start with "
                "lab.start() or %hooklab start if it is a lab's; for a store your own code "
                "fills, LiveView(store, serving=None) says nothing about serving")

    def _closed_html(self) -> str:
        """The counter of a view whose store was closed (``lab.stop()``): nothing can be read
        from it any more (a render said "live view error: StoreError: store is closed").
        A lab that moves to another database takes the views ``lab.live()`` made along
        (``LiveView.set_store``); one made on the store itself is left on the old one."""
        return ('<span class="hl-counter"><b>stopped</b>: the database closed (lab.stop(), '
                "store.close(), or its lab moved to another database) — this view shows no "
                "new captures and its controls are off; lab.live() makes one that does (after "
                "lab.start() if the lab stopped)</span>")

    def _credentials_toggled(self, change: dict[str, Any]) -> None:
        """Show the open tab again; on unticking, also empty the Tree and Diff tabs that are
        not open (they are made again when opened): a tab left with credentials shown kept
        them in the widget state a saved notebook holds."""
        if not change["new"]:
            with self._render_lock:
                self._empty_extra_tabs()
        self._show_selected()

    def _empty_extra_tabs(self) -> None:
        """Empty the Tree and Diff tabs, open or not (the open one is made again by
        :meth:`_show_selected`): what they showed stays in the widget state otherwise."""
        self._tree, self._tree_for, self._tree_keys, self._diff_for = None, None, [], None
        self._set(self.tree, options=[])
        self._set(self.field_column, value="")
        self._set(self.field_info, value="")
        self._set(self.diff_pane, value="")

    def _show_selected(self) -> None:
        if self._store_closed():  # (what it shows stays; nothing more can be read)
            return
        cap = self._selected
        reveal = bool(self.show_credentials.value)
        if cap is None:  # (one deleted meanwhile: said so in every tab, not a blank or the
            # "click a row" of a view where none was open: Raw body and Copy as curl were)
            gone = f"{self._gone_text()}. " if self._gone is not None else ""
            self._set(self.detail, value=f'<div class="hl-none">{gone}Click a row to see its '
                                         "headers and body.</div>")
            self._set(self.raw, value=f'<div class="hl-gone">{gone}Click a row to see its raw '
                                      "body.</div>" if gone else "")
            self._set(self.curl, value="", placeholder=f"{gone}{_CURL_PLACEHOLDER}")
            self._show_extra()
            return
        forwards = self._outcomes_of(cap)
        self._set(self.detail, value=R.detail_html(cap, reveal=reveal, forwards=forwards))
        self._set(self.raw, value=R.raw_html(cap, reveal=reveal))
        self._set(self.curl, value=R.curl_command(cap, reveal=reveal, base=self.base_url),
                  placeholder=_CURL_PLACEHOLDER)
        self._show_extra()

    def _outcomes_of(self, cap: Any) -> list[dict[str, Any]]:
        """The forwarding outcomes of ``cap`` itself. A Parquet dataset keeps each capture's
        outcome in its own row (:meth:`~hooklab.store.parquet.ParquetStore.iter_with_forwards`):
        looked up by id (``forwards(cap.id)``), a folder of several labs' exports listed
        every lab's outcome of that id under the one capture shown. A secret given to
        ``lab.secret`` after the capture was stored is ``[secret]`` in their targets and
        errors, as in the capture (``store.shown_forwards``)."""
        own = getattr(self.store, "iter_with_forwards", None)
        if own is None:  # (a database: ids are its own, each outcome with its time and target)
            return self.store.shown_forwards(list(self.store.forwards(cap.id)))
        for c, outcomes in own(since=cap.id - 1, until=cap.id):  # (the rows of that id)
            if c == cap:
                return list(outcomes)
        return []

    def _set(self, widget: W.Widget, **traits: Any) -> int:
        """Set only the traits that differ, in one comm message; 1 if anything changed. Text
        is sent as UTF-8: a lone surrogate in it is written as JSON escapes it (``\\ud83d``,
        :func:`sendable`), as every pane's text shows it already."""
        traits = {k: sendable(v) for k, v in traits.items()}
        changed = {k: v for k, v in traits.items() if getattr(widget, k) != v}
        if not changed:
            return 0
        with widget.hold_sync():
            for k, v in changed.items():
                setattr(widget, k, v)
        return 1

    def _hidden(self, text: str) -> str:
        """``text`` (a label or note the view sends to the browser) with every secret the
        lab was given as ``[secret]``: a bin named by a secret is offered so, and a saved
        notebook's widget state holds no secret of the lab's."""
        return self.store.shown_text(text)

    def _refresh_options(self) -> int:
        """Offer each bin and provider stored (and "(no provider)" once captures without one
        are). A choice made that is no longer stored (``lab.clear()``, the Clear database
        button, retention, another process's clear) stays offered and chosen: the table is
        empty, "0 of N match the filter", until a capture of it comes, as when retention
        deletes its captures. It went back to "all bins" after a clear: the view then showed
        every bin's captures although the person had chosen one."""
        now = time.monotonic()
        with self._lock:
            if not self._options_dirty or now - self._options_at < _OPTIONS_EVERY:
                return 0
            self._options_dirty = False
        self._options_at = now
        sent = 0
        for dd, col, known, label in (
            (self.bin_filter, "bin", self._known_bins, "all bins"),
            (self.provider_filter, "provider", self._known_providers, "all providers"),
        ):
            values = self.store.distinct(col)
            if col == "provider" and NO_PROVIDER not in values and self.store.count(
                    provider=NO_PROVIDER):  # (a choice for the captures without one, once
                values = [*values, NO_PROVIDER]  # there are some: as each name is offered)
            known.clear()
            known.update(values)
            fixed = self.filters.get(col)
            opts = [(label, ALL)] + [(_choice(col, v), v) for v in values]
            if fixed is not None and not isinstance(fixed, (list, tuple, set, frozenset)):
                opts = [(_choice(col, str(fixed)), fixed)]
            elif dd.value != ALL and dd.value not in values:  # (chosen, none stored now)
                opts.append((_choice(col, dd.value), dd.value))
            keep = dd.value if any(v == dd.value for _, v in opts) else opts[0][1]
            opts = [(self._hidden(text), v) for text, v in opts]  # (labels reach the browser)
            if list(dd.options) != opts:
                with dd.hold_sync():
                    dd.options = opts
                    dd.value = keep
                sent += 1
        return sent


def _choice(col: str, value: str) -> str:
    """The label of a bin or provider dropdown's choice ``value``: as it is (its invisible
    characters shown), ``/`` for the empty bin, :data:`NO_PROVIDER_LABEL` for the captures
    without a provider. A bin a sender spelt with ``%2F`` (``/%2Forders/x``: bin ``/orders``)
    says that choosing it shows bin ``orders`` too, as the ``bin`` filter means
    (:func:`hooklab.filters.bin_name`): listed apart, it read as that bin alone.

    >>> _choice("bin", "/orders"), _choice("bin", "orders"), _choice("bin", "/")
    ('/orders (and bin orders)', 'orders', '/ (and the captures to /)')
    """
    if col == "provider" and value == NO_PROVIDER:
        return NO_PROVIDER_LABEL
    shown = R.visible(value) or "/"
    twin = bin_name(value) if col == "bin" else value
    if twin != value:
        return f"{shown} (and {'bin ' + R.visible(twin) if twin else 'the captures to /'})"
    return shown
