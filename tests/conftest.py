"""Shared fixtures: real labs on 127.0.0.1 with free ports."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import hooklab
from hooklab import HookLab


@pytest.fixture
def lab() -> Iterator[HookLab]:
    """A running lab on a free port with an in-memory store."""
    lab = HookLab(port=0, db=":memory:").start()
    try:
        yield lab
    finally:
        lab.stop()


@pytest.fixture
def file_lab(tmp_path) -> Iterator[HookLab]:
    """A running lab on a free port with a SQLite file in tmp_path."""
    lab = HookLab(port=0, db=str(tmp_path / "captures.sqlite3")).start()
    try:
        yield lab
    finally:
        lab.stop()


@pytest.fixture(autouse=True)
def _no_default_lab_leak() -> Iterator[None]:
    yield
    hooklab.stop()


@pytest.fixture(autouse=True)
def _no_helper_turn_leak() -> Iterator[None]:
    """A test that leaves a set of helper processes holding its turn would make every later
    test on this worker run without helpers: fail that test, and free the turn."""
    yield
    import sys

    parallel = sys.modules.get("hooklab.explore.parallel")
    if parallel is not None and parallel._running:
        parallel._running = None
        pytest.fail("a set of helper processes was left running (parallel._running)")
