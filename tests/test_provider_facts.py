"""Handshakes and provider rows checked against each provider's own documentation or official
verifier, as a user meets them: requests built here by the documented rule (standard library
only), sent over real HTTP to a lab that answers and verifies on arrival.

- Strava's subscription check wants ``{"hub.challenge": ...}`` as JSON (developers.strava.com
  webhooks: the docs' challenge ``15f7d1a91c1f40f8a748fd134752feb3`` is hex); Meta's challenge
  is "an int you must pass back" (developers.facebook.com, ``1158201444``) and comes from a
  ``facebookplatform`` User-Agent: a bin registered for neither tells them apart by these.
- Okta's one-time verification GET carries the Authorization header its event hooks carry.
- SharePoint list webhooks validate with a lower-case ``?validationtoken=`` (learn.microsoft.com
  sharepoint/dev/apis/webhooks/overview-sharepoint-webhooks): 200 text/plain with the token.
- DocuSign Connect sends one ``X-DocuSign-Signature-<n>`` per active HMAC key.
- PayPal resends an event by its id (``POST /v1/notifications/webhooks-events/{id}/resend``).
- Sanity's official verifier (sanity-io/webhook-toolkit src/signature.ts) checks no age.
- GitLab's signing token (MR 230944): Standard Webhooks headers, ``v1,<base64>``.
- Jira: webhooks that OAuth 2.0 / Connect apps register carry a JWT in Authorization.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import time
from urllib.parse import urlencode, urlsplit

import pytest

import hooklab


@pytest.fixture(scope="module")
def lab():
    lab = hooklab.HookLab(port=0, db=":memory:")
    lab.start()
    yield lab
    lab.stop()


def call(url: str, method: str = "GET", body: bytes = b"",
         headers: dict[str, str] | list[tuple[str, str]] | None = None):
    """One request with exactly these headers (a list keeps repeated or many names)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.putrequest(method, parts.path + (f"?{parts.query}" if parts.query else ""),
                        skip_accept_encoding=True)
        items = headers.items() if isinstance(headers, dict) else (headers or [])
        for k, v in items:
            conn.putheader(k, v)
        if body or method in ("POST", "PUT"):
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body or None)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def stored(lab, bin_: str, count: int = 1):
    return lab.wait(count, bin=bin_, timeout=10)[-1]


# -- Meta or Strava, on a bin registered for neither -----------------------------------------------
STRAVA_JSON = b'{"hub.challenge":"15f7d1a91c1f40f8a748fd134752feb3"}'
META_UA = "facebookplatform/1.0 (+http://developers.facebook.com)"


@pytest.mark.parametrize("challenge, extra, agent, provider, ctype, answer", [
    # Strava's docs' request, as documented (no User-Agent given): JSON
    ("15f7d1a91c1f40f8a748fd134752feb3", {}, None, "strava", "application/json", STRAVA_JSON),
    ("15f7d1a91c1f40f8a748fd134752feb3", {}, "Strava", "strava", "application/json", STRAVA_JSON),
    # Meta's docs' request: an int, echoed as text
    ("1158201444", {}, META_UA, "meta", "text/plain", b"1158201444"),
    ("1158201444", {}, None, "meta", "text/plain", b"1158201444"),
    # Meta's User-Agent wins over the shape of the challenge
    ("15f7d1a91c1f40f8a748fd134752feb3", {}, META_UA, "meta", "text/plain",
     b"15f7d1a91c1f40f8a748fd134752feb3"),
    # a WebSub hub's check (hub.topic is required there) wants the raw challenge, as before
    ("a9c1d3e5-websub", {"hub.topic": "https://example.com/feed"}, None, "meta", "text/plain",
     b"a9c1d3e5-websub"),
], ids=["strava-docs", "strava-agent", "meta-docs", "meta-int", "meta-agent", "websub"])
def test_an_unregistered_hub_challenge_is_answered_as_its_sender_wants(
        lab, challenge, extra, agent, provider, ctype, answer):
    """(an outside tester) Strava's documented check to a bin without lab.secret(...,
    provider='strava') got Meta's answer (the raw challenge as text/plain) and was stored as
    provider 'meta': Strava refuses it, it wants 200 application/json."""
    bin_ = f"hub-{provider}-{len(extra)}-{agent is not None}-{challenge[:4]}"
    query = {"hub.verify_token": "STRAVA", "hub.challenge": challenge, "hub.mode": "subscribe",
             **extra}
    status, headers, body = call(lab.url_for(bin_) + "?" + urlencode(query), "GET",
                                 headers={"User-Agent": agent} if agent else {})
    assert (status, body) == (200, answer)
    assert headers["content-type"].startswith(ctype)
    assert headers["x-content-type-options"] == "nosniff"
    cap = stored(lab, bin_)
    assert cap.provider == provider and cap.event_type == "subscribe", cap
    assert "verify token unchecked" in cap.handshake


# -- Okta: the verification GET is checked as deliveries are --------------------------------------
OKTA_TOKEN = "okta-hook-token-7Hc2"
OKTA_EVENT = (b'{"eventType":"com.okta.event_hook","cloudEventsVersion":"0.1",'
              b'"eventId":"b5a188b9-5ece-4636-b041-482ffda96311","data":{"events":[]}}')


def _okta_verify_then_deliver(lab, bin_: str, challenge: str, sent: dict[str, str]):
    """Okta's verification GET then an event hook delivery to ``bin_``, both with ``sent``:
    the GET's ``(status, headers, body)``, and the two captures."""
    answer = call(lab.url_for(bin_), "GET",
                  headers={"X-Okta-Verification-Challenge": challenge, **sent})
    check = stored(lab, bin_)
    call(lab.url_for(bin_), "POST", OKTA_EVENT, {"Content-Type": "application/json", **sent})
    return answer, check, stored(lab, bin_, 2)


@pytest.mark.parametrize("authorization, accepted", [
    (f"Bearer {OKTA_TOKEN}", True),  # the tester's case: 401 before
    (OKTA_TOKEN, True),
    (f"bearer   {OKTA_TOKEN} ", True),
    ("Bearer wrong-token", False),
    (f"Basic {OKTA_TOKEN}", False),
    (None, False),
], ids=["bearer", "plain", "bearer-spaces", "wrong", "basic", "missing"])
def test_okta_verification_is_checked_as_its_deliveries_are(lab, authorization, accepted):
    """(an outside tester) ``Authorization: Bearer <token>`` verified the event hooks of a bin
    registered for Okta, but Okta's one-time verification GET with that same header got 401:
    Okta's "Verify" failed for a bin whose deliveries verify."""
    bin_ = f"okta-{abs(hash(authorization)) % 10**8}"
    lab.secret(bin_, OKTA_TOKEN, provider="okta")
    auth = {"Authorization": authorization} if authorization else {}
    challenge = "rQAXBFfbsF6hDuZ3ch6KlQ5Z"
    (status, headers, body), check, delivery = _okta_verify_then_deliver(lab, bin_, challenge, auth)
    assert delivery.provider == "okta" and delivery.verified is accepted  # (the rule itself)
    if accepted:
        assert (status, body) == (200, b'{"verification":"rQAXBFfbsF6hDuZ3ch6KlQ5Z"}')
        assert headers["content-type"].startswith("application/json")
        assert check.verified is True and "Authorization matches" in check.handshake
    else:
        assert status == 401 and challenge.encode() not in body
        assert check.verified is False and "refused with 401" in check.handshake


# Okta's authScheme: {"type": "HEADER", "key": <header name>, "value": <header value>}; its
# docs: "To use Basic Auth for authentication, set type to HEADER, key to Authorization, and
# value to the Base64-encoded string of "username:password" ... For example, Basic
# YWRtaW46c3VwZXJzZWNyZXQ=" (admin:supersecret)
OKTA_KEYED = [
    # (the secret given to lab.secret, the headers Okta sends, verified)
    (OKTA_TOKEN, {"X-Okta-Hook-Auth": OKTA_TOKEN}, True),  # key names another header
    (OKTA_TOKEN, {"x-my-secret": f"Bearer {OKTA_TOKEN}"}, True),
    (OKTA_TOKEN, {"X-Okta-Hook-Auth": OKTA_TOKEN, "Authorization": "Bearer unrelated"}, True),
    ("admin:supersecret", {"Authorization": "Basic YWRtaW46c3VwZXJzZWNyZXQ="}, True),
    ("admin:supersecret", {"Authorization": "basic YWRtaW46c3VwZXJzZWNyZXQ"}, True),  # no padding
    ("Basic YWRtaW46c3VwZXJzZWNyZXQ=", {"Authorization": "Basic YWRtaW46c3VwZXJzZWNyZXQ="}, True),
    ("admin:supersecret", {"Authorization": "Basic YWRtaW46d3Jvbmc="}, False),  # admin:wrong
    ("admin:supersecret", {"Authorization": "Basic !!!not-base64"}, False),
    (OKTA_TOKEN, {"X-Okta-Hook-Auth": OKTA_TOKEN + "x"}, False),
    (OKTA_TOKEN, {"X-Note": f"see {OKTA_TOKEN}"}, False),  # inside another value: not sent as it
    (OKTA_TOKEN, {"X-Okta-Hook-Auth": f"Token {OKTA_TOKEN}"}, False),
    (OKTA_TOKEN, {"X-Okta-Hook-Auth": OKTA_TOKEN[:-1]}, False),
]


@pytest.mark.parametrize("secret, sent, accepted", OKTA_KEYED,
                         ids=[f"{i}-{'ok' if a else 'refused'}" for i, (_, _, a) in enumerate(OKTA_KEYED)])
def test_okta_takes_its_secret_in_the_header_the_admin_named_and_in_basic_form(lab, secret, sent, accepted):
    """(hub tester) Okta lets the admin name the header (``authScheme.key``) and documents a
    Basic value: a bin set with the value Okta was given could not be activated (401 on the
    verification GET) unless it was in ``Authorization`` as the value or ``Bearer``. The
    header that carries it is stored as ``[secret]``, as ``Authorization`` is."""
    bin_ = f"okta-keyed-{abs(hash((secret, tuple(sent.items())))) % 10**8}"
    lab.secret(bin_, secret, provider="okta")
    challenge = "Zq81OOptD3KzYrV3J1uWvyc1"
    (status, _, body), check, delivery = _okta_verify_then_deliver(lab, bin_, challenge, sent)
    assert (check.verified, delivery.verified) == (accepted, accepted)
    assert (status == 200) is accepted and (challenge.encode() in body) is accepted
    plain = secret.removeprefix("Basic ")
    for cap in (check, delivery):
        shown = " ".join(f"{k}: {v}" for k, v in cap.headers)
        if accepted:  # (the credential never stored; a wrong one is the sender's own text)
            assert plain not in shown and OKTA_TOKEN not in shown, shown
            assert "YWRtaW46c3VwZXJzZWNyZXQ" not in shown, shown


NOT_UTF8 = bytes(range(0x80, 0x98))  # 24 bytes that are no UTF-8 text
_REPLACED = base64.b64encode(("\ufffd" * len(NOT_UTF8)).encode()).decode()


@pytest.mark.parametrize("sent", [
    {"Authorization": f"Basic {_REPLACED}"},
    {"X-Anything": f"Basic {_REPLACED}"},
    {"Authorization": "\ufffd" * len(NOT_UTF8)},
    {"Authorization": f"Bearer {chr(0xfffd) * len(NOT_UTF8)}"},
], ids=["basic", "basic-other-header", "plain", "bearer"])
def test_a_bytes_secret_that_is_no_utf8_is_never_matched_as_a_token(lab, sent):
    """(security review) Okta's Basic form compared the credentials with the secret decoded
    with replacements: a sender knowing only a bytes key's length passed with as many U+FFFD
    (README: "a bytes secret that is no UTF-8 is never matched as a token")."""
    from hooklab import verify_signature

    for k, v in sent.items():  # (straight to the verifier too, where headers may be any text)
        assert verify_signature("okta", NOT_UTF8, {k: v}, OKTA_EVENT).valid is False
    bin_ = f"okta-bytes-{abs(hash(tuple(sent.items()))) % 10**8}"
    lab.secret(bin_, NOT_UTF8, provider="okta")
    wire = {k: v.encode("utf-8").decode("latin-1") for k, v in sent.items()}  # (as sent: UTF-8)
    status, _, body = call(lab.url_for(bin_), "GET",
                           headers={"X-Okta-Verification-Challenge": "c-1", **wire})
    assert status == 401 and b"c-1" not in body
    call(lab.url_for(bin_), "POST", OKTA_EVENT, {"Content-Type": "application/json", **wire})
    assert stored(lab, bin_, 2).verified is False


def test_basic_credentials_are_the_secret_s_own_bytes():
    """The ``basic`` scheme (Chargebee, Postmark, Pipedrive) compared with the secret decoded
    with replacements too: the same forgery. A bytes secret is matched byte for byte."""
    from hooklab import verify_signature

    forged = {"Authorization": f"Basic {_REPLACED}"}
    assert verify_signature("chargebee", NOT_UTF8, forged, b"{}").valid is False
    own = {"Authorization": "Basic " + base64.b64encode(NOT_UTF8).decode()}
    assert verify_signature("chargebee", NOT_UTF8, own, b"{}").valid is True
    text = {"Authorization": "Basic " + base64.b64encode("üser:pässword".encode()).decode()}
    assert verify_signature("chargebee", "üser:pässword", text, b"{}").valid is True


@pytest.mark.parametrize("header", ["X-Okta-Key", "Authorization", "x-okta-key"])
def test_an_okta_secret_in_the_header_the_admin_named_is_given_back_on_forward_and_replay(header):
    """(security review) Okta's secret in the header the admin named was stored as [secret],
    but forward and replay sent the app the literal ``[secret]`` there (every delivery then
    refused): it goes back where it came, as in ``Authorization``."""
    from _target import Target

    lab = hooklab.HookLab(port=0, db=":memory:").start()
    try:
        with Target() as app:
            lab.secret("okta", "okta-shared-secret-123", provider="okta")
            lab.forward("okta", app.url + "/hook")
            sent = {"Content-Type": "application/json", header: "okta-shared-secret-123",
                    "X-Echo": "[secret]"}
            call(lab.url_for("okta"), "POST", OKTA_EVENT, sent)
            cap = stored(lab, "okta")
            assert cap.verified is True and cap.header(header) == "[secret]"
            lab.replay(cap, to=app.url + "/replay")
            got = app.wait(2, timeout=20)
        for r in got:
            assert r.header(header) == "okta-shared-secret-123", (r.path, r.headers)
            assert r.header("X-Echo") == "[secret]"  # (a sender's own [secret] stays as it is)
    finally:
        lab.stop()


# -- SharePoint: validationtoken, lower case ----------------------------------------------------------
SP_TOKEN = "ee3c4e3c-2ad8-4f6e-8b09-4c2e8e1f0a6d"


@pytest.mark.parametrize("name", ["validationtoken", "validationToken", "VALIDATIONTOKEN",
                                  "ValidationToken"])
def test_a_validation_token_is_echoed_whatever_its_spelling(lab, name):
    """(an outside tester) SharePoint list webhooks validate with ``?validationtoken=`` (lower
    case, Microsoft's SharePoint docs): it got hooklab's normal JSON answer, so the
    subscription was never created. Answered as Graph's: 200 text/plain, the token."""
    bin_ = f"sp-{name}"
    status, headers, body = call(lab.url_for(bin_) + f"?{name}={SP_TOKEN}", "POST", b"",
                                 {"Content-Type": "text/plain; charset=utf-8"})
    assert (status, body) == (200, SP_TOKEN.encode())
    assert headers["content-type"].startswith("text/plain")
    assert headers["x-content-type-options"] == "nosniff"
    cap = stored(lab, bin_)
    assert cap.provider == "msgraph" and cap.handshake == f"msgraph {name}: echoed"


def test_the_exact_spelling_wins_when_both_come(lab):
    status, _, body = call(lab.url_for("sp-both") + "?validationtoken=low&validationToken=exact",
                           "POST")
    assert (status, body) == (200, b"exact")


# -- DocuSign: every X-DocuSign-Signature-<n> ----------------------------------------------------
DS_BODY = (b'{"event":"envelope-completed","apiVersion":"v2.1","data":{"envelopeId":'
           b'"93be49ab-afa0-4adf-933c-f752070d71ec"}}')


def _ds(key: bytes) -> str:
    return base64.b64encode(hmac.new(key, DS_BODY, hashlib.sha256).digest()).decode()


@pytest.mark.parametrize("keys, ours, verified", [
    (1, 1, True), (2, 2, True), (10, 10, True),
    (11, 11, True),  # the tester's case: only 1..10 were looked at
    (50, 37, True), (100, 100, True),
    (101, 101, False),  # past the bound: not looked at
    (12, None, False),  # no header made with our key
], ids=["1", "2-of-2", "10", "11", "37-of-50", "100", "101", "none"])
def test_docusign_signature_of_any_active_key_verifies(lab, keys, ours, verified):
    """(an outside tester) DocuSign Connect sends one X-DocuSign-Signature-<n> per active HMAC
    key; only -1..-10 were checked, so the key in position 11 never verified."""
    bin_ = f"ds-{keys}-{ours}"
    lab.secret(bin_, "docusign-connect-key", provider="docusign")
    headers = [("Content-Type", "application/json"), ("X-Authorization-Digest", "HMACSHA256")]
    for n in range(1, keys + 1):
        key = b"docusign-connect-key" if n == ours else b"other-key-%d" % n
        headers.append((f"X-DocuSign-Signature-{n}", _ds(key)))
    status, _, _ = call(lab.url_for(bin_), "POST", DS_BODY, headers)
    assert status == 200
    cap = stored(lab, bin_)
    assert cap.provider == "docusign" and cap.verified is verified, cap.verify_reason
    if verified and keys > 1:
        assert cap.verify_reason == f"ok (signature {ours} of {min(keys, 100)})"


# -- PayPal: a resent event is a duplicate ----------------------------------------------------------
PP_EVENT = {"id": "WH-2WR32451HC0233532-67976317FL4543714", "event_version": "1.0",
            "resource_type": "capture", "event_type": "PAYMENT.CAPTURE.COMPLETED",
            "resource": {"id": "42311647XV020574X"}}


def _paypal(transmission: str) -> dict[str, str]:
    return {"Content-Type": "application/json", "PAYPAL-TRANSMISSION-ID": transmission,
            "PAYPAL-TRANSMISSION-TIME": "2024-01-01T00:00:01Z", "PAYPAL-TRANSMISSION-SIG": "abc",
            "PAYPAL-CERT-URL": "https://api.paypal.com/v1/notifications/certs/CERT-1",
            "PAYPAL-AUTH-ALGO": "SHA256withRSA"}


def test_a_resent_paypal_event_is_a_duplicate(lab):
    """(an outside tester) delivery_id was PAYPAL-TRANSMISSION-ID, so the same event (id
    WH-...) sent again in a new transmission was not flagged duplicate. It is the event's id,
    as for Stripe."""
    body = json.dumps(PP_EVENT).encode()
    other = json.dumps({**PP_EVENT, "id": "WH-1111111111111111-2222222222222222"}).encode()
    for transmission, payload in (("69cd13f0-d67a-11e5-baa3-778b53f4ae55", body),
                                  ("7a3c1b20-d67a-11e5-baa3-778b53f4ae55", body),
                                  ("8b4d2c30-d67a-11e5-baa3-778b53f4ae55", other)):
        assert call(lab.url_for("pp"), "POST", payload, _paypal(transmission))[0] == 200
    first, again, new = lab.wait(3, bin="pp", timeout=10)
    assert [c.provider for c in (first, again, new)] == ["paypal"] * 3
    assert first.delivery_id == again.delivery_id == PP_EVENT["id"]
    assert (first.duplicate, again.duplicate, new.duplicate) == (False, True, False)


# -- Sanity: no maximum age, as its official verifier ---------------------------------------------
SANITY_SECRET = "sanity-webhook-secret"
SANITY_BODY = b'{"_id":"doc1","_type":"post","title":"hi"}'


def _sanity(ts_ms: int, body: bytes = SANITY_BODY) -> str:
    # webhook-toolkit: HMAC-SHA256 of "<t>.<payload>", base64url without padding
    digest = hmac.new(SANITY_SECRET.encode(), f"{ts_ms}.".encode() + body, hashlib.sha256).digest()
    return f"t={ts_ms},v1=" + base64.urlsafe_b64encode(digest).decode().rstrip("=")


@pytest.mark.parametrize("age, body, verified", [
    (0, SANITY_BODY, True),
    (600, SANITY_BODY, True),  # the tester's case: "timestamp 601 s old, beyond tolerance 300 s"
    (30 * 86_400, SANITY_BODY, True),
    (600, SANITY_BODY + b" ", False),  # the signature still binds the body
], ids=["now", "10-min", "30-days", "tampered"])
def test_an_old_but_valid_sanity_signature_verifies(lab, age, body, verified):
    """@sanity/webhook's isValidSignature checks no age (only t >= 2021-01-01): a correctly
    signed Sanity delivery older than 300 s was marked not verified."""
    bin_ = f"san-{age}-{len(body)}"
    lab.secret(bin_, SANITY_SECRET, provider="sanity")
    ts = int((time.time() - age) * 1000)
    call(lab.url_for(bin_), "POST", body, {"Content-Type": "application/json",
                                           "sanity-webhook-signature": _sanity(ts),
                                           "sanity-operation": "create"})
    cap = stored(lab, bin_)
    assert cap.provider == "sanity" and cap.verified is verified, cap.verify_reason
    if age:  # a window given explicitly still applies
        again = cap.verify(SANITY_SECRET, "sanity", tolerance=300)
        assert not again and (age <= 300 or "old, beyond tolerance 300 s" in again.reason)


# -- GitLab's signing token --------------------------------------------------------------------
WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
GL_BODY = b'{"object_kind":"push","ref":"refs/heads/main"}'


def _gitlab(key: str, wid: str, ts: int, body: bytes = GL_BODY) -> dict[str, str]:
    """Headers of a GitLab delivery signed with a signing token (Standard Webhooks form)."""
    raw = base64.b64decode(key.removeprefix("whsec_"))
    sig = base64.b64encode(hmac.new(raw, f"{wid}.{ts}.".encode() + body, hashlib.sha256)
                           .digest()).decode()
    return {"Idempotency-Key": wid, "webhook-id": wid, "webhook-timestamp": str(ts),
            "webhook-signature": f"v1,{sig}"}


OTHER = "whsec_" + base64.b64encode(b"k" * 32).decode()


@pytest.mark.parametrize("signed_with, token, age, verified, reason", [
    (WHSEC, None, 0, True, "ok (webhook-signature: GitLab's signing token)"),
    (OTHER, None, 0, False, "signature mismatch"),
    (WHSEC, None, 400, False, "timestamp 40"),  # (400 or 401 s, as the clock ticks)
    # both (a hook moving to signing): the token, else the signature, may be the bin's secret
    (WHSEC, "wrong-secret-token", 0, True, "ok (webhook-signature: GitLab's signing token)"),
    (OTHER, WHSEC, 0, True, "ok"),
    (OTHER, "wrong-secret-token", 0, False, "X-Gitlab-Token does not match"),
    (None, None, 0, False, "missing header X-Gitlab-Token"),
], ids=["signed", "other-key", "stale", "token-wrong-sig-right", "token-right", "both-wrong",
        "neither"])
def test_gitlab_signing_token_verifies_as_standard_webhooks(lab, signed_with, token, age,
                                                             verified, reason):
    """(an outside tester) With lab.secret(bin, 'whsec_...', provider='gitlab') a delivery
    signed with GitLab's new signing token failed: "missing header X-Gitlab-Token"."""
    bin_ = f"gl-{signed_with is not None}-{token is not None}-{age}-{signed_with == WHSEC}"
    lab.secret(bin_, WHSEC, provider="gitlab")
    headers = {"Content-Type": "application/json", "X-Gitlab-Event": "Push Hook"}
    if signed_with:
        headers.update(_gitlab(signed_with, "f0e1d2c3-b4a5-4697-8889-7a6b5c4d3e2f",
                               int(time.time()) - age))
    if token:
        headers["X-Gitlab-Token"] = token
    call(lab.url_for(bin_), "POST", GL_BODY, headers)
    cap = stored(lab, bin_)
    assert cap.provider == "gitlab" and cap.event_type == "Push Hook"
    assert cap.verified is verified and cap.verify_reason.startswith(reason), cap.verify_reason
    if age:
        assert cap.verify_reason.endswith("s old, beyond tolerance 300 s (the signature itself "
                                          "matches) (webhook-signature: GitLab's signing token)")
    if signed_with and not token and not verified:  # (a failure says which check it was)
        assert cap.verify_reason.endswith("(webhook-signature: GitLab's signing token)")


# -- Jira: an app's webhook carries a JWT -------------------------------------------------------
JIRA_BODY = b'{"timestamp":1714000000000,"webhookEvent":"jira:issue_created","issue":{"id":"1"}}'
JWT = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJqaXJhOmNsb3VkIiwiZXhwIjo5OTk5OTk5OTk5fQ."
       "c2lnbmF0dXJlLWJ5dGVzLWhlcmU")


@pytest.mark.parametrize("authorization, says_jwt", [
    (f"Bearer {JWT}", True),  # an OAuth 2.0 app's dynamic webhook
    (f"JWT {JWT}", True),  # a Connect app's
    (None, False),
    ("Bearer not-a-jwt", False),
], ids=["oauth", "connect", "none", "opaque-bearer"])
def test_jira_app_webhook_reason_says_it_carries_a_jwt(lab, authorization, says_jwt):
    bin_ = f"jira-{says_jwt}-{authorization is None}"
    lab.secret(bin_, "jira-admin-secret", provider="jira")
    headers = {"Content-Type": "application/json",
               "X-Atlassian-Webhook-Identifier": "4f7c1b3e"}
    if authorization:
        headers["Authorization"] = authorization
    call(lab.url_for(bin_), "POST", JIRA_BODY, headers)
    cap = stored(lab, bin_)
    assert cap.provider == "jira" and cap.verified is False
    assert cap.verify_reason.startswith("missing header X-Hub-Signature")
    assert ("JWT" in cap.verify_reason and "OAuth 2.0 and Connect apps" in cap.verify_reason) \
        is says_jwt, cap.verify_reason
    signed = {**headers, "X-Hub-Signature": "sha256=" + hmac.new(
        b"jira-admin-secret", JIRA_BODY, hashlib.sha256).hexdigest()}  # an admin webhook's
    call(lab.url_for(bin_), "POST", JIRA_BODY, signed)
    assert stored(lab, bin_, 2).verified is True
