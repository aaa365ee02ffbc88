"""``hooklab --version`` and ``--help`` whose output cannot be written (``>/dev/full``) exit 1
with one line, as ``hooklab export`` does (and GNU tools: ``ls --version >/dev/full``, "write
error"); argparse dropped the write's error, and the command exited 0, its output lost."""

from __future__ import annotations

import os
import subprocess

import pytest
from test_cli import ENV, EXE

pytestmark = pytest.mark.skipif(not os.path.exists("/dev/full"), reason="Linux's /dev/full")

ARGS = [["--version"], ["--help"], ["-h"], ["serve", "--help"], ["send", "--help"],
        ["replay", "--help"], ["export", "--help"], ["export", "-h"]]
FULL = "hooklab: standard output cannot be written (No space left on device)\n"


@pytest.mark.parametrize("args", ARGS, ids=" ".join)
def test_help_or_version_to_a_full_device_is_an_error(args: list[str]) -> None:
    with open("/dev/full", "w") as full:
        r = subprocess.run([EXE, *args], stdout=full, stderr=subprocess.PIPE, text=True,
                           env=ENV, timeout=60)
    assert (r.returncode, r.stderr) == (1, FULL)


@pytest.mark.parametrize("args", ARGS, ids=" ".join)
def test_help_or_version_written_exits_0(args: list[str]) -> None:
    r = subprocess.run([EXE, *args], capture_output=True, text=True, env=ENV, timeout=60)
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout.startswith("hooklab " if args == ["--version"] else "usage: hooklab")


def test_a_usage_error_to_a_full_stdout_is_still_a_usage_error() -> None:
    with open("/dev/full", "w") as full:
        r = subprocess.run([EXE, "export", "--format", "xml"], stdout=full,
                           stderr=subprocess.PIPE, text=True, env=ENV, timeout=60)
    assert r.returncode == 2 and "invalid choice: 'xml'" in r.stderr, r.stderr
