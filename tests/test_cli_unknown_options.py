"""``hooklab`` with an option it does not know: argparse's "unrecognized arguments" quoted every
word as typed, so ``hooklab send URL --token sk_live_...`` (an option of another tool's habit)
put the credential into the terminal's scrollback and CI logs. The value of an option whose name
says credential is said as its length; other words are shown, escaped."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXE = str(Path(sys.executable).with_name("hooklab"))
SECRET = "sk_live_51HqLyjWDarjtT1zdp7dc"
N = len(SECRET)  # 29


@pytest.mark.parametrize("argv,shown", [
    (["send", "http://127.0.0.1:9/x", "--token", SECRET], f"--token <hidden: {N} characters>"),
    (["send", "http://127.0.0.1:9/x", f"--api-key={SECRET}"], f"--api-key=<hidden: {N} characters>"),
    (["send", "http://127.0.0.1:9/x", "--auth", f"Bearer {SECRET}"],
     f"--auth <hidden: {N + 7} characters>"),
    (["replay", "--id", "1", "--to", "http://127.0.0.1:9/x", "--header", f"X-Key: {SECRET}"],
     f"--header <hidden: {N + 7} characters>"),
    (["export", "--password", SECRET], f"--password <hidden: {N} characters>"),
    (["serve", "--port", "0", "--signing-secret", SECRET], f"--signing-secret <hidden: {N} characters>"),
    (["send", "http://127.0.0.1:9/x", "--colour", "red"], "--colour red"),  # (no credential)
    (["send", "http://127.0.0.1:9/x", "--colour", "\x1b[2J"], "--colour \\x1b[2J"),  # escaped
])
def test_an_unknown_option_s_credential_is_not_echoed(argv: list[str], shown: str) -> None:
    r = subprocess.run([EXE, *argv], capture_output=True, text=True, timeout=60,
                       env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert r.stderr.rstrip("\n").endswith(f"hooklab: error: unrecognized arguments: {shown}"), \
        r.stderr
    assert SECRET not in r.stderr + r.stdout
    assert "\x1b" not in r.stderr
