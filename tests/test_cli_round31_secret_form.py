"""``hooklab serve --secret-file`` refuses, at start (exit 2, no database left), a secret that
cannot be its provider's key, in the words ``hooklab send`` refuses to sign with it: a
Standard Webhooks/Svix secret that is no base64 after ``whsec_`` started silently, and every
capture of the bin then read SIGNATURE-INVALID."""

from __future__ import annotations

import re
import signal
import subprocess
from pathlib import Path

import pytest
from _http import free_port
from _serve_lines import signalled
from test_cli import ENV, EXE

# (provider, secret, the words: from each provider's documented secret form)
BAD = [
    ("svix", "whsec_!!notb64!!", "secret is not valid base64 after whsec_"),
    ("standardwebhooks", "whsec_abcde", "secret is not valid base64 after whsec_"),
    ("standardwebhooks", "not base64 at all!",
     "secret is not valid base64 (Standard Webhooks secrets look like whsec_<base64>)"),
    ("openai", "whsec_!!", "secret is not valid base64 after whsec_"),
    ("onfleet", "zz-not-hex", "secret must be hexadecimal for this provider"),
    ("adyen", "nothex!", "secret must be hexadecimal for this provider"),
]


@pytest.mark.parametrize(("provider", "secret", "words"), BAD)
def test_serve_and_send_refuse_a_secret_of_the_wrong_form_alike(
        tmp_path: Path, provider: str, secret: str, words: str) -> None:
    (tmp_path / "bad.key").write_text(secret)
    serve = subprocess.run(
        [EXE, "serve", "--db", "sv.db", "--port", str(free_port()), "--strict-port",
         "--secret-file", "s=bad.key", "--provider", f"s={provider}"],
        capture_output=True, text=True, env=ENV, cwd=tmp_path, timeout=60)
    assert (serve.returncode, serve.stdout) == (2, ""), serve.stderr
    assert serve.stderr == f"hooklab: --secret-file s=bad.key: {words}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.key"]  # (no database made)
    send = subprocess.run(
        [EXE, "send", f"http://127.0.0.1:{free_port()}/s", "--provider", provider,
         "--secret-file", "bad.key"],
        capture_output=True, text=True, env=ENV, cwd=tmp_path, timeout=60)
    assert (send.returncode, send.stderr) == (2, f"hooklab: {words}\n")


# a secret of the right form, or one whose provider takes any text: serve starts
GOOD = [("svix", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), ("openai", "plain raw text"),
        ("github", "whsec_!!notb64!!"), ("onfleet", "00ff" * 8)]


@pytest.mark.parametrize(("provider", "secret"), GOOD)
def test_serve_starts_with_a_secret_of_its_providers_form(
        tmp_path: Path, provider: str, secret: str) -> None:
    (tmp_path / "ok.key").write_text(secret)
    proc = subprocess.Popen(
        [EXE, "serve", "--db", ":memory:", "--port", "0",
         "--secret-file", "s=ok.key", "--provider", f"s={provider}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV, cwd=tmp_path)
    said: list[str] = []
    _, err = signalled(proc, signal.SIGTERM,
                       lambda: said.append(proc.stdout.readline()))  # type: ignore[union-attr]
    first = said[0]
    assert re.search(r"listening on http://127\.0\.0\.1:\d+", first), (first, err)
    assert proc.returncode == 0, err
