"""hooklab against the providers' official SDKs from PyPI, both directions where the SDK can
sign (SDK signs -> hooklab verifies; hooklab signs -> SDK verifies), and the worked examples
the SDKs' own test suites publish. Stripe, Standard Webhooks, Svix, Slack and Twilio are in
test_signatures_crosscheck.py."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import warnings
from urllib.parse import parse_qsl, urlencode

import pytest
from _provider_secrets import secrets_for

from hooklab.providers import sample
from hooklab.signatures import sign_request, verify_signature

warnings.filterwarnings("ignore", category=DeprecationWarning)

URL = "https://hooks.example.com/in/abc?x=1"


def signed(provider: str, event: str | None = None, **kw):
    """A fresh sample of ``provider`` signed by hooklab: (sample, request, headers dict)."""
    s = sample(provider, event)
    sk = kw.pop("secret", secrets_for(provider)[0])
    req = sign_request(provider, sk, url=kw.pop("url", URL), body=s.body,
                       headers=dict(s.headers), msg_id=s.msg_id, params=s.params, **kw)
    names = {k.lower() for k in req.headers}
    headers = {**{k: v for k, v in s.headers if k.lower() not in names}, **req.headers}
    return s, req, headers


def tampered(body: bytes) -> bytes:
    i = len(body) // 2
    return body[:i] + bytes([body[i] ^ 1]) + body[i + 1:]


def ours(provider: str, secret, headers, body: bytes, url: str | None = URL, **kw):
    return verify_signature(provider, secret, headers, body, url=url, **kw)


# -- SendGrid (ECDSA P-256) ------------------------------------------------------------------
SENDGRID = {  # sendgrid-python test/unit/test_eventwebhook.py
    "key": "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g==",
    "sig": "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM=",
    "ts": "1600112502",
    "events": [{"email": "hello@world.com", "event": "dropped", "reason": "Bounced Address",
                "sg_event_id": "ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA",
                "sg_message_id": "LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0",
                "smtp-id": "<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>",
                "timestamp": 1600112492}],
}


def test_sendgrid_sdk_vector_and_both_directions():
    sg = pytest.importorskip("sendgrid.helpers.eventwebhook")
    body = (json.dumps(SENDGRID["events"], sort_keys=True, separators=(",", ":")) + "\r\n").encode()
    headers = {"X-Twilio-Email-Event-Webhook-Signature": SENDGRID["sig"],
               "X-Twilio-Email-Event-Webhook-Timestamp": SENDGRID["ts"]}
    assert ours("sendgrid", SENDGRID["key"], headers, body, now=int(SENDGRID["ts"]))
    assert not ours("sendgrid", SENDGRID["key"], headers, body[:-2], now=int(SENDGRID["ts"]))
    ew = sg.EventWebhook(SENDGRID["key"])
    assert ew.verify_signature(body.decode(), SENDGRID["sig"], SENDGRID["ts"])
    # hooklab signs, the SDK verifies (and refuses a changed byte)
    sk, vk = secrets_for("sendgrid")
    s, req, h = signed("sendgrid")
    ew = sg.EventWebhook(vk)
    args = (h["X-Twilio-Email-Event-Webhook-Signature"], h["X-Twilio-Email-Event-Webhook-Timestamp"])
    assert ew.verify_signature(req.body.decode(), *args)
    assert not ew.verify_signature(tampered(req.body).decode(), *args)


# -- Square ------------------------------------------------------------------------------------
SQUARE = {  # square-python-sdk tests/utilities/test_webhooks_helper.py
    "body": '{"merchant_id":"MLEFBHHSJGVHD","type":"webhooks.test_notification","event_id":"ac3ac95b-f97d-458c-a6e6-18981597e05f","created_at":"2022-07-13T20:30:59.037339943Z","data":{"type":"webhooks","id":"bc368e64-01aa-407e-b46e-3231809b1129"}}',
    "sig": "GF4YkrJgGBDZ9NIYbNXBnMzqb2HoL4RW/S6vkZ9/2N4=", "key": "Ibxx_5AKakO-3qeNVR61Dw",
    "url": "https://webhook.site/679a4f3a-dcfa-49ee-bac5-9d0edad886b9",
}


def test_square_sdk_vector_and_both_directions():
    sq = pytest.importorskip("square.utils.webhooks_helper")
    v = ours("square", SQUARE["key"], {"x-square-hmacsha256-signature": SQUARE["sig"]},
             SQUARE["body"].encode(), url=SQUARE["url"])
    assert v.valid, v.reason
    assert sq.verify_signature(request_body=SQUARE["body"], signature_header=SQUARE["sig"],
                               signature_key=SQUARE["key"], notification_url=SQUARE["url"])
    s, req, h = signed("square")
    kw = dict(signature_key=secrets_for("square")[0], notification_url=URL,
              signature_header=h["x-square-hmacsha256-signature"])
    assert sq.verify_signature(request_body=req.body.decode(), **kw)
    assert not sq.verify_signature(request_body=tampered(req.body).decode(), **kw)


# -- HubSpot -----------------------------------------------------------------------------------
HUBSPOT = {  # hubspot-api-python tests/spec/utils/test_signature.py
    "secret": "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy", "body": "{'example_field':'example_value'}",
    "url": "https://www.example.com/webhook_uri", "ts": "15000000",
    "v1": "69fc6631a867edd4f9e9e627fc5c1148e3fbdd8b21837b6d2b8901c1fa57f750",
    "v2": "4fe4e3a7d3cf09db53be39d0a58130e2aaba074ec123a9e355b876a689a1c383",
    "v3": "HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw=",
}


def test_hubspot_sdk_vectors_and_both_directions():
    sig_mod = pytest.importorskip("hubspot.utils.signature")
    e, body = HUBSPOT, HUBSPOT["body"].encode()
    v3 = {"X-HubSpot-Signature-v3": e["v3"], "X-HubSpot-Request-Timestamp": e["ts"]}
    assert ours("hubspot", e["secret"], v3, body, url=e["url"], now=15000).reason == "ok"
    for version in ("v1", "v2"):
        h = {"X-HubSpot-Signature": e[version], "X-HubSpot-Signature-Version": version}
        assert ours("hubspot", e["secret"], h, body, url=e["url"]), version
    # the SDK signs (v3, now), hooklab verifies; hooklab signs, the SDK verifies
    sig = sig_mod.Signature
    ts = str(int(time.time() * 1000))
    theirs = sig.get_signature(e["secret"], e["body"], "v3", e["url"], "POST", ts)
    assert ours("hubspot", e["secret"], {"X-HubSpot-Signature-v3": theirs,
                                         "X-HubSpot-Request-Timestamp": ts}, body, url=e["url"])
    s, req, h = signed("hubspot", secret=e["secret"])
    args = dict(client_secret=e["secret"], http_uri=URL, http_method="POST",
                signature_version="v3", timestamp=h["X-HubSpot-Request-Timestamp"])
    assert sig.is_valid(h["X-HubSpot-Signature-v3"], request_body=req.body.decode(), **args)
    assert not sig.is_valid(h["X-HubSpot-Signature-v3"],
                            request_body=tampered(req.body).decode(), **args)


# -- Adyen -------------------------------------------------------------------------------------
ADYEN_KEY = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"
ADYEN_ITEM = {  # adyen-python-api-library test/UtilTest.py
    "pspReference": "7914073381342284", "merchantReference": "TestPayment-1407325143704",
    "merchantAccountCode": "TestMerchant", "amount": {"currency": "EUR", "value": 1130},
    "eventCode": "AUTHORISATION", "success": "true", "eventDate": "2019-05-06T17:15:34.121+02:00",
    "operations": ["CANCEL", "CAPTURE", "REFUND"], "paymentMethod": "visa",
}


def test_adyen_sdk_vector_and_both_directions():
    util = pytest.importorskip("Adyen.util")
    item = {**ADYEN_ITEM, "additionalData": {"hmacSignature": "coqCmt/IZ4E3CzPvMY8zTjQVL5hYJUiBRg8UU+iCWo0="}}
    body = json.dumps({"live": "false", "notificationItems": [{"NotificationRequestItem": item}]})
    assert ours("adyen", ADYEN_KEY, {}, body.encode()).reason == "ok"
    assert util.generate_notification_sig(ADYEN_ITEM, ADYEN_KEY).decode() == \
        item["additionalData"]["hmacSignature"]
    # hooklab signs -> SDK verifies; header variant (is_valid_hmac_payload) both ways
    s, req, _ = signed("adyen", secret=ADYEN_KEY)
    assert util.is_valid_hmac_notification(json.loads(req.body), ADYEN_KEY)
    bad = json.loads(req.body)
    bad["notificationItems"][0]["NotificationRequestItem"]["amount"]["value"] += 1
    assert not util.is_valid_hmac_notification(bad, ADYEN_KEY)
    assert not ours("adyen", ADYEN_KEY, {}, json.dumps(bad).encode())
    payload = b'{"type":"merchant.created","environment":"test"}'
    theirs = util.generate_payload_sig(payload, ADYEN_KEY).decode()
    assert ours("adyen", ADYEN_KEY, {"HmacSignature": theirs}, payload)
    mine = sign_request("adyen", ADYEN_KEY, body=payload).headers["HmacSignature"]
    assert util.is_valid_hmac_payload(mine, ADYEN_KEY, payload)


# -- Paddle ------------------------------------------------------------------------------------
def test_paddle_sdk_both_directions():
    ps = pytest.importorskip("paddle_billing.Notifications.PaddleSignature")
    from paddle_billing.Notifications.Secret import Secret

    secret = "pdl_ntfset_01hsdn8d43dt7mezr1ef2jtbaw_hKkRiCGyyRhbFwIUuqiTBgI7gnWoV0Gr"
    s, req, h = signed("paddle", secret=secret)
    sig = ps.PaddleSignature()
    assert sig.verify(h["Paddle-Signature"], req.body.decode(), Secret(secret))
    assert not sig.verify(h["Paddle-Signature"], tampered(req.body).decode(), Secret(secret))
    ts = str(int(time.time()))
    theirs = ps.PaddleSignature.calculate_hmac(secret, f"{ts}:".encode() + req.body).hexdigest()
    v = ours("paddle", secret, {"Paddle-Signature": f"ts={ts};h1={theirs}"}, req.body)
    assert v.reason == "ok"


# -- Razorpay, Coinbase Commerce, GoCardless, EasyPost (HMAC of the body) ------------------------
def test_razorpay_sdk_both_directions():
    razorpay = pytest.importorskip("razorpay")
    from razorpay.errors import SignatureVerificationError

    secret = secrets_for("razorpay")[0]
    s, req, h = signed("razorpay")
    util = razorpay.Utility(razorpay.Client(auth=("key_id", "key_secret")))
    assert util.verify_webhook_signature(req.body.decode(), h["X-Razorpay-Signature"], secret)
    with pytest.raises(SignatureVerificationError):
        util.verify_webhook_signature(tampered(req.body).decode(), h["X-Razorpay-Signature"], secret)


def test_coinbase_commerce_sdk_both_directions():
    wh = pytest.importorskip("coinbase_commerce.webhook")
    from coinbase_commerce.error import SignatureVerificationError

    secret = secrets_for("coinbase")[0]
    s, req, h = signed("coinbase")
    event = wh.Webhook.construct_event(req.body.decode(), h["X-CC-Webhook-Signature"], secret)
    assert event["type"] == s.data["event"]["type"]
    with pytest.raises(SignatureVerificationError):
        wh.WebhookSignature.verify_sig_header(tampered(req.body).decode(),
                                              h["X-CC-Webhook-Signature"], secret)


def test_gocardless_sdk_both_directions():
    gc = pytest.importorskip("gocardless_pro.webhooks")
    from gocardless_pro.errors import InvalidSignatureError

    secret = secrets_for("gocardless")[0]
    s, req, h = signed("gocardless")
    events = gc.parse(req.body.decode(), secret, h["Webhook-Signature"])
    assert events[0].action == s.data["events"][0]["action"]
    with pytest.raises(InvalidSignatureError):
        gc.parse(tampered(req.body).decode(), secret, h["Webhook-Signature"])


def test_easypost_sdk_both_directions():
    util = pytest.importorskip("easypost.util")
    from easypost.errors import SignatureVerificationError

    secret = "sécret-ﬁ"  # EasyPost normalises the secret (NFKD) before using it
    s, req, h = signed("easypost", secret=secret)
    assert util.validate_webhook(req.body, h, secret)["description"] == s.event
    with pytest.raises(SignatureVerificationError):
        util.validate_webhook(tampered(req.body), h, secret)


# -- timestamped HMAC: WorkOS, ElevenLabs, Box, Pusher ------------------------------------------
def test_workos_sdk_both_directions():
    ver = pytest.importorskip("workos.webhooks._verification")
    secret = secrets_for("workos")[0]
    s, req, h = signed("workos")
    ver.verify_header(event_body=req.body, event_signature=h["WorkOS-Signature"], secret=secret)
    with pytest.raises(ValueError):
        ver.verify_header(event_body=tampered(req.body), event_signature=h["WorkOS-Signature"],
                          secret=secret)


def test_elevenlabs_sdk_both_directions():
    wc = pytest.importorskip("elevenlabs.webhooks_custom")
    from elevenlabs.errors import BadRequestError

    secret = secrets_for("elevenlabs")[0]
    s, req, h = signed("elevenlabs")
    client = wc.WebhooksClient.__new__(wc.WebhooksClient)  # no API client needed to verify
    assert client.construct_event(req.body.decode(), h["ElevenLabs-Signature"], secret) == s.data
    with pytest.raises(BadRequestError):
        client.construct_event(tampered(req.body).decode(), h["ElevenLabs-Signature"], secret)


def test_box_sdk_both_directions():
    mgr = pytest.importorskip("box_sdk_gen.managers.webhooks")
    from box_sdk_gen.internal.utils import compute_webhook_signature

    secret = secrets_for("box")[0]
    s, req, h = signed("box")
    lower = {k.lower(): v for k, v in h.items()}
    assert mgr.WebhooksManager.validate_message(req.body.decode(), lower, secret)
    assert not mgr.WebhooksManager.validate_message(tampered(req.body).decode(), lower, secret)
    # the SDK's own signature computation, verified by hooklab
    theirs = compute_webhook_signature(req.body.decode(), lower, secret)
    assert ours("box", secret, {**h, "BOX-SIGNATURE-PRIMARY": theirs}, req.body)


def test_pusher_sdk_both_directions():
    pusher = pytest.importorskip("pusher")
    secret = secrets_for("pusher")[0]
    s, req, h = signed("pusher")
    client = pusher.Pusher(app_id="1", key="app-key", secret=secret, cluster="eu")
    got = client.validate_webhook("app-key", h["X-Pusher-Signature"], req.body.decode())
    assert got is not None and got["events"] == s.data["events"]
    assert client.validate_webhook("app-key", h["X-Pusher-Signature"],
                                   tampered(req.body).decode()) is None
    from pusher.signature import sign as pusher_sign

    theirs = pusher_sign(secret, req.body.decode())
    assert ours("pusher", secret, {"X-Pusher-Signature": theirs}, req.body)


# -- Standard Webhooks family: OpenAI, Resend, Replicate, Polar -----------------------------------
def test_openai_sdk_both_directions():
    openai = pytest.importorskip("openai")
    secret = secrets_for("openai")[0]
    s, req, h = signed("openai")
    client = openai.OpenAI(api_key="sk-test", webhook_secret=secret)
    event = client.webhooks.unwrap(req.body.decode(), h)
    assert event.type == s.event
    with pytest.raises(openai.InvalidWebhookSignatureError):
        client.webhooks.verify_signature(tampered(req.body).decode(), h)


def test_resend_sdk_both_directions():
    resend = pytest.importorskip("resend")
    secret = secrets_for("resend")[0]
    s, req, h = signed("resend")
    hdrs = {"id": h["svix-id"], "timestamp": h["svix-timestamp"], "signature": h["svix-signature"]}
    got = resend.Webhooks.verify({"payload": req.body.decode(), "headers": hdrs,
                                  "webhook_secret": secret})
    assert got["type"] == s.event
    with pytest.raises(ValueError):
        resend.Webhooks.verify({"payload": tampered(req.body).decode(), "headers": hdrs,
                                "webhook_secret": secret})


def test_replicate_sdk_both_directions():
    webhook = pytest.importorskip("replicate.webhook")
    secret = secrets_for("replicate")[0]
    s, req, h = signed("replicate")
    key = webhook.WebhookSigningSecret(key=secret)
    webhook.Webhooks.validate(headers=h, body=req.body.decode(), secret=key)
    with pytest.raises(webhook.InvalidSignatureError):
        webhook.Webhooks.validate(headers=h, body=tampered(req.body).decode(), secret=key)


def test_polar_sdk_both_directions():
    polar = pytest.importorskip("polar.webhooks")
    secret = secrets_for("polar")[0]
    s, req, h = signed("polar")
    got = polar.validate_event(req.body, h, secret, frozenset({s.event}), lambda d: d)
    assert got["type"] == s.event
    with pytest.raises(polar.PolarWebhookVerificationError):
        polar.validate_event(tampered(req.body), h, secret, frozenset({s.event}), lambda d: d)


# -- public keys: Discord (PyNaCl), Telnyx -------------------------------------------------------
def test_discord_interactions_sdk_both_directions():
    di = pytest.importorskip("discord_interactions")
    from nacl.signing import SigningKey

    sk, vk = secrets_for("discord")
    s, req, h = signed("discord")
    args = (h["X-Signature-Ed25519"], h["X-Signature-Timestamp"], vk)
    assert di.verify_key(req.body, *args)
    assert not di.verify_key(tampered(req.body), *args)
    # signed with PyNaCl (the library discord-interactions uses), verified by hooklab
    key = SigningKey.generate()
    ts = str(int(time.time()))
    sig = key.sign(ts.encode() + req.body).signature.hex()
    pub = key.verify_key.encode().hex()
    headers = {"X-Signature-Ed25519": sig, "X-Signature-Timestamp": ts}
    assert ours("discord", pub, headers, req.body).reason == "ok"


def test_telnyx_sdk_both_directions():
    tv = pytest.importorskip("telnyx.lib.webhook_verification")
    from nacl.signing import SigningKey

    sk, vk = secrets_for("telnyx")
    s, req, h = signed("telnyx")
    tv.verify_webhook_signature(req.body, h, vk)
    with pytest.raises(tv.WebhookVerificationError):
        tv.verify_webhook_signature(tampered(req.body), h, vk)
    key = SigningKey.generate()
    ts = str(int(time.time()))
    sig = base64.b64encode(key.sign(f"{ts}|".encode() + req.body).signature).decode()
    pub = base64.b64encode(key.verify_key.encode()).decode()
    assert ours("telnyx", pub, {"telnyx-signature-ed25519": sig, "telnyx-timestamp": ts}, req.body)


# -- in-body and URL-signed: Mailgun, Braintree, Plivo --------------------------------------------
def test_mailgun_sdk_both_directions():
    sec = pytest.importorskip("mailgun.security")
    secret = secrets_for("mailgun")[0]
    s, req, h = signed("mailgun")
    sig = json.loads(req.body)["signature"]
    assert sec.SecurityGuard.verify_webhook(secret, sig["token"], sig["timestamp"], sig["signature"])
    assert not sec.SecurityGuard.verify_webhook(secret, sig["token"] + "x", sig["timestamp"],
                                                sig["signature"])


def test_braintree_sdk_both_directions():
    braintree = pytest.importorskip("braintree")
    gateway = braintree.BraintreeGateway(braintree.Configuration(
        braintree.Environment.Sandbox, merchant_id="m", public_key="pubkey123",
        private_key="privkey-456"))
    # the SDK makes a signed sample notification; hooklab verifies it
    theirs = gateway.webhook_testing.sample_notification(
        braintree.WebhookNotification.Kind.SubscriptionChargedSuccessfully, "sub_1")
    body = urlencode(theirs).encode()
    ct = {"Content-Type": "application/x-www-form-urlencoded"}
    assert ours("braintree", "pubkey123:privkey-456", ct, body).reason == "ok"
    assert not ours("braintree", "pubkey123:another", ct, body)
    # hooklab signs; the SDK parses it
    s, req, h = signed("braintree", secret="pubkey123:privkey-456")
    form = dict(parse_qsl(req.body.decode()))
    note = gateway.webhook_notification.parse(form["bt_signature"], form["bt_payload"])
    assert note.kind == s.event
    with pytest.raises(braintree.exceptions.InvalidSignatureError):
        gateway.webhook_notification.parse(form["bt_signature"],
                                           form["bt_payload"].replace("A", "B", 1))


def test_plivo_sdk_both_directions():
    utils = pytest.importorskip("plivo.utils")
    secret = secrets_for("plivo")[0]
    s, req, h = signed("plivo")
    args = (URL, h["X-Plivo-Signature-V2-Nonce"], h["X-Plivo-Signature-V2"], secret)
    assert utils.validate_signature(*args)
    assert not utils.validate_signature("https://hooks.example.com/other", *args[1:])


@pytest.mark.parametrize("method,url,body", [
    ("POST", "https://hooks.example.com/plivo/answer", b"From=1&To=2&CallUUID=abc&To=0"),
    ("POST", "https://hooks.example.com/plivo/answer?x=1&a=2", b"From=1&To=2"),
    ("POST", "https://hooks.example.com/plivo/answer?x=1", b""),
    ("GET", "https://hooks.example.com/plivo/answer?x=1&a=2&a=0", b""),
    ("GET", "https://hooks.example.com/plivo/answer", b""),
    ("POST", "https://hooks.example.com/p?b=1", b'{"a": 1, "b": {"c": "d"}, "e": [2, 1], "f": true}'),
])
def test_plivo_v3_sdk_both_directions(method, url, body):
    """Plivo's V3 signature (URL with its query and the POST parameters sorted, "." nonce):
    a delivery carrying only V3 was stored unverified ("missing header X-Plivo-Signature-V2")."""
    from urllib.parse import parse_qs

    sv3 = pytest.importorskip("plivo.utils.signature_v3")
    secret = secrets_for("plivo")[0]
    ctype = "application/json" if body.startswith(b"{") else "application/x-www-form-urlencoded"
    params = json.loads(body) if body.startswith(b"{") else {
        k: v[0] if len(v) == 1 else v for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
    # hooklab signs, the SDK checks
    req = sign_request("plivo", secret, url=url, body=body, method=method, headers={"Content-Type": ctype})
    h = req.headers
    nonce = h["X-Plivo-Signature-V3-Nonce"]
    assert sv3.validate_v3_signature(method, url, nonce, secret, h["X-Plivo-Signature-V3"], dict(params))
    # the SDK signs (its own message and HMAC), hooklab checks a delivery carrying V3 only
    message = (sv3.construct_get_url(url, dict(params)) if method == "GET"
               else sv3.construct_post_url(url, dict(params))).decode()
    theirs = sv3.get_signature_v3(secret.encode(), message, nonce.encode()).decode()
    v3 = {"Content-Type": ctype, "X-Plivo-Signature-V3": f"other,{theirs}",
          "X-Plivo-Signature-V3-Nonce": nonce}
    assert ours("plivo", secret, v3, body, url=url, method=method).reason.startswith("ok")
    if method == "POST":  # (a GET signs its URL only)
        assert not ours("plivo", secret, v3, body + b"&x=1" if body else b"x=1", url=url, method=method)
    assert not ours("plivo", secret, v3, body, url=url + ("&" if "?" in url else "?") + "y=2",
                    method=method)
    assert not ours("plivo", secret, v3, body, url=url.replace("hooks.", "other."), method=method)


# -- JWTs (PyJWT: what Plaid, Netlify, FusionAuth and monday.com document) ----------------------
def test_jwt_providers_against_pyjwt():
    jwt = pytest.importorskip("jwt")
    for provider, header, alg in (("netlify", "X-Webhook-Signature", "HS256"),
                                  ("fusionauth", "X-FusionAuth-Signature-JWT", "HS256"),
                                  ("monday", "Authorization", "HS256"),
                                  ("plaid", "Plaid-Verification", "ES256")):
        sk, vk = secrets_for(provider)
        s, req, h = signed(provider)
        key = jwt.PyJWK.from_json(vk).key if provider == "plaid" else vk
        claims = jwt.decode(h[header], key, algorithms=[alg], options={"verify_aud": False})
        digest = hashlib.sha256(req.body).digest()
        if provider in ("netlify", "plaid"):
            field = "sha256" if provider == "netlify" else "request_body_sha256"
            assert claims[field] == digest.hex()
        elif provider == "fusionauth":
            assert claims["request_body_sha256"] == base64.b64encode(digest).decode()
        # a JWT made by PyJWT, verified by hooklab
        mine = {"iat": int(time.time()), "iss": "netlify", "exp": int(time.time()) + 60}
        if provider == "netlify":
            mine["sha256"] = digest.hex()
        elif provider == "plaid":
            mine["request_body_sha256"] = digest.hex()
        elif provider == "fusionauth":
            mine["request_body_sha256"] = base64.b64encode(digest).decode()
        token = jwt.encode(mine, sk if provider != "plaid" else _pem_key(sk), algorithm=alg)
        v = ours(provider, vk, {header: token}, req.body)
        assert v.valid, (provider, v.reason)
        assert not ours(provider, vk, {header: token}, tampered(req.body)) or provider == "monday"


def _pem_key(pem: str):
    from cryptography.hazmat.primitives import serialization

    return serialization.load_pem_private_key(pem.encode(), password=None)


def test_the_hmac_formula_of_the_rest_matches_a_direct_computation():
    """Providers without a Python SDK: hooklab's header equals the documented formula
    computed here with the standard library (docs URL in the provider table)."""
    key = b"s3cret"
    body = b'{"id":"evt_1","type":"x"}'
    cases = {
        "github": ("X-Hub-Signature-256", "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()),
        "shopify": ("X-Shopify-Hmac-Sha256", base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()),
        "vercel": ("x-vercel-signature", hmac.new(key, body, hashlib.sha1).hexdigest()),
        "terraform": ("X-TFE-Notification-Signature", hmac.new(key, body, hashlib.sha512).hexdigest()),
        "typeform": ("Typeform-Signature", "sha256=" + base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()),
        "intercom": ("X-Hub-Signature", "sha1=" + hmac.new(key, body, hashlib.sha1).hexdigest()),
        "helpscout": ("X-HelpScout-Signature", base64.b64encode(hmac.new(key, body, hashlib.sha1).digest()).decode()),
        "heroku": ("Heroku-Webhook-Hmac-SHA256", base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()),
        "x": ("x-twitter-webhooks-signature", "sha256=" + base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()),
    }
    for provider, (header, expected) in cases.items():
        assert sign_request(provider, key, body=body).headers[header] == expected, provider
    ts = 1_700_000_000
    stamped = {
        "calendly": ("Calendly-Webhook-Signature", f"t={ts},v1=" + hmac.new(key, f"{ts}.".encode() + body, hashlib.sha256).hexdigest()),
        "tiktok": ("Tiktok-Signature", f"t={ts},s=" + hmac.new(key, f"{ts}.".encode() + body, hashlib.sha256).hexdigest()),
        "webflow": ("x-webflow-signature", hmac.new(key, f"{ts * 1000}:".encode() + body, hashlib.sha256).hexdigest()),
        "customerio": ("X-CIO-Signature", hmac.new(key, f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()),
        "recurly": ("recurly-signature", f"{ts * 1000}," + hmac.new(key, f"{ts * 1000}.".encode() + body, hashlib.sha256).hexdigest()),
        "sanity": ("sanity-webhook-signature", f"t={ts * 1000},v1=" + base64.urlsafe_b64encode(hmac.new(key, f"{ts * 1000}.".encode() + body, hashlib.sha256).digest()).rstrip(b"=").decode()),
    }
    for provider, (header, expected) in stamped.items():
        assert sign_request(provider, key, body=body, timestamp=ts).headers[header] == expected, provider
