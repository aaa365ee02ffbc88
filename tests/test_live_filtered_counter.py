"""What a filtered live view's counter says when webhooks arrive and none matches its filter.

``lab.live(event_type="pull_request")`` (GitHub's are ``pull_request.opened``) said
"0 captures · ... · waiting for webhooks…" while deliveries poured in: as if nothing reached
the lab. Now it says how many arrived and that the filter matches none of them ("0 of 5 match
the filter"), counting the captures since "Clear view"; a view with nothing to show and
nothing arrived still says "waiting for webhooks…". Real lab on 127.0.0.1, deliveries over
real sockets; the counts expected are those the test sent.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
from _http import post
from _labs import memory_lab

pytestmark = pytest.mark.timeout(120)

WAITING = "waiting for webhooks…"


def _none_of(n: int) -> str:
    return f"0 of {n:,} match the filter — waiting for one that does"


#: (id, the view's filters, text typed into its filter box, deliveries before "Clear view"
#: (None: not clicked), deliveries after, what the counter ends with, its count of rows)
CASES: list[tuple[str, dict[str, Any], str, int | None, int, str, int]] = [
    ("event-type-without-action", {"event_type": "pull_request"}, "", None, 5, _none_of(5), 0),
    ("another-bin", {"bin": "nope"}, "", None, 3, _none_of(3), 0),
    ("typed-in-the-box", {}, "no such text", None, 4, _none_of(4), 0),
    ("filter-and-box", {"provider": "github"}, "no such text", None, 2, _none_of(2), 0),
    ("one-capture", {"event_type": "push"}, "", None, 1, _none_of(1), 0),
    ("nothing-arrived", {}, "", None, 0, WAITING, 0),
    ("filtered-nothing-arrived", {"event_type": "push"}, "", None, 0, WAITING, 0),
    # (what arrived before "Clear view" is not counted: the view shows none of it)
    ("cleared-then-more", {"event_type": "pull_request"}, "", 3, 2, _none_of(2), 0),
    ("cleared-then-none", {"event_type": "pull_request"}, "", 3, 0, WAITING, 0),
    ("matching", {"event_type": "pull_request.opened"}, "", None, 5, "rows 1–5", 5),
]


def _deliver(lab: Any, n: int) -> None:
    body = json.dumps({"action": "opened"}).encode()
    headers = {"X-GitHub-Event": "pull_request", "Content-Type": "application/json"}
    for _ in range(n):
        assert post(lab.url_for("github"), body, headers)[0] == 200


def _counter(view: Any) -> str:
    return re.sub("<[^>]+>", "", view.counter.value)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_a_filtered_view_says_how_many_arrived_when_none_matches(case: Any) -> None:
    _, filters, typed, before, after, says, rows = case
    with memory_lab() as lab:
        view = lab.live(**filters)
        view.search.value = typed
        if before is not None:
            _deliver(lab, before)
            lab.wait(before, timeout=10)
            view.clear_button.click()
        _deliver(lab, after)
        lab.wait((before or 0) + after, timeout=10)
        deadline = time.monotonic() + 10
        while not _counter(view).endswith(says) and time.monotonic() < deadline:
            time.sleep(0.05)
        text = _counter(view)
        assert text.endswith(says), text
        assert text.startswith(f"{rows} capture"), text
        assert (WAITING in text) is (says == WAITING), text
        view.close()
