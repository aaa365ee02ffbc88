"""Keys pressed in ``lab.live()``'s table while webhooks arrive, in a real kernel.

Every message a widget's view sends the kernel (a click, each ArrowDown) runs between IPython's
``pre_execute`` and ``post_execute`` events (the ``comm`` package fires them around its
handler). The view took that moment for a running cell, and while a cell runs the table shown
does not take new rows itself: a refresh falling into a key's handling swapped tables, and the
table with the keyboard focus was hidden (the focus went to the page's body, the next key did
nothing; ``tests/browser/test_live_keyboard.py`` met it on a loaded machine). A widget's message
is not a cell: the table a person moves through stays the one shown, enabled, and the new rows
come into it.

The kernel is real (jupyter_client), the webhooks are posted to its lab over 127.0.0.1, and the
keys are the widget messages a browser sends for them (``index`` updates of the table shown).
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request

import pytest
from _kernels import KernelSession, kernel_per_test

pytestmark = pytest.mark.timeout(300)

SETUP = """import json, hooklab
lab = hooklab.start(port=0, db=":memory:")
for i in range(6):
    hooklab.send(lab.url_for("keys", f"row-{i}"), payload={"i": i})
lab.wait(6)
view = lab.live()
first = view.table
print(json.dumps({"url": lab.url, "table": first.model_id}))"""

#: what the kernel says of its view once the keys stopped and the rows could come in place
STATE = """print(json.dumps({"same": view.table is first, "disabled": view.table.disabled,
                  "newest": view.rows[0] if view.rows else None, "last": lab.store.last_id,
                  "error": view.error}))"""


kernel = kernel_per_test()


def _webhooks(url: str, stop: threading.Event, rate: float = 20.0) -> threading.Thread:
    """POST ``{}`` to ``url`` + a number at ``rate`` a second until ``stop`` (at most 30 s)."""

    def run() -> None:
        deadline = time.monotonic() + 30
        i = 0
        while not stop.is_set() and time.monotonic() < deadline:
            req = urllib.request.Request(f"{url}{i}", data=b"{}", method="POST",
                                         headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=10) as answer:
                answer.read()
            i += 1
            time.sleep(1 / rate)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _key(kernel: KernelSession, table: str, index: int) -> None:
    """What the browser sends when a key moves the table's highlight to row ``index``."""
    msg = kernel.kc.session.msg("comm_msg", {
        "comm_id": table, "data": {"method": "update", "state": {"index": index},
                                   "buffer_paths": []}})
    kernel.kc.shell_channel.send(msg)


@pytest.mark.parametrize("keys_per_second", [20, 100])
def test_keys_pressed_while_webhooks_arrive_keep_the_table_shown(
    kernel: KernelSession, keys_per_second: int
) -> None:
    start = json.loads(kernel.cell(SETUP))
    stop = threading.Event()
    _key(kernel, start["table"], 1)  # a click on the second row, then webhooks arrive
    time.sleep(0.2)
    sender = _webhooks(f"{start['url']}/keys/s-", stop)
    try:
        time.sleep(0.5)  # (new rows are there before the first key)
        deadline = time.monotonic() + 6
        index = 2
        while time.monotonic() < deadline:  # ArrowDown, ArrowUp, ... (bounded: 6 s)
            _key(kernel, start["table"], index)
            index = 3 - index
            time.sleep(1 / keys_per_second)
        time.sleep(2)  # the rows held still after the last key (1.5 s), then came in place
        stop.set()
        sender.join(15)
        time.sleep(1.5)  # (and the last ones too: in place at most once a second)
        state = json.loads(kernel.cell(STATE))
    finally:
        stop.set()
    assert state["error"] is None
    assert state["same"], "the table moved through was swapped for another (its focus lost)"
    assert not state["disabled"], "the table moved through was disabled as if a cell ran"
    # (the rows came into that same table once the keys stopped: the newest stored is shown)
    assert state["newest"] == state["last"], state
