"""The live view open while its lab moves to another database, in a real kernel.

A move that works (``%hooklab start --db``, ``%config HookLab.db``, ``lab.db = ...``, a new
``durability``, a database and a port at once) closed the views of ``lab.live()``: the
kernel sent ``comm_close`` and JupyterLab removed the view from the cell (an empty output),
while the lab went on serving; the view object's counter blamed ``lab.stop()``. Now the view
on screen follows the lab: it shows the new database's captures and goes on updating live,
a click opens the new database's capture, and "Copy as curl" names the port the lab listens
on. A view made on the store itself (``LiveView(lab.store)``), which the lab does not know,
stays on screen and says its lab moved.

Webhooks are posted from this process to the kernel's lab over 127.0.0.1; what the browser
would get is read from the kernel's published messages.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from _http import free_port, post
from _kernels import KernelSession

pytestmark = pytest.mark.timeout(300)

SETUP = r"""
%config HookLab.port = 0
%load_ext hooklab
import json, re, time
import hooklab
from hooklab.widget import LiveView
lab = hooklab.lab()

def shown(view, paths):
    '''What the view shows once it lists ``paths`` (newest first) and counts them.'''
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        labels = [label for label, _ in view.table.options]
        text = re.sub('<[^>]+>', '', view.counter.value)
        n = len(paths)
        if ([p for p in paths if any(f' {p} ' in l for l in labels)] == paths
                and len(labels) == n and text.startswith(f'{n} capture')):
            break
        time.sleep(0.05)
    return {'labels': labels, 'counter': text, 'rows': view.rows, 'on lab store':
            view.store is lab.store, 'closed': view.comm is None,
            'table disabled': view.table.disabled, 'curl base': view.base_url == lab.url}
"""

OPEN = r"""
v = lab.live()
mine = LiveView(lab.store)   # (a view the lab does not know of)
display(v, mine)
print(json.dumps([v.model_id, mine.model_id, lab.url]))
"""

AFTER = r"""
out = shown(v, %r)
v.table.index = 0            # a click on the newest row
out['clicked'] = v.selected.path if v.selected is not None else None
deadline = time.monotonic() + 10
while 'database closed' not in mine.counter.value and time.monotonic() < deadline:
    time.sleep(0.05)
out['mine'] = re.sub('<[^>]+>', '', mine.counter.value)
out['mine closed'] = mine.comm is None
out['url'] = lab.url
print(json.dumps(out))
"""


def _db(tmp: Path, name: str) -> str:
    return str(tmp / name / "captures.sqlite3")  # (a folder made by the move)


#: (id, the cell that moves the lab, given a fresh database path: None for a way that keeps
#: the file, the URL changes, whether the captures before the move stay in the view)
WAYS: list[tuple[str, Callable[[str], str], bool, bool]] = [
    ("magic-db", lambda db: f"%hooklab start --db {db}", False, False),
    ("config-db", lambda db: f"%config HookLab.db = {db!r}", False, False),
    ("trait-db", lambda db: f"lab.db = {db!r}", False, False),
    ("trait-memory", lambda db: "lab.db = ':memory:'", False, False),
    ("magic-db-and-port", lambda db: f"%hooklab start --db {db} --port {free_port()}", True, False),
    # (the same file opened again: its captures stay)
    ("config-durability",
     lambda db: "%config HookLab.durability = " + repr("full") + "\n"
                "assert lab.durability == 'full'", False, True),
]


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KernelSession]:
    k = KernelSession(tmp_path_factory.mktemp("kernel"))
    try:
        k.cell(SETUP)
        yield k
    finally:
        k.close()


@pytest.mark.parametrize("way", WAYS, ids=[w[0] for w in WAYS])
def test_the_open_view_follows_the_lab_to_its_new_database(
        kernel: KernelSession, tmp_path: Path, way: Any) -> None:
    name, move, new_url, kept = way
    # (each way starts on a file of its own, at the default durability)
    kernel.cell(f"lab.durability = 'normal'\nlab.db = {_db(tmp_path, 'first')!r}")
    view_id, mine_id, url = json.loads(kernel.cell(OPEN))
    before = f"before-{name}"
    assert post(f"{url}/{before}", b"{}")[0] == 200
    got = json.loads(kernel.cell(f"print(json.dumps(shown(v, {[before]!r})))"))
    assert got["rows"] == [1] and got["counter"].startswith("1 capture"), got

    start = len(kernel.published)
    kernel.cell(move(_db(tmp_path, "moved")))
    url_now = json.loads(kernel.cell("print(json.dumps(lab.url))"))
    assert (url_now != url) is new_url, (url, url_now)
    after = [f"after-{name}-2", f"after-{name}-1"]
    for path in reversed(after):
        assert post(f"{url_now}/{path}", b"{}")[0] == 200
    paths = after + ([before] if kept else [])
    got = json.loads(kernel.cell(AFTER % (paths,)))

    # the view on screen shows the new database, live, and a click opens its capture
    assert got["labels"] and [p for p in paths if any(f" {p} " in lb for lb in got["labels"])
                              ] == paths, got
    assert got["rows"] == list(range(len(paths), 0, -1)), got  # (the new file's ids)
    assert got["counter"].startswith(f"{len(paths)} captures · "), got
    assert "stopped" not in got["counter"] and "waiting" not in got["counter"], got
    assert (got["on lab store"], got["closed"], got["table disabled"], got["curl base"]) == (
        True, False, False, True), got
    assert got["clicked"] == f"/{after[0]}", got
    # ... as the browser got it: no view closed, the new rows sent
    closed = kernel.comms_closed(start)
    assert view_id not in closed and mine_id not in closed, closed
    assert any(f" {after[0]} " in t for t in kernel.texts_sent(start)), "not sent to the browser"
    # the view made on the old store itself stays, and says why it shows no more
    assert "its lab moved to another database" in got["mine"] and not got["mine closed"], got
