"""The built distributions, as pip and a packager meet them.

``python -m build`` runs on a copy of the working tree holding the files git lists (as
``git archive HEAD`` takes them, with their uncommitted edits and new files not ignored) and
what runs leave in a used checkout (``__pycache__``, captures, notebook checkpoints), builds
the sdist and the wheel from that sdist, as pip does, and the tests read what each holds: the
licence, the package's data files, and in the sdist everything the README's development
section needs (``Makefile``, the test helpers, the notebooks, ``tools/``, ``bench/``), nothing
of the machine that built it.

Offline: the build uses the backend installed in this environment (``--no-isolation``; the
``test`` extra installs ``build`` and the setuptools of ``[build-system]``).
"""

from __future__ import annotations

import email
import email.message
import importlib.util
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from hooklab._version import __version__

ROOT = Path(__file__).resolve().parents[1]
#: what the README's development section, ``make test``, ``make lab`` and ``.ci/run`` use:
#: every file git tracks under these folders, and these files
SDIST_FOLDERS = ("tests/", "notebooks/", "tools/", "bench/", "binder/", "jupyter-config/")
SDIST_FILES = ("Makefile", "conftest.py", ".ci/run", "README.md", "LICENSE", "pyproject.toml",
               "MANIFEST.in")
#: left in a working copy by runs (git ignores them): never in a distribution
LEFT_BY_RUNS = [
    "hooklab/__pycache__/core.cpython-311.pyc",
    "tests/__pycache__/conftest.cpython-311-pytest-8.4.2.pyc",
    "tests/reliability/__pycache__/_rawclient.cpython-311.pyc",
    "tools/mutate.pyc",
    ".hooklab/captures.sqlite3",
    "notebooks/.hooklab/captures.sqlite3",
    "notebooks/.hooklab/captures.sqlite3-wal",
    "notebooks/.ipynb_checkpoints/01-quickstart-checkpoint.ipynb",
    "tests/.hypothesis/examples/0a1b/2c3d",
    ".pytest_cache/v/cache/lastfailed",
    "test-artifacts/live-view.png",
    "bench/.ruff_cache/CACHEDIR.TAG",
    "notebooks/01-quickstart.ipynb~",
]


def _under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _missing(reason: str) -> None:
    """Skip on a developer machine; fail under CI, where an unbuildable package is a broken run."""
    if _under_ci():
        pytest.fail(f"CI run that cannot build the package: {reason}", pytrace=False)
    pytest.skip(reason)


def _unmet_build_requirements() -> list[str]:
    """The requirements of ``[build-system]`` this environment does not meet. (``build
    --no-isolation`` checks them only after the backend ran: an old setuptools refused
    ``license = "BSD-3-Clause"`` first, in 40 lines of schema.)"""
    from importlib.metadata import PackageNotFoundError, version

    from packaging.requirements import Requirement  # (build depends on packaging, and on
    try:  # tomli before Python 3.11)
        import tomllib
    except ImportError:
        import tomli as tomllib

    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    unmet = []
    for text in requires:
        req = Requirement(text)
        if req.marker is not None and not req.marker.evaluate():
            continue
        try:
            have = version(req.name)
        except PackageNotFoundError:
            unmet.append(f"{text} (not installed)")
            continue
        if not req.specifier.contains(have, prereleases=True):
            unmet.append(f"{text} (found {have})")
    return unmet


def _git_files() -> list[str]:
    """The files a source release is made of: what git tracks (as in the working tree) and
    new files not ignored yet, minus those deleted in the working tree."""
    out = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True, check=True, timeout=60).stdout
    names = sorted({n for n in out.decode().split("\0") if n})
    return [n for n in names if (ROOT / n).is_file()]


@dataclass
class Built:
    git_files: list[str]
    wheel: list[str]
    sdist: list[str]  # relative to the sdist's top folder
    sdist_executable: list[str]
    dist_info: str  # the wheel's hooklab-<version>.dist-info
    metadata: email.message.Message  # its METADATA


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout (an unpacked sdist?): there is no file list to build from")
    if importlib.util.find_spec("build") is None:
        _missing("the 'build' package is not installed: pip install -e '.[test]' (make test does)")
    unmet = _unmet_build_requirements()
    if unmet:
        _missing(f"the build backend is not installed: {', '.join(unmet)}: "
                 "pip install -e '.[test]' (make test does)")
    files = _git_files()
    work = tmp_path_factory.mktemp("dist")
    src = work / "src"
    for name in files:
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, src / name)
    for name in LEFT_BY_RUNS:
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_bytes(b"left by a run on the machine that built the package\n")
    # (no --sdist/--wheel: the wheel is built from the sdist, as pip builds one from PyPI's)
    r = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(work / "dist"),
         str(src)],
        capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
    (whl,) = (work / "dist").glob("*.whl")
    (sdist,) = (work / "dist").glob("*.tar.gz")
    dist_info = f"hooklab-{__version__}.dist-info"
    with zipfile.ZipFile(whl) as z:
        wheel = z.namelist()
        metadata = email.message_from_bytes(z.read(f"{dist_info}/METADATA"))
    with tarfile.open(sdist) as t:
        top = f"hooklab-{__version__}/"
        members = [m for m in t.getmembers() if m.isfile()]
        assert all(m.name.startswith(top) for m in members), members[:5]
        sdist_names = sorted(m.name[len(top):] for m in members)
        executable = sorted(m.name[len(top):] for m in members if m.mode & 0o111)
    return Built(files, wheel, sdist_names, executable, dist_info, metadata)


def test_the_wheel_holds_the_licence(built: Built) -> None:
    """BSD-3-Clause's first clause: the copyright notice travels with every copy. The metadata
    said ``License-Expression: BSD-3-Clause`` and no file anywhere held the licence."""
    assert f"{built.dist_info}/licenses/LICENSE" in built.wheel
    assert built.metadata["License-Expression"] == "BSD-3-Clause"
    assert built.metadata.get_all("License-File") == ["LICENSE"]


def test_the_sdist_holds_the_licence(built: Built) -> None:
    assert "LICENSE" in built.sdist
    text = (ROOT / "LICENSE").read_text()
    assert "Copyright (c) 2026, the hooklab developers" in text
    assert "Redistribution and use in source and binary forms" in text


@pytest.mark.parametrize("name", [
    "hooklab/__init__.py",
    "hooklab/pytest_plugin.py",
    # package data: the stream page and its script
    *sorted(f"hooklab/static/{p.name}" for p in (ROOT / "hooklab" / "static").iterdir()
            if p.suffix in (".html", ".js")),
])
def test_the_wheel_holds_the_package_and_its_data(built: Built, name: str) -> None:
    assert name in built.wheel


def test_the_wheel_installs_the_server_extension_config(built: Built) -> None:
    """The data file that turns ``hooklab.serverext`` on in a plain ``pip install``."""
    wanted = (f"hooklab-{__version__}.data/data/etc/jupyter/jupyter_server_config.d/"
              "hooklab.json")
    assert wanted in built.wheel


def test_the_wheel_holds_the_package_only(built: Built) -> None:
    """No tests, notebooks, tools or compiled files: the package, its metadata and the data
    file, nothing of the repository besides."""
    top = {n.split("/", 1)[0] for n in built.wheel}
    assert top == {"hooklab", built.dist_info, f"hooklab-{__version__}.data"}, top
    assert not [n for n in built.wheel if "__pycache__" in n or n.endswith((".pyc", ".pyo"))]


def test_the_sdist_holds_what_development_needs(built: Built) -> None:
    """The sdist held 56 of the 92 files under tests/ (setuptools takes tests/test_*.py only:
    34 test files could not import their helpers), and no Makefile, conftest.py, .ci/run,
    notebooks/, binder/, tools/ or bench/: the README's development section could not be
    followed from it."""
    wanted = [n for n in built.git_files if n.startswith(SDIST_FOLDERS)] + list(SDIST_FILES)
    assert len(wanted) > 100  # (the list itself is right: git listed the folders)
    missing = sorted(set(wanted) - set(built.sdist))
    assert missing == []


def test_the_sdist_keeps_ci_run_executable(built: Built) -> None:
    assert ".ci/run" in built.sdist_executable


@pytest.mark.parametrize("name", LEFT_BY_RUNS)
def test_nothing_a_run_left_behind_is_in_a_distribution(built: Built, name: str) -> None:
    assert name not in built.sdist
    assert name not in built.wheel


def test_no_compiled_file_in_a_distribution(built: Built) -> None:
    for names in (built.sdist, built.wheel):
        assert [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".pyo"))] == []


@pytest.mark.parametrize("field,wanted", [
    ("Version", __version__),
    ("Author", "the hooklab developers"),
    ("License-Expression", "BSD-3-Clause"),
    ("Requires-Python", ">=3.10"),
])
def test_the_metadata_says(built: Built, field: str, wanted: str) -> None:
    """What ``pip show`` and an index show: no author was given."""
    assert built.metadata[field] == wanted


@pytest.mark.parametrize("classifier", [
    "Framework :: Jupyter",
    "Framework :: Jupyter :: JupyterLab",
    *(f"Programming Language :: Python :: 3.{minor}" for minor in range(10, 14)),
    "Topic :: Internet :: WWW/HTTP",
])
def test_the_metadata_has_the_classifier(built: Built, classifier: str) -> None:
    assert classifier in (built.metadata.get_all("Classifier") or [])


def test_the_licence_is_said_once(built: Built) -> None:
    """License-Expression says it; a "License ::" classifier besides is refused by setuptools
    (PEP 639) and would say it twice."""
    assert [c for c in built.metadata.get_all("Classifier") or [] if c.startswith("License")] == []


def test_the_version_is_written_in_one_place() -> None:
    """pyproject.toml and hooklab/_version.py both held 0.1.0: a release that bumped one
    shipped the other. pyproject reads it from hooklab/_version.py."""
    try:
        import tomllib
    except ImportError:  # (Python 3.10: build brings tomli)
        tomllib = pytest.importorskip("tomli")
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in pyproject["project"]
    assert "version" in pyproject["project"]["dynamic"]
    dynamic = pyproject["tool"]["setuptools"]["dynamic"]["version"]
    assert dynamic == {"attr": "hooklab._version.__version__"}
