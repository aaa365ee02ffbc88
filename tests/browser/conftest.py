"""Fixtures for real-browser tests: JupyterLab on a free port + Debian's headless Chromium.

Nothing is downloaded: Playwright drives ``/usr/bin/chromium``. Without it the tests skip
(``apt-get install chromium`` enables them; ``.ci/run`` does that on CI).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _jupyter import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, JupyterServer, run_jupyter

JupyterLab = JupyterServer  # the name the browser tests use


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        pytest.skip(
            "browser tests need Debian's Chromium at /usr/bin/chromium: "
            "run `apt-get install chromium` to enable them"
        )
    pytest.importorskip("playwright.sync_api", reason="pip install playwright (no browser download)")
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
