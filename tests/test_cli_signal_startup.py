"""Ctrl-C or SIGTERM at any moment of a ``hooklab`` command, its first tenths of a second
included (Python still importing what the command needs): one line and the README's exit
code, never a traceback; a command whose work is done exits 0.

A signal in the first ~0.3 s printed a KeyboardInterrupt traceback from the middle of an
import (``main()`` built its parser, which imports the core, before it handled any signal),
and the process died of the signal; one that came just after an export had written and
announced its file ("wrote 1 capture") made it exit 130, "interrupted"."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from _target import Target
from test_cli import ENV, EXE, _as_from_a_terminal

import hooklab

#: when the signal comes: ("start", s) that many seconds after the command was started, while
#: it imports what it needs (Python's own start takes a few hundredths of a second, a loaded
#: machine's a tenth); ("hooklab", s) that many seconds after hooklab's first line ran
DELAYS = [("start", 0.2), ("start", 0.3), ("hooklab", 0.0), ("hooklab", 0.02),
          ("hooklab", 0.05), ("hooklab", 0.1), ("hooklab", 0.2), ("hooklab", 0.35)]
SAID = {signal.SIGINT: "hooklab: interrupted\n", signal.SIGTERM: "hooklab: stopped by SIGTERM\n"}


def _catches(pid: int, sig: int, field: str = "SigCgt:") -> bool | None:
    """Whether process ``pid`` has a handler of its own for ``sig`` (Linux's
    ``/proc/PID/status``; ``field="SigIgn:"``: whether it ignores it); None once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field):
                    return bool(int(line.split()[1], 16) >> (sig - 1) & 1)
    except OSError:
        return None
    return None


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A database of one capture and what ``hooklab export`` makes of it."""
    where = tmp_path_factory.mktemp("signals")
    src = where / "in.jsonl"
    src.write_text(json.dumps({"method": "POST", "url": "http://127.0.0.1:8765/orders",
                               "headers": [], "body_b64": base64.b64encode(b"{}").decode()})
                   + "\n")
    db = str(where / "c.sqlite3")
    hooklab.load_jsonl(str(src), db=db).stop()
    ref = where / "ref.jsonl"
    r = subprocess.run([EXE, "export", "--db", db, "--format", "jsonl", "-o", str(ref)],
                       capture_output=True, text=True, env=ENV, timeout=60)
    assert r.returncode == 0, r.stderr
    return {"db": db, "export": ref.read_text(encoding="utf-8"), "where": where}


def _run(args: list[str], sig: int, since: str, delay: float) -> tuple[int, str, str]:
    """Runs ``hooklab ARGS`` and sends it ``sig`` ``delay`` seconds after its start, or
    (``since="hooklab"``) after hooklab's first line ran: the moment it catches SIGTERM.
    Before that line nothing of hooklab can act on a signal (the
    kernel's default ends the process until Python sets its own handlers; then Python raises
    KeyboardInterrupt wherever its start is, ``site``, reading the module): that is the
    interpreter's, not the command's, and what a machine's load makes of a fixed delay."""
    proc = subprocess.Popen([EXE, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=ENV,
                            preexec_fn=_as_from_a_terminal)  # noqa: PLW1509 - signals only
    try:
        deadline = time.monotonic() + 30
        while since == "hooklab" and not _catches(proc.pid, signal.SIGTERM):
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.001)
        time.sleep(delay)
        # ("start": a loaded machine may not have run hooklab's first line yet, so long after
        # the start: the signal then comes as that line runs, the earliest hooklab can act)
        # (hooklab's handler, or the SIG_IGN a command sets once its work is done: either says
        # hooklab's first line ran; a command that already ended gets no signal)
        while (since == "start" and proc.poll() is None
               and not _catches(proc.pid, signal.SIGTERM)
               and not _catches(proc.pid, signal.SIGTERM, "SigIgn:")):
            assert time.monotonic() < deadline, proc.communicate()
            time.sleep(0.001)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    return proc.returncode, out, err


@pytest.mark.skipif(not os.path.exists(f"/proc/{os.getpid()}/status"),
                    reason="tells when hooklab's first line ran from /proc/PID/status")
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("command", ["export", "send", "serve"])
def test_a_signal_at_any_moment_is_one_line_and_the_readme_exit_code(
        command: str, sig: int, files: dict[str, Any]) -> None:
    where: Path = files["where"]
    stopped = 128 + sig
    with Target() as app_server:  # (answers every POST 200)
        app = app_server.url
        jobs = []
        for n, (since, delay) in enumerate(DELAYS):
            tag = f"{command}-{sig}-{n}"
            target = where / f"{tag}.jsonl"
            if command == "export":
                target.write_text("old\n")
                args = ["export", "--db", files["db"], "--format", "jsonl", "-o", str(target)]
            elif command == "send":
                args = ["send", f"{app}/orders", "--provider", "github", "--event", "push"]
            else:
                args = ["serve", "--port", "0", "--db", str(where / f"{tag}.sqlite3")]
            jobs.append((since, delay, target, args))
        with ThreadPoolExecutor(2) as pool:  # (two at a time: one per core)
            results = list(pool.map(lambda job: _run(job[3], sig, job[0], job[1]), jobs))
    wrong = []
    for (since, delay, target, _), (code, out, err) in zip(jobs, results, strict=True):
        case = f"{delay:.2f} s after {since}: exit {code}, stdout {out[-200:]!r}, stderr {err[-600:]!r}"
        if "Traceback" in err or "Exception ignored" in err:
            wrong.append(case)
            continue
        if command == "export":
            now = target.read_text(encoding="utf-8")
            left = [p.name for p in where.iterdir() if p.name.startswith(".hooklab-export-")]
            ok = not left and (
                (code == 0 and err == f"wrote 1 capture to {target}\n" and now == files["export"])
                or (code == stopped and err == SAID[sig] and now in ("old\n", files["export"])))
        elif command == "send":
            ok = (code == 0 and out.startswith("200 OK\n") and err == "") or (
                code == stopped and err == SAID[sig])
        else:  # serve: 0 once it serves (its ready line said), as any command before that
            serving = "listening on" in out
            ok = (code == 0 and serving and out.endswith("hooklab: stopped\n")) or (
                code == stopped and not serving and out == "" and err == SAID[sig])
        if not ok:
            wrong.append(case)
    assert not wrong, "\n".join(wrong)
    # (the table is not empty of real stops: the early ones came before the work was done)
    assert any(code == stopped for code, _, _ in results[:4]), results


def test_the_signal_table_runs_in_the_program_not_in_this_process() -> None:
    """Importing hooklab.cli in a program (this test run, a kernel) leaves the program's
    Ctrl-C as it was: only the ``hooklab`` command holds signals back while it starts."""
    import importlib

    before = {n: signal.getsignal(n) for n in (signal.SIGINT, signal.SIGTERM)}
    cli = importlib.import_module("hooklab.cli")
    assert {n: signal.getsignal(n) for n in before} == before
    assert not cli._PROGRAM
    assert os.path.basename(EXE) == "hooklab"
