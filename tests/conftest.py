"""Shared fixtures: real labs on 127.0.0.1 with free ports."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import hooklab
from hooklab import HookLab


@pytest.fixture
def lab() -> Iterator[HookLab]:
    """A running lab on a free port with an in-memory store."""
    lab = HookLab(port=0, db=":memory:").start()
    try:
        yield lab
    finally:
        lab.stop()


@pytest.fixture
def file_lab(tmp_path) -> Iterator[HookLab]:
    """A running lab on a free port with a SQLite file in tmp_path."""
    lab = HookLab(port=0, db=str(tmp_path / "captures.sqlite3")).start()
    try:
        yield lab
    finally:
        lab.stop()


@pytest.fixture(scope="module")
def module_file_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HookLab]:
    """A running lab shared by a module's tests: a free port, a SQLite file of its own."""
    lab = HookLab(port=0, db=str(tmp_path_factory.mktemp("lab") / "captures.sqlite3")).start()
    try:
        yield lab
    finally:
        lab.stop()


@pytest.fixture
def memory_shell() -> Iterator[Any]:
    """A real IPython shell with ``%load_ext hooklab`` done: the default lab on a free port,
    captures in memory (unloaded afterwards)."""
    from IPython.core.interactiveshell import InteractiveShell

    ip = InteractiveShell.instance()
    ip.run_line_magic("config", "HookLab.port = 0")
    ip.run_line_magic("config", "HookLab.db = ':memory:'")
    ip.extension_manager.load_extension("hooklab")
    try:
        yield ip
    finally:
        ip.extension_manager.unload_extension("hooklab")


@pytest.fixture(autouse=True)
def _no_default_lab_leak() -> Iterator[None]:
    yield
    hooklab.stop()


@pytest.fixture(autouse=True)
def _no_helper_turn_leak() -> Iterator[None]:
    """A test that leaves a set of helper processes holding its turn would make every later
    test on this worker run without helpers: fail that test, and free the turn."""
    yield
    import sys

    parallel = sys.modules.get("hooklab.explore.parallel")
    if parallel is not None and parallel._running:
        parallel._running = None
        pytest.fail("a set of helper processes was left running (parallel._running)")


# -- how the suite is spread over pytest-xdist workers (`make test`) -----------------------------
#: test files that take 30 s or more on a 2-core machine (`--junitxml` of a run, summed per file),
#: longest first: they are handed out first, so that no worker starts one of them while the
#: others have nothing left (they ran last: xdist hands out files with the most tests first)
LONG_FILES = (
    "test_binder.py", "test_forward.py", "browser/test_xss_corpus.py",
    "browser/test_live_browser.py", "test_cli.py", "test_widget.py",
    "reliability/test_connection_limit.py", "test_import_parallel.py", "test_schema_parallel.py",
    "test_body_weight.py", "browser/test_live_keyboard.py", "test_flat_kept.py",
    "browser/test_live_memory.py", "reliability/test_full_disk_writer.py", "test_kernel.py",
    "test_plugin_round2.py", "test_lab_moves.py", "reliability/test_crafted_db.py",
    "test_million.py", "test_cli_signal_points.py",
    "test_examples_run.py",
)


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: two workers per CPU. Most of the suite waits (on sockets, kernels, helper
    processes, browsers, deadlines), so one worker per CPU left half the CPU time unused
    (16 min of CPU in 16.4 min on 2 cores; 11.8 min with four workers)."""
    import os

    return 2 * (os.cpu_count() or 1)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The long files first (:data:`LONG_FILES`, for `make test`'s ``--no-loadscope-reorder``),
    then the rest in the order xdist would give them: the files with the most tests first."""
    from pathlib import Path

    here = Path(__file__).parent
    rank = {name: i for i, name in enumerate(LONG_FILES)}
    sizes: dict[str, int] = {}
    names: dict[str, str] = {}
    for item in items:
        path = Path(str(item.path))
        try:
            name = path.relative_to(here).as_posix()
        except ValueError:
            name = path.as_posix()
        names[item.nodeid] = name
        sizes[name] = sizes.get(name, 0) + 1
    items.sort(key=lambda item: (rank.get(names[item.nodeid], len(rank)),
                                 -sizes[names[item.nodeid]], names[item.nodeid]))


def pytest_configure(config: pytest.Config) -> None:
    """Kernels this process starts (nbclient, jupyter_client) listen on ports from this
    worker's own stretch (``_http.free_port``: outside the range the OS hands out), not on
    ports jupyter_client found free by binding port 0 and letting go: between that and the
    kernel's own bind, another test's outgoing connection could take one, and the kernel died
    at start (``ZMQError: Address already in use``: "Kernel died before replying to
    kernel_info", a full run on 2 cores). Kernels a Jupyter server starts for the browser
    tests pick their ports as before (another process)."""
    try:
        from jupyter_client.connect import LocalPortCache
    except ImportError:  # (the kernels' tests skip without it)
        return
    from _http import free_port

    picked_by_os = LocalPortCache.find_available_port

    def find_available_port(self: LocalPortCache, ip: str) -> int:
        if ip not in ("127.0.0.1", "localhost"):
            return picked_by_os(self, ip)
        port = free_port()
        self.currently_used_ports.add(port)
        return port

    LocalPortCache.find_available_port = find_available_port  # type: ignore[method-assign]
