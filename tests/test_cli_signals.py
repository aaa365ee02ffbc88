"""``hooklab serve`` and the signals it was started with: an ignored SIGINT stays ignored
(``hooklab serve &`` from a script, CI or cron: the shell ignores SIGINT for background jobs so
that a Ctrl-C in its terminal leaves them running), as an ignored SIGHUP does under nohup;
SIGTERM always stops it."""

from __future__ import annotations

import re
import signal
import subprocess
import time
from typing import Any

import pytest
from test_cli import ENV, EXE, _as_from_a_terminal, _Lines, run


def _sigint_ignored() -> None:
    """``preexec_fn``: SIGINT ignored, as ``sh -c 'hooklab serve &'`` starts a background
    job; SIGHUP as from a terminal."""
    _as_from_a_terminal()
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.parametrize("start,signals,stops_on", [
    # (preexec_fn, signals sent one after another, the one it stops on)
    (_sigint_ignored, [signal.SIGINT, signal.SIGTERM], signal.SIGTERM),
    (_sigint_ignored, [signal.SIGINT, signal.SIGINT, signal.SIGTERM], signal.SIGTERM),
    (_sigint_ignored, [signal.SIGTERM], signal.SIGTERM),
    (_as_from_a_terminal, [signal.SIGINT], signal.SIGINT),
    (_as_from_a_terminal, [signal.SIGTERM], signal.SIGTERM),
    (_as_from_a_terminal, [signal.SIGHUP], signal.SIGHUP),
], ids=["ignored-int-then-term", "ignored-int-twice-then-term", "ignored-int-term",
        "terminal-int", "terminal-term", "terminal-hup"])
def test_serve_keeps_an_ignored_sigint_ignored(tmp_path, start: Any, signals: list[int],
                                               stops_on: int) -> None:  # type: ignore[no-untyped-def]
    """A SIGINT that serve was started with ignored went to serve's own handler all the
    same, and stopped it: a background ``hooklab serve &`` ended on the Ctrl-C typed for the
    command in the foreground. Each signal before the one it stops on leaves it serving (a
    POST sent after it is still captured); the stop is clean (exit 0, "hooklab: stopped")."""
    db = str(tmp_path / "c.sqlite3")
    proc = subprocess.Popen([EXE, "serve", "--port", "0", "--db", db], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=ENV,
                            preexec_fn=start)  # noqa: PLW1509 - signals only
    try:
        out = _Lines(proc.stdout)
        first = out.next()
        m = re.search(r"http://127\.0\.0\.1:\d+", first)
        assert m, out.all
        assert first.endswith(" — SIGTERM to stop (SIGINT is ignored)\n" if start is _sigint_ignored
                              else " — Ctrl-C to stop\n"), first
        for n, sig in enumerate(signals, 1):
            proc.send_signal(sig)
            if sig == stops_on and sig == signals[-1]:
                break
            time.sleep(0.5)  # (serve looks at a signal 5 times a second)
            assert proc.poll() is None, f"{signal.Signals(sig).name} stopped serve"
            sent = run("send", f"{m.group(0)}/after{n}")
            assert sent.returncode == 0, sent.stderr
            line = out.next()
            assert line.startswith(f"#{n} ") and f"POST /after{n} -> 200" in line, line
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    out.thread.join(10)
    rest = "".join(out.all + list(out.q.queue))
    err = proc.stderr.read() if proc.stderr else ""
    assert rest.endswith("hooklab: stopped\n"), rest
    assert "Traceback" not in err, err
    stored = run("export", "--db", db, "--format", "jsonl")
    assert len(stored.stdout.splitlines()) == len(signals) - 1, stored.stdout


def test_a_background_serve_from_a_shell_script_outlives_ctrl_c(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The case as met: ``sh -c 'hooklab serve ... &'`` (no job control: the shell sets
    SIGINT and SIGQUIT to ignored in the background job), then a SIGINT to it, then SIGTERM."""
    log = tmp_path / "serve.log"
    db = tmp_path / "c.sqlite3"
    sh = subprocess.run(
        ["sh", "-c", f'"{EXE}" serve --port 0 --db "{db}" >"{log}" 2>&1 & echo $!'],
        capture_output=True, text=True, timeout=30, env=ENV,
        preexec_fn=_as_from_a_terminal)  # noqa: PLW1509 - signals only
    pid = int(sh.stdout.strip())
    import os

    def alive() -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        # (a zombie is gone too: it is the shell's, reaped by init once the shell ended)
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"

    try:
        deadline = time.monotonic() + 20
        while not (m := re.search(r"http://127\.0\.0\.1:\d+", log.read_text())):
            assert time.monotonic() < deadline and alive(), log.read_text()
            time.sleep(0.05)
        os.kill(pid, signal.SIGINT)
        time.sleep(0.6)
        assert alive(), log.read_text()
        assert run("send", f"{m.group(0)}/x").returncode == 0
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while alive():
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
    finally:
        if alive():
            os.kill(pid, signal.SIGKILL)
    text = log.read_text()
    assert "#1 " in text and "POST /x -> 200" in text and text.endswith("hooklab: stopped\n"), text
    assert "Traceback" not in text
