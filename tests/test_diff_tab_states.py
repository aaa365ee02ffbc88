"""The live view's "Diff with previous" tab says what was compared, and agrees with ``lab.diff``.

The first delivery of an event type showed "#1: no earlier delivery of pull_request.opened"
and then "no differences in the payload": nothing had been compared, yet the second line said
a comparison happened and matched. Each state of the tab is met here as a user meets it (a
real lab on 127.0.0.1, a SQLite file, ``lab.live()``, the tab opened, a row clicked) and set
against what ``lab.diff`` gives for the same two captures: "no differences" exactly when its
frame is empty, the same fields when it is not, and "nothing to compare" with no earlier
delivery stored (the first one, or the earlier one deleted by retention, which ``lab.diff``
cannot be given either: ``KeyError``).
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from _http import post
from _views import lines

import hooklab

pytestmark = pytest.mark.timeout(120)

GH = {"X-GitHub-Event": "push", "Content-Type": "application/json", "User-Agent": "t"}
TEXT = {"Content-Type": "text/plain", "User-Agent": "t"}

#: (case, bin, first body and headers, second body and headers, compare headers too,
#:  the lines the tab shows for the second capture, written out by hand)
CASES: list[tuple[str, str, tuple[bytes, dict[str, str]], tuple[bytes, dict[str, str]], bool,
                  list[str]]] = [
    ("same payload", "same", (b'{"a": 1}', GH), (b'{"a": 1}', GH), False,
     ["#2 against the previous push: #1", "no differences in the payload"]),
    ("same payload and headers, headers compared", "sameh", (b'{"a": 1}', GH),
     (b'{"a": 1}', GH), True,
     ["#2 against the previous push: #1", "no differences in the payload or headers"]),
    ("headers differ only, not compared", "hdr", (b'{"a": 1}', GH),
     (b'{"a": 1}', {**GH, "X-Extra": "y"}), False,
     ["#2 against the previous push: #1", "no differences in the payload"]),
    ("headers differ only, compared", "hdrc", (b'{"a": 1}', GH),
     (b'{"a": 1}', {**GH, "X-Extra": "y"}), True,
     ["#2 against the previous push: #1", "field change previous this",
      'headers.x-extra added — "y"']),
    ("payload differs", "pay", (b'{"a": 1}', GH), (b'{"a": 2}', GH), False,
     ["#2 against the previous push: #1", "field change previous this", "a changed 1 2"]),
    ("same text body", "txt", (b"hello", TEXT), (b"hello", TEXT), False,
     ["#2 against the previous capture to /txt: #1", "no differences in the payload"]),
    ("other text body", "txt2", (b"hello", TEXT), (b"bye", TEXT), False,
     ["#2 against the previous capture to /txt2: #1", "field change previous this",
      '(body) changed "hello" "bye"']),
]
IDS = [c[0] for c in CASES]


def diff_tab(view: Any, capture_id: int, headers: bool) -> list[str]:
    """Open the Diff tab, tick (or not) "compare headers too", click the capture's row."""
    view.tabs.selected_index = list(view.tabs.titles).index("Diff with previous")
    view.diff_headers.value = headers
    view.select(capture_id)
    return lines(view.diff_pane.value)


def send(lab: hooklab.HookLab, bin_: str, body: bytes, headers: dict[str, str]) -> None:
    status, _ = post(lab.url_for(bin_), body, headers)
    assert status == 200


@pytest.fixture
def lab(tmp_path: Any) -> Any:
    with hooklab.HookLab(port=0, db=str(tmp_path / "captures.sqlite3")) as lab:
        yield lab


@pytest.mark.parametrize("headers", [False, True], ids=["payload", "with headers"])
def test_the_first_delivery_has_nothing_to_compare(lab: Any, headers: bool) -> None:
    send(lab, "gh", b'{"action": "opened", "number": 1}',
         {**GH, "X-GitHub-Event": "pull_request"})
    (cap,) = lab.wait(1, timeout=10)
    assert cap.event_type == "pull_request.opened"
    shown = diff_tab(lab.live(), cap.id, headers)
    assert shown == [f"#{cap.id}: no earlier delivery of pull_request.opened is stored",
                     "nothing to compare"]


@pytest.mark.parametrize("case,bin_,first,second,headers,expected", CASES, ids=IDS)
def test_each_state_of_the_tab_says_what_lab_diff_says(
    tmp_path: Any, case: str, bin_: str, first: tuple[bytes, dict[str, str]],
    second: tuple[bytes, dict[str, str]], headers: bool, expected: list[str],
) -> None:
    with hooklab.HookLab(port=0, db=str(tmp_path / "captures.sqlite3")) as lab:
        send(lab, bin_, *first)
        send(lab, bin_, *second)
        a, b = lab.wait(2, timeout=10)
        shown = diff_tab(lab.live(), b.id, headers)
        assert shown == expected, case
        frame = lab.diff(a, b, headers=headers)
        said_none = any(line.startswith("no differences") for line in shown)
        assert said_none == frame.empty, (case, frame)
        # (the table's fields, one per row after its head, are the frame's)
        assert [line.split(" ")[0] for line in shown[2:]] == list(frame.field), case


def test_a_previous_delivery_deleted_by_retention_is_not_compared(tmp_path: Any) -> None:
    with hooklab.HookLab(port=0, db=str(tmp_path / "captures.sqlite3"),
                         retention_count=1) as lab:
        send(lab, "gh", b'{"a": 1}', GH)
        (first,) = lab.wait(1, timeout=10)
        send(lab, "gh", b'{"a": 2}', GH)
        second = lab.wait(2, timeout=10)[-1]
        deadline = time.monotonic() + 20  # (retention trims about once a second)
        while lab.store.get(first.id) is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert lab.store.get(first.id) is None
        assert diff_tab(lab.live(), second.id, False) == [
            f"#{second.id}: no earlier delivery of push is stored", "nothing to compare"]
        with pytest.raises(KeyError, match=f"no capture with id {first.id}"):
            lab.diff(first.id, second.id)
