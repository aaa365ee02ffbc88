"""How live views end, in a real JupyterLab + headless Chromium (a tester's findings).

A second ``lab.live()`` in another cell blanked the first view without a word; after a kernel
restart ``lab.live()``'s view vanished (an empty output area) and a ``LiveView(lab.store)``
kept saying "stopped: not receiving webhooks — %hooklab start or lab.start() resumes", its
table and buttons on. Now the replaced view says a newer one replaced it, and after the
restart every view says its kernel shut down or restarted, keeps its rows, its controls off.
Three pushes are posted over 127.0.0.1; what is checked is what the page shows.
(tests/test_live_view_ends.py checks the kernel's messages without a browser.)
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from pathlib import Path
from typing import Any

from _jupyter import open_live_view, run_cell

SETUP = """import hooklab
lab = hooklab.start(port=0, db="ends.sqlite3")
open("ends-url.txt", "w").write(lab.url)
lab.live(bin="gh")"""
MINE = "from hooklab.widget import LiveView\nLiveView(lab.store)"
AGAIN = 'lab.live(bin="gh")'
GH = {"X-GitHub-Event": "push", "Content-Type": "application/json", "User-Agent": "t"}
REPLACED = "closed: a newer view with the same filters replaced this one"
GONE = "stopped: this view's kernel shut down or restarted"

#: each cell's output: its live view's counter and rows and whether its controls are all off
#: (the Tree tab's column box stays: it is there to copy from), or the text of an output
#: without a view
STATE = """() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell')].map(cell => {
  const v = cell.querySelector('.jp-OutputArea .hooklab-live');
  if (!v) return {text: cell.querySelector('.jp-OutputArea').innerText};
  const c = v.querySelector('.hl-counter');
  const shown = [...v.querySelectorAll('.hl-table select')];
  const controls = [...v.querySelectorAll('select, button, input')].filter(
    e => !e.closest('.hl-column'));
  return {counter: c ? c.innerText : null, text: v.innerText,
          rows: shown.length ? shown[0].options.length : 0,
          off: controls.length > 0 && controls.every(e => e.disabled),
          on: controls.filter(e => !e.disabled).map(e => e.outerHTML.slice(0, 120))};
})"""


def _post(url: str, n: int) -> int:
    req = urllib.request.Request(url, data=json.dumps({"n": n}).encode(), headers=GH,
                                 method="POST")
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status


def _until(page: Any, ok: Any, timeout: float = 30) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while not ok(state := page.evaluate(STATE)) and time.monotonic() < deadline:
        time.sleep(0.25)
    return state


def test_replaced_and_restarted_views_say_so(jupyter_lab: Any, page: Any,
                                             artifacts: Path) -> None:
    base = open_live_view(jupyter_lab, page, "ends.ipynb", [SETUP, MINE, AGAIN], "ends-url.txt")
    try:
        for n in range(3):
            assert _post(f"{base}/gh/{n}", n) == 200
        run_cell(page, 1)
        state = _until(page, lambda s: len(s) == 3 and s[0].get("rows") == 3
                       and s[1].get("rows") == 3)
        assert [s.get("rows") for s in state[:2]] == [3, 3], state

        run_cell(page, 2)  # the same filters again: the first view is replaced
        state = _until(page, lambda s: REPLACED in s[0]["text"] and s[2].get("rows") == 3)
        assert REPLACED in state[0]["text"] and state[2].get("rows") == 3, state
        assert state[1].get("rows") == 3 and "stopped" not in (state[1]["counter"] or "")

        sessions = json.load(urllib.request.urlopen(jupyter_lab.url_for("api/sessions"),
                                                    timeout=10))
        kernel = next(s["kernel"]["id"] for s in sessions if s["path"].endswith("ends.ipynb"))
        urllib.request.urlopen(urllib.request.Request(
            jupyter_lab.url_for(f"api/kernels/{kernel}/restart"), data=b"", method="POST"),
            timeout=60)
        # the two views that were live: the kernel is gone, rows kept, controls off
        # (Shift+Enter on the last cell added an empty one below: cells 1 and 2 hold the views)
        state = _until(page, lambda s: all(GONE in (x.get("counter") or "") for x in s[1:3]))
        for view in state[1:3]:
            said = view.get("counter") or ""
            assert GONE in said and not re.search("resumes|waiting", said), state
            assert view["rows"] == 3 and view["off"], view["on"]
        assert REPLACED in state[0]["text"], state  # (the replaced one still says so)
        page.locator(".jp-Notebook").screenshot(path=str(artifacts / "live-view-ends.png"))
    except BaseException:
        page.screenshot(path=str(artifacts / "live-view-ends-failure.png"))
        raise
