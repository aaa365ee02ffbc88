"""Handshakes their providers never sign (Dropbox's ``?challenge=``, Onfleet's ``?check=``,
Microsoft Graph's ``validationToken``, Meta's and Strava's ``hub.challenge``, Asana's
``X-Hook-Secret``, Notion's ``verification_token``, X's CRC), through real HTTP on 127.0.0.1:

- on a bin whose secret was given without ``provider=``, the bare handshake is no signature
  failure (``verified=None``, "handshake: <provider> does not sign it"), as on a bin
  registered for the provider;
- a request that is more than the handshake -- a body (every delivery has one), a header
  naming another sender -- is checked as any request by the bin's secret, on a bin registered
  for the provider or set without one: a forged delivery with a handshake's marker added is
  still a signature failure.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from _handshake_http import Reply, default_answer, request

from hooklab import HookLab

JSON = {"Content-Type": "application/json"}
FB = {"User-Agent": "facebookplatform/1.0 (+http://developers.facebook.com)"}
NYLAS = {"User-Agent": "Nylas-Webhooks/1.0"}
DROPBOX = {"User-Agent": "DropboxWebhooks/1.0"}  # (what Dropbox's checks come from)
GRAPH = "Validation: Testing client application reachability for subscription Request-Id: 6e5c"
ASANA_SECRET = "b537207f20cbfa02357cf448134da559"
NOTION_TOKEN = "secret_tMrlL1qK5vuQAh1b6cZGhFChZTSYJlce98V0pYn7yBl"
CRC = "9b4507b3-9040-4669-9ca3-6b94edb50553"
STRAVA = "15f7d1a91c1f40f8a748fd134752feb3"
META_Q = "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meatyhamhock"
STRAVA_Q = f"hub.mode=subscribe&hub.challenge={STRAVA}&hub.verify_token=STRAVA"


@dataclass(frozen=True)
class Shake:
    """A handshake as its provider sends it, and what it is answered."""

    provider: str
    event_type: str
    method: str
    query: str
    headers: dict[str, str]
    body: bytes
    status: int
    answer: bytes | None  # None: hooklab's default answer (not answered by the handshake)


SHAKES = {
    "dropbox": Shake("dropbox", "challenge", "GET", "challenge=abc123", DROPBOX, b"", 200,
                     b"abc123"),
    "nylas": Shake("nylas", "challenge", "GET", "challenge=nyl-1", NYLAS, b"", 200, b"nyl-1"),
    "onfleet": Shake("onfleet", "check", "GET", "check=chk-9", {}, b"", 200, b"chk-9"),
    "msgraph": Shake("msgraph", "validation", "POST",
                     "validationToken=" + GRAPH.replace(" ", "+").replace(":", "%3A"),
                     {"Content-Type": "text/plain; charset=utf-8"}, b"", 200, GRAPH.encode()),
    "meta": Shake("meta", "subscribe", "GET", META_Q, FB, b"", 200, b"1158201444"),
    "strava": Shake("strava", "subscribe", "GET", STRAVA_Q, {}, b"", 200,
                    json.dumps({"hub.challenge": STRAVA}, separators=(",", ":")).encode()),
    "asana": Shake("asana", "handshake", "POST", "", {"X-Hook-Secret": ASANA_SECRET}, b"", 200,
                   b""),
    "notion": Shake("notion", "verification", "POST", "", JSON,
                    json.dumps({"verification_token": NOTION_TOKEN}).encode(), 200, None),
}


def _send(lab: HookLab, bin_: str, shake: Shake, headers: dict[str, str] | None = None,
          body: bytes | None = None) -> Reply:
    target = f"/{bin_}" + (f"?{shake.query}" if shake.query else "")
    return request(lab, shake.method, target, shake.body if body is None else body,
                   {**shake.headers, **(headers or {})})


@pytest.mark.parametrize("name", list(SHAKES))
def test_an_unsigned_handshake_on_a_bin_set_without_provider_is_no_signature_failure(
        lab: HookLab, name: str) -> None:
    """``lab.secret(bin, secret)`` without ``provider=``: Dropbox's challenge was stored
    ``verified=False, "missing header X-Dropbox-Signature"`` (Graph's "body is not JSON",
    Asana's "missing header X-Hook-Signature"...), a signature the provider never sends with
    its handshake, read as tampering. Now as on a bin registered for the provider."""
    shake = SHAKES[name]
    lab.secret("b", "s3cret-value-1")
    reply = _send(lab, "b", shake)
    assert reply.status == shake.status, (reply.status, reply.body)
    if shake.answer is None:
        assert default_answer(reply), reply.body
    else:
        assert reply.body == shake.answer
    cap = lab.wait(1, timeout=10, bin="b")[0]
    assert (cap.provider, cap.event_type) == (shake.provider, shake.event_type)
    assert cap.handshake, cap.handshake
    assert cap.verified is None, (cap.verified, cap.verify_reason)
    assert cap.verify_reason == f"handshake: {shake.provider} does not sign it"
    if name == "asana":  # (the secret it hands over is never stored; not kept: the bin has one)
        assert ("X-Hook-Secret", "[secret]") in cap.headers
        assert reply.header("X-Hook-Secret") == ASANA_SECRET
        assert "not kept: the bin has settings you gave with lab.secret()" in cap.handshake


#: what the bin's secret says of a request carrying no signature, by provider
MISSING = {
    "dropbox": "missing header X-Dropbox-Signature",
    "nylas": "missing header X-Nylas-Signature",
    "onfleet": "missing header X-Onfleet-Signature",
    "meta": "missing header X-Hub-Signature-256",
    "asana": "missing header X-Hook-Signature",
    "notion": "missing header X-Notion-Signature",
    "x": "missing header x-twitter-webhooks-signature",
}
NO_SUB = "subscription_id does not match the secret (was it set for another subscription?)"
NO_CLIENT_STATE = ("value[].clientState does not match the secret (was it set for another "
                   "subscription?)")
GITHUB = {"X-GitHub-Event": "push", "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958"}

#: (case, handshake, extra headers, body, stored provider, event type, verify_reason)
FORGED = [
    # a delivery's body with the handshake's query, header or user agent added
    ("dropbox-body", "dropbox", JSON, b'{"list_folder": {"accounts": ["dbid:AAH4f99"]}}',
     "dropbox", "challenge", MISSING["dropbox"]),
    ("nylas-body", "nylas", JSON, b'{"type": "message.created", "data": {"object": {}}}',
     "nylas", "challenge", MISSING["nylas"]),
    ("onfleet-body", "onfleet", JSON, b'{"triggerId": 0, "taskId": "t1", "time": 1}',
     "onfleet", "check", MISSING["onfleet"]),
    ("meta-body", "meta", JSON, b'{"object": "page", "entry": [{"id": "1", "changes": []}]}',
     "meta", "subscribe", MISSING["meta"]),
    ("strava-body", "strava", JSON, b'{"aspect_type": "create", "object_type": "activity", '
     b'"object_id": 1, "owner_id": 2, "subscription_id": 999, "event_time": 1}',
     "strava", "subscribe", NO_SUB),
    ("asana-body", "asana", JSON, b'{"events": [{"action": "changed", "resource": '
     b'{"gid": "1", "resource_type": "task"}}]}', "asana", "handshake", MISSING["asana"]),
    # (Graph's token with a body is no handshake at all: its detector wants none)
    ("msgraph-body", "msgraph", JSON, b'{"value": [{"subscriptionId": "s", "clientState": '
     b'"wrong", "changeType": "created", "resource": "r"}]}', "msgraph", "created",
     NO_CLIENT_STATE),
    # no body, but headers naming another sender: checked as any request
    ("dropbox-github", "dropbox", GITHUB, b"", "dropbox", "challenge", MISSING["dropbox"]),
    ("onfleet-github", "onfleet", GITHUB, b"", "onfleet", "check", MISSING["onfleet"]),
    ("meta-github", "meta", GITHUB, b"", "meta", "subscribe", MISSING["meta"]),
    ("asana-github", "asana", GITHUB, b"", "asana", "handshake", MISSING["asana"]),
    ("notion-github", "notion", GITHUB, None, "notion", "verification", MISSING["notion"]),
]


@pytest.mark.parametrize("registered", ["provider", "none"])
@pytest.mark.parametrize("case,name,headers,body,provider,event,reason", FORGED,
                         ids=[f[0] for f in FORGED])
def test_a_delivery_with_a_handshake_marker_added_is_a_signature_failure(
        lab: HookLab, registered: str, case: str, name: str, headers: dict[str, str],
        body: bytes | None, provider: str, event: str, reason: str) -> None:
    """A forged Asana delivery with ``X-Hook-Secret: x`` added (a Dropbox one sent as a
    ``?challenge=`` GET with its body, a Meta one with ``hub.mode=subscribe``...) was stored
    ``verified=None``, "handshake: asana does not sign it", on a bin registered for Asana:
    kept out of the signature failures that the same delivery without the marker gets."""
    shake = SHAKES[name]
    secret = "5ec7e7f0" * 4 if name == "onfleet" else "s3cret-value-1"  # (Onfleet's is hex)
    lab.secret("b", secret, provider=name if registered == "provider" else None)
    _send(lab, "b", shake, headers, body)
    cap = lab.wait(1, timeout=10, bin="b")[0]
    assert (cap.provider, cap.event_type) == (provider, event)
    assert cap.verified is False, (cap.verified, cap.verify_reason)
    assert cap.verify_reason == reason


def test_x_crc_with_a_body_is_a_signature_failure_on_a_bin_registered_for_x(
        lab: HookLab) -> None:
    """A GET ``?crc_token=`` carrying an X delivery's body, on a bin registered for X: it was
    stored "handshake: x does not sign it", unchecked; the bare CRC still is."""
    lab.secret("x", "x-consumer-secret-1", provider="x")
    body = b'{"for_user_id": "2244994945", "tweet_create_events": [{"id_str": "1"}]}'
    for payload, verified, reason in [(b"", None, "handshake: x does not sign it"),
                                      (body, False, MISSING["x"])]:
        reply = request(lab, "GET", f"/x?crc_token={CRC}", payload, JSON if payload else {})
        assert reply.status == 200 and b"response_token" in reply.body
        cap = lab.wait(1, timeout=10, bin="x")[-1]
        assert (cap.provider, cap.event_type) == ("x", "crc")
        assert (cap.verified, cap.verify_reason) == (verified, reason)
        lab.clear()
