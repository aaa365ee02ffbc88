"""A secret typed where a name goes (``--provider stripe=whsec_...``) is said as its length.

``hooklab serve --provider stripe=whsec_TOPSECRET123456`` answered ``unknown provider
'whsec_topsecret123456'``: the secret whole (lower-cased) on standard error, which goes to
terminals and CI logs. Every option whose error quotes its value now says a value that looks
like a credential as ``<hidden: N characters>``; a plain typo is still quoted, with its
"did you mean", so that it can be fixed. The same in ``%hooklab``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXE = str(Path(sys.executable).with_name("hooklab"))
URL = "http://127.0.0.1:9/x"  # (nothing is sent: every case is refused first)

#: credentials as their issuers print them (made up, each of its real shape)
SECRETS = {
    "stripe webhook secret": "whsec_TOPSECRET123456",
    "stripe live key": "sk_live_51HxYzAbCdEfGh",
    "slack bot token": "xoxb-1234-5678-AbCdEfGhIj",
    "github token": "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ012345",
    "40 hex digits": "3f786850e387550fdab836ed7e6dc881de23001b",
    "JWT": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJl",
    "gitlab token": "glpat-AbCdEf1234567890xyz",
    "base64 key": "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5",
    "resend api key": "re_c1tpEyD8NKFusih9vKVQknRAQfmFcWCv",
    "24 hex digits": "4f7890604024d3f45b3bb91f",
    "29 lower case and digits": "hof5gwx0su6owfnys0yan9c87zr6t",
}


def _run(argv: list[str], cwd: Path) -> str:
    done = subprocess.run([EXE, *argv], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert done.returncode != 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def _hidden(secret: str, said: str) -> None:
    assert secret.lower() not in said.lower(), said
    assert secret[6:14].lower() not in said.lower(), said  # (no part of it either)
    assert f"<hidden: {len(secret)} characters>" in said, said


@pytest.mark.parametrize("secret", list(SECRETS.values()), ids=list(SECRETS))
def test_serve_provider_given_a_secret_says_its_length(tmp_path: Path, secret: str) -> None:
    said = _run(["serve", "--port", "0", "--db", "c.sqlite3", "--provider", f"stripe={secret}"],
                tmp_path)
    _hidden(secret, said)
    assert "it looks like a secret" in said
    assert not (tmp_path / "c.sqlite3").exists()  # (refused before anything was opened)


S = SECRETS["github token"]
# (id, argv, the words the error keeps): each option whose error quotes its value
SITES = [
    ("serve --provider S", ["serve", "--port", "0", "--db", "c.sqlite3", "--provider", S],
     "--provider wants BIN=NAME"),
    ("send --provider S", ["send", URL, "--provider", S], "no sample events for provider"),
    ("send --event S", ["send", URL, "--provider", "github", "--event", S],
     "unknown github sample event"),
    ("send S (no URL)", ["send", S], "not an http(s) URL"),
    ("serve --port S", ["serve", "--port", S], "argument --port: not an integer"),
    ("serve --retention-age S", ["serve", "--retention-age", S], "not an age"),
    ("export --format S", ["export", "--format", S], "argument --format: invalid choice"),
    ("export --since S", ["export", "--db", "c.sqlite3", "--since", S],
     "since must be a capture id or an ISO 8601 time"),
    ("replay --id S", ["replay", "--id", S, "--to", URL], "argument --id"),
    ("replay --to S", ["replay", "--db", "c.sqlite3", "--id", "1", "--to", S],
     "must be an http(s) URL"),
    ("replay --provider S", ["replay", "--db", "c.sqlite3", "--id", "1", "--to", URL,
                             "--resign-file", "k.key", "--provider", S], "cannot be re-signed as"),
    ("serve --host S", ["serve", "--port", "0", "--db", "c.sqlite3", "--host", S],
     "cannot be bound"),
]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A folder whose ``c.sqlite3`` holds one capture (for export and replay), and a key file."""
    import hooklab

    lab = hooklab.HookLab(port=0, db=str(tmp_path / "c.sqlite3")).start()
    try:
        hooklab.send(lab.url_for("github"), provider="github", event="push", secret="k")
        lab.wait(1, timeout=30)
    finally:
        lab.stop()
    (tmp_path / "k.key").write_text("k\n")
    return tmp_path


@pytest.mark.parametrize("argv, words", [s[1:] for s in SITES], ids=[s[0] for s in SITES])
def test_every_option_that_quotes_its_value_hides_a_secret(folder: Path, argv: list[str],
                                                          words: str) -> None:
    said = _run(argv, folder)
    assert words in said, said
    _hidden(S, said)


# (argv, what the error must still say as typed)
TYPOS = [
    (["serve", "--port", "0", "--db", "c.sqlite3", "--provider", "stripe=strpe"],
     "--provider stripe=strpe: unknown provider 'strpe' (did you mean 'stripe'?)"),
    (["send", URL, "--provider", "githb"], "provider 'githb' (did you mean 'github'?)"),
    (["send", URL, "--provider", "github", "--event", "psh"], "sample event 'psh'"),
    (["export", "--format", "jsn"], "invalid choice: 'jsn'"),
    (["serve", "--port", "80a"], "not an integer: '80a'"),
    (["replay", "--db", "c.sqlite3", "--id", "1", "--to", "localhost:5000/webhook"],
     "got 'localhost:5000/webhook'"),
]


@pytest.mark.parametrize("argv, words", TYPOS, ids=[" ".join(t[0][:1] + t[0][-2:]) for t in TYPOS])
def test_a_typo_is_still_named(folder: Path, argv: list[str], words: str) -> None:
    said = _run(argv, folder)
    assert words in said, said
    assert "<hidden" not in said, said


def test_percent_hooklab_hides_a_secret_given_as_a_name(tmp_path: Path) -> None:
    """``%hooklab`` in a real IPython shell: its parser's errors and the commands' own."""
    from IPython.core.error import UsageError
    from IPython.core.interactiveshell import InteractiveShell

    ip = InteractiveShell.instance()
    ip.run_line_magic("config", "HookLab.port = 0")
    ip.run_line_magic("config", f"HookLab.db = {str(tmp_path / 'm.sqlite3')!r}")
    ip.extension_manager.load_extension("hooklab")
    try:
        for line in (f"send github --provider {S}", f"send github --provider github --event {S}",
                     f"df --provider {S}", f"respond x --status {S}", f"export x.har --format {S}",
                     f"df --since {S}"):
            with pytest.raises(UsageError) as err:
                ip.run_line_magic("hooklab", line)
            _hidden(S, str(err.value))
        with pytest.raises(UsageError, match=r"provider='strpe' is not a provider hooklab detects \(did you mean 'stripe'\?\)"):
            ip.run_line_magic("hooklab", "df --provider strpe")
    finally:
        ip.extension_manager.unload_extension("hooklab")
        ip.run_line_magic("config", "HookLab.db = ':memory:'")
