"""Review of round 31: a live view a newer ``lab.live()`` replaced kept its line on screen but
left comms open for the kernel's life: its rows of controls (three boxes and their layouts,
dropped from its children before its widgets were closed, so never found), and its box and
note, out of ``lab._views`` so never closed by ``lab.stop()``. Each re-run of a
``lab.live()`` cell leaked them. Now a replaced view keeps only what its line needs (its box
and its layout, the note and its layout and style) and the lab's stop closes those too.

A real kernel, as a notebook has; what is checked is every comm the kernel opened and
closed, as a browser receives them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _kernels import KernelSession, kernel_in

pytestmark = pytest.mark.timeout(300)

SETUP = """import json, hooklab
lab = hooklab.HookLab(port=0, db={db!r}).start()"""
#: what a person re-runs; the ids of the view's box and of its layout, printed
RUN = """view = lab.live(bin="gh")
print(json.dumps([view.model_id, view.layout.model_id]))"""


def _opened(k: KernelSession, since: int) -> set[str]:
    return {m["content"]["comm_id"] for m in k.published[since:] if m["msg_type"] == "comm_open"}


def test_a_replaced_view_keeps_only_its_line_open_and_the_stop_closes_it(tmp_path: Path) -> None:
    with kernel_in(tmp_path, SETUP.format(db=str(tmp_path / "c.sqlite3"))) as k:
        start = len(k.published)
        runs: list[tuple[set[str], list[str]]] = []  # (comms a run opened, its box and layout)
        for _ in range(3):  # (the cell re-run: each replaces the view before it)
            mark = len(k.published)
            box = json.loads(k.cell(RUN))
            runs.append((_opened(k, mark), box))
        closed = k.comms_closed(start)
        lines: set[str] = set()  # (what each replaced view's line holds: box, note, parts)
        for (_, box), (after, _) in zip(runs[:-1], runs[1:], strict=True):
            note = k.sent(box[0], "children")  # (the line: one HTML, its layout and style)
            assert isinstance(note, list) and len(note) == 1, note
            note_id = note[0].removeprefix("IPY_MODEL_")
            parts = {v.removeprefix("IPY_MODEL_") for v in
                     (k.sent(note_id, "layout"), k.sent(note_id, "style"))}
            assert {note_id, *parts} <= after and len(parts) == 2  # (made by the next run)
            lines |= {*box, note_id, *parts}
        # (what the replaced views and their lines opened; the last line came with the last run)
        replaced = set().union(*(opened for opened, _ in runs[:-1])) | (runs[-1][0] & lines)
        assert replaced - closed == lines, sorted(replaced - closed - lines)
        # (the newest view lives on: its comms open)
        assert runs[-1][0] & closed == set() and set(runs[-1][1]) <= runs[-1][0] - lines
        mark = len(k.published)
        k.cell("lab.stop()")
        every = _opened(k, start)
        assert every - k.comms_closed(start) == set(), sorted(every - k.comms_closed(start))
        assert set(runs[0][1]) <= k.comms_closed(mark)  # (the first line went at the stop)
