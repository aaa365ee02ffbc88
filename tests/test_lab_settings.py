"""A setting that cannot be applied to a running lab (``lab.host = ...``, ``lab.db = ...``,
``%config HookLab...``) is refused and the lab stays as it was: serving on the same port,
with its database, captures, forwards and live views. It was left stopped with the bad value
kept. Real labs on 127.0.0.1, real files."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from _target import Target
from traitlets import TraitError

import hooklab


def _folder(tmp: Path) -> str:
    return str(tmp)


def _corrupt(tmp: Path) -> str:
    p = tmp / "corrupt.sqlite3"
    p.write_bytes(b"this is not a database" * 100)
    return str(p)


def _under_a_file(tmp: Path) -> str:
    (tmp / "plain.txt").write_text("x")
    return str(tmp / "plain.txt" / "captures.sqlite3")


#: (trait, the bad value (or how to make it), words the refusal says)
REFUSED: list[tuple[str, Any, str]] = [
    ("host", "not a host", "cannot be bound"),
    ("host", "192.0.2.1", "cannot be bound"),  # (TEST-NET-1: an address of no machine here)
    ("db", _folder, "folder"),
    ("db", _corrupt, "not a database"),
    ("db", _under_a_file, "refused"),
    ("port", 70000, "65535"),
    ("port", -1, "0"),
    ("durability", "sometimes", "durability"),
]


@pytest.mark.parametrize("db", ["file", ":memory:"])
@pytest.mark.parametrize("name, bad, says", REFUSED, ids=[f"{n}={b if isinstance(b, str | int) else b.__name__}"
                                                          for n, b, _ in REFUSED])
def test_a_setting_that_cannot_be_applied_is_refused_and_the_lab_goes_on(tmp_path, db, name,
                                                                        bad, says):
    bad_dir = tmp_path / "bad"
    bad_dir.mkdir()
    value = bad(bad_dir) if callable(bad) else bad
    path = str(tmp_path / "captures.sqlite3") if db == "file" else ":memory:"
    with Target() as app:
        lab = hooklab.HookLab(port=0, db=path).start()
        try:
            url, port = lab.url, lab.bound_port
            given = lab.url_for("a")  # (handed to a sender)
            lab.forward("a", app.url + "/hook")
            assert hooklab.send(given, payload={"n": 1}).status == 200
            lab.wait(1, timeout=10)
            view = lab.live()
            old = getattr(lab, name)
            with pytest.raises(TraitError) as err:
                setattr(lab, name, value)
            assert says in str(err.value), str(err.value)
            assert getattr(lab, name) == old
            assert (lab.is_running, lab.bound_port, lab.url, lab.port) == (True, port, url, 0)
            assert lab.db == path and len(lab.captures) == 1  # (a :memory: lab's too)
            assert hooklab.send(given, payload={"n": 2}).status == 200
            assert [c.json()["n"] for c in lab.wait(2, timeout=10)] == [1, 2]
            deadline = time.monotonic() + 10  # (its forward still goes to the app)
            while len(app.received) < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert [r.path for r in app.received] == ["/hook", "/hook"]
            deadline = time.monotonic() + 10  # (and its live view still shows what arrives)
            while view.rows != [2, 1] and time.monotonic() < deadline:
                time.sleep(0.05)
            assert view.rows == [2, 1]
            assert not (bad_dir / "captures.sqlite3").exists()
        finally:
            lab.stop()


def test_a_db_that_works_moves_the_lab_on_the_same_port(tmp_path):
    """``lab.db = NEW`` (``%config HookLab.db``) on a lab started with ``port=0``: the lab
    moves to the new file on the port it had (it came back on another one: every URL handed
    out broke), its forwards following."""
    lab = hooklab.HookLab(port=0, db=str(tmp_path / "a.sqlite3")).start()
    try:
        given, port = lab.url_for("a"), lab.bound_port
        assert hooklab.send(given, payload={"n": 1}).status == 200
        lab.wait(1, timeout=10)
        lab.db = str(tmp_path / "b.sqlite3")
        assert (lab.is_running, lab.bound_port, lab.port) == (True, port, 0)
        assert len(lab.captures) == 0
        assert hooklab.send(given, payload={"n": 2}).status == 200
        assert [c.json()["n"] for c in lab.wait(1, timeout=10)] == [2]
        before = hooklab.open(str(tmp_path / "a.sqlite3"))
        assert [c.json()["n"] for c in before.captures] == [1]
        before.stop()
    finally:
        lab.stop()


@pytest.mark.parametrize("how", ["trait", "config"])
def test_a_new_durability_keeps_a_memory_lab_s_captures(how):
    """``durability`` says how a database file is synced; a ``db=":memory:"`` lab has none,
    but a new ``durability`` opened a new, empty in-memory store and closed the old one: every
    capture was silently gone. A file lab still moves (reopens its file)."""
    from traitlets.config import Config

    lab = hooklab.HookLab(port=0, db=":memory:").start()
    try:
        given, port = lab.url_for("a"), lab.bound_port
        assert hooklab.send(given, payload={"n": 1}).status == 200
        lab.wait(1, timeout=10)
        if how == "trait":
            lab.durability = "normal"
        else:
            lab.update_config(Config({"HookLab": {"durability": "normal", "port": 0}}))
        assert (lab.durability, lab.is_running, lab.bound_port) == ("normal", True, port)
        assert hooklab.send(given, payload={"n": 2}).status == 200
        assert [c.json()["n"] for c in lab.wait(2, timeout=10)] == [1, 2]
    finally:
        lab.stop()


def test_a_config_s_strict_port_decides_the_move_it_comes_with(tmp_path):
    """(security review) ``update_config`` of ``db``, a taken ``port`` and ``strict_port=True``
    together: the move was made before ``strict_port`` was applied, so the lab moved to the
    next port (a warning) and the ``:memory:`` captures were gone; it is refused whole now."""
    import socket

    from traitlets import TraitError
    from traitlets.config import Config

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        lab = hooklab.HookLab(port=0, db=":memory:").start()
        try:
            was = lab.bound_port
            assert hooklab.send(lab.url_for("b"), payload={"a": 1}).status == 200
            lab.wait(1, timeout=10)
            with pytest.raises(TraitError, match="in use"):
                lab.update_config(Config({"HookLab": {"db": str(tmp_path / "n.sqlite3"),
                                                      "port": port, "strict_port": True}}))
            assert (lab.db, lab.bound_port, len(lab.captures)) == (":memory:", was, 1)
            assert not (tmp_path / "n.sqlite3").exists()
        finally:
            lab.stop()
