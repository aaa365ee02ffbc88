"""Schemes that differ from a plain HMAC header (private; see :mod:`hooklab.signatures`).

URL-signed (Twilio, Mandrill, Plivo, HubSpot), signatures inside the body (Mailgun, Adyen,
Braintree, Amazon SNS), public-key signatures (Ed25519: Discord, Telnyx; ECDSA: SendGrid;
RSA certificates: PayPal, SNS), JSON Web Signatures (Netlify) and JWTs (Plaid, FusionAuth,
monday.com).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import re
import secrets
from typing import Any
from urllib.parse import parse_qs, quote_plus, unquote_plus, urlencode, urlsplit

from ..formdata import is_multipart, multipart_form, set_fields
from ..jsonread import declared_codec
from ._base import (
    MISMATCH,
    Incoming,
    Invalid,
    Outgoing,
    Scheme,
    SignedRequest,
    b64decode,
    first_match,
    format_time,
    hmac_b64,
    hmac_digest,
    hmac_hex,
    parse_time,
    same,
    short,
)
from ._hmac import form_reason, hmac_key, pick


def _text(secret: str | bytes) -> str:
    return secret.decode("utf-8", "replace") if isinstance(secret, bytes) else secret


def _lower(headers: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def _is_form(headers: dict[str, str], body: bytes) -> bool:
    ct = headers.get("content-type", "").lower()
    if ct:
        return "x-www-form-urlencoded" in ct
    return bool(body) and body.lstrip()[:1] not in (b"{", b"[")


def _form(body: bytes, headers: dict[str, str]) -> dict[str, list[str]]:
    """The POST parameters of a form body (``headers`` lower-cased), its text and ``%XX``
    bytes in its declared charset as a receiver's framework reads them (Twilio's and the
    others' deliveries are UTF-8; a charset the checks on arrival do not read is UTF-8)."""
    codec = declared_codec(headers.get("content-type"))
    return parse_qs(body.decode(codec, "replace"), keep_blank_values=True, encoding=codec,
                    errors="replace")


def _url_and_params(url: str, params: dict[str, Any]) -> bytes:
    """URL followed by every POST parameter as name+value, sorted (Twilio, Mandrill)."""
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
        if parts.port:
            out.append(parts._replace(netloc=parts.netloc.rsplit(":", 1)[0]).geturl())
        elif parts.hostname:
            port = 443 if parts.scheme == "https" else 80
            out.append(parts._replace(netloc=f"{parts.netloc}:{port}").geturl())
    except ValueError:
        pass
    return out


def _need_url(inc: Incoming, p: Any, what: str = "the full request URL") -> str:
    if not inc.url:
        raise Invalid(f"{p.id} signs {what}: pass url=<the URL {p.name} called>")
    return inc.url


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


def _twilio_verify(inc: Incoming, p: Any) -> str:
    sig = inc.header("X-Twilio-Signature")
    url = _need_url(inc, p)
    algo = _twilio_algo(inc.headers)
    try:
        query = parse_qs(urlsplit(url).query, keep_blank_values=True)
    except ValueError:
        raise Invalid(f"malformed url {short(url, 80)}") from None
    params: dict[str, Any] = {}
    if "bodySHA256" in query:
        # (twilio's RequestValidator compares the hexdigest text: lowercase only)
        body_hash, given_hash = hashlib.sha256(inc.body).hexdigest(), query["bodySHA256"][0]
        if not same(body_hash, given_hash):
            if same(body_hash, given_hash.lower()):
                raise Invalid("bodySHA256 in the URL matches the body in value but not in form: "
                              "Twilio's receivers compare the lowercase hex text; this one "
                              "is not lowercase")
            raise Invalid("bodySHA256 in the URL does not match the body: "
                          "was the body re-serialised?")
    elif _is_form(inc.headers, inc.body):
        params = _form(inc.body, inc.headers)
    candidates = [hmac_b64(inc.key, _url_and_params(u, params), algo) for u in _url_variants(url)]
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


def _twilio_sign(out: Outgoing, p: Any) -> SignedRequest:
    url = out.need_url("twilio")
    try:
        algo = _twilio_algo(_lower(out.headers))
    except Invalid as exc:
        raise ValueError(str(exc)) from None
    params: dict[str, Any] = {}
    if out.params is not None:
        params = out.params
    elif out.method.upper() == "POST" and out.body:
        if _is_form(_lower(out.headers), out.body):
            params = _form(out.body, _lower(out.headers))
        else:
            url = _with_body_hash(url, hashlib.sha256(out.body).hexdigest())
    sig = hmac_b64(out.key, _url_and_params(url, params), algo)
    return out.done({"X-Twilio-Signature": sig}, url=url)


# -- Mandrill: base64(HMAC-SHA1(webhook URL + sorted POST key+value)) -------------------------
def _mandrill_verify(inc: Incoming, p: Any) -> str:
    sig = inc.header("X-Mandrill-Signature")
    url = _need_url(inc, p, "the webhook URL")
    params = _form(inc.body, inc.headers) if _is_form(inc.headers, inc.body) else {}
    expected = hmac_b64(inc.key, _url_and_params(url, params), hashlib.sha1)
    hint = MISMATCH + f"; signed against url {short(url, 80)} (pass the URL configured at Mandrill)"
    return inc.conclude(first_match(expected, [sig.strip()]), 1, mismatch=hint)


def _mandrill_sign(out: Outgoing, p: Any) -> SignedRequest:
    url = out.need_url("mandrill")
    params = out.params if out.params is not None else _form(out.body, _lower(out.headers))
    return out.done({"X-Mandrill-Signature": hmac_b64(out.key, _url_and_params(url, params),
                                                     hashlib.sha1)})


# -- Plivo: V2 = base64(HMAC-SHA256(scheme://host/path + nonce)); V3 = base64(HMAC-SHA256(
# the URL with its query and the POST parameters sorted, "." nonce)) -------------------------
def _plivo_base(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _plivo_sorted(params: dict[str, Any], sep: str, join: str) -> str:
    """Parameters sorted by name, each value (a list's sorted) as name + ``sep`` + value,
    joined by ``join``; an object's value is its own parameters the same way."""
    out = []
    for name in sorted(params):
        value = params[name]
        if isinstance(value, list):
            out.append(join.join(f"{name}{sep}{v}" for v in sorted(map(str, value))))
        elif isinstance(value, dict):
            out.append(f"{name}{_plivo_sorted(value, sep, join)}")
        else:  # (numbers, booleans and null as Python prints them: the official SDK's rule)
            out.append(f"{name}{sep}{value}")
    return join.join(out)


def _plivo_v3_message(url: str, method: str, params: dict[str, Any], nonce: str) -> bytes:
    """What Plivo's V3 signature covers: for GET the URL with its query sorted; for POST the
    URL (sorted query, then ``.`` when both are there) followed by the POST parameters sorted,
    name and value run together; then ``.`` and the nonce."""
    base = _plivo_base(url)
    query = _plivo_sorted(parse_qs(urlsplit(url).query, keep_blank_values=True), "=", "&")
    if method == "GET":
        signed = base + (f"?{query}" if query else "")
    else:
        signed = base + (f"?{query}" if query or params else "") + ("." if query and params else "")
        signed += _plivo_sorted(params, "", "")
    return f"{signed}.{nonce}".encode()


def _plivo_params(body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    """A delivery's POST parameters: its form fields, or the members of a JSON object
    (``headers`` lower-cased)."""
    if body.lstrip()[:1] == b"{":
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if isinstance(data, dict):
            return data
    return _form(body, headers) if body else {}


def _plivo_verify(inc: Incoming, p: Any) -> str:
    url = _need_url(inc, p)
    if inc.opt("X-Plivo-Signature-V2") is None and inc.opt("X-Plivo-Signature-V3") is not None:
        nonce = inc.header("X-Plivo-Signature-V3-Nonce")
        method = (inc.method or "POST").upper()
        params = _plivo_params(inc.body, inc.headers)
        expected = hmac_digest(inc.key, _plivo_v3_message(url, method, params, nonce))
        # (plivo's validate_v3_signature: `signature in v3_signature.split(b',')`, untrimmed)
        items = [x for x in inc.header("X-Plivo-Signature-V3").split(",") if x.strip()]
        given = [x.strip() for x in items]
        index, form = pick([expected], given, "b64", [
            None if x == x.strip() else "has whitespace after the ','" for x in items])
        if form is not None:
            raise Invalid(form_reason(p.name, "b64", "", form))
        hint = MISMATCH.split(":")[0] + ": Plivo V3 signs the URL it called with its query and " \
            f"the POST parameters, sorted, plus the nonce; signed against {short(url, 80)}: is " \
            "the auth token right?"
        return inc.conclude(index, len(given), mismatch=hint)
    sig = inc.header("X-Plivo-Signature-V2", " (nor X-Plivo-Signature-V3)")
    nonce = inc.header("X-Plivo-Signature-V2-Nonce")
    expected = hmac_b64(inc.key, (_plivo_base(url) + nonce).encode("utf-8"))
    hint = MISMATCH.split(":")[0] + f": Plivo signs the URL it called (without the query) plus " \
        f"the nonce; signed against {short(_plivo_base(url), 80)}: is the auth token right?"
    return inc.conclude(first_match(expected, [sig.strip()]), 1, mismatch=hint)


def _plivo_sign(out: Outgoing, p: Any) -> SignedRequest:
    url = out.need_url("plivo")
    nonce = str(secrets.randbelow(10**20))
    params = _plivo_params(out.body, _lower(out.headers))
    v3 = _plivo_v3_message(url, (out.method or "POST").upper(), params, nonce)
    return out.done({"X-Plivo-Signature-V2": hmac_b64(out.key, (_plivo_base(url) + nonce).encode()),
                     "X-Plivo-Signature-V2-Nonce": nonce,
                     "X-Plivo-Signature-V3": hmac_b64(out.key, v3),
                     "X-Plivo-Signature-V3-Nonce": nonce})


# -- HubSpot: v3 = base64(HMAC-SHA256(method + uri + body + timestamp)); v1, v2 = SHA-256 -------
_HUBSPOT_DECODE = {"%3A": ":", "%2F": "/", "%3F": "?", "%40": "@", "%21": "!", "%24": "$",
                   "%27": "'", "%28": "(", "%29": ")", "%2A": "*", "%2C": ",", "%3B": ";"}


def _hubspot_uri(url: str) -> str:
    return re.sub(r"%(3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)",
                  lambda m: _HUBSPOT_DECODE[m.group(0).upper()], url, flags=re.IGNORECASE)


def _hubspot_verify(inc: Incoming, p: Any) -> str:
    secret = _text(inc.secret)
    method = (inc.method or "POST").upper()
    v3 = inc.opt("X-HubSpot-Signature-v3")
    if v3 is not None:
        ts_raw = inc.header("X-HubSpot-Request-Timestamp")
        ts = parse_time(ts_raw, "ms", "X-HubSpot-Request-Timestamp")
        url = _need_url(inc, p)
        b64decode(v3, "X-HubSpot-Signature-v3")  # (Invalid if it is no base64 at all)
        cands = [base64.b64decode(hmac_b64(inc.key, (method + u).encode("utf-8") + inc.body
                                           + ts_raw.strip().encode()))
                 for u in dict.fromkeys((url, _hubspot_uri(url)))]
        # (hubspot's Signature.is_valid compares the base64 text: hmac.compare_digest)
        index, form = pick(cands, [v3], "b64", [None])
        if form is not None:
            raise Invalid(form_reason(p.name, "b64", "", form))
        hint = MISMATCH + f"; HubSpot v3 signs method + URL + body + timestamp: signed against " \
            f"{method} {short(url, 80)}"
        return inc.conclude(None if index is None else 0, 1, ts, mismatch=hint)
    sig = inc.opt("X-HubSpot-Signature")
    if sig is None:
        raise Invalid("missing header X-HubSpot-Signature-v3")
    version = (inc.opt("X-HubSpot-Signature-Version") or "v1").strip().lower()
    if version == "v1":
        source = secret.encode("utf-8") + inc.body
    elif version == "v2":
        source = (secret + method + _need_url(inc, p)).encode("utf-8") + inc.body
    else:
        raise Invalid(f"unsupported X-HubSpot-Signature-Version {short(version)}")
    index, form = pick([hashlib.sha256(source).digest()], [sig], "hex", [None])
    if form is not None:  # (hubspot's Signature.is_valid: compare_digest on the hexdigest)
        raise Invalid(form_reason(p.name, "hex", "", form))
    return inc.conclude(index, 1, note=f"legacy {version} signature (no timestamp)")


def _hubspot_sign(out: Outgoing, p: Any) -> SignedRequest:
    url = out.need_url("hubspot")
    ts = format_time(out.timestamp, "ms")
    sig = hmac_b64(out.key, (out.method.upper() + url).encode("utf-8") + out.body + ts.encode())
    return out.done({"X-HubSpot-Signature-v3": sig, "X-HubSpot-Request-Timestamp": ts})


# -- Mailgun: {"signature": {"timestamp", "token", "signature"}} in the body ------------------
# (a webhook's JSON body; a route's forward() of a received message posts the three as form
# fields: urlencoded, or multipart/form-data when the message has attachments)
_MAILGUN_FIELDS = ("timestamp", "token", "signature")
_MAILGUN_UNREAD = ("mailgun multipart/form-data body: its parts cannot be read (no single "
                   "boundary parameter, or no part delimited by it)")


class _Keys(dict):  # type: ignore[type-arg]
    """A JSON object read with the names it gives more than once (``twice``): ``json``
    keeps the last of them, a receiver's parser may keep the first."""

    twice: frozenset[str] = frozenset()


def _keys(pairs: list[tuple[str, Any]]) -> _Keys:
    obj = _Keys(pairs)
    if len(obj) < len(pairs):
        names = [k for k, _ in pairs]
        obj.twice = frozenset(k for k in obj if names.count(k) > 1)
    return obj


def _mailgun_twice(counts: dict[str, int], what: str = "form", noun: str = "fields"
                   ) -> str | None:
    """Why the signature's fields cannot be told (``counts``: how many times each name is
    given; ``what``: where), or ``None`` when each is given at most once. A receiver reads
    the first or the last of a field given twice (Flask the first, Django's ``QueryDict`` the
    last), so a check of one of them says nothing of what the app reads.

    >>> _mailgun_twice({"timestamp": 2, "token": 1})
    "mailgun form has 2 'timestamp' fields: a receiver reads the first or the last"
    """
    for name in _MAILGUN_FIELDS:
        if counts.get(name, 0) > 1:
            return (f"mailgun {what} has {counts[name]} {name!r} {noun}: a receiver reads the "
                    "first or the last")
    return None


def _mailgun_fields(inc: Incoming) -> tuple[dict[str, Any], str]:
    """The signature's fields and where they were looked for (how a reason names them).
    ``Invalid`` for a body that gives one of them twice (:func:`_mailgun_twice`): which one
    the app reads is unknown, so no copy verifies the delivery."""
    ctype = inc.headers.get("content-type", "")
    form: dict[str, list[str]] | None = None
    if is_multipart(ctype):
        form = multipart_form(inc.body, ctype)
        if form is None:
            raise Invalid(_MAILGUN_UNREAD)
    elif _is_form(inc.headers, inc.body):
        form = _form(inc.body, inc.headers)
    if form is not None:
        twice = _mailgun_twice({k: len(v) for k, v in form.items()})
        if twice is not None:
            raise Invalid(f"{twice}, so which one the app checks is unclear (not verified)")
        return {k: v[0] for k, v in form.items()}, "form fields"
    try:
        data = json.loads(inc.body, object_pairs_hook=_keys)
    except (ValueError, RecursionError):
        raise Invalid("mailgun body is not JSON, nor a form (urlencoded or multipart/form-data): "
                      "Mailgun puts its signature in the body (a webhook's JSON 'signature' "
                      "object; a forwarded message's timestamp, token and signature form "
                      "fields)") from None
    sig = data.get("signature") if isinstance(data, dict) else None
    # (json keeps the last of a key given twice; Mailgun's receivers' parsers may not)
    none: frozenset[str] = frozenset()
    twice = _mailgun_twice(dict.fromkeys(getattr(data, "twice", none) & {"signature"}, 2),
                           "JSON body", "keys") or _mailgun_twice(
        dict.fromkeys(getattr(sig, "twice", none), 2), "JSON 'signature' object", "keys")
    if twice is not None:
        raise Invalid(f"{twice}, so which one the app checks is unclear (not verified)")
    return (sig if isinstance(sig, dict) else {}), "a 'signature' object with"


def _mailgun_verify(inc: Incoming, p: Any) -> str:
    fields, where = _mailgun_fields(inc)
    missing = [k for k in _MAILGUN_FIELDS if not isinstance(
        fields.get(k), (str, int)) or isinstance(fields.get(k), bool)]
    if missing:
        raise Invalid(f"no Mailgun signature in the body: expected {where} "
                      f"timestamp, token and signature (missing {', '.join(missing)})")
    ts_raw = str(fields["timestamp"])
    ts = parse_time(ts_raw, "s", "signature.timestamp")
    expected = hmac_digest(inc.key, (ts_raw + str(fields["token"])).encode("utf-8"))
    # (Mailgun's documented check compares the hexdigest text: hmac.compare_digest)
    given = [str(fields["signature"]), str(fields.get("parent-signature", ""))]
    index, form = pick([expected], given, "hex", [None, None])
    if form is not None:
        raise Invalid(form_reason(p.name, "hex", "", form))
    hint = MISMATCH + " (Mailgun signs with the HTTP webhook signing key, not the API key)"
    note = "parent-signature" if index == 1 else ""
    return inc.conclude(None if index is None else 0, 1, ts, mismatch=hint, note=note)


def _mailgun_sign(out: Outgoing, p: Any) -> SignedRequest:
    """A JSON body gets a ``signature`` object; a form (urlencoded, or multipart as a route
    forwards a message with attachments) gets fresh ``timestamp``, ``token`` and
    ``signature`` values in place of its own, every other byte kept, or the three fields
    at its end when it has none of them."""
    token = secrets.token_hex(25)  # (Mailgun's tokens: 50 characters)
    fields = {"timestamp": str(out.timestamp), "token": token,
              "signature": hmac_hex(out.key, f"{out.timestamp}{token}".encode())}
    headers = _lower(out.headers)
    ctype = headers.get("content-type", "")
    if is_multipart(ctype):
        form = multipart_form(out.body, ctype)
        if form is None:
            raise ValueError(_MAILGUN_UNREAD)
        _mailgun_form_fields(form)
        return out.done({}, body=set_fields(out.body, ctype, fields))
    if out.body and _is_form(headers, out.body):
        if not _mailgun_form_fields(_form(out.body, headers)):
            return out.done({}, body=out.body + b"&" + urlencode(fields).encode())
        return out.done({}, body=_set_query_fields(out.body, fields))
    data = json.loads(out.body) if out.body.strip() else {}
    if not isinstance(data, dict):
        raise ValueError("mailgun signs a JSON object body, or a form")
    data["signature"] = fields
    return out.done({}, body=json.dumps(data).encode())


def _mailgun_form_fields(form: dict[str, list[str]]) -> bool:
    """Whether a form has Mailgun's signature fields, one of each (``False``: none of them);
    ``ValueError`` for one given twice or some of the three without the others."""
    twice = _mailgun_twice({k: len(v) for k, v in form.items()})
    if twice is not None:
        raise ValueError(f"{twice}, so which one to re-sign is unclear")
    has = [name for name in _MAILGUN_FIELDS if name in form]
    if has and len(has) < len(_MAILGUN_FIELDS):
        lacks = [name for name in _MAILGUN_FIELDS if name not in form]
        raise ValueError(f"mailgun form has {' and '.join(has)} but no {' or '.join(lacks)} "
                         "field: Mailgun posts all three (a capture cut short, or edited?)")
    return bool(has)


def _set_query_fields(body: bytes, values: dict[str, str]) -> bytes:
    """An urlencoded ``body`` with the value of each field named in ``values`` (present once)
    replaced, its name and every other byte as they were."""
    pairs = body.split(b"&")
    for i, pair in enumerate(pairs):
        raw = pair.split(b"=", 1)[0]
        name = unquote_plus(raw.decode("latin-1"))  # (as parse_qs reads it: "%74oken" too)
        if name in values:
            pairs[i] = raw + b"=" + quote_plus(values[name]).encode("ascii")
    return b"&".join(pairs)


# -- Adyen: HMAC-SHA256 (key = hex) of 8 fields per notification item, in additionalData -------
_ADYEN_FIELDS = ("pspReference", "originalReference", "merchantAccountCode", "merchantReference",
                 "value", "currency", "eventCode", "success")


def _adyen_string(item: dict[str, Any]) -> bytes:
    amount = item.get("amount") if isinstance(item.get("amount"), dict) else {}
    values = {**item, "value": amount.get("value", ""), "currency": amount.get("currency", "")}
    return ":".join(str(values.get(k, "")) for k in _ADYEN_FIELDS).encode("utf-8")


def _adyen_items(body: bytes) -> list[dict[str, Any]]:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise Invalid("adyen body is not JSON") from None
    items = data.get("notificationItems") if isinstance(data, dict) else None
    if not isinstance(items, list) or not items:
        raise Invalid("no notificationItems in the body (Adyen signs each item's "
                      "additionalData.hmacSignature; other Adyen webhooks use the HmacSignature "
                      "header)")
    out = []
    for entry in items:
        item = entry.get("NotificationRequestItem") if isinstance(entry, dict) else None
        if not isinstance(item, dict):
            raise Invalid("malformed notificationItems: expected NotificationRequestItem objects")
        out.append(item)
    return out


def _adyen_verify(inc: Incoming, p: Any) -> str:
    key = hmac_key(inc.secret, "hex")
    header = inc.opt("HmacSignature")
    if header is not None:
        b64decode(header, "HmacSignature")  # (Invalid if it is no base64 at all)
        # (Adyen's util.is_valid_hmac_payload / is_valid_hmac_notification compare the base64
        # text: hmac.compare_digest)
        index, form = pick([hmac_digest(key, inc.body)], [header], "b64", [None])
        if form is not None:
            raise Invalid(form_reason(p.name, "b64", "", form))
        return inc.conclude(index, 1, note="HmacSignature header")
    items = _adyen_items(inc.body)
    for n, item in enumerate(items, 1):
        extra = item.get("additionalData")
        sig = extra.get("hmacSignature") if isinstance(extra, dict) else None
        if not isinstance(sig, str) or not sig:
            raise Invalid(f"missing additionalData.hmacSignature in notification item {n}")
        index, form = pick([hmac_digest(key, _adyen_string(item))], [sig], "b64", [None])
        if form is not None:
            raise Invalid(f"notification item {n}: " + form_reason(p.name, "b64", "", form))
        if index is None:
            raise Invalid(f"notification item {n}: " + MISMATCH + " (Adyen's HMAC key is the "
                          "hex key of this webhook, not an API key)")
    return inc.conclude(0, 1, note=f"{len(items)} items" if len(items) > 1 else "")


def _adyen_sign(out: Outgoing, p: Any) -> SignedRequest:
    try:
        key = hmac_key(out.secret, "hex")
    except Invalid as exc:
        raise ValueError(str(exc)) from None
    data = json.loads(out.body) if out.body.strip() else {}
    if not isinstance(data, dict) or "notificationItems" not in data:
        return out.done({"HmacSignature": base64.b64encode(hmac_digest(key, out.body)).decode()})
    for entry in data["notificationItems"]:
        item = entry["NotificationRequestItem"]
        sig = base64.b64encode(hmac_digest(key, _adyen_string(item))).decode()
        item.setdefault("additionalData", {})["hmacSignature"] = sig
    return out.done({}, body=json.dumps(data).encode())


# -- Braintree: form bt_signature ("public|hex&...") over bt_payload, key = SHA1(private key) ---
def _bt_keys(secret: str | bytes) -> tuple[str | None, bytes]:
    text = _text(secret).strip()
    public, sep, private = text.partition(":")
    if not sep:
        public, private = None, text  # type: ignore[assignment]
    return public, hashlib.sha1(private.encode("utf-8")).digest()


def _braintree_verify(inc: Incoming, p: Any) -> str:
    form = _form(inc.body, inc.headers)
    if not form.get("bt_signature", [""])[0] or "bt_payload" not in form:
        raise Invalid("no bt_signature / bt_payload form fields in the body (Braintree posts "
                      "them form-encoded)")
    payload = form["bt_payload"][0].encode("ascii", "replace")
    public, key = _bt_keys(inc.secret)
    pairs = [pair.split("|", 1) for pair in form["bt_signature"][0].split("&") if "|" in pair]
    sigs = [s for pub, s in pairs if public is None or pub == public]
    if not sigs:
        raise Invalid("bt_signature has no signature for public key "
                      f"{short(public)} (is the secret 'public_key:private_key'?)")
    expected = [hmac_digest(key, payload, hashlib.sha1),
                hmac_digest(key, payload + b"\n", hashlib.sha1)]
    # (braintree's gateway splits on '&' and '|' untrimmed and secure_compares the hexdigest)
    index, form = pick(expected, sigs, "hex", [None] * len(sigs))
    if form is not None:
        raise Invalid(form_reason(p.name, "hex", "", form))
    return inc.conclude(index, len(sigs))


def _braintree_sign(out: Outgoing, p: Any) -> SignedRequest:
    public, key = _bt_keys(out.secret)
    form = _form(out.body, _lower(out.headers))
    if "bt_payload" not in form:
        raise ValueError("braintree signs a form body with a bt_payload field")
    payload = form["bt_payload"][0]
    sig = f"{public or 'hooklab_public_key'}|{hmac_hex(key, payload.encode(), hashlib.sha1)}"
    body = urlencode({"bt_signature": sig, "bt_payload": payload}).encode()
    return out.done({}, body=body)


# -- public keys: Ed25519 (Discord, Telnyx), ECDSA P-256 (SendGrid) ----------------------------
def _crypto(what: str) -> Any:
    try:
        from cryptography.hazmat.primitives.asymmetric import ec, ed25519
    except ImportError:
        raise Invalid(f"{what} needs the 'cryptography' package: pip install cryptography "
                      "(or hooklab[ed25519])") from None
    return ed25519, ec


def _key_bytes(secret: str | bytes, enc: str, what: str) -> bytes:
    if isinstance(secret, bytes) and len(secret) == 32:
        return secret
    s = _text(secret).strip()
    try:
        raw = bytes.fromhex(s) if enc == "hex" else base64.b64decode(s, validate=True)
    except (ValueError, binascii.Error):
        raw = b""
    if enc != "hex" and len(raw) > 32:  # a DER (SPKI / PKCS#8) Ed25519 key: the raw key is last
        raw = raw[-32:]
    if len(raw) != 32:
        form = "64 hex characters" if enc == "hex" else "base64 of 32 bytes"
        raise Invalid(f"secret must be the {what} ({form})")
    return raw


def check_ed25519_key(secret: str | bytes, p: Any) -> None:
    """``Invalid`` when ``secret`` cannot be an Ed25519 key of provider ``p`` (32 bytes:
    Discord's in hex, Telnyx's in base64; no package needed to tell): the public key to
    verify with, the private key to sign with."""
    if p.scheme == "ed25519":
        _key_bytes(secret, p.sig.get("key_enc", "hex"),
                   f"{p.name} Ed25519 key (the public key to verify, the private key to sign)")


def _ed25519_verify(inc: Incoming, p: Any) -> str:
    s = p.sig
    sig_raw = inc.header(s["header"])
    ts_raw = inc.header(s["ts"])
    enc = s.get("enc", "hex")
    ed, _ = _crypto("ed25519")
    pub = _key_bytes(inc.secret, s.get("key_enc", "hex"), s.get("key_name", f"{p.name} public key"))
    try:
        sig = bytes.fromhex(sig_raw) if enc == "hex" else base64.b64decode(sig_raw, validate=True)
    except (ValueError, binascii.Error):
        sig = b""
    if len(sig) != 64:
        form = "128 hex characters" if enc == "hex" else "base64 of 64 bytes"
        raise Invalid(f"malformed {s['header']}: expected {form}, got {short(sig_raw)}")
    from cryptography.exceptions import InvalidSignature

    msg = s["msg"].replace("{ts}", ts_raw).encode("utf-8").replace(b"{body}", inc.body)
    try:
        ed.Ed25519PublicKey.from_public_bytes(pub).verify(sig, msg)
        ok = True
    except (InvalidSignature, ValueError):
        ok = False
    ts = parse_time(ts_raw, "s", s["ts"]) if ts_raw.strip().isdigit() else None
    hint = MISMATCH.replace("the secret for another endpoint", "the public key of another app")
    return inc.conclude(0 if ok else None, 1, ts, mismatch=hint)


def _ed25519_sign(out: Outgoing, p: Any) -> SignedRequest:
    s = p.sig
    try:
        ed, _ = _crypto("ed25519")
        seed = _key_bytes(out.secret, s.get("key_enc", "hex"),
                          "Ed25519 private key (to sign; verify with the public key)")
    except Invalid as exc:
        raise ValueError(str(exc)) from None
    ts = str(out.timestamp)
    msg = s["msg"].replace("{ts}", ts).encode("utf-8").replace(b"{body}", out.body)
    sig = ed.Ed25519PrivateKey.from_private_bytes(seed).sign(msg)
    value = sig.hex() if s.get("enc", "hex") == "hex" else base64.b64encode(sig).decode()
    return out.done({s["header"]: value, s["ts"]: ts})


def _pem_or_der(secret: str | bytes, public: bool, what: str) -> Any:
    from cryptography.hazmat.primitives import serialization as ser

    text = _text(secret).strip()
    try:
        if "-----BEGIN" in text:
            data = text.encode()
            return ser.load_pem_public_key(data) if public else \
                ser.load_pem_private_key(data, password=None)
        der = base64.b64decode(text, validate=True)
        return ser.load_der_public_key(der) if public else \
            ser.load_der_private_key(der, password=None)
    except (ValueError, TypeError, binascii.Error):
        raise Invalid(f"secret must be the {what} (base64 DER or PEM)") from None


def _ecdsa_verify(inc: Incoming, p: Any) -> str:
    s = p.sig
    sig_raw = inc.header(s["header"])
    ts_raw = inc.header(s["ts"])
    _, ec = _crypto("ecdsa")
    key = _pem_or_der(inc.secret, True, "verification key (public key) from the provider")
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise Invalid("secret is not an elliptic-curve public key")
    sig = b64decode(sig_raw, s["header"])
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes

    try:
        key.verify(sig, ts_raw.encode("utf-8") + inc.body, ec.ECDSA(hashes.SHA256()))
        ok = True
    except (InvalidSignature, ValueError):
        ok = False
    ts = parse_time(ts_raw, "s", s["ts"]) if ts_raw.strip().isdigit() else None
    hint = MISMATCH.replace("the secret for another endpoint", "the verification key of another "
                            "account") + " (SendGrid signs the body exactly as sent, with its "
    hint += "trailing CRLF)"
    return inc.conclude(0 if ok else None, 1, ts, mismatch=hint)


def _ecdsa_sign(out: Outgoing, p: Any) -> SignedRequest:
    s = p.sig
    try:
        _, ec = _crypto("ecdsa")
        key = _pem_or_der(out.secret, False, "ECDSA private key (to sign; verify with the public key)")
    except Invalid as exc:
        raise ValueError(str(exc)) from None
    from cryptography.hazmat.primitives import hashes

    ts = str(out.timestamp)
    sig = key.sign(ts.encode() + out.body, ec.ECDSA(hashes.SHA256()))
    return out.done({s["header"]: base64.b64encode(sig).decode(), s["ts"]: ts})


# -- JWTs: Netlify (JWS HS256 + sha256 claim), Plaid (ES256), FusionAuth, monday.com -------------
def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64url(value: str, what: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (ValueError, binascii.Error):
        raise Invalid(f"malformed {what}: not base64url") from None


def _jwt_parts(token: str, header: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    token = token.strip()
    if token[:7].lower() == "bearer ":
        token = token[7:].strip()
    parts = token.split(".")
    if len(parts) != 3:
        raise Invalid(f"malformed {header}: expected a JWT (header.payload.signature)")
    try:
        head = json.loads(_unb64url(parts[0], header))
        claims = json.loads(_unb64url(parts[1], header))
    except (ValueError, RecursionError):
        raise Invalid(f"malformed {header}: JWT header or claims are not JSON") from None
    if not isinstance(head, dict) or not isinstance(claims, dict):
        raise Invalid(f"malformed {header}: JWT header and claims must be JSON objects")
    return head, claims, f"{parts[0]}.{parts[1]}".encode("ascii"), _unb64url(parts[2], header)


def _es256_public(secret: str | bytes) -> Any:
    _, ec = _crypto("ES256")
    text = _text(secret).strip()
    if text.startswith("{"):
        try:
            jwk = json.loads(text)
            x = int.from_bytes(_unb64url(jwk["x"], "JWK x"), "big")
            y = int.from_bytes(_unb64url(jwk["y"], "JWK y"), "big")
            return ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
        except (ValueError, KeyError, TypeError):
            raise Invalid("secret is not a P-256 JWK (expected kty EC, crv P-256, x, y)") from None
    return _pem_or_der(secret, True, "public key (JWK JSON or PEM)")


def _jwt_verify(inc: Incoming, p: Any) -> str:
    s = p.sig
    raw = inc.header(s["header"])
    head, claims, signed, sig = _jwt_parts(raw, s["header"])
    alg = head.get("alg")
    if alg != s["alg"]:
        raise Invalid(f"JWT alg {short(alg)} not accepted ({p.name} signs with {s['alg']})")
    if alg == "HS256":
        ok = first_match(hmac_digest(inc.key, signed), [sig]) is not None
    else:  # ES256: raw r||s
        _crypto("ES256")  # (missing: said with the fix, not as a ModuleNotFoundError)
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

        key = _es256_public(inc.secret)
        _, ec = _crypto("ES256")
        ok = False
        if len(sig) == 64:
            der = encode_dss_signature(int.from_bytes(sig[:32], "big"),
                                       int.from_bytes(sig[32:], "big"))
            try:
                key.verify(der, signed, ec.ECDSA(hashes.SHA256()))
                ok = True
            except (InvalidSignature, ValueError):
                ok = False
    ts = None
    if "max_age" in s:
        iat = claims.get("iat")
        if not isinstance(iat, (int, float)) or isinstance(iat, bool):
            raise Invalid("JWT has no iat claim")
        ts = float(iat)
    if not ok:
        inc.conclude(None, 1, ts, mismatch=f"signature mismatch: was the {s['header']} JWT "
                     f"signed with another {'secret' if alg == 'HS256' else 'key'}?")
    if "iss" in s and claims.get("iss") != s["iss"]:
        raise Invalid(f"JWT iss is {short(claims.get('iss'))}, expected {s['iss']!r}")
    field = s.get("body_claim")
    if field:
        digest = hashlib.sha256(inc.body).digest()
        want = digest.hex() if s.get("body_enc") == "hex" else base64.b64encode(digest).decode()
        got = claims.get(field)
        if not isinstance(got, str):
            raise Invalid(f"JWT has no {field} claim")
        if not same(got, want):
            # (Netlify's documented check compares the claim with the lowercase hexdigest text)
            loose = got.lower() if s.get("body_enc") == "hex" else got
            if same(loose, want):
                raise Invalid(f"the JWT's {field} claim matches the body in value but not in "
                              f"form: {p.name}'s receivers compare the lowercase hex text; this "
                              "one is not lowercase")
            raise Invalid(f"signature mismatch: the JWT's {field} claim does not match the "
                          "body (was the body re-serialised?)")
    exp = claims.get("exp")
    if isinstance(exp, (int, float)) and not isinstance(exp, bool) and inc.tolerance > 0 \
            and inc.now > exp + inc.tolerance:
        raise Invalid(f"JWT expired {int(inc.now - exp)} s ago (exp claim)")
    return inc.conclude(0, 1, ts, note=_jwt_aud(inc, p, claims))


def _proxied(headers: dict[str, str]) -> bool:
    """Whether a proxy on the way said so (``X-Forwarded-*``, ``Forwarded``)."""
    return any(k.startswith("x-forwarded-") or k == "forwarded" for k in headers)


def _path_ends(aud: str, url: str) -> bool:
    """Whether the http(s) URL ``aud``'s path ends with ``url``'s path, segment for segment
    (``/user/x/proxy/8765/mon/x`` ends with ``/mon/x``; ``/xmon/x`` does not)."""
    try:
        a, u = urlsplit(aud), urlsplit(url)
    except ValueError:
        return False
    if a.scheme.lower() not in ("http", "https") or not a.netloc or len(u.path) < 2:
        return False
    return a.path == u.path or a.path.endswith(u.path if u.path.startswith("/") else "/" + u.path)


def _jwt_aud(inc: Incoming, p: Any, claims: dict[str, Any]) -> str:
    """Check a correctly signed JWT's ``aud`` against the URL the sender called, where the
    provider's token names its endpoint there (monday.com): a token another endpoint was given
    is refused, naming both; without the URL it is not checked, and the reason says so. Where
    the URL is the one the request arrived at (no ``url=`` given) and a proxy said it was on
    the way (``X-Forwarded-*``: jupyter-server-proxy's ``/user/x/proxy/8765/...``), an
    ``aud`` whose path ends with that URL's path is taken, its host not compared, and the
    reason says "checked by its path"."""
    if p.sig.get("aud") != "url" or "aud" not in claims:
        return ""
    aud = claims["aud"]
    if not inc.url:
        return f"aud not checked: pass url=<the URL {p.name} called>"
    if isinstance(aud, str) and any(same(aud, u) for u in _url_variants(inc.url)):
        return ""
    if inc.url_received and isinstance(aud, str) and _proxied(inc.headers) \
            and _path_ends(aud, inc.url):  # (a proxy's path prefix: /user/x/proxy/8765/...)
        return (f"aud {short(aud, 100)} checked by its path: the delivery came through a "
                "proxy (X-Forwarded-*), which rewrote the URL; pass url=<the URL "
                f"{p.name} called> to check it whole")
    raise Invalid(f"JWT aud is {short(aud, 100)}, but the delivery was sent to "
                  f"{short(inc.url, 100)}: {p.name} signed this token for another endpoint "
                  "(behind a proxy or tunnel, pass url=<the URL it called>)")


def _jwt_sign(out: Outgoing, p: Any) -> SignedRequest:
    s = p.sig
    claims: dict[str, Any] = {"iat": out.timestamp}
    if "iss" in s:
        claims["iss"] = s["iss"]
    if s.get("body_claim"):
        digest = hashlib.sha256(out.body).digest()
        claims[s["body_claim"]] = digest.hex() if s.get("body_enc") == "hex" else \
            base64.b64encode(digest).decode()
    if p.id == "monday":
        claims.update({"exp": out.timestamp + 300, "dat": {"app_id": 1}})
        if out.url and s.get("aud") == "url":  # (the endpoint it is sent to, as monday does)
            claims["aud"] = out.url
    head: dict[str, Any] = {"alg": s["alg"], "typ": "JWT"}
    if s["alg"] == "ES256":
        head["kid"] = "hooklab"
    signed = (_b64url(json.dumps(head, separators=(",", ":")).encode()) + "."
              + _b64url(json.dumps(claims, separators=(",", ":")).encode())).encode()
    if s["alg"] == "HS256":
        sig = hmac_digest(out.key, signed)
    else:
        try:
            _, ec = _crypto("ES256")
            key = _pem_or_der(out.secret, False, "EC P-256 private key (PEM)")
        except Invalid as exc:
            raise ValueError(str(exc)) from None
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

        r, s_ = decode_dss_signature(key.sign(signed, ec.ECDSA(hashes.SHA256())))
        sig = r.to_bytes(32, "big") + s_.to_bytes(32, "big")
    return out.done({s["header"]: signed.decode() + "." + _b64url(sig)})


# -- RSA certificates: PayPal and Amazon SNS -------------------------------------------------
def _cert_key(pem: str, what: str) -> Any:
    _crypto(what)
    from cryptography import x509

    try:
        if "BEGIN CERTIFICATE" in pem:
            return x509.load_pem_x509_certificate(pem.encode()).public_key()
        from cryptography.hazmat.primitives import serialization as ser

        return ser.load_pem_public_key(pem.encode())
    except ValueError:
        raise Invalid(f"the {what} PEM could not be read") from None


def _rsa_ok(key: Any, sig: bytes, msg: bytes, algo: str) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    try:
        key.verify(sig, msg, padding.PKCS1v15(), hashes.SHA1() if algo == "sha1" else hashes.SHA256())
        return True
    except (InvalidSignature, ValueError, TypeError, AttributeError):
        return False


@functools.lru_cache(maxsize=16)
def _private_key(pem: str) -> Any:
    """The key of a PEM private key, loaded once per PEM (loading checks an RSA key, ~35 ms
    of CPU: each of the deliveries ``hooklab.send`` signs for PayPal or SNS paid it)."""
    from cryptography.hazmat.primitives import serialization as ser

    return ser.load_pem_private_key(pem.encode(), password=None)


def _rsa_sign(pem: str, msg: bytes, algo: str = "sha256") -> bytes:
    try:
        _crypto("RSA signing")
    except Invalid as exc:
        raise ValueError(str(exc)) from None
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    key = _private_key(pem)
    return key.sign(msg, padding.PKCS1v15(), hashes.SHA1() if algo == "sha1" else hashes.SHA256())


def _split_id_pem(secret: str | bytes) -> tuple[str, str]:
    text = _text(secret).strip()
    ident, _, pem = text.partition("\n")
    if ident.startswith("-----"):
        return "", text
    return ident.strip(), pem.strip()


_PAYPAL_HEADERS = ("PAYPAL-TRANSMISSION-ID", "PAYPAL-TRANSMISSION-TIME", "PAYPAL-TRANSMISSION-SIG",
                   "PAYPAL-CERT-URL", "PAYPAL-AUTH-ALGO")


def _paypal_verify(inc: Incoming, p: Any) -> str:
    tid, when, sig, cert_url, algo = (inc.header(h) for h in _PAYPAL_HEADERS)
    webhook_id, pem = _split_id_pem(inc.secret)
    if not webhook_id:
        raise Invalid("secret must start with the webhook ID (the first line), then the PEM "
                      "certificate")
    if not pem:
        raise Invalid("cannot be verified offline: PayPal signs with the private key of the "
                      f"certificate at PAYPAL-CERT-URL ({short(cert_url, 100)}), and hooklab "
                      "downloads nothing; pass secret='<webhook id>\\n<that certificate PEM>' "
                      "or ask PayPal's /v1/notifications/verify-webhook-signature API")
    ts = parse_time(when, "iso", "PAYPAL-TRANSMISSION-TIME")
    msg = f"{tid}|{when}|{webhook_id}|{binascii.crc32(inc.body) & 0xFFFFFFFF}".encode()
    key = _cert_key(pem, "PayPal certificate")
    ok = _rsa_ok(key, b64decode(sig, "PAYPAL-TRANSMISSION-SIG"), msg,
                 "sha1" if "sha1" in algo.lower() else "sha256")
    hint = MISMATCH + " (is the webhook ID the one of this listener? PayPal signs id|time|" \
        "webhook id|crc32 of the body)"
    return inc.conclude(0 if ok else None, 1, ts, mismatch=hint,
                        note="certificate chain not checked")


def _paypal_sign(out: Outgoing, p: Any) -> SignedRequest:
    webhook_id, pem = _split_id_pem(out.secret)
    if not webhook_id or "PRIVATE KEY" not in pem:
        raise ValueError("paypal signs with secret='<webhook id>\\n<RSA private key PEM>' "
                         "(see hooklab.signatures.keypair('paypal'))")
    tid = secrets.token_hex(16)
    when = format_time(out.timestamp, "iso").replace(".000Z", "Z")
    msg = f"{tid}|{when}|{webhook_id}|{binascii.crc32(out.body) & 0xFFFFFFFF}".encode()
    sig = base64.b64encode(_rsa_sign(pem, msg)).decode()
    return out.done({
        "PAYPAL-TRANSMISSION-ID": tid, "PAYPAL-TRANSMISSION-TIME": when,
        "PAYPAL-TRANSMISSION-SIG": sig, "PAYPAL-AUTH-ALGO": "SHA256withRSA",
        "PAYPAL-CERT-URL": "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-hooklab"})


_SNS_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token",
                                 "TopicArn", "Type"),
    "UnsubscribeConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token",
                                "TopicArn", "Type"),
}


def _sns_string(msg: dict[str, Any]) -> bytes:
    kind = msg.get("Type")
    names = _SNS_FIELDS.get(kind if isinstance(kind, str) else "")
    if names is None:
        raise Invalid(f"unknown SNS message Type {short(kind)}")
    out = ""
    for name in names:
        if name in msg and msg[name] is not None:
            out += f"{name}\n{msg[name]}\n"
    return out.encode("utf-8")


def _sns_message(body: bytes) -> dict[str, Any]:
    try:
        msg = json.loads(body)
    except (ValueError, RecursionError):
        raise Invalid("sns body is not JSON") from None
    if not isinstance(msg, dict):
        raise Invalid("sns body is not a JSON object")
    return msg


def _sns_verify(inc: Incoming, p: Any) -> str:
    msg = _sns_message(inc.body)
    for name in ("Signature", "SignatureVersion", "SigningCertURL", "Timestamp"):
        if not isinstance(msg.get(name), str) or not msg[name]:
            raise Invalid(f"missing {name} in the SNS message")
    pem = _text(inc.secret).strip()
    if "-----BEGIN" not in pem:
        raise Invalid("cannot be verified offline: SNS signs with the private key of the "
                      f"certificate at SigningCertURL ({short(msg['SigningCertURL'], 100)}), "
                      "and hooklab downloads nothing; pass that certificate (PEM) as the secret")
    version = msg["SignatureVersion"]
    if version not in ("1", "2"):
        raise Invalid(f"unsupported SignatureVersion {short(version)} (expected 1 or 2)")
    _sns_cert_url(msg["SigningCertURL"])
    parse_time(msg["Timestamp"], "iso", "Timestamp")  # (well formed; its age is not checked)
    ok = _rsa_ok(_cert_key(pem, "SNS signing certificate"), b64decode(msg["Signature"], "Signature"),
                 _sns_string(msg), "sha1" if version == "1" else "sha256")
    return inc.conclude(0 if ok else None, 1, note="certificate chain not checked")


#: the hosts Amazon SNS serves its signing certificates from (as AWS's message validators
#: check them: ``sns.<region>.amazonaws.com``, ``.com.cn`` in China)
_SNS_CERT_HOST = re.compile(r"sns\.[a-zA-Z0-9-]{3,}\.amazonaws\.com(\.cn)?")


def _sns_cert_url(url: str) -> None:
    """Refuse a ``SigningCertURL`` that is not an Amazon SNS certificate's address.

    Whoever fetches the certificate from a message's own URL trusts the sender's choice: the
    key of ``https://evil.example/x.pem`` verifies whatever evil.example signed. AWS's
    validators accept only https, an SNS host and a ``.pem`` path; so does hooklab, even with
    the certificate given (a message that names another one was not signed by SNS).
    """
    try:
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port  # (a port that is no number: ValueError)
    except ValueError:
        parts, host, port = None, "", None
    if parts is None or parts.scheme != "https" or not _SNS_CERT_HOST.fullmatch(host) \
            or port not in (None, 443) or parts.username is not None \
            or not parts.path.endswith(".pem"):
        raise Invalid(f"SigningCertURL {short(url, 100)} is not an Amazon SNS certificate "
                      "(https://sns.<region>.amazonaws.com/....pem): not sent by SNS")


def _sns_sign(out: Outgoing, p: Any) -> SignedRequest:
    pem = _text(out.secret)
    if "PRIVATE KEY" not in pem:
        raise ValueError("sns signs with an RSA private key PEM (see hooklab.signatures.keypair('sns'))")
    msg = json.loads(out.body)
    msg.update({"SignatureVersion": "2",
                "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-hooklab.pem"})
    try:
        text = _sns_string(msg)
    except Invalid as exc:
        raise ValueError(str(exc)) from None
    msg["Signature"] = base64.b64encode(_rsa_sign(pem, text)).decode()
    return out.done({}, body=json.dumps(msg, indent=2).encode())


# -- key pairs for the public-key providers ----------------------------------------------------
def keypair(provider: str, *, webhook_id: str = "WH-HOOKLAB-0000000000") -> tuple[str, str]:
    """A fresh ``(signing_secret, verifying_secret)`` for a provider that signs with a private
    key: ``sign_request(provider, signing_secret, ...)`` and
    ``verify_signature(provider, verifying_secret, ...)``.

    Discord: hex keys; Telnyx: base64 keys; SendGrid: private PEM and base64 public key (as
    SendGrid shows it); Plaid: private PEM and a JWK; PayPal and SNS: a self-signed
    certificate (PayPal's secrets start with the webhook ID line).
    """
    pid = (provider or "").strip().lower()
    try:
        import cryptography  # noqa: F401
    except ImportError:
        raise ImportError("keypair() needs the 'cryptography' package: pip install cryptography "
                          "(or hooklab[ed25519])") from None
    from cryptography.hazmat.primitives import serialization as ser
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    if pid in ("discord", "telnyx"):
        priv = ed25519.Ed25519PrivateKey.generate()
        raw = priv.private_bytes(ser.Encoding.Raw, ser.PrivateFormat.Raw, ser.NoEncryption())
        pub = priv.public_key().public_bytes(ser.Encoding.Raw, ser.PublicFormat.Raw)
        if pid == "discord":
            return raw.hex(), pub.hex()
        return base64.b64encode(raw).decode(), base64.b64encode(pub).decode()
    if pid in ("sendgrid", "plaid"):
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8,
                                ser.NoEncryption()).decode()
        if pid == "sendgrid":
            der = key.public_key().public_bytes(ser.Encoding.DER,
                                                ser.PublicFormat.SubjectPublicKeyInfo)
            return pem, base64.b64encode(der).decode()
        nums = key.public_key().public_numbers()
        jwk = {"alg": "ES256", "crv": "P-256", "kid": "hooklab", "kty": "EC", "use": "sig",
               "x": _b64url(nums.x.to_bytes(32, "big")), "y": _b64url(nums.y.to_bytes(32, "big"))}
        return pem, json.dumps(jwk)
    if pid in ("paypal", "sns"):
        import datetime as _dt

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes
        from cryptography.x509.oid import NameOID

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"hooklab test {pid}")])
        now = _dt.datetime.now(_dt.timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - _dt.timedelta(days=1))
                .not_valid_after(now + _dt.timedelta(days=30)).sign(key, hashes.SHA256()))
        pem = key.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8,
                                ser.NoEncryption()).decode()
        cert_pem = cert.public_bytes(ser.Encoding.PEM).decode()
        if pid == "paypal":
            return f"{webhook_id}\n{pem}", f"{webhook_id}\n{cert_pem}"
        return pem, cert_pem
    raise ValueError(f"{provider!r} does not sign with a key pair; keypair() serves discord, "
                     "telnyx, sendgrid, plaid, paypal and sns")


SCHEMES: dict[str, Scheme] = {
    "adyen": Scheme(_adyen_verify, _adyen_sign),
    "braintree": Scheme(_braintree_verify, _braintree_sign),
    "ecdsa": Scheme(_ecdsa_verify, _ecdsa_sign),
    "ed25519": Scheme(_ed25519_verify, _ed25519_sign),
    "hubspot": Scheme(_hubspot_verify, _hubspot_sign),
    "jws": Scheme(_jwt_verify, _jwt_sign),
    "jwt": Scheme(_jwt_verify, _jwt_sign),
    "mailgun": Scheme(_mailgun_verify, _mailgun_sign),
    "mandrill": Scheme(_mandrill_verify, _mandrill_sign),
    "paypal": Scheme(_paypal_verify, _paypal_sign),
    "plivo": Scheme(_plivo_verify, _plivo_sign),
    "sns": Scheme(_sns_verify, _sns_sign),
    "twilio": Scheme(_twilio_verify, _twilio_sign),
}
