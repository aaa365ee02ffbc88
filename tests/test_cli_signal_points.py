"""Ctrl-C or SIGTERM at every moment of ``hooklab serve``'s main thread, not a sample of them:
the signal's handler is run at each point where Python would run it (after a call returns,
as a function starts, at a loop's backward jump), one point per run, by the
``tests/_signal_at_point.py`` launcher (the command as its console script runs it, in a
process of its own). The README's behaviour at each: before serving, one line and exit
128 + the signal's number; once serving, "hooklab: stopped" and exit 0.

A window a few instructions wide is hit once in hundreds of runs on a loaded machine (CI:
``serve`` that never stopped after a Ctrl-C) and never in 150 on an idle one; here every
point is hit in every run:

- serving: the handler set the loop's ``threading.Event``, whose ``set()`` takes the lock
  that the loop's ``stop.wait(0.2)`` holds for a few instructions: a signal handled then
  waited for that lock on the very thread that held it, for ever;
- starting: a Ctrl-C inside the wait for the server's thread (``Condition.wait`` between
  letting its lock go and its ``try``) came out as "RuntimeError: release unlocked lock",
  which serve said as "hooklab: cannot start: release unlocked lock", exit 1.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from test_cli import ENV, _as_from_a_terminal

LAUNCHER = Path(__file__).with_name("_signal_at_point.py")
SAID = {signal.SIGINT: "hooklab: interrupted\n", signal.SIGTERM: "hooklab: stopped by SIGTERM\n"}
#: the points counted from the ready line: two turns of serve's loop and more (a turn, its
#: wait included, is 29 points on Python 3.11 before the fix, 14 after)
SERVING = range(1, 41)
#: the points of threading and of the server's lifecycle in CaptureServer.start (53 on 3.11;
#: past its end the signal comes as start() returns)
STARTING = range(1, 61)


def _run(launcher: Path, where: Path, since: str, point: int, sig: int,
         swallowed: bool = False) -> tuple[int | None, str, str, str]:
    """``hooklab serve`` with ``sig``'s handler run at ``point`` (``swallowed``: what it raises
    dropped there): (exit code, or None if it had not ended 30 s later; stdout; stderr; where
    the point was)."""
    log = where / f"{since}-{sig}-{point}-{swallowed}.log"
    db = where / f"{since}-{sig}-{point}-{swallowed}.sqlite3"
    env = {**ENV, "HOOKLAB_AT": str(point), "HOOKLAB_AT_FROM": since,
           "HOOKLAB_AT_SIGNAL": str(int(sig)), "HOOKLAB_AT_LOG": str(log),
           "HOOKLAB_AT_SWALLOWED": "1" if swallowed else "0"}
    proc = subprocess.Popen([sys.executable, str(launcher), "serve", "--port", "0", "--db", str(db)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=_as_from_a_terminal)  # noqa: PLW1509 - signals only
    try:
        out, err = proc.communicate(timeout=30)
        code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate(timeout=10)
        code = None
    said = log.read_text(encoding="utf-8") if log.exists() else "(no log: the launcher never ran)"
    return code, out, err, said


@pytest.fixture(scope="module")
def launcher(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The launcher as a program named ``hooklab`` (what makes it the command)."""
    path = tmp_path_factory.mktemp("launcher") / "hooklab"
    shutil.copyfile(LAUNCHER, path)
    return path


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("since", ["serving", "starting"])
def test_a_stop_signal_at_every_point_of_serve_ends_it_as_the_readme_says(
        since: str, sig: int, launcher: Path, tmp_path: Path) -> None:
    points = SERVING if since == "serving" else STARTING
    if sig == signal.SIGTERM:  # (the same waits as SIGINT's: every other point)
        points = points[::2]
    with ThreadPoolExecutor(2) as pool:  # (two at a time: one per core)
        results = list(pool.map(lambda p: _run(launcher, tmp_path, since, p, sig), points))
    wrong = []
    reached = 0
    for point, (code, out, err, said) in zip(points, results, strict=True):
        reached += said.startswith(f"point {point}:")
        serving = "listening on" in out
        if since == "serving":  # (the ready line was said before any point)
            ok = code == 0 and serving and out.endswith("hooklab: stopped\n") and \
                "hooklab: stream page" in err and err.count("\n") == 1
        else:
            ok = (code == 128 + sig and not serving and out == "" and err == SAID[sig]) or (
                code == 0 and serving and out.endswith("hooklab: stopped\n")
                and err.count("\n") == 1)
        if not ok or not said.startswith("point"):
            wrong.append(f"{said}: exit {'none after 30 s' if code is None else code}, stdout "
                         f"{out[-200:]!r}, stderr {err[-600:]!r}")
    assert not wrong, "\n".join(wrong)
    # (the launcher counted real points on this Python: most runs met theirs)
    assert reached >= len(points) // 2, reached


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_stop_signal_that_something_swallowed_while_starting_still_stops_serve(
        sig: int, launcher: Path, tmp_path: Path) -> None:
    """What the handler raised, caught and dropped by the code it interrupted (CI: a SIGTERM
    0.05 s after hooklab's first line, while Python imported the store's module, was lost
    that way: serve said it was listening and served on, for ever): serve acts on the signal
    before serving, as on any other that came while it started."""
    points = (1, 9, 17, 28, 36, 44, 53)  # (in CaptureServer.start: before, in and after its waits)
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda p: _run(launcher, tmp_path, "starting", p, sig, True),
                                points))
    wrong = [f"{said}: exit {'none after 30 s' if code is None else code}, stdout {out[-200:]!r}, "
             f"stderr {err[-600:]!r}"
             for code, out, err, said in results
             if not (code == 128 + sig and out == "" and err == SAID[sig])]
    assert not wrong, "\n".join(wrong)
