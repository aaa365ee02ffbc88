"""The examples a reader runs: every docstring example in ``hooklab/`` and every example
notebook, each in a pytest of its own, exactly as the README's development section says.

They ran as two steps of ``make test`` after the suite, one after the other, on one CPU of two
(about 40 s of the run). As two tests of the suite they run beside the other files instead.

- ``pytest --doctest-modules hooklab`` from the repository root (the root ``conftest.py`` gives
  each example a real lab on a free port, a local app and a temporary directory);
- the notebooks with nbval from a copy of ``notebooks/`` (with ``sanitize.cfg`` and the root
  ``conftest.py``) outside the repository, as a user who downloaded them runs them: nothing
  of the repository is in reach, hooklab is the installed one.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.timeout(600)


def _env() -> dict[str, str]:
    """This process's environment without what makes a pytest think it is an xdist worker
    or a test in progress (the inner run is a user's own ``pytest``)."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("PYTEST_XDIST", "PYTEST_CURRENT_TEST"))}


def _run(args: list[str], cwd: Path) -> tuple[int, str]:
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
                          cwd=cwd, env=_env(), capture_output=True, text=True, timeout=540)
    return proc.returncode, proc.stdout + proc.stderr


def _count(word: str, output: str) -> int:
    found = re.search(rf"(\d+) {word}", output.strip().splitlines()[-1] if output.strip() else "")
    return int(found.group(1)) if found else 0


def test_every_docstring_example_in_the_package_runs() -> None:
    code, out = _run(["--doctest-modules", "hooklab", "-q"], ROOT)
    assert code == 0, out[-8000:]
    assert "failed" not in out.strip().splitlines()[-1], out[-8000:]
    # (a package whose examples were not collected would pass with nothing run)
    assert _count("passed", out) >= 300, out[-3000:]


def test_the_example_notebooks_run_from_a_copy_outside_the_repository(tmp_path: Path) -> None:
    names = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert len(names) >= 4
    for name in [*names, "sanitize.cfg"]:
        shutil.copy(ROOT / "notebooks" / name, tmp_path / name)
    shutil.copy(ROOT / "conftest.py", tmp_path / "conftest.py")
    code, out = _run(["--rootdir", ".", "--nbval", "--nbval-sanitize-with", "sanitize.cfg",
                      "-q", *names], tmp_path)
    assert code == 0, out[-8000:]
    # nbval makes one test of each code cell: every one of them ran and compared
    cells = sum(
        1 for name in names
        for cell in json.loads((tmp_path / name).read_text(encoding="utf-8"))["cells"]
        if cell["cell_type"] == "code"
    )
    assert _count("passed", out) == cells, out[-3000:]
