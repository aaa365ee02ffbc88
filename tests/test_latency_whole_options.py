"""``python -m hooklab.latency`` (and ``bench/latency.py``) take an option by its whole name
only, as every ``hooklab`` command does (``allow_abbrev=False``): its parser matched prefixes,
so ``--he`` was ``--help`` and any later option's prefix would have been read as another's
(the CLI turned prefix matching off after it read a secret given to one option as another's
value). A part of an option's name is argparse's "unrecognized arguments" error, exit 2,
and nothing is measured; the whole names work. Real processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
COMMANDS = [([sys.executable, "-m", "hooklab.latency"], "python -m hooklab.latency"),
            ([sys.executable, str(REPO / "bench" / "latency.py")], "bench/latency.py")]


def _run(command: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=120,
                          cwd=REPO)


@pytest.mark.parametrize("command, prog", COMMANDS, ids=["module", "bench"])
@pytest.mark.parametrize("args, unknown", [
    (["--h"], "--h"),
    (["--he"], "--he"),
    (["--hel"], "--hel"),
    (["--n", "2", "--hel"], "--hel"),
    (["--he=x"], "--he=x"),
], ids=["h", "he", "hel", "after-n", "with-value"])
def test_part_of_an_option_name_is_unrecognized(command: list[str], prog: str,
                                                args: list[str], unknown: str) -> None:
    r = _run(command, *args)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert r.stdout == ""  # (no help, no table: nothing ran)
    assert r.stderr.startswith(f"usage: {prog} [-h] [--n N]\n"), r.stderr
    assert r.stderr.endswith(f"{prog}: error: unrecognized arguments: {unknown}\n"), r.stderr


@pytest.mark.parametrize("command, prog", COMMANDS, ids=["module", "bench"])
def test_the_whole_names_work(command: list[str], prog: str) -> None:
    for flag in ("--help", "-h"):
        r = _run(command, flag)
        assert r.returncode == 0 and r.stderr == "", r.stderr
        assert r.stdout.startswith(f"usage: {prog} [-h] [--n N]\n") and "--n N" in r.stdout
    for args in (["--n", "2"], ["--n=2"]):
        r = _run(command, *args)
        assert r.returncode == 0, r.stderr
        rows = r.stdout.splitlines()[2:7]  # (header, rule, then one row per mode)
        assert [row.split()[-5] for row in rows] == ["2"] * 5, r.stdout
