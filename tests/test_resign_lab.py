"""``lab.replay(..., resign=True)`` and ``lab.forward(bin, to, resign=True)``: signed afresh
with the secret registered for each capture's bin (``lab.secret``), checked by the official
SDKs at the app."""

from __future__ import annotations

import time

import pytest
from test_resign import STRIPE, TWILIO, App, _capture, _signed, _verifier

import hooklab
from hooklab.outbound import Resign


def _forwards(lab, n: int) -> list[dict]:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 15
    while len(lab.forwards()) < n and time.monotonic() < deadline:
        time.sleep(0.02)
    return lab.forwards()


@pytest.mark.parametrize("resign", [STRIPE, Resign(STRIPE, "stripe")])
def test_lab_replay_resign_uses_the_bin_s_secret_or_the_one_given(lab, resign) -> None:  # type: ignore[no-untyped-def]
    app = App(_verifier("stripe"))
    try:
        lab.secret("stripe", STRIPE, provider="stripe")
        cap = _capture(lab, "stripe")
        assert cap.verified is False and "old, beyond tolerance" in cap.verify_reason
        (plain,) = lab.replay(cap, to=app.url + "/webhook")
        (fresh,) = lab.replay(cap.id, to=app.url + "/webhook", resign=resign)
        got = app.wait(2)
    finally:
        app.close()
    assert (plain.status, fresh.status, fresh.ok) == (400, 200, True)
    assert got[0][3].startswith("refused") and got[1][3] == "ok"
    assert got[1][2] == cap.body


def test_lab_replay_resign_true_signs_a_capture_that_verified_on_arrival(lab) -> None:  # type: ignore[no-untyped-def]
    """The bin's secret signs a delivery that verified when it came, stale by the time of
    the replay (an app checking a 30 s window refuses it as it came); one that failed its
    check on arrival (signed 600 s before: replayed late by anyone) it does not sign."""
    stripe = pytest.importorskip("stripe")
    app = App(lambda url, h, body: stripe.Webhook.construct_event(
        body, h.get("stripe-signature"), STRIPE, tolerance=30))
    try:
        lab.secret("stripe", STRIPE, provider="stripe")
        stale = _capture(lab, "stripe")  # (signed 600 s ago: fails its check on arrival)
        body = b'{"id": "evt_1", "object": "event", "type": "charge.succeeded"}'
        sig = _signed_at(body, int(time.time()) - 60)
        assert hooklab.send(lab.url_for("stripe"), payload=body, headers=sig).status == 200
        fresh = lab.wait(2, bin="stripe")[1]
        (plain,) = lab.replay(fresh, to=app.url + "/webhook")
        (signed,) = lab.replay(fresh, to=app.url + "/webhook", resign=True)
        with pytest.raises(ValueError, match=rf"capture #{stale.id}'s signature did not verify "
                                             r"on arrival \(timestamp 6\d\d s old, beyond"):
            lab.replay(stale, to=app.url + "/webhook", resign=True)
        got = app.wait(2)
        time.sleep(0.2)
    finally:
        app.close()
    assert (fresh.verified, stale.verified) == (True, False)
    assert (plain.status, signed.status) == (400, 200)
    assert got[0][3].startswith("refused") and got[1][3] == "ok" and got[1][2] == body
    assert len(app.got) == 2


def _signed_at(body: bytes, ts: int) -> dict[str, str]:
    from hooklab.signatures import sign_request

    return {"Content-Type": "application/json",
            **sign_request("stripe", STRIPE, body=body, timestamp=ts).headers}


def test_lab_replay_resign_true_without_a_secret_sends_nothing(lab) -> None:  # type: ignore[no-untyped-def]
    app = App(_verifier("stripe"))
    try:
        cap = _capture(lab, "stripe")
        with pytest.raises(ValueError, match="no secret is registered for bin 'stripe'"):
            lab.replay([cap, cap], to=app.url + "/webhook", resign=True)
    finally:
        app.close()
    assert app.got == []


def test_lab_forward_resign_true_makes_a_twilio_forward_verify(lab) -> None:  # type: ignore[no-untyped-def]
    app = App(_verifier("twilio"))
    try:
        lab.secret("tw", TWILIO, provider="twilio")
        url = lab.url_for("tw", "sms")
        body, headers = _signed("twilio", url)
        lab.forward("tw", to=app.url + "/app")
        assert hooklab.send(url, payload=body, headers=headers).status == 200
        app.wait(1)  # (forwarded as it was before the bin is told to re-sign: under load the
        lab.forward("tw", to=app.url + "/app", resign=True)  # forward came after, re-signed)
        assert hooklab.send(url, payload=body, headers=headers).status == 200
        got = app.wait(2)
        rows = _forwards(lab, 2)
    finally:
        app.close()
    # the forwarder's workers may deliver (and record) the two out of order: each capture's
    # outcome is read by its id, the app's verdicts by what they say
    verdicts = sorted(got, key=lambda g: g[3] != "ok")
    assert verdicts[0][3] == "ok" and verdicts[1][3].startswith("refused")
    rows.sort(key=lambda r: r["capture_id"])
    assert [(r["status"], r["error"]) for r in rows] == [(400, None), (200, None)]
    assert verdicts[0][0] == "/app/sms" and verdicts[0][2] == body


@pytest.mark.parametrize("move", ["db", "durability", "db-and-port"])
def test_a_lab_that_moves_keeps_signing_its_forwards_afresh(tmp_path, move) -> None:  # type: ignore[no-untyped-def]
    """``lab.forward(bin, to, resign=True)``, then the lab moves to another database (``lab.db =
    ...``, ``%config HookLab.db``, ``%hooklab start --db``): the forward followed it, but as
    captured, so the Twilio app refused every delivery after the move (400)."""
    from traitlets.config import Config

    app = App(_verifier("twilio"))
    lab = hooklab.HookLab(port=0, db=str(tmp_path / "a.sqlite3")).start()
    try:
        lab.secret("tw", TWILIO, provider="twilio")
        lab.forward("tw", to=app.url + "/app", resign=True)
        if move == "db":
            lab.db = str(tmp_path / "b.sqlite3")
        elif move == "durability":
            lab.durability = "normal"
        else:
            lab.update_config(Config({"HookLab": {"db": str(tmp_path / "b.sqlite3"), "port": 0}}))
        url = lab.url_for("tw", "sms")
        body, headers = _signed("twilio", url)
        assert hooklab.send(url, payload=body, headers=headers).status == 200
        got = app.wait(1)
        rows = _forwards(lab, 1)
    finally:
        app.close()
        lab.stop()
    assert got[0][3] == "ok" and got[0][2] == body
    assert [(r["status"], r["error"]) for r in rows] == [(200, None)]


@pytest.mark.parametrize("provider", ["discord", "telnyx", "sendgrid", "plaid"])
def test_resign_true_refuses_a_bin_holding_a_public_key(lab, provider: str) -> None:  # type: ignore[no-untyped-def]
    from hooklab.signatures import keypair

    _, public = keypair(provider)
    lab.secret("pk", public, provider=provider)
    with pytest.raises(ValueError, match="signs with a private key"):
        lab.forward("pk", to="http://127.0.0.1:9/app", resign=True)
    with pytest.raises(ValueError, match="no secret is registered"):
        lab.forward("other", to="http://127.0.0.1:9/app", resign=True)
