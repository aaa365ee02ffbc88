"""The live view's capture table keeps its columns straight whatever the path's characters.

Its rows are fixed-width text in a monospace font. Padded and cut by counting characters, a
path with emoji or CJK characters (two columns each) pushed the provider, event, status and
size columns right, one with a combining accent (no column of its own) pulled them left, and
a cut could fall between a letter and its accent. Now every row is as wide as the header, each
column starts where its title does, and a long path is cut between characters as drawn.

The columns a string takes are measured with ``wcwidth`` (what IPython's terminal uses), not
with hooklab's own code; the cells expected are written out by hand. Real lab on 127.0.0.1,
paths sent as percent escapes of their UTF-8 bytes.
"""

from __future__ import annotations

import time
from typing import Any

import ipywidgets as W
import pytest
from _http import post
from _labs import module_lab
from wcwidth import wcswidth

lab = module_lab()
pytestmark = pytest.mark.timeout(120)

E_ACUTE = "%CC%81"  # (U+0301, combining acute accent)
GRIN = "%F0%9F%98%80"  # (U+1F600, two columns)
EAST = "%E6%9D%B1"  # (U+6771 東, two columns)

#: (id, the path sent, the bin/path cell as the table shows it, trailing spaces left out)
PATHS: list[tuple[str, str, str]] = [
    ("ascii", "/ascii", "ascii"),
    ("emoji", "/emoji" + GRIN * 3, "emoji😀😀😀"),
    ("combining-accent", "/cafe" + E_ACUTE, "cafe\u0301"),
    ("cjk", "/%E6%9D%B1%E4%BA%AC%E3%82%BF%E3%83%AF%E3%83%BC", "東京タワー"),
    ("full-width", "/%EF%BC%A1%EF%BC%A2%EF%BC%A3", "ＡＢＣ"),
    ("hangul", "/%ED%95%9C%EA%B5%AD%EC%96%B4", "한국어"),
    ("emoji-presentation", "/love%E2%9D%A4%EF%B8%8F", "love❤️"),
    ("flag", "/%F0%9F%87%AF%F0%9F%87%B5", "🇯🇵"),
    ("accent-first", "/" + E_ACUTE + "x", "\u0301x"),
    ("cjk-exactly-30-columns", "/" + EAST * 15, "東" * 15),
    # cut to 29 columns and "…": never half a wide character, never a letter without its marks
    ("cjk-cut", "/" + EAST * 20, "東" * 14 + "…"),
    ("cjk-cut-odd", "/a" + EAST * 15, "a" + "東" * 14 + "…"),
    ("emoji-at-the-cut", "/" + "a" * 28 + GRIN * 2, "a" * 28 + "…"),
    ("accent-at-the-cut", "/" + "a" * 28 + "e" + E_ACUTE + "xyz", "a" * 28 + "e\u0301…"),
    ("accents-at-the-cut", "/" + "a" * 28 + "e" + E_ACUTE * 3 + "zz", "a" * 28 + "e" + "\u0301" * 3 + "…"),
    ("ascii-cut", "/" + "b" * 40, "b" * 29 + "…"),
]

#: where the bin/path cell starts and how wide it is (time 12, method 7, two spaces between)
PATH_AT, PATH_COLUMNS = 12 + 2 + 7 + 2, 30


@pytest.fixture(scope="module")
def labels(lab: Any) -> dict[str, str]:
    """Each case's row of the table of ``lab.live()``."""
    for _, path, _ in PATHS:
        assert post(lab.url + path, b"{}", {"X-GitHub-Event": "push"})[0] == 200
    ids = {c.id: name for c, (name, _, _) in zip(lab.wait(len(PATHS), timeout=20), PATHS,
                                                   strict=True)}
    view = lab.live()
    deadline = time.monotonic() + 10
    while len(view.table.options) < len(PATHS) and time.monotonic() < deadline:
        time.sleep(0.05)
    rows = {ids[i]: label for label, i in view.table.options}
    rows["(header)"] = next(w.value for w in view.children  # (the column titles, as HTML)
                            if isinstance(w, W.HTML) and "hl-cols" in w.value)
    view.close()
    return rows


def _columns(text: str) -> int:
    width = wcswidth(text)
    assert width >= 0, repr(text)
    return width


@pytest.mark.parametrize("case", PATHS, ids=[c[0] for c in PATHS])
def test_each_column_starts_where_its_title_does(labels: dict[str, str], case: Any) -> None:
    name, _, cell = case
    label = labels[name]
    header = labels["(header)"]
    titles = header[header.index(">") + 1: header.index("</div>")]
    assert _columns(label) == len(titles), (label, titles)
    at = label.index("github")  # (the provider column)
    assert _columns(label[:at]) == titles.index("provider"), label
    for title, value in (("event", "push"), ("status", "200")):
        start = label.index(value, at)
        end = start + len(value)
        edge = titles.index(title) + (len(title) if title == "status" else 0)
        assert _columns(label[:end if title == "status" else start]) == edge, (title, label)
    # the bin/path cell: its text, then spaces up to its width
    start = len(label[:PATH_AT])  # (time and method are ASCII)
    shown = label[start:]
    assert shown.startswith(cell + " "), (shown, cell)
    rest = shown[len(cell):]
    spaces = len(rest) - len(rest.lstrip(" "))
    assert _columns(cell) + spaces == PATH_COLUMNS + 2, (cell, spaces)  # (+ the 2 between)
