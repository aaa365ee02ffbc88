"""Re-signing is no signing oracle: ``lab.forward(bin, to, resign=True)`` and
``lab.replay(..., resign=True)`` sign a capture afresh with the user's secret only when it
verified with that secret on arrival. Anyone who knows a bin's URL (``lab.public_url`` is on
the internet) can post to it: a made-up ``payment_intent.succeeded`` with a bogus signature,
none, one made with another secret, or a genuine delivery replayed late must never reach the
app carrying a signature that its own check accepts. A bin registered without ``provider=``
signs as the provider whose signature verified the capture, never as the one a sender's
headers (``X-GitHub-Event``) name. Genuine deliveries are still re-signed, and verify at the
app with the provider's official SDK (Stripe's) or the check its docs describe (GitHub's
HMAC over the body)."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import time
from urllib.parse import urlsplit

import pytest
from _target import Target

import hooklab
from hooklab.outbound import Resign
from hooklab.signatures import sign_request

SECRET = "whsec_user_real_secret_123456"
OTHER = "whsec_attackers_own_secret_999"
FORGED = json.dumps({"id": "evt_forged", "object": "event", "type": "payment_intent.succeeded",
                     "data": {"object": {"id": "pi_1", "amount": 999999}}}).encode()
JSON = {"Content-Type": "application/json"}


def _stripe(secret: str, body: bytes = FORGED, ago: int = 0) -> dict[str, str]:
    return dict(sign_request("stripe", secret, body=body,
                             timestamp=int(time.time()) - ago).headers)


def _github(secret: str, body: bytes = FORGED) -> dict[str, str]:
    return {"X-GitHub-Event": "push", "X-GitHub-Delivery": "d-1",
            **sign_request("github", secret, body=body).headers}


#: what a hostile sender posts to a Stripe bin (lab.secret(..., provider="stripe")):
#: (case, headers, body, words of the verify_reason the forward's error must name)
STRIPE_ATTACKS = [
    ("bogus signature", {"Stripe-Signature": "t=1,v1=deadbeef"}, FORGED, "signature mismatch"),
    ("no signature", {}, FORGED, "missing header Stripe-Signature"),
    ("another secret", _stripe(OTHER), FORGED, "signature mismatch"),
    ("replayed late", _stripe(SECRET, ago=600), FORGED, "old, beyond tolerance"),
    ("body swapped", _stripe(SECRET, body=b'{"id":"evt_real"}'), FORGED, "signature mismatch"),
    ("empty signature", {"Stripe-Signature": ""}, FORGED, "malformed Stripe-Signature"),
    ("v0 only", {"Stripe-Signature": f"t={int(time.time())},v0=00"}, FORGED, "no v1 signature"),
]

#: what a hostile sender posts to a bin registered without a provider (lab.secret(bin, S)):
#: it picks the provider by its headers
NO_PROVIDER_ATTACKS = [
    ("github header, no signature", {"X-GitHub-Event": "push"}, FORGED),
    ("github signed with another secret", _github(OTHER), FORGED),
    ("github header, bogus sha256", {"X-GitHub-Event": "push",
                                     "X-Hub-Signature-256": "sha256=" + "0" * 64}, FORGED),
    ("stripe bogus", {"Stripe-Signature": "t=1,v1=deadbeef"}, FORGED),
    ("svix bogus", {"svix-id": "msg_1", "svix-timestamp": str(int(time.time())),
                    "svix-signature": "v1,AAAA"}, FORGED),
    ("slack bogus", {"X-Slack-Request-Timestamp": str(int(time.time())),
                     "X-Slack-Signature": "v0=00"}, FORGED),
    ("nothing recognisable", {}, FORGED),
]


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("POST", parts.path, body, {**JSON, **headers})
        return conn.getresponse().status
    finally:
        conn.close()


def _forwards(lab: hooklab.HookLab, n: int) -> list[dict]:
    deadline = time.monotonic() + 15
    while len(lab.forwards()) < n and time.monotonic() < deadline:
        time.sleep(0.02)
    rows = lab.forwards()
    assert len(rows) == n, rows
    return rows


def _stripe_sdk_accepts(got: object) -> bool:
    stripe = pytest.importorskip("stripe")
    try:
        stripe.Webhook.construct_event(got.body, got.header("Stripe-Signature"), SECRET)
    except Exception:  # noqa: BLE001 - the SDK's refusal
        return False
    return True


def _github_check(got: object) -> bool:
    """GitHub's documented check: X-Hub-Signature-256 == sha256=HMAC-SHA256(secret, body)."""
    want = "sha256=" + hmac.new(SECRET.encode(), got.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(got.header("X-Hub-Signature-256") or "", want)


@pytest.mark.parametrize(("case", "headers", "body", "said"), STRIPE_ATTACKS,
                         ids=[a[0] for a in STRIPE_ATTACKS])
def test_a_forged_stripe_delivery_is_not_forwarded_re_signed(lab, case, headers, body, said) -> None:  # type: ignore[no-untyped-def]
    with Target() as app:
        lab.secret("stripe", SECRET, provider="stripe")
        lab.forward("stripe", to=app.url + "/webhook", resign=True)
        assert _post(lab.url_for("stripe"), body, headers) == 200
        (cap,) = lab.wait(1, timeout=10)
        (row,) = _forwards(lab, 1)
        # a genuine one after it still goes through, signed afresh (the forwarder is not stuck)
        assert _post(lab.url_for("stripe"), b'{"id":"evt_ok"}',
                     _stripe(SECRET, body=b'{"id":"evt_ok"}')) == 200
        rows = _forwards(lab, 2)
        (got,) = app.wait(1)
        time.sleep(0.2)
        received = list(app.received)
    assert cap.verified is False and said in cap.verify_reason, cap.verify_reason
    assert (row["capture_id"], row["status"]) == (cap.id, None)
    assert row["error"].startswith(f"not re-signed: capture #{cap.id}'s signature did not "
                                   "verify on arrival ("), row["error"]
    assert said in row["error"] and "not forwarded" in row["error"]
    assert SECRET not in row["error"]
    assert len(received) == 1 and received[0].body == b'{"id":"evt_ok"}'
    assert (rows[1]["status"], rows[1]["error"]) == (200, None)
    assert _stripe_sdk_accepts(got)


@pytest.mark.parametrize(("case", "headers", "body"), NO_PROVIDER_ATTACKS,
                         ids=[a[0] for a in NO_PROVIDER_ATTACKS])
def test_a_bin_without_a_provider_never_signs_as_the_sender_asks(lab, case, headers, body) -> None:  # type: ignore[no-untyped-def]
    with Target() as app:
        lab.secret("hook", SECRET)
        lab.forward("hook", to=app.url + "/webhook", resign=True)
        assert _post(lab.url_for("hook"), body, headers) == 200
        (cap,) = lab.wait(1, timeout=10)
        (row,) = _forwards(lab, 1)
        with pytest.raises(ValueError, match=rf"capture #{cap.id}'s signature did not verify"):
            lab.replay(cap, to=app.url + "/webhook", resign=True)
        time.sleep(0.2)
        received = list(app.received)
    assert cap.verified is False
    assert received == []
    assert row["status"] is None and row["error"].startswith("not re-signed: "), row


#: genuine deliveries to a bin without a provider: re-signed as the provider that verified
#: them, and checked at the app as that provider's docs say
GENUINE_NO_PROVIDER = [
    ("github", _github, "X-Hub-Signature-256", _github_check),
    ("stripe", _stripe, "Stripe-Signature", _stripe_sdk_accepts),
]


@pytest.mark.parametrize(("provider", "signed", "header", "check"), GENUINE_NO_PROVIDER,
                         ids=[g[0] for g in GENUINE_NO_PROVIDER])
def test_a_genuine_delivery_to_a_bin_without_a_provider_is_re_signed_as_it_verified(
        lab, provider, signed, header, check) -> None:  # type: ignore[no-untyped-def]
    body = b'{"id":"evt_genuine","n":1}'
    with Target() as app:
        lab.secret("hook", SECRET)
        lab.forward("hook", to=app.url + "/webhook", resign=True)
        assert _post(lab.url_for("hook"), body, signed(SECRET, body=body)) == 200
        (cap,) = lab.wait(1, timeout=10)
        (row,) = _forwards(lab, 1)
        (got,) = app.wait(1)
        (replayed,) = lab.replay(cap, to=app.url + "/webhook", resign=True)
        again = app.wait(2)[1]
    assert (cap.verified, cap.provider) == (True, provider)
    assert (row["status"], row["error"]) == (200, None)
    assert replayed.status == 200
    for sent in (got, again):
        assert sent.body == body and sent.header(header)
        assert check(sent), sent.headers


def test_replay_resign_true_refuses_an_unverified_capture_before_sending_anything(lab) -> None:  # type: ignore[no-untyped-def]
    with Target() as app:
        lab.secret("stripe", SECRET, provider="stripe")
        genuine = b'{"id":"evt_1"}'
        assert _post(lab.url_for("stripe"), genuine, _stripe(SECRET, body=genuine)) == 200
        for _, headers, body, _ in STRIPE_ATTACKS:
            assert _post(lab.url_for("stripe"), body, headers) == 200
        caps = lab.wait(1 + len(STRIPE_ATTACKS), timeout=10)
        good, bad = caps[0], caps[1:]
        for cap, (_, _, _, said) in zip(bad, STRIPE_ATTACKS, strict=True):
            with pytest.raises(ValueError) as exc:
                lab.replay([good, cap], to=app.url + "/webhook", resign=True)
            text = str(exc.value)
            assert f"capture #{cap.id}'s signature did not verify on arrival" in text, text
            assert said in text and "resign='<secret>'" in text and SECRET not in text
        time.sleep(0.2)
        assert app.received == []  # (the verified one in front was not sent either)
        # the user's own choice: an explicit secret signs the capture it is given
        (mine,) = lab.replay(bad[0], to=app.url + "/webhook", resign=SECRET)
        (given,) = lab.replay(bad[0], to=app.url + "/webhook", resign=Resign(SECRET, "stripe"))
        (ok,) = lab.replay(good, to=app.url + "/webhook", resign=True)
        got = app.wait(3)
    assert good.verified is True and (mine.status, given.status, ok.status) == (200, 200, 200)
    assert [g.body for g in got] == [FORGED, FORGED, genuine]
    assert all(_stripe_sdk_accepts(g) for g in got)


def test_a_capture_from_before_the_bin_had_a_secret_is_not_re_signed(lab) -> None:  # type: ignore[no-untyped-def]
    with Target() as app:
        assert _post(lab.url_for("stripe"), FORGED, {}) == 200
        (cap,) = lab.wait(1, timeout=10)
        lab.secret("stripe", SECRET, provider="stripe")
        with pytest.raises(ValueError, match=rf"capture #{cap.id} was not verified on arrival "
                                             r"\(no secret was registered for bin 'stripe'"):
            lab.replay(cap, to=app.url, resign=True)
        time.sleep(0.2)
        assert app.received == []
    assert cap.verified is None


@pytest.mark.parametrize("resign", [SECRET, Resign(SECRET, "stripe"), True],
                         ids=["secret", "Resign", "True"])
def test_a_forward_with_any_resign_sends_only_verified_deliveries(lab, resign) -> None:  # type: ignore[no-untyped-def]
    with Target() as app:
        lab.secret("stripe", SECRET, provider="stripe")
        lab.forward("stripe", to=app.url + "/webhook", resign=resign)
        for _, headers, body, _ in STRIPE_ATTACKS:
            assert _post(lab.url_for("stripe"), body, headers) == 200
        rows = _forwards(lab, len(STRIPE_ATTACKS))
        time.sleep(0.2)
        received = list(app.received)
    assert received == []
    assert all(r["status"] is None and r["error"].startswith("not re-signed: ") for r in rows)


@pytest.mark.parametrize("resign", [SECRET, Resign(SECRET, "stripe"), True],
                         ids=["secret", "Resign", "True"])
def test_forwarding_re_signed_needs_the_bin_s_secret(lab, resign) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="no secret is registered"):
        lab.forward("stripe", to="http://127.0.0.1:9/webhook", resign=resign)
