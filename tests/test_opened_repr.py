"""``repr(hooklab.open(db))`` said "hooklab stopped" of a lab that never served (and of a
Parquet export, "db :memory:"). A lab ``hooklab.open`` made says it was opened and is not
serving, and what it opened; once it serves, and once stopped, it says so as any lab does.
The reprs of a serving lab and of a stopped one are as they were."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from _http import post

import hooklab

pytestmark = pytest.mark.timeout(120)

URL = r"http://127\.0\.0\.1:\d+"


def _with_two(db: str) -> None:
    with hooklab.HookLab(port=0, db=db) as lab:
        for body in (b"1", b"2"):
            assert post(lab.url_for("r"), body)[0] == 200
        lab.wait(2, timeout=30)
        if db.endswith(".sqlite3"):
            lab.export(str(Path(db).parent / "exp"), fmt="parquet")


def _read_only(tmp_path: Path) -> str:
    """A copy of the database that ``hooklab.open`` reads as it is: another user's file
    (as root), or one in a folder this user cannot write."""
    ro = tmp_path / "ro"
    ro.mkdir()
    shutil.copy(tmp_path / "c.sqlite3", ro / "c.sqlite3")
    if os.getuid() == 0:
        os.chown(ro / "c.sqlite3", 65534, 65534)
    else:
        ro.chmod(0o555)
    return "ro/c.sqlite3"


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)
    _with_two(str(tmp_path / "c.sqlite3"))
    yield tmp_path
    if (tmp_path / "ro").exists():  # (so that pytest can remove it)
        (tmp_path / "ro").chmod(0o755)


@pytest.mark.parametrize(("opened", "says"), [
    ("c.sqlite3", "hooklab opened, not serving (db c.sqlite3, 2 captures)"),
    ("{tmp}/c.sqlite3", "hooklab opened, not serving (db c.sqlite3, 2 captures)"),
    ("exp", "hooklab opened, not serving (Parquet exp, 2 captures)"),
    ("{tmp}/exp", "hooklab opened, not serving (Parquet exp, 2 captures)"),
    (":memory:", "hooklab opened, not serving (db :memory:, 0 captures)"),
    ("read-only", "hooklab opened, not serving (db ro/c.sqlite3, read-only, 2 captures)"),
])
def test_an_opened_lab_says_it_is_opened_and_not_serving(folder: Path, opened: str, says: str) -> None:
    path = _read_only(folder) if opened == "read-only" else opened.format(tmp=folder)
    lab = hooklab.open(path)
    try:
        assert repr(lab) == f"<HookLab {says}>"
        assert lab.status_line() == says
        assert repr(lab) == f"<HookLab {says}>"  # (asked again: the same)
    finally:
        lab.stop()


def test_a_database_outside_the_working_folder_is_named_by_its_path(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "elsewhere").mkdir()
    _with_two(str(tmp_path / "c.sqlite3"))
    monkeypatch.chdir(tmp_path / "elsewhere")
    lab = hooklab.open(tmp_path / "c.sqlite3")
    try:
        assert repr(lab) == f"<HookLab hooklab opened, not serving (db {tmp_path / 'c.sqlite3'}, 2 captures)>"
    finally:
        lab.stop()


def test_once_served_or_stopped_it_says_so_as_any_lab(folder: Path) -> None:
    lab = hooklab.open("c.sqlite3")
    lab.port = 0
    try:
        lab.start()
        assert re.fullmatch(rf"<HookLab hooklab listening on {URL} \(db c\.sqlite3, 2 captures\)>",
                            repr(lab)), repr(lab)
        lab.stop_serving()
        assert repr(lab) == "<HookLab hooklab stopped (db c.sqlite3, 2 captures)>"
    finally:
        lab.stop()
    assert repr(lab) == "<HookLab hooklab stopped (db c.sqlite3, 2 captures)>"
    lab.stop()
    never = hooklab.open("c.sqlite3")
    never.stop()  # (closed without serving: no more what was opened)
    assert repr(never) == "<HookLab hooklab stopped (db c.sqlite3, 2 captures)>"
    never.stop()
    memory = hooklab.open(":memory:")
    memory.stop()
    assert repr(memory) == "<HookLab hooklab stopped (db :memory:, its captures went with stop())>"


def test_a_serving_and_a_stopped_lab_say_what_they_said(folder: Path) -> None:
    lab = hooklab.HookLab(port=0, db="c.sqlite3").start()
    try:
        assert repr(lab) == f"<HookLab hooklab listening on {lab.url} (db c.sqlite3, 2 captures)>"
        lab.stop_serving()
        assert repr(lab) == "<HookLab hooklab stopped (db c.sqlite3, 2 captures)>"
    finally:
        lab.stop()
    assert repr(lab) == "<HookLab hooklab stopped (db c.sqlite3, 2 captures)>"
    lab.stop()


@pytest.mark.parametrize("name", ["x.sqlite3", "sub/y.sqlite3"])
def test_the_repr_of_a_lab_never_started_makes_no_file(tmp_path, monkeypatch, name) -> None:
    """``repr(HookLab(db=...))`` (a notebook shows it as the cell's value) opened the store to
    count its captures, which made the database file, its ``-wal`` and ``-shm``, for a lab
    that was never started."""
    monkeypatch.chdir(tmp_path)
    if "/" in name:
        (tmp_path / "sub").mkdir()
    lab = hooklab.HookLab(port=0, db=name)
    try:
        assert repr(lab) == f"<HookLab hooklab stopped (db {name}, 0 captures)>"
        assert lab.status_line() == f"hooklab stopped (db {name}, 0 captures)"
        made = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
        assert made == []
    finally:
        lab.stop()
    assert not (tmp_path / name).exists()
