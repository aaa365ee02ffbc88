"""The live view follows deletions another process makes in its database file: that
process's ``lab.clear()`` or retention. Its once-a-second look at the file read the newest id
only: the table, the counter, the Diff tab and the open capture stayed as they were until
something else redrew them (and the counter then counted the deleted captures too: the store
remembered its counts). Now the look reads the oldest id too (two lookups of the primary key,
microseconds on a 100,000-capture file) and a deletion is handled as the lab's own are.

A real kernel serves the file and shows the view (three GitHub pushes posted over
127.0.0.1, #3 opened and its Diff tab shown, by the widget messages a browser sends); a
second real process opens a lab on the same file and deletes. What is checked is what the
kernel sent the browser and the rows the view shows; expected lines are written from the ids
and bodies sent.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from _http import post
from _kernels import KernelSession, kernel_in
from _views import lines

pytestmark = pytest.mark.timeout(300)

GH = {"X-GitHub-Event": "push", "Content-Type": "application/json", "User-Agent": "t"}
DETAILS, DIFF = 0, 2
GONE = "#3 is no longer stored: deleted by retention or a clear"
AGAINST_2 = ["#3 against the previous push: #2", "field change previous this", "n changed 2 3"]

#: what the second process does to the file, waiting (bounded) until it is done
OTHER = """import sys, time, hooklab
lab = hooklab.HookLab(port=0, db=sys.argv[1]).start()
exec(sys.argv[2])
deadline = time.monotonic() + 20
while not eval(sys.argv[3]) and time.monotonic() < deadline:
    time.sleep(0.05)
assert eval(sys.argv[3]), lab.store.stored_span()
lab.stop()"""

#: (case, what the other process runs, when it is done, the rows the view shows then, its
#:  counter's count, the Diff tab's lines, the Details tab's first line (None: #3's own))
CASES: list[tuple[str, str, str, list[int], str, list[str], str | None]] = [
    ("lab.clear()", "lab.clear()", "lab.store.count() == 0",
     [], "0 captures", [GONE, "nothing to compare"], f"{GONE}. Click a row to see its headers and body."),
    ("retention keeps #3 alone", "lab.retention_count = 1", "lab.store.get(2) is None",
     [3], "1 capture", ["#3: no earlier delivery of push is stored", "nothing to compare"], None),
    ("retention deletes #1 only: the Diff tab stays", "lab.retention_count = 2",
     "lab.store.get(1) is None", [3, 2], "2 captures", AGAINST_2, None),
    ("lab.clear(), then a push of its own (#4)",
     "lab.clear()\nhooklab.send(lab.url_for('gh'), provider='github', event='push', payload={'n': 4})",
     "lab.store.count() == 1", [4], "1 capture", [GONE, "nothing to compare"],
     f"{GONE}. Click a row to see its headers and body."),
]

SETUP = """import json, time, hooklab
lab = hooklab.HookLab(port=0, db={db!r}).start()
print(json.dumps(lab.url))"""

VIEW = """lab.wait(3, timeout=10)
view = lab.live()
deadline = time.monotonic() + 15
while view.rows != [3, 2, 1] and time.monotonic() < deadline:
    time.sleep(0.05)
print(json.dumps({"rows": view.rows, "table": view.table.model_id, "tabs": view.tabs.model_id,
                  "diff": view.diff_pane.model_id, "detail": view.detail.model_id,
                  "counter": view.counter.model_id}))"""


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KernelSession]:
    with kernel_in(tmp_path_factory.mktemp("foreign-deletions")) as k:
        yield k


def until_lines(kernel: KernelSession, model: str, want: list[str]) -> list[str]:
    return lines(kernel.until_sent(model, "value", lambda v: lines(v or "") == want) or "")


def text(html: str | None) -> str:
    return re.sub(r"<[^>]+>", "", html or "")


@pytest.mark.parametrize("case,deletes,done,rows,count,diff,detail", CASES,
                         ids=[c[0] for c in CASES])
def test_the_view_follows_another_process_s_deletions(
        kernel: KernelSession, tmp_path: Path, case: str, deletes: str, done: str,
        rows: list[int], count: str, diff: list[str], detail: str | None) -> None:
    db = str(tmp_path / "shared.sqlite3")
    url = json.loads(kernel.cell(SETUP.format(db=db)))
    for n in (1, 2, 3):
        assert post(f"{url}/gh", json.dumps({"n": n}).encode(), GH)[0] == 200
    v = json.loads(kernel.cell(VIEW))
    assert v["rows"] == [3, 2, 1]
    kernel.browser_sets(v["table"], index=0)  # a click on #3
    kernel.browser_sets(v["tabs"], selected_index=DIFF)
    assert until_lines(kernel, v["diff"], AGAINST_2) == AGAINST_2, case
    other = subprocess.run([sys.executable, "-c", OTHER, db, deletes, done],
                           capture_output=True, text=True, timeout=120)
    assert other.returncode == 0, other.stderr[-3000:]
    assert until_lines(kernel, v["diff"], diff) == diff, case
    want = f"{count} ·"
    assert want in text(kernel.until_sent(v["counter"], "value", lambda h: want in text(h))), case
    shown = json.loads(kernel.cell(
        "deadline = time.monotonic() + 15\n"
        f"while view.rows != {rows!r} and time.monotonic() < deadline:\n"
        "    time.sleep(0.05)\nprint(json.dumps(view.rows))"))
    assert shown == rows, case
    kernel.browser_sets(v["tabs"], selected_index=DETAILS)
    if detail is not None:
        assert until_lines(kernel, v["detail"], [detail]) == [detail], case
    else:
        got = lines(kernel.sent(v["detail"], "value") or "")
        assert GONE not in " ".join(got) and "/gh" in got[0], (case, got)
    assert json.loads(kernel.cell("print(json.dumps(view.error))\nview.close()\nlab.stop()")
                      ) is None
