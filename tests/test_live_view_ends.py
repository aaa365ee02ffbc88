"""How a live view ends, as a notebook receives it: a kernel restart, and a newer view.

After a kernel restart (a tester's JupyterLab, tests/browser/test_live_view_ends_browser.py)
``lab.live()``'s view went blank without a word (the lab's stop at exit closed its widgets)
and a view made with ``LiveView(lab.store)`` kept saying "stopped: not receiving webhooks —
%hooklab start or lab.start() resumes", its table and buttons on, in a kernel that was gone.
Now both say the kernel shut down or restarted, keep their rows and turn their controls off,
and no widget of theirs is closed. A second ``lab.live()`` with the same filters closed the
first view as silently: now a line in its place says a newer view replaced it.

A real kernel; webhooks over 127.0.0.1 into a real SQLite file; what is checked is every
message the kernel published, as a browser receives them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from _http import post
from _kernels import KernelSession, kernel_in

pytestmark = pytest.mark.timeout(300)

SETUP = """import json, time, hooklab
from hooklab.widget import LiveView
lab = hooklab.HookLab(port=0, db={db!r}).start()
first = lab.live()
mine = LiveView(lab.store)
old = lab.live(bin="gh")
def ids(v):
    return {{"box": v.model_id, "counter": v.counter.model_id, "table": v.table.model_id,
            "older": v.older_button.model_id, "search": v.search.model_id}}
print(json.dumps({{"url": lab.url, "first": ids(first), "mine": ids(mine), "old": ids(old)}}))"""

SHOWN = """deadline = time.monotonic() + 15
while not all(len(v.rows) == 3 for v in (first, mine, old)) and time.monotonic() < deadline:
    time.sleep(0.05)
print(json.dumps([[v.rows, v.table.model_id] for v in (first, mine, old)]))"""

#: what the counter of a view whose kernel exited says, and words it must not say
GONE = "stopped: this view's kernel shut down or restarted"
NOT_SAID = ("resumes", "lab.start()", "waiting")
REPLACED = "closed: a newer view with the same filters replaced this one"


def _text(html: object) -> str:
    return re.sub(r"<[^>]+>", "", str(html or ""))


def _views_shown(k: KernelSession, tmp_path: Path) -> dict[str, dict[str, str]]:
    """Three views made in kernel ``k``, each showing the three pushes sent; their ids."""
    ids = json.loads(k.cell(SETUP.format(db=str(tmp_path / "captures.sqlite3"))))
    for n in range(3):
        headers = {"X-GitHub-Event": "push", "Content-Type": "application/json"}
        assert post(f"{ids['url']}/gh/{n}", json.dumps({"n": n}).encode(), headers)[0] == 200
    shown = json.loads(k.cell(SHOWN))
    assert [rows for rows, _ in shown] == [[3, 2, 1]] * 3
    for view, (_, table) in zip(("first", "mine", "old"), shown, strict=True):
        ids[view]["table"] = table  # (the table shown now: one of a pool, see LiveView)
    return ids


def test_a_newer_view_leaves_a_line_in_the_place_of_the_old_one(tmp_path: Path) -> None:
    with kernel_in(tmp_path) as k:
        old = _views_shown(k, tmp_path)["old"]
        mark = len(k.published)
        k.cell('newer = lab.live(bin="gh")')
        assert old["box"] not in k.comms_closed(mark)  # (its box stays, holding one line)
        assert old["counter"] in k.comms_closed(mark)  # (its widgets go: nothing left behind)
        children = k.sent(old["box"], "children")
        assert isinstance(children, list) and len(children) == 1, children
        note = children[0].removeprefix("IPY_MODEL_")
        assert REPLACED in _text(k.sent(note, "value")), k.sent(note, "value")
        # (the newer view and one of other filters live on)
        assert json.loads(k.cell("print(json.dumps([newer.rows, mine.rows, first.rows]))")
                          ) == [[3, 2, 1]] * 3


def test_after_a_kernel_restart_every_view_says_its_kernel_is_gone(tmp_path: Path) -> None:
    with kernel_in(tmp_path) as k:
        ids = _views_shown(k, tmp_path)
        mark = len(k.published)
        k.km.restart_kernel(now=False)
        for view in ("first", "mine", "old"):
            said = _text(k.until_sent(ids[view]["counter"], "value",
                                      lambda v: GONE in _text(v), timeout=30))
            assert GONE in said and not any(w in said for w in NOT_SAID), (view, said)
            for control in ("table", "older", "search"):
                assert k.sent(ids[view][control], "disabled") is True, (view, control)
            labels = k.sent(ids[view]["table"], "_options_labels")
            assert isinstance(labels, list) and len(labels) == 3, (view, labels)
        closed = k.comms_closed(mark)
        assert not closed & {i for view in ids.values() if isinstance(view, dict)
                             for i in view.values()}, closed
        # (the new kernel: nothing of the old lab)
        assert k.cell("print('lab' in globals())").strip() == "False"
