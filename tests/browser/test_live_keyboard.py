"""The keyboard in the live view's capture table, in a real JupyterLab + headless Chromium.

What a person does: click a capture row, press ArrowDown (the next capture should open), press
End / Home / PageDown / PageUp, then keys that are notebook shortcuts in command mode (``b``,
``a``, ``d d``, Enter, Escape and letters). None of them may touch the notebook: its cell count, the cells'
kind, the active cell and the mode stay as they were, and the table keeps the focus.

In the notebook itself that is not what happens (JupyterLab 4 gives a focused ``<select>``'s
keys to the notebook's command-mode shortcuts, and ipywidgets 8 offers no way to say
otherwise; see :class:`hooklab.widget.LiveView`): that test is a strict ``xfail``, so the
day JupyterLab or ipywidgets changes this it fails, and the README's limit can go. The same
keys in the view JupyterLab opens with "Create New View for Cell Output", the way the README
gives for using the keyboard, must behave.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from _jupyter import Webhooks, run_cell
from playwright.sync_api import Error as PlaywrightError

SETUP = """import hooklab
lab = hooklab.start(port=0, db=":memory:")
for i in range(6):
    hooklab.send(lab.url_for("keys", f"row-{i}"), payload={"i": i})
lab.wait(6)
lab.live()"""

#: what the notebook looks like: cells, code cells, the active cell, edit mode
NOTEBOOK = """() => {
  const nb = document.querySelector('.jp-Notebook');
  const cells = [...nb.querySelectorAll('.jp-Cell')];
  return {cells: cells.length, code: nb.querySelectorAll('.jp-CodeCell').length,
          active: cells.findIndex(c => c.classList.contains('jp-mod-active')),
          edit: nb.classList.contains('jp-mod-editMode')};
}"""
#: notebook shortcuts in command mode (b, a: insert a cell; d d, x: delete / cut it; Enter:
#: edit mode; m, y: make it markdown / code), also after an Escape
LETTERS = ["b", "a", "d", "d", "Enter", "Escape", "x", "m", "y", "Escape", "b", "a"]


def _open(jupyter_lab: Any, page: Any, name: str, setup: str = SETUP) -> None:
    """A fresh workspace showing notebook ``name`` (``setup`` and two empty cells), run."""
    jupyter_lab.write_notebook(name, [setup, "", ""])
    page.goto(jupyter_lab.url_for(f"lab/tree/{name}") + "&reset")
    page.locator(".jp-Notebook .jp-CodeCell .cm-content").first.wait_for(timeout=30_000)
    page.get_by_text("Python 3 (ipykernel) | Idle").first.wait_for(timeout=30_000)
    run_cell(page, 0)
    page.locator(".hooklab-live .hl-table select option", has_text="keys/row-0").wait_for(
        state="attached", timeout=30_000)


def _shows(view: Any, path: str, timeout: float = 5.0) -> None:
    """Wait until the view's Details tab shows the capture sent to ``path``."""
    title = view.locator(".hl-detail .hl-title")
    deadline = time.monotonic() + timeout
    while not (title.count() and title.inner_text().endswith(f"POST {path}")):
        assert time.monotonic() < deadline, (
            f"details show {title.inner_text() if title.count() else 'nothing'!r}, "
            f"not {path}")
        view.page.wait_for_timeout(50)  # (the page's messages are handled meanwhile)


def _keys(page: Any, view: Any) -> None:
    """Click a row, move with the keyboard, press notebook shortcuts: only the table moves."""
    table = view.locator(".hl-table select")
    table.locator("option").nth(1).click()  # rows are newest first: row-5, row-4, ...
    _shows(view, "/keys/row-4")
    before = page.evaluate(NOTEBOOK)
    focused = "s => document.activeElement === s"

    page.keyboard.press("ArrowDown")
    time.sleep(0.3)  # a notebook shortcut has run by now
    assert page.evaluate(NOTEBOOK) == before, "ArrowDown reached the notebook"
    assert table.evaluate(focused), "ArrowDown took the focus out of the table"
    assert table.evaluate("s => s.selectedIndex") == 2
    _shows(view, "/keys/row-3")  # the kernel heard of it: the details follow
    for key, index, path in (("End", 5, "/keys/row-0"), ("Home", 0, "/keys/row-5"),
                             ("PageDown", 5, "/keys/row-0"), ("PageUp", 0, "/keys/row-5")):
        page.keyboard.press(key)
        assert table.evaluate("s => s.selectedIndex") == index, key
        _shows(view, path)

    for key in LETTERS:
        page.keyboard.press(key)
        time.sleep(0.1)
    time.sleep(1.2)  # past Lumino's chord timeout (1 s), for a "d" waiting for its second "d"
    assert page.evaluate(NOTEBOOK) == before, "a command-mode shortcut reached the notebook"
    assert table.evaluate(focused)
    assert table.evaluate("s => s.selectedIndex") == 0
    _shows(view, "/keys/row-5")


@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="JupyterLab 4 gives a focused <select>'s keys to notebook command "
                          "mode, and ipywidgets 8 cannot mark it otherwise (README: live view)")
def test_keys_in_the_table_stay_out_of_the_notebook(
    jupyter_lab: Any, page: Any, artifacts: Path
) -> None:
    _open(jupyter_lab, page, "keys.ipynb")
    _keys(page, page.locator(".jp-Notebook .hooklab-live"))


def _own_panel(page: Any) -> Any:
    """The README's way: right-click the view, "Create New View for Cell Output"; the view in
    that panel, once its rows are there."""
    page.locator(".jp-Notebook .hooklab-live .hl-counter").click(button="right")
    page.locator(".lm-Menu-itemLabel", has_text="Create New View for Cell Output").click()
    view = page.locator(".jp-LinkedOutputView .hooklab-live")
    view.locator(".hl-table select option", has_text="keys/row-0").wait_for(
        state="attached", timeout=10_000)
    return view


def test_keys_in_the_views_own_panel_stay_out_of_the_notebook(
    jupyter_lab: Any, page: Any, artifacts: Path
) -> None:
    """The README's way: right-click the view, "Create New View for Cell Output"."""
    _open(jupyter_lab, page, "keys-panel.ipynb")
    try:
        view = _own_panel(page)
        _keys(page, view)
    except BaseException:
        page.screenshot(path=str(artifacts / "live-keyboard-failure.png"))
        raise


#: the element with the keyboard focus: a capture table of the panel, seen, and its highlighted
#: row's text (null: the focus is elsewhere, e.g. on the page's body)
FOCUSED = """() => {
  const e = document.activeElement;
  if (!e || e.tagName !== 'SELECT' || !e.closest('.jp-LinkedOutputView .hooklab-live')
      || e.offsetParent === null) return {table: false, tag: e ? e.tagName : null};
  const o = e.options[e.selectedIndex];
  return {table: true, row: o ? o.text : null, index: e.selectedIndex};
}"""


def on_table(page: Any, timeout: float = 5) -> dict[str, Any]:
    """:data:`FOCUSED` once the focus is on the table: while rows come in (or right after a
    click, on a loaded machine) it may be between two tables for a moment. Bounded."""
    deadline = time.monotonic() + timeout
    while not (state := page.evaluate(FOCUSED))["table"]:
        assert time.monotonic() < deadline, f"the focus is not on the table after {timeout} s: {state}"
        page.wait_for_timeout(50)
    return state


def test_keys_in_the_panel_follow_the_rows_while_webhooks_arrive(
    jupyter_lab: Any, page: Any, artifacts: Path
) -> None:
    """At 3 webhooks a second, the table focused by a click became a hidden spare at the next
    refresh (6 of 7 trials): the focus went to the page and ArrowDown / End did nothing. Now
    the rows hold still while the person moves through them and then come into the same
    table: the focus stays, and each key opens the capture its row shows."""
    import re

    setup = SETUP.replace('lab.wait(6)', 'lab.wait(6)\nopen("keys-url.txt", "w").write(lab.url)')
    _open(jupyter_lab, page, "keys-stream.ipynb", setup)
    base = (jupyter_lab.root / "keys-url.txt").read_text().strip()
    sender = Webhooks(f"{base}/keys/s-", rate=3, seconds=60)

    def path(row: str) -> str:
        found = re.search(r"keys/(?:row|s)-\d+", row)
        assert found, row
        return "/" + found.group(0)

    def key(name: str) -> str:
        """Press ``name``: the table keeps the focus, the Details show its highlighted row
        (returned)."""
        page.keyboard.press(name)
        now = page.evaluate(FOCUSED)
        assert now["table"], (name, now)
        _shows(view, path_of(now["row"]), timeout=3)
        assert page.evaluate(FOCUSED).get("row") == now["row"], name  # (the rows held still)
        return now["row"]

    try:
        view = _own_panel(page)
        sender.start()
        view.locator(".hl-table select option", has_text="keys/s-3").wait_for(
            state="attached", timeout=10_000)
        time.sleep(0.5)
        # the third row clicked, whatever came since: the row the table then highlights says
        # which. Rows arriving redraw the options (3 a second), so an option looked up may be
        # gone by the time the mouse gets there: looked up again, a few times (bounded)
        for attempt in range(10):
            option = view.locator(".hl-table select option").nth(2).element_handle()
            try:
                option.click(timeout=2_000)
                break
            except PlaywrightError:
                if attempt == 9:
                    raise
                time.sleep(0.1)
        clicked = view.locator(".hl-table select").evaluate(
            "s => s.options[s.selectedIndex].text")
        _shows(view, path(clicked), timeout=3)
        for _ in range(3):
            time.sleep(0.7)
            key("ArrowDown")
        before = page.evaluate(FOCUSED)
        time.sleep(3.5)  # the rows are still for a moment after a key, then come in place
        after = page.evaluate(FOCUSED)
        assert after["table"], after  # (the focus stayed on the table)
        assert after["row"] == before["row"] and after["index"] > before["index"], (before, after)
        _shows(view, path(after["row"]))  # (still the capture opened)
        for _ in range(2):
            key("ArrowDown")
            time.sleep(0.7)
        # Home: the newest row, one the stream sent. (End, to the oldest of the 200 rows, is
        # not pressed here: that row leaves the table as rows come in, and the focus went to
        # the page then in about one run of three: a gap of the view, not of this test)
        assert "keys/s-" in key("Home")
        assert sender.is_alive() and sender.sent >= 20  # (webhooks arrived all along)
    except BaseException:
        page.screenshot(path=str(artifacts / "live-keyboard-stream-failure.png"))
        raise
    finally:
        sender.stop()


class HeldKernel:
    """The kernel's messages to the page, held back on demand: what a loaded machine or a slow
    network does to them, at a moment the test chooses. The page's messages to the kernel
    pass at once. (Playwright hands the frames over only while the test is inside one of its
    calls: wait with ``page.wait_for_timeout``, not ``time.sleep``.)"""

    def __init__(self, page: Any) -> None:
        self.page, self.hold, self.held = page, False, []  # type: ignore[var-annotated]
        page.route_web_socket(re.compile(r"/api/kernels/[^/?]+/channels"), self._route)

    def _route(self, ws: Any) -> None:
        server = ws.connect_to_server()
        ws.on_message(server.send)
        server.on_message(lambda frame: self._down(ws, frame))

    def _down(self, ws: Any, frame: str | bytes) -> None:
        if self.hold:
            self.held.append((ws, frame))
        else:
            ws.send(frame)

    def holds(self, *parts: bytes) -> bool:
        """Whether one message held back has all of ``parts``."""
        return any(all(p in (f if isinstance(f, bytes) else f.encode()) for p in parts)
                   for _, f in self.held)

    def wait_holding(self, *parts: bytes, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self.holds(*parts):
            if time.monotonic() > deadline:
                return False
            self.page.wait_for_timeout(20)
        return True

    def release(self) -> None:
        """Hand the held messages over, in order (any arriving meanwhile join the end)."""
        while self.held:
            ws, frame = self.held.pop(0)
            ws.send(frame)
        self.hold = False


def _first_pick(page: Any, view: Any, table: Any, tries: int = 3) -> None:
    """Click the fifth row of the table shown until the focus stays on it and its capture is
    open. The view swaps tables at each refresh until a pick reaches the kernel: a click made
    while such a swap is on its way to the browser lands on a table hidden a moment later, and
    the focus goes to the page (README: the keyboard in the live view, "click a row to get it
    back"; a full run at 4 workers on 2 cores met it). The picks made after it hold the rows
    still or come into the same table, which is what the test is about. Bounded."""
    for _ in range(tries):
        table.locator("option").nth(4).click()
        try:
            picked = on_table(page)
        except AssertionError:
            continue  # (hidden right after the click)
        _shows(view, path_of(picked["row"]), timeout=5)
        page.wait_for_timeout(1_000)  # (a swap sent before the pick arrived has come by now)
        if page.evaluate(FOCUSED)["table"]:
            return
    raise AssertionError(f"the focus left the table after each of {tries} clicks")


def path_of(row: str | None) -> str:
    """The path a row of the keys tests names."""
    found = re.search(r"keys/(?:row|s)-\d+", row or "")
    assert found, row
    return "/" + found.group(0)


#: what a person does in the table while the kernel's newest rows are on their way: a key,
#: or a click on the option ``n`` rows below the one highlighted
MOVES = ["ArrowDown", "ArrowUp", ("click", 2), "Home", "PageDown", "End", "PageUp", "ArrowDown"]


def test_a_key_pressed_while_new_rows_are_on_their_way_opens_the_row_it_highlights(
    jupyter_lab: Any, page: Any, artifacts: Path
) -> None:
    """The table shown takes new rows in place (three webhooks a second), and the browser
    needs a moment to draw them: a key pressed in that moment moves through the rows it still
    shows. The kernel read that index against the new rows: ArrowDown highlighted row-5 and
    opened s-2, three rows above (CI, a loaded machine). Here the kernel's messages are held
    back while a refill is on its way, a key is pressed, then they arrive: each key opens the
    capture its row showed, and the table then highlights that capture at its new place."""
    held = HeldKernel(page)
    setup = SETUP.replace('lab.wait(6)', 'lab.wait(6)\nopen("keys-url.txt", "w").write(lab.url)')
    _open(jupyter_lab, page, "keys-held.ipynb", setup)
    base = (jupyter_lab.root / "keys-url.txt").read_text().strip()
    sender = Webhooks(f"{base}/keys/s-", rate=3, seconds=90)

    try:
        view = _own_panel(page)
        table = view.locator(".hl-table select")
        sender.start()
        view.locator(".hl-table select option", has_text="keys/s-6").wait_for(
            state="attached", timeout=15_000)
        _first_pick(page, view, table)  # (rows stay still a moment after a pick)
        for move in MOVES:
            held.hold = True  # the next rows the kernel sends: held until the key was pressed
            refill = held.wait_holding(b'"_options_labels"', b"keys/s-", timeout=8)
            assert refill, f"no new rows came in place within 8 s ({move})"
            before = on_table(page)
            if isinstance(move, tuple):
                table.locator("option").nth(before["index"] + move[1]).click()
            else:
                page.keyboard.press(move)
            now = page.evaluate(FOCUSED)
            assert now["table"] and now["row"] != before["row"], (move, before, now)
            # the kernel has read the pick (its echo of it is held too), then the page gets all
            held.wait_holding(b"echo_update", b'"index"', timeout=5)
            held.release()
            _shows(view, path_of(now["row"]), timeout=5)
            # (the highlight moves to the row's new place; while the rows come in, the focus
            # may be between two tables for a moment: looked at again, as the end is what counts;
            # 6 s, as on_table's 5 s after a click: the full suite at 4 workers on 2 cores met
            # 3 s with the row highlighted and opened, the focus still on the page's body)
            deadline = time.monotonic() + 6
            while (after := page.evaluate(FOCUSED)).get("row") != now["row"]:
                assert time.monotonic() < deadline, (move, now, after)
                page.wait_for_timeout(50)
            assert after["table"], (move, after)  # (the focus stayed on the table)
            _shows(view, path_of(now["row"]), timeout=1)  # (and the capture opened stays open)
        assert sender.is_alive()  # (webhooks arrived all along)
    except BaseException:
        page.screenshot(path=str(artifacts / "live-keyboard-held-failure.png"))
        raise
    finally:
        held.release()
        sender.stop()
