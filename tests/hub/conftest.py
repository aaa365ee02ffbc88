"""Fixtures for the JupyterHub tests: one real hub per module, one headless Chromium.

Without jupyterhub / configurable-http-proxy / Chromium the tests skip with how to enable them;
under CI (``CI=true``) a missing tool fails the run instead (``.ci/run`` installs them).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from _hub import CHROMIUM, CHROMIUM_ARGS, Hub, require_tools, run_hub


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    require_tools()
    with run_hub(tmp_path_factory.mktemp("hub")) as running:
        yield running


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """A headless Chromium; ``hub.example.test`` resolves to 127.0.0.1 inside it (and only there)."""
    require_tools()
    from playwright.sync_api import sync_playwright

    args = [*CHROMIUM_ARGS, "--host-resolver-rules=MAP hub.example.test 127.0.0.1"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=args)
        try:
            yield browser
        finally:
            browser.close()
