"""Which rows a pick in the live view's table means, when the table shown takes new rows in
place: the rows the browser said it shows (LiveView through its traits and a dummy comm, as
tests/test_widget.py; tests/browser/test_live_keyboard.py checks it in JupyterLab).

The browser's link copies the table's classes (``hl-tN``: which table, ``hl-gN``: which row
list it holds) to a widget never displayed and sends them to the kernel as it draws a new
row list; here ``seen.set_state(...)`` is that message, ``table.set_state({"index": k})`` a
key or click.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import comm
import ipywidgets as W
import pytest
from test_widget import DummyComm

from hooklab.store import CaptureStore
from hooklab.widget import LiveView


@pytest.fixture(autouse=True)
def _no_front_end(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(comm, "create_comm", lambda **kw: DummyComm(**kw))
    DummyComm.log = []


@pytest.fixture
def view(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[LiveView, CaptureStore]]:
    from hooklab.widget import view as view_mod

    monkeypatch.setattr(view_mod, "_HOLD", 0.3, raising=False)  # (rows still after a pick)
    monkeypatch.setattr(view_mod, "_KEEP_EVERY", 0.0, raising=False)
    store = CaptureStore(":memory:")
    v = LiveView(store)
    try:
        yield v, store
    finally:
        v.close()
        store.close()


def _post(store: CaptureStore, path: str) -> int:
    cap = store.add_sync({"method": "POST", "path": path, "body": b"{}",
                          "headers": [("Content-Type", "application/json")]})
    return cap.id


def _wait(pred: Callable[[], bool], timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            return False
        time.sleep(0.02)
    return True


def _in_place(v: LiveView, store: CaptureStore,
              n: int) -> tuple[W.Select, list[int], list[int], list[str]]:
    """Six rows, a pick on the third, then ``n`` newer rows in place: (the table, the rows
    it showed before, after, the classes the browser said: those of the first list)."""
    for i in range(6):
        _post(store, f"/seen/old-{i}")
    assert _wait(lambda: len(v.rows) == 6)
    table, before = v.table, v.rows
    table.set_state({"index": 2})  # a click: the rows hold still a moment, then come in place
    assert v.selected is not None and v.selected.id == before[2]
    seen = v._seen_box
    assert seen is not None  # (made at the first pick on the table shown)
    said = list(table._dom_classes)
    seen.set_state({"_dom_classes": said})  # the link, as it is made
    newer = [_post(store, f"/seen/new-{i}") for i in range(n)]
    assert _wait(lambda: v.rows[:1] == [newer[-1]])
    assert v.table is table  # (the same table, which keeps the focus)
    return table, before, v.rows, said


@pytest.mark.parametrize("n", [1, 3], ids=["one-new-row", "three-new-rows"])
def test_a_key_pressed_before_the_browser_drew_the_new_rows_opens_the_row_it_showed(view, n):
    """ArrowDown from the open row (index 2) sends index 3. With three new rows the kernel
    read it against them (a row three above); with one, index 3 is the open row's new place,
    the index the kernel already held: traitlets saw no change, and the key was lost."""
    v, store = view
    table, before, after, _ = _in_place(v, store, n)
    # ArrowDown in the rows the browser still shows: index 3 there is before[3]
    table.set_state({"index": 3})
    assert v.selected.id == before[3]  # (read against the new rows: after[3], n rows above)
    assert table.index == after.index(before[3])  # highlighted at its new place
    # the browser draws the new rows and says so: the next key is read against them
    v._seen_box.set_state({"_dom_classes": list(table._dom_classes)})
    table.set_state({"index": after.index(before[3]) + 1})
    assert v.selected.id == before[4]
    table.set_state({"index": 0})  # Home
    assert v.selected.id == after[0]


def test_without_word_from_a_browser_a_pick_is_read_against_the_newest_rows(view):
    """No front end that runs the link (the kernel's own tests, a front end without
    ipywidgets links): the newest rows sent, as before."""
    v, store = view
    for i in range(4):
        _post(store, f"/seen/quiet-{i}")
    assert _wait(lambda: len(v.rows) == 4)
    table = v.table
    table.set_state({"index": 1})
    newer = _post(store, "/seen/quiet-new")
    assert _wait(lambda: v.rows[:1] == [newer])
    table.set_state({"index": 3})
    assert v.selected.id == v.rows[3]


#: what else the link's widget may be told (a second browser, a crafted message): ignored,
#: the kernel goes on reading picks against the list last said. {t}: the table's number,
#: {g}: its newest list's, {old}: the list said before it
HOSTILE = [
    ["hl-t{t}", "hl-g{unknown}"],  # a list never sent
    ["hl-t9999", "hl-g{g}"],  # no such table
    ["hl-t{t}"], ["hl-g{g}"], [],  # half a word, none
    ["hl-t{t}", "hl-g" + "9" * 5000],  # (int() of 5,000 digits raises ValueError)
    ["hl-t{t}", "hl-g-1"], ["hl-t{t}", "hl-g{g}.0"], ["HL-T{t}", "HL-G{g}"],
    ["hl-t\u0660", "hl-g\u0661"],  # (Arabic-Indic digits: str.isdigit() says yes)
    ["hl-t{t} hl-g{g}"],  # one class with a space
    ["hl-t{t}", "hl-g{old}"],  # an older list after a newer one (a second browser, behind)
]


@pytest.mark.parametrize("classes", HOSTILE, ids=lambda c: repr(c)[:40])
def test_what_else_the_kernel_is_told_changes_no_pick(view, classes):
    v, store = view
    table, before, after, said = _in_place(v, store, 2)
    g = int(table._dom_classes[-1][4:])
    told = [c.format(t=v._tables.index(table), g=g, old=int(said[-1][4:]), unknown=g + 50)
            if "{" in c else c for c in classes]
    v._seen_box.set_state({"_dom_classes": told})
    table.set_state({"index": 5})  # read against what the browser said last: the first list
    assert v.selected.id == before[5], told
    v._seen_box.set_state({"_dom_classes": list(table._dom_classes)})  # now the new one
    v._seen_box.set_state({"_dom_classes": told})
    table.set_state({"index": 1})
    assert v.selected.id == after[1], told
    assert v.error is None
