"""What the live view's table and counter say, as a person reads them while webhooks arrive.

Found by a tester in a real JupyterLab (tests/browser/test_live_view_ends_browser.py shows the
views there):

- an Older page whose rows retention deleted showed none and the counter said "200 captures ·
  rows 201–200 · 50 newer", after a burst "0 captures · 0/s · 300 newer — press Newer · waiting
  for webhooks…", hundreds stored. Now the counter says the captures stored, the page moves to
  the oldest page left (or the newest rows) and says so;
- while rows hold still for the keyboard the counter said "rows 1–79 · 40 newer waiting" of a
  table of 39 rows: now the range is the rows shown, below those waiting;
- the table undid every escape of a path: ``/x%2Fy/z`` and ``/x/y/z`` both read ``x/y/z``,
  ``/q/%3F`` read ``q/?``, ``/p/a%2520b`` read ``a%20b`` (as ``/p/a%20b`` did);
- after ``lab.clear()`` the Raw body and Copy as curl tabs went back to "click a row" while
  Details, Tree and Diff said "#N is no longer stored".

A real lab on 127.0.0.1 with its SQLite file, webhooks over real sockets; its live view read
through its traits (what the browser is sent). Expected values are written by hand from what
was sent.
"""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from _http import post
from test_widget import wait_until

import hooklab

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[hooklab.HookLab]:
    started = hooklab.HookLab(port=0, db=str(tmp_path / "captures.sqlite3")).start()
    try:
        yield started
    finally:
        started.stop()


def until(pred: Callable[[], Any], timeout: float = 15.0) -> bool:
    """Whether ``pred()`` came true within ``timeout`` seconds (a webhook's way to the view)."""
    return wait_until(pred, timeout)


def _said(view: Any) -> str:
    return re.sub(r"<[^>]+>", "", view.counter.value)


def _send(lab: hooklab.HookLab, path: str, n: int = 1, start: int = 0) -> None:
    for i in range(start, start + n):
        assert post(lab.url_for(path, str(i)), json.dumps({"i": i}).encode(),
                    {"Content-Type": "application/json"})[0] == 200


# -- an Older page retention deleted ----------------------------------------------------------
#: (webhooks sent in this step, Older clicks then, the ids the table shows after (newest
#:  first), what the counter says, what it must not say). Ten rows a page, retention keeps 25.
#: Worked out by hand: ids are 1, 2, ... in the order sent; the newest 25 stay stored.
Step = tuple[int, int, list[int], list[str], list[str]]
FIRST: list[Step] = [
    # 25 stored (1-25); page 2 of the rows frozen at #25: #15-#6, ranks 11-20
    (25, 1, list(range(15, 5, -1)), ["25 captures", "rows 11–20"], ["deleted"]),
    # then page 3: #5-#1, ranks 21-25
    (0, 1, list(range(5, 0, -1)), ["25 captures", "rows 21–25"], ["deleted"]),
    # 5 more (26-30): retention deletes #1-#5, page 3 is empty: the oldest page left is page
    # 2 of the frozen rows (#15-#6), below the 5 newer: ranks 16-25 of the 25 stored
    (5, 0, list(range(15, 5, -1)),
     ["25 captures", "rows 16–25", "5 newer", "now the oldest page left"], ["rows 21"]),
]
STEPS: dict[str, list[Step]] = {
    # 10 more (31-40): #6-#15 deleted, the 10 frozen rows left fill their first page only:
    # the first page of a view not paused is the newest rows (not frozen: no "press Newer")
    "not paused": [*FIRST, (10, 0, list(range(40, 30, -1)),
                            ["25 captures", "rows 1–10", "now the newest rows"],
                            ["waiting for webhooks", "newer"])],
    # paused: that first page of the frozen rows (#25-#16), below the 15 newer hidden
    "paused": [*FIRST, (10, 0, list(range(25, 15, -1)),
                        ["25 captures", "rows 16–25", "now the oldest page left",
                         "paused (15 newer hidden)"], ["waiting for webhooks"])],
}


@pytest.mark.parametrize("paused", list(STEPS))
def test_an_older_page_retention_deleted_moves_and_says_so(lab: hooklab.HookLab,
                                                           paused: str) -> None:
    from hooklab.widget import LiveView  # (README: the view made by hand)

    lab.retention_count = 25
    view = LiveView(lab.store, max_rows=10)
    try:
        sent = 0
        for step, (n, clicks, rows, says, never) in enumerate(STEPS[paused]):
            _send(lab, "older", n, start=sent)
            sent += n
            assert until(lambda s=sent: lab.store.count() == min(s, 25) and lab.store.last_id == s)
            if step == 0:  # (Older pages down from the newest row the person saw)
                assert until(lambda s=sent: view.rows[:1] == [s])
                view.paused = paused == "paused"
            for _ in range(clicks):
                view.older_button.click()
            ok = until(lambda rows=rows, says=says: view.rows == rows
                       and all(s in _said(view) for s in says))
            assert ok, (view.rows, _said(view))
            assert not any(s in _said(view) for s in never), _said(view)
        assert view.error is None
    finally:
        view.close()


# -- rows holding still for the keyboard ------------------------------------------------------
def test_the_row_range_is_the_rows_shown_while_they_hold_still(lab: hooklab.HookLab) -> None:
    view = lab.live()
    try:
        _send(lab, "keys", 30)
        assert until(lambda: len(view.rows) == 30)
        view.table.set_state({"index": 9})  # a click in the browser (then keys: picks again)
        _send(lab, "new", 12)
        held = lambda: "12 newer waiting" in _said(view)  # noqa: E731
        end = time.monotonic() + 20
        while not held() and time.monotonic() < end:  # a person pressing a key now and then
            view.table.set_state({"index": 9})
            time.sleep(0.2)
        said = _said(view)
        assert held() and len(view.rows) == 30, (said, len(view.rows))
        # 42 stored; the 30 shown are the 13th to the 42nd newest (12 newer wait above them)
        assert "42 captures" in said and "rows 13–42" in said, said
    finally:
        view.close()


# -- paths in the table -----------------------------------------------------------------------
#: (request target sent as these bytes, the table's path column): escapes of UTF-8
#: characters read as the characters, every other escape as sent (worked out from the bytes)
PATHS: list[tuple[bytes, str]] = [
    (b"/x%2Fy/z", "x%2Fy/z"),
    (b"/x/y/z", "x/y/z"),
    (b"/p/a%2520b", "p/a%2520b"),
    (b"/p/a%20b", "p/a%20b"),
    (b"/p/a+b", "p/a+b"),
    (b"/p/%41BC", "p/%41BC"),
    (b"/p/ABC", "p/ABC"),
    (b"/q/%3F?k=v", "q/%3F"),
    (b"/q/??k=v", "q/"),
    (b"/r/%25", "r/%25"),
    (b"/r/%", "r/%"),
    (b"/c/%C3%A9", "c/\u00e9"),    # C3 A9 is é
    (b"/c/%c3%a9%2F", "c/\u00e9%2F"),
    (b"/c/\xc3\xa9", "c/\u00e9"),
    (b"/c/%E9", "c/%E9"),          # a lone E9 is no UTF-8: kept
    (b"/c/%C3%A9\xff", "c/%C3%A9%FF"),  # no UTF-8 as a whole: as it came
]


def test_the_table_shows_path_escapes_as_sent(lab: hooklab.HookLab) -> None:
    port = lab.bound_port
    assert port is not None
    for target, _ in PATHS:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"POST " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      b"Content-Length: 0\r\nConnection: close\r\n\r\n")
            s.settimeout(10)
            assert s.recv(100).startswith(b"HTTP/1.1 200"), target
    view = lab.live()
    try:
        assert until(lambda: len(view.rows) == len(PATHS))
        by_id = {cid: label for label, cid in view.table.options}
        # the column after the time and the method, up to the next run of spaces
        shown = [re.split(r" {2,}", by_id[cid])[2] for cid in sorted(by_id)]
        assert shown == [want for _, want in PATHS]
    finally:
        view.close()


# -- every tab after lab.clear() --------------------------------------------------------------
def test_every_tab_says_the_open_capture_is_gone_after_a_clear(lab: hooklab.HookLab) -> None:
    headers = {"X-GitHub-Event": "push", "Content-Type": "application/json"}
    assert post(lab.url_for("gh"), b'{"n": 1}', headers)[0] == 200
    view = lab.live()
    try:
        assert until(lambda: len(view.rows) == 1)
        view.table.set_state({"index": 0})  # a click on #1
        assert view.selected is not None and view.selected.id == 1
        gone = "#1 is no longer stored: deleted by retention or a clear"
        panes: dict[str, Callable[[], str]] = {
            "Details": lambda: view.detail.value,
            "Tree": lambda: view.field_info.value,
            "Diff with previous": lambda: view.diff_pane.value,
            "Raw body": lambda: view.raw.value,
            "Copy as curl": lambda: view.curl.placeholder,
        }
        lab.clear()
        for tab, (title, pane) in enumerate(panes.items()):
            view.tabs.selected_index = tab
            assert until(lambda pane=pane: gone in pane()), (title, pane())
        assert view.curl.value == ""  # (nothing to copy: no command of a deleted capture)
        # a capture that arrives and is opened: its command, the placeholder as it was
        assert post(lab.url_for("gh"), b'{"n": 2}', headers)[0] == 200
        assert until(lambda: len(view.rows) == 1)
        view.table.set_state({"index": 0})
        assert "curl" in view.curl.value and gone not in view.curl.placeholder
        assert gone not in view.raw.value
    finally:
        view.close()
