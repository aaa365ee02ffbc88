"""A real jupyter server with hooklab's extension, for the ingress tests (real sockets, 127.0.0.1)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from _http import free_port

from hooklab import HookLab, ingress

#: what would tell hooklab where it runs: unset for every test, set by a test that needs it
ENV_VARS = (
    "HOOKLAB_PUBLIC_URL", "HOOKLAB_INGRESS_REGISTRY", "HOOKLAB_INGRESS_SERVER", "JPY_PARENT_PID",
    "JUPYTERHUB_PUBLIC_URL", "JUPYTERHUB_PUBLIC_HUB_URL", "JUPYTERHUB_EXTERNAL_URL",
    "JUPYTERHUB_HOST", "JUPYTERHUB_SERVICE_PREFIX", "BINDER_LAUNCH_HOST",
)  # fmt: skip


@contextmanager
def jupyter_server(tmp: Path, token: str, base_url: str, *, port: int | None = None,
                   port_retries: int = 0, args: tuple[str, ...] = ()) -> Iterator[dict[str, object]]:
    """Start ``jupyter_server`` with the extension under ``base_url`` (e.g. ``/user/test/``);
    yield its local root URL, runtime dir, port and log file; stop it afterwards. ``port``
    (default a free one) may be taken or 0: the port it chose is read from its runtime file.
    ``args``: more command-line options (``--ServerApp.trust_xheaders=True``, as JupyterHub's
    single-user servers run)."""
    runtime, root, config = tmp / "runtime", tmp / "root", tmp / "config"
    for d in (runtime, root, config):
        d.mkdir()
    asked = free_port() if port is None else port
    env = {k: v for k, v in os.environ.items()  # (PYTEST_CURRENT_TEST: see tests/browser/_jupyter.py)
           if k not in ENV_VARS and k != "PYTEST_CURRENT_TEST"}
    env.update(JUPYTER_RUNTIME_DIR=str(runtime), JUPYTER_CONFIG_DIR=str(config))
    cmd = [
        sys.executable, "-m", "jupyter_server", "--no-browser", f"--port={asked}",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port_retries={port_retries}", "--allow-root",
        f"--IdentityProvider.token={token}", f"--ServerApp.base_url={base_url}",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.jpserver_extensions={'hooklab.serverext': True}", *args,
    ]  # fmt: skip
    log = open(tmp / "server.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    port = asked
    try:
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("jupyter server did not start:\n" + (tmp / "server.log").read_text())
            info = runtime / f"jpserver-{proc.pid}.json"
            if not info.exists():
                time.sleep(0.1)
                continue
            try:
                port = int(json.loads(info.read_text())["port"])
            except (ValueError, KeyError):  # (being written)
                time.sleep(0.05)
                continue
            local = f"http://127.0.0.1:{port}{base_url}"
            try:
                req = urllib.request.Request(local + "api/status", headers={"Authorization": f"token {token}"})
                with urllib.request.urlopen(req, timeout=2) as r:
                    if r.status == 200 and (runtime / ingress.REGISTRY_NAME).exists():
                        break
            except OSError:
                time.sleep(0.1)
        yield {"local": local, "runtime": runtime, "port": port, "log": tmp / "server.log"}
    finally:
        stop_server(proc)
        log.close()


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, ten seconds to exit, then SIGKILL (and reap it)."""
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def use_server(jupyter: dict[str, object], monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """Point this test's process at ``jupyter`` (its runtime dir) with nothing else set."""
    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(jupyter["runtime"]))
    return jupyter


@contextmanager
def running_lab() -> Iterator[HookLab]:
    """A started lab on a free port, unregistered from the ingress and stopped afterwards."""
    lab = HookLab(port=0, db=":memory:").start()
    try:
        yield lab
    finally:
        ingress.unregister(lab)
        lab.stop()


def server_fixtures(name: str, token: str, base_url: str, *,
                    needs: Callable[[], object] | None = None, **server: Any) -> tuple[Any, Any, Any]:
    """The three fixtures a relay test module uses, as ``jupyter, env, lab = server_fixtures(
    "jupyter-relay", TOKEN, "/user/alice/")``: ``jupyter`` (a real jupyter server with the
    extension, one per module; ``server`` goes to :func:`jupyter_server`; ``needs``, if
    given, is called first: it skips the module when something it needs is missing), ``env``
    (this test's process pointed at it) and ``lab`` (a started lab, stopped afterwards)."""

    @pytest.fixture(scope="module")
    def jupyter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
        if needs is not None:
            needs()
        with jupyter_server(tmp_path_factory.mktemp(name), token, base_url, **server) as running:
            yield running

    @pytest.fixture
    def env(jupyter: dict[str, object], monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
        return use_server(jupyter, monkeypatch)

    @pytest.fixture
    def lab(env: dict[str, object]) -> Iterator[HookLab]:
        with running_lab() as started:
            yield started

    return jupyter, env, lab
