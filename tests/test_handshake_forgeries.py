"""Every handshake hooklab answers, with its marker added to a forged delivery (a real-looking
body with a wrong or missing signature), on a bin registered for that provider, through real
HTTP on 127.0.0.1: the marker -- a header, a query parameter, a body field -- never keeps the
delivery out of the signature failure the bin's secret gives it. What the answer is (a
harmless echo may still go out) is asserted too, and what is stored: ``verified=False`` with
the check's reason, never "handshake: ... does not sign it" or "not signed"."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from _handshake_http import request

from hooklab import HookLab
from hooklab.signatures import keypair, sign_request


def js(obj: Any) -> bytes:
    return json.dumps(obj).encode()


def signed(provider: str, secret: str, body: bytes) -> dict[str, str]:
    """Signature headers for ``body`` as ``provider`` makes them (with a forger's key)."""
    return dict(sign_request(provider, secret, body=body).headers)


J = {"Content-Type": "application/json"}
DEFAULT = b'{"ok": true, "id": '  # hooklab's own answer: not answered as a handshake
_, DISCORD_PUB = keypair("discord")
FORGER_PRIV, _ = keypair("discord")
MISMATCH = "signature mismatch"
TOKEN_MISMATCH = "Authorization does not match the secret token"

SLACK = js({"token": "t", "challenge": "c", "type": "url_verification",
            "event": {"type": "message", "text": "wire the money"}})
ZOOM = js({"event": "endpoint.url_validation", "event_ts": 1,
           "payload": {"plainToken": "p", "object": {"id": 1}}})
TWITCH = js({"challenge": "c", "subscription": {"type": "channel.follow"},
             "event": {"user_id": "1"}})
DISCORD = js({"type": 1, "application_id": "1", "token": "t", "id": "1", "version": 1})
SMARTSHEET = js({"challenge": "c", "webhookId": 1,
                 "events": [{"objectType": "row", "eventType": "created"}]})
EVENTGRID = js([{"id": "1", "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
                 "subject": "", "eventTime": "2030-01-01T00:00:00Z", "dataVersion": "1",
                 "data": {"validationCode": "code-1"}}])
XERO = js({"events": [], "firstEventSequence": 0, "lastEventSequence": 0, "entropy": "X"})
META = js({"object": "page", "entry": [{"id": "1", "time": 1, "changes": []}]})
STRAVA = js({"aspect_type": "create", "object_type": "activity", "object_id": 1, "owner_id": 2,
             "subscription_id": 999, "event_time": 1})
ASANA = js({"events": [{"action": "changed", "resource": {"gid": "1", "resource_type": "task"}}]})
SWH = js({"type": "invoice.paid", "timestamp": "2030-01-01T00:00:00Z", "data": {"id": "in_1"}})
HUB = "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=the-token"
SHARED = "hub.mode=subscribe&hub.challenge=15f7d1a91c1f40f8a748fd134752feb3&hub.verify_token=" \
    "the-token"


@dataclass(frozen=True)
class Forged:
    """A forged delivery carrying a handshake's marker, and what it must get."""

    provider: str  # the bin is registered for it
    secret: str
    method: str
    query: str
    headers: dict[str, str]
    body: bytes
    status: int
    answer: bytes  # the answer's body starts with this
    event_type: str | None
    reason: str  # the stored verify_reason starts with this (verified is False)
    verify_token: str | None = None


FORGERIES: dict[str, Forged] = {
    # signed handshakes: checked, refused with 401
    "slack-url_verification-bad-signature": Forged(
        "slack", "slack-secret-1", "POST", "", {**J, **signed("slack", "forger-1", SLACK)}, SLACK,
        401, b'{"ok": false', "url_verification", MISMATCH),
    "slack-url_verification-unsigned": Forged(
        "slack", "slack-secret-1", "POST", "", J, SLACK, 401, b'{"ok": false',
        "url_verification", "missing header X-Slack-Signature"),
    "zoom-endpoint.url_validation-bad-signature": Forged(
        "zoom", "zoom-secret-1", "POST", "", {**J, **signed("zoom", "forger-1", ZOOM)}, ZOOM, 401,
        b'{"ok": false', "endpoint.url_validation", MISMATCH),
    "twitch-webhook_callback_verification-unsigned": Forged(
        "twitch", "twitch-secret-0123456789", "POST", "",
        {**J, "Twitch-Eventsub-Message-Type": "webhook_callback_verification"}, TWITCH, 401,
        b'{"ok": false', "webhook_callback_verification",
        "missing header Twitch-Eventsub-Message-Signature"),
    "discord-ping-bad-signature": Forged(
        "discord", DISCORD_PUB, "POST", "", {**J, **signed("discord", FORGER_PRIV, DISCORD)},
        DISCORD, 401, b'{"ok": false', "ping", MISMATCH),
    "okta-verification-get-with-body": Forged(
        "okta", "okta-token-1", "GET", "",
        {**J, "X-Okta-Verification-Challenge": "c", "Authorization": "wrong"},
        js({"data": {"events": []}}), 401, b'{"ok": false', "verification", TOKEN_MISMATCH),
    "front-challenge-bad-signature": Forged(
        "front", "front-secret-1", "POST", "",
        {**J, "X-Front-Challenge": "c", "X-Front-Signature": "AAAA",
         "X-Front-Request-Timestamp": "1"}, js({"type": "inbound", "payload": {"id": "m1"}}),
        401, b'{"ok": false', "challenge", MISMATCH),
    "xero-intent-bad-signature": Forged(
        "xero", "xero-key-1", "POST", "", {**J, "x-xero-signature": "AAAA"}, XERO, 401, b"",
        "intent_to_receive", MISMATCH),
    # answered (an echo signs nothing), and checked as the delivery it is
    "smartsheet-challenge-bad-signature": Forged(
        "smartsheet", "smart-secret-1", "POST", "",
        {**J, "Smartsheet-Hook-Challenge": "c", "Smartsheet-Hmac-SHA256": "00"}, SMARTSHEET,
        200, b'{"smartsheetHookResponse":"c"}', "challenge", MISMATCH),
    "eventgrid-subscriptionvalidation-wrong-token": Forged(
        "eventgrid", "eg-token-1", "POST", "",
        {**J, "aeg-event-type": "SubscriptionValidation", "Authorization": "wrong"}, EVENTGRID,
        200, b'{"validationResponse":"code-1"}', "SubscriptionValidation", TOKEN_MISMATCH),
    "eventgrid-options-wrong-token": Forged(
        "eventgrid", "eg-token-1", "OPTIONS", "",
        {**J, "WebHook-Request-Origin": "eventemitter.example.com", "Authorization": "wrong"},
        js([{"specversion": "1.0", "type": "t"}]), 200, b"", "validation", TOKEN_MISMATCH),
    "monday-challenge-unsigned": Forged(
        "monday", "monday-secret-1", "POST", "", J, js({"challenge": "c"}), 200,
        b'{"challenge":"c"}', "challenge", "missing header Authorization"),
    "google-sync-wrong-token": Forged(
        "google", "goog-token-1", "POST", "",
        {**J, "X-Goog-Resource-State": "sync", "X-Goog-Channel-Id": "ch-1",
         "X-Goog-Channel-Token": "wrong"}, js({"kind": "x"}), 200, DEFAULT, "sync",
        "X-Goog-Channel-Token does not match the secret token"),
    "figma-ping-wrong-passcode": Forged(
        "figma", "figma-passcode-1", "POST", "", J,
        js({"event_type": "PING", "passcode": "wrong", "timestamp": "t", "webhook_id": "1"}),
        200, DEFAULT, "PING", "passcode does not match the secret"),
    "x-crc-with-body": Forged(
        "x", "x-secret-1", "GET", "crc_token=abc", J, js({"for_user_id": "1"}), 200,
        b'{"response_token":"sha256=', "crc", "missing header x-twitter-webhooks-signature"),
    # handshakes their providers never sign, with a delivery's body: checked
    "dropbox-challenge-with-body": Forged(
        "dropbox", "dbx-secret-1", "GET", "challenge=abc", J, js({"list_folder": {}}), 200,
        b"abc", "challenge", "missing header X-Dropbox-Signature"),
    "onfleet-check-with-body": Forged(
        "onfleet", "0af1ee70" * 4, "GET", "check=chk", J, js({"taskId": "t1"}), 200, b"chk",
        "check", "missing header X-Onfleet-Signature"),
    "meta-hub-with-body": Forged(
        "meta", "meta-app-secret-1", "GET", HUB, J, META, 200, b"1158201444", "subscribe",
        "missing header X-Hub-Signature-256"),
    "strava-hub-with-body": Forged(
        "strava", "12345", "GET", SHARED, J, STRAVA, 200, b'{"hub.challenge":', "subscribe",
        "subscription_id does not match the secret"),
    "asana-x-hook-secret-with-body": Forged(
        "asana", "asana-secret-1", "POST", "",
        {**J, "X-Hook-Secret": "x", **signed("asana", "forger-1", ASANA)}, ASANA, 200, b"",
        "handshake", MISMATCH),
    "standardwebhooks-challenge-with-body": Forged(
        "standardwebhooks", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "POST", "",
        {**J, "webhook-challenge": "c2f1b6e4a9d84b7e"}, SWH, 204, b"", "endpoint_verification",
        "missing header webhook-id"),  # (answered, as every request with the header: harmless)
    # the verify token answers the subscription check; it signs no body sent along
    "meta-hub-right-token-with-body": Forged(
        "meta", "meta-app-secret-1", "GET", HUB, J, META, 200, b"1158201444", "subscribe",
        "missing header X-Hub-Signature-256", verify_token="the-token"),
    "strava-hub-right-token-with-body": Forged(
        "strava", "12345", "GET", SHARED, J, STRAVA, 200, b'{"hub.challenge":', "subscribe",
        "subscription_id does not match the secret", verify_token="the-token"),
    # not the handshake's shape at all: a delivery, checked
    "notion-verification_token-in-an-event": Forged(
        "notion", "notion-secret-1", "POST", "", {**J, "X-Notion-Signature": "sha256=00"},
        js({"verification_token": "x", "type": "page.created", "entity": {"id": "1"}}), 200,
        DEFAULT, "page.created", MISMATCH),
    "okta-challenge-on-a-post": Forged(
        "okta", "okta-token-1", "POST", "",
        {**J, "X-Okta-Verification-Challenge": "c", "Authorization": "wrong"},
        js({"data": {"events": []}}), 200, DEFAULT, None, TOKEN_MISMATCH),
}


@pytest.mark.parametrize("case", list(FORGERIES))
def test_a_handshake_marker_never_hides_a_forged_delivery(lab: HookLab, case: str) -> None:
    """Before: an Asana delivery with ``X-Hook-Secret`` added, a Dropbox/Meta/Onfleet/Strava/X
    body sent as the handshake's GET, a Standard Webhooks delivery with ``webhook-challenge``
    added were stored unchecked ("handshake: asana does not sign it", "not signed: an endpoint
    verification"), and a Meta or Strava body with the right ``hub.verify_token`` was stored
    ``verified=True``: the token proves the subscription check, not the body."""
    f = FORGERIES[case]
    lab.secret("b", f.secret, provider=f.provider, verify_token=f.verify_token)
    reply = request(lab, f.method, "/b" + (f"?{f.query}" if f.query else ""), f.body, f.headers)
    assert reply.status == f.status, (reply.status, reply.body)
    assert reply.body.startswith(f.answer), reply.body
    cap = lab.wait(1, timeout=10, bin="b")[0]
    assert (cap.provider, cap.event_type) == (f.provider, f.event_type)
    assert cap.verified is False, (cap.verified, cap.verify_reason)
    assert cap.verify_reason.startswith(f.reason), cap.verify_reason


@pytest.mark.parametrize("provider,query,answer", [
    ("meta", HUB, b"1158201444"),
    ("strava", SHARED, b'{"hub.challenge":"15f7d1a91c1f40f8a748fd134752feb3"}'),
])
def test_the_right_verify_token_still_verifies_the_subscription_check(
        lab: HookLab, provider: str, query: str, answer: bytes) -> None:
    """The bare check (no body) with the registered token stays ``verified=True``."""
    lab.secret("b", "12345", provider=provider, verify_token="the-token")
    reply = request(lab, "GET", f"/b?{query}")
    assert reply.status == 200 and reply.body == answer
    cap = lab.wait(1, timeout=10, bin="b")[0]
    assert (cap.verified, cap.verify_reason) == (True, "ok")
