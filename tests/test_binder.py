"""The Binder environment, as far as it can be checked offline: a fresh venv built from
binder/requirements.txt (as repo2docker does) executes every example notebook."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.timeout(900)


def test_binder_requirements_pin_what_the_notebooks_need():
    reqs = (ROOT / "binder" / "requirements.txt").read_text()
    assert "ipykernel>=7.1" in reqs  # 7.0.0 broke output from threads
    assert "jupyterlab>=4" in reqs and "ipywidgets>=8" in reqs
    lines = [line.strip() for line in reqs.splitlines() if not line.startswith("#")]
    assert "." in lines  # a real install, so the server extension's config file is installed
    assert (ROOT / "binder" / "runtime.txt").read_text().startswith("python-3")


def test_fresh_binder_venv_runs_every_notebook(tmp_path):
    env_dir = tmp_path / "binder-env"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    # repo2docker installs from a copy of the repository root
    repo = tmp_path / "repo"
    shutil.copytree(
        ROOT,
        repo,
        ignore=shutil.ignore_patterns(".venv", ".git", "*.egg-info", "__pycache__", ".hooklab",
                                      ".hypothesis",
                                      "test-artifacts", ".pytest_cache", ".ruff_cache"),
    )
    # Python in that venv writes the bytecode of what it imports (PYTHONDONTWRITEBYTECODE, set
    # on some machines, would make every process compile its imports again), so pip need not
    # compile all of its ~6,000 files up front (--no-compile: ~20 s of CPU, most never imported)
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONDONTWRITEBYTECODE")}
    subprocess.run(
        [str(py), "-m", "pip", "install", "-q", "--no-compile", "-r", "binder/requirements.txt"],
        cwd=repo, env=env, check=True, timeout=800,
    )
    notebooks = sorted((repo / "notebooks").glob("*.ipynb"))
    assert len(notebooks) >= 4
    # one `jupyter execute` for them all (each notebook in a kernel of its own, in turn; the
    # first that fails ends the run with an error): not one nbclient process per notebook
    result = subprocess.run(
        [str(env_dir / "bin" / "jupyter"), "execute", "--timeout=120", *(nb.name for nb in notebooks)],
        cwd=repo / "notebooks", env=env, capture_output=True, text=True, timeout=300 * len(notebooks),
    )
    started = re.findall(r"Executing (\S+\.ipynb)", result.stderr)
    assert result.returncode == 0, f"{started[-1:]} failed in the Binder venv:\n{result.stderr[-3000:]}"
    assert started == [nb.name for nb in notebooks]  # every notebook ran, each once
    # the Jupyter server extension (public ingress) is enabled in that environment
    ext = subprocess.run(
        [str(env_dir / "bin" / "jupyter"), "server", "extension", "list"],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert "hooklab.serverext" in ext.stdout + ext.stderr and "enabled" in ext.stdout + ext.stderr
    # the kernel used was the venv's own
    out = subprocess.run(
        [str(py), "-c", "import hooklab, ipykernel; print(ipykernel.__version__)"],
        capture_output=True, text=True, env=env, check=True,
    ).stdout
    major, minor = (int(x) for x in out.split(".")[:2])
    assert (major, minor) >= (7, 1)
    assert sys.executable != str(py)
