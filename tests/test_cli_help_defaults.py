"""Each ``hooklab serve`` option that has a default says it in ``--help``, as README.md's
command-line section gives it (``--max-body`` said none: the README says 16 MiB)."""

from __future__ import annotations

import subprocess

import pytest
from test_cli import ENV, EXE


def _help(command: str) -> str:
    r = subprocess.run([EXE, command, "--help"], capture_output=True, text=True, timeout=60,
                       env={**ENV, "COLUMNS": "2000"})  # (one line per option)
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.mark.parametrize("option,says", [
    ("--host HOST", "(default 127.0.0.1;"),
    ("--port PORT", "(default 8765; 0 = any free)"),
    ("--db DB", "(default .hooklab/captures.sqlite3)"),
    ("--max-body BYTES", "a larger one gets 413 (default 16777216: 16 MiB)"),
    ("--max-connections N", "(default: half of 'ulimit -n', at most 8192;"),
    ("--timeout SECONDS", "(default 10)"),
    ("--durability {full,normal}", "full: fsync every group commit (default)"),
    ("--retention-count N", "(default: keep every capture)"),
    ("--retention-age AGE", "(default: keep captures of any age)"),
])
def test_serve_help_gives_each_default(option: str, says: str) -> None:
    entries: list[str] = []  # (an option's help: its line, and the next when it is long)
    for ln in _help("serve").splitlines():
        if ln.startswith("  -"):
            entries.append(ln.strip())
        elif ln.startswith("   ") and entries:
            entries[-1] += " " + ln.strip()
    (entry,) = [e for e in entries if e.startswith(option + " ")]
    assert says in entry, entry


def test_the_max_body_help_says_the_default_the_lab_has() -> None:
    import hooklab

    lab = hooklab.HookLab(port=0, db=":memory:")
    assert lab.max_body == 16 * 1024 * 1024  # (README: 16 MiB)
    assert f"(default {lab.max_body}: 16 MiB)" in _help("serve")
