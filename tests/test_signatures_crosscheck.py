"""Cross-checks against the providers' official libraries, in both directions.

Their signatures verify with ours; ours verify with theirs. Each library is a test-only
dependency: the tests for one that is missing are skipped.
"""

from __future__ import annotations

import base64
import time
from datetime import datetime, timezone
from urllib.parse import parse_qs, urlencode

import pytest

from hooklab.signatures import sign, sign_request, verify_signature

BODIES = [
    b'{"id": "evt_1", "object": "event", "type": "invoice.paid"}',
    '{"name": "Zo\u00eb \u2603", "emoji": "\U0001f600"}'.encode(),
    b"{}",
    b"",
    b'  {"spaces": [1, 2, 3]}  \n',
]
WHSEC = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


# -- Stripe -------------------------------------------------------------------------------------
@pytest.mark.parametrize("body", BODIES)
def test_stripe_theirs_verify_with_ours(body):
    stripe = pytest.importorskip("stripe")
    header = stripe.WebhookSignature.generate_signature_header(body.decode(), "whsec_abc")
    v = verify_signature("stripe", "whsec_abc", {"Stripe-Signature": header}, body)
    assert v.valid, v.reason
    assert not verify_signature("stripe", "whsec_abd", {"Stripe-Signature": header}, body)


@pytest.mark.parametrize("body", BODIES)
def test_stripe_ours_verify_with_theirs(body):
    stripe = pytest.importorskip("stripe")
    header = sign("stripe", "whsec_abc", body)["Stripe-Signature"]
    assert stripe.WebhookSignature.verify_header(body, header, "whsec_abc", tolerance=300)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header(body + b" ", header, "whsec_abc", tolerance=300)


def test_stripe_agrees_on_stale_timestamp():
    stripe = pytest.importorskip("stripe")
    header = sign("stripe", "whsec_abc", b"{}", timestamp=int(time.time()) - 1000)
    with pytest.raises(stripe.SignatureVerificationError, match="tolerance"):
        stripe.WebhookSignature.verify_header(b"{}", header["Stripe-Signature"], "whsec_abc",
                                              tolerance=300)
    assert "old, beyond tolerance" in verify_signature("stripe", "whsec_abc", header, b"{}").reason


# -- Standard Webhooks --------------------------------------------------------------------------
@pytest.mark.parametrize("body", BODIES)
def test_standardwebhooks_theirs_verify_with_ours(body):
    sw = pytest.importorskip("standardwebhooks.webhooks")
    wh = sw.Webhook(WHSEC)
    now = datetime.now(tz=timezone.utc)
    headers = {"webhook-id": "msg_abc", "webhook-timestamp": str(int(now.timestamp())),
               "webhook-signature": wh.sign("msg_abc", now, body.decode())}
    v = verify_signature("standardwebhooks", WHSEC, headers, body)
    assert v.valid, v.reason


@pytest.mark.parametrize("body", BODIES)
def test_standardwebhooks_ours_verify_with_theirs(body):
    sw = pytest.importorskip("standardwebhooks.webhooks")
    headers = sign("standardwebhooks", WHSEC, body)
    sw.Webhook(WHSEC).verify(body, headers, json_parse=False)  # raises on failure
    with pytest.raises(sw.WebhookVerificationError):
        sw.Webhook(WHSEC).verify(body + b"x", headers, json_parse=False)


# -- Svix ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("body", BODIES)
def test_svix_theirs_verify_with_ours(body):
    svix = pytest.importorskip("svix.webhooks")
    now = datetime.now(tz=timezone.utc)
    headers = {"svix-id": "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
               "svix-timestamp": str(int(now.timestamp())),
               "svix-signature": svix.Webhook(WHSEC).sign("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
                                                           now, body.decode())}
    v = verify_signature("svix", WHSEC, headers, body)
    assert v.valid, v.reason
    assert verify_signature(None, WHSEC, headers, body).provider == "svix"


@pytest.mark.parametrize("body", BODIES)
def test_svix_ours_verify_with_theirs(body):
    svix = pytest.importorskip("svix.webhooks")
    headers = sign("svix", WHSEC, body)
    svix.Webhook(WHSEC).verify(body, headers)  # raises on failure
    with pytest.raises(svix.WebhookVerificationError):
        svix.Webhook(WHSEC).verify(body, {**headers, "svix-id": "msg_other"})


# -- Slack --------------------------------------------------------------------------------------
SLACK_BODIES = [b"token=x&team_id=T1&text=hello+world&command=%2Fhi", b'{"type": "event"}', b""]


@pytest.mark.parametrize("body", SLACK_BODIES)
def test_slack_theirs_verify_with_ours(body):
    sig = pytest.importorskip("slack_sdk.signature")
    ts = str(int(time.time()))
    signature = sig.SignatureVerifier("slack_secret").generate_signature(timestamp=ts, body=body)
    headers = {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}
    v = verify_signature("slack", "slack_secret", headers, body)
    assert v.valid, v.reason


@pytest.mark.parametrize("body", SLACK_BODIES)
def test_slack_ours_verify_with_theirs(body):
    sig = pytest.importorskip("slack_sdk.signature")
    headers = sign("slack", "slack_secret", body)
    verifier = sig.SignatureVerifier("slack_secret")
    assert verifier.is_valid_request(body, headers)
    assert not verifier.is_valid_request(body + b"&x=1", headers)
    old = sign("slack", "slack_secret", body, timestamp=int(time.time()) - 1000)
    assert not verifier.is_valid_request(body, old)
    assert not verify_signature("slack", "slack_secret", old, body)


# -- Twilio -------------------------------------------------------------------------------------
TWILIO_URLS = [
    "https://example.com/sms",
    "https://example.com/sms?foo=1&bar=2",
    "https://example.com:8443/voice/status?x=%20y",
]
TWILIO_FORMS = [
    {"MessageSid": "SM1", "From": "+14155550100", "Body": "Hello & good bye = ok"},
    {"CallSid": "CA1", "Digits": "", "Caller": "+1 (415) 555"},
    {},
]


@pytest.mark.parametrize("url", TWILIO_URLS)
@pytest.mark.parametrize("params", TWILIO_FORMS)
def test_twilio_form_both_directions(url, params):
    rv = pytest.importorskip("twilio.request_validator")
    validator = rv.RequestValidator("auth_token")
    body = urlencode(params).encode()
    ct = {"Content-Type": "application/x-www-form-urlencoded"}
    # ours -> theirs
    ours = sign("twilio", "auth_token", body, url=url, headers=ct)["X-Twilio-Signature"]
    assert validator.validate(url, params, ours)
    assert not validator.validate(url, {**params, "Extra": "1"}, ours)
    # theirs -> ours
    theirs = validator.compute_signature(url, params)
    v = verify_signature("twilio", "auth_token", {**ct, "X-Twilio-Signature": theirs}, body,
                         url=url)
    assert v.valid, v.reason


def test_twilio_repeated_params_match_querydict_semantics():
    rv = pytest.importorskip("twilio.request_validator")

    class QueryDict(dict):  # what Django hands the validator
        def getlist(self, name):
            return self[name]

    body = b"To=%2B1&Media=b&Media=a&Media=b"
    params = QueryDict(parse_qs(body.decode()))
    url = TWILIO_URLS[1]
    ct = {"Content-Type": "application/x-www-form-urlencoded"}
    ours = sign("twilio", "tok", body, url=url, headers=ct)["X-Twilio-Signature"]
    assert rv.RequestValidator("tok").validate(url, params, ours)


@pytest.mark.parametrize("url", TWILIO_URLS)
@pytest.mark.parametrize("body", [b'{"MessageSid": "SM1", "Body": "hi"}', b"[1, 2]"])
def test_twilio_json_both_directions(url, body):
    rv = pytest.importorskip("twilio.request_validator")
    validator = rv.RequestValidator("auth_token")
    ct = {"Content-Type": "application/json"}
    # ours -> theirs: the URL carries bodySHA256
    req = sign_request("twilio", "auth_token", url=url, body=body, headers=ct)
    assert "bodySHA256=" in req.url
    assert validator.validate(req.url, body.decode(), req.headers["X-Twilio-Signature"])
    assert not validator.validate(req.url, body.decode() + " ", req.headers["X-Twilio-Signature"])
    # theirs -> ours
    signed_url = req.url
    theirs = validator.compute_signature(signed_url, {})
    v = verify_signature("twilio", "auth_token", {**ct, "X-Twilio-Signature": theirs}, body,
                         url=signed_url)
    assert v.valid, v.reason


def test_twilio_hmac_sha256_both_directions():
    rv = pytest.importorskip("twilio.request_validator")
    if not hasattr(rv, "HMAC_SHA256"):
        pytest.skip("this twilio version has no SharedKey HMAC_SHA256 support")
    url, params = TWILIO_URLS[1], TWILIO_FORMS[0]
    body = urlencode(params).encode()
    hdrs = {"Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Webhooks-Signature-Settings": "key=ks_1,algorithm=HMAC_SHA256"}
    ours = sign("twilio", "shared", body, url=url, headers=hdrs)["X-Twilio-Signature"]
    assert rv.RequestValidator("shared").validate(url, params, ours, algorithm=rv.HMAC_SHA256)
    theirs = rv.RequestValidator("shared").compute_signature(url, params, rv.HMAC_SHA256)
    assert verify_signature("twilio", "shared", {**hdrs, "X-Twilio-Signature": theirs}, body,
                            url=url)
