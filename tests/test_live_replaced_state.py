"""A live view replaced by a newer ``lab.live()`` (same filters, another cell) leaves one line
and no widget that refers to a closed one: its toolbar rows stayed open while their widgets
closed, and ipywidgets' ``Widget.get_manager_state`` (what saves a notebook's widget state,
and nbconvert's / Voila's embedding) raised ``AttributeError: 'NoneType' object has no
attribute 'comm_id'`` for every widget of the kernel from then on (the full suite caught it:
other files' state checks failed after a replaced view).
"""

from __future__ import annotations

import json

import ipywidgets as W
import pytest

import hooklab


@pytest.mark.parametrize("times", [2, 3])
def test_state_can_be_saved_after_views_are_replaced(times: int) -> None:
    lab = hooklab.HookLab(port=0, db=":memory:").start()
    try:
        hooklab.send(lab.url_for("orders"), payload={"n": 1})
        lab.wait(1)
        views = [lab.live(bin="orders") for _ in range(times)]
        state = W.Widget.get_manager_state(drop_defaults=True)["state"]  # (raised)
        assert json.dumps(state, default=str)
        for old in views[:-1]:
            (line,) = old.children
            assert isinstance(line, W.HTML) and "a newer view" in line.value
            assert line.comm is not None and old.comm is not None  # (the line stays shown)
    finally:
        lab.stop()
