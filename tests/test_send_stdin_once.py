"""``hooklab send`` refuses two options that both read standard input.

``send --secret-file - --data @-`` read the secret to the end of standard input, and ``--data``
then found nothing: "hooklab: --data is not valid JSON: Expecting value", an error about the
JSON where the command was the mistake (the secret also took the JSON's line into itself).
Now the pair is refused before anything is read or sent, saying both read standard input;
either alone reads it as before.

A real lab on 127.0.0.1 and the ``hooklab`` command.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

EXE = str(Path(sys.executable).with_name("hooklab"))
SECRET = "s3cret-for-stdin"
DATA = {"zen": "from stdin"}


@pytest.mark.parametrize(("secret_file", "data"), [
    ("-", "@-"),
    ("/dev/stdin", "@-"),
    ("-", "@/dev/stdin"),
    ("/dev/fd/0", "@/proc/self/fd/0"),
])
def test_both_on_standard_input_is_refused_up_front(lab, secret_file: str, data: str) -> None:  # type: ignore[no-untyped-def]
    r = subprocess.run([EXE, "send", lab.url_for("github"), "--provider", "github", "--event",
                        "push", "--secret-file", secret_file, "--data", data],
                       input=f"{SECRET}\n{json.dumps(DATA)}\n", capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 2 and r.stdout == "", (r.returncode, r.stdout, r.stderr)
    assert r.stderr == (f"hooklab: --secret-file {secret_file} and --data {data} both read "
                        "standard input, which one of them would read to its end: give the "
                        "other a file (or the secret in $HOOKLAB_SECRET)\n"), r.stderr
    assert SECRET not in r.stderr and len(lab.captures) == 0


@pytest.mark.parametrize("on_stdin", ["secret", "data"])
def test_either_alone_still_reads_standard_input(lab, tmp_path, on_stdin: str) -> None:  # type: ignore[no-untyped-def]
    lab.secret("github", SECRET, provider="github")
    key, body = tmp_path / "github.key", tmp_path / "data.json"
    key.write_text(SECRET + "\n")
    body.write_text(json.dumps(DATA))
    secret_file, data, stdin = (("-", f"@{body}", SECRET + "\n") if on_stdin == "secret"
                                else (str(key), "@-", json.dumps(DATA)))
    r = subprocess.run([EXE, "send", lab.url_for("github"), "--provider", "github", "--event",
                        "push", "--secret-file", secret_file, "--data", data],
                       input=stdin, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    (cap,) = lab.wait(1, bin="github", timeout=10)
    assert cap.verified is True and cap.json()["zen"] == DATA["zen"], cap.verify_reason
