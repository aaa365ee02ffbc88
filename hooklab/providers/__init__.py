"""Who sent a webhook, what event it is, and its delivery id.

>>> detect([("X-GitHub-Event", "pull_request"), ("X-GitHub-Delivery", "d1")],
...        b'{"action": "opened"}')
('github', 'pull_request.opened', 'd1')

Facts (header names, payload fields) follow each provider's public webhook documentation.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qs

__all__ = ["PROVIDERS", "detect", "detect_record"]

PROVIDERS = (
    "discord",
    "github",
    "gitlab",
    "mailgun",
    "paddle",
    "shopify",
    "slack",
    "square",
    "standardwebhooks",
    "stripe",
    "svix",
    "twilio",
    "zoom",
)


def _lower(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in headers:
        out.setdefault(k.lower(), v)
    return out


def _payload(body: bytes, h: dict[str, str]) -> Any:
    if not body or len(body) > 8 * 1024 * 1024 or h.get("content-encoding"):
        return None
    try:
        if body.lstrip()[:1] in (b"{", b"["):
            return json.loads(body)
        if "x-www-form-urlencoded" in h.get("content-type", ""):
            form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
            if "payload" in form:  # Slack interactive and GitHub form-encoded payloads
                return json.loads(form["payload"][0])
            return {k: v[0] for k, v in form.items()}
    except (ValueError, RecursionError):
        return None
    return None


def _get(obj: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _s(v: Any) -> str | None:
    return None if v is None or isinstance(v, (dict, list)) else str(v)


def detect(
    headers: Iterable[tuple[str, str]], body: bytes
) -> tuple[str | None, str | None, str | None]:
    """Return ``(provider, event_type, delivery_id)``; unknown senders give ``None``s."""
    h = _lower(headers)
    p: Any = None

    def payload() -> Any:
        nonlocal p
        if p is None:
            p = _payload(body, h) or {}
        return p

    if "x-github-event" in h:
        ev = h["x-github-event"]
        action = _s(_get(payload(), "action"))
        return "github", f"{ev}.{action}" if action else ev, h.get("x-github-delivery")
    if "x-gitlab-event" in h or "x-gitlab-token" in h:
        ev = h.get("x-gitlab-event") or _s(_get(payload(), "object_kind"))
        return "gitlab", ev, h.get("x-gitlab-event-uuid") or h.get("x-gitlab-webhook-uuid")
    if "stripe-signature" in h:
        return "stripe", _s(_get(payload(), "type")), _s(_get(payload(), "id"))
    if "x-shopify-topic" in h or "x-shopify-hmac-sha256" in h:
        return "shopify", h.get("x-shopify-topic"), h.get("x-shopify-webhook-id")
    if "x-slack-signature" in h or "x-slack-request-timestamp" in h:
        d = payload()
        ev = _s(_get(d, "event", "type")) or _s(_get(d, "type")) or _s(_get(d, "command"))
        return "slack", ev, _s(_get(d, "event_id")) or h.get("x-slack-request-timestamp")
    if "svix-id" in h:
        return "svix", _s(_get(payload(), "type")), h.get("svix-id")
    if "webhook-id" in h and ("webhook-signature" in h or "webhook-timestamp" in h):
        return "standardwebhooks", _s(_get(payload(), "type")), h.get("webhook-id")
    if "x-twilio-signature" in h:
        d = payload()
        ev = _s(_get(d, "SmsStatus")) or _s(_get(d, "CallStatus")) or _s(_get(d, "EventType"))
        return "twilio", ev, _s(_get(d, "MessageSid")) or _s(_get(d, "CallSid")) or h.get(
            "i-twilio-idempotency-token"
        )
    if "paddle-signature" in h:
        d = payload()
        return "paddle", _s(_get(d, "event_type")), _s(_get(d, "event_id"))
    if "x-zm-signature" in h:
        return "zoom", _s(_get(payload(), "event")), h.get("x-zm-trackingid")
    if "x-square-hmacsha256-signature" in h or "x-square-signature" in h:
        d = payload()
        return "square", _s(_get(d, "type")), _s(_get(d, "event_id"))
    if "x-signature-ed25519" in h:
        d = payload()
        t = _get(d, "type")
        ev = _s(_get(d, "event", "type")) or (None if t is None else f"type{t}")
        return "discord", ev, _s(_get(d, "id"))
    ua = h.get("user-agent", "")
    if ua.startswith("Stripe/"):
        return "stripe", _s(_get(payload(), "type")), _s(_get(payload(), "id"))
    if ua.startswith("Slackbot"):
        d = payload()
        return "slack", _s(_get(d, "event", "type")) or _s(_get(d, "type")), _s(_get(d, "event_id"))
    if b'"event-data"' not in body or b'"signature"' not in body:  # cheap pre-check
        return None, None, None
    d = payload()
    if isinstance(d, dict) and "signature" in d and isinstance(d.get("event-data"), dict):
        ev = d["event-data"]
        return "mailgun", _s(ev.get("event")), _s(ev.get("id"))
    return None, None, None


def detect_record(record: dict[str, Any]) -> None:
    """Fill ``provider``, ``event_type`` and ``delivery_id`` of a store record in place."""
    if record.get("provider") is not None:
        return
    prov, ev, did = detect(record.get("headers") or (), record.get("body") or b"")
    record["provider"], record["event_type"], record["delivery_id"] = prov, ev, did
