"""``hooklab replay --resign-file`` of a capture with no detected provider: the command line's
advice names the command's own option (``--provider NAME``), not the Python keywords
(``resign=Resign(secret, provider='stripe')``, ``lab.secret(...)``) a shell user cannot type.
And with ``--provider`` given, the same capture is signed afresh and verifies at the app."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _target import Target

import hooklab

EXE = str(Path(sys.executable).with_name("hooklab"))
ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}
SECRET = "whsec_cli_resign_hint"

#: deliveries no provider is detected for: (method, content type, body)
UNDETECTED = {
    "json": ("POST", "application/json", b'{"a": 1}'),
    "empty body": ("POST", None, b""),
    "binary": ("POST", "application/octet-stream", bytes(range(256))),
    "form": ("POST", "application/x-www-form-urlencoded", b"a=1&b=%C3%A9"),
    "put, text": ("PUT", "text/plain; charset=utf-8", "caf\u00e9".encode()),
}


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("hint") / "c.sqlite3")
    lab = hooklab.HookLab(port=0, db=path).start()
    try:
        for method, ctype, body in UNDETECTED.values():
            headers = {"Content-Type": ctype} if ctype else {}
            r = hooklab.send(lab.url_for("plain"), payload=body, headers=headers, method=method)
            assert r.status == 200
        caps = lab.wait(len(UNDETECTED), timeout=10)
        assert [c.provider for c in caps] == [None] * len(UNDETECTED)
    finally:
        lab.stop()
    return path


def _replay(db: str, cid: int, to: str, key: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXE, "replay", "--db", db, "--id", str(cid), "--to", to,
                           "--resign-file", str(key), *extra],
                          capture_output=True, text=True, timeout=60, env=ENV)


@pytest.mark.parametrize("name", list(UNDETECTED))
def test_no_provider_names_the_cli_option(db: str, tmp_path: Path, name: str) -> None:
    cid = list(UNDETECTED).index(name) + 1
    key = tmp_path / "k"
    key.write_text(SECRET + "\n")
    with Target() as app:
        r = _replay(db, cid, app.url + "/hook", key)
        time.sleep(0.2)
        assert app.received == []  # (nothing sent)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert r.stderr == (f"hooklab: capture #{cid} cannot be re-signed: no provider was detected "
                        "for it; say which with --provider NAME (e.g. --provider stripe)\n")
    assert SECRET not in r.stdout + r.stderr


@pytest.mark.parametrize("name", list(UNDETECTED))
def test_the_option_it_names_signs_the_capture(db: str, tmp_path: Path, name: str) -> None:
    cid = list(UNDETECTED).index(name) + 1
    key = tmp_path / "k"
    key.write_text(SECRET + "\n")
    method, _, body = UNDETECTED[name]
    with Target() as app:
        r = _replay(db, cid, app.url + "/hook", key, "--provider", "stripe")
        assert r.returncode == 0, (r.stdout, r.stderr)
        (got,) = app.wait(1, timeout=10)
    assert (got.method, got.body) == (method, body)
    verdict = hooklab.verify_signature("stripe", SECRET, dict(got.headers), got.body,
                                       url=app.url + "/hook")
    assert verdict.valid, verdict.reason
