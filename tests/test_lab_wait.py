"""``lab.wait(count)`` returns the newest ``count`` matching captures, oldest first: it
returned every matching capture with its body (a database keeps captures across restarts:
with 50,000 stored, ``wait(1)`` took 1.7 s and 160 MiB). Real lab on 127.0.0.1, real file."""

from __future__ import annotations

from typing import Any

import pytest

import hooklab

#: (count, filters, the ids returned): 30 captures, bins a, b, c in turn (ids 1..30)
WAITS: list[tuple[int, dict[str, Any], list[int]]] = [
    (1, {}, [30]),
    (3, {}, [28, 29, 30]),
    (30, {}, list(range(1, 31))),
    (1, {"bin": "a"}, [28]),
    (2, {"bin": "b"}, [26, 29]),
    (10, {"bin": "c"}, list(range(3, 31, 3))),
    (2, {"bin": ["a", "c"]}, [28, 30]),
    (1, {"since": 25}, [30]),
    (5, {"since": 25}, [26, 27, 28, 29, 30]),
    (2, {"until": 10}, [9, 10]),
    (1, {"until": 10, "bin": "b"}, [8]),
    (1, {"search": "n-7"}, [7]),
    (2, {"method": "POST", "bin": "a"}, [25, 28]),
    (0, {}, []),
]


@pytest.fixture(scope="module")
def thirty(tmp_path_factory: pytest.TempPathFactory) -> Any:
    path = str(tmp_path_factory.mktemp("wait") / "captures.sqlite3")
    lab = hooklab.HookLab(port=0, db=path).start()
    for i in range(1, 31):
        assert hooklab.send(lab.url_for("abc"[(i - 1) % 3]), payload={"n": f"n-{i}"}).status == 200
    lab.wait(30, timeout=30)
    lab.stop()
    again = hooklab.HookLab(port=0, db=path).start()  # (kept across a restart, as by default)
    yield again
    again.stop()


@pytest.mark.parametrize("count, filters, ids", WAITS, ids=[f"{c}-{f}" for c, f, _ in WAITS])
def test_wait_returns_the_newest_count_matching_oldest_first(thirty, count, filters, ids):
    got = thirty.wait(count, timeout=5, **filters)
    assert [c.id for c in got] == ids
    assert [c.json()["n"] for c in got] == [f"n-{i}" for i in ids]


def test_the_readme_tour_s_wait_gives_the_capture_just_sent(file_lab):
    """``cap = lab.wait(1, timeout=10)[-1]`` (README): the newest, one capture built."""
    for i in range(1, 4):
        assert hooklab.send(file_lab.url_for("a"), payload={"n": i}).status == 200
    assert [c.id for c in file_lab.wait(3, timeout=10)] == [1, 2, 3]
    assert hooklab.send(file_lab.url_for("tour"), payload={"n": 4}).status == 200
    cap = file_lab.wait(1, timeout=10, since=3)[-1]
    assert (cap.id, cap.bin) == (4, "tour")
    assert [(c.id, c.bin) for c in file_lab.wait(1, timeout=10)] == [(4, "tour")]
    assert [c.id for c in file_lab.wait(2, timeout=10, bin=["tour", "a"])] == [3, 4]
    with pytest.raises(TimeoutError, match=r"for 2 capture\(s\) matching bin='tour'; 1 matched"):
        file_lab.wait(2, timeout=0.2, bin="tour")
