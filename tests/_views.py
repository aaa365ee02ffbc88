"""What the tests of hidden credentials do with a live view as a person would: a JSON body, the
widget state a saved notebook keeps, every tab clicked through."""

from __future__ import annotations

import json
import re
from html import unescape
from typing import Any

import ipywidgets as W

from hooklab.widget._ui import TAB_TITLES


def json_body(value: Any, encoding: str = "utf-8") -> bytes:
    return json.dumps(value, ensure_ascii=False).encode(encoding)


def saved_state() -> str:
    """What a notebook saved with widget state holds of every widget alive."""
    return json.dumps(W.Widget.get_manager_state(drop_defaults=True)["state"], default=str)


def open_every_tab(view: Any) -> None:
    """Click through every tab, open the whole Tree and click each of its fields."""
    for tab in range(len(TAB_TITLES)):
        view.tabs.selected_index = tab
    view.tabs.selected_index = TAB_TITLES.index("Tree")
    view.tree_open_button.click()
    leaves = [i for label, i in view.tree.options if not label.lstrip().startswith(("▾", "▸"))]
    for i in leaves[:50]:
        view.tree.value = i  # (a click on the row: its field pane, schema row and column box)


def lines(pane: str) -> list[str]:
    """A pane's text as a person reads it: one line per block, cells apart by one space."""
    text = re.sub(r"</(div|tr)>", "\n", pane)
    text = unescape(re.sub(r"<[^>]+>", " ", text))
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]
