"""The live view in a real Notebook 7 (``jupyter notebook``) + headless Chromium.

Issue 3 asks for the live view to work in JupyterLab 4 *and* Notebook 7; JupyterLab is covered
by ``test_live_browser.py``, this file covers Notebook 7: open a notebook at
``/notebooks/<name>.ipynb``, run it through the "Run" menu, POST webhooks from the test, and
check what a person would see: the row appears within 2 s, clicking it shows the body, hostile
text stays text. Debian's ``/usr/bin/chromium`` is driven through Playwright; nothing is
downloaded, and without it the test skips.

The fixtures live here (not in ``conftest.py``) so this file stands on its own.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from _jupyter import ARTIFACTS, CHROMIUM_ARGS, JupyterServer, run_jupyter

XSS = '<img src=x onerror="window.__xss=1">'
ROW = ".hooklab-live .hl-table select option"  # the table shown (an ipywidgets Select)
SETUP = (
    'import hooklab; lab = hooklab.start(port=0, db=":memory:"); '
    'open("port.txt","w").write(str(lab.bound_port)); lab.live()'
)


@pytest.fixture(scope="module")
def nb7_chromium(chromium_path: Path) -> Path:
    """The shared Chromium check (conftest), plus Notebook 7 itself."""
    pytest.importorskip("notebook", minversion="7", reason="needs Notebook 7: pip install 'notebook>=7'")
    return chromium_path


@pytest.fixture(scope="module")
def notebook7(
    nb7_chromium: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[JupyterServer]:
    """``jupyter notebook`` on a free port with a token, fresh config/settings; killed afterwards."""

    def nb_args(home: Path) -> list[str]:
        return [
            f"--JupyterNotebookApp.user_settings_dir={home / 'settings'}",
            f"--JupyterNotebookApp.workspaces_dir={home / 'ws'}",
        ]

    with run_jupyter("notebook", tmp_path_factory, nb_args) as server:
        yield server


@pytest.fixture
def nb7_page(nb7_chromium: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(nb7_chromium), headless=True,
                                    args=CHROMIUM_ARGS)
        try:
            yield browser.new_context(viewport={"width": 1280, "height": 1100}).new_page()
        finally:
            browser.close()


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status


def _run_all(page: Any) -> None:
    """Run → Run All Cells once the kernel is idle; retried if the cell never starts."""
    page.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').wait_for(timeout=30_000)
    prompt = page.locator(".jp-Notebook .jp-CodeCell .jp-InputPrompt").first
    for _ in range(5):
        page.get_by_role("menuitem", name="Run", exact=True).click()  # menu bar
        page.locator('li[data-command="runmenu:run-all"]').click()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if prompt.inner_text().strip() not in ("[ ]:", ""):
                return  # "[*]:" (queued/running) or "[1]:"
            time.sleep(0.05)
        page.keyboard.press("Escape")  # close the menu if it is still open
    raise AssertionError("Run All Cells never started the cell (kernel not connected?)")


def _bound_port(root: Path, timeout: float = 10.0) -> int:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return int((root / "port.txt").read_text().strip())
        except (OSError, ValueError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _post_and_wait_row(page: Any, url: str, body: bytes, headers: dict[str, str],
                       row_text: str, within: float = 2.0) -> float:
    """POST, then wait until a table row containing ``row_text`` is rendered; seconds taken."""
    t0 = time.monotonic()
    assert _post(url, body, headers) == 200
    left = max(0.05, within - (time.monotonic() - t0))
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.locator(ROW, has_text=row_text).first.wait_for(state="attached", timeout=left * 1000)
    except PlaywrightTimeout:
        raise AssertionError(f"no row with {row_text!r} within {within} s of the POST") from None
    return time.monotonic() - t0


def test_live_view_in_notebook7(notebook7: JupyterServer, nb7_page: Any) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        _scenario(notebook7, nb7_page)
    except BaseException:
        nb7_page.screenshot(path=str(ARTIFACTS / "live-notebook7-failure.png"))
        raise


def _scenario(server: JupyterServer, page: Any) -> None:
    server.write_notebook("live.ipynb", [SETUP])
    page.goto(server.url_for("notebooks/live.ipynb"))
    page.locator(".jp-Notebook .jp-CodeCell .cm-content").first.wait_for(timeout=30_000)
    # really Notebook 7's single-document page, not JupyterLab
    app = page.evaluate(
        "(() => { const c = JSON.parse(document.getElementById('jupyter-config-data').textContent);"
        " return [c.appName, c.appVersion, c.notebookPage]; })()"
    )
    assert app[0] == "Jupyter Notebook" and app[1].startswith("7.") and app[2] == "notebooks", app
    _run_all(page)
    live = page.locator(".hooklab-live")
    live.wait_for(timeout=30_000)
    live.locator(".hl-counter", has_text="0 captures").wait_for(timeout=5_000)
    base = f"http://127.0.0.1:{_bound_port(server.root)}"

    # 1. a JSON webhook: its row shows up within 2 s of the POST
    payload = {"action": "opened", "issue": {"number": 7, "title": "notebook seven"}}
    took = _post_and_wait_row(
        page, f"{base}/github", json.dumps(payload).encode(),
        {"Content-Type": "application/json", "X-GitHub-Event": "issues",
         "X-GitHub-Delivery": "nb7-1"},
        "github",
    )
    assert took < 2.0

    # 2. clicking it shows its headers and the pretty-printed JSON body
    page.locator(ROW, has_text="github").first.click()
    detail = live.locator(".hl-detail")
    detail.locator("th", has_text="X-GitHub-Event").wait_for(timeout=5_000)
    text = detail.inner_text()
    assert "#1 POST /github" in text
    assert '"title": "notebook seven"' in text and '"action": "opened"' in text

    # 3. a hostile payload in path, header and body is shown as text and never runs
    took = _post_and_wait_row(
        page, f"{base}/xss/{quote(XSS, safe='')}", XSS.encode(),
        {"Content-Type": "text/html", "X-Evil": XSS},
        "xss/",
    )
    assert took < 2.0
    page.locator(ROW, has_text="xss/").first.click()
    detail.locator("th", has_text="X-Evil").wait_for(timeout=5_000)
    text = detail.inner_text()
    assert text.count(XSS) >= 2  # header value and body, verbatim as text
    assert page.locator(".hooklab-live img").count() == 0
    assert page.evaluate("typeof window.__xss") == "undefined"

    live.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "live-notebook7.png"))
    assert page.evaluate("typeof window.__xss") == "undefined"
