"""Fixtures for real-browser tests: JupyterLab on a free port + Debian's headless Chromium.

Nothing is downloaded: Playwright drives ``/usr/bin/chromium``. Without it (or without the
``playwright`` package) the tests skip on a developer machine (``apt-get install chromium``
enables them) but **fail** under CI (``CI`` set to anything but ``""``/``0``/``false``): a CI run
that lost its browser must not pass by skipping what a person would look at.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _jupyter import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, JupyterServer, run_jupyter

JupyterLab = JupyterServer  # the name the browser tests use


def under_ci() -> bool:
    """Whether this run is a CI run (``CI=true``, as GitHub Actions, GitLab and others set)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def missing(reason: str) -> None:
    """Skip on a developer machine; fail under CI, where a missing browser is a broken run."""
    if under_ci():
        pytest.fail(f"CI run without a browser: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        missing(
            "browser tests need Debian's Chromium at /usr/bin/chromium: "
            "run `apt-get install chromium` to enable them"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing("browser tests need playwright: pip install playwright (no browser download)")
    return CHROMIUM


@pytest.fixture(scope="module")
def jupyter_lab(chromium_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterLab]:
    """JupyterLab with a token, a fresh root dir, workspace and settings; killed afterwards."""

    def lab_args(home: Path) -> list[str]:
        return [
            f"--LabApp.workspaces_dir={home / 'ws'}",
            f"--LabApp.user_settings_dir={home / 'settings'}",
            "--LabApp.news_url=",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",
        ]

    with run_jupyter("jupyterlab", tmp_path_factory, lab_args) as server:
        yield server


@pytest.fixture(scope="module")
def browser(chromium_path: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(chromium_path), headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1400, "height": 1400})
    pg = ctx.new_page()
    try:
        yield pg
    finally:
        ctx.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
