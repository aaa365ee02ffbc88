"""The live view's "Diff with previous" tab follows deletions, in a real kernel.

Once drawn, the tab went on comparing the open capture with the earlier one after retention
(``lab.retention_count = ...``, ``lab.retention_age = ...``) deleted that one: a comparison
against a capture no longer stored, still there when the tab was opened again. Nothing told
the tab: it was drawn again only for another capture, another checkbox or a new capture.
Now it is drawn again against the earlier delivery still stored, or says "nothing to
compare"; and an open capture that is itself deleted (retention, ``lab.clear()``) says so in
its panes instead of a blank or its old page.

The kernel is real (jupyter_client): the webhooks are posted to its lab over 127.0.0.1, the
clicks are the widget messages a browser sends (a row's ``index``, a tab's ``selected_index``)
and what is checked is what the kernel sent the browser for the Diff and Details panes. Each
expected line is written from what was sent (bodies, the ids the lab gave them).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from _http import post
from _kernels import KernelSession, kernel_in
from _views import lines

pytestmark = pytest.mark.timeout(300)

GH = {"X-GitHub-Event": "push", "Content-Type": "application/json", "User-Agent": "t"}
DIFF, DETAILS = 2, 0  # the tabs' places: "Diff with previous", "Details"
GONE = "is no longer stored: deleted by retention or a clear"

#: (case, how the captures come, the one clicked (its place, oldest first), the Diff tab's
#:  lines before, what deletes, whether the Diff tab is closed meanwhile, its lines after, the
#:  Details pane's after (None: not looked at)); lines are functions of the ids, oldest first
Lines = Callable[[list[int]], list[str]]
CASES: list[tuple[str, str, int, Lines, str, bool, Lines, Lines | None]] = [
    ("retention_count deletes the earlier one", "http", 1,
     lambda i: [f"#{i[1]} against the previous push: #{i[0]}", "field change previous this",
                "n changed 1 2"],
     "lab.retention_count = 1", False,
     lambda i: [f"#{i[1]}: no earlier delivery of push is stored", "nothing to compare"], None),
    ("retention_count, Diff tab closed meanwhile", "http", 1,
     lambda i: [f"#{i[1]} against the previous push: #{i[0]}", "field change previous this",
                "n changed 1 2"],
     "lab.retention_count = 1", True,
     lambda i: [f"#{i[1]}: no earlier delivery of push is stored", "nothing to compare"], None),
    ("retention_age deletes it, an earlier one is left", "jsonl", 2,
     lambda i: [f"#{i[2]} against the previous push: #{i[1]}", "field change previous this",
                'a changed "B" "C"'],
     "lab.retention_age = 3600", False,
     lambda i: [f"#{i[2]} against the previous push: #{i[0]}", "field change previous this",
                'a changed "A" "C"'], None),
    ("retention deletes the open capture", "http", 0,
     lambda i: [f"#{i[0]}: no earlier delivery of push is stored", "nothing to compare"],
     "lab.retention_count = 1", False,
     lambda i: [f"#{i[0]} {GONE}", "nothing to compare"],
     lambda i: [f"#{i[0]} {GONE}. Click a row to see its headers and body."]),
    ("lab.clear() deletes both", "http", 1,
     lambda i: [f"#{i[1]} against the previous push: #{i[0]}", "field change previous this",
                "n changed 1 2"],
     "lab.clear()", False,
     lambda i: [f"#{i[1]} {GONE}", "nothing to compare"],
     lambda i: [f"#{i[1]} {GONE}. Click a row to see its headers and body."]),
]
IDS = [c[0] for c in CASES]

#: the kernel keeps the errors its widget messages' handlers logged (a Python error there goes
#: to the kernel's log, not to the notebook)
LOGGED = """import json, logging, hooklab
errors = []
class Kept(logging.Handler):
    def emit(self, record):
        errors.append(record.getMessage())
for name in ("Comm", "hooklab"):
    logging.getLogger(name).addHandler(Kept(level=logging.ERROR))"""

VIEW = """caps = lab.wait({n}, timeout=10)
view = lab.live()
print(json.dumps({{"ids": [c.id for c in caps], "rows": view.rows, "table": view.table.model_id,
                  "tabs": view.tabs.model_id, "diff": view.diff_pane.model_id,
                  "detail": view.detail.model_id}}))"""


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KernelSession]:
    with kernel_in(tmp_path_factory.mktemp("diff-follows"), LOGGED) as k:
        yield k


def shown(kernel: KernelSession, model: str) -> str | None:
    """The last ``value`` the kernel sent the browser for widget ``model``."""
    value = None
    for m in kernel.published:
        if m["msg_type"] in ("comm_open", "comm_msg") and m["content"].get("comm_id") == model:
            state = m["content"].get("data", {}).get("state", {})
            value = state.get("value", value)
    return value


def shows(kernel: KernelSession, model: str, want: list[str], timeout: float = 15) -> list[str]:
    """Read the kernel's messages until widget ``model`` shows ``want`` (at most ``timeout``
    seconds); the lines it shows last."""
    import queue

    deadline = time.monotonic() + timeout
    while True:
        got = lines(shown(kernel, model) or "")
        if got == want or time.monotonic() > deadline:
            return got
        try:
            kernel.published.append(kernel.kc.get_iopub_msg(timeout=0.2))
        except queue.Empty:
            pass


def click(kernel: KernelSession, model: str, **state: Any) -> None:
    """What the browser sends when a person clicks a row (``index``) or a tab
    (``selected_index``)."""
    msg = kernel.kc.session.msg("comm_msg", {
        "comm_id": model, "data": {"method": "update", "state": state, "buffer_paths": []}})
    kernel.kc.shell_channel.send(msg)


def jsonl(path: Path) -> None:
    """A JSON Lines export of three pushes whose times are not in the order of their ids (an
    old delivery imported between two recent ones): retention by age deletes the middle one."""
    now = datetime.now(timezone.utc)
    with path.open("w") as f:
        for when, a in [(now - timedelta(minutes=1), "A"),
                        (datetime(2020, 1, 1, tzinfo=timezone.utc), "B"), (now, "C")]:
            f.write(json.dumps({
                "kind": "http", "received_at": when.isoformat().replace("+00:00", "Z"),
                "method": "POST", "path": "/gh", "bin": "gh", "query": {}, "status": 200,
                "headers": [[k, v] for k, v in GH.items()],
                "body_b64": base64.b64encode(json.dumps({"a": a}).encode()).decode(),
            }) + "\n")


@pytest.mark.parametrize("case,source,clicked,before,delete,closed,after,detail", CASES, ids=IDS)
def test_the_diff_tab_follows_what_is_deleted(
    kernel: KernelSession, case: str, source: str, clicked: int, before: Lines, delete: str, closed: bool, after: Lines, detail: Lines | None,
) -> None:
    db = f"{IDS.index(case)}.sqlite3"
    if source == "http":
        url = json.loads(kernel.cell(
            f"lab = hooklab.HookLab(port=0, db={db!r}).start()\nprint(json.dumps(lab.url))"))
        for n in (1, 2):
            assert post(f"{url}/gh", json.dumps({"n": n}).encode(), GH)[0] == 200
    else:
        cwd = Path(kernel.cell("import os; print(os.getcwd(), end='')"))
        jsonl(cwd / f"{db}.jsonl")
        kernel.cell(f"lab = hooklab.load_jsonl({db + '.jsonl'!r}, db={db!r})")
    v = json.loads(kernel.cell(VIEW.format(n=2 if source == "http" else 3)))
    ids = v["ids"]
    click(kernel, v["table"], index=v["rows"].index(ids[clicked]))
    click(kernel, v["tabs"], selected_index=DIFF)
    assert shows(kernel, v["diff"], before(ids)) == before(ids), case
    if closed:
        click(kernel, v["tabs"], selected_index=DETAILS)
    gone = ids[1] if source == "jsonl" else ids[0]  # (the old import; else the first sent)
    kernel.cell(f"{delete}\nimport time\ndeadline = time.monotonic() + 15\n"
                f"while lab.store.get({gone}) is not None and time.monotonic() < deadline:\n"
                "    time.sleep(0.05)\n"
                f"assert lab.store.get({gone}) is None")
    if closed:
        time.sleep(0.5)  # (the view heard of the deletion before the tab is opened again)
        click(kernel, v["tabs"], selected_index=DIFF)
    assert shows(kernel, v["diff"], after(ids)) == after(ids), case
    if detail is not None:
        assert shows(kernel, v["detail"], detail(ids)) == detail(ids), case
    state = json.loads(kernel.cell(
        "print(json.dumps({'error': view.error, 'logged': errors}))\nview.close()\nlab.stop()"))
    assert state == {"error": None, "logged": []}, case


def test_opening_a_capture_retention_deleted_says_it_is_gone(kernel: KernelSession) -> None:
    """``view.select(id)`` (what a click on a row does) of a capture retention deleted showed
    the blank "Click a row" pane, as if nothing had been clicked: it says the capture is gone,
    in the Details and Diff tabs."""
    url = json.loads(kernel.cell(
        "lab = hooklab.HookLab(port=0, db='select.sqlite3').start()\nprint(json.dumps(lab.url))"))
    for n in (1, 2):
        assert post(f"{url}/gh", json.dumps({"n": n}).encode(), GH)[0] == 200
    v = json.loads(kernel.cell(VIEW.format(n=2)))
    first = v["ids"][0]
    kernel.cell(f"lab.retention_count = 1\nimport time\ndeadline = time.monotonic() + 15\n"
                f"while lab.store.get({first}) is not None and time.monotonic() < deadline:\n"
                "    time.sleep(0.05)\n"
                f"assert view.select({first}) is None")
    click(kernel, v["tabs"], selected_index=DIFF)
    assert shows(kernel, v["detail"], [f"#{first} {GONE}. Click a row to see its headers and body."]
                 ) == [f"#{first} {GONE}. Click a row to see its headers and body."]
    assert shows(kernel, v["diff"], [f"#{first} {GONE}", "nothing to compare"]
                 ) == [f"#{first} {GONE}", "nothing to compare"]
    state = json.loads(kernel.cell(
        "print(json.dumps({'error': view.error, 'logged': errors}))\nview.close()\nlab.stop()"))
    assert state == {"error": None, "logged": []}
