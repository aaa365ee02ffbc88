"""``hooklab replay`` refuses, before anything is sent, what ``lab.replay`` refuses before
anything is sent.

``--id 1-3 --resign-file F`` where #2 could not be re-signed sent #1, stopped at #2 (exit 2)
and never sent #3, without a word about it; ``lab.replay([1, 2, 3], resign=...)`` raises
before sending any. And ``--provider`` without ``--resign-file`` (it says how to sign afresh)
was ignored, each capture sent with its old signature, exit 0; it is a usage mistake now, as
``send --event`` without ``--provider`` is."""

from __future__ import annotations

import hashlib
import hmac
import json
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
SECRET = "whsec_replay_checked_first"
#: what each capture is: a Stripe delivery (re-signable) or a plain one (no provider detected)
KINDS = {1: "stripe", 2: "plain", 3: "stripe", 4: "plain", 5: "stripe"}
NO_PROVIDER = ("hooklab: capture #{} cannot be re-signed: no provider was detected for it; say "
               "which with --provider NAME (e.g. --provider stripe)\n")


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("checked") / "c.sqlite3")
    lab = hooklab.HookLab(port=0, db=path).start()
    try:
        for cid, kind in KINDS.items():
            if kind == "stripe":
                hooklab.send(lab.url_for("s"), provider="stripe", secret=SECRET,
                             payload={"n": cid})
            else:
                hooklab.send(lab.url_for("s"), payload=f"plain {cid}".encode())
        caps = lab.wait(len(KINDS), timeout=10)
        assert [c.provider or "plain" for c in caps] == list(KINDS.values())
    finally:
        lab.stop()
    return path


@pytest.fixture
def key(tmp_path: Path) -> Path:
    path = tmp_path / "stripe.key"
    path.write_text(SECRET + "\n")
    return path


def _replay(db: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXE, "replay", "--db", db, *args], capture_output=True, text=True,
                          timeout=60, env=ENV)


# (--id, the first capture in the order given that cannot be re-signed, or None)
ORDERS = [("1-3", 2), ("1,3,2", 2), ("3,1,4,2", 4), ("5,4", 4), ("2", 2), ("1-5", 2),
          ("1,3,5", None), ("5,3,3", None)]


@pytest.mark.parametrize("ids, refused", ORDERS)
def test_nothing_is_sent_when_one_cannot_be_re_signed(db: str, key: Path, ids: str,
                                                      refused: int | None) -> None:
    order = [int(i) for i in ids.replace("1-3", "1,2,3").replace("1-5", "1,2,3,4,5").split(",")]
    with Target() as app:
        r = _replay(db, "--id", ids, "--to", app.url + "/hook", "--resign-file", str(key))
        if refused is None:  # (the control: each sent, in order, and signed afresh)
            assert r.returncode == 0, (r.stdout, r.stderr)
            got = app.wait(len(order))
        else:
            time.sleep(0.3)
            got = list(app.received)
    if refused is not None:
        assert (r.returncode, r.stdout, r.stderr) == (2, "", NO_PROVIDER.format(refused))
        assert got == []
        return
    assert [json.loads(g.body)["n"] for g in got] == order
    for g in got:  # Stripe's scheme, worked out here: t=<time>,v1=HMAC-SHA256(secret, t.body)
        parts = dict(p.split("=", 1) for p in (g.header("Stripe-Signature") or "").split(","))
        mac = hmac.new(SECRET.encode(), f"{parts['t']}.".encode() + g.body, hashlib.sha256)
        assert parts["v1"] == mac.hexdigest() and abs(int(parts["t"]) - time.time()) < 120


@pytest.mark.parametrize("provider", [["--provider", "github"], ["--provider=stripe"],
                                      ["--provider", "nosuch"]])
def test_provider_without_resign_file_is_refused(db: str, provider: list[str]) -> None:
    with Target() as app:
        r = _replay(db, "--id", "1", "--to", app.url + "/hook", *provider)
        time.sleep(0.3)
        assert app.received == []
    assert (r.returncode, r.stdout) == (2, ""), r.stderr
    assert r.stderr == ("hooklab: --provider needs --resign-file (e.g. --resign-file stripe.key "
                        "--provider stripe: each capture signed afresh as that provider)\n")


def test_provider_with_resign_file_signs_as_it(db: str, key: Path) -> None:
    with Target() as app:
        r = _replay(db, "--id", "2", "--to", app.url + "/hook", "--resign-file", str(key),
                    "--provider", "stripe")
        assert r.returncode == 0, (r.stdout, r.stderr)
        (got,) = app.wait(1)
    assert got.body == b"plain 2" and got.header("Stripe-Signature")
