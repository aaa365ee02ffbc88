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

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
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


def file_module_lab(**settings: Any) -> Any:
    """A fixture named ``lab``, of module scope: a lab on a free port of 127.0.0.1 with its
    SQLite file in a folder of its own, made with ``settings`` (``HookLab``'s traits, e.g.
    ``body_timeout=0.5``), stopped after the module's tests."""

    @pytest.fixture(scope="module")
    def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[hooklab.HookLab]:
        db = tmp_path_factory.mktemp("lab") / "captures.sqlite3"
        started = hooklab.HookLab(port=0, db=str(db), **settings).start()
        try:
            yield started
        finally:
            started.stop()

    return lab


@contextmanager
def served_and_exported(root: Path, sent: Iterable[tuple[str, bytes]]) -> Iterator[dict[str, Any]]:
    """``{"sqlite": lab, "parquet": dataset}``: a lab on a free port of 127.0.0.1 with its
    SQLite file in ``root``, that received each JSON body of ``sent`` (``(bin, body)``) over
    HTTP, and its Parquet export, opened; both stopped after.

        with served_and_exported(tmp_path, [("num", b'{"n": 1}')]) as both:
            both["parquet"].sql("SELECT count(*) FROM captures")
    """
    from _http import post

    lab = hooklab.start(port=0, db=str(root / "captures.sqlite3"))
    try:
        n = 0
        for bin_, body in sent:
            assert post(lab.url_for(bin_), body, {"Content-Type": "application/json"})[0] == 200
            n += 1
        lab.wait(n, timeout=10)
        assert lab.export(str(root / "ds"), fmt="parquet") == n
        pq = hooklab.open(str(root / "ds"))
        try:
            yield {"sqlite": lab, "parquet": pq}
        finally:
            pq.stop()
    finally:
        lab.stop()


def sealed_copy(captures: Iterable[Any], path: Path, timeout: float = 60.0) -> hooklab.HookLab:
    """A lab started on a new SQLite file ``path`` holding ``captures`` (stored again, a
    second apart from 2026-01-01, as they came: path, headers, body) and 4,096 small JSON
    fillers after them, once a column segment is sealed over the first rows (so the frame
    and the schema read its flags and bodies). Stop it when done."""
    import sqlite3
    import time
    from datetime import datetime, timedelta, timezone

    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    records: list[dict[str, Any]] = [
        {"method": "POST", "path": c.path, "headers": c.headers, "body": c.body,
         "received_at": t0 + timedelta(seconds=i)} for i, c in enumerate(captures)]
    records += [{"method": "POST", "path": "/filler", "headers": [("Content-Type", "application/json")],
                 "body": b'{"f": 1}', "received_at": t0 + timedelta(seconds=100, microseconds=i)}
                for i in range(4096)]
    lab = hooklab.start(port=0, db=str(path))
    try:
        assert lab.store.add_many(records) == len(records)
        end = time.monotonic() + timeout
        while True:
            db = sqlite3.connect(path)
            try:
                if db.execute("SELECT COUNT(*) FROM segments").fetchone()[0]:
                    return lab
            finally:
                db.close()
            assert time.monotonic() < end, "no segment sealed"
            time.sleep(0.05)
    except BaseException:
        lab.stop()
        raise
