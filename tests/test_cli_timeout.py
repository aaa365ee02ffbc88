"""``hooklab replay --timeout`` and ``hooklab serve --timeout``: the time a slow local app has to
answer, as ``lab.forward_timeout`` sets it in a notebook (a debugger paused in the app, a cold
start: the fixed 10 s failed those deliveries; a test wanting a fast failure waited 10 s).

The real ``hooklab`` command in a subprocess, a real app on 127.0.0.1 that takes 2 s to answer.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from _target import Target

import hooklab

EXE = str(Path(sys.executable).with_name("hooklab"))
ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}
SLOW = 2.0  # seconds the app takes


def _one_capture(db: str) -> None:
    lab = hooklab.HookLab(port=0, db=db).start()
    try:
        assert hooklab.send(lab.url_for("app"), payload={"a": 1}).status == 200
        lab.wait(1)
    finally:
        lab.stop()


@pytest.mark.parametrize("timeout, ok", [("0.5", False), ("1.2", False), ("8", True)])
def test_replay_waits_as_long_as_timeout_says(tmp_path: Path, timeout: str, ok: bool) -> None:
    db = str(tmp_path / "c.sqlite3")
    _one_capture(db)
    with Target(delay=SLOW) as app:
        t0 = time.monotonic()
        r = subprocess.run([EXE, "replay", "--db", db, "--id", "1", "--to", app.url + "/hook",
                            "--timeout", timeout], capture_output=True, text=True, env=ENV,
                           timeout=60)
        took = time.monotonic() - t0
        assert len(app.wait(1)) == 1  # (sent either way: only the wait for the answer differs)
    if ok:
        assert r.returncode == 0 and re.fullmatch(r"#1 -> 200 in \d+\.\d ms\n", r.stdout), r
        assert took >= SLOW
    else:
        assert r.returncode == 1 and r.stdout.startswith("#1 -> error: ") and "timed out" in r.stdout, r
        assert float(timeout) <= took < SLOW + 1.5, took  # (not the default 10 s)


@pytest.mark.parametrize("value, says", [
    ("0", "0 is out of range (0.1 to 86400 s)"),
    ("0.05", "0.05 is out of range (0.1 to 86400 s)"),
    ("-3", "-3 is out of range (0.1 to 86400 s)"),
    ("nan", "nan is out of range (0.1 to 86400 s)"),
    ("inf", "inf is out of range (0.1 to 86400 s)"),
    ("1e10", "1e10 is out of range (0.1 to 86400 s)"),  # (every delivery: OverflowError)
    ("86401", "86401 is out of range (0.1 to 86400 s)"),
    ("10s", "not a number of seconds: '10s'"),
    ("", "not a number of seconds: ''"),
])
@pytest.mark.parametrize("command", ["replay", "serve"])
def test_a_timeout_that_is_no_time_is_refused_before_anything_starts(
        tmp_path: Path, command: str, value: str, says: str) -> None:
    db = tmp_path / "c.sqlite3"
    args = (["replay", "--db", str(db), "--id", "1", "--to", "http://127.0.0.1:9/x"]
            if command == "replay" else ["serve", "--port", "0", "--db", str(db)])
    r = subprocess.run([EXE, *args, f"--timeout={value}"], capture_output=True, text=True,
                       env=ENV, timeout=60)
    assert r.returncode == 2 and r.stdout == "", r
    assert r.stderr.rstrip().endswith(f"argument --timeout: {says}"), r.stderr
    assert not db.exists()  # (nothing opened, nothing made)


def _lines(stream: object) -> queue.Queue[str]:
    q: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in stream:  # type: ignore[attr-defined]
            q.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return q


@pytest.mark.parametrize("timeout, ok", [("0.5", False), ("8", True)])
def test_serve_forwards_wait_as_long_as_timeout_says(timeout: str, ok: bool) -> None:
    with Target(delay=SLOW) as app:
        proc = subprocess.Popen([EXE, "serve", "--port", "0", "--db", ":memory:", "--timeout",
                                 timeout, "--forward", f"app={app.url}/hook"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=ENV)
        try:
            out = _lines(proc.stdout)
            m = re.search(r"http://127\.0\.0\.1:\d+", out.get(timeout=30))
            assert m
            t0 = time.monotonic()
            assert hooklab.send(m.group(0) + "/app", payload={"a": 1}).status == 200
            assert "POST /app -> 200" in out.get(timeout=20)
            line = out.get(timeout=30)
            took = time.monotonic() - t0
            if ok:
                assert re.fullmatch(rf"#1 forwarded to {re.escape(app.url)}/hook: 200 in \d+ ms\n", line), line
                assert took >= SLOW
            else:
                assert line.startswith(f"#1 forward to {app.url}/hook FAILED:"), line
                assert "timed out" in line and took < SLOW + 1.5, (line, took)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


@pytest.mark.parametrize("timeout", [1e10, 86_401, 0.05, float("nan"), "5", True])
def test_a_timeout_past_a_day_or_no_number_is_refused_in_python_too(timeout: object) -> None:
    """(security review) ``forward_timeout = 1e10`` (meaning "never time out") made every
    forward and replay fail with OverflowError (and a thread's traceback on stderr)."""
    from traitlets import TraitError

    lab = hooklab.HookLab(port=0, db=":memory:")
    try:
        with pytest.raises(ValueError, match=r"^timeout must be 0\.1 to 86400 seconds, got "):
            lab.replay([], to="http://127.0.0.1:9/x", timeout=timeout)  # type: ignore[arg-type]
        if not isinstance(timeout, (str, bool)) and timeout == timeout:
            with pytest.raises(TraitError):
                lab.forward_timeout = timeout  # type: ignore[assignment]
        assert lab.forward_timeout == 10.0
    finally:
        lab.stop()
