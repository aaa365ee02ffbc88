"""A ``:memory:`` lab that stops (or moves to another database) with forwards still waiting
for a slow app: the warning said ``hooklab.open(':memory:').replay(...) sends them``, which
opens a new, empty database (``KeyError: no capture with id 5``). The captures went with the
lab: the warning says so, and gives no advice that cannot work."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from _target import Target

import hooklab


def _warned(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "not sent" in r.getMessage()]


@pytest.mark.parametrize("how", ["stop", "move to a file"])
def test_a_memory_lab_says_its_unsent_forwards_are_gone(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, how: str) -> None:
    with Target(delay=1.0) as app:
        lab = hooklab.HookLab(port=0, db=":memory:").start()
        try:
            lab.forward("s", to=app.url + "/hook")
            for i in range(10):  # (4 workers: the rest wait in the queue)
                assert hooklab.send(lab.url_for("s"), payload={"i": i}).status == 200
            app.wait(1, timeout=10)
            with caplog.at_level(logging.WARNING, logger="hooklab"):
                if how == "stop":
                    lab.stop()
                else:  # (the :memory: store is closed: its captures are gone too)
                    lab.db = str(tmp_path / "moved.sqlite3")
            left = lab.forwards_left
        finally:
            lab.stop(quiet_forwards=True)
    n = len(left.ids("unsent"))
    assert n >= 2 and left.db == ":memory:", left
    assert _warned(caplog) == [
        f"{n} forwards waiting for a slow target were not sent (the lab stopped or moved to "
        "another database); lab.forwards_left names them, captures of a database in memory: "
        "they are gone with it, nothing can send them now"]


def test_a_file_lab_still_says_how_to_replay_them(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """(unchanged) a database file keeps the captures: the advice names it, and works."""
    db = str(tmp_path / "c.sqlite3")
    with Target(delay=1.0) as app:
        lab = hooklab.HookLab(port=0, db=db).start()
        try:
            lab.forward("s", to=app.url + "/hook")
            for i in range(10):
                assert hooklab.send(lab.url_for("s"), payload={"i": i}).status == 200
            app.wait(1, timeout=10)
            with caplog.at_level(logging.WARNING, logger="hooklab"):
                lab.stop()
            left = lab.forwards_left
        finally:
            lab.stop(quiet_forwards=True)
        n = len(left.ids("unsent"))
        assert n >= 2, left
        assert _warned(caplog) == [
            f"{n} forwards waiting for a slow target were not sent (the lab stopped or moved "
            f"to another database); lab.forwards_left names them, captures of {db} "
            f"(hooklab.open({db!r}).replay(...) sends them)"]
        again = hooklab.open(db)
        try:
            assert [r.status for r in again.replay(left.ids("unsent"), to=app.url + "/hook",
                                                   timeout=30)] == [200] * n
        finally:
            again.stop()
