"""A signature verifies only in the text form the provider's own receivers accept.

A sender that writes the right HMAC in another form (uppercase hex, ``SHA256=``, base64
without its padding, ``t=..., v1=...`` where the parser splits on ``,`` exactly) is rejected
by the providers' verifiers, which compare the text. hooklab says so too (``verified`` False,
a reason that says what differs) rather than pass a sender that fails at every real receiver.

Each case is checked against the provider's official SDK where one is installed (same bytes,
same headers) and against the verdict written out in the table in every case.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
import urllib.request
from collections.abc import Callable
from datetime import datetime, timezone
from urllib.parse import urlencode

import pytest
from _provider_secrets import secrets_for

import hooklab
from hooklab.providers import TABLE
from hooklab.signatures import sign_request, verify_signature

BODY = json.dumps({"id": "evt_1", "object": "event", "type": "order.created",
                   "data": {"amount": 4200, "note": "Zo\u00eb"}}).encode()
URL = "https://hooks.example.com/in/abc?x=1"
FORM = "signature matches in value but not in form"
WHSEC = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


def _hex(key: str | bytes, msg: bytes, algo=hashlib.sha256) -> str:
    return hmac.new(key.encode() if isinstance(key, str) else key, msg, algo).hexdigest()


def _b64(key: str | bytes, msg: bytes, algo=hashlib.sha256) -> str:
    digest = hmac.new(key.encode() if isinstance(key, str) else key, msg, algo).digest()
    return base64.b64encode(digest).decode()


def _mixed(hexsig: str) -> str:
    """``hexsig`` with every other letter uppercase (a letter is always among 64 hex digits)."""
    out, upper = [], False
    for c in hexsig:
        if c.isalpha():
            c, upper = (c.upper() if upper else c), not upper
        out.append(c)
    assert "".join(out) != hexsig
    return "".join(out)


# -- the official verifiers (True: accepted) ------------------------------------------------------
def _raises_not(call: Callable[[], object]) -> bool:
    try:
        result = call()
    except Exception:  # noqa: BLE001 - each SDK raises its own error class on a bad signature
        return False
    return result is not False and result is not None


def stripe_sdk(secret: str, headers: dict[str, str], body: bytes) -> bool | None:
    stripe = pytest.importorskip("stripe")
    return _raises_not(lambda: stripe.WebhookSignature.verify_header(
        body.decode(), headers["Stripe-Signature"], secret, 300))


def slack_sdk(secret: str, headers: dict[str, str], body: bytes) -> bool | None:
    sig = pytest.importorskip("slack_sdk.signature")
    return sig.SignatureVerifier(secret).is_valid(body, headers["X-Slack-Request-Timestamp"],
                                                  headers["X-Slack-Signature"])


def standardwebhooks_sdk(secret: str, headers: dict[str, str], body: bytes) -> bool | None:
    sw = pytest.importorskip("standardwebhooks.webhooks")
    return _raises_not(lambda: sw.Webhook(secret).verify(body, headers, json_parse=False) or True)


def svix_sdk(secret: str, headers: dict[str, str], body: bytes) -> bool | None:
    svix = pytest.importorskip("svix.webhooks")
    return _raises_not(lambda: svix.Webhook(secret).verify(body, headers) or True)


def paddle_sdk(secret: str, headers: dict[str, str], body: bytes) -> bool | None:
    n = pytest.importorskip("paddle_billing.Notifications")
    return _raises_not(lambda: n.PaddleSignature().verify(headers["Paddle-Signature"],
                                                          body.decode(), n.Secret(secret)))


def workos_sdk(secret: str, headers: dict[str, str], body: bytes) -> bool | None:
    v = pytest.importorskip("workos.webhooks._verification")
    return _raises_not(lambda: v.verify_header(event_body=body, secret=secret, tolerance=300,
                                               event_signature=headers["WorkOS-Signature"]) or True)


def razorpay_sdk(secret: str, headers: dict[str, str], body: bytes) -> bool | None:
    u = pytest.importorskip("razorpay.utility.utility")
    return _raises_not(lambda: u.Utility().verify_webhook_signature(
        body.decode(), headers["X-Razorpay-Signature"], secret))


def coinbase_sdk(secret: str, headers: dict[str, str], body: bytes) -> bool | None:
    w = pytest.importorskip("coinbase_commerce.webhook")
    return _raises_not(lambda: w.WebhookSignature.verify_sig_header(
        body.decode(), headers["X-CC-Webhook-Signature"], secret))


def gocardless_sdk(secret: str, headers: dict[str, str], body: bytes) -> bool | None:
    w = pytest.importorskip("gocardless_pro.webhooks")
    errors = pytest.importorskip("gocardless_pro.errors")
    try:  # (parse verifies, then reads the events this body has none of)
        w.parse(body, secret, headers["Webhook-Signature"])
    except errors.InvalidSignatureError:
        return False
    except KeyError:
        pass
    return True


def square_sdk(secret: str, headers: dict[str, str], body: bytes) -> bool | None:
    w = pytest.importorskip("square.utils.webhooks_helper")
    return w.verify_signature(request_body=body.decode(), signature_key=secret, notification_url=URL,
                              signature_header=headers["x-square-hmacsha256-signature"])


def easypost_sdk(secret: str, headers: dict[str, str], body: bytes) -> bool | None:
    u = pytest.importorskip("easypost.util")
    return _raises_not(lambda: u.validate_webhook(body, headers, secret) or True)


def pusher_sdk(secret: str, headers: dict[str, str], body: bytes) -> bool | None:
    # (Pusher.validate_webhook checks this, then a time_ms in the body this one has none of)
    signature = pytest.importorskip("pusher.signature")
    return signature.verify(secret, body.decode(), headers["X-Pusher-Signature"])


def github_docs(secret: str, headers: dict[str, str], body: bytes) -> bool | None:
    """GitHub's documented check (docs.github.com, validating webhook deliveries)."""
    return hmac.compare_digest("sha256=" + _hex(secret, body), headers["X-Hub-Signature-256"])


# -- the table ------------------------------------------------------------------------------------
def _now() -> int:
    return int(time.time())


def _stripe(mut: Callable[[str, int], str]) -> Callable[[], dict[str, str]]:
    def build() -> dict[str, str]:
        t = _now()
        return {"Stripe-Signature": mut(_hex("whsec_demo", f"{t}.".encode() + BODY), t)}
    return build


def _slack(prefix: str, mut: Callable[[str], str]) -> Callable[[], dict[str, str]]:
    def build() -> dict[str, str]:
        t = str(_now())
        sig = _hex("8f742231b10e8888abcd99yyyzzz85a5", f"v0:{t}:".encode() + BODY)
        return {"X-Slack-Signature": prefix + mut(sig), "X-Slack-Request-Timestamp": t}
    return build


def _swh(prefix: str, mut: Callable[[str], str]) -> Callable[[], dict[str, str]]:
    def build() -> dict[str, str]:
        t = str(_now())
        key = base64.b64decode(WHSEC[len("whsec_"):])
        sig = _b64(key, f"msg_1.{t}.".encode() + BODY)
        assert sig.endswith("="), "a SHA-256 digest in base64 always ends with '='"
        return {f"{prefix}-id": "msg_1", f"{prefix}-timestamp": t,
                f"{prefix}-signature": mut(sig)}
    return build


def _paddle(mut: Callable[[str, int], str]) -> Callable[[], dict[str, str]]:
    def build() -> dict[str, str]:
        t = _now()
        return {"Paddle-Signature": mut(_hex("pdl_ntfset_demo", f"{t}:".encode() + BODY), t)}
    return build


def _workos(mut: Callable[[str, int], str]) -> Callable[[], dict[str, str]]:
    def build() -> dict[str, str]:
        t = _now() * 1000
        return {"WorkOS-Signature": mut(_hex("wos_demo", f"{t}.".encode() + BODY), t)}
    return build


def _plain(header: str, secret: str, mut: Callable[[str], str], *, prefix: str = "",
           b64: bool = False, msg: bytes = BODY, **extra: str) -> Callable[[], dict[str, str]]:
    def build() -> dict[str, str]:
        sig = _b64(secret, msg) if b64 else _hex(secret, msg)
        return {header: prefix + mut(sig), **extra}
    return build


def same(s: str) -> str:
    return s


def upper(s: str) -> str:
    return s.upper()


def unpadded(s: str) -> str:
    return s.rstrip("=")


#: (provider, secret, what the sender did, headers, the official verifier, expected verdict)
CASES = [
    ("stripe", "whsec_demo", "canonical", _stripe(lambda s, t: f"t={t},v1={s}"), stripe_sdk, True),
    ("stripe", "whsec_demo", "uppercase hex", _stripe(lambda s, t: f"t={t},v1={s.upper()}"),
     stripe_sdk, False),
    ("stripe", "whsec_demo", "mixed-case hex", _stripe(lambda s, t: f"t={t},v1={_mixed(s)}"),
     stripe_sdk, False),
    ("stripe", "whsec_demo", "space after the comma", _stripe(lambda s, t: f"t={t}, v1={s}"),
     stripe_sdk, False),
    ("stripe", "whsec_demo", "tab after the comma", _stripe(lambda s, t: f"t={t},\tv1={s}"),
     stripe_sdk, False),
    ("stripe", "whsec_demo", "space before the comma", _stripe(lambda s, t: f"t={t},v1={s} ,v0=x"),
     stripe_sdk, False),
    ("stripe", "whsec_demo", "space after the timestamp's comma",
     _stripe(lambda s, t: f"v1={s}, t={t}"), stripe_sdk, False),
    ("stripe", "whsec_demo", "the signature first", _stripe(lambda s, t: f"v1={s},t={t}"),
     stripe_sdk, True),
    ("slack", "8f742231b10e8888abcd99yyyzzz85a5", "canonical", _slack("v0=", same), slack_sdk, True),
    ("slack", "8f742231b10e8888abcd99yyyzzz85a5", "uppercase hex", _slack("v0=", upper),
     slack_sdk, False),
    ("slack", "8f742231b10e8888abcd99yyyzzz85a5", "V0= prefix", _slack("V0=", same),
     slack_sdk, False),
    ("standardwebhooks", WHSEC, "canonical", _swh("webhook", lambda s: "v1," + s),
     standardwebhooks_sdk, True),
    ("standardwebhooks", WHSEC, "base64 without '=' padding",
     _swh("webhook", lambda s: "v1," + unpadded(s)), standardwebhooks_sdk, False),
    ("standardwebhooks", WHSEC, "URL-safe base64",
     _swh("webhook", lambda s: "v1," + s.replace("+", "-").replace("/", "_").rstrip("=") + "="),
     standardwebhooks_sdk, None),  # (None: as the SDK says; the alphabet differs only if + or /)
    ("standardwebhooks", WHSEC, "tab between two signatures",
     _swh("webhook", lambda s: "v1,AAAA\tv1," + s), standardwebhooks_sdk, False),
    ("standardwebhooks", WHSEC, "two signatures, space-separated",
     _swh("webhook", lambda s: "v1,AAAA v1," + s), standardwebhooks_sdk, True),
    ("svix", WHSEC, "canonical", _swh("svix", lambda s: "v1," + s), svix_sdk, True),
    ("svix", WHSEC, "base64 without '=' padding", _swh("svix", lambda s: "v1," + unpadded(s)),
     svix_sdk, False),
    ("paddle", "pdl_ntfset_demo", "canonical", _paddle(lambda s, t: f"ts={t};h1={s}"),
     paddle_sdk, True),
    ("paddle", "pdl_ntfset_demo", "uppercase hex", _paddle(lambda s, t: f"ts={t};h1={s.upper()}"),
     paddle_sdk, False),
    ("paddle", "pdl_ntfset_demo", "space after the semicolon",
     _paddle(lambda s, t: f"ts={t}; h1={s}"), paddle_sdk, False),
    ("workos", "wos_demo", "canonical (', ')", _workos(lambda s, t: f"t={t}, v1={s}"),
     workos_sdk, True),
    ("workos", "wos_demo", "no space after the comma", _workos(lambda s, t: f"t={t},v1={s}"),
     workos_sdk, False),
    ("workos", "wos_demo", "uppercase hex", _workos(lambda s, t: f"t={t}, v1={s.upper()}"),
     workos_sdk, False),
    ("razorpay", "rzp_demo", "canonical", _plain("X-Razorpay-Signature", "rzp_demo", same),
     razorpay_sdk, True),
    ("razorpay", "rzp_demo", "uppercase hex", _plain("X-Razorpay-Signature", "rzp_demo", upper),
     razorpay_sdk, False),
    ("coinbase", "cb_demo", "canonical", _plain("X-CC-Webhook-Signature", "cb_demo", same),
     coinbase_sdk, True),
    ("coinbase", "cb_demo", "uppercase hex", _plain("X-CC-Webhook-Signature", "cb_demo", upper),
     coinbase_sdk, False),
    ("gocardless", "gc_demo", "canonical", _plain("Webhook-Signature", "gc_demo", same),
     gocardless_sdk, True),
    ("gocardless", "gc_demo", "uppercase hex", _plain("Webhook-Signature", "gc_demo", upper),
     gocardless_sdk, False),
    ("square", "sq_demo", "canonical", _plain("x-square-hmacsha256-signature", "sq_demo", same,
                                              b64=True, msg=URL.encode() + BODY),
     square_sdk, True),
    ("square", "sq_demo", "base64 without '=' padding",
     _plain("x-square-hmacsha256-signature", "sq_demo", unpadded, b64=True,
            msg=URL.encode() + BODY), square_sdk, False),
    ("easypost", "ep_demo", "canonical",
     _plain("X-Hmac-Signature", "ep_demo", same, prefix="hmac-sha256-hex="), easypost_sdk, True),
    ("easypost", "ep_demo", "uppercase hex",
     _plain("X-Hmac-Signature", "ep_demo", upper, prefix="hmac-sha256-hex="), easypost_sdk, False),
    ("easypost", "ep_demo", "HMAC-SHA256-HEX= prefix",
     _plain("X-Hmac-Signature", "ep_demo", same, prefix="HMAC-SHA256-HEX="), easypost_sdk, False),
    ("pusher", "pu_demo", "canonical",
     _plain("X-Pusher-Signature", "pu_demo", same, **{"X-Pusher-Key": "app-key"}), pusher_sdk, True),
    ("pusher", "pu_demo", "uppercase hex",
     _plain("X-Pusher-Signature", "pu_demo", upper, **{"X-Pusher-Key": "app-key"}),
     pusher_sdk, False),
    ("github", "gh_demo", "canonical", _plain("X-Hub-Signature-256", "gh_demo", same,
                                              prefix="sha256="), github_docs, True),
    ("github", "gh_demo", "uppercase hex", _plain("X-Hub-Signature-256", "gh_demo", upper,
                                                  prefix="sha256="), github_docs, False),
    ("github", "gh_demo", "SHA256= prefix", _plain("X-Hub-Signature-256", "gh_demo", same,
                                                   prefix="SHA256="), github_docs, False),
    ("github", "gh_demo", "Sha256= prefix", _plain("X-Hub-Signature-256", "gh_demo", same,
                                                   prefix="Sha256="), github_docs, False),
    ("github", "gh_demo", "mixed-case hex", _plain("X-Hub-Signature-256", "gh_demo", _mixed,
                                                   prefix="sha256="), github_docs, False),
]


@pytest.mark.parametrize("pid,secret,mistake,build,official,expected", CASES,
                         ids=[f"{c[0]}: {c[2]}" for c in CASES])
def test_hooklab_agrees_with_the_providers_verifier(pid, secret, mistake, build, official,
                                                    expected):
    headers = build()
    theirs = official(secret, dict(headers), BODY)
    if expected is None:  # (the form is the canonical one or not, depending on the digest)
        expected = theirs
    assert theirs is expected, f"{pid} {mistake}: the official verifier says {theirs}"
    v = verify_signature(pid, secret, headers, BODY, url=URL)
    assert v.valid is expected, (mistake, v.reason)
    if not expected and mistake != "tab between two signatures":
        # the right bytes in the wrong form: said so, the signature never quoted
        assert v.reason.startswith(FORM), v.reason
        for value in headers.values():
            for sig in re.findall(r"[0-9A-Fa-f]{40,}|[A-Za-z0-9+/_-]{40,}=*", value):
                assert sig not in v.reason and sig.lower() not in v.reason
        assert secret not in v.reason


# -- every provider hooklab signs: the canonical form verifies, another spelling does not --------
HMAC_PROVIDERS = sorted(p for p, row in TABLE.items() if row.scheme in ("hmac", "standardwebhooks"))
#: providers whose official check decodes the signature before comparing: any spelling verifies
DECODES_FIRST = {"linear"}


def _respell(pid: str, value: str) -> str | None:
    """``value`` (a signature header hooklab wrote) with its signature in another spelling of the
    same bytes: uppercase hex, base64 without (or, for base64url, with) padding."""
    enc = TABLE[pid].sig.get("enc", "hex") if TABLE[pid].scheme == "hmac" else "b64"
    if enc == "hex":
        m = re.search(r"[0-9a-f]{40,128}", value)
        return None if m is None else value[:m.start()] + m.group().upper() + value[m.end():]
    m = re.search(r"[A-Za-z0-9+/_-]{26,}=*", value)
    if m is None:
        return None
    sig = m.group()
    other = sig.rstrip("=") if enc == "b64" else sig + "=" * (-len(sig) % 4 or 4)
    return value[:m.start()] + other + value[m.end():]


@pytest.mark.parametrize("pid", HMAC_PROVIDERS)
def test_signed_form_verifies_and_a_respelling_does_not(pid):
    signing, verifying = secrets_for(pid)
    req = sign_request(pid, signing, body=BODY, url=URL)
    v = verify_signature(pid, verifying, req.headers, req.body, url=req.url)
    assert v.valid, (pid, v.reason)
    row = TABLE[pid]
    header = (f"{row.sig.get('prefix', 'webhook')}-signature" if row.scheme == "standardwebhooks"
              else row.sig["header"])
    name = next(k for k in req.headers if k.lower() == header.lower())
    respelled = _respell(pid, req.headers[name])
    assert respelled is not None and respelled != req.headers[name], (pid, req.headers[name])
    v = verify_signature(pid, verifying, {**req.headers, name: respelled}, req.body, url=req.url)
    if pid in DECODES_FIRST:
        assert v.valid, (pid, v.reason)
    else:
        assert not v.valid, pid
        assert v.reason.startswith(FORM), (pid, v.reason)


# -- through the capture server, as the pytest plugin's user meets it ------------------------------
def test_captured_deliveries_from_a_lab():
    """The reported cases, sent to a lab over a socket: ``cap.verified`` is the SDK's verdict."""
    lab = hooklab.HookLab(port=0, db=":memory:").start()
    try:
        cases = [c for c in CASES if c[0] in ("stripe", "github", "slack", "standardwebhooks")
                 and c[5] is not None]
        for i, (pid, secret, mistake, build, official, expected) in enumerate(cases):
            bin_ = f"b{i}"
            lab.secret(bin_, secret, provider=pid)
            req = urllib.request.Request(lab.url_for(bin_), data=BODY, method="POST",
                                         headers={"Content-Type": "application/json", **build()})
            with urllib.request.urlopen(req, timeout=10) as resp:
                resp.read()
            cap = lab.wait(1, bin=bin_, timeout=10)[-1]
            sent = {k: v for k, v in cap.headers}
            assert official(secret, sent, cap.body) is expected, (pid, mistake)
            assert cap.verified is expected, (pid, mistake, cap.verify_reason)
    finally:
        lab.stop()


def test_reason_names_the_difference():
    t = _now()
    sig = _hex("whsec_demo", f"{t}.".encode() + BODY)
    cases = {
        f"t={t},v1={sig.upper()}": "is uppercase",
        f"t={t},v1={_mixed(sig)}": "is in mixed case",
        f"t={t}, v1={sig}": "has a space after the ','",
    }
    for header, said in cases.items():
        v = verify_signature("stripe", "whsec_demo", {"Stripe-Signature": header}, BODY)
        assert not v.valid and v.reason.endswith(said), v.reason
        assert "Stripe" in v.reason and "lowercase hex" in v.reason
    gsig = _hex("k", BODY)
    v = verify_signature("github", "k", {"X-Hub-Signature-256": "SHA256=" + gsig}, BODY)
    assert v.reason.endswith("writes the prefix 'SHA256='") and "sha256=<lowercase hex>" in v.reason
    # a wrong signature stays a plain mismatch
    v = verify_signature("github", "k", {"X-Hub-Signature-256": "sha256=" + "AB" * 32}, BODY)
    assert v.reason.startswith("signature mismatch"), v.reason
    now = datetime.now(timezone.utc)
    headers = _swh("webhook", lambda s: "v1," + unpadded(s))()
    v = verify_signature("standardwebhooks", WHSEC, headers, BODY, now=now)
    assert v.reason.endswith("lacks the '=' padding") and "v1,<standard base64" in v.reason


# -- the schemes of their own (HubSpot, Twilio's body hash, Mailgun, Braintree) ------------------
def _hubspot_v3(mut: Callable[[str], str]) -> tuple[dict[str, str], str]:
    ts = str(_now() * 1000)
    sig = _b64("hs_demo", f"POST{URL}".encode() + BODY + ts.encode())
    return {"X-HubSpot-Signature-v3": mut(sig), "X-HubSpot-Request-Timestamp": ts}, ts


@pytest.mark.parametrize("mistake,mut,expected", [
    ("canonical", same, True),
    ("base64 without '=' padding", unpadded, False),
])
def test_hubspot_v3_as_its_sdk(mistake, mut, expected):
    signature = pytest.importorskip("hubspot.utils.signature")
    headers, ts = _hubspot_v3(mut)
    theirs = signature.Signature.is_valid(
        signature=headers["X-HubSpot-Signature-v3"], client_secret="hs_demo",
        request_body=BODY.decode(), http_uri=URL, signature_version="v3", timestamp=ts)
    assert theirs is expected
    v = verify_signature("hubspot", "hs_demo", headers, BODY, url=URL)
    assert v.valid is expected, v.reason
    assert expected or v.reason.startswith(FORM), v.reason


@pytest.mark.parametrize("mistake,mut,expected", [
    ("canonical", same, True), ("uppercase hex", upper, False), ("mixed-case hex", _mixed, False),
])
def test_hubspot_v1_as_its_sdk(mistake, mut, expected):
    signature = pytest.importorskip("hubspot.utils.signature")
    sig = mut(hashlib.sha256(b"hs_demo" + BODY).hexdigest())
    theirs = signature.Signature.is_valid(signature=sig, client_secret="hs_demo",
                                          request_body=BODY.decode(), signature_version="v1")
    assert theirs is expected
    v = verify_signature("hubspot", "hs_demo", {"X-HubSpot-Signature": sig,
                                                "X-HubSpot-Signature-Version": "v1"}, BODY)
    assert v.valid is expected, v.reason
    assert expected or v.reason.startswith(FORM), v.reason


@pytest.mark.parametrize("mistake,mut,expected", [
    ("canonical", same, True), ("uppercase body hash", upper, False),
])
def test_twilio_body_hash_as_its_sdk(mistake, mut, expected):
    rv = pytest.importorskip("twilio.request_validator")
    url = URL + "&bodySHA256=" + mut(hashlib.sha256(BODY).hexdigest())
    sig = _b64("tw_token", url.encode(), hashlib.sha1)
    theirs = rv.RequestValidator("tw_token").validate(url, BODY.decode(), sig)
    assert theirs is expected
    v = verify_signature("twilio", "tw_token", {"X-Twilio-Signature": sig,
                                                "Content-Type": "application/json"}, BODY, url=url)
    assert v.valid is expected, v.reason
    assert expected or "in value but not in form" in v.reason, v.reason


@pytest.mark.parametrize("mistake,mut,expected", [
    ("canonical", same, True), ("uppercase hex", upper, False),
])
def test_mailgun_as_its_documented_check(mistake, mut, expected):
    ts, token = str(_now()), "tok-" + "a" * 46
    sig = mut(_hex("mg_demo", (ts + token).encode()))
    # Mailgun's docs: hmac.compare_digest(str(signature), hexdigest of timestamp + token)
    assert hmac.compare_digest(sig, _hex("mg_demo", (ts + token).encode())) is expected
    body = json.dumps({"signature": {"timestamp": ts, "token": token, "signature": sig},
                       "event-data": {"event": "delivered"}}).encode()
    v = verify_signature("mailgun", "mg_demo", {"Content-Type": "application/json"}, body)
    assert v.valid is expected, v.reason
    assert expected or v.reason.startswith(FORM), v.reason


@pytest.mark.parametrize("mistake,mut,expected", [
    ("canonical", lambda s: s, True), ("uppercase hex", upper, False),
])
def test_braintree_as_its_sdk(mistake, mut, expected):
    bt = pytest.importorskip("braintree")
    payload = base64.b64encode(b'<notification><kind>check</kind><subject><check type="boolean">'
                               b"true</check></subject></notification>\n").decode()
    key = hashlib.sha1(b"privkey-456").digest()
    bt_signature = "pubkey123|" + mut(hmac.new(key, payload.encode(), hashlib.sha1).hexdigest())
    gateway = bt.BraintreeGateway(bt.Configuration(bt.Environment.Sandbox, merchant_id="m",
                                                   public_key="pubkey123",
                                                   private_key="privkey-456"))
    try:
        theirs = gateway.webhook_notification.parse(bt_signature, payload).kind == "check"
    except bt.exceptions.invalid_signature_error.InvalidSignatureError:
        theirs = False
    assert theirs is expected
    body = urlencode({"bt_signature": bt_signature, "bt_payload": payload}).encode()
    v = verify_signature("braintree", "pubkey123:privkey-456",
                         {"Content-Type": "application/x-www-form-urlencoded"}, body)
    assert v.valid is expected, v.reason
    assert expected or v.reason.startswith(FORM), v.reason


ADYEN_KEY = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"


@pytest.mark.parametrize("mistake,mut,expected", [
    ("canonical", same, True), ("base64 without '=' padding", unpadded, False),
])
def test_adyen_item_as_its_sdk(mistake, mut, expected):
    util = pytest.importorskip("Adyen.util")
    item = {"pspReference": "7914073381342284", "originalReference": "",
            "merchantAccountCode": "TestMerchant", "merchantReference": "TestPayment-1407325143704",
            "amount": {"value": 1130, "currency": "EUR"}, "eventCode": "AUTHORISATION",
            "success": "true"}
    flat = {**item, "value": 1130, "currency": "EUR"}
    sig = mut(util.generate_notification_sig(flat, ADYEN_KEY).decode())
    item["additionalData"] = {"hmacSignature": sig}
    theirs = util.is_valid_hmac_notification({**flat, "additionalData": {"hmacSignature": sig}},
                                             ADYEN_KEY)
    assert theirs is expected
    body = json.dumps({"live": "false",
                       "notificationItems": [{"NotificationRequestItem": item}]}).encode()
    v = verify_signature("adyen", ADYEN_KEY, {"Content-Type": "application/json"}, body)
    assert v.valid is expected, v.reason
    assert expected or FORM in v.reason, v.reason


@pytest.mark.parametrize("mistake,mut,expected", [
    ("canonical", same, True), ("base64 without '=' padding", unpadded, False),
])
def test_adyen_header_as_its_sdk(mistake, mut, expected):
    util = pytest.importorskip("Adyen.util")
    sig = mut(util.generate_payload_sig(BODY, ADYEN_KEY).decode())
    assert util.is_valid_hmac_payload(sig, ADYEN_KEY, BODY) is expected
    v = verify_signature("adyen", ADYEN_KEY, {"HmacSignature": sig}, BODY)
    assert v.valid is expected, v.reason
    assert expected or v.reason.startswith(FORM), v.reason


@pytest.mark.parametrize("mistake,mut,expected", [
    ("canonical", same, True), ("uppercase body hash", upper, False),
])
def test_netlify_body_claim_as_its_documented_check(mistake, mut, expected):
    jwt = pytest.importorskip("jwt")
    claim = mut(hashlib.sha256(BODY).hexdigest())
    token = jwt.encode({"iss": "netlify", "sha256": claim}, "nf_demo_secret_0123456789abcdef_32b",
                       algorithm="HS256")
    # Netlify's docs: the JWS verifies with the secret, iss is netlify, and its sha256 claim is
    # the body's hex SHA-256 (compared as text)
    decoded = jwt.decode(token, "nf_demo_secret_0123456789abcdef_32b", algorithms=["HS256"],
                         issuer="netlify")
    assert (decoded["sha256"] == hashlib.sha256(BODY).hexdigest()) is expected
    v = verify_signature("netlify", "nf_demo_secret_0123456789abcdef_32b",
                         {"X-Webhook-Signature": token}, BODY)
    assert v.valid is expected, v.reason
    assert expected or "in value but not in form" in v.reason, v.reason


@pytest.mark.parametrize("mistake,join,expected", [
    ("canonical list", ",", True), ("space after the comma", ", ", False),
])
def test_plivo_v3_list_as_its_sdk(mistake, join, expected):
    sv3 = pytest.importorskip("plivo.utils.signature_v3")
    form = {"From": "14155550100", "To": "14155550101", "Text": "hi there"}
    body = urlencode(form).encode()
    req = sign_request("plivo", "plivo_token_demo", url=URL, body=body,
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    headers = dict(req.headers)
    headers["X-Plivo-Signature-V3"] = "AAAA" + join + headers["X-Plivo-Signature-V3"]
    del headers["X-Plivo-Signature-V2"]
    theirs = sv3.validate_v3_signature("POST", URL, headers["X-Plivo-Signature-V3-Nonce"],
                                       "plivo_token_demo", headers["X-Plivo-Signature-V3"], form)
    assert theirs is expected
    v = verify_signature("plivo", "plivo_token_demo",
                         {**headers, "Content-Type": "application/x-www-form-urlencoded"}, body,
                         url=URL)
    assert v.valid is expected, v.reason
    assert expected or v.reason.startswith(FORM), v.reason


@pytest.mark.parametrize("event", ["delivered", "opened", "failed", "complained"])
def test_a_legacy_mailgun_form_is_stored_with_its_event(event):
    """Mailgun's legacy webhooks post a form (``event=delivered&timestamp=...&token=...&
    signature=...``, the signature over timestamp + token): the capture's event type is the
    form's ``event`` (it was None), and it verifies."""
    lab = hooklab.start(port=0, db=":memory:")
    try:
        lab.secret("mg", "key-abc", provider="mailgun")
        ts, token = str(int(time.time())), "t0k" * 16 + "en"
        sig = hmac.new(b"key-abc", (ts + token).encode(), hashlib.sha256).hexdigest()
        body = urlencode({"event": event, "recipient": "a@example.com", "timestamp": ts,
                          "token": token, "signature": sig}).encode()
        urllib.request.urlopen(urllib.request.Request(
            lab.url_for("mg"), data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"}), timeout=10).read()
        cap = lab.wait(1, timeout=10)[-1]
        assert (cap.provider, cap.event_type, cap.verified) == ("mailgun", event, True), cap.verify_reason
    finally:
        lab.stop()
