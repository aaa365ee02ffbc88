"""Header-borne HMAC providers: Stripe, GitHub, Shopify, Slack, Paddle, Zoom, Square, GitLab.

Formats follow each provider's public webhook documentation (private module; use
:func:`hooklab.signatures.verify_signature` and :func:`hooklab.signatures.sign`).
"""

from __future__ import annotations

import hashlib

from ._base import (
    MISMATCH,
    Incoming,
    Invalid,
    Outgoing,
    Provider,
    SignedRequest,
    b64decode,
    first_match,
    hmac_b64,
    hmac_hex,
    parse_ts,
    same,
    short,
)


def _pairs(raw: str, sep: str) -> list[tuple[str, str]]:
    out = []
    for item in raw.split(sep):
        k, eq, v = item.strip().partition("=")
        if eq:
            out.append((k.strip(), v.strip()))
    return out


def _hex(value: str) -> str:
    return value.strip().lower()


# -- Stripe: Stripe-Signature: t=<ts>,v1=<hex>[,v1=<hex>...] over "<ts>.<body>" ----------------
def _stripe_verify(inc: Incoming) -> str:
    pairs = _pairs(inc.header("Stripe-Signature"), ",")
    ts_raw = next((v for k, v in pairs if k == "t"), None)
    if ts_raw is None:
        raise Invalid("malformed Stripe-Signature: no t=<timestamp> (expected 't=...,v1=...')")
    ts = parse_ts(ts_raw, "Stripe-Signature t=")
    sigs = [_hex(v) for k, v in pairs if k == "v1"]
    if not sigs:
        others = sorted({k for k, _ in pairs if k != "t"})
        raise Invalid("no v1 signature in Stripe-Signature"
                      + (f" (found only {', '.join(others)})" if others else ""))
    expected = hmac_hex(inc.key, f"{ts}.".encode() + inc.body)
    hint = MISMATCH
    if isinstance(inc.secret, str) and not inc.secret.startswith("whsec_"):
        hint += " (Stripe endpoint secrets start with whsec_)"
    # Stripe rejects only old timestamps; the official library ignores future ones
    return inc.conclude(first_match(expected, sigs), len(sigs), ts, mismatch=hint, future=False)


def _stripe_sign(out: Outgoing) -> SignedRequest:
    sig = hmac_hex(out.key, f"{out.timestamp}.".encode() + out.body)
    return out.done({"Stripe-Signature": f"t={out.timestamp},v1={sig}"})


# -- GitHub: X-Hub-Signature-256: sha256=<hex> (legacy X-Hub-Signature: sha1=<hex>) -----------
def _github_verify(inc: Incoming) -> str:
    value, name, algo, note = inc.opt("X-Hub-Signature-256"), "X-Hub-Signature-256", "sha256", ""
    if value is None and inc.opt("X-Hub-Signature") is not None:
        value, name, algo = inc.opt("X-Hub-Signature"), "X-Hub-Signature", "sha1"
        note = "legacy X-Hub-Signature sha1"
    if value is None:
        raise Invalid("missing header X-Hub-Signature-256 (was the webhook created without a secret?)")
    prefix, _, sig = value.partition("=")
    if prefix.strip().lower() != algo or not sig:
        raise Invalid(f"malformed {name}: expected '{algo}=<hex>', got {short(value)}")
    expected = hmac_hex(inc.key, inc.body, getattr(hashlib, algo))
    return inc.conclude(first_match(expected, [_hex(sig)]), 1, note=note)


def _github_sign(out: Outgoing) -> SignedRequest:
    return out.done({
        "X-Hub-Signature-256": "sha256=" + hmac_hex(out.key, out.body),
        "X-Hub-Signature": "sha1=" + hmac_hex(out.key, out.body, hashlib.sha1),
    })


# -- Shopify: X-Shopify-Hmac-Sha256: base64(HMAC-SHA256(body)) ------------------------------
def _shopify_verify(inc: Incoming) -> str:
    given = b64decode(inc.header("X-Shopify-Hmac-Sha256"), "X-Shopify-Hmac-Sha256")
    expected = b64decode(hmac_b64(inc.key, inc.body), "expected")
    hint = MISMATCH + " (Shopify signs with the app's client secret, not an access token)"
    return inc.conclude(first_match(expected, [given]), 1, mismatch=hint)


def _shopify_sign(out: Outgoing) -> SignedRequest:
    return out.done({"X-Shopify-Hmac-Sha256": hmac_b64(out.key, out.body)})


# -- Slack and Zoom: "v0=" + hex(HMAC-SHA256("v0:<ts>:<body>")) -----------------------------
def _v0_verify(inc: Incoming, sig_header: str, ts_header: str) -> str:
    ts_raw = inc.header(ts_header)
    sig = inc.header(sig_header)
    ts = parse_ts(ts_raw, ts_header)
    version, eq, digest = sig.partition("=")
    if not eq or version.strip() != "v0":
        raise Invalid(f"malformed {sig_header}: expected 'v0=<hex>', got {short(sig)}")
    expected = hmac_hex(inc.key, f"v0:{ts_raw.strip()}:".encode() + inc.body)
    return inc.conclude(first_match(expected, [_hex(digest)]), 1, ts)


def _v0_sign(out: Outgoing, sig_header: str, ts_header: str) -> SignedRequest:
    sig = hmac_hex(out.key, f"v0:{out.timestamp}:".encode() + out.body)
    return out.done({ts_header: str(out.timestamp), sig_header: f"v0={sig}"})


def _slack_verify(inc: Incoming) -> str:
    return _v0_verify(inc, "X-Slack-Signature", "X-Slack-Request-Timestamp")


def _slack_sign(out: Outgoing) -> SignedRequest:
    return _v0_sign(out, "X-Slack-Signature", "X-Slack-Request-Timestamp")


def _zoom_verify(inc: Incoming) -> str:
    return _v0_verify(inc, "x-zm-signature", "x-zm-request-timestamp")


def _zoom_sign(out: Outgoing) -> SignedRequest:
    return _v0_sign(out, "x-zm-signature", "x-zm-request-timestamp")


# -- Paddle Billing: Paddle-Signature: ts=<ts>;h1=<hex>[;h1=...] over "<ts>:<body>" -----------
def _paddle_verify(inc: Incoming) -> str:
    raw = inc.opt("Paddle-Signature")
    if raw is None:
        if b"p_signature" in inc.body:
            raise Invalid("Paddle Classic p_signature (RSA) is not supported; "
                          "only Paddle Billing's Paddle-Signature header")
        raise Invalid("missing header Paddle-Signature")
    pairs = _pairs(raw, ";")
    ts_raw = next((v for k, v in pairs if k == "ts"), None)
    if ts_raw is None:
        raise Invalid("malformed Paddle-Signature: no ts=<timestamp> (expected 'ts=...;h1=...')")
    ts = parse_ts(ts_raw, "Paddle-Signature ts=")
    sigs = [_hex(v) for k, v in pairs if k == "h1"]
    if not sigs:
        raise Invalid("no h1 signature in Paddle-Signature")
    expected = hmac_hex(inc.key, f"{ts_raw}:".encode() + inc.body)
    return inc.conclude(first_match(expected, sigs), len(sigs), ts)


def _paddle_sign(out: Outgoing) -> SignedRequest:
    sig = hmac_hex(out.key, f"{out.timestamp}:".encode() + out.body)
    return out.done({"Paddle-Signature": f"ts={out.timestamp};h1={sig}"})


# -- Square: x-square-hmacsha256-signature: base64(HMAC-SHA256(notification_url + body)) ------
_SQUARE_URL_HINT = (" (Square signs the notification URL exactly as configured in the"
                    " subscription: pass url=<that URL> when a tunnel or proxy is in between)")


def _square_verify(inc: Incoming) -> str:
    value, name, algo, note = (inc.opt("x-square-hmacsha256-signature"),
                               "x-square-hmacsha256-signature", hashlib.sha256, "")
    if value is None and inc.opt("x-square-signature") is not None:
        value, name, algo = inc.opt("x-square-signature"), "x-square-signature", hashlib.sha1
        note = "legacy x-square-signature sha1"
    if value is None:
        raise Invalid("missing header x-square-hmacsha256-signature")
    if not inc.url:
        raise Invalid("square signs the notification URL plus the body: pass url="
                      "<the notification URL configured at Square>")
    given = b64decode(value, name)
    expected = b64decode(hmac_b64(inc.key, inc.url.encode() + inc.body, algo), "expected")
    hint = f"{MISMATCH}{_SQUARE_URL_HINT}; signed against url {short(inc.url, 80)}"
    return inc.conclude(first_match(expected, [given]), 1, mismatch=hint, note=note)


def _square_sign(out: Outgoing) -> SignedRequest:
    url = out.need_url("square")
    return out.done({"x-square-hmacsha256-signature": hmac_b64(out.key, url.encode() + out.body)})


# -- GitLab: X-Gitlab-Token is the secret token itself --------------------------------------
def _gitlab_verify(inc: Incoming) -> str:
    token = inc.header("X-Gitlab-Token", " (was the webhook created without a secret token?)")
    if not same(token, inc.key):
        raise Invalid("X-Gitlab-Token does not match the secret token "
                      "(was the token for another project or group hook?)")
    return "ok"


def _gitlab_sign(out: Outgoing) -> SignedRequest:
    secret = out.secret.decode("utf-8") if isinstance(out.secret, bytes) else out.secret
    return out.done({"X-Gitlab-Token": secret})


PROVIDERS: dict[str, Provider] = {
    "github": Provider(_github_verify, _github_sign),
    "gitlab": Provider(_gitlab_verify, _gitlab_sign),
    "paddle": Provider(_paddle_verify, _paddle_sign),
    "shopify": Provider(_shopify_verify, _shopify_sign),
    "slack": Provider(_slack_verify, _slack_sign),
    "square": Provider(_square_verify, _square_sign),
    "stripe": Provider(_stripe_verify, _stripe_sign),
    "zoom": Provider(_zoom_verify, _zoom_sign),
}
