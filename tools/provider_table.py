"""Print the README's provider table from hooklab's provider table.

    python tools/provider_table.py > /tmp/table.md   # then paste under "## Providers"

tests/test_providers.py checks that the README lists every provider with its docs and SDK.
"""

from __future__ import annotations

import math

from hooklab.providers import TABLE, Provider

HANDSHAKES = {
    "slack": "`url_verification` → challenge (text/plain)",
    "zoom": "`endpoint.url_validation` → plainToken + HMAC encryptedToken (JSON; needs the secret)",
    "twitch": "`webhook_callback_verification` → challenge (text/plain)",
    "meta": "GET `hub.challenge` → challenge; wrong `verify_token` → 403",
    "strava": "GET `hub.challenge` → `{\"hub.challenge\": …}`; wrong `verify_token` → 403",
    "msgraph": "`?validationToken=` (SharePoint's `?validationtoken=`, any case) → token "
               "(text/plain)",
    "dropbox": "GET `?challenge=` → challenge (text/plain, nosniff)",
    "nylas": "GET `?challenge=` → challenge (text/plain)",
    "asana": "`X-Hook-Secret` echoed; kept as the bin's secret",
    "okta": "`X-Okta-Verification-Challenge` → `{\"verification\": …}`",
    "smartsheet": "`Smartsheet-Hook-Challenge` → `Smartsheet-Hook-Response` + JSON",
    "x": "GET `crc_token` → `response_token` (HMAC; only on a bin registered with "
         "`provider='x'`; a `crc_token` that is not a token, e.g. JSON, → 400: the answer would "
         "sign it)",
    "trello": "HEAD → 200 (marked on a bin registered for Trello)",
    "monday": "`{\"challenge\": …}` echoed",
    "onfleet": "GET `?check=` → value",
    "discord": "interactions PING → `{\"type\": 1}` only with a valid signature, else 401; "
               "webhook events (no `token`): PING (`type` 0) and each event → 204, empty body "
               "(401 with a wrong signature; the PING also without a key); every other "
               "interaction 401 with a bad or missing signature, verified → deferred ack "
               "(`{\"type\": 5}` / `6` / `8`)",
    "standardwebhooks": "`webhook-challenge` → 204 with `webhook-challenge-response` (the "
                        "official SDK's endpoint verification; needs the secret); with a body "
                        "it is also checked as a delivery",
    "eventgrid": "`SubscriptionValidation` → `validationResponse`; CloudEvents OPTIONS",
    "sns": "`SubscriptionConfirmation`: never automatic, `capture.confirm_subscription()`",
    "google": "`sync` marked (plain 200)",
    "figma": "`PING` marked (plain 200)",
    "notion": "`verification_token` kept as the bin's secret",
    "xero": "every request: 200 with no body if signed right, 401 (no body) if not (needs the "
            "secret)",
    "front": "`X-Front-Challenge` → challenge (text/plain)",
    "mandrill": "HEAD → 200 (marked on a bin registered for Mandrill)",
}

VECTORS = {  # published worked examples the tests verify
    "github": "docs example", "slack": "docs example", "twilio": "docs example",
    "standardwebhooks": "spec example", "svix": "spec example", "sendgrid": "SDK test vector",
    "hubspot": "SDK test vectors (v1, v2, v3)", "adyen": "SDK test vector",
    "square": "SDK test vector", "discord": "RFC 8032 vectors",
}
FORMULA = {"github", "shopify", "vercel", "terraform", "typeform", "intercom", "helpscout",
           "heroku", "x", "calendly", "tiktok", "webflow", "customerio", "recurly", "sanity"}

_ALGO = {"sha256": "HMAC-SHA256", "sha1": "HMAC-SHA1", "sha512": "HMAC-SHA512"}
_SPECIAL = {
    "twilio": "HMAC-SHA1 b64 of URL + sorted form params (`bodySHA256` for JSON)",
    "mandrill": "HMAC-SHA1 b64 of URL + sorted form params",
    "plivo": "HMAC-SHA256 b64 of URL (no query) + nonce (V2); of the URL with its query and the "
             "POST parameters sorted, `.` nonce (V3, checked when it comes alone)",
    "hubspot": "v3: HMAC-SHA256 b64 of method + URL + body + ms timestamp (v1, v2 too)",
    "mailgun": "HMAC-SHA256 hex of timestamp + token, in the body (a webhook's JSON `signature`; "
               "a forwarded message's form fields, urlencoded or multipart)",
    "adyen": "HMAC-SHA256 b64 (hex key) of 8 fields per item, in the body; `HmacSignature`",
    "braintree": "HMAC-SHA1 (key SHA-1 of private key) of `bt_payload`, form fields",
    "ed25519": "Ed25519",
    "ecdsa": "ECDSA P-256 / SHA-256 of timestamp + body",
    "jws": "JWS HS256 with `iss` and body SHA-256 claims",
    "jwt": "JWT",
    "paypal": "SHA256withRSA by the certificate at `PAYPAL-CERT-URL` (offline with the PEM only)",
    "sns": "SHA1/SHA256withRSA of the message fields (offline with the certificate PEM only; "
           "`SigningCertURL` must be SNS's, as AWS's validators require)",
}


def verification(p: Provider) -> str:
    s = p.sig
    if p.scheme == "hmac":
        algo = _ALGO[s.get("algo", "sha256")]
        enc = {"hex": "hex", "b64": "b64", "b64url": "b64url"}[s.get("enc", "hex")]
        msg = s.get("msg", "{body}").replace("{body}", "body").replace("{ts}", "ts") \
            .replace("{id}", "id").replace("{url}", "URL")
        key = {"b64": ", key b64", "hex": ", key hex", "nfkd": ", key NFKD"}.get(s.get("key", ""), "")
        fmt = f"`{s['header']}`" + (f" (`{s['prefix']}`)" if s.get("prefix") else "")
        text = " as Node's \"binary\" string (UTF-8 too)" if s.get("text") == "binary" else ""
        out = f"{algo} {enc} of `{msg}`{text}{key} in {fmt}"
        if s.get("kv_sets"):
            out += " (a set per secret while one rotates)"
        also = s.get("also", ())
        if also:  # (more headers a signature may come in: any one matching verifies)
            out += f" or `{also[0]}`" if len(also) == 1 else \
                f" or any of `{also[0]}` … `{also[-1]}`"
        copies = [name for name, _, _ in s.get("copies", ())]
        if copies:  # (the sender's other signature headers, each checked by some receiver)
            out += f"; sent with {', '.join(f'`{c}`' for c in copies)} too"
        if "jwt_hint" in s:
            out += "; an app webhook's JWT in `Authorization` is named, not checked"
        if "token" in s:
            out += f"; token mode: the token in `{s['token']}`"
        if "untimed" in s:  # (the sender's kind without a timestamp)
            other_algo, other_msg, what = s["untimed"]
            out += f"; {what.split(':')[0]}s: {_ALGO[other_algo]} {enc} of `body`"
        return out
    if p.scheme == "standardwebhooks":
        return f"Standard Webhooks (`{s['prefix']}-*` headers)"
    if p.scheme == "token":
        where = f"`{s['json']}` in the body" if "json" in s else f"`{s['header']}`"
        signed = (f"; signing token: Standard Webhooks (`{s['signed']}-*` headers)"
                  if "signed" in s else "")
        if s.get("any_header"):  # (Okta: the admin names the header, authScheme.key)
            where += " or the header the hook names (`authScheme.key`)"
        basic = "; `Basic` of `user:password` too" if s.get("basic") else ""
        return f"shared token in {where}{signed}{basic}"
    if p.scheme == "basic":
        return "HTTP Basic credentials"
    if p.scheme in ("ed25519", "ecdsa", "jwt", "jws"):
        base = _SPECIAL[p.scheme]
        if p.scheme == "ed25519":
            return f"{base} of `{s['msg'].replace('{ts}', 'ts').replace('{body}', 'body')}` in `{s['header']}`"
        if p.scheme == "jwt":
            return f"{base} {s['alg']} in `{s['header']}`" + (
                f" with `{s['body_claim']}`" if "body_claim" in s else "") + (
                "; its `aud` must be the URL called (`url=`, else the capture's; behind a proxy "
                "that said so with `X-Forwarded-*`, jupyter-server-proxy's "
                "`/user/x/proxy/8765/...`, an `aud` whose path ends with the capture's is taken "
                "on arrival, the reason saying \"checked by its path\")"
                if s.get("aud") == "url" else "")
        return f"{base} in `{s['header']}`"
    return _SPECIAL[p.id]


def window(p: Provider) -> str:
    """How old (or far ahead) the signed timestamp may be on arrival, as the provider says."""
    if not p.timestamped:
        return ""
    if not p.tolerance:
        return "; no age check, as its own verifier"
    t = f"{p.tolerance:g} s"
    if p.ahead is None:
        return f"; timestamp within {t} either way"
    return f"; timestamp at most {t} old" + (", not ahead" if p.ahead == 0 else
                                              "" if math.isinf(p.ahead) else
                                              f", {p.ahead:g} s ahead")


def signing(p: Provider) -> str:
    if p.scheme in ("ed25519", "ecdsa", "paypal", "sns") or p.sig.get("alg") == "ES256":
        return "private key (`keypair()`)"
    if p.scheme in ("mailgun", "adyen", "braintree", "sns") or "json" in p.sig:
        return "yes (changes the body)"
    if p.scheme in ("twilio", "mandrill", "plivo", "hubspot") or "{url}" in p.sig.get("msg", ""):
        return "yes (needs `url=`)"
    return "yes"


#: a provider's second family of deliveries, said after its detection and verification
OTHER_KIND = {
    "shopify": ("Events: `shopify-topic` / `shopify-hmac-sha256`",
                "Events: event type `Shopify-Topic.action`, e.g. `Product.update`, delivery id "
                "`Shopify-Webhook-Id`"),
}


#: where a provider's event type or delivery id is not the field its deliveries usually name,
#: said after its detection
READ_AS = {
    "box": "delivery id: the body's `id` (Box changes `BOX-DELIVERY-ID` on a retry)",
    "twitch": "event type: the subscription's, `revocation` for a revocation message",
    "postmark": "inbound email (no `RecordType`): event type `Inbound`, delivery id `MessageID`",
    "hubspot": "delivery id: the first event's `eventId.subscriptionId.portalId.occurredAt` "
               "(an `eventId` is not unique)",
    "tiktok": "delivery id: `event.user_openid.create_time`",
    "bitbucket": "delivery id: `X-Request-UUID` (Cloud) or `X-Request-Id` (Data Center)",
    "sentry": "delivery id from the body (`Request-ID` is new on each retry): resource.action "
              "and error `event_id`, event alert `event_id.triggered_rule`, comment "
              "`comment_id.timestamp`, installation `uuid`, issue `created` the issue's id, "
              "metric alert `resolved` the incident's id; none for other issue and metric "
              "alert actions or `seer`",
    "front": "delivery id: the event's `id` (`payload.id`; a rule webhook's top-level `id`)",
    "woocommerce": "event type `ping`: the unsigned `webhook_id=` form a new webhook sends",
    "heroku": "event type: `resource.action` (the sample `api:release.create` arrives as "
              "`release.create`)",
}


def detection(p: Provider) -> str:
    parts = [f"`{h}`" for h in p.detect[:2]]
    if p.id in OTHER_KIND:
        parts[-1] += f"; {OTHER_KIND[p.id][0]}"
    if p.agent:
        parts.append(f"UA `{p.agent}`")
    if p.shape is not None:  # (with a header of its own: unsigned deliveries by their shape)
        parts.append("payload shape, unsigned too" if p.shape_alone else "payload shape")
    return " / ".join(parts) + (f"; {READ_AS[p.id]}" if p.id in READ_AS else "")


def main() -> None:
    print("| id | provider | detection | verification | signing | handshake | cross-checked with | docs |")
    print("|---|---|---|---|---|---|---|---|")
    for pid in sorted(TABLE):
        p = TABLE[pid]
        checked = ", ".join(x for x in (f"`{p.sdk}`" if p.sdk else "", VECTORS.get(pid, ""),
                                        "documented formula" if pid in FORMULA else "") if x)
        if p.family:
            p_name = f"{p.name} ({p.family} family)"
        else:
            p_name = p.name
        other = f" ({OTHER_KIND[pid][1]})" if pid in OTHER_KIND else ""
        print(f"| `{pid}` | {p_name} | {detection(p)} | {verification(p)}{other}{window(p)} | {signing(p)} | "
              f"{HANDSHAKES.get(pid, '—')} | {checked or '—'} | [docs]({p.docs}) |")


if __name__ == "__main__":
    main()
