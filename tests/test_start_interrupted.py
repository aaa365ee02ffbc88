"""Ctrl-C during ``lab.start()`` of a lab whose database file is new: the file (and the
folder made for it) goes again, as it does now when the start fails on a taken port, and no
thread of the lab's is left. A KeyboardInterrupt left the new, empty database behind (a later
``hooklab.open`` refused it as empty), its connections and threads open.

A tracer (``_interrupt_points.py``) raises the interrupt at moments chosen across the whole
start (the instructions after which Python looks for a signal, in hooklab's code), in a
process of its own.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _interrupt_points import run_script

pytestmark = pytest.mark.timeout(300)

_SCRIPT = r'''
import json, os, sys, threading, time
import hooklab
from _interrupt_points import freeze_heap, interrupted

where, tries = sys.argv[1], int(sys.argv[2])


def lab_threads():  # (a server thread's name says its port: moved, on the same one)
    return sorted("hooklab-server" if t.name.startswith("hooklab-server") else t.name
                  for t in threading.enumerate() if t.name.startswith("hooklab-"))


def settled(want):
    deadline = time.monotonic() + 5
    while lab_threads() != want and time.monotonic() < deadline:
        time.sleep(0.02)
    return lab_threads()


def start(at, name):
    """``HookLab(db=<new file in a new folder>).start()``: what is wrong after it."""
    folder = os.path.join(where, name)
    db = os.path.join(folder, "captures.sqlite3")
    lab = hooklab.HookLab(port=0, db=db)
    hit, points = interrupted(lab.start, at)
    wrong = []
    if hit:
        if os.path.lexists(folder):
            wrong.append(f"left behind: {sorted(os.listdir(folder))}")
        if settled([]):
            wrong.append(f"threads left: {lab_threads()}")
    elif not lab.is_running:
        wrong.append("not interrupted, and not serving")
    lab.stop()
    return hit, points.count, wrong


out = {}
for what, run in (("start", start),):
    _, total, wrong = run(-1, f"{what}-all")
    assert not wrong, (what, wrong)
    freeze_heap()  # (what the runs import is imported: see _interrupt_points.py)
    # (moments across the whole of it: the first ones each, then every n-th)
    points = sorted(set(range(1, min(total, tries // 2) + 1)) |
                    set(range(1, total + 1, max(1, total // (tries // 2)))))
    found = []
    for at in points:
        hit, _, wrong = run(at, f"{what}-{at}")
        if wrong:
            found.append({"point": at, "wrong": wrong})
            if len(found) >= 3:
                break
    out[what] = {"total": total, "tried": len(points), "wrong": found}
print(json.dumps(out))
'''


def test_ctrl_c_during_a_start_on_a_new_database_leaves_nothing_behind(tmp_path: Path) -> None:
    out = run_script(_SCRIPT, str(tmp_path), "60", timeout=280)
    assert out["start"]["wrong"] == [], out
    assert out["start"]["tried"] >= 50, out
