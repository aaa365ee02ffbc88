"""Helpers for the reliability suite: ``hooklab serve`` subprocesses, RSS, raw reads."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

HOOKLAB = [sys.executable, "-m", "hooklab.cli"]


def as_from_a_terminal() -> None:
    """``preexec_fn`` for a child that a test stops with Ctrl-C or SIGHUP: both back to their
    defaults, as a terminal starts a command. A suite run from a script, CI or cron may have
    them ignored, a child inherits that, and hooklab keeps an ignored SIGINT or SIGHUP
    ignored (README): the signal the test sends would be lost."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


def serve(db: Path, *args: str, log: Path | None = None,
          program: Sequence[str] = tuple(HOOKLAB)) -> tuple[subprocess.Popen, int]:
    """Start ``hooklab serve --port 0 --db db`` as a subprocess; returns (process, port).
    ``program``: the command that runs hooklab's command line (``python -m hooklab.cli``).

    Its stdout (one line per capture) goes to a file so a full pipe can never stall it. It
    starts as from a terminal (:func:`as_from_a_terminal`): Ctrl-C and SIGHUP stop it.
    """
    log = log or db.with_suffix(".log")
    out = open(log, "wb")  # noqa: SIM115 - owned by the process, closed by the OS on exit
    proc = subprocess.Popen(
        [*program, "serve", "--port", "0", "--db", str(db), *args],
        stdout=out,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        preexec_fn=as_from_a_terminal,
    )
    out.close()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        m = re.search(rb"listening on http://127\.0\.0\.1:(\d+)", log.read_bytes())
        if m:
            return proc, int(m.group(1))
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"hooklab serve did not start: {log.read_bytes()[-2000:]!r}")


def rss_kib(pid: int) -> int:
    """Resident set size of ``pid`` in KiB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")




def can_mount() -> None:
    """Skip the test unless this process may mount file systems (root: CI runs as root)."""
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a small file system needs root")


@contextlib.contextmanager
def tmpfs(where: Path, options: str = "size=24m") -> Iterator[Path]:
    """A small tmpfs mounted at ``where`` (made if missing) with mount ``options``: a real
    disk that fills; unmounted afterwards. Skips the test where none can be mounted."""
    can_mount()
    where.mkdir(exist_ok=True)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)]).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)])
