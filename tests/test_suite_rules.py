"""Rules of the test suite itself: a CI run without a browser fails instead of skipping."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PAGE_TEST = "tests/browser/test_stream_page.py"


def _run(ci: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["HOOKLAB_TEST_CHROMIUM"] = str(REPO / "no-such-chromium")
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", PAGE_TEST],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("ci", ["true", "1"])
def test_a_ci_run_without_chromium_fails(ci: str) -> None:
    r = _run(ci)
    assert r.returncode == 1, r.stdout[-2000:]
    assert "CI run without a browser" in r.stdout and "skipped" not in r.stdout.splitlines()[-1]


@pytest.mark.parametrize("ci", [None, "false"])
def test_a_developer_run_without_chromium_skips(ci: str | None) -> None:
    r = _run(ci)
    assert r.returncode == 0, r.stdout[-2000:]
    assert "skipped" in r.stdout.splitlines()[-1] and "apt-get install chromium" in r.stdout


@pytest.mark.parametrize("workers", [1, 2, 3, 4])
def test_each_xdist_worker_picks_ports_of_its_own(monkeypatch, workers: int) -> None:
    from _http import _share

    stretch = range(20000, 32000)
    shares = []
    for w in range(workers):
        monkeypatch.setenv("PYTEST_XDIST_WORKER", f"gw{w}")
        monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", str(workers))
        shares.append(set(_share(stretch)))
    assert all(len(s) == len(stretch) // workers for s in shares)
    assert len(set().union(*shares)) == sum(len(s) for s in shares)  # no port in two shares
    assert set().union(*shares) <= set(stretch)


@pytest.mark.parametrize("env", [{}, {"PYTEST_XDIST_WORKER": "gw7", "PYTEST_XDIST_WORKER_COUNT": "2"},
                                 {"PYTEST_XDIST_WORKER": "main", "PYTEST_XDIST_WORKER_COUNT": "2"}])
def test_outside_xdist_or_with_odd_names_the_whole_stretch(monkeypatch, env: dict[str, str]) -> None:
    from _http import _share

    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    monkeypatch.delenv("PYTEST_XDIST_WORKER_COUNT", raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert _share(range(20000, 32000)) == range(20000, 32000)
