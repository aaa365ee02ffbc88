"""The Diff tab of the live view follows deletions, in a real JupyterLab + headless Chromium.

A person clicks a push, opens "Diff with previous" (it compares with the push before), then
runs ``lab.retention_count = 1`` in another cell: retention deletes that earlier push, and the
tab went on showing the comparison with it. Now it says "nothing to compare"; after
``lab.clear()`` the open capture's tabs say it is gone. Expected text is written from what
was sent: two pushes, ``{"n": 1}`` then ``{"n": 2}``, the lab's first two ids.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

from _jupyter import open_live_view, run_cell

ROW = ".hooklab-live .hl-table select option"
SETUP = """import hooklab
lab = hooklab.start(port=0, db="diff-deletions.sqlite3")
open("diff-url.txt", "w").write(lab.url)
lab.live()"""
RETENTION = "lab.retention_count = 1"
CLEAR = "lab.clear()"
GH = {"X-GitHub-Event": "push", "Content-Type": "application/json", "User-Agent": "t"}


def _post(url: str, payload: dict[str, Any]) -> int:
    req = urllib.request.Request(url, data=json.dumps(payload).encode(), headers=GH,
                                 method="POST")
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status


def _tab(page: Any, title: str) -> None:
    page.locator(".hooklab-live .lm-TabBar-tab", has_text=title).click()


def test_the_diff_tab_follows_retention_and_clear(jupyter_lab: Any, page: Any,
                                                  artifacts: Path) -> None:
    base = open_live_view(jupyter_lab, page, "diff-deletions.ipynb", [SETUP, RETENTION, CLEAR],
                          "diff-url.txt")
    try:
        assert _post(f"{base}/gh/one", {"n": 1}) == 200
        assert _post(f"{base}/gh/two", {"n": 2}) == 200
        row = page.locator(ROW, has_text="gh/two").first
        row.wait_for(state="attached", timeout=10_000)
        row.click(force=True)
        page.locator(".hooklab-live .hl-detail .hl-title", has_text="POST /gh/two").wait_for(
            timeout=10_000)
        _tab(page, "Diff with previous")
        pane = page.locator(".hooklab-live .hl-diffpane")
        pane.locator(".hl-title", has_text="#2 against the previous push: #1").wait_for(
            timeout=10_000)
        cells = pane.locator("table.hl-diff tr").nth(1).locator("th, td").all_inner_texts()
        assert cells == ["n", "changed", "1", "2"]

        run_cell(page, 1)  # retention keeps the newest: #1 is deleted, #2 stays open
        pane.locator(".hl-title", has_text="#2: no earlier delivery of push is stored").wait_for(
            timeout=15_000)
        assert pane.locator(".hl-none").inner_text() == "nothing to compare"
        assert pane.locator("table").count() == 0  # (no comparison with the deleted #1 left)
        page.locator(".hooklab-live").screenshot(path=str(artifacts / "diff-after-retention.png"))

        run_cell(page, 2)  # lab.clear(): the open capture itself is gone
        gone = "#2 is no longer stored: deleted by retention or a clear"
        pane.locator(".hl-title", has_text=gone).wait_for(timeout=15_000)
        assert pane.locator(".hl-none").inner_text() == "nothing to compare"
        _tab(page, "Details")
        page.locator(".hooklab-live .hl-none", has_text=gone).wait_for(timeout=5_000)
        assert page.locator(".hooklab-live .hl-detail").count() == 0
        errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
        assert errors.count() == 0
    except BaseException:
        page.screenshot(path=str(artifacts / "diff-deletions-failure.png"))
        raise
