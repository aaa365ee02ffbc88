"""Ctrl-C while ``hooklab serve`` starts, at any moment, leaves no database that start made
(README: "A start that fails (... Ctrl-C while it starts) removes the database file it had
just made"), and never removes one that was there before.

``serve`` opened the store itself before ``lab.start()``, so ``lab.start()`` had nothing of
its own to remove, and serve's own handler for a Ctrl-C in ``lab.start()`` stopped the lab
but left the file: exit 130, "hooklab: interrupted", no ready line, and a complete empty
capture database (69,632 bytes) beside it.

Two tables of moments: the points of ``CaptureServer.start`` (by the
``tests/_signal_at_point.py`` launcher: the handler run exactly there, every run), and a
sweep of real SIGINTs sent a few milliseconds apart from the moment the file appears
(bounded: it ends at the first run that said it was listening)."""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _serve_lines import signalled
from test_cli import ENV, EXE, _as_from_a_terminal

import hooklab

LAUNCHER = Path(__file__).with_name("_signal_at_point.py")
#: points of CaptureServer.start (53 on Python 3.11): before, inside and after its waits;
#: 200: past its end (the signal comes as start() returns, before the ready line)
POINTS = (1, 9, 17, 28, 36, 44, 53, 200)
#: milliseconds after the database file appeared at which a real SIGINT is sent
OFFSETS_MS = (0, 1, 2, 3, 5, 8, 12, 17, 25, 35, 50, 70, 100, 140, 200, 300)

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX signals")


def _files(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_size for p in folder.iterdir()}


@pytest.fixture(scope="module")
def launcher(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The launcher as a program named ``hooklab`` (what makes it the command)."""
    path = tmp_path_factory.mktemp("launcher") / "hooklab"
    shutil.copyfile(LAUNCHER, path)
    return path


def _at_point(launcher: Path, folder: Path, point: int) -> tuple[int, str, str]:
    env = {**ENV, "HOOKLAB_AT": str(point), "HOOKLAB_AT_FROM": "starting",
           "HOOKLAB_AT_SIGNAL": str(int(signal.SIGINT))}
    r = subprocess.run([sys.executable, str(launcher), "serve", "--port", "0",
                        "--db", str(folder / "e.db")],
                       capture_output=True, text=True, env=env, timeout=60, cwd=folder)
    return r.returncode, r.stdout, r.stderr


@pytest.mark.parametrize("point", POINTS)
def test_a_ctrl_c_at_each_point_of_the_start_leaves_no_new_database(
        launcher: Path, tmp_path: Path, point: int) -> None:
    folder = tmp_path / "new"
    folder.mkdir()
    code, out, err = _at_point(launcher, folder, point)
    assert (code, out, err) == (130, "", "hooklab: interrupted\n")
    assert _files(folder) == {}  # e.db, e.db-wal, e.db-shm: all gone


@pytest.mark.parametrize("point", POINTS[::3])
def test_a_ctrl_c_while_starting_keeps_a_database_that_was_there(
        launcher: Path, tmp_path: Path, point: int) -> None:
    folder = tmp_path / "old"
    folder.mkdir()
    db = folder / "e.db"
    src = tmp_path / "one.jsonl"
    src.write_text(json.dumps({"method": "POST", "url": "http://127.0.0.1:8765/orders",
                               "headers": [], "body_b64": base64.b64encode(b"{}").decode(),
                               "received_at": "2026-01-02T03:04:05Z", "status": 200})
                   + "\n")
    hooklab.load_jsonl(str(src), db=str(db)).stop()
    code, out, err = _at_point(launcher, folder, point)
    assert (code, out, err) == (130, "", "hooklab: interrupted\n")
    assert db.exists()
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT count(*) FROM captures").fetchall() == [(1,)]
    con.close()


def _interrupted_after_file(folder: Path, offset: float) -> tuple[int, str, str]:
    """``hooklab serve`` sent SIGINT ``offset`` seconds after its database file appeared
    (as soon as it started if the file never did before it said it was listening)."""
    db = folder / "e.db"
    proc = subprocess.Popen([EXE, "serve", "--port", "0", "--db", str(db)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
                            preexec_fn=_as_from_a_terminal)  # noqa: PLW1509 - signals only

    def moment() -> None:
        deadline = time.monotonic() + 30
        while not db.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.0005)
        time.sleep(offset)

    out, err = signalled(proc, signal.SIGINT, moment, timeout=30)
    return proc.returncode, out, err


def test_real_ctrl_c_swept_through_the_start_leaves_no_new_database(tmp_path: Path) -> None:
    left = []
    for ms in OFFSETS_MS:
        folder = tmp_path / f"at{ms}"
        folder.mkdir()
        code, out, err = _interrupted_after_file(folder, ms / 1000)
        if "listening on" in out:  # (served: the database is the user's from here on)
            assert code == 0 and out.endswith("hooklab: stopped\n"), (ms, code, out, err)
            assert "e.db" in _files(folder)
            break
        assert (code, err) == (130, "hooklab: interrupted\n"), (ms, code, out, err)
        if _files(folder):
            left.append((ms, _files(folder)))
    assert left == []
