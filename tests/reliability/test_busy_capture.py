"""Capture goes on while the kernel is busy in a long cell and while the live view is paused."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import nbformat
import pytest
from _http import free_port, post
from nbclient import NotebookClient

from hooklab import HookLab

pytestmark = pytest.mark.timeout(180)


def _burst(url_for, n: int, workers: int = 8) -> list[float]:  # type: ignore[no-untyped-def]
    """``n`` POSTs from ``workers`` threads; their latencies (99 for a non-200)."""

    def one(i: int) -> float:
        t0 = time.monotonic()
        status, _ = post(url_for("busy", str(i)), f"b{i}".encode())
        return time.monotonic() - t0 if status == 200 else 99.0

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(one, range(n)))


def test_paused_live_view_does_not_slow_or_drop_capture():
    lab = HookLab(port=0, db=":memory:").start()
    try:
        view = lab.live()
        view.refresh()
        view.paused = True
        shown_before = list(view.rows)
        lat = _burst(lab.url_for, 300)
        assert max(lat) < 2.0, max(lat)
        assert len(lab.wait(300, timeout=10, bin="busy")) == 300
        assert list(view.rows) == shown_before  # paused: the view did not move
        view.paused = False
        view.refresh()
        assert view.rows and max(view.rows) == lab.store.last_id  # resumed: newest shown
        view.close()
        print(f"\npaused view: 300 requests, max latency {max(lat) * 1000:.0f} ms, all stored")
    finally:
        lab.stop()


def test_kernel_busy_with_paused_live_view_keeps_capturing(tmp_path):
    """A real kernel: the live view shown and paused, then a 4 s busy cell; 100 requests land."""
    port = free_port()
    nb = nbformat.v4.new_notebook()
    client = NotebookClient(nb, timeout=60, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})

    def run(src: str) -> str:
        cell = nbformat.v4.new_code_cell(src)
        nb.cells.append(cell)
        client.execute_cell(cell, len(nb.cells) - 1)
        return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("name") == "stdout")

    latencies: list[float] = []
    done_at: list[float] = []

    flag = tmp_path / "busy.flag"

    def sender() -> None:
        # the busy cell creates the flag as its first statement: then it is running (proven)
        deadline = time.monotonic() + 60
        while not flag.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        if not flag.exists():
            return  # no latencies: the assertion below fails with them
        latencies.extend(_burst(lambda b, p="": f"http://127.0.0.1:{port}/{b}/{p}", 100, 4))
        done_at.append(time.monotonic())

    with client.setup_kernel():
        run(f"%config HookLab.port = {port}\n%load_ext hooklab")
        run("import hooklab\nlab = hooklab.lab()\nview = lab.live()\ndisplay(view)\n"
            "view.paused = True")
        t = threading.Thread(target=sender)
        t.start()
        t0 = time.monotonic()
        # the kernel is busy: no cell can run meanwhile
        run("import time\nopen('busy.flag', 'w').close()\ntime.sleep(4)")
        busy = time.monotonic() - t0
        t.join(30)
        out = run("caps = lab.wait(100, timeout=20, bin='busy')\n"
                  "print(len(caps), view.paused, len(view.rows))")
    assert len(latencies) == 100 and max(latencies) < 2.0, latencies
    assert flag.exists()
    assert done_at and done_at[0] < t0 + busy, "all 100 were answered while the cell was busy"
    n, paused, _rows = out.split()
    assert n == "100" and paused == "True"
    print(f"\nbusy kernel ({busy:.1f} s cell) + paused view: 100 requests answered, "
          f"max latency {max(latencies) * 1000:.0f} ms, all stored")
