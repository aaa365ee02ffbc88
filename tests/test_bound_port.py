"""``lab.port`` is the port asked for (``0``, or one that was taken); ``lab.bound_port`` (and
``lab.url``, and the status line) the one the lab listens on. The README never named
``lab.bound_port`` and said ``lab.port`` told where a moved lab listens: a user building a
URL or a ``--forward`` from ``lab.port`` got ``0`` or the taken port."""

from __future__ import annotations

import re
import socket
import urllib.parse
import warnings
from pathlib import Path

import pytest
from _http import post

import hooklab

README = Path(__file__).resolve().parent.parent / "README.md"

pytestmark = pytest.mark.timeout(120)


def _url_port(lab: hooklab.HookLab) -> int | None:
    return urllib.parse.urlsplit(lab.url).port


def test_port_0_and_a_taken_port_listen_on_bound_port() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        with warnings.catch_warnings(record=True) as said:
            warnings.simplefilter("always")
            moved = hooklab.HookLab(port=busy, db=":memory:").start()
        picked = hooklab.HookLab(port=0, db=":memory:").start()
        try:
            for lab, asked in [(picked, 0), (moved, busy)]:
                assert lab.port == asked  # (the setting, as given)
                bound = lab.bound_port
                assert isinstance(bound, int) and bound not in (0, busy)
                assert _url_port(lab) == bound
                assert lab.status_line().startswith(f"hooklab listening on http://127.0.0.1:{bound} ")
                assert post(f"http://127.0.0.1:{bound}/b", b"1")[0] == 200
                assert len(lab.wait(1, timeout=30)) == 1
            assert any(str(busy) in str(w.message) and str(moved.bound_port) in str(w.message)
                       for w in said), [str(w.message) for w in said]
            before = picked.bound_port
            picked.stop_serving()
            assert picked.bound_port is None and picked.port == 0
            picked.start()  # (on the same port: the one port=0 picked)
            assert picked.bound_port == before == _url_port(picked)
        finally:
            moved.stop()
            picked.stop()
    assert moved.bound_port is None and picked.bound_port is None


def test_an_opened_database_has_no_bound_port(tmp_path) -> None:
    db = tmp_path / "c.sqlite3"
    with hooklab.HookLab(port=0, db=str(db)) as lab:
        assert post(lab.url_for("x"), b"1")[0] == 200
        lab.wait(1, timeout=30)
    opened = hooklab.open(db)
    try:
        assert opened.bound_port is None
    finally:
        opened.stop()


def test_the_readme_names_bound_port_where_it_says_where_a_lab_listens() -> None:
    text = README.read_text(encoding="utf-8")
    api = text.split("## Python API", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    assert re.search(r"^lab\.bound_port\b.*None when", api, re.M | re.S), "API reference"
    moved = " ".join(text.split("leaves the lab as it was or fully moved", 1)[1].split()[:30])
    assert "`lab.bound_port`" in moved, moved
