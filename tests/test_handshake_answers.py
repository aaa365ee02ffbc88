"""Provider answers beyond the first check, through real HTTP on 127.0.0.1: Xero's deliveries
(200 with no body, 401 for a wrong signature, as its "Configuring your server" asks of every
request), Discord's interactions (401 for a bad or missing signature, a deferred
acknowledgement when it verifies), X's CRC on a bin kept from answering it, and how refused
handshakes are marked."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
from _handshake_http import default_answer, request

from hooklab import HookLab
from hooklab.providers import MAX_ECHO
from hooklab.signatures import keypair, sign_request

MISMATCH = "signature mismatch"
X_SECRET = "z3ZX4v7mAAUGykl3EcmkqbartmuW8VFOOzCloLx9Q45P0hLrFu"


# -- refused handshakes --------------------------------------------------------------------------
def _x_token(token: str) -> str:
    digest = hmac.new(X_SECRET.encode(), token.encode(), hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


LONG = "7" * (MAX_ECHO + 1)
TOO_LONG = f"refused with 400, the challenge is longer than {MAX_ECHO} bytes"
SLACK = "slack-signing-secret-1"


def _slack(challenge: str, secret: str) -> tuple[bytes, Callable[[], dict[str, str]]]:
    """A url_verification body, and its headers signed when called: at the test's own time
    (signed as the table is made, a test run minutes after collection was too late: Slack's
    five minutes had passed)."""
    body = json.dumps({"token": "t", "challenge": challenge, "type": "url_verification"}).encode()

    def headers() -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        headers.update(sign_request("slack", secret, body=body, headers=headers).headers)
        return headers

    return body, headers


#: (case, lab.secret args, method, target, body, headers, status, note, verified, reason)
REFUSED = [
    ("dropbox-long", ("dropbox", "dbx-secret-1"), "GET", f"/b?challenge={LONG}", b"", {}, 400,
     f"dropbox challenge: {TOO_LONG}", None, "handshake: dropbox does not sign it"),
    ("meta-long-token-matches", ("meta", "app-secret-1", "vt"), "GET",
     f"/b?hub.mode=subscribe&hub.challenge={LONG}&hub.verify_token=vt", b"", {}, 400,
     f"meta hub.challenge: {TOO_LONG} (verify token matches)", True, "ok"),
    ("meta-short-token-matches", ("meta", "app-secret-1", "vt"), "GET",
     "/b?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=vt", b"", {}, 200,
     "meta hub.challenge: echoed (verify token matches)", True, "ok"),
    ("meta-long-token-wrong", ("meta", "app-secret-1", "vt"), "GET",
     f"/b?hub.mode=subscribe&hub.challenge={LONG}&hub.verify_token=no", b"", {}, 403,
     "meta hub.challenge: refused with 403", False, "hub.verify_token does not match"),
    ("x-long", ("x", X_SECRET), "GET", "/b?crc_token=" + "a" * (MAX_ECHO + 1), b"", {}, 400,
     f"x crc_token: {TOO_LONG}", None, "handshake: x does not sign it"),
    ("x-json-token", ("x", X_SECRET), "GET", "/b?crc_token=true", b"", {}, 400,
     "x crc_token: refused with 400, not a token", None, "handshake: x does not sign it"),
    ("x-answered", ("x", X_SECRET), "GET", "/b?crc_token=abc", b"", {}, 200,
     "x crc_token: response_token sent", None, "handshake: x does not sign it"),
    ("slack-long-signed", ("slack", SLACK), "POST", "/b", *_slack(LONG, SLACK), 400,
     f"slack url_verification: {TOO_LONG} (signature verified)", True, "ok"),
    ("slack-long-wrong-key", ("slack", SLACK), "POST", "/b", *_slack(LONG, "other-secret"), 401,
     "slack url_verification: refused with 401 (signature invalid", False, MISMATCH),
    ("slack-long-unchecked", None, "POST", "/b", *_slack(LONG, SLACK), 400,
     f"slack url_verification: {TOO_LONG} (signature unchecked: no secret for this bin)",
     None, None),
    ("asana-not-printable", ("asana", "asana-secret-1"), "POST", "/b", b"",
     {"X-Hook-Secret": "caf\u00e9"}, 400,
     "asana X-Hook-Secret: refused with 400, not a printable header value", None,
     "handshake: asana does not sign it"),
]


@pytest.mark.parametrize("case,given,method,target,body,headers,status,note,verified,reason",
                         REFUSED, ids=[r[0] for r in REFUSED])
def test_a_refused_handshake_is_marked_as_its_answer_would_be(
        lab: HookLab, case: str, given: Any, method: str, target: str, body: bytes,
        headers: dict[str, str] | Callable[[], dict[str, str]], status: int, note: str,
        verified: bool | None, reason: str | None) -> None:
    """One rule (the module docstring of ``hooklab.providers.handshake``): what was checked
    stands whether the challenge is answered or refused. A refusal read "challenge echoed
    (signature verified): refused, ..."; X's over-long token was stored verified=False
    ("missing header ...") where a JSON-value token was None."""
    if given:
        lab.secret("b", given[1], provider=given[0],
                   verify_token=given[2] if len(given) > 2 else None)
    if callable(headers):
        headers = headers()
    reply = request(lab, method, quote(target, safe="/?=&"), body, headers)
    assert reply.status == status, (reply.status, reply.body)
    assert reply.header("X-Content-Type-Options") == "nosniff"
    if status == 400:
        error = json.loads(reply.body)
        assert error["ok"] is False and LONG not in error["error"]
        assert LONG.encode() not in reply.body and b"a" * MAX_ECHO not in reply.body
    if case == "x-answered":
        assert json.loads(reply.body) == {"response_token": _x_token("abc")}
    cap = lab.wait(1, timeout=10, bin="b")[0]
    assert cap.handshake.startswith(note), cap.handshake
    if status != 200:  # says what happened: no "echoed" or "sent" in a refusal
        assert "echoed" not in cap.handshake and " sent" not in cap.handshake, cap.handshake
    assert (cap.status, cap.verified) == (status, verified), (cap.verified, cap.verify_reason)
    if reason is None:
        assert cap.verify_reason is None
    else:
        assert (cap.verify_reason or "").startswith(reason), cap.verify_reason


# -- Xero ------------------------------------------------------------------------------------------
XERO_KEY = "XeroWebhookSigningKey0123456789=="
#: Xero's Intent to Receive and a contact update, as its docs show them
XERO_ITR = (b'{"events":[],"firstEventSequence": 0,"lastEventSequence": 0, '
            b'"entropy": "S0m3r4Nd0mt3xt"}')
XERO_EVENT = (b'{"events":[{"resourceUrl":"https://api.xero.com/api.xro/2.0/Contacts/717f2bfc",'
              b'"resourceId":"717f2bfc","eventDateUtc":"2017-06-21T01:15:39.902",'
              b'"eventType":"Update","eventCategory":"CONTACT","tenantId":"c2cc9b6e",'
              b'"tenantType":"ORGANISATION"}],"lastEventSequence":1,"firstEventSequence":1,'
              b'"entropy":"YSXCMKAQBJOEMGUZEPFZ"}')


def xero_sig(body: bytes, key: str = XERO_KEY) -> str:
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


#: (case, body, x-xero-signature (None: not sent), status, verified, reason starts, event type)
XERO = [
    ("itr-signed", XERO_ITR, xero_sig(XERO_ITR), 200, True, "ok", "intent_to_receive"),
    ("itr-wrong-key", XERO_ITR, xero_sig(XERO_ITR, "another-key"), 401, False, MISMATCH,
     "intent_to_receive"),
    ("itr-no-signature", XERO_ITR, None, 401, False, "missing header x-xero-signature",
     "intent_to_receive"),
    ("event-signed", XERO_EVENT, xero_sig(XERO_EVENT), 200, True, "ok", "CONTACT.Update"),
    ("event-wrong-key", XERO_EVENT, xero_sig(XERO_EVENT, "another-key"), 401, False, MISMATCH,
     "CONTACT.Update"),
    ("event-tampered", XERO_EVENT.replace(b"Update", b"Delete"), xero_sig(XERO_EVENT), 401,
     False, MISMATCH, "CONTACT.Delete"),
    ("event-itr-signature", XERO_EVENT, xero_sig(XERO_ITR), 401, False, MISMATCH,
     "CONTACT.Update"),
    ("event-garbage", XERO_EVENT, "not base64 at all!", 401, False, "", "CONTACT.Update"),
    ("event-empty-signature", XERO_EVENT, "", 401, False, "", "CONTACT.Update"),
    ("event-no-signature", XERO_EVENT, None, 401, False, "missing header x-xero-signature",
     "CONTACT.Update"),
]


#: on a bin set for Xero, and on one set without provider= (the header names Xero there)
XERO_BINS = [("xero", *c) for c in XERO] + [(None, *c) for c in XERO if c[2] is not None]


@pytest.mark.parametrize("registered,case,body,sig,status,verified,reason,event", XERO_BINS,
                         ids=[f"{c[0] or 'no-provider'}-{c[1]}" for c in XERO_BINS])
def test_every_xero_request_is_answered_as_xero_asks(lab: HookLab, registered: str | None,
                                                     case: str, body: bytes, sig: str | None,
                                                     status: int, verified: bool, reason: str,
                                                     event: str) -> None:
    """Xero: every webhook request "responds within 5 seconds with a 200 O.K", "There is no
    body in the response", "There are no cookies in the response headers", "If the signature
    is invalid a 401 Unauthorised status code is returned". A delivery got ``{"ok": true,
    "id": 3}`` (a body) and a wrong signature 200: Xero retries, then disables the webhook."""
    lab.secret("xero", XERO_KEY, provider=registered)
    headers = {"Content-Type": "application/json"}
    if sig is not None:
        headers["x-xero-signature"] = sig
    start = time.perf_counter()
    reply = request(lab, "POST", "/xero", body, headers)
    assert time.perf_counter() - start < 5
    assert (reply.status, reply.body) == (status, b""), (reply.status, reply.body)
    assert reply.header("Content-Length") == "0"
    assert not reply.has("Set-Cookie") and not reply.has("Content-Type")
    cap = lab.wait(1, timeout=10, bin="xero")[0]
    assert (cap.provider, cap.event_type, cap.status, cap.verified) == (
        "xero", event, status, verified)
    assert cap.verify_reason.startswith(reason), cap.verify_reason
    assert cap.body == body
    # the Intent to Receive is a handshake; a delivery keeps no handshake note
    assert (cap.handshake is not None) is (event == "intent_to_receive"), cap.handshake


@pytest.mark.parametrize("registered,secret", [
    ("github", "gh-secret-1"),  # the bin's secret is GitHub's: no Xero answer
    (None, None),  # nothing set for the bin
], ids=["github-bin", "no-secret"])
def test_xero_deliveries_to_a_bin_without_xeros_key_get_the_normal_answer(
        lab: HookLab, registered: str | None, secret: str | None) -> None:
    if secret:
        lab.secret("b", secret, provider=registered)
    reply = request(lab, "POST", "/b", XERO_EVENT, {"Content-Type": "application/json",
                                                    "x-xero-signature": xero_sig(XERO_EVENT)})
    assert default_answer(reply), (reply.status, reply.body)


def test_a_response_rule_wins_over_xeros_answer(lab: HookLab) -> None:
    lab.secret("xero", XERO_KEY, provider="xero")
    lab.respond("xero", status=202, body={"mine": True})
    for n, (sig, verified) in enumerate(((xero_sig(XERO_EVENT), True), ("AAAA", False)), 1):
        reply = request(lab, "POST", "/xero", XERO_EVENT, {"x-xero-signature": sig})
        assert (reply.status, json.loads(reply.body)) == (202, {"mine": True})
        assert lab.wait(n, timeout=10, bin="xero")[-1].verified is verified


# -- Discord interactions ------------------------------------------------------------------------
PRIV, PUB = keypair("discord")
OTHER_PRIV = keypair("discord")[0]


def interaction(kind: int, **extra: Any) -> bytes:
    body = {"id": f"78600872971521233{kind}", "application_id": "786008729715212338",
            "type": kind, "token": "aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDEyMzQ1Njc4", "version": 1,
            "guild_id": "290926798626357999", "channel_id": "645027906669510667", **extra}
    return json.dumps(body).encode()


COMMAND = interaction(2, data={"id": "771825006014889984", "name": "blep", "type": 1})
COMPONENT = interaction(3, data={"custom_id": "click_one", "component_type": 2})
AUTOCOMPLETE = interaction(4, data={"id": "1", "name": "blep", "type": 1, "options": [
    {"name": "animal", "type": 3, "value": "ca", "focused": True}]})
MODAL = interaction(5, data={"custom_id": "m1", "components": []})
PING = interaction(1)


def discord_signed(body: bytes, key: str = PRIV) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    headers.update(sign_request("discord", key, body=body, headers=headers).headers)
    return headers


def _now() -> str:
    return str(int(time.time()))


#: how each kind of interaction is signed: (case, body, headers) -> status
BAD = [
    ("other-app-key", lambda b: discord_signed(b, OTHER_PRIV)),
    ("zero-signature", lambda b: {"X-Signature-Ed25519": "00" * 64,
                                  "X-Signature-Timestamp": _now()}),
    ("not-hex", lambda b: {"X-Signature-Ed25519": "zz" * 64, "X-Signature-Timestamp": _now()}),
    ("empty-signature", lambda b: {"X-Signature-Ed25519": "", "X-Signature-Timestamp": _now()}),
    ("no-timestamp", lambda b: {"X-Signature-Ed25519": discord_signed(b)["X-Signature-Ed25519"]}),
    ("tampered-body", lambda b: discord_signed(b.replace(b'"version": 1', b'"version": 2'))),
    ("no-signature", lambda b: {"Content-Type": "application/json"}),
]
KINDS = [("ping", PING), ("application_command", COMMAND), ("message_component", COMPONENT),
         ("application_command_autocomplete", AUTOCOMPLETE), ("modal_submit", MODAL)]


@pytest.mark.parametrize("bad", BAD, ids=[b[0] for b in BAD])
@pytest.mark.parametrize("kind,body", KINDS, ids=[k[0] for k in KINDS])
def test_every_discord_interaction_with_a_bad_signature_gets_401(lab: HookLab, kind: str,
                                                                 body: bytes, bad: Any) -> None:
    """Discord: "We will also do automated, routine security checks against your endpoint,
    including purposefully sending you invalid signatures. If you fail the validation, we
    will remove your interactions URL". Only the PING got 401; a command with a garbage
    signature got ``200 {"ok": true}``. Stored, marked unverified, with its event type."""
    lab.secret("bot", PUB, provider="discord")
    reply = request(lab, "POST", "/bot", body, bad[1](body))
    assert reply.status == 401, (reply.status, reply.body)
    assert json.loads(reply.body)["ok"] is False and b'"type"' not in reply.body
    cap = lab.wait(1, timeout=10, bin="bot")[0]
    assert (cap.provider, cap.event_type, cap.status, cap.verified) == (
        "discord", "ping" if kind == "ping" else kind, 401, False)
    assert cap.verify_reason and cap.verify_reason != "ok"
    assert (cap.handshake is not None) is (kind == "ping")


#: a verified interaction: its answer (Discord's interaction callback types: 1 PONG,
#: 5 DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE, 6 DEFERRED_UPDATE_MESSAGE, 8 autocomplete result)
ACKS = [("ping", PING, {"type": 1}), ("application_command", COMMAND, {"type": 5}),
        ("message_component", COMPONENT, {"type": 6}),
        ("application_command_autocomplete", AUTOCOMPLETE, {"type": 8, "data": {"choices": []}}),
        ("modal_submit", MODAL, {"type": 5})]


@pytest.mark.parametrize("kind,body,answer", ACKS, ids=[a[0] for a in ACKS])
def test_a_verified_discord_interaction_gets_a_deferred_acknowledgement(
        lab: HookLab, kind: str, body: bytes, answer: dict[str, Any]) -> None:
    """Discord: "you must send an initial response within 3 seconds of receiving the event.
    If the 3 second deadline is exceeded, the token will be invalidated". hooklab's own
    ``{"ok": true}`` is no interaction response (the user sees "This interaction failed");
    a deferred one keeps the captured token usable for 15 minutes."""
    lab.secret("bot", PUB, provider="discord")
    start = time.perf_counter()
    reply = request(lab, "POST", "/bot", body, discord_signed(body))
    assert time.perf_counter() - start < 3
    assert (reply.status, json.loads(reply.body)) == (200, answer), reply.body
    assert reply.header("Content-Type") == "application/json"
    cap = lab.wait(1, timeout=10, bin="bot")[0]
    assert (cap.event_type, cap.status, cap.verified, cap.verify_reason) == (
        kind, 200, True, "ok")
    assert (cap.handshake is not None) is (kind == "ping")


def test_discord_interactions_without_a_key_or_with_a_rule_are_as_before(lab: HookLab) -> None:
    # no public key for the bin: the normal answer, stored unchecked (the PING alone is
    # refused there: Discord must see that the endpoint checks)
    reply = request(lab, "POST", "/open", COMMAND, discord_signed(COMMAND))
    assert default_answer(reply)
    assert lab.wait(1, timeout=10, bin="open")[0].verified is None
    # a rule of the user's answers, and the capture is still checked
    lab.secret("ruled", PUB, provider="discord")
    lab.respond("ruled", body={"type": 4, "data": {"content": "hi"}})
    for n, (headers, verified) in enumerate(((discord_signed(COMMAND), True),
                                             (discord_signed(COMMAND, OTHER_PRIV), False)), 1):
        reply = request(lab, "POST", "/ruled", COMMAND, headers)
        assert (reply.status, json.loads(reply.body)) == (200, {"type": 4,
                                                                "data": {"content": "hi"}})
        assert lab.wait(n, timeout=10, bin="ruled")[-1].verified is verified
    # no signature on a bin set for another provider, or for none: not Discord's
    for bin_, provider in (("gh", "github"), ("any", None)):
        lab.secret(bin_, "s3cret-value", provider=provider)
        reply = request(lab, "POST", f"/{bin_}", COMMAND, {"Content-Type": "application/json"})
        assert default_answer(reply), (bin_, reply.status, reply.body)


# -- X's CRC ---------------------------------------------------------------------------------------
CRC = "/x?crc_token=9b4507b3-9040-4669-9ca3-6b94edb50553&nonce=MTUw"
UNREGISTERED = ("handshake: x does not sign it (not answered: register the bin with "
                "provider='x' to have X's CRC answered)")
GH_PUSH = {"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + "0" * 64}

#: (case, lab.secret kwargs, extra headers, body, verified, verify_reason, in the note)
X_CASES = [
    ("no-provider", {"secret": X_SECRET}, {}, b"", None, UNREGISTERED,
     "given without provider='x'"),
    # a request that names another sender, or has a body, is checked as any request
    ("no-provider-github-headers", {"secret": X_SECRET}, GH_PUSH, b"", False, None,
     "given without provider='x'"),
    ("no-provider-with-body", {"secret": X_SECRET}, {"Content-Type": "application/json"},
     b'{"ref": "main"}', False, "missing header x-twitter-webhooks-signature",
     "given without provider='x'"),
    ("github-bin", {"secret": "gh-secret-1", "provider": "github"}, {}, b"", False,
     "missing header X-Hub-Signature-256", "the bin's secret is github's, not X's"),
    ("nothing-set", None, {}, b"", None, "handshake: x does not sign it",
     "no secret for this bin"),
]


@pytest.mark.parametrize("case,given,headers,body,verified,reason,note", X_CASES,
                         ids=[c[0] for c in X_CASES])
def test_an_unanswered_x_crc_is_no_signature_failure(lab: HookLab, case: str, given: Any,
                                                     headers: dict[str, str], body: bytes,
                                                     verified: bool | None, reason: str | None,
                                                     note: str) -> None:
    """``lab.secret("x", consumer_secret)`` without ``provider="x"``: the CRC is not answered
    (it would sign any token with the secret for anyone), and its capture was stored
    ``verified=False, "missing header x-twitter-webhooks-signature"``, a signature X never
    sends on its CRC. Now unchecked, saying how to have it answered."""
    if given:
        lab.secret("x", given["secret"], provider=given.get("provider"))
    reply = request(lab, "GET", CRC, body, headers)
    assert default_answer(reply) and b"response_token" not in reply.body
    cap = lab.wait(1, timeout=10, bin="x")[0]
    assert cap.provider == "x" and cap.event_type == "crc", (cap.provider, cap.event_type)
    assert cap.verified is verified, (cap.verified, cap.verify_reason)
    if verified is None:  # (exactly: no failure, and what to do)
        assert cap.verify_reason == reason
    elif reason is not None:
        assert cap.verify_reason.startswith(reason), cap.verify_reason
    assert cap.handshake.startswith("x crc_token: not answered, ") and note in cap.handshake
    assert cap.handshake.endswith("to have it answered: "
                                  "lab.secret(bin, consumer_secret, provider='x')")
