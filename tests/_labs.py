"""Labs for test modules that share one among their tests.

A module whose tests each send their own captures (to a bin of their own) and read them back
does not need a lab per test: one, started for the module, is enough::

    from _labs import module_lab

    lab = module_lab()  # the fixture ``lab``: one lab for this module's tests

    def test_something(lab: hooklab.HookLab) -> None:
        ...

(``tests/conftest.py`` has a ``lab`` per test, for tests that need one of their own.)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

import hooklab


@contextmanager
def memory_lab() -> Iterator[hooklab.HookLab]:
    """A lab started on a free port of 127.0.0.1 with an in-memory store, stopped after."""
    lab = hooklab.HookLab(port=0, db=":memory:").start()
    try:
        yield lab
    finally:
        lab.stop()


def module_lab() -> Any:
    """A fixture named ``lab``, of module scope: a :func:`memory_lab` for a module's tests."""

    @pytest.fixture(scope="module")
    def lab() -> Iterator[hooklab.HookLab]:
        with memory_lab() as started:
            yield started

    return lab
