"""Providers with their own shape: Standard Webhooks / Svix, Twilio, Mailgun, Discord.

Private module; use :func:`hooklab.signatures.verify_signature` and
:func:`hooklab.signatures.sign_request`.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

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
    hmac_digest,
    hmac_hex,
    parse_ts,
    same,
    short,
)

# -- Standard Webhooks and Svix ---------------------------------------------------------------
# webhook-id / webhook-timestamp / webhook-signature ("v1,<b64> v1,<b64>"), secret whsec_<b64>,
# signed content "<id>.<timestamp>.<body>". Svix sends the same with svix-* header names.


def _swh_key(secret: str | bytes) -> bytes:
    if isinstance(secret, bytes):
        key = secret
    else:
        s = secret.strip()
        if s.startswith("whpk_"):
            raise Invalid("whpk_ public keys (v1a asymmetric signatures) are not supported; "
                          "pass the whsec_ signing secret")
        if s.startswith("whsec_"):
            try:
                key = b64decode(s[len("whsec_"):], "secret")
            except Invalid:
                raise Invalid("secret is not valid base64 after whsec_") from None
        else:
            try:
                key = b64decode(s, "secret")
            except Invalid:
                raise Invalid("secret is not valid base64 (Standard Webhooks secrets look like "
                              "whsec_<base64>)") from None
    if not key:
        raise Invalid("empty secret")
    return key


def _swh_verify(inc: Incoming, prefixes: tuple[str, str]) -> str:
    def get(suffix: str) -> str:
        for p in prefixes:
            value = inc.opt(f"{p}-{suffix}")
            if value is not None:
                return value
        raise Invalid(f"missing header {prefixes[0]}-{suffix}")

    msg_id, ts_raw, sig_raw = get("id"), get("timestamp"), get("signature")
    ts = parse_ts(ts_raw, f"{prefixes[0]}-timestamp")
    key = _swh_key(inc.secret)
    entries = [e.partition(",") for e in sig_raw.split()]
    v1 = [sig for version, comma, sig in entries if comma and version == "v1"]
    if not v1:
        found = sorted({version for version, _, _ in entries})
        raise Invalid(f"no v1 signature in {prefixes[0]}-signature (expected 'v1,<base64>'"
                      + (f", found {short(' '.join(found))})" if found else ")"))
    expected = hmac_digest(key, f"{msg_id}.{ts}.".encode() + inc.body)
    given: list[Any] = []
    for sig in v1:
        try:
            given.append(b64decode(sig, "signature"))
        except Invalid:
            given.append(None)
    return inc.conclude(first_match(expected, given), len(v1), ts)


def _swh_sign(out: Outgoing, prefix: str) -> SignedRequest:
    try:
        key = _swh_key(out.secret)
    except Invalid as exc:
        raise ValueError(str(exc)) from None
    sig = hmac_b64(key, f"{out.msg_id}.{out.timestamp}.".encode() + out.body)
    return out.done({f"{prefix}-id": out.msg_id, f"{prefix}-timestamp": str(out.timestamp),
                     f"{prefix}-signature": f"v1,{sig}"})


# -- Twilio: base64(HMAC-SHA1(url + sorted POST params)); JSON bodies via ?bodySHA256=<hex> ------
_ALGOS = {"HMAC_SHA1": hashlib.sha1, "HMAC_SHA256": hashlib.sha256}
_TWILIO_HINT = ("signature mismatch: Twilio signs the exact URL it called (scheme, host, port, "
                "path, query) plus the POST parameters: did a proxy or tunnel change the URL "
                "(pass url=<the URL configured at Twilio>)? is the auth token from another account?")


def _twilio_algo(headers: dict[str, str]) -> Any:
    settings = headers.get("x-twilio-webhooks-signature-settings") or ""
    for part in settings.split(","):
        name, eq, value = part.partition("=")
        if eq and name.strip() == "algorithm" and value.strip():
            algo = _ALGOS.get(value.strip().upper())
            if algo is None:
                raise Invalid(f"unsupported Twilio signature algorithm {short(value.strip())}")
            return algo
    return hashlib.sha1


def _is_form(headers: dict[str, str], body: bytes) -> bool:
    ct = headers.get("content-type", "").lower()
    if ct:
        return "x-www-form-urlencoded" in ct
    return bool(body) and body.lstrip()[:1] not in (b"{", b"[")


def _twilio_data(url: str, params: dict[str, Any]) -> bytes:
    parts = [url]
    for name in sorted(set(params)):
        values = params[name]
        values = values if isinstance(values, (list, tuple)) else [values]
        parts.extend(name + str(v) for v in sorted({str(v) for v in values}))
    return "".join(parts).encode("utf-8")


def _url_variants(url: str) -> list[str]:
    """The URL as given, without its port, and with the default port (as Twilio's libraries)."""
    out = [url]
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.port:
            out.append(parts._replace(netloc=parts.netloc.rsplit(":", 1)[0]).geturl())
        elif host:
            port = 443 if parts.scheme == "https" else 80
            out.append(parts._replace(netloc=f"{parts.netloc}:{port}").geturl())
    except ValueError:
        pass
    return out


def _twilio_verify(inc: Incoming) -> str:
    sig = inc.header("X-Twilio-Signature")
    if not inc.url:
        raise Invalid("twilio signs the full request URL: pass url=<the URL Twilio called>")
    algo = _twilio_algo(inc.headers)
    try:
        query = parse_qs(urlsplit(inc.url).query, keep_blank_values=True)
    except ValueError:
        raise Invalid(f"malformed url {short(inc.url, 80)}") from None
    params: dict[str, Any] = {}
    if "bodySHA256" in query:
        if not same(hashlib.sha256(inc.body).hexdigest(), query["bodySHA256"][0].lower()):
            raise Invalid("bodySHA256 in the URL does not match the body: "
                          "was the body re-serialised?")
    elif _is_form(inc.headers, inc.body):
        params = parse_qs(inc.body.decode("utf-8", "replace"), keep_blank_values=True)
    key = inc.key
    candidates = [hmac_b64(key, _twilio_data(u, params), algo) for u in _url_variants(inc.url)]
    index = first_match(sig.strip(), candidates)
    note = "url port variant" if index else ""
    return inc.conclude(None if index is None else 0, 1, mismatch=_TWILIO_HINT, note=note)


def _with_body_hash(url: str, digest: str) -> str:
    base, hash_sep, fragment = url.partition("#")
    if re.search(r"[?&]bodySHA256=", base):
        base = re.sub(r"([?&]bodySHA256=)[^&]*", lambda m: m.group(1) + digest, base)
    else:
        base += ("&" if "?" in base else "?") + "bodySHA256=" + digest
    return base + hash_sep + fragment


def _twilio_sign(out: Outgoing) -> SignedRequest:
    url = out.need_url("twilio")
    try:
        algo = _twilio_algo({k.lower(): v for k, v in out.headers.items()})
    except Invalid as exc:
        raise ValueError(str(exc)) from None
    params: dict[str, Any] = {}
    if out.params is not None:
        params = out.params
    elif out.method.upper() == "POST" and out.body:
        if _is_form({k.lower(): v for k, v in out.headers.items()}, out.body):
            params = parse_qs(out.body.decode("utf-8"), keep_blank_values=True)
        else:
            url = _with_body_hash(url, hashlib.sha256(out.body).hexdigest())
    sig = hmac_b64(out.key, _twilio_data(url, params), algo)
    return out.done({"X-Twilio-Signature": sig}, url=url)


# -- Mailgun: {"signature": {"timestamp", "token", "signature"}} in the body ------------------
def _mailgun_fields(inc: Incoming) -> dict[str, Any]:
    if _is_form(inc.headers, inc.body):
        form = parse_qs(inc.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {k: v[0] for k, v in form.items()}
    try:
        data = json.loads(inc.body)
    except (ValueError, RecursionError):
        raise Invalid("mailgun body is not JSON (Mailgun puts its signature in the body)") from None
    sig = data.get("signature") if isinstance(data, dict) else None
    return sig if isinstance(sig, dict) else {}


def _mailgun_verify(inc: Incoming) -> str:
    fields = _mailgun_fields(inc)
    missing = [k for k in ("timestamp", "token", "signature") if not isinstance(
        fields.get(k), (str, int)) or isinstance(fields.get(k), bool)]
    if missing:
        raise Invalid("no Mailgun signature in the body: expected a 'signature' object with "
                      f"timestamp, token and signature (missing {', '.join(missing)})")
    ts_raw = str(fields["timestamp"])
    ts = parse_ts(ts_raw, "signature.timestamp")
    expected = hmac_hex(inc.key, (ts_raw + str(fields["token"])).encode("utf-8"))
    given = [str(fields["signature"]).lower(), str(fields.get("parent-signature", "")).lower()]
    index = first_match(expected, given)
    hint = MISMATCH + " (Mailgun signs with the HTTP webhook signing key, not the API key)"
    note = "parent-signature" if index == 1 else ""
    return inc.conclude(None if index is None else 0, 1, ts, mismatch=hint, note=note)


def _mailgun_sign(out: Outgoing) -> SignedRequest:
    token = secrets.token_hex(25)
    fields = {"timestamp": str(out.timestamp), "token": token,
              "signature": hmac_hex(out.key, f"{out.timestamp}{token}".encode())}
    lower = {k.lower(): v for k, v in out.headers.items()}
    if out.body and _is_form(lower, out.body):
        return out.done({}, body=out.body + b"&" + urlencode(fields).encode())
    data = json.loads(out.body) if out.body.strip() else {}
    if not isinstance(data, dict):
        raise ValueError("mailgun signs a JSON object body")
    data["signature"] = fields
    return out.done({}, body=json.dumps(data).encode())


# -- Discord: Ed25519 over "<X-Signature-Timestamp><body>", public key as the secret ----------
def _ed25519() -> Any:
    try:
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError:
        raise Invalid("discord (Ed25519) needs the 'cryptography' package: "
                      "pip install cryptography  (or hooklab[ed25519])") from None
    return ed25519


def _key32(secret: str | bytes, what: str) -> bytes:
    if isinstance(secret, bytes) and len(secret) == 32:
        return secret
    s = secret.decode("ascii", "replace") if isinstance(secret, bytes) else secret
    try:
        raw = bytes.fromhex(s.strip())
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise Invalid(f"secret must be the {what} (64 hex characters)")
    return raw


def _discord_verify(inc: Incoming) -> str:
    sig_hex = inc.header("X-Signature-Ed25519")
    ts_raw = inc.header("X-Signature-Timestamp")
    pub = _key32(inc.secret, "application's Ed25519 public key")
    try:
        sig = bytes.fromhex(sig_hex)
    except ValueError:
        sig = b""
    if len(sig) != 64:
        raise Invalid(f"malformed X-Signature-Ed25519: expected 128 hex characters, "
                      f"got {short(sig_hex)}")
    ed = _ed25519()
    from cryptography.exceptions import InvalidSignature

    try:
        ed.Ed25519PublicKey.from_public_bytes(pub).verify(sig, ts_raw.encode() + inc.body)
        ok = True
    except (InvalidSignature, ValueError):
        ok = False
    ts = int(ts_raw) if ts_raw.isdigit() else None
    hint = MISMATCH.replace("the secret for another endpoint", "the public key of another app")
    return inc.conclude(0 if ok else None, 1, ts, mismatch=hint)


def _discord_sign(out: Outgoing) -> SignedRequest:
    try:
        ed = _ed25519()
        seed = _key32(out.secret, "Ed25519 private key (to sign; verify with the public key)")
    except Invalid as exc:
        raise ValueError(str(exc)) from None
    ts = str(out.timestamp)
    sig = ed.Ed25519PrivateKey.from_private_bytes(seed).sign(ts.encode() + out.body)
    return out.done({"X-Signature-Ed25519": sig.hex(), "X-Signature-Timestamp": ts})


def ed25519_keypair() -> tuple[str, str]:
    """A fresh ``(private_key_hex, public_key_hex)`` pair for signing Discord-style requests."""
    try:
        ed = _ed25519()
    except Invalid as exc:
        raise ImportError(str(exc)) from None
    from cryptography.hazmat.primitives import serialization as ser

    priv = ed.Ed25519PrivateKey.generate()
    raw = priv.private_bytes(ser.Encoding.Raw, ser.PrivateFormat.Raw, ser.NoEncryption())
    pub = priv.public_key().public_bytes(ser.Encoding.Raw, ser.PublicFormat.Raw)
    return raw.hex(), pub.hex()


PROVIDERS: dict[str, Provider] = {
    "discord": Provider(_discord_verify, _discord_sign),
    "mailgun": Provider(_mailgun_verify, _mailgun_sign),
    "standardwebhooks": Provider(lambda i: _swh_verify(i, ("webhook", "svix")),
                                 lambda o: _swh_sign(o, "webhook")),
    "svix": Provider(lambda i: _swh_verify(i, ("svix", "webhook")),
                     lambda o: _swh_sign(o, "svix")),
    "twilio": Provider(_twilio_verify, _twilio_sign),
}
