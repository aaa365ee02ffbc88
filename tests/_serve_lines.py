"""``hooklab serve`` as a subprocess whose stdout and stderr lines are read as they come."""

from __future__ import annotations

import contextlib
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

EXE = str(Path(sys.executable).with_name("hooklab"))


@contextlib.contextmanager
def serve(*args: str) -> Iterator[tuple[queue.Queue[str], queue.Queue[str]]]:
    """``hooklab serve *args`` running for the ``with`` block (terminated after it): its
    stdout lines and stderr lines, each in a queue filled by a daemon thread."""
    proc = subprocess.Popen(
        [EXE, "serve", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        encoding="utf-8", env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8"})
    lines: queue.Queue[str] = queue.Queue()
    errs: queue.Queue[str] = queue.Queue()
    for stream, into in ((proc.stdout, lines), (proc.stderr, errs)):
        threading.Thread(target=lambda s=stream, q=into: [q.put(x) for x in s],
                         daemon=True).start()
    try:
        yield lines, errs
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def gather(into: list[tuple[queue.Queue[str], list[str]]], done: Callable[[], bool],
           timeout: float = 30.0) -> None:
    """Move lines from each queue to its list (newline cut) until ``done()`` or ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not done():
        for q, lines in into:
            with contextlib.suppress(queue.Empty):
                lines.append(q.get(timeout=0.2).rstrip("\n"))


def signalled(proc: subprocess.Popen[str], sig: int, before: Callable[[], object] | None = None,
              timeout: float = 60.0) -> tuple[str, str]:
    """``before()`` (a wait for the moment), then signal ``sig`` to ``proc``: what it wrote
    once it ended, (stdout, stderr). Killed if it has not ended ``timeout`` seconds after, or
    if ``before`` failed."""
    try:
        if before is not None:
            before()
        proc.send_signal(sig)
        return proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
