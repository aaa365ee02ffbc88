"""Start a real Jupyter server (JupyterLab or Notebook 7) for browser tests.

>>> with run_jupyter("jupyterlab", tmp_path_factory, lab_args) as server:   # doctest: +SKIP
...     page.goto(server.url_for("lab/tree/x.ipynb"))
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from _http import free_port  # out of the ephemeral range

#: Debian's Chromium; HOOKLAB_TEST_CHROMIUM points elsewhere (tests/test_suite_rules.py uses it)
CHROMIUM = Path(os.environ.get("HOOKLAB_TEST_CHROMIUM") or "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"



@dataclass
class JupyterServer:
    """A running Jupyter server: ``url_for("lab/tree/x.ipynb")`` adds the token."""

    root: Path
    home: Path
    port: int
    token: str
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url_for(self, path: str) -> str:
        return f"{self.base}/{path.lstrip('/')}?token={self.token}"

    def write_notebook(self, name: str, cells: list[str]) -> Path:
        """Write a Python 3 notebook whose code cells are ``cells``."""
        nb = {
            "cells": [
                {"cell_type": "code", "execution_count": None, "id": f"c{i}",
                 "metadata": {}, "outputs": [], "source": src}
                for i, src in enumerate(cells)
            ],
            "metadata": {
                "kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)",
                               "language": "python"},
                "language_info": {"name": "python"},
            },
            "nbformat": 4,
            "nbformat_minor": 5,
        }
        path = self.root / name
        path.write_text(json.dumps(nb), encoding="utf-8")
        return path


@contextmanager
def run_jupyter(
    module: str,
    tmp_path_factory: pytest.TempPathFactory,
    app_args: Callable[[Path], list[str]],
    *,
    ready_timeout: float = 45.0,
) -> Iterator[JupyterServer]:
    """Run ``python -m <module>`` with a token, a fresh root dir, config, runtime and settings.

    ``app_args(home)`` gives the application's own options (workspace/settings dirs under
    ``home``). Waits for ``/api/status``; terminates the server (and its kernels) afterwards.
    """
    root = tmp_path_factory.mktemp(f"{module}-root")
    home = tmp_path_factory.mktemp(f"{module}-home")
    settings = home / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    # no "receive Jupyter news?" toast over the page
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    port, token = free_port(), secrets.token_hex(16)
    # (not PYTEST_CURRENT_TEST: under it ipykernel keeps what a kernel writes to its stderr
    # out of the notebook, where a user sees it)
    env = {
        **{k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"},
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTER_PLATFORM_DIRS": "1",
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
    }
    log = home / "jupyter.log"
    cmd = [
        sys.executable, "-m", module, "--no-browser", "--ip=127.0.0.1",
        f"--port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        *app_args(home),
        *(["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []),
    ]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = JupyterServer(root=root, home=home, port=port, token=token, proc=proc, log=log)
    try:
        deadline = time.monotonic() + ready_timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{module} exited:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(server.url_for("api/status"), timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{module} did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield server
    finally:
        proc.terminate()  # the server shuts its kernels down (and with them hooklab's server)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def run_cell(page: Any, index: int) -> None:
    """Click into JupyterLab cell ``index`` and press Shift+Enter; retried while the kernel
    connects. Returns once the prompt shows ``[*]:`` (queued/running) or a number."""
    cell = page.locator(".jp-Notebook .jp-CodeCell").nth(index)
    prompt = cell.locator(".jp-InputPrompt")
    for _ in range(10):
        cell.locator(".cm-content").click()
        page.keyboard.press("Shift+Enter")
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            if prompt.inner_text().strip() not in ("[ ]:", ""):
                return
            time.sleep(0.05)
    raise AssertionError(f"cell {index} never started (kernel not connected?)")


def open_live_view(jupyter_lab: Any, page: Any, notebook: str, cells: list[str],
                   url_file: str, *, reset: bool = True) -> str:
    """Write ``notebook`` with ``cells``, open it (``reset``: a fresh workspace, without an
    earlier test's notebook and its live view), run its first cell (which shows a live view
    and writes the lab's base URL to ``url_file`` under the server's root) and return that
    URL once both are there."""
    jupyter_lab.write_notebook(notebook, cells)
    path = jupyter_lab.root / url_file
    page.goto(jupyter_lab.url_for(f"lab/tree/{notebook}") + ("&reset" if reset else ""))
    page.locator(".jp-Notebook .jp-CodeCell .cm-content").first.wait_for(timeout=30_000)
    # the kernel must be connected and idle before a cell runs
    page.get_by_text("Python 3 (ipykernel) | Idle").first.wait_for(timeout=30_000)
    run_cell(page, 0)
    page.locator(".hooklab-live").wait_for(timeout=30_000)
    deadline = time.monotonic() + 10
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return path.read_text().strip()


class Webhooks:
    """Webhooks as a sender sends them while a test looks at the page: ``{}`` POSTed to
    ``prefix + str(i)`` at ``rate`` a second, on a thread of its own, for at most ``seconds``
    (bounded), from :meth:`start` until :meth:`stop` (or the ``with`` block's end).
    ``sent`` counts those answered."""

    def __init__(self, prefix: str, rate: float, seconds: float) -> None:
        import threading

        self.prefix, self.rate, self.count = prefix, rate, int(rate * seconds)
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        next_at = time.monotonic()
        for i in range(self.count):
            if self._stop.is_set():
                return
            req = urllib.request.Request(f"{self.prefix}{i}", data=b"{}", method="POST",
                                         headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=10) as answer:
                answer.read()
            self.sent += 1
            next_at += 1 / self.rate
            time.sleep(max(0.0, next_at - time.monotonic()))

    def start(self) -> Webhooks:
        self._thread.start()
        return self

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(30)

    def __enter__(self) -> Webhooks:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
