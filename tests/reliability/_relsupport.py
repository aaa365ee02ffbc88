"""Helpers for the reliability suite: ``hooklab serve`` subprocesses, RSS, raw reads."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

HOOKLAB = [sys.executable, "-m", "hooklab.cli"]


def serve(db: Path, *args: str, log: Path | None = None) -> tuple[subprocess.Popen, int]:
    """Start ``hooklab serve --port 0 --db db`` as a subprocess; returns (process, port).

    Its stdout (one line per capture) goes to a file so a full pipe can never stall it.
    """
    log = log or db.with_suffix(".log")
    out = open(log, "wb")  # noqa: SIM115 - owned by the process, closed by the OS on exit
    proc = subprocess.Popen(
        [*HOOKLAB, "serve", "--port", "0", "--db", str(db), *args],
        stdout=out,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
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


