"""Endpoint handshakes through real HTTP: straight to the capture server and through the
Jupyter server relay (``lab.public_url``), answered byte-exactly within each provider's limit."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import pytest
from _jupyter_server import running_lab
from test_ingress import env, jupyter, local  # noqa: F401 - fixtures: a real jupyter server

from hooklab import HookLab
from hooklab.providers import MAX_ECHO
from hooklab.signatures import keypair, sign_request


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    elapsed: float

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def request(url: str, method: str = "GET", body: bytes = b"",
            headers: dict[str, str] | None = None) -> Reply:
    """One request with exactly these method, headers and body; timing included."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    start = time.perf_counter()
    try:
        conn.request(method, target, body=body or None, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        return Reply(r.status, {k.lower(): v for k, v in r.getheaders()}, data,
                     time.perf_counter() - start)
    finally:
        conn.close()


CHALLENGE = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
ZOOM_SECRET = "zoom-secret-token-1"
X_SECRET = "x-consumer-secret-1"
DISCORD_PRIV, DISCORD_PUB = keypair("discord")


@dataclass
class Case:
    """One handshake: how the provider asks, what it must get back, within which limit."""

    provider: str
    limit: float  # seconds the provider waits
    method: str
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    status: int = 200
    answer: bytes | None = b""  # exact body expected; None: not checked here
    ctype: str | None = None  # expected Content-Type prefix
    echo_headers: dict[str, str] = field(default_factory=dict)
    note: str = ""  # expected in the capture's handshake column
    setup: Callable[[HookLab, str], None] | None = None
    sign: str | None = None  # sign the request as this provider with the bin's secret
    secret: str = ""


SWH_SECRET, SWH_CHALLENGE = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "c2f1b6e4a9d84b7e"


def _swh_answer() -> str:
    from standardwebhooks.webhooks import Webhook

    return Webhook(SWH_SECRET).endpoint_verification_response(SWH_CHALLENGE)


def _json(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def _zoom_token(plain: str) -> str:
    return hmac.new(ZOOM_SECRET.encode(), plain.encode(), hashlib.sha256).hexdigest()


def _x_token(crc: str) -> str:
    digest = hmac.new(X_SECRET.encode(), crc.encode(), hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


GRAPH_TOKEN = "Validation: Testing client application reachability for subscription Request-Id: 6e5c4d"
EG_CODE = "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"

CASES = {
    "slack": Case("slack", 3, "POST", headers={"Content-Type": "application/json"},
                  body=_json({"token": "Jhj5dZrVaK7ZwHHjRyZWjbDl", "challenge": CHALLENGE,
                              "type": "url_verification"}),
                  answer=CHALLENGE.encode(), ctype="text/plain", note="slack url_verification",
                  sign="slack", secret="slack-signing-secret"),
    "zoom": Case("zoom", 3, "POST", headers={"Content-Type": "application/json"},
                 body=_json({"payload": {"plainToken": "qgg8vlvZRS6UYooatFL8Aw"},
                             "event_ts": 1654503849680, "event": "endpoint.url_validation"}),
                 answer=_json({"plainToken": "qgg8vlvZRS6UYooatFL8Aw",
                               "encryptedToken": _zoom_token("qgg8vlvZRS6UYooatFL8Aw")}),
                 ctype="application/json", note="zoom endpoint.url_validation",
                 sign="zoom", secret=ZOOM_SECRET),
    "twitch": Case("twitch", 3, "POST",
                   headers={"Content-Type": "application/json",
                            "Twitch-Eventsub-Message-Type": "webhook_callback_verification",
                            "Twitch-Eventsub-Message-Id": "e76c6bd4-55c9-4987-8304-da1588d8988b"},
                   body=_json({"challenge": "pogchamp-kappa-360noscope-vohiyo",
                               "subscription": {"type": "channel.follow", "version": "2"}}),
                   answer=b"pogchamp-kappa-360noscope-vohiyo", ctype="text/plain",
                   note="twitch webhook_callback_verification", sign="twitch",
                   secret="twitch-secret-0123456789"),
    "meta": Case("meta", 5, "GET", query={"hub.mode": "subscribe", "hub.challenge": "1158201444",
                                          "hub.verify_token": "meatyhamhock"},
                 answer=b"1158201444", ctype="text/plain", note="meta hub.challenge: echoed "
                 "(verify token matches)",
                 setup=lambda lab, b: lab.secret(b, "app-secret", provider="meta",
                                                 verify_token="meatyhamhock")),
    "strava": Case("strava", 2, "GET", query={"hub.mode": "subscribe", "hub.challenge": "15f7d1a91c1f40f8a748fd134752feb3",
                                              "hub.verify_token": "STRAVA"},
                   answer=_json({"hub.challenge": "15f7d1a91c1f40f8a748fd134752feb3"}),
                   ctype="application/json", note="strava hub.challenge",
                   setup=lambda lab, b: lab.secret(b, None, provider="strava",
                                                   verify_token="STRAVA")),
    "msgraph": Case("msgraph", 10, "POST", query={"validationToken": GRAPH_TOKEN},
                    headers={"Content-Type": "text/plain; charset=utf-8"},
                    answer=GRAPH_TOKEN.encode(), ctype="text/plain",
                    note="msgraph validationToken"),
    "dropbox": Case("dropbox", 10, "GET", query={"challenge": "kpWAlzxwTuAjNwqXpOQ2"},
                    headers={"User-Agent": "DropboxWebhooks/1.0"},
                    answer=b"kpWAlzxwTuAjNwqXpOQ2", ctype="text/plain", note="dropbox challenge"),
    "nylas": Case("nylas", 10, "GET", query={"challenge": "bc609b38-c81f-47fb-a275-1d9bd61a968b"},
                  answer=b"bc609b38-c81f-47fb-a275-1d9bd61a968b", ctype="text/plain",
                  note="nylas challenge",
                  setup=lambda lab, b: lab.secret(b, "nylas-webhook-secret", provider="nylas")),
    "asana": Case("asana", 10, "POST", headers={"X-Hook-Secret": "b537207f20cbfa02357cf448134da559"},
                  answer=b"", echo_headers={"X-Hook-Secret": "b537207f20cbfa02357cf448134da559"},
                  note="asana X-Hook-Secret: echoed (kept"),
    "okta": Case("okta", 3, "GET", headers={"X-Okta-Verification-Challenge": "Gd7hHlYQ6w1vXx8nGnf7"},
                 answer=_json({"verification": "Gd7hHlYQ6w1vXx8nGnf7"}), ctype="application/json",
                 note="okta X-Okta-Verification-Challenge"),
    "smartsheet": Case("smartsheet", 10, "POST",
                       headers={"Content-Type": "application/json",
                                "Smartsheet-Hook-Challenge": "d78dd1d3-01ce-4481-81de-92b4f3aa5ab1"},
                       body=_json({"challenge": "d78dd1d3-01ce-4481-81de-92b4f3aa5ab1",
                                   "webhookId": 2674017481058180}),
                       answer=_json({"smartsheetHookResponse": "d78dd1d3-01ce-4481-81de-92b4f3aa5ab1"}),
                       ctype="application/json",
                       echo_headers={"Smartsheet-Hook-Response": "d78dd1d3-01ce-4481-81de-92b4f3aa5ab1"},
                       note="smartsheet Smartsheet-Hook-Challenge"),
    "x": Case("x", 3, "GET", query={"crc_token": "9b4507b3-9040-4669-9ee0-6b94edb50553"},
              answer=_json({"response_token": _x_token("9b4507b3-9040-4669-9ee0-6b94edb50553")}),
              ctype="application/json", note="x crc_token: response_token sent",
              setup=lambda lab, b: lab.secret(b, X_SECRET, provider="x")),
    "trello": Case("trello", 10, "HEAD", answer=b"", note="HEAD answered 200",
                   setup=lambda lab, b: lab.secret(b, "trello-oauth-secret", provider="trello")),
    "monday": Case("monday", 10, "POST", headers={"Content-Type": "application/json"},
                   body=b'{"challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}',
                   answer=b'{"challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}',
                   ctype="application/json", note="monday challenge"),
    "onfleet": Case("onfleet", 10, "GET", query={"check": "d3b1c0a9e8"}, answer=b"d3b1c0a9e8",
                    ctype="text/plain", note="onfleet check"),
    "discord": Case("discord", 3, "POST", headers={"Content-Type": "application/json"},
                    body=b'{"id":"1","application_id":"2","type":1,"version":1,"token":"t"}',
                    answer=b'{"type":1}', ctype="application/json", note="discord PING: PONG",
                    sign="discord", secret=DISCORD_PUB),
    # Standard Webhooks' endpoint verification, answered as the official SDK computes it
    "standardwebhooks": Case("standardwebhooks", 10, "POST",
                             headers={"webhook-challenge": SWH_CHALLENGE}, status=204, answer=b"",
                             echo_headers={"webhook-challenge-response": _swh_answer()},
                             note="standard webhooks webhook-challenge: webhook-challenge-response",
                             setup=lambda lab, b: lab.secret(b, SWH_SECRET, provider="standardwebhooks")),
    # Discord's webhook events (not interactions: no token): the URL check is type 0, answered 204
    "discord-events": Case("discord", 3, "POST", headers={"Content-Type": "application/json"},
                           body=b'{"version":1,"application_id":"1234560123453231555","type":0}',
                           status=204, answer=b"", note="discord webhook events PING: 204 sent",
                           sign="discord", secret=DISCORD_PUB),
    "eventgrid": Case("eventgrid", 30, "POST",
                      headers={"Content-Type": "application/json",
                               "aeg-event-type": "SubscriptionValidation"},
                      body=_json([{"id": "2d1781af-3a4c-4d7c-bd0c-e34b19da4e66",
                                   "topic": "/subscriptions/x/resourceGroups/rg",
                                   "subject": "", "eventType":
                                   "Microsoft.EventGrid.SubscriptionValidationEvent",
                                   "data": {"validationCode": EG_CODE,
                                            "validationUrl": "https://rp-eastus2.eventgrid.azure.net/validate?id=1"},
                                   "eventTime": "2030-01-23T17:02:19.6069787Z",
                                   "metadataVersion": "1", "dataVersion": "1"}]),
                      answer=_json({"validationResponse": EG_CODE}), ctype="application/json",
                      note="eventgrid SubscriptionValidation"),
    "cloudevents": Case("eventgrid", 30, "OPTIONS",
                        headers={"WebHook-Request-Origin": "eventemitter.example.com",
                                 "WebHook-Request-Rate": "120"},
                        answer=b"", echo_headers={"WebHook-Allowed-Origin": "eventemitter.example.com",
                                                  "WebHook-Allowed-Rate": "*"},
                        note="CloudEvents abuse-protection OPTIONS"),
    "front": Case("front", 10, "POST", headers={"Content-Type": "application/json",
                                                "X-Front-Challenge": "d1b6e2c1f3"},
                  body=b'{"type":"sync"}', answer=b"d1b6e2c1f3", ctype="text/plain",
                  note="front X-Front-Challenge"),
}


def _send(lab: HookLab, case: Case, url: str, bin_: str) -> Reply:
    headers, body = dict(case.headers), case.body
    target = url + ("?" + urlencode(case.query) if case.query else "")
    if case.sign:
        signing = DISCORD_PRIV if case.sign == "discord" else case.secret
        req = sign_request(case.sign, signing, url=target, body=body, headers=headers,
                           msg_id=headers.get("Twitch-Eventsub-Message-Id"))
        headers.update(req.headers)
    return request(target, case.method, body, headers)


def _check(reply: Reply, case: Case) -> None:
    assert reply.status == case.status, (reply.status, reply.body)
    if case.answer is not None:
        assert reply.body == case.answer
    if case.ctype:
        assert (reply.header("Content-Type") or "").startswith(case.ctype)
        assert reply.header("X-Content-Type-Options") == "nosniff"
        assert "html" not in (reply.header("Content-Type") or "")
    for k, v in case.echo_headers.items():
        assert reply.header(k) == v
    assert reply.elapsed < case.limit, f"{reply.elapsed:.2f} s > {case.limit} s"


def _stored(lab: HookLab, bin_: str, case: Case) -> None:
    cap = lab.wait(1, timeout=10, bin=bin_)[-1]
    assert cap.provider == case.provider and cap.handshake and case.note in cap.handshake, cap
    assert cap.status == case.status
    df = lab.dataframe(bin=bin_)
    assert df["handshake"].iloc[-1] == cap.handshake


@pytest.mark.parametrize("name", sorted(CASES))
def test_handshake_answered_directly(lab: HookLab, name: str) -> None:
    case, bin_ = CASES[name], f"hs-{name}"
    if case.setup:
        case.setup(lab, bin_)
    if case.sign:
        lab.secret(bin_, case.secret, provider=case.sign)
    _check(_send(lab, case, lab.url_for(bin_), bin_), case)
    _stored(lab, bin_, case)


@pytest.fixture
def public_lab(env: dict[str, object]):  # noqa: F811
    with running_lab() as lab:
        yield lab


@pytest.mark.parametrize("name", sorted(CASES))
def test_handshake_answered_through_the_jupyter_relay(public_lab: HookLab, env, name: str) -> None:  # noqa: F811
    case, bin_ = CASES[name], f"pub-{name}"
    lab = public_lab
    if case.setup:
        case.setup(lab, bin_)
    if case.sign:
        lab.secret(bin_, case.secret, provider=case.sign)
    url = local(lab.public_url(bin_), env)
    _check(_send(lab, case, url, bin_), case)
    _stored(lab, bin_, case)


# -- the rules around the answers ----------------------------------------------------------------
def test_signed_handshakes_with_a_wrong_signature_are_refused(lab: HookLab) -> None:
    for name in ("slack", "zoom", "twitch", "discord"):
        case, bin_ = CASES[name], f"bad-{name}"
        other = keypair("discord")[1] if name == "discord" else "another-secret"
        lab.secret(bin_, other, provider=case.sign)
        reply = _send(lab, case, lab.url_for(bin_), bin_)
        assert reply.status == 401, (name, reply.body)
        assert CHALLENGE.encode() not in reply.body
        cap = lab.wait(1, timeout=10, bin=bin_)[-1]
        assert cap.verified is False and "refused with 401" in cap.handshake
        assert "mismatch" in cap.verify_reason


def test_unchecked_handshakes_are_answered_and_marked(lab: HookLab) -> None:
    reply = _send(lab, CASES["slack"], lab.url_for("open"), "open")  # no secret registered
    assert reply.status == 200 and reply.body == CHALLENGE.encode()
    cap = lab.wait(1, timeout=10, bin="open")[0]
    assert cap.verified is None and "signature unchecked: no secret for this bin" in cap.handshake
    case = CASES["meta"]
    reply = request(lab.url_for("meta-open") + "?" + urlencode(case.query))
    assert reply.status == 200 and reply.body == b"1158201444"
    cap = lab.wait(1, timeout=10, bin="meta-open")[0]
    assert "verify token unchecked" in cap.handshake


@pytest.mark.parametrize("registered, provider", [
    (None, None), ("github", "github"), ("trello", "trello"), ("mandrill", "mandrill"),
])
@pytest.mark.parametrize("headers", [{}, {"User-Agent": "UptimeRobot/2.0"}, {"Accept": "*/*"}])
def test_a_head_is_a_trello_check_only_on_a_bin_registered_for_it(lab: HookLab, registered: Any,
                                                                   provider: Any, headers: Any) -> None:
    """(an analyst's check) Every HEAD (an uptime monitor, ``curl -I``) was stored as
    ``provider='trello', event_type='head'``, though nothing in it names Trello: the same
    request imported from JSON Lines had no provider. Answered 200 either way."""
    bin = f"h-{registered}"
    if registered is not None:
        lab.secret(bin, "a-secret-123456", provider=registered)
    conn = http.client.HTTPConnection("127.0.0.1", lab.bound_port, timeout=10)
    conn.request("HEAD", f"/{bin}/health", headers=headers)
    assert conn.getresponse().status == 200
    conn.close()
    cap = lab.wait(1, timeout=10, bin=bin)[0]
    marked = provider in ("trello", "mandrill")
    assert cap.provider == provider and (cap.event_type == "head") is marked
    assert (cap.handshake is not None) is marked


#: handshakes their providers never sign: (provider, method, query, body, answer body)
UNSIGNED = [
    ("dropbox", "GET", "challenge=abc123", b"", b"abc123"),
    ("nylas", "GET", "challenge=nyl-1", b"", b"nyl-1"),
    ("onfleet", "GET", "check=chk-9", b"", b"chk-9"),
    ("msgraph", "POST", "validationToken=Validation%3A+tok", b"", b"Validation: tok"),
    ("meta", "GET", "hub.mode=subscribe&hub.challenge=77&hub.verify_token=any", b"", b"77"),
    ("trello", "HEAD", "", b"", b""),
]


@pytest.mark.parametrize("provider,method,query,body,answer", UNSIGNED, ids=[u[0] for u in UNSIGNED])
def test_an_unsigned_handshake_is_no_signature_failure(lab: HookLab, provider: str, method: str,
                                                       query: str, body: bytes, answer: bytes) -> None:
    """With the provider's secret registered for the bin, Dropbox's ``?challenge=`` GET was
    stored as a signature failure ("missing header X-Dropbox-Signature"), Graph's
    validationToken as "body is not JSON": the provider never signs these. Now they are
    marked unchecked, with the reason, and still answered as before."""
    # (Onfleet's secret is hex: lab.secret refuses other text for it)
    lab.secret(provider, "5ec7e7f0" * 4 if provider == "onfleet" else "s3cret-for-" + provider,
               provider=provider)
    reply = request(lab.url_for(provider) + (f"?{query}" if query else ""), method, body)
    assert reply.status == 200 and reply.body == answer
    cap = lab.wait(1, timeout=10, bin=provider)[0]
    assert cap.handshake and cap.verified is None, (cap.verified, cap.verify_reason)
    assert cap.verify_reason == f"handshake: {provider} does not sign it"
    # on a bin registered for another provider it is checked as any request: a forged
    # request cannot keep out of the signature failures by looking like a handshake
    lab.secret("gh", "gh-secret-1", provider="github")
    request(lab.url_for("gh") + (f"?{query}" if query else ""), method, body)
    cap = lab.wait(1, timeout=10, bin="gh")[0]
    assert cap.verified is False and "does not sign" not in (cap.verify_reason or ""), cap.verify_reason


@pytest.mark.parametrize("registered", ["github", None])
@pytest.mark.parametrize("shape", ["asana", "notion", "dropbox"])
def test_a_forged_delivery_shaped_as_a_handshake_is_still_checked(lab: HookLab, registered: Any,
                                                                 shape: str) -> None:
    """A forged GitHub push with ``X-Hook-Secret: x`` added (or a Notion token body, or a
    ``?challenge=``) was stored as "handshake: ... does not sign it", unchecked, on a bin whose
    secret was given for GitHub (or for no provider): kept out of the signature failures."""
    lab.secret("gh", "gh-secret-1", provider=registered)
    headers = {"Content-Type": "application/json", "X-GitHub-Event": "push",
               "X-Hub-Signature-256": "sha256=" + "0" * 64}
    url, body = lab.url_for("gh"), b'{"ref": "main"}'
    if shape == "asana":
        headers["X-Hook-Secret"] = "x"
    elif shape == "notion":
        body = b'{"verification_token": "x"}'
    else:
        url += "?challenge=abc"
    request(url, "POST" if shape != "dropbox" else "GET", body if shape != "dropbox" else b"", headers)
    cap = lab.wait(1, timeout=10, bin="gh")[0]
    assert cap.verified is False and "does not sign" not in (cap.verify_reason or ""), \
        (cap.verified, cap.verify_reason)


@pytest.mark.parametrize("provider", ["meta", "strava"])
def test_wrong_verify_token_gets_403(lab: HookLab, provider: str) -> None:
    case = CASES[provider]
    lab.secret("v", None, provider=provider, verify_token="the-right-token")
    reply = request(lab.url_for("v") + "?" + urlencode(case.query))
    assert reply.status == 403 and case.query["hub.challenge"].encode() not in reply.body
    cap = lab.wait(1, timeout=10, bin="v")[0]
    assert cap.status == 403 and cap.verified is False
    assert "hub.verify_token does not match" in cap.handshake


def test_zoom_and_x_without_a_secret_are_not_answered_but_marked(lab: HookLab) -> None:
    reply = request(lab.url_for("z"), "POST", CASES["zoom"].body,
                    {"Content-Type": "application/json"})
    assert reply.status == 200 and json.loads(reply.body)["ok"] is True  # the normal answer
    reply = request(lab.url_for("xx") + "?crc_token=abc")
    assert reply.status == 200 and b"response_token" not in reply.body
    caps = lab.wait(2, timeout=10)
    assert "not answered, no secret" in caps[0].handshake and caps[0].provider == "zoom"
    assert "not answered, no secret" in caps[1].handshake and caps[1].provider == "x"


def test_discord_ping_without_a_key_is_refused(lab: HookLab) -> None:
    case = CASES["discord"]
    req = sign_request("discord", DISCORD_PRIV, body=case.body, headers=case.headers)
    reply = request(lab.url_for("d"), "POST", case.body, {**case.headers, **req.headers})
    assert reply.status == 401 and b"public key" in reply.body


DISCORD_EVENT = (b'{"version":1,"application_id":"1234560123453231555","type":1,"event":{'
                 b'"type":"APPLICATION_AUTHORIZED","timestamp":"2024-10-18T14:42:53.064834",'
                 b'"data":{"integration_type":1,"scopes":["applications.commands"],'
                 b'"user":{"id":"111178765189277770","username":"nelly"}}}}')


@pytest.mark.parametrize("key,signer,status,verified", [
    (DISCORD_PUB, DISCORD_PRIV, 204, True),  # signed with the registered key
    (None, DISCORD_PRIV, 204, None),  # no key for the bin: acknowledged, unchecked
    (DISCORD_PUB, keypair("discord")[0], 401, False),  # another key: refused, as Discord asks
], ids=["signed", "no-key", "other-key"])
def test_discord_webhook_events_are_acknowledged_204_and_keep_their_event_type(
    lab: HookLab, key: str | None, signer: str, status: int, verified: bool | None,
) -> None:
    """A Discord webhook event (``"type": 1`` with an ``event`` object, no ``token``) is a
    delivery, not an interactions PING: answered 204 with an empty body, stored with its
    event type and no handshake note (it used to get ``{"type":1}``, event type ``ping``,
    or 401 without a key: Discord stops sending to a URL that fails)."""
    bin_ = f"de-{status}-{verified}"
    if key:
        lab.secret(bin_, key, provider="discord")
    headers = {"Content-Type": "application/json"}
    headers.update(sign_request("discord", signer, body=DISCORD_EVENT, headers=headers).headers)
    reply = request(lab.url_for(bin_), "POST", DISCORD_EVENT, headers)
    assert reply.status == status
    if status == 204:
        assert reply.body == b""
    cap = lab.wait(1, timeout=10, bin=bin_)[-1]
    assert (cap.provider, cap.event_type, cap.status, cap.verified) == (
        "discord", "APPLICATION_AUTHORIZED", status, verified)
    assert not cap.handshake and cap.body == DISCORD_EVENT


@pytest.mark.parametrize("given", [SWH_SECRET, "v1," + SWH_SECRET, f"  {SWH_SECRET}\n"],
                         ids=["whsec", "supabase-v1", "pasted-with-spaces"])
def test_the_standard_webhooks_challenge_uses_the_key_deliveries_are_checked_with(
        lab: HookLab, given: str) -> None:
    """Supabase gives its secret as ``v1,whsec_...``; a pasted one may carry spaces: the
    challenge answer is made with the same key deliveries verify with (its own copy of the
    secret's parsing answered wrong where deliveries verified)."""
    lab.secret("swh2", given, provider="standardwebhooks")
    reply = request(lab.url_for("swh2"), "POST", b"", {"webhook-challenge": SWH_CHALLENGE})
    assert reply.status == 204 and reply.header("webhook-challenge-response") == _swh_answer()


def test_a_standard_webhooks_challenge_is_not_taken_for_a_forged_delivery(lab: HookLab) -> None:
    """The challenge carries no signature (it is no delivery): stored unverified with that
    reason, not verified=False ("missing header webhook-id"), which reads as tampering."""
    lab.secret("swh", SWH_SECRET, provider="standardwebhooks")
    reply = request(lab.url_for("swh"), "POST", b"", {"webhook-challenge": SWH_CHALLENGE})
    assert reply.status == 204 and reply.header("webhook-challenge-response") == _swh_answer()
    cap = lab.wait(1, timeout=10, bin="swh")[0]
    assert cap.verified is None and cap.verify_reason.startswith("not signed"), cap.verify_reason


def test_asana_secret_is_kept_verifies_what_follows_and_is_not_stored(lab: HookLab) -> None:
    secret = "b537207f20cbfa02357cf448134da559"
    reply = request(lab.url_for("asana"), "POST", b"", {"X-Hook-Secret": secret})
    assert reply.status == 200 and reply.header("X-Hook-Secret") == secret
    body = b'{"events":[{"action":"changed","resource":{"gid":"1","resource_type":"task"}}]}'
    sig = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    request(lab.url_for("asana"), "POST", body, {"X-Hook-Signature": sig,
                                                 "Content-Type": "application/json"})
    request(lab.url_for("asana"), "POST", body + b" ", {"X-Hook-Signature": sig,
                                                        "Content-Type": "application/json"})
    first, good, bad = lab.wait(3, timeout=10, bin="asana")
    assert ("X-Hook-Secret", "[secret]") in first.headers  # the secret is never stored
    assert good.provider == "asana" and good.event_type == "task.changed"
    assert good.verified is True and bad.verified is False


def test_notion_verification_token_is_kept(lab: HookLab) -> None:
    token = "secret_tMrlL1qK5vuQAh1b6cZGhFChZTSYJlce98V0pYn7yBl"
    request(lab.url_for("n"), "POST", _json({"verification_token": token}),
            {"Content-Type": "application/json"})
    body = b'{"id":"1","type":"page.created","entity":{"id":"p","type":"page"}}'
    sig = "sha256=" + hmac.new(token.encode(), body, hashlib.sha256).hexdigest()
    request(lab.url_for("n"), "POST", body, {"X-Notion-Signature": sig,
                                             "Content-Type": "application/json"})
    first, event = lab.wait(2, timeout=10, bin="n")
    assert "notion verification_token received (kept" in first.handshake
    assert event.verified is True and event.event_type == "page.created"


ATTACKER = "attacker-key2"


def _asana_handshake(lab: HookLab, bin_: str, value: str) -> None:
    reply = request(lab.url_for(bin_), "POST", b"", {"X-Hook-Secret": value})
    assert reply.status == 200 and reply.header("X-Hook-Secret") == value


def _notion_handshake(lab: HookLab, bin_: str, value: str) -> None:
    reply = request(lab.url_for(bin_), "POST", _json({"verification_token": value}),
                    {"Content-Type": "application/json"})
    assert reply.status == 200


@pytest.mark.parametrize("given,handshake,learns", [
    # what lab.secret() set (or an earlier handshake handed over) -> a hostile handshake
    (None, "asana", True),  # nothing set: Asana's protocol, the secret is learned
    (None, "notion", True),
    ({"secret": "s3cret-value"}, "asana", False),  # the README tour's form: no provider=
    ({"secret": "s3cret-value"}, "notion", False),
    ({"secret": "s3cret-value", "provider": "asana"}, "asana", False),
    ({"secret": "s3cret-value", "provider": "notion"}, "notion", False),
    ({"secret": "s3cret-value", "provider": "github"}, "asana", False),
    ({"secret": None, "provider": "meta", "verify_token": "vt"}, "asana", False),
    ("asana", "asana", False),  # learned from a first handshake: not swapped by a second
    ("notion", "asana", False),
    ("asana", "notion", False),
])
def test_a_handshake_never_replaces_a_bins_secret(lab: HookLab, given: Any, handshake: str,
                                                  learns: bool) -> None:
    """Whoever can send to a bin must not be able to swap in their own key (an Asana or
    Notion handshake hands a secret over): forged deliveries signed with it would be marked
    verified, and the real sender's would fail."""
    bin_ = "hooked"
    if isinstance(given, dict):
        lab.secret(bin_, given.get("secret"), provider=given.get("provider"),
                   verify_token=given.get("verify_token"))
    elif given == "asana":
        _asana_handshake(lab, bin_, "first-real-secret")
    elif given == "notion":
        _notion_handshake(lab, bin_, "first-real-secret")
    (_asana_handshake if handshake == "asana" else _notion_handshake)(lab, bin_, ATTACKER)
    forged = b'{"action":"opened","forged":true}'
    sig = hmac.new(ATTACKER.encode(), forged, hashlib.sha256).hexdigest()
    header = ({"X-Hook-Signature": sig} if handshake == "asana"
              else {"X-Notion-Signature": "sha256=" + sig})
    request(lab.url_for(bin_), "POST", forged, {**header, "Content-Type": "application/json"})
    caps = lab.wait(2 + (not isinstance(given, dict) and given is not None), timeout=10, bin=bin_)
    shake, delivery = caps[-2], caps[-1]
    if learns:
        assert "(kept as this bin's secret" in shake.handshake
        assert delivery.verified is True  # (nothing was set: the protocol has no other way)
    else:
        assert "not kept: " in shake.handshake, shake.handshake
        assert delivery.verified is not True, delivery.verify_reason
    assert ATTACKER not in repr(shake.headers)  # a handed-over secret is never stored
    if given in ("asana", "notion"):  # two learned secrets: which is whose is not known, so
        body = b'{"events":[]}'  # neither verifies until lab.secret() settles it
        good = hmac.new(b"first-real-secret", body, hashlib.sha256).hexdigest()
        request(lab.url_for(bin_), "POST", body, {"X-Hook-Signature": good})
        assert lab.wait(4, timeout=10, bin=bin_)[-1].verified is None
        assert "until lab.secret('hooked', ...) sets the right one" in shake.handshake
        lab.secret(bin_, "first-real-secret", provider="asana")
        request(lab.url_for(bin_), "POST", body, {"X-Hook-Signature": good})
        assert lab.wait(5, timeout=10, bin=bin_)[-1].verified is True
    if isinstance(given, dict) and given.get("secret"):
        assert lab._secrets.get(bin_).secret == given["secret"]


def test_the_same_handshake_again_keeps_the_learned_secret(lab: HookLab) -> None:
    _asana_handshake(lab, "again", "same-secret")
    _asana_handshake(lab, "again", "same-secret")  # (Asana retries)
    first, second = lab.wait(2, timeout=10, bin="again")
    assert "(kept as this bin's secret" in second.handshake
    lab.secret("again", None)  # forgets it: a new handshake is learned
    _asana_handshake(lab, "again", "new-secret")
    assert "(kept as this bin's secret" in lab.wait(3, timeout=10, bin="again")[-1].handshake


def test_xero_intent_to_receive_needs_the_right_signature(lab: HookLab) -> None:
    key = "xero-webhook-key"
    lab.secret("xero", key, provider="xero")
    body = b'{"events":[],"firstEventSequence":0,"lastEventSequence":0,"entropy":"S0M3ENTROPY"}'
    good = base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()
    ok = request(lab.url_for("xero"), "POST", body, {"x-xero-signature": good})
    bad = request(lab.url_for("xero"), "POST", body, {"x-xero-signature": "AAAA" + good[4:]})
    assert (ok.status, ok.body) == (200, b"") and bad.status == 401
    caps = lab.wait(2, timeout=10, bin="xero")
    assert [c.verified for c in caps] == [True, False]


def test_a_user_response_rule_wins_and_the_trait_turns_answers_off(lab: HookLab) -> None:
    case = CASES["slack"]
    lab.respond("ruled", status=204)
    assert _send(lab, case, lab.url_for("ruled"), "ruled").status == 204
    lab.handshakes = False
    reply = _send(lab, case, lab.url_for("off"), "off")
    assert reply.status == 200 and json.loads(reply.body)["ok"] is True
    lab.handshakes = True
    assert _send(lab, case, lab.url_for("on"), "on").body == CHALLENGE.encode()
    caps = {c.bin: c for c in lab.wait(3, timeout=10)}
    assert caps["ruled"].handshake is None and caps["off"].handshake is None
    assert caps["on"].handshake and caps["ruled"].status == 204


@pytest.mark.parametrize("value,status", [
    ("<script>alert(1)</script>", 200),
    ('"><img src=x onerror=alert(1)>', 200),
    ("x" * MAX_ECHO, 200),
    ("x" * (MAX_ECHO + 1), 400),
    ("\u00e9t\u00e9 \u2603", 200),
])
def test_echoes_are_plain_text_nosniff_and_bounded(lab: HookLab, value: str, status: int) -> None:
    for where in ("dropbox", "graph"):
        q = {"challenge": value} if where == "dropbox" else {"validationToken": value}
        method = "GET" if where == "dropbox" else "POST"
        reply = request(lab.url_for(where) + "?" + urlencode(q, quote_via=quote), method)
        assert reply.status == status
        ctype = reply.header("Content-Type") or ""
        assert "html" not in ctype and reply.header("X-Content-Type-Options") == "nosniff"
        if status == 200:
            assert ctype.startswith("text/plain") and reply.body == value.encode()
        else:
            assert value.encode() not in reply.body


def test_sns_subscription_is_confirmed_only_on_request(lab: HookLab) -> None:
    from hooklab.outbound.sender import send

    target = lab.url_for("sns-confirm", "confirm") + "?Action=ConfirmSubscription&Token=abc"
    send(lab.url_for("sns"), provider="sns", event="SubscriptionConfirmation",
         payload={"SubscribeURL": target})
    cap = lab.wait(1, timeout=10, bin="sns")[0]
    assert cap.provider == "sns" and "not confirmed automatically" in cap.handshake
    assert cap.status == 200
    time.sleep(0.3)
    assert not lab.query(bin="sns-confirm")  # nothing was fetched by itself
    with pytest.raises(ValueError, match="sns.<region>.amazonaws.com"):
        cap.confirm_subscription()  # a loopback URL is not SNS's
    status, _ = cap.confirm_subscription(allow_any_host=True)
    assert status == 200
    got = lab.wait(1, timeout=10, bin="sns-confirm")[0]
    assert got.method == "GET" and got.query["Token"] == ["abc"]
    with pytest.raises(ValueError, match="not an SNS SubscriptionConfirmation"):
        got.confirm_subscription()


def test_google_sync_and_figma_ping_are_marked(lab: HookLab) -> None:
    from hooklab.outbound.sender import send

    send(lab.url_for("g"), provider="google", event="sync")
    send(lab.url_for("f"), provider="figma", event="PING")
    g, f = lab.wait(2, timeout=10)
    assert g.provider == "google" and g.handshake.startswith("google sync")
    assert f.provider == "figma" and f.handshake.startswith("figma PING") and f.status == 200


def test_handshakes_show_in_the_live_view(lab: HookLab) -> None:
    from hooklab.widget._render import detail_html, row_label

    _send(lab, CASES["slack"], lab.url_for("w"), "w")
    cap = lab.wait(1, timeout=10)[0]
    assert "handshake" in row_label(cap)
    html = detail_html(cap)
    assert "slack url_verification: challenge echoed" in html


def test_every_handshake_provider_has_a_case() -> None:
    from hooklab.providers import TABLE

    with_handshake = {p.id for p in TABLE.values() if p.handshake}
    covered = {c.provider for c in CASES.values()} | {"sns", "google", "figma", "notion", "xero"}
    assert with_handshake == covered


def test_handshake_answer_never_raises_on_hostile_requests() -> None:
    """Whatever arrives, the handshake step answers or passes; it never breaks capture."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from hooklab.providers import BinSecrets, handshake_answer

    secrets = BinSecrets()
    secrets.set("b", "s3cret", "zoom", verify_token="tok")
    secrets.verifier = lambda *a: (False, "mismatch")
    names = st.sampled_from(["X-Hook-Secret", "Smartsheet-Hook-Challenge", "aeg-event-type",
                             "X-Okta-Verification-Challenge", "Twitch-Eventsub-Message-Type",
                             "x-amz-sns-message-type", "X-Signature-Ed25519", "x-xero-signature",
                             "WebHook-Request-Origin", "X-Front-Challenge", "Content-Type"])
    values = st.one_of(st.text(max_size=60), st.sampled_from(
        ["webhook_callback_verification", "SubscriptionValidation", "SubscriptionConfirmation",
         "sync", "x" * 3000, "a\u2028b"]))
    bodies = st.one_of(st.binary(max_size=200), st.sampled_from([
        b'{"type":"url_verification","challenge":7}', b'{"type":1}', b'[{"data":null}]',
        b'{"event":"endpoint.url_validation","payload":[]}', b'{"challenge":{"a":1}}',
        b'{"verification_token":null}', b'{"events":[]}', b"[" * 5000]))
    queries = st.dictionaries(st.sampled_from(["hub.mode", "hub.challenge", "hub.verify_token",
                                               "challenge", "crc_token", "validationToken",
                                               "check"]),
                              st.lists(st.text(max_size=30), max_size=2), max_size=4)

    @settings(max_examples=300, deadline=None)
    @given(method=st.sampled_from(["GET", "POST", "HEAD", "OPTIONS", "PUT", ""]),
           headers=st.lists(st.tuples(names, values), max_size=5), body=bodies, query=queries,
           path=st.sampled_from(["/b", "/", "/other/x", "/%ZZ"]))
    def check(method, headers, body, query, path):
        record = {"method": method, "path": path, "headers": headers, "body": body,
                  "query": query, "url": "http://h" + path}
        answer = handshake_answer(record, secrets)
        if answer is not None:
            assert answer.status in (None, 200, 400, 401, 403)
            assert len(answer.body) <= MAX_ECHO + 200
            answer.mark(dict(record))

    check()
