"""Every built-in handshake sample, sent with ``hooklab.send`` with and without ``secret=``, is
still its provider's handshake: answered the way the provider expects and stored with the
sample's event type, through real HTTP on 127.0.0.1.

(found by an outside-in tester) ``send(..., provider="msgraph", event="validation",
secret=...)`` signed Graph's validation request, which put a ``{}`` body (with the
clientState) on it: the lab answered ``{"ok": true}`` instead of echoing the token and stored
``event_type=None``, ``verified=False``. Graph's validation request is a POST with
``?validationToken=`` and an empty body, unsigned; so are Asana's and Notion's handshakes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from _provider_secrets import secrets_for

import hooklab

Sent = Any  # (a hooklab SendResponse: what went out, what came back)


def _query(name: str) -> Callable[[Sent], str]:
    return lambda r: parse_qs(urlsplit(r.url).query, keep_blank_values=True)[name][0]


def _header(name: str) -> Callable[[Sent], str]:
    return lambda r: next(v for k, v in r.sent_headers if k.lower() == name.lower())


def _field(*path: Any) -> Callable[[Sent], Any]:
    def read(r: Sent) -> Any:
        value = json.loads(r.sent_body)
        for part in path:
            value = value[part]
        return value
    return read


def _text(read: Callable[[Sent], str]) -> Callable[[Sent, str], bytes]:
    return lambda r, secret: read(r).encode()


def _json(**fields: Callable[[Sent], Any]) -> Callable[[Sent, str], Any]:
    return lambda r, secret: {k: read(r) for k, read in fields.items()}


def _zoom(r: Sent, secret: str) -> Any:
    plain = _field("payload", "plainToken")(r)
    return {"plainToken": plain,
            "encryptedToken": hmac.new(secret.encode(), plain.encode(), hashlib.sha256).hexdigest()}


def _x(r: Sent, secret: str) -> Any:
    digest = hmac.new(secret.encode(), _query("crc_token")(r).encode(), hashlib.sha256).digest()
    return {"response_token": "sha256=" + base64.b64encode(digest).decode()}


# (provider, sample event): its answer from what was sent (the provider's docs: what the
# endpoint must send back), bytes for a text answer, else the JSON; "bin" where only a bin
# with the provider's secret answers it (Zoom and X sign the answer), None where the
# handshake is acknowledged, not echoed
ECHO: dict[tuple[str, str], tuple[str, Callable[[Sent, str], Any] | None]] = {
    ("msgraph", "validation"): ("any", _text(_query("validationToken"))),
    ("dropbox", "challenge"): ("any", _text(_query("challenge"))),
    ("nylas", "challenge"): ("any", _text(_query("challenge"))),
    ("onfleet", "check"): ("any", _text(_query("check"))),
    ("meta", "subscribe"): ("any", _text(_query("hub.challenge"))),
    ("strava", "subscribe"): ("any", _json(**{"hub.challenge": _query("hub.challenge")})),
    ("slack", "url_verification"): ("any", _text(_field("challenge"))),
    ("twitch", "webhook_callback_verification"): ("any", _text(_field("challenge"))),
    ("front", "challenge"): ("any", _text(_header("X-Front-Challenge"))),
    ("smartsheet", "challenge"): ("any", _json(
        smartsheetHookResponse=_header("Smartsheet-Hook-Challenge"))),
    ("monday", "challenge"): ("any", _json(challenge=_field("challenge"))),
    ("okta", "verification"): ("any", _json(verification=_header("X-Okta-Verification-Challenge"))),
    ("eventgrid", "SubscriptionValidation"): ("any", _json(
        validationResponse=_field(0, "data", "validationCode"))),
    ("asana", "handshake"): ("any", None),
    ("notion", "verification"): ("any", None),
    ("google", "sync"): ("any", None),
    ("figma", "PING"): ("any", None),
    ("sns", "SubscriptionConfirmation"): ("any", None),
    ("zoom", "endpoint.url_validation"): ("bin", _zoom),
    ("x", "crc"): ("bin", _x),
    ("xero", "intent_to_receive"): ("bin", None),
    ("discord", "ping"): ("bin", lambda r, secret: {"type": 1}),
    ("trello", "head"): ("bin", None),
}
#: handshakes their senders never sign (the README's list): stored unchecked on any bin
UNSIGNED = {"msgraph", "dropbox", "nylas", "onfleet", "meta", "strava", "asana", "notion", "x",
            "trello"}
#: send's secret=, and whether the bin has the provider's secret (lab.secret)
MODES = {"no secret": (False, False), "secret=": (True, False),
         "secret= and lab.secret": (True, True)}


@pytest.fixture(scope="module")
def shared_lab() -> Iterator[hooklab.HookLab]:
    lab = hooklab.HookLab(port=0, db=":memory:").start()  # (not the default lab: kept
    try:  # for the module's tests)
        yield lab
    finally:
        lab.stop()


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("provider,event", list(ECHO), ids=[f"{p}-{e}" for p, e in ECHO])
def test_a_handshake_sample_is_answered_as_its_handshake(shared_lab: hooklab.HookLab,
                                                         provider: str, event: str,
                                                         mode: str) -> None:
    signs, registered = MODES[mode]
    sk, vk = secrets_for(provider)
    bin_ = f"{provider}-{event}-{mode}".replace(" ", "_").replace("=", "")
    if registered:
        shared_lab.secret(bin_, vk, provider=provider)
    r = hooklab.send(shared_lab.url_for(bin_), provider=provider, event=event,
                     secret=sk if signs else None)
    (cap,) = shared_lab.wait(1, timeout=10, bin=bin_)
    # (a HEAD names no sender: an uptime monitor's is no Trello check; the 200 is all Trello
    # wants. Discord's PING goes unsigned without secret=: a bin without the app's public
    # key refuses a signed one with 401, so only one registered for Discord takes it for one)
    if not registered and (provider == "trello" or (provider == "discord" and not signs)):
        assert (cap.provider, r.status) == (None, 200)
        return
    assert (cap.provider, cap.event_type) == (provider, event), cap.verify_reason
    assert cap.handshake, "stored as a handshake"
    assert cap.body == r.sent_body
    when, answer = ECHO[provider, event]
    if answer is not None and (when == "any" or registered):
        expected = answer(r, vk)
        got = r.body if isinstance(expected, bytes) else json.loads(r.body)
        assert (r.status, got) == (200, expected), cap.handshake
    if provider == "asana":
        assert r.header("X-Hook-Secret") == _header("X-Hook-Secret")(r) and r.status == 200
    if provider == "msgraph":  # Graph's request: a POST with an empty text/plain body
        assert (cap.method, cap.body, cap.content_type) == ("POST", b"", "text/plain")
    if provider in UNSIGNED:  # (sent as the provider sends it, whatever secret= says)
        assert not [k for k, _ in r.sent_headers if "signature" in k.lower()]
    expected_verified = True if registered and provider not in UNSIGNED else None
    assert cap.verified is expected_verified, cap.verify_reason
