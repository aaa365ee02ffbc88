"""``hooklab replay --resign-file`` and ``hooklab serve --forward ... --resign``: the command
line's way to the fresh signature ``lab.replay(..., resign=True)`` gives (a Stripe CLI user's
``stripe events resend``), checked at the app with hooklab's own verifier against the app's URL
and the current time, as the app's SDK checks it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from _target import Target

import hooklab

EXE = str(Path(sys.executable).with_name("hooklab"))
ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}
SECRET = "whsec_cli_resign_test"


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status


def _stale_stripe_capture(db: str) -> bytes:
    """One Stripe delivery signed ten minutes ago, stored in ``db``; returns its body."""
    body = b'{"id": "evt_old", "type": "charge.succeeded", "object": "event"}'
    signed = hooklab.signatures.sign_request("stripe", SECRET, body=body,
                                             timestamp=int(time.time()) - 600)
    lab = hooklab.HookLab(port=0, db=db).start()
    try:
        assert _post(lab.url_for("stripe"), body,
                     {"Content-Type": "application/json", **signed.headers}) == 200
        lab.wait(1)
    finally:
        lab.stop()
    return body


def _verdict(got: object, url: str) -> hooklab.signatures.Verification:
    return hooklab.verify_signature("stripe", SECRET, dict(got.headers), got.body, url=url)


@pytest.mark.parametrize("resign", [False, True])
def test_replay_resign_file_signs_afresh_for_the_app(tmp_path: Path, resign: bool) -> None:
    db = str(tmp_path / "c.sqlite3")
    body = _stale_stripe_capture(db)
    key = tmp_path / "stripe.key"
    key.write_text(SECRET + "\n")
    with Target() as app:
        extra = ["--resign-file", str(key)] if resign else []
        r = subprocess.run([EXE, "replay", "--db", db, "--id", "1", "--to", app.url + "/hook",
                            *extra], capture_output=True, text=True, timeout=60, env=ENV)
        assert r.returncode == 0, r.stderr
        (got,) = app.wait(1)
    assert got.body == body  # the same bytes either way
    verdict = _verdict(got, app.url + "/hook")
    if resign:
        assert verdict.valid, verdict.reason
    else:
        assert not verdict.valid, verdict.reason  # (signed ten minutes ago: past 300 s)


@pytest.mark.parametrize("content,provider,message", [
    ("", None, "--resign-file"),                        # an empty file: no secret
    (SECRET, "no-such-provider", "no-such-provider"),   # a provider hooklab cannot sign as
])
def test_replay_resign_file_mistakes_send_nothing(tmp_path: Path, content: str,
                                                  provider: str | None, message: str) -> None:
    db = str(tmp_path / "c.sqlite3")
    _stale_stripe_capture(db)
    key = tmp_path / "k"
    key.write_text(content)
    with Target() as app:
        extra = ["--provider", provider] if provider else []
        r = subprocess.run([EXE, "replay", "--db", db, "--id", "1", "--to", app.url,
                            "--resign-file", str(key), *extra],
                           capture_output=True, text=True, timeout=60, env=ENV)
        time.sleep(0.3)
        assert app.received == []
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert message in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert SECRET not in r.stderr


def test_serve_resign_forwards_a_twilio_delivery_that_verifies_at_the_app(tmp_path: Path) -> None:
    """Twilio signs the URL it calls: forwarded as it came, the app (another URL) can never
    verify it; with --resign the forward is signed for the app's URL."""
    key = tmp_path / "twilio.key"
    key.write_text("twilio-auth-token\n")
    with Target() as app:
        proc = subprocess.Popen(
            [EXE, "serve", "--port", "0", "--db", ":memory:", "--secret-file", f"sms={key}",
             "--provider", "sms=twilio", "--forward", f"sms={app.url}/twilio", "--resign"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
        try:
            first = proc.stdout.readline()  # type: ignore[union-attr]
            m = re.search(r"listening on (http://\S+)", first)
            assert m, (first, proc.stderr.read() if proc.poll() is not None else "")  # type: ignore[union-attr]
            url = m.group(1) + "/sms"
            body = b"From=%2B15550001111&Body=hello&MessageSid=SM1"
            signed = hooklab.signatures.sign_request("twilio", "twilio-auth-token", url=url,
                                                     body=body)
            assert _post(url, body, {"Content-Type": "application/x-www-form-urlencoded",
                                     **signed.headers}) == 200
            (got,) = app.wait(1)
        finally:
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=30)
    assert got.body == body
    verdict = hooklab.verify_signature("twilio", "twilio-auth-token", dict(got.headers),
                                       got.body, url=app.url + "/twilio")
    assert verdict.valid, verdict.reason
    assert "twilio-auth-token" not in out + err


def test_serve_resign_for_a_bin_without_a_secret_is_a_usage_error(tmp_path: Path) -> None:
    r = subprocess.run([EXE, "serve", "--port", "0", "--db", ":memory:",
                        "--forward", "sms=http://127.0.0.1:9/x", "--resign"],
                       capture_output=True, text=True, timeout=60, env=ENV)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert r.stderr.startswith("hooklab: --forward sms=") and "Traceback" not in r.stderr
