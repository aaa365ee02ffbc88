"""Review of round 31: ``hooklab serve --secret-file github/push=k`` (no ``--provider``
given) printed ``hooklab: --provider github/push=: 'github/push' is no bin ...``: the
refusal named an option the user never wrote. Each ``BIN=`` of ``--secret-file`` and
``--provider`` is now read as ``lab.secret`` reads a bin, as the options are read, and a
refusal says the option actually given. Met as a user meets it: ``hooklab serve`` as a
process, its one stderr line and exit status, and no database left behind.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from _serve_lines import EXE

ENV = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8"}

# (option, BIN as written, the bin the refusal says to write)
HOSTILE = [
    ("--secret-file", "github/push", "github"),
    ("--secret-file", "/github/push/", "github"),
    ("--secret-file", "a/b/c", "a"),
    ("--provider", "github/push", "github"),
    ("--provider", "stripe/x/y", "stripe"),
]


def _serve(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXE, "serve", "--port", "0", "--db", str(tmp_path / "c.sqlite3"), *args],
                          capture_output=True, text=True, encoding="utf-8", timeout=60, env=ENV)


@pytest.mark.parametrize("option, bin_, first", HOSTILE)
def test_a_slashed_bin_is_refused_under_the_option_given(tmp_path: Path, option: str, bin_: str,
                                                         first: str) -> None:
    key = tmp_path / "k"
    key.write_text("s3cret-value-0123456789\n")
    value = str(key) if option == "--secret-file" else "github"
    r = _serve(tmp_path, option, f"{bin_}={value}")
    assert (r.returncode, r.stdout) == (2, "")
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    line = lines[0]
    stripped = bin_.strip("/")
    assert line.startswith(f"hooklab: {option} {stripped}="), line
    other = "--provider" if option == "--secret-file" else "--secret-file"
    assert other not in line  # (the option never given is not named)
    assert f"{stripped!r} is no bin" in line and f"write {first!r}" in line
    assert not (tmp_path / "c.sqlite3").exists()


def test_an_unknown_provider_is_still_said_under_provider(tmp_path: Path) -> None:
    key = tmp_path / "k"
    key.write_text("s3cret-value-0123456789\n")
    r = _serve(tmp_path, "--secret-file", f"github={key}", "--provider", "github=gihtub")
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1
    assert r.stderr.startswith("hooklab: --provider github=gihtub: ")
    assert not (tmp_path / "c.sqlite3").exists()
