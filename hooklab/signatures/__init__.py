"""Webhook signature verification and signing, per provider.

Verify what arrived (never raises; the reason says what to fix):

>>> body = b"Hello, World!"
>>> headers = sign("github", "It's a Secret to Everybody", body)
>>> headers["X-Hub-Signature-256"]
'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17'
>>> verify_signature("github", "It's a Secret to Everybody", headers, body)
Verification(valid=True, provider='github', reason='ok')
>>> verify_signature("github", "It's a Secret to Everybody", headers, body + b"!").reason
'signature mismatch: was the body re-serialised? was the secret for another endpoint?'
>>> verify_signature("stripe", "whsec_x", {}, b"{}").reason
'missing header Stripe-Signature'

Sign what you send; :func:`sign_request` also returns the URL and body to use, for the
providers whose signature changes them (Twilio JSON bodies, Mailgun):

>>> url, hdrs, body = sign_request("twilio", "token", url="https://example.com/sms",
...                                body=b'{"a": 1}', headers={"Content-Type": "application/json"})
>>> url.startswith("https://example.com/sms?bodySHA256="), list(hdrs)
(True, ['X-Twilio-Signature'])

Secrets are never logged, stored or echoed in a reason. Comparisons are constant-time.
"""

from __future__ import annotations

import math
import secrets as _secrets
import string
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from ..jsonread import MAX_PARSED, body_coding, decode_body
from ..providers import DEFAULT_TOLERANCE, TABLE, detect, unknown_provider
from ._base import (
    MATCHED,
    NO_PROVIDER,
    PROVIDER_IDS,
    Incoming,
    Invalid,
    Outgoing,
    Scheme,
    SignedRequest,
    format_time,
    parse_time,
    short,
)
from ._hmac import SCHEMES as _COMMON
from ._special import SCHEMES as _SPECIAL
from ._special import keypair

__all__ = [
    "DEFAULT_TOLERANCE",
    "SIGNING_PROVIDERS",
    "SignedRequest",
    "Verification",
    "check_secret",
    "ed25519_keypair",
    "keypair",
    "sign",
    "sign_request",
    "signed_inputs",
    "verify_signature",
]


_SCHEMES: dict[str, Scheme] = {**_COMMON, **_SPECIAL}

#: provider ids whose deliveries :func:`verify_signature` checks and :func:`sign` makes
SIGNING_PROVIDERS: tuple[str, ...] = tuple(sorted(TABLE))


#: what a capture's reason adds when the signature came as a trailer field (after a chunked
#: body), which is not read
TRAILER_NOTE = "came as a trailer field (after the chunked body), not in the header section"


def trailer_note(sender: str | None, headers: list[tuple[str, str]],
                 section: list[tuple[str, str]],
                 verifies: Callable[[list[tuple[str, str]]], bool]) -> str:
    """What the reason of a capture that did not verify from its header section (``section``,
    the first fields of ``headers``) adds when its trailer fields (``headers`` after it) hold
    the signature: the provider's (``sender``'s) signature header among them, or a signature
    that ``verifies(headers)`` with them; ``""`` otherwise. The checks read the header
    section only, as the provider's own receivers do (they never see trailers): on arrival,
    and :meth:`hooklab.Capture.verify` of a stored or imported capture alike.

    >>> note = trailer_note("stripe", [("A", "1"), ("Stripe-Signature", "t=1")], [("A", "1")],
    ...                     lambda headers: False)
    >>> note.startswith("; 'Stripe-Signature' came as a trailer field"), TRAILER_NOTE in note
    (True, True)
    >>> trailer_note("stripe", [("A", "1"), ("X-Other", "2")], [("A", "1")], lambda h: False)
    ''
    """
    trailers = headers[len(section):]
    names = list(dict.fromkeys(k for k, _ in trailers))
    row = TABLE.get(sender or "")
    sig = str(row.sig.get("header") or "").lower() if row is not None else ""
    named = [k for k in names if k.lower() == sig] if sig else []
    if not named:
        try:
            ok = verifies(headers)
        except Exception:  # noqa: BLE001 - a note only
            ok = False
        if not ok:
            return ""
        named = names
    shown = ", ".join(short(k) for k in named[:3]) + (", ..." if len(named) > 3 else "")
    return f"; {shown} {TRAILER_NOTE}: receivers read only the header section, so not checked"


def ed25519_keypair() -> tuple[str, str]:
    """A fresh ``(private_key_hex, public_key_hex)`` pair for signing Discord-style requests."""
    return keypair("discord")

_ID_CHARS = string.ascii_letters + string.digits


@dataclass(frozen=True)
class Verification:
    """The outcome of a signature check; truthy when valid.

    >>> v = Verification(False, "stripe", "missing header Stripe-Signature")
    >>> bool(v), v.reason
    (False, 'missing header Stripe-Signature')
    """

    valid: bool
    provider: str
    reason: str

    def __bool__(self) -> bool:
        return self.valid


def verify_signature(
    provider: str | None,
    secret: str | bytes,
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
    body: bytes,
    *,
    url: str | None = None,
    now: datetime | float | None = None,
    tolerance: float | None = None,
    method: str = "POST",
    received_url: str | None = None,
) -> Verification:
    """Check a webhook's signature; never raises.

    ``provider`` is one of :data:`SIGNING_PROVIDERS`, or ``None``/``""`` to detect it from the
    headers. ``headers`` is a mapping or a list of ``(name, value)`` pairs (case-insensitive).
    ``body`` must be the exact bytes received. ``url`` (and ``method``) are needed by providers
    that sign the URL (Twilio, Square, HubSpot, Plivo, Mandrill, Trello). ``now`` (aware datetime or epoch seconds, default the current time) and
    ``tolerance`` (seconds; ``0`` disables; ``None``: the provider's own window, as its docs
    and official SDK set it, e.g. Paddle 5 s, WorkOS 180 s, Box 600 s, 300 s where they say
    nothing) bound the signed timestamp. A provider that bounds the future otherwise keeps
    that bound under any ``tolerance`` (Stripe: none; Box: not ahead at all).
    ``received_url``: where ``url`` is not given, the URL the request arrived at (a capture's
    ``url``, as ``capture.verify()`` and the lab on arrival pass it): read as ``url`` is, but
    where a proxy (``X-Forwarded-*``) rewrote it, an endpoint the token names (monday.com's
    ``aud``) is compared by its path only, and the reason says so.

    >>> hdrs = sign("slack", "8f742231b10e8888abcd99yyyzzz85a5", b"x=1", timestamp=1531420618)
    >>> verify_signature("slack", "8f742231b10e8888abcd99yyyzzz85a5", hdrs, b"x=1",
    ...                  now=1531420618 + 412).reason
    'timestamp 412 s old, beyond tolerance 300 s (the signature itself matches)'
    """
    name = provider if isinstance(provider, str) else ""
    try:
        h = _headers(headers)
        wire = _body(body)
        content = _content(wire, h)
    except Invalid as exc:
        return Verification(False, name, str(exc))
    except Exception as exc:  # never raise on bad input
        return Verification(False, name, f"could not verify: {type(exc).__name__}")
    first = _verify(name, provider, secret, h, wire, url, now, tolerance, method, received_url)
    if first.valid or content is wire:
        return first
    # a transfer-coded body (gzip, chunked): the provider signed its content, or a sender
    # signed the bytes it put on the wire; an HMAC over either authenticates the same content
    second = _verify(name, provider, secret, h, content, url, now, tolerance, method,
                     received_url)
    if second.valid or not first.reason.endswith(MATCHED):
        return second
    return first  # (the wire bytes' signature matched; only its timestamp failed)


def _verify(name: str, provider: Any, secret: Any, h: dict[str, str], raw: bytes, url: Any,
            now: Any, tolerance: Any, method: Any, received_url: Any) -> Verification:
    """:func:`verify_signature` of ``raw``, the body as signed, its headers read (``h``)."""
    try:
        name = name.strip().lower()
        if not name:
            name = _detect(h, raw)
        entry = TABLE.get(name)
        if entry is None:
            return Verification(False, name, f"unknown provider {unknown_provider(provider if isinstance(provider, str) else name)}; supported: "
                                + ", ".join(SIGNING_PROVIDERS))
        impl = _SCHEMES[entry.scheme]
        if secret is None or not isinstance(secret, (str, bytes)):
            raise Invalid("no secret given" if secret is None else
                          f"secret must be str or bytes, not {type(secret).__name__}")
        if not (secret.strip() if isinstance(secret, str) else secret):
            raise Invalid("empty secret")
        given = url if isinstance(url, str) and url else None
        seen = received_url if given is None and isinstance(received_url, str) \
            and received_url else None
        incoming = Incoming(h, raw, secret, given or seen,
                            _epoch(now), _tolerance(
                                entry.tolerance if tolerance is None else tolerance),
                            method.upper() if isinstance(method, str) and method else "POST",
                            entry.ahead, url_received=seen is not None)
        return Verification(True, name, impl.verify(incoming, entry))
    except Invalid as exc:
        return Verification(False, name, str(exc))
    except Exception as exc:  # never raise on bad input
        return Verification(False, name, f"could not verify: {type(exc).__name__}")


def check_secret(provider: str, secret: str | bytes) -> None:
    """``ValueError`` when ``secret`` has not the form ``provider``'s secrets have, in the
    words :func:`sign_request` and :func:`verify_signature` use: a Standard Webhooks or Svix
    secret that is no base64 after ``whsec_``, an HMAC key that must be hex or base64
    (Onfleet, Adyen, Airtable). Other providers' secrets are any text: nothing to check.

    >>> check_secret("svix", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    >>> check_secret("svix", "whsec_!!notb64!!")
    Traceback (most recent call last):
    ...
    ValueError: secret is not valid base64 after whsec_
    """
    from ._hmac import check_key
    from ._special import check_ed25519_key

    entry = TABLE.get((provider or "").strip().lower())
    if entry is None or not isinstance(secret, (str, bytes)) or not secret:
        return
    try:
        check_key(secret, entry)
        check_ed25519_key(secret, entry)
    except Invalid as exc:
        raise ValueError(str(exc)) from None


def sign_request(
    provider: str,
    secret: str | bytes,
    *,
    url: str | None = None,
    body: bytes = b"",
    method: str = "POST",
    headers: Mapping[str, str] | None = None,
    timestamp: int | float | datetime | None = None,
    msg_id: str | None = None,
    params: dict[str, Any] | None = None,
) -> SignedRequest:
    """Sign a request as ``provider`` would: returns ``SignedRequest(url, headers, body)``.

    ``headers`` are the ones you are about to add to the request (only merge-in is needed:
    the returned ``headers`` holds just the signature headers). ``url`` and ``body`` come back
    changed only where the provider needs it: Twilio JSON bodies are signed via a
    ``bodySHA256`` query parameter, Mailgun signs inside the body. ``timestamp`` defaults to
    now, ``msg_id`` (Standard Webhooks, Svix) to a random ``msg_...``; Twilio form ``params``
    default to the parsed form body. Discord signs with the Ed25519 *private* key (hex); see
    :func:`ed25519_keypair`. Raises ``ValueError`` on an unknown provider or unusable input.

    >>> req = sign_request("stripe", "whsec_test", body=b"{}", timestamp=1700000000)
    >>> req.headers["Stripe-Signature"][:15], req.body
    ('t=1700000000,v1', b'{}')
    """
    name = (provider or "").strip().lower()
    entry = TABLE.get(name)
    if entry is None:
        raise ValueError(f"unknown provider {unknown_provider(str(provider))}; supported: "
                         f"{', '.join(SIGNING_PROVIDERS)}")
    if not isinstance(secret, (str, bytes)) or not secret:
        raise ValueError("a non-empty secret (str or bytes) is required")
    raw = _body(body)
    ts = int(time.time() if timestamp is None else _epoch(timestamp))
    out = Outgoing(secret, raw, url, ts, msg_id or _msg_id(), method,
                   params, dict(headers or {}))
    return _SCHEMES[entry.scheme].sign(out, entry)


def signed_inputs(provider: str, given: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """``timestamp`` / ``msg_id`` for :func:`sign_request` from headers ``given`` (a user's, to
    :func:`hooklab.send`) that the provider's signature covers apart from the signature itself
    (Slack's ``X-Slack-Request-Timestamp``, Standard Webhooks' ``webhook-id`` and
    ``webhook-timestamp``...): the signature is made over the values sent, so the delivery
    still verifies. A time that cannot be signed exactly as written (not a number, or finer
    than the provider's unit) is sent as given, unsigned over, like a forged signature.

    >>> signed_inputs("slack", [("X-Slack-Request-Timestamp", "1700000000")])
    {'timestamp': 1700000000}
    >>> signed_inputs("standardwebhooks", [("webhook-id", "msg_mine")])
    {'msg_id': 'msg_mine'}
    >>> signed_inputs("slack", [("X-Slack-Request-Timestamp", "soon")])
    {}
    """
    row = TABLE.get(provider)
    if row is None:
        return {}
    sig, unit = row.sig, row.sig.get("ts_unit", "s")
    if row.scheme == "standardwebhooks":
        prefix = sig.get("prefix", "webhook")
        ts_name, id_name = f"{prefix}-timestamp", f"{prefix}-id"
    else:
        ts_name, id_name = sig.get("ts"), sig.get("id")
    values: dict[str, str] = {}
    for k, v in given:
        values.setdefault(k.lower(), v if isinstance(v, str) else
                          v.decode("latin-1") if isinstance(v, bytes) else str(v))
    out: dict[str, Any] = {}
    if id_name and id_name.lower() in values:
        out["msg_id"] = values[id_name.lower()]
    raw = values.get(ts_name.lower()) if ts_name else None
    if raw is not None:
        try:
            seconds = parse_time(raw.strip(), unit, ts_name or "")
        except Invalid:
            return out
        if seconds == int(seconds) and format_time(int(seconds), unit) == raw.strip():
            out["timestamp"] = int(seconds)
    return out


def sign(
    provider: str,
    secret: str | bytes,
    body: bytes,
    *,
    url: str | None = None,
    timestamp: int | float | datetime | None = None,
    msg_id: str | None = None,
    params: dict[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The signature headers to add so the provider's official library accepts the request.

    Raises ``ValueError`` where signing would change the URL or body (Twilio JSON bodies,
    Mailgun): use :func:`sign_request` for those.

    >>> sign("stripe", "whsec_test", b"{}", timestamp=1700000000)["Stripe-Signature"][:16]
    't=1700000000,v1='
    """
    req = sign_request(provider, secret, url=url, body=body, headers=headers,
                       timestamp=timestamp, msg_id=msg_id, params=params)
    raw = _body(body)
    if req.url != url or req.body != raw:
        what = "URL" if req.url != url else "body"
        raise ValueError(f"signing for {provider} changes the request {what}; "
                         "use sign_request() and send its url, headers and body")
    return req.headers


# -- helpers -----------------------------------------------------------------------------------
def _headers(headers: Any) -> dict[str, str]:
    """Lower-cased name -> first value (stripped); bytes decoded as latin-1."""
    if headers is None:
        return {}
    items = headers.items() if hasattr(headers, "items") else headers
    out: dict[str, str] = {}
    try:
        for item in items:
            k, v = item
            out.setdefault(_str(k).strip().lower(), _str(v).strip())
    except (TypeError, ValueError):
        raise Invalid("headers must be a mapping or a list of (name, value) pairs") from None
    return out


def _str(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("latin-1")
    return value if isinstance(value, str) else str(value)


def _content(raw: bytes, h: dict[str, str]) -> bytes:
    """The body a provider signed: ``raw`` with the transfer codings its headers ``h`` name
    undone (``Transfer-Encoding: gzip, chunked``: the sender's HTTP layer gzipped what was
    signed; RFC 9112 section 7, a transfer coding is framing), decoded to at most
    :data:`hooklab.jsonread.MAX_PARSED` bytes as detection reads it (this runs as each
    capture arrives); ``raw`` itself when they cannot be (a body given decoded already, a
    bomb past the cap). A ``Content-Encoding`` is part of what was signed.

    >>> import gzip
    >>> _content(gzip.compress(b"{}"), {"transfer-encoding": "gzip, chunked"}), _content(b"{}", {})
    (b'{}', b'{}')
    """
    transfer = h.get("transfer-encoding")
    coding = body_coding(None, [transfer]) if transfer is not None else None
    if coding is None or not raw:
        return raw
    try:
        return decode_body(raw, coding, MAX_PARSED)
    except ValueError:
        return raw


def _body(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8", "surrogatepass")
    raise Invalid(f"body must be bytes, not {type(body).__name__}")


def _epoch(now: Any) -> float:
    if now is None:
        return time.time()
    if isinstance(now, datetime):
        return (now if now.tzinfo else now.replace(tzinfo=timezone.utc)).timestamp()
    if isinstance(now, (int, float)) and not isinstance(now, bool) and math.isfinite(now):
        return float(now)
    raise Invalid(f"now must be a datetime or epoch seconds, not {short(now)}")


def _tolerance(tolerance: Any) -> float:
    if isinstance(tolerance, (int, float)) and not isinstance(tolerance, bool) \
            and not math.isnan(tolerance):
        return float(tolerance)
    raise Invalid(f"tolerance must be seconds, not {short(tolerance)}")


def _detect(headers: dict[str, str], body: bytes) -> str:
    found = detect(list(headers.items()), body)[0]
    if not found:
        raise Invalid(f"{NO_PROVIDER}; pass provider= (e.g. provider='github'; {PROVIDER_IDS})")
    return found


def _msg_id() -> str:
    return "msg_" + "".join(_secrets.choice(_ID_CHARS) for _ in range(27))
