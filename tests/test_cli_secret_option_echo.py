"""A secret typed where ``hooklab`` expects something else never reaches stdout or stderr.

argparse took any prefix of an option: ``serve --secret stripe=whsec_...`` (``--secret`` is
``send``'s) was read as ``--secret-file`` and ``replay --resign whsec_...`` as
``--resign-file``, whose "No such file or directory: 'whsec_...'" printed the secret whole to
the terminal and CI logs. Now no option is taken from a prefix, an unknown option's value is
said as its length, and a secret-file option whose value names no file and does not read as
a file's path is said as its length too."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXE = str(Path(sys.executable).with_name("hooklab"))
ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}
S = "whsec_LIVE_s3cr3tValue0123456789"
URL = "http://127.0.0.1:9/x"  # (nothing is sent: every case is refused first)

SERVE = ["serve", "--port", "0", "--db", "c.sqlite3"]
SEND = ["send", URL, "--provider", "stripe"]
REPLAY = ["replay", "--db", "c.sqlite3", "--id", "1", "--to", URL]

# (id, argv): each secret-taking option of each command, misspelt, abbreviated, =-joined,
# or given the secret in place of its file
CASES = [
    ("serve --secret BIN=S (send's option)", SERVE + ["--secret", f"stripe={S}"]),
    ("serve --secret S", SERVE + ["--secret", S]),
    ("serve --secret=S", SERVE + [f"--secret={S}"]),
    ("serve --secret-fil BIN=S", SERVE + ["--secret-fil", f"stripe={S}"]),
    ("serve --secret-f=BIN=S", SERVE + [f"--secret-f=stripe={S}"]),
    ("serve --secret-files BIN=S", SERVE + ["--secret-files", f"stripe={S}"]),
    ("serve --secret-file BIN=S", SERVE + ["--secret-file", f"stripe={S}"]),
    ("serve --secret-file=BIN=S", SERVE + [f"--secret-file=stripe={S}"]),
    ("serve --secret-file S", SERVE + ["--secret-file", S]),
    ("serve --secret-file =S", SERVE + ["--secret-file", f"={S}"]),
    ("serve --resign=S", SERVE + [f"--resign={S}"]),
    ("serve --resign-file S", SERVE + ["--resign-file", S]),
    ("send --secret-fil S", SEND + ["--secret-fil", S]),
    ("send --sec=S", SEND + [f"--sec={S}"]),
    ("send --secret-f=S", SEND + [f"--secret-f={S}"]),
    ("send --secretfile S", SEND + ["--secretfile", S]),
    ("send --secret-file S", SEND + ["--secret-file", S]),
    ("send --secret-file=S", SEND + [f"--secret-file={S}"]),
    ("send --resign-file S", SEND + ["--resign-file", S]),
    ("replay --resign S", REPLAY + ["--resign", S]),
    ("replay --resign=S", REPLAY + [f"--resign={S}"]),
    ("replay --resig=S", REPLAY + [f"--resig={S}"]),
    ("replay --resign-fil S", REPLAY + ["--resign-fil", S]),
    ("replay --resignfile S", REPLAY + ["--resignfile", S]),
    ("replay --resign-file S", REPLAY + ["--resign-file", S]),
    ("replay --resign-file=S", REPLAY + [f"--resign-file={S}"]),
    ("replay --secret-file S", REPLAY + ["--secret-file", S]),
]


@pytest.mark.parametrize("argv", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_the_secret_is_said_as_its_length_only(tmp_path: Path, argv: list[str]) -> None:
    r = subprocess.run([EXE, *argv], capture_output=True, text=True, timeout=60, env=ENV,
                       cwd=tmp_path)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "s3cr3t" not in r.stdout + r.stderr, r.stderr  # (nor a part of it)
    assert r.stdout == "" and "Traceback" not in r.stderr
    # the mistake is still named: the option as typed, and the value's length
    option = next(a for a in argv if "resig" in a or "sec" in a).split("=", 1)[0]
    assert option in r.stderr, r.stderr
    lengths = {len(S), len(S) + len("stripe="), len(S) + 1}
    assert any(f"<hidden: {n} characters>" in r.stderr for n in lengths), r.stderr
    assert list(tmp_path.iterdir()) == []  # (serve made no database)


@pytest.mark.parametrize("value, shown", [
    ("missing.key", True),  # a file's name: said, to be found
    ("keys/stripe", True),  # in a folder that is there
    ("nofolder/whsec_x", False),  # in none: as likely a secret with a "/" in it
    ("whsec_abc", False),
    ("sk_live_51HqLyjWDarjtT1zdp7dc", False),
])
def test_a_secret_file_that_is_not_there_is_named_when_it_reads_as_a_path(
        tmp_path: Path, value: str, shown: bool) -> None:
    (tmp_path / "keys").mkdir()
    r = subprocess.run([EXE, *SEND, "--secret-file", value], capture_output=True, text=True,
                       timeout=60, env=ENV, cwd=tmp_path)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert (value in r.stderr) is shown, r.stderr
    if shown:
        assert r.stderr == (f"hooklab: --secret-file {value}: [Errno 2] No such file or "
                            f"directory: '{value}'\n")
    else:
        assert r.stderr == (f"hooklab: --secret-file <hidden: {len(value)} characters>: No such "
                            "file or directory (not shown: it names no file, and may be the "
                            "secret itself; give the file that holds it)\n")


@pytest.mark.parametrize("argv, shown", [
    (["--secret", S], False),           # no command: the secret was read as one
    ([S], False),
    (["--secret-file", S, "serve"], False),
    (["sreve"], True),                  # a mistyped command is still named, to be fixed
    (["Serve"], True),
], ids=["top-level-secret", "secret-alone", "top-level-secret-file", "typo", "case"])
def test_a_secret_given_where_the_command_goes_is_said_as_its_length(
        tmp_path: Path, argv: list[str], shown: bool) -> None:
    """``hooklab --secret whsec_...`` (an option of a command, given before any) made
    argparse quote the secret as the "invalid choice" of a command; a word is still quoted."""
    r = subprocess.run([EXE, *argv], capture_output=True, text=True, timeout=60, env=ENV,
                       cwd=tmp_path)
    assert r.returncode == 2 and r.stdout == "" and "Traceback" not in r.stderr, r.stderr
    assert ("s3cr3t" in r.stderr) is False, r.stderr
    if shown:
        assert f"invalid choice: '{argv[0]}'" in r.stderr, r.stderr
    else:
        assert f"<hidden: {len(S)} characters>" in r.stderr or "unrecognized" in r.stderr, r.stderr


@pytest.mark.parametrize("target", [
    f"http://127.0.0.1:9/x?token={S}",
    f"https://user:{S}@127.0.0.1:9/x",
    f"http://127.0.0.1:9/x?a=1&sig={S}",
], ids=["token-in-query", "password", "sig-in-query"])
def test_a_forward_url_given_without_its_bin_is_said_without_its_credentials(
        tmp_path: Path, target: str) -> None:
    """``serve --forward <URL>`` (no ``BIN=``): the query's ``=`` was taken for ``BIN=``'s
    and the refusal quoted what followed it, the token, whole."""
    r = subprocess.run([EXE, *SERVE, "--forward", target], capture_output=True, text=True,
                       timeout=60, env=ENV, cwd=tmp_path)
    assert r.returncode == 2 and r.stdout == "", (r.stdout, r.stderr)
    assert "--forward wants BIN=URL" in r.stderr and "s3cr3t" not in r.stderr, r.stderr
    assert "[secret]" in r.stderr and list(tmp_path.iterdir()) == []
