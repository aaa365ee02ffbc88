"""Signature rules pinned by expected values: each test kills mutants that survived the suite.

Found by ``tools/mutate.py`` over ``hooklab/signatures/`` (tests/reliability/README.md,
"Mutation score"). Expected signatures are recomputed here with ``hmac``/``hashlib`` from the
providers' documented recipes, never with hooklab's own signing code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from urllib.parse import parse_qs

import pytest
from _jwt import b64url as _b64url
from _jwt import hs256_jwt as _monday_jwt

from hooklab.signatures import keypair, sign_request, verify_signature

NOW = 1_700_000_000
SECRET = "s3cret-token"


# -- HubSpot v3: the URL is signed with 12 percent-escapes decoded -----------------------------
# https://developers.hubspot.com/docs/api/webhooks/validating-requests: "decode the URL-encoded
# characters" listed there; every other escape is signed as sent.
HUBSPOT_DECODED = [("%3A", ":"), ("%2F", "/"), ("%3F", "?"), ("%40", "@"), ("%21", "!"),
                   ("%24", "$"), ("%27", "'"), ("%28", "("), ("%29", ")"), ("%2A", "*"),
                   ("%2C", ","), ("%3B", ";")]


def _hubspot_v3(secret: str, method: str, uri: str, body: bytes, ts_ms: str) -> str:
    msg = method.encode() + uri.encode() + body + ts_ms.encode()
    return base64.b64encode(hmac.new(secret.encode(), msg, hashlib.sha256).digest()).decode()


@pytest.mark.parametrize("escape,char", HUBSPOT_DECODED + [(e.lower(), c) for e, c in
                                                           HUBSPOT_DECODED])
def test_hubspot_v3_signs_the_url_with_listed_escapes_decoded(escape: str, char: str) -> None:
    body = b'[{"eventId": 1}]'
    ts = str(NOW * 1000)
    sent = f"https://hooks.example.com/hubspot?redirect=a{escape}b"
    signed_by_hubspot = f"https://hooks.example.com/hubspot?redirect=a{char}b"
    headers = {"X-HubSpot-Signature-v3": _hubspot_v3(SECRET, "POST", signed_by_hubspot, body, ts),
               "X-HubSpot-Request-Timestamp": ts}
    v = verify_signature("hubspot", SECRET, headers, body, url=sent, now=NOW)
    assert (v.valid, v.reason) == (True, "ok")


def test_hubspot_v3_keeps_other_escapes_as_sent() -> None:
    body = b"[]"
    ts = str(NOW * 1000)
    sent = "https://hooks.example.com/hubspot?q=a%20b%3Dc"
    good = {"X-HubSpot-Signature-v3": _hubspot_v3(SECRET, "POST", sent, body, ts),
            "X-HubSpot-Request-Timestamp": ts}
    assert verify_signature("hubspot", SECRET, good, body, url=sent, now=NOW).reason == "ok"
    decoded = {"X-HubSpot-Signature-v3": _hubspot_v3(SECRET, "POST",
                                                     "https://hooks.example.com/hubspot?q=a b=c",
                                                     body, ts),
               "X-HubSpot-Request-Timestamp": ts}
    v = verify_signature("hubspot", SECRET, decoded, body, url=sent, now=NOW)
    assert not v.valid and v.reason.startswith("signature mismatch")


# -- shared tokens: "Bearer <token>" only where the token travels in Authorization --------------
TOKEN_CASES = [
    # provider, header, value, valid
    ("okta", "Authorization", SECRET, True),
    ("okta", "Authorization", f"Bearer {SECRET}", True),
    ("okta", "Authorization", f"bearer   {SECRET} ", True),
    ("okta", "Authorization", "Bearer wrong-token", False),
    ("okta", "Authorization", f"Basic {SECRET}", False),
    ("auth0", "Authorization", f"Bearer {SECRET}", True),
    ("eventgrid", "Authorization", f"BEARER {SECRET}", True),
    ("gitlab", "X-Gitlab-Token", SECRET, True),
    ("gitlab", "X-Gitlab-Token", f"Bearer {SECRET}", False),
    ("deepgram", "dg-token", f"Bearer {SECRET}", False),
]


@pytest.mark.parametrize("provider,header,value,valid", TOKEN_CASES)
def test_bearer_form_is_accepted_only_in_authorization(provider: str, header: str, value: str,
                                                       valid: bool) -> None:
    v = verify_signature(provider, SECRET, {header: value}, b"{}", now=NOW)
    assert v.valid is valid
    assert v.reason == "ok" if valid else v.reason.startswith(f"{header} does not match")


# -- JWT (monday.com): exp claim, and tolerance=0 turning the clock checks off ------------------
@pytest.mark.parametrize("now,tolerance,reason", [
    (NOW + 60, 300, "ok"),  # before exp
    (NOW + 300 + 300, 300, "ok"),  # exp + tolerance exactly: still accepted
    (NOW + 300 + 301, 300, "JWT expired 301 s ago (exp claim)"),
    (NOW + 86_400, 300, "JWT expired 86100 s ago (exp claim)"),
    (NOW + 86_400, 0, "ok"),  # tolerance 0 disables the clock checks
    (NOW + 86_400, -5, "ok"),
])
def test_monday_jwt_exp_claim(now: int, tolerance: int, reason: str) -> None:
    token = _monday_jwt(SECRET, {"iat": NOW, "exp": NOW + 300})
    v = verify_signature("monday", SECRET, {"Authorization": token}, b"{}", now=now,
                         tolerance=tolerance)
    assert (v.valid, v.reason) == (reason == "ok", reason)


def test_monday_signing_sets_iat_exp_and_dat() -> None:
    req = sign_request("monday", SECRET, body=b'{"event": {"boardId": 1}}', timestamp=NOW)
    token = req.headers["Authorization"]
    head, payload, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims == {"iat": NOW, "exp": NOW + 300, "dat": {"app_id": 1}}
    want = hmac.new(SECRET.encode(), f"{head}.{payload}".encode(), hashlib.sha256).digest()
    assert sig == _b64url(want)


# -- Braintree: a secret without "public:" signs under a placeholder public key -----------------
@pytest.mark.parametrize("secret,public", [("priv_key_1", "hooklab_public_key"),
                                          ("pub_9:priv_key_1", "pub_9")])
def test_braintree_signature_names_the_public_key(secret: str, public: str) -> None:
    payload = base64.b64encode(b"<notification><kind>check</kind></notification>").decode()
    body = f"bt_payload={payload}".encode()
    req = sign_request("braintree", secret, body=body, timestamp=NOW)
    form = parse_qs(req.body.decode())
    key = hashlib.sha1(b"priv_key_1").digest()
    want = hmac.new(key, payload.encode(), hashlib.sha1).hexdigest()
    assert form == {"bt_signature": [f"{public}|{want}"], "bt_payload": [payload]}
    assert verify_signature("braintree", secret, {}, req.body, now=NOW).valid


# -- Amazon SNS: the string to sign, field by field, as AWS documents it -----------------------
# https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html
SNS_FIELDS = {
    "Notification": ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"],
    "SubscriptionConfirmation": ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token",
                                 "TopicArn", "Type"],
    "UnsubscribeConfirmation": ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token",
                                "TopicArn", "Type"],
}


@pytest.fixture(scope="module")
def sns_keys() -> tuple[str, str]:
    pytest.importorskip("cryptography")
    return keypair("sns")


@pytest.mark.parametrize("kind,subject", [("Notification", True), ("Notification", False),
                                          ("SubscriptionConfirmation", False),
                                          ("UnsubscribeConfirmation", False)])
@pytest.mark.parametrize("version", ["1", "2"])
def test_sns_string_to_sign_has_every_documented_field(sns_keys: tuple[str, str], kind: str,
                                                       subject: bool, version: str) -> None:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    private_pem, cert_pem = sns_keys
    msg = {"Type": kind, "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
           "TopicArn": "arn:aws:sns:us-west-2:123456789012:MyTopic", "Message": "hello",
           "Timestamp": "2023-11-14T22:13:20.000Z", "SignatureVersion": version,
           "SigningCertURL": "https://sns.us-west-2.amazonaws.com/cert.pem"}
    if subject:
        msg["Subject"] = "My first message"
    if kind != "Notification":
        msg["Token"] = "2336412f37fb687f5d51e6e2425"
        msg["SubscribeURL"] = "https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription"
    text = "".join(f"{name}\n{msg[name]}\n" for name in SNS_FIELDS[kind] if name in msg)
    key = serialization.load_pem_private_key(private_pem.encode(), None)
    algo = hashes.SHA1() if version == "1" else hashes.SHA256()
    msg["Signature"] = base64.b64encode(
        key.sign(text.encode(), padding.PKCS1v15(), algo)).decode()  # type: ignore[union-attr]
    body = json.dumps(msg).encode()
    v = verify_signature("sns", cert_pem, {}, body, now=NOW)
    assert (v.valid, v.reason) == (True, "ok (certificate chain not checked)")
    # every signed field counts: change one and the signature no longer matches
    for name in SNS_FIELDS[kind]:
        if name in msg and name not in ("Type", "Timestamp"):
            changed = json.dumps({**msg, name: msg[name] + "x"}).encode()
            assert not verify_signature("sns", cert_pem, {}, changed, now=NOW).valid, name
