"""Realistic sample webhook deliveries, with the headers each provider sends.

>>> s = sample("stripe", "payment_intent.succeeded", payload={"data": {"object": {"amount": 999}}})
>>> s.data["type"], s.data["data"]["object"]["amount"], s.header("User-Agent")[:6]
('payment_intent.succeeded', 999, 'Stripe')
>>> sample("meta", "subscribe").method, sorted(sample("meta", "subscribe").query)
('GET', ['hub.challenge', 'hub.mode', 'hub.verify_token'])

Every call makes fresh ids (event ids, delivery ids, timestamps). ``payload`` is deep-merged into
the sample like ``stripe trigger --override``: dicts merge key by key, other values replace (for
handshakes sent as GET, ``payload`` merges into the query; where a form field holds JSON, as
Mandrill's ``mandrill_events`` does, into that JSON; Braintree's into the notification its
``bt_payload`` encodes). Shapes and header names follow each
provider's public webhook documentation; signature headers are added by :func:`hooklab.send`
(via :mod:`hooklab.signatures`) when a secret is given.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from ._sample_data import BUILDERS as _FIRST
from ._sample_data import b62
from ._sample_extra import EXTRA
from .table import TABLE

__all__ = ["EVENTS", "Sample", "deep_merge", "sample"]

_BUILDERS = {**EXTRA, **_FIRST}


@dataclass
class Sample:
    """One ready-to-send sample delivery (unsigned): method, query, headers in order, body."""

    provider: str
    event: str
    headers: list[tuple[str, str]]
    body: bytes
    data: Any
    timestamp: int
    msg_id: str | None = None
    params: dict[str, list[str]] | None = field(default=None)  # form fields (Twilio)
    method: str = "POST"
    query: dict[str, str] = field(default_factory=dict)
    #: False for an endpoint check its sender never signs (Dropbox's challenge, X's CRC...)
    signed: bool = True
    #: False: given no secret, sent unsigned even where only a signature would mark it as its
    #: provider's (Discord's PING: a bin without the app's public key refuses a signed one)
    throwaway: bool = True

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    @property
    def query_string(self) -> str:
        """``"?a=1&b=2"`` (or ``""``) to append to the URL."""
        return "?" + urlencode(self.query) if self.query else ""


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
EVENTS: dict[str, tuple[str, ...]] = {p.id: p.events for p in TABLE.values() if p.events}
_OPEN_EVENTS = ("standardwebhooks", "svix")


def _close(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for a near miss, else nothing."""
    import difflib

    near = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.8)
    return f" (did you mean {near[0]!r}?)" if near else ""


def _near_provider(name: str) -> str:
    """`` (did you mean 'x'?)`` for a provider id ``name`` misspells (in another case, with
    spaces around it, a letter off), else nothing."""
    folded = name.strip().lower()
    if folded in TABLE:
        return f" (did you mean {folded!r}?)"
    return _close(folded, TABLE)


def unknown_provider(name: str) -> str:
    """How an error names a provider ``name`` that is not one: quoted with a "did you mean"
    for a near miss, or its length only with a hint where it looks like a credential given
    in the provider's place (``--provider stripe=whsec_...``:
    :func:`hooklab.credentials.shown_given`).

    >>> unknown_provider("strpe")
    "'strpe' (did you mean 'stripe'?)"
    >>> unknown_provider("whsec_TOPSECRET123456")
    "<hidden: 21 characters> (it looks like a secret; a provider is a name such as 'stripe')"
    """
    from .._secretlike import looks_like_secret, shown_given

    if looks_like_secret(name):
        return shown_given(name) + " (it looks like a secret; a provider is a name such as 'stripe')"
    return shown_given(name) + _near_provider(name)


def provider_refusal(name: str, stored: Callable[[str], bool] | None = None) -> str | None:
    """Why a ``provider=name`` filter can match no capture (a ``ValueError``'s message), or
    ``None`` when it can: ``name`` is a provider id hooklab detects (:data:`PROVIDERS`),
    ``"unknown"`` (:data:`~hooklab.filters.NO_PROVIDER`: the captures without one, as a
    Parquet export's folder of them is named), or ``stored(name)`` says a
    capture has it (an import from another tool or an older hooklab). Every capture store
    checks filters with it (``provider_check``, see :func:`hooklab.filters.validate`).

    >>> provider_refusal("stripe"), provider_refusal("acme", stored=lambda p: p == "acme")
    (None, None)
    >>> provider_refusal("Stripe")
    "provider='Stripe' is not a provider hooklab detects (did you mean 'stripe'?), nor one a capture here has: provider= takes the lower-case ids of hooklab.providers.PROVIDERS"
    """
    if name in TABLE or name == "unknown" or (stored is not None and stored(name)):
        return None
    from .._secretlike import looks_like_secret, shown_given

    why = " (it looks like a secret)" if looks_like_secret(name) else _near_provider(name)
    return (f"provider={shown_given(name)} is not a provider hooklab detects{why}, nor "
            "one a capture here has: provider= takes the lower-case ids of "
            "hooklab.providers.PROVIDERS")


def _form_fields(prov: str, data: Any, json_fields: Iterable[str]) -> dict[str, str]:
    """The text of each form field of ``data``: a field that holds JSON (Mandrill's
    ``mandrill_events``, Slack's ``payload``) written as JSON unless given as text; a dict or
    list in any other field is refused (a form field is text: a Python repr is no value any
    receiver reads)."""
    json_fields = set(json_fields)
    out: dict[str, str] = {}
    for k, v in data.items():
        if isinstance(v, str):
            out[k] = v
        elif k in json_fields:
            out[k] = json.dumps(v, separators=(",", ":"), ensure_ascii=False)
        elif isinstance(v, (dict, list, tuple)):
            raise ValueError(f"{prov} form field {k!r} is text, not {type(v).__name__}: give it "
                             "as a string (a form has no nested values)")
        else:
            out[k] = str(v)
    return out


def sample(provider: str, event: str | None = None, payload: Mapping[str, Any] | None = None,
           *, timestamp: int | None = None) -> Sample:
    """Build a fresh sample delivery for ``provider``/``event`` (``event=None``: the default).

    Raises ``ValueError`` naming the known providers and events when either is unknown.

    >>> sample("github", "push").header("X-GitHub-Event")
    'push'
    """
    prov = (provider or "").strip().lower()
    if prov not in EVENTS:
        raise ValueError(f"no sample events for provider {unknown_provider(provider or '')};"
                         f" providers with samples: {', '.join(sorted(EVENTS))}")
    ev = event or EVENTS[prov][0]
    if ev not in EVENTS[prov] and not (prov in _OPEN_EVENTS and ev.strip()):
        from .._secretlike import shown_given

        raise ValueError(f"unknown {prov} sample event {shown_given(str(event))}"
                         f"{_close(ev, EVENTS[prov])};"
                         f" {prov} has: {', '.join(EVENTS[prov])}")
    ts = int(time.time()) if timestamp is None else int(timestamp)
    built = _BUILDERS[prov](ev, ts)
    headers, data = list(built[0]), built[1]
    opts: dict[str, Any] = built[2] if len(built) > 2 else {}  # type: ignore[misc]
    headers += opts.get("headers", [])
    if payload is not None:
        if not isinstance(payload, Mapping):
            raise TypeError(f"payload must be a dict to merge into the sample, not {type(payload).__name__}")
        data = deep_merge(data, payload)
    method = opts.get("method", "POST")
    kind = opts.get("body", "form" if prov == "twilio" else "json_pretty" if prov == "stripe"
                    else "json")
    msg_id = params = None
    query: dict[str, str] = {}
    if method in ("GET", "HEAD") or opts.get("query"):
        query = {str(k): str(v) for k, v in data.items()}
        body = b""
    elif kind == "none":
        body = b""
    elif kind == "form":
        fields = _form_fields(prov, opts["form"](data) if "form" in opts else data,
                              opts.get("json_fields", ()))
        data = fields  # (a form's data is its fields as sent, a JSON field as its text)
        params = {k: [v] for k, v in fields.items()}
        try:
            body = urlencode(fields).encode()
        except UnicodeEncodeError as exc:  # (a lone surrogate: a form field is UTF-8 text)
            raise ValueError(f"a {prov} form field holds {exc.object[exc.start:exc.end]!r}, "
                             "a lone surrogate: no UTF-8 text can") from None
    elif kind == "json_pretty":
        body = json.dumps(data, indent=2).encode()
    else:
        # (a lone surrogate in a string, "\ud800", is no UTF-8: written as JSON escapes it)
        body = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode(
            "utf-8", "backslashreplace")
        if kind == "json_crlf":
            body += b"\r\n"
    if TABLE[prov].scheme == "standardwebhooks":
        msg_id = "msg_" + b62(27)
        pre = TABLE[prov].sig.get("prefix", "webhook")
        headers += [(f"{pre}-id", msg_id), (f"{pre}-timestamp", str(ts))]
    return Sample(prov, ev, headers, body, data, ts, msg_id, params, method, query,
                  opts.get("signed", True), opts.get("throwaway", True))
