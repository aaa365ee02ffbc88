"""The live view's bin and provider boxes keep the person's choice when its captures are
deleted: ``lab.clear()``, the view's own Clear database button, retention. The choice stays
offered and chosen, the table stays empty ("0 of N match the filter") until a capture of it
comes.

After a clear the box went back to "all bins" / "all providers" on its own (its next
refresh of the choices dropped the one no capture had any more): the view then showed every
bin's webhooks although the person had chosen one; retention kept the choice. In a real
kernel, over 127.0.0.1: the choice and the clicks are the widget messages a browser sends,
and what is checked is what the kernel sent back (the box's labels and index, the counter)
and the rows it shows. Expected values are written from what each case sends.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from _http import post
from _kernels import KernelSession, kernel_in

import hooklab

pytestmark = pytest.mark.timeout(300)

#: how the captures come: each sender, and whether the case's choice matches it
#:   bare  - POST /orders, no provider's headers (bin "orders", no provider)
#:   root  - POST / (the empty bin, shown "/"), no provider
#:   cafe  - POST /caf%C3%A9 (bin "café"), no provider
#:   gh    - a GitHub push to /noise (bin "noise", provider github)
#: (case, the box, the choice's label, the value it stands for, the sender the choice
#:  matches, the one it does not, what deletes)
CASES = [
    ("bin, lab.clear()", "bin", "orders", "orders", "bare", "gh", "lab.clear()"),
    ("bin, Clear database button", "bin", "orders", "orders", "bare", "gh", "button"),
    ("bin, retention", "bin", "orders", "orders", "bare", "gh", "lab.retention_count = 2"),
    ("empty bin, lab.clear()", "bin", "/", "", "root", "gh", "lab.clear()"),
    ("bin café, Clear database button", "bin", "café", "café", "cafe", "gh", "button"),
    ("no provider, lab.clear()", "provider", "(no provider)", "unknown", "bare", "gh",
     "lab.clear()"),
    ("no provider, retention", "provider", "(no provider)", "unknown", "root", "gh",
     "lab.retention_count = 2"),
    ("github, Clear database button", "provider", "github", "github", "gh", "bare", "button"),
]

SETUP = """import json, time, hooklab
def wait_stored(n):  # (the lab's own count, bounded)
    deadline = time.monotonic() + 15
    while lab.store.count() != n and time.monotonic() < deadline:
        time.sleep(0.05)
    assert lab.store.count() == n, lab.store.count()"""


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KernelSession]:
    with kernel_in(tmp_path_factory.mktemp("choice-after-clear"), SETUP) as k:
        yield k


def send(url: str, sender: str) -> None:
    if sender == "gh":
        assert hooklab.send(f"{url}/noise", provider="github", event="push").status == 200
        return
    path = {"bare": "/orders", "root": "/", "cafe": "/caf%C3%A9"}[sender]
    assert post(url + path, b'{"o": 1}', {"Content-Type": "application/json"})[0] == 200


def click(kernel: KernelSession, model: str) -> None:
    """What the browser sends when a person clicks button ``model``."""
    msg = kernel.kc.session.msg("comm_msg", {
        "comm_id": model, "data": {"method": "custom", "content": {"event": "click"}}})
    kernel.kc.shell_channel.send(msg)


def counter(kernel: KernelSession, model: str, want: str) -> str:
    """The counter's text as sent, once it holds ``want`` (or after 15 s)."""
    def text(v: str | None) -> str:
        return re.sub(r"<[^>]+>", "", v or "")
    return text(kernel.until_sent(model, "value", lambda v: want in text(v)))


def rows(kernel: KernelSession, want: list[int]) -> list[int]:
    """The ids the view shows once they are ``want`` (or after 15 s)."""
    return json.loads(kernel.cell(
        "deadline = time.monotonic() + 15\n"
        f"while view.rows != {want!r} and time.monotonic() < deadline:\n"
        "    time.sleep(0.1)\nprint(json.dumps(view.rows))"))


@pytest.mark.parametrize("case,box,label,value,match,other,delete", CASES,
                         ids=[c[0] for c in CASES])
def test_the_choice_stays_after_its_captures_are_deleted(
        kernel: KernelSession, case: str, box: str, label: str, value: str, match: str,
        other: str, delete: str) -> None:
    db = re.sub(r"\W+", "_", case) + ".sqlite3"
    url = json.loads(kernel.cell(f"lab = hooklab.HookLab(port=0, db={db!r}).start()\n"
                                 "print(json.dumps(lab.url))"))
    send(url, match)  # id 1
    send(url, other)  # id 2
    m = json.loads(kernel.cell(
        "wait_stored(2)\nview = lab.live()\n"
        f"print(json.dumps({{'box': view.{box}_filter.model_id, 'counter': view.counter.model_id,"
        " 'confirm': view.confirm_clear.model_id, 'clear': view.clear_db_button.model_id}))"))
    labels = kernel.until_sent(m["box"], "_options_labels", lambda v: v and label in v)
    assert label in labels, (case, labels)
    kernel.browser_sets(m["box"], index=labels.index(label))  # the person picks it
    assert rows(kernel, [1]) == [1], case
    if delete == "button":  # tick "really delete all captures", then Clear database
        kernel.browser_sets(m["confirm"], value=True)
        click(kernel, m["clear"])
        kernel.cell("wait_stored(0)")
    elif delete.startswith("lab.retention"):  # two newer captures: it trims capture 1
        send(url, other)  # id 3
        send(url, other)  # id 4
        kernel.cell(f"{delete}\n"
                    "deadline = time.monotonic() + 15\n"
                    "while lab.store.get(1) is not None and time.monotonic() < deadline:\n"
                    "    time.sleep(0.05)\nassert lab.store.get(1) is None")
    else:
        kernel.cell(f"{delete}\nwait_stored(0)")
    for _ in range(2):
        send(url, other)
    sent = 6 if delete.startswith("lab.retention") else 4
    kernel.cell("time.sleep(2.5)")  # (the boxes' choices are refreshed at most every 2 s)
    want = "0 of 2 match the filter"  # (the two just sent; retention keeps the newest two)
    assert want in counter(kernel, m["counter"], want), case
    labels = kernel.sent(m["box"], "_options_labels")
    assert label in labels and kernel.sent(m["box"], "index") == labels.index(label), (
        case, labels)
    state = json.loads(kernel.cell(f"print(json.dumps([view.{box}_filter.value, view.rows]))"))
    assert state == [value, []], case
    send(url, match)  # one that matches comes: it shows, alone
    assert rows(kernel, [sent + 1]) == [sent + 1], case
    assert "1 capture ·" in counter(kernel, m["counter"], "1 capture ·"), case
    assert json.loads(kernel.cell("print(json.dumps(view.error))\nview.close()\nlab.stop()")
                      ) is None
