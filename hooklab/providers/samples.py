"""Realistic built-in sample webhook events, with the headers each provider sends.

>>> s = sample("stripe", "payment_intent.succeeded", payload={"data": {"object": {"amount": 999}}})
>>> s.data["type"], s.data["data"]["object"]["amount"], s.header("User-Agent")[:6]
('payment_intent.succeeded', 999, 'Stripe')
>>> sorted(EVENTS)[:3]
['github', 'gitlab', 'shopify']

Every call makes fresh ids (event ids, delivery ids, timestamps). ``payload`` is deep-merged into
the sample like ``stripe trigger --override``: dicts merge key by key, other values replace.
Shapes and header names follow each provider's public webhook documentation; signature headers
are added by :func:`hooklab.send` (via :mod:`hooklab.signatures`) when a secret is given.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from ._sample_data import BUILDERS, SWH_DATA, b62

__all__ = ["EVENTS", "Sample", "deep_merge", "sample"]


@dataclass
class Sample:
    """One ready-to-send sample delivery (unsigned): headers in order, exact body bytes."""

    provider: str
    event: str
    headers: list[tuple[str, str]]
    body: bytes
    data: Any
    timestamp: int
    msg_id: str | None = None
    params: dict[str, list[str]] | None = field(default=None)  # form fields (Twilio)

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


def deep_merge(base: Any, override: Any) -> Any:
    """``override`` merged into a copy of ``base``: dicts recurse, everything else replaces."""
    if isinstance(base, dict) and isinstance(override, Mapping):
        out = dict(base)
        for k, v in override.items():
            out[k] = deep_merge(base[k], v) if k in base else copy.deepcopy(v)
        return out
    return copy.deepcopy(override)


#: provider -> its sample events (the first is the default); Standard Webhooks and Svix accept
#: any ``noun.verb`` event type too
EVENTS: dict[str, tuple[str, ...]] = {
    "github": ("push", "pull_request.opened", "issues.opened", "ping"),
    "gitlab": ("push",),
    "shopify": ("orders/create",),
    "slack": ("event_callback", "url_verification"),
    "standardwebhooks": tuple(SWH_DATA),
    "stripe": ("payment_intent.succeeded", "checkout.session.completed", "invoice.paid",
               "charge.refunded"),
    "svix": tuple(SWH_DATA),
    "twilio": ("sms",),
}
_OPEN_EVENTS = ("standardwebhooks", "svix")


def _known() -> str:
    return "; ".join(f"{p}: {', '.join(evs)}" for p, evs in sorted(EVENTS.items()))


def sample(provider: str, event: str | None = None, payload: Mapping[str, Any] | None = None,
           *, timestamp: int | None = None) -> Sample:
    """Build a fresh sample delivery for ``provider``/``event`` (``event=None``: the default).

    Raises ``ValueError`` naming the known providers and events when either is unknown.

    >>> sample("github", "push").header("X-GitHub-Event")
    'push'
    """
    prov = (provider or "").strip().lower()
    if prov not in EVENTS:
        raise ValueError(f"no sample events for provider {provider!r}; known: {_known()}")
    ev = event or EVENTS[prov][0]
    if ev not in EVENTS[prov] and not (prov in _OPEN_EVENTS and ev.strip()):
        raise ValueError(f"unknown {prov} sample event {event!r}; {prov} has: "
                         f"{', '.join(EVENTS[prov])} (all known: {_known()})")
    ts = int(time.time()) if timestamp is None else int(timestamp)
    headers, data = BUILDERS[prov](ev, ts)
    if payload is not None:
        if not isinstance(payload, Mapping):
            raise TypeError(f"payload must be a dict to merge into the sample, not {type(payload).__name__}")
        data = deep_merge(data, payload)
    msg_id = None
    params = None
    if prov == "twilio":
        params = {k: [str(v)] for k, v in data.items()}
        body = urlencode({k: str(v) for k, v in data.items()}).encode()
    elif prov == "stripe":
        body = json.dumps(data, indent=2).encode()
    else:
        body = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    if prov in _OPEN_EVENTS:
        msg_id = "msg_" + b62(27)
        pre = "svix" if prov == "svix" else "webhook"
        headers += [(f"{pre}-id", msg_id), (f"{pre}-timestamp", str(ts))]
    return Sample(prov, ev, headers, body, data, ts, msg_id, params)
