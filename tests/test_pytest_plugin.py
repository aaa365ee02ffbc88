"""The ``hooklab_server`` pytest fixture, exercised in a separate pytest run."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from importlib.metadata import entry_points

TESTS = '''
import urllib.request

import pytest

SEEN = []


def _post(url, body=b"{}"):
    with urllib.request.urlopen(urllib.request.Request(url, data=body), timeout=10) as r:
        return r.status


def test_first(hooklab_server):
    hooklab_server.respond("orders", 202)
    hooklab_server.forward("orders", to="http://127.0.0.1:9/")
    assert _post(hooklab_server.url_for("orders")) == 202
    hooklab_server.wait(1, bin="orders", timeout=5)
    hooklab_server.assert_received(1, bin="orders", method="POST")
    SEEN.append(hooklab_server.url)


def test_second_starts_clean_on_the_same_server(hooklab_server):
    assert len(hooklab_server.captures) == 0
    assert _post(hooklab_server.url_for("orders")) == 200  # rules were reset
    assert hooklab_server.url == SEEN[0]
    with pytest.raises(AssertionError, match="expected 2 capture"):
        hooklab_server.assert_received(2, bin="orders")
'''


def test_fixture_one_server_per_session_cleared_per_test(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "test_uses_fixture.py").write_text(textwrap.dedent(TESTS))
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "hooklab.pytest_plugin", "-q",
         "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "2 passed" in r.stdout


def test_entry_point_is_registered() -> None:
    """A packaging regression (entry point gone) fails here; it is never a skip."""
    eps = [ep for ep in entry_points(group="pytest11") if ep.value == "hooklab.pytest_plugin"]
    assert eps, "the pytest11 entry point 'hooklab = hooklab.pytest_plugin' is not installed"
    assert [ep.name for ep in eps] == ["hooklab"]
    assert eps[0].load().__name__ == "hooklab.pytest_plugin"
