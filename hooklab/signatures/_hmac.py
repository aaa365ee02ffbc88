"""The common schemes, driven by each provider's table parameters (private).

- ``hmac``: an HMAC of a message built from the body (and a timestamp, an id, the URL...),
  hex or base64 encoded, in one header (optionally ``key=value`` pairs or a list);
- ``standardwebhooks``: the Standard Webhooks / Svix format;
- ``token`` / ``basic``: a shared secret sent as it is (a header or a payload field), or as
  HTTP Basic credentials. A ``token`` row's ``signed`` names the Standard Webhooks header
  prefix of the sender's signed mode (GitLab's signing token: ``webhook-signature``), checked
  with the same secret when its signature header comes.

Parameters of ``hmac`` (``provider.sig``): ``header``; ``algo`` (sha256, sha1, sha512);
``enc`` (hex, b64, b64url); ``prefix`` ("sha256=", "v0="...); ``msg`` (template with {body},
{ts}, {id}, {url}); ``ts`` (timestamp header) and ``ts_unit`` (s, ms, iso); ``id`` (id
header); ``kv`` (separator of ``key=value`` pairs) with ``ts_key`` / ``sig_key``;
``positional`` ("ts,sig,sig"); ``multi`` (separator of several signatures); ``key`` (utf8,
b64, hex, nfkd: how the secret becomes the HMAC key); ``legacy`` (header, prefix, algo) tried
when ``header`` is absent; ``also`` (more headers that may carry a signature); ``extra``
(constant headers to send); ``ts_json`` (a millisecond timestamp inside the JSON body);
``kv_sets`` (several whitespace-separated ``key=value`` sets, each verified on its own:
Persona while a secret rotates); ``token`` (a
header that carries the secret itself when the signature header is absent: Buildkite's token
mode); ``hint`` (added to the mismatch reason, unless the secret starts with
``hint_unless``); ``text`` ("binary": the message is signed as
Node's "binary" string, see :func:`node_binary`; the UTF-8 form is accepted too);
``untimed`` ((algo, msg, note): how a delivery without the ``ts`` header is signed, e.g.
Front's rule webhooks beside its application webhooks); ``jwt_hint`` (the reason given when
the signature header is missing and ``Authorization`` carries a JWT: Jira's app webhooks).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from ..providers import found_in_header
from ._base import (
    MISMATCH,
    Incoming,
    Invalid,
    Outgoing,
    Scheme,
    SignedRequest,
    b64decode,
    format_time,
    hmac_digest,
    parse_time,
    same,
    short,
)


def _pairs(raw: str, sep: str, join: str) -> list[tuple[str, str, str | None]]:
    """``(key, value, problem)`` of each ``key=value`` item of ``raw`` (split on ``sep``).

    The providers' own parsers split on the separator and on ``=`` without trimming (the
    stripe package: ``[i.split("=", 2) for i in header.split(",")]``; paddle_billing's
    ``PaddleSignature``; WorkOS splits on ``", "`` exactly): ``problem`` says how an item
    differs from the form the sender's ``join`` writes (``None`` when it does not), so a
    sender that adds or leaves out a space is told, not passed.

    >>> _pairs("t=1, v1=ab", ",", ",")
    [('t', '1', None), ('v1', 'ab', "has a space after the ','")]
    """
    out: list[tuple[str, str, str | None]] = []
    lead = join[len(sep):] if join.startswith(sep) else ""
    for i, item in enumerate(raw.split(sep)):
        k, eq, v = item.partition("=")
        if not eq:
            continue
        key, value = k.strip(), v.strip()
        want = lead if i else ""
        problem = None
        if k != want + key:
            before = k[: len(k) - len(k.lstrip())]
            if want and not before:
                problem = f"has no {want!r} after the {sep!r}"
            elif before and not want:
                problem = f"has a space after the {sep!r}" if before == " " else \
                    f"has whitespace after the {sep!r}"
            else:
                problem = f"has whitespace around the key {key!r}"
        elif v != value:
            problem = f"has whitespace around the {key!r} value"
        out.append((key, value, problem))
    return out


def hmac_key(secret: str | bytes, mode: str) -> bytes:
    """The HMAC key for ``secret`` (``mode``: utf8, b64, hex, nfkd); ``Invalid`` if unusable."""
    if isinstance(secret, bytes) and mode in ("utf8", "nfkd"):
        return secret
    text = secret.decode("latin-1") if isinstance(secret, bytes) else secret
    if mode == "b64":
        return b64decode(text, "secret (expected base64)")
    if mode == "hex":
        try:
            return bytes.fromhex(text.strip())
        except ValueError:
            raise Invalid("secret must be hexadecimal for this provider") from None
    if mode == "nfkd":
        text = unicodedata.normalize("NFKD", text)
    return text.encode("utf-8", "surrogatepass")


def _encode(digest: bytes, enc: str) -> str:
    if enc == "hex":
        return digest.hex()
    if enc == "b64url":
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    return base64.b64encode(digest).decode("ascii")


def _decode(value: str, enc: str) -> bytes | None:
    v = value.strip()
    try:
        if enc == "hex":
            return bytes.fromhex(v)
        if enc == "b64url":
            return base64.urlsafe_b64decode(v + "=" * (-len(v) % 4))
        return base64.b64decode(v + "=" * (-len(v) % 4), validate=True)
    except (ValueError, binascii.Error):
        return None


#: providers whose official check decodes the signature first (or ignores case), so that any
#: spelling of the right bytes verifies there: these keep the lenient rule. Every other HMAC
#: provider's receiver compares the text (their SDKs: hmac.compare_digest / secure_compare on
#: the hexdigest or base64 text; their docs' reference code alike), and so does hooklab.
_DECODES_FIRST = {
    # @linear/sdk LinearWebhooks.verify: Buffer.from(signature, "hex") compared byte by byte
    # with the HMAC (Node's hex decoding takes either case)
    "linear": "hex-decoded",
}

_FORMS = {"hex": "lowercase hex", "b64": "standard base64 with its '=' padding",
          "b64url": "URL-safe base64 without '=' padding"}


def _form_problem(given: str, expected: str, enc: str) -> str:
    """How ``given`` (the right bytes) is written otherwise than ``expected``, the provider's
    text; never the signature itself."""
    if given.strip() != given or any(c.isspace() for c in given):
        return "has whitespace in it"
    if enc == "hex":
        if given == given.upper():
            return "is uppercase"
        return "is in mixed case"
    if enc == "b64" and ("-" in given or "_" in given):
        return "uses the URL-safe alphabet ('-', '_')"
    if enc == "b64url" and ("+" in given or "/" in given):
        return "uses the standard base64 alphabet ('+', '/')"
    if given.rstrip("=") == expected.rstrip("="):
        return "lacks the '=' padding" if len(given) < len(expected) else "has '=' padding"
    return "is written otherwise"


def pick(expected: list[bytes], sigs: list[str], enc: str, problems: list[str | None],
         strict: bool = True) -> tuple[int | None, str | None]:
    """Which of ``sigs`` verifies for one of the ``expected`` digests: ``(index, None)``.

    ``strict``: only the text the provider's receivers accept (``_encode`` of the digest,
    compared in constant time, no parsing ``problems``); a signature with the right bytes in
    another form gives ``(None, what differs)``. Not ``strict``: any spelling of the bytes.

    >>> d = bytes.fromhex("ab01")
    >>> pick([d], ["AB01", "ab01"], "hex", [None, None])
    (1, None)
    >>> pick([d], ["AB01"], "hex", [None]), pick([d], ["AB01"], "hex", [None], strict=False)
    ((None, 'is uppercase'), (0, None))
    """
    texts = [_encode(d, enc) for d in expected]
    found = None
    for i, (sig, problem) in enumerate(zip(sigs, problems, strict=True)):
        hit = False
        for text in texts:  # (every comparison made: constant time over the candidates)
            hit = same(text, sig) or hit
        if hit and problem is None and found is None:
            found = i
    if found is not None:
        return found, None
    for i, sig in enumerate(sigs):
        # (the right bytes in either base64 alphabet: told as such, not as a mismatch)
        alphabets = ("b64", "b64url") if enc in ("b64", "b64url") else (enc,)
        decoded = [_decode(sig, a) for a in alphabets]
        for d, text in zip(expected, texts, strict=True):
            if any(g is not None and same(d, g) for g in decoded):
                if not strict:
                    return i, None
                return None, problems[i] or _form_problem(sig, text, enc)
    return None, None


def form_reason(name: str, enc: str, prefix: str, problem: str) -> str:
    form = (f"{prefix}<{_FORMS.get(enc, enc)}>" if prefix else _FORMS.get(enc, enc))
    return (f"signature matches in value but not in form: {name}'s receivers compare the "
            f"text exactly ({form}); this one {problem}")


def _message(template: str, body: bytes, *, ts: str = "", msg_id: str = "",
             url: str = "") -> bytes:
    out = template.encode("utf-8")
    for name, value in (("{ts}", ts), ("{id}", msg_id), ("{url}", url)):
        out = out.replace(name.encode(), value.encode("utf-8", "surrogatepass"))
    return out.replace(b"{body}", body)


def node_binary(message: bytes) -> bytes:
    r"""``message`` (UTF-8 text) as Node.js hashes a string given with its ``"binary"``
    encoding: the low byte of each UTF-16 unit. Trello signs its deliveries this way (its
    docs: an en dash, U+2013, is hashed as the byte 0x13). Bytes that are not UTF-8 stay.

    >>> node_binary("caf\u00e9 \u2013 \U0001F600".encode())
    b'caf\xe9 \x13 =\x00'
    """
    try:
        text = message.decode("utf-8")
    except UnicodeDecodeError:
        return message
    if text.isascii():
        return message
    return text.encode("utf-16-le", "surrogatepass")[0::2]


def _hint_applies(s: Mapping[str, Any], secret: str | bytes) -> bool:
    """Whether the spec's mismatch ``hint`` says something: a hint about the secret's form
    (``hint_unless`` its prefix, e.g. Stripe's ``whsec_``) is left out when it has that form."""
    if "hint" not in s:
        return False
    prefix = s.get("hint_unless")
    if not prefix:
        return True
    text = secret.decode("utf-8", "replace") if isinstance(secret, bytes) else str(secret)
    return not text.startswith(prefix)


def _need_url(inc: Incoming, p: Any) -> str:
    if not inc.url:
        raise Invalid(f"{p.id} signs the notification URL plus the body: pass url=<the "
                      f"notification URL configured at {p.name}>")
    return inc.url


def _hmac_verify(inc: Incoming, p: Any) -> str:
    s = p.sig
    if "kv_sets" in s:  # several ``t=..,v1=..`` sets (a secret being rotated): any one
        raw = inc.opt(s["header"])
        sets = raw.split() if raw is not None else []
        if len(sets) > _MAX_SETS:  # (each costs an HMAC of the body, on the store's thread)
            raise Invalid(f"malformed {s['header']}: {len(sets)} signature sets (a sender "
                          f"rotating a secret sends {_MAX_SETS})")
        if len(sets) > 1:
            return _any_set(inc, p, sets)
    if "token" in s and inc.opt(s["header"]) is None and inc.opt(s["token"]) is not None:
        # the sender's other mode: the secret itself in a header (Buildkite's X-Buildkite-Token)
        if not same(inc.header(s["token"]), _text(inc.secret)):
            raise Invalid(f"{s['token']} does not match the secret token")
        return f"ok ({s['token']}: a token, not a signature)"
    header, prefix, algo_name = s["header"], s.get("prefix", ""), s.get("algo", "sha256")
    enc, note = s.get("enc", "hex"), ""
    raw = inc.opt(header)
    if raw is None and "legacy" in s and inc.opt(s["legacy"][0]) is not None:
        header, prefix, algo_name = s["legacy"]
        raw = inc.opt(header)
        note = f"legacy {header} {algo_name}"
    others = [inc.opt(h) for h in s.get("also", ()) if inc.opt(h) is not None]
    if raw is None and others:
        raw, others = others[0], others[1:]
    if raw is None and "unsupported" in s and s["unsupported"][0] in inc.body:
        raise Invalid(s["unsupported"][1])
    if raw is None and "jwt_hint" in s and _JWT_AUTH.fullmatch(inc.opt("Authorization") or ""):
        raise Invalid(f"missing header {header}: {s['jwt_hint']}")
    if raw is None:
        raise Invalid(f"missing header {header}" + (f" {s['missing_hint']}"
                                                   if "missing_hint" in s else ""))
    ts_raw: str | None = None
    problems: list[str | None] = []  # (how each signature's form differs from the provider's)
    if "kv" in s:
        items = _pairs(raw, s["kv"], s.get("kv_join", s["kv"]))
        pairs = [(k, v) for k, v, _ in items]
        ts_raw = next((v for k, v in pairs if k == s["ts_key"]), None)
        ts_problem = next((pr for k, _, pr in items if k == s["ts_key"]), None)
        sigs = [v for k, v in pairs if k == s["sig_key"]]
        problems = [pr or ts_problem for k, _, pr in items if k == s["sig_key"]]
        expect = f"'{s['ts_key']}=...{s['kv']}{s['sig_key']}=...'"
        if ts_raw is None:
            raise Invalid(f"malformed {header}: no {s['ts_key']}=<timestamp> (expected {expect})")
        if not sigs:
            found = sorted({k for k, _ in pairs if k != s["ts_key"]})
            raise Invalid(f"no {s['sig_key']} signature in {header}"
                          + (f" (found only {', '.join(found)})" if found else f" (expected {expect})"))
    elif s.get("positional"):
        parts = raw.split(",")
        ts_raw = parts[0].strip()
        sigs = [x.strip() for x in parts[1:] if x.strip()]
        problems = [None if x == x.strip() else "has whitespace after the ','"
                    for x in parts[1:] if x.strip()]
        if not sigs:
            raise Invalid(f"malformed {header}: expected '<timestamp>,<signature>', got {short(raw)}")
    else:
        sigs = [raw, *others]
        problems = [None] * len(sigs)
        if "multi" in s:
            sep = s["multi"]
            items = [x for v in sigs for x in v.split(sep) if x.strip()]
            sigs = [x.strip() for x in items]
            problems = [None if x == x.strip() else f"has whitespace after the {sep!r}"
                        for x in items]
        if prefix:
            stripped, said = [], []
            for v, problem in zip(sigs, problems, strict=True):
                if v[: len(prefix)].lower() == prefix.lower():
                    stripped.append(v[len(prefix):])
                    said.append(problem or (None if v.startswith(prefix) else
                                            f"writes the prefix {v[:len(prefix)]!r}"))
            if not stripped:
                raise Invalid(f"malformed {header}: expected '{prefix}<{enc}>', got {short(raw)}")
            sigs, problems = stripped, said
    if not any(v.strip() for v in sigs):  # (Gitea's, from a webhook without a secret)
        raise Invalid(f"{header} is empty: no signature (was the webhook created without a "
                      f"secret at {p.name}?)")
    template = s.get("msg", "{body}")
    if "ts" in s and "untimed" in s and inc.opt(s["ts"]) is None:
        algo_name, template, untimed = s["untimed"]  # (the sender's other, untimed kind)
        note = "; ".join(filter(None, (note, untimed)))
    elif "ts" in s:
        ts_raw = inc.header(s["ts"])
    where = s.get("ts") or (f"{header} {s['ts_key']}=" if "kv" in s else header)
    ts = None if ts_raw is None else parse_time(ts_raw, s.get("ts_unit", "s"), where)
    if "ts_json" in s and ts is None:
        ts = _json_ts(inc.body, s["ts_json"])
    url = _need_url(inc, p) if "{url}" in template else ""
    msg_id = inc.header(s["id"]) if "{id}" in template else ""
    key = hmac_key(inc.secret, s.get("key", "utf8"))
    algo = getattr(hashlib, algo_name)
    message = _message(template, inc.body, ts=ts_raw or "", msg_id=msg_id, url=url)
    given = [_decode(v, enc) for v in sigs]
    if all(g is None for g in given):
        raise Invalid(f"malformed {header}: signature is not {'hex' if enc == 'hex' else 'base64'}")
    expected = []
    if s.get("text") == "binary":  # (as the sender signs; then the UTF-8 form, as others do)
        try:
            inc.body.decode("utf-8")
        except UnicodeDecodeError:  # (its bytes would be the "binary" form of another text:
            # accepted as such, one genuine delivery would verify a body Trello never sent)
            raise Invalid(f"signature mismatch: the body is not UTF-8 text ({p.name} signs "
                          "JSON text)") from None
        binary = node_binary(message)
        if binary != message:
            expected.append(hmac_digest(key, binary, algo))
    expected.append(hmac_digest(key, message, algo))
    index, form = pick(expected, sigs, enc, problems, strict=p.id not in _DECODES_FIRST)
    if form is not None:
        stale = None if ts is None else inc.stale(ts)
        raise Invalid(form_reason(p.name, enc, prefix, form) + (f" (also: {stale})" if stale else ""))
    hint = MISMATCH + (f" {s['hint']}" if _hint_applies(s, inc.secret) else "")
    if "{url}" in template:
        hint += f"; signed against url {short(url, 80)} (pass the URL configured at {p.name})"
    return inc.conclude(index, len(given), ts, mismatch=hint, note=note)


#: signature sets one header may carry (Persona: the old and the new secret's)
_MAX_SETS = 2

#: an ``Authorization`` header that carries a JWT (``Bearer <jwt>``, Atlassian Connect's
#: ``JWT <jwt>``): three base64url parts, the last (the signature) possibly empty
_JWT_AUTH = re.compile(r"(?i)(?:bearer|jwt) +[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]* *")


def _any_set(inc: Incoming, p: Any, sets: list[str]) -> str:
    """Verify each of the header's sets on its own; the first that verifies wins."""
    from dataclasses import replace

    first: Invalid | None = None
    for i, one in enumerate(sets):
        try:
            reason = _hmac_verify(replace(inc, headers={**inc.headers, p.sig["header"].lower(): one}), p)
        except Invalid as exc:
            first = first or exc
            continue
        return f"ok (set {i + 1} of {len(sets)})" if reason == "ok" else reason
    assert first is not None
    raise first


def _json_ts(body: bytes, field: str) -> float | None:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    value = data.get(field) if isinstance(data, dict) else None
    return value / 1000 if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _hmac_sign(out: Outgoing, p: Any) -> SignedRequest:
    s = p.sig
    unit = s.get("ts_unit", "s")
    ts = format_time(out.timestamp, unit)
    template = s.get("msg", "{body}")
    url = out.need_url(p.id) if "{url}" in template else ""
    msg_id = out.msg_id
    if "id" in s:  # a delivery id already among the headers (a sample's) is the one to sign
        msg_id = next((v for k, v in out.headers.items() if k.lower() == s["id"].lower()), msg_id)
    try:
        key = hmac_key(out.secret, s.get("key", "utf8"))
    except Invalid as exc:
        raise ValueError(str(exc)) from None
    message = _message(template, out.body, ts=ts, msg_id=msg_id, url=url)
    if s.get("text") == "binary":
        message = node_binary(message)
    digest = hmac_digest(key, message, getattr(hashlib, s.get("algo", "sha256")))
    sig = _encode(digest, s.get("enc", "hex"))
    headers: dict[str, str] = dict(s.get("extra", {}))
    if "kv" in s:
        join = s.get("kv_join", s["kv"])
        headers[s["header"]] = f"{s['ts_key']}={ts}{join}{s['sig_key']}={sig}"
    elif s.get("positional"):
        headers[s["header"]] = f"{ts},{sig}"
    else:
        headers[s["header"]] = s.get("prefix", "") + sig
    if "ts" in s:
        headers[s["ts"]] = ts
    if "id" in s:
        headers[s["id"]] = msg_id
    for name, pre, algo in s.get("copies", ()):  # (the sender's other signature headers)
        headers[name] = pre + hmac_digest(key, out.body, getattr(hashlib, algo)).hex()
    return out.done(headers)


# -- Standard Webhooks / Svix -------------------------------------------------------------------
def swh_key(secret: str | bytes, *, raw_fallback: bool = False) -> bytes:
    """The HMAC key of a Standard Webhooks secret (``whsec_<base64>``, Supabase ``v1,whsec_...``)."""
    if isinstance(secret, bytes):
        key = secret
    else:
        s = secret.strip()
        if s.startswith("v1,"):
            s = s[3:]
        if s.startswith("whpk_"):
            raise Invalid("whpk_ public keys (v1a asymmetric signatures) are not supported; "
                          "pass the whsec_ signing secret")
        if s.startswith("whsec_"):
            try:
                key = b64decode(s[len("whsec_"):], "secret")
            except Invalid:
                raise Invalid("secret is not valid base64 after whsec_") from None
        elif raw_fallback:
            key = s.encode("utf-8")
        else:
            try:
                key = b64decode(s, "secret")
            except Invalid:
                raise Invalid("secret is not valid base64 (Standard Webhooks secrets look like "
                              "whsec_<base64>)") from None
    if not key:
        raise Invalid("empty secret")
    return key


def _swh_prefixes(p: Any) -> tuple[str, str]:
    first = p.sig.get("prefix", "webhook")
    return (first, "svix" if first == "webhook" else "webhook")


def _swh_verify(inc: Incoming, p: Any) -> str:
    prefixes = _swh_prefixes(p)

    def get(suffix: str) -> str:
        for pre in prefixes:
            value = inc.opt(f"{pre}-{suffix}")
            if value is not None:
                return value
        raise Invalid(f"missing header {prefixes[0]}-{suffix}")

    msg_id, ts_raw, sig_raw = get("id"), get("timestamp"), get("signature")
    ts = parse_time(ts_raw, "s", f"{prefixes[0]}-timestamp")
    key = swh_key(inc.secret, raw_fallback=p.id == "openai")
    # (the SDKs split on " " exactly and compare each "v1,<base64>" as text: standardwebhooks
    # Webhook.verify, svix's over it)
    entries = [e.partition(",") for e in sig_raw.split(" ") if e]
    v1 = [sig for version, comma, sig in entries if comma and version == "v1"]
    if not v1:
        found = sorted({version for version, _, _ in entries})
        raise Invalid(f"no v1 signature in {prefixes[0]}-signature (expected 'v1,<base64>'"
                      + (f", found {short(' '.join(found))})" if found else ")"))
    expected = hmac_digest(key, f"{msg_id}.{ts_raw.strip()}.".encode() + inc.body)
    index, form = pick([expected], v1, "b64", [None] * len(v1))
    if form is not None:
        stale = inc.stale(ts)
        raise Invalid(form_reason(getattr(p, "name", p.id), "b64", "v1,", form)
                      + (f" (also: {stale})" if stale else ""))
    return inc.conclude(index, len(v1), ts)


def _swh_sign(out: Outgoing, p: Any) -> SignedRequest:
    prefix = _swh_prefixes(p)[0]
    try:
        key = swh_key(out.secret, raw_fallback=p.id == "openai")
    except Invalid as exc:
        raise ValueError(str(exc)) from None
    sig = _encode(hmac_digest(key, f"{out.msg_id}.{out.timestamp}.".encode() + out.body), "b64")
    return out.done({f"{prefix}-id": out.msg_id, f"{prefix}-timestamp": str(out.timestamp),
                     f"{prefix}-signature": f"v1,{sig}"})


# -- shared tokens ------------------------------------------------------------------------------
def _text(secret: str | bytes) -> str:
    return secret.decode("utf-8", "replace") if isinstance(secret, bytes) else secret


def _json_tokens(body: bytes, path: str) -> list[Any] | None:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    found: list[Any] = [data]
    for part in path.split("."):
        nxt: list[Any] = []
        for item in found:
            if part == "*" and isinstance(item, list):
                nxt.extend(item)
            elif isinstance(item, dict) and part in item:
                nxt.append(item[part])
        found = nxt
    return found


def _token_verify(inc: Incoming, p: Any) -> str:
    if isinstance(inc.secret, bytes):
        try:  # (decoded with replacements, U+FFFD matched U+FFFD: a sender knowing only the
            inc.secret.decode("utf-8")  # key's length passed, Basic of 24 U+FFFD for 24 bytes)
        except UnicodeDecodeError:
            raise Invalid(f"{p.id}'s secret is bytes that are no UTF-8 text: a token is sent as "
                          "text, so none can match it (give the token as str)") from None
    secret = _text(inc.secret)
    if "json" in p.sig:
        field = p.sig["json"].replace(".*", "[]")
        values = _json_tokens(inc.body, p.sig["json"])
        if values is None:
            raise Invalid(f"{p.id} body is not JSON ({p.name} sends its token as {field})")
        if not values or any(v in ("", None) for v in values):
            raise Invalid(f"missing {field} in the body")
        if not all(isinstance(v, (str, int)) and not isinstance(v, bool)
                   and same(str(v), secret) for v in values):
            raise Invalid(f"{field} does not match the secret (was it set for another "
                          "subscription?)")
        return "ok"
    header = p.sig["header"]
    signed = p.sig.get("signed")
    if signed and inc.opt(f"{signed}-signature") is not None:
        if inc.opt(header) is None:  # (the sender's signing token alone: the signature decides)
            return _signing_token(inc, p, signed)
        try:  # both (a sender moving from its token to signing): either one may be the secret
            return _token_header(inc, p, secret)
        except Invalid as first:
            try:
                return _signing_token(inc, p, signed)
            except Invalid as second:
                if not secret.strip().startswith("whsec_"):
                    raise first from None
                # (a whsec_ secret is a signing token: its signature's failure is the news)
                raise Invalid(f"{first}; nor does the {signed}-signature match the signing "
                              f"token: {second}") from None
    return _token_header(inc, p, secret)


def _signing_token(inc: Incoming, p: Any, prefix: str) -> str:
    """A token provider's signed mode (``signed`` in its table row): Standard Webhooks headers
    (``<prefix>-id``, ``-timestamp``, ``-signature``) under the bin's secret, a ``whsec_`` key.
    GitLab's signing token (MR 230944): ``v1,<base64 HMAC-SHA256 of id.timestamp.body>``."""
    from types import SimpleNamespace

    note = f"{prefix}-signature: {p.name}'s signing token"
    try:
        reason = _swh_verify(inc, SimpleNamespace(id=p.id, sig={"prefix": prefix}))
    except Invalid as exc:  # (a failure is raised, not returned: said with which check it was)
        raise Invalid(f"{exc} ({note})") from None
    return f"ok ({note})" if reason == "ok" else f"{reason} ({note})"


def _token_header(inc: Incoming, p: Any, secret: str) -> str:
    """The token in ``p.sig["header"]``: the value itself, or (in ``Authorization``) ``Bearer
    <token>``, and ``Basic <base64 of the token>`` where the row says ``basic`` (Okta's own
    Basic form: the token is ``user:password``). A row with ``any_header`` takes it in any
    header (Okta lets the admin name the header, ``authScheme.key``)."""
    header = p.sig["header"]
    basic = bool(p.sig.get("basic"))
    if p.sig.get("any_header"):
        for name, value in inc.headers.items():
            if not is_hop_field(name) and _token_in(value, secret, True, basic):
                # (where: forward and replay give the secret back in that header only)
                return "ok" if name == header.lower() else found_in_header(name)
    given = inc.header(header, f" {p.sig['missing_hint']}" if "missing_hint" in p.sig else "")
    if not _token_in(given, secret, header.lower() == "authorization", basic):
        raise Invalid(f"{header} does not match the secret token (was the token for another "
                      "hook?)" + (" (no other header carries it either)"
                                  if p.sig.get("any_header") else ""))
    return "ok"


#: fields a hop on the way writes, never the sender's own header (a proxy's credential, a
#: proxy's copy of another field, hooklab's relay): not where a token is looked for
_NOT_THE_SENDERS = ("proxy-", "x-forwarded-", "forwarded", "x-original-", "x-real-", "via",
                    "x-hooklab-")


def is_hop_field(name: str) -> bool:
    """Whether a header ``name`` is one a hop on the way writes (see :data:`_NOT_THE_SENDERS`)
    rather than the sender: never where a provider's token is taken from or given back to.

    >>> is_hop_field("X-Forwarded-Authorization"), is_hop_field("X-Okta-Hook-Auth")
    (True, False)
    """
    return name.lower().startswith(_NOT_THE_SENDERS)


def _token_in(given: str, secret: str, schemes: bool, basic: bool) -> bool:
    """Whether the header value ``given`` is the token ``secret``: the value itself, and with
    ``schemes`` ``Bearer <token>`` (any case, spaces around it), with ``basic`` also ``Basic
    <base64 of the token>`` (constant-time comparisons)."""
    if same(given, secret):
        return True
    if not schemes:
        return False
    scheme, _, rest = given.partition(" ")
    if scheme.lower() == "bearer":
        return same(rest.strip(), secret)
    if basic and scheme.lower() == "basic":
        try:  # (as the basic scheme reads its credentials)
            creds = b64decode(rest, "Authorization credentials")
        except Invalid:
            return False
        return same(creds, secret.encode("utf-8", "surrogatepass"))
    return False


def _token_sign(out: Outgoing, p: Any) -> SignedRequest:
    secret = _text(out.secret)
    if "json" in p.sig:
        data = json.loads(out.body) if out.body.strip() else {}
        path = p.sig["json"].split(".")
        targets = [data]
        for part in path[:-1]:
            targets = [x for t in targets for x in (t if part == "*" and isinstance(t, list)
                                                    else [t.get(part)] if isinstance(t, dict)
                                                    else [])]
        value: Any = secret
        if p.sig.get("as_int") and secret.isdigit() and str(int(secret)) == secret:
            value = int(secret)
        for t in targets:
            if isinstance(t, dict):
                t[path[-1]] = value
        return out.done({}, body=json.dumps(data).encode())
    return out.done({p.sig["header"]: secret})


def _basic_verify(inc: Incoming, p: Any) -> str:
    given = inc.header("Authorization", f" ({p.name} sends the user and password of the "
                       "webhook URL as HTTP Basic credentials)")
    scheme, _, value = given.partition(" ")
    if scheme.lower() != "basic":
        raise Invalid(f"malformed Authorization: expected 'Basic <base64>', got {short(scheme)}")
    creds = b64decode(value, "Authorization credentials")
    # (the secret's own bytes: decoded with replacements, a key of bytes that are no UTF-8
    # matched any credentials of as many U+FFFD)
    key = inc.secret if isinstance(inc.secret, bytes) else inc.secret.encode("utf-8", "surrogatepass")
    if not same(creds, key):
        raise Invalid("Authorization (Basic) does not match 'user:password' of the secret")
    return "ok"


def _basic_sign(out: Outgoing, p: Any) -> SignedRequest:
    text = _text(out.secret)
    if ":" not in text:
        raise ValueError(f"{p.id} secret must be 'user:password'")
    return out.done({"Authorization": "Basic " + base64.b64encode(text.encode()).decode()})


def check_key(secret: str | bytes, p: Any) -> None:
    """``Invalid`` (the words signing and verifying use) when ``secret`` cannot be the key of
    provider ``p`` (its row of the provider table), for the schemes whose secret has a form
    to check: Standard Webhooks' ``whsec_<base64>``, an HMAC key in base64 or hex (an
    Ed25519 key: :func:`hooklab.signatures._special.check_ed25519_key`)."""
    if p.scheme == "standardwebhooks":
        swh_key(secret, raw_fallback=p.id == "openai")
    elif p.scheme == "hmac" and p.sig.get("key", "utf8") in ("b64", "hex"):
        hmac_key(secret, p.sig["key"])
    elif p.scheme == "adyen":
        hmac_key(secret, "hex")


SCHEMES: dict[str, Scheme] = {
    "basic": Scheme(_basic_verify, _basic_sign),
    "hmac": Scheme(_hmac_verify, _hmac_sign),
    "standardwebhooks": Scheme(_swh_verify, _swh_sign),
    "token": Scheme(_token_verify, _token_sign),
}
