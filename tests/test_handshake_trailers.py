"""Endpoint handshakes read the header section only: a handshake's fields sent as trailer
fields (after a chunked body) are no handshake, over real sockets on 127.0.0.1.

A provider's receiver never sees a trailer as a header (RFC 9110 6.5.1), and the README says
detection and the signature checks read the header section only. Every handshake
``hooklab.providers.handshake`` answers from a request header is in the table below, sent
once with its fields in the header section (answered as the provider expects) and once with
the same fields only as trailers (the default answer: no challenge echoed, no handshake note,
no provider from them, nothing kept as the bin's secret). Handshakes known by their body,
query or method alone are covered where a header changes them (a signature, a User-Agent, a
header naming another sender).
"""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from _labs import module_lab

import hooklab
from hooklab.signatures import sign_request

pytestmark = pytest.mark.timeout(120)

Fields = list[tuple[str, str]]

ASANA_SECRET = "asana-handed-over-secret-1"
SW_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
XERO_KEY = "xero-webhook-key-1"
SLACK_SECRET = "slack-signing-secret-1"


@dataclass
class Reply:
    status: int
    headers: Fields
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


def _read_reply(sock: socket.socket, timeout: float = 10.0) -> Reply:
    """One whole answer (Content-Length framed, or none for 204), read within ``timeout``."""
    sock.settimeout(timeout)
    buf = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        end = buf.find(b"\r\n\r\n")
        if end >= 0:
            head = buf[:end].decode("latin-1").split("\r\n")
            headers = [(k, v.strip()) for k, _, v in (line.partition(":") for line in head[1:])]
            status = int(head[0].split()[1])
            size = next((int(v) for k, v in headers if k.lower() == "content-length"), 0)
            if len(buf) >= end + 4 + size:
                return Reply(status, headers, buf[end + 4: end + 4 + size])
        chunk = sock.recv(65536)
        if not chunk:
            break
        buf += chunk
    raise AssertionError(f"no whole answer within {timeout} s: {buf[:300]!r}")


def _send(port: int, method: str, target: str, head: Fields, trailers: Fields,
          body: bytes) -> Reply:
    """A chunked request on a fresh connection (``Connection: close``): ``head`` in the header
    section, ``trailers`` after the body."""
    raw = f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
    raw += "".join(f"{k}: {v}\r\n" for k, v in head)
    raw += "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    data = raw.encode("latin-1")
    if body:
        data += b"%x\r\n%s\r\n" % (len(body), body)
    data += b"0\r\n" + "".join(f"{k}: {v}\r\n" for k, v in trailers).encode("latin-1") + b"\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(data)
        return _read_reply(s)


@dataclass
class Outcome:
    """What a request must come to: the answer and how its capture is marked."""

    status: int
    #: the answer's body exactly; None: hooklab's default answer {"ok": true, "id": N}
    body: bytes | None = None
    #: answer headers that must be there with these values
    headers: Fields = field(default_factory=list)
    provider: str | None = None
    #: the start of the capture's handshake note; None: no note
    handshake: str | None = None
    #: the capture's verify_reason, when the case says (... : not looked at)
    reason: Any = ...


@dataclass
class Case:
    """A handshake: its ``fields`` go in the header section or, the other time, only as
    trailers; ``head`` always in the header section. ``setup(lab, bin)`` registers what the bin
    needs; ``after(lab, bin)`` checks what the handshake left behind (e.g. a kept secret)."""

    detector: str
    method: str
    target: str  # "{bin}" is the bin's name
    fields: Callable[[bytes], Fields]
    as_header: Outcome
    as_trailer: Outcome
    body: bytes = b""
    head: Fields = field(default_factory=list)
    setup: Callable[[hooklab.HookLab, str], None] | None = None
    after: Callable[[hooklab.HookLab, str, bool], None] | None = None


def _fixed(*pairs: tuple[str, str]) -> Callable[[bytes], Fields]:
    return lambda body: list(pairs)


def _signed(provider: str, secret: str, extra: Fields = ()) -> Callable[[bytes], Fields]:
    """The provider's signature headers for the body, made when sent (their clocks)."""
    def make(body: bytes) -> Fields:
        return [*extra, *sign_request(provider, secret, body=body,
                                      headers={"Content-Type": "application/json"}).headers.items()]
    return make


def _asana_kept(lab: hooklab.HookLab, bin_: str, as_header: bool) -> None:
    """Whether the handed-over secret was kept: a delivery signed with it verifies or not."""
    body = b'{"events": [{"action": "changed"}]}'
    sig = sign_request("asana", ASANA_SECRET, body=body).headers
    reply = _send(lab.bound_port, "POST", f"/{bin_}", [("Content-Type", "application/json"),
                                                       *sig.items()], [], body)
    assert reply.status == 200, reply
    capture = lab.get(int(reply.header("X-Hooklab-Capture-Id") or 0))
    if as_header:
        assert capture.verified is True and capture.provider == "asana"
    else:  # no secret for the bin: nothing checked
        assert capture.verified is None and capture.verify_reason is None


def _secret(provider: str | None, secret: str) -> Callable[[hooklab.HookLab, str], None]:
    return lambda lab, bin_: lab.secret(bin_, secret, provider=provider)


def _json(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


DEFAULT = Outcome(200)
NOSNIFF = ("X-Content-Type-Options", "nosniff")
TWITCH_BODY = _json({"challenge": "twitch-chal-1", "subscription": {"id": "s1", "type": "x"}})
DISCORD_BODY = _json({"type": 1, "token": "tok", "application_id": "app1", "id": "i1"})
EVENTGRID_BODY = _json([{"id": "e1", "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
                         "data": {"validationCode": "vc-512"}}])
XERO_INTENT = _json({"events": [], "firstEventSequence": 0, "lastEventSequence": 0,
                     "entropy": "S0m3r4Nd0mt3xt"})
SLACK_BODY = _json({"token": "t", "challenge": "slack-chal-9", "type": "url_verification"})

CASES: dict[str, Case] = {
    "asana": Case(
        "_asana", "POST", "/{bin}", _fixed(("X-Hook-Secret", ASANA_SECRET)),
        Outcome(200, b"", [("X-Hook-Secret", ASANA_SECRET), NOSNIFF], "asana",
                "asana X-Hook-Secret: echoed (kept as this bin's secret"),
        DEFAULT, after=_asana_kept),
    "front": Case(
        "_front", "POST", "/{bin}", _fixed(("X-Front-Challenge", "front-chal-1")),
        Outcome(200, b"front-chal-1", [NOSNIFF], "front", "front X-Front-Challenge: echoed"),
        DEFAULT, body=b"{}", head=[("Content-Type", "application/json")]),
    "okta": Case(
        "_okta", "GET", "/{bin}", _fixed(("X-Okta-Verification-Challenge", "okta-chal-1")),
        Outcome(200, b'{"verification":"okta-chal-1"}', [NOSNIFF], "okta",
                "okta X-Okta-Verification-Challenge: answered"),
        DEFAULT),
    "smartsheet": Case(
        "_smartsheet", "POST", "/{bin}", _fixed(("Smartsheet-Hook-Challenge", "ss-chal-1")),
        Outcome(200, b'{"smartsheetHookResponse":"ss-chal-1"}',
                [("Smartsheet-Hook-Response", "ss-chal-1")], "smartsheet",
                "smartsheet Smartsheet-Hook-Challenge: answered"),
        DEFAULT),
    "twitch": Case(
        "_twitch", "POST", "/{bin}",
        _fixed(("Twitch-Eventsub-Message-Type", "webhook_callback_verification")),
        Outcome(200, b"twitch-chal-1", [NOSNIFF], "twitch",
                "twitch webhook_callback_verification: challenge echoed"),
        DEFAULT, body=TWITCH_BODY, head=[("Content-Type", "application/json")]),
    "discord-ping": Case(  # (signed PING, no key for the bin: Discord's check refused)
        "_discord", "POST", "/{bin}",
        _fixed(("X-Signature-Ed25519", "ab" * 64), ("X-Signature-Timestamp", "1700000000")),
        Outcome(401, None, [NOSNIFF], "discord", "discord PING: refused with 401"),
        DEFAULT, body=DISCORD_BODY, head=[("Content-Type", "application/json")]),
    "standard-webhooks-challenge": Case(
        "_standard_challenge", "POST", "/{bin}", _fixed(("webhook-challenge", "sw-chal-1")),
        Outcome(204, b"", [NOSNIFF], "standardwebhooks",
                "standard webhooks webhook-challenge: webhook-challenge-response sent"),
        Outcome(200, provider="standardwebhooks",  # (the bin's provider: checked as a delivery)
                reason="missing header webhook-id"),
        setup=_secret("standardwebhooks", SW_SECRET)),
    "eventgrid-options": Case(
        "_eventgrid", "OPTIONS", "/{bin}",
        _fixed(("WebHook-Request-Origin", "eventgrid.azure.net"), ("WebHook-Request-Rate", "120")),
        Outcome(200, b"", [("WebHook-Allowed-Origin", "eventgrid.azure.net"),
                           ("WebHook-Allowed-Rate", "*")], "eventgrid",
                "CloudEvents abuse-protection OPTIONS: WebHook-Allowed-Origin sent"),
        DEFAULT),
    "eventgrid-validation": Case(
        "_eventgrid", "POST", "/{bin}", _fixed(("aeg-event-type", "SubscriptionValidation")),
        Outcome(200, b'{"validationResponse":"vc-512"}', [NOSNIFF], "eventgrid",
                "eventgrid SubscriptionValidation: validationResponse sent"),
        DEFAULT, body=EVENTGRID_BODY, head=[("Content-Type", "application/json")]),
    "sns": Case(
        "_sns", "POST", "/{bin}", _fixed(("x-amz-sns-message-type", "SubscriptionConfirmation")),
        Outcome(200, None, [], "sns", "sns SubscriptionConfirmation: not confirmed"),
        DEFAULT),
    "google-sync": Case(
        "_google", "POST", "/{bin}",
        _fixed(("X-Goog-Resource-State", "sync"), ("X-Goog-Channel-Id", "chan-1")),
        Outcome(200, None, [], "google", "google sync: acknowledged"),
        DEFAULT),
    "xero-intent-unsigned": Case(  # (no key for the bin: recognised, not answered)
        "_xero", "POST", "/{bin}", _fixed(("x-xero-signature", "c2lnbmF0dXJl")),
        Outcome(200, None, [], "xero", "xero intent to receive: not answered"),
        DEFAULT, body=XERO_INTENT, head=[("Content-Type", "application/json")]),
    "xero-intent-signed": Case(  # (a signature as a trailer signs nothing: a missing one)
        "_xero", "POST", "/{bin}", _signed("xero", XERO_KEY),
        Outcome(200, b"", [NOSNIFF], "xero", "xero intent to receive: 200 (signature verified)",
                reason="ok"),
        Outcome(401, b"", [NOSNIFF], "xero", "xero intent to receive: refused with 401"),
        body=XERO_INTENT, head=[("Content-Type", "application/json")],
        setup=_secret("xero", XERO_KEY)),
    "slack-signed": Case(  # (a body handshake: its signature as a trailer signs nothing)
        "_slack", "POST", "/{bin}", _signed("slack", SLACK_SECRET),
        Outcome(200, b"slack-chal-9", [NOSNIFF], "slack",
                "slack url_verification: challenge echoed", reason="ok"),
        Outcome(401, None, [NOSNIFF], "slack", "slack url_verification: refused with 401"),
        body=SLACK_BODY, head=[("Content-Type", "application/json")],
        setup=_secret("slack", SLACK_SECRET)),
    "meta-user-agent": Case(  # (who sent a hub.challenge: Meta by its User-Agent, else Strava)
        "_hub", "GET", "/{bin}?hub.mode=subscribe&hub.challenge=abc123def",
        _fixed(("User-Agent", "facebookplatform/1.0 (+http://developers.facebook.com)")),
        Outcome(200, b"abc123def", [NOSNIFF], "meta", "meta hub.challenge: echoed"),
        Outcome(200, b'{"hub.challenge":"abc123def"}', [NOSNIFF], "strava",
                "strava hub.challenge: echoed as JSON")),
    "nylas-user-agent": Case(  # (a ?challenge= GET: Nylas or Dropbox by its User-Agent,
        # else no provider: the same answer suits both)
        "_challenge_get", "GET", "/{bin}?challenge=nyl-chal-1",
        _fixed(("User-Agent", "Nylas-Webhooks/1.0")),
        Outcome(200, b"nyl-chal-1", [NOSNIFF], "nylas", "nylas challenge: echoed"),
        Outcome(200, b"nyl-chal-1", [NOSNIFF], None, "dropbox or nylas challenge: echoed")),
    "dropbox-other-sender": Case(  # (a header naming another sender makes it a delivery,
        # checked by the bin's secret; as a trailer it names no one: a bare challenge)
        "_challenge_get", "GET", "/{bin}?challenge=dbx-chal-1",
        _fixed(("X-GitHub-Event", "push")),
        Outcome(200, b"dbx-chal-1", [NOSNIFF], "dropbox", "dropbox challenge: echoed",
                reason="missing header X-Dropbox-Signature"),
        Outcome(200, b"dbx-chal-1", [NOSNIFF], "dropbox", "dropbox challenge: echoed",
                reason="handshake: dropbox does not sign it"),
        head=[("User-Agent", "DropboxWebhooks/1.0")], setup=_secret(None, "dbx-secret-1")),
}

#: detectors known by their body, query or method alone, whose answer no header changes
#: beyond what the cases above show (a signature, a User-Agent, another sender's header)
NO_HEADER = {"_zoom", "_msgraph", "_x_crc", "_onfleet", "_notion", "_monday", "_figma",
             "_head"}


lab = module_lab()  # (one lab for the module's tests)


def _check(lab: hooklab.HookLab, reply: Reply, want: Outcome) -> None:
    assert reply.status == want.status, reply
    capture_id = int(reply.header("X-Hooklab-Capture-Id") or 0)
    if want.body is None and want.status == 200:
        assert json.loads(reply.body) == {"ok": True, "id": capture_id}
    elif want.body is not None:
        assert reply.body == want.body
    for name, value in want.headers:
        assert reply.header(name) == value, (name, reply.headers)
    capture = lab.get(capture_id)
    assert capture.provider == want.provider
    assert capture.status == want.status
    if want.handshake is None:
        assert capture.handshake is None
    else:
        assert (capture.handshake or "").startswith(want.handshake), capture.handshake
    if want.reason is not ...:
        assert capture.verify_reason == want.reason


@pytest.mark.parametrize("place", ["header", "trailer"])
@pytest.mark.parametrize("name", list(CASES))
def test_a_handshake_is_read_from_the_header_section_only(lab: hooklab.HookLab, name: str,
                                                          place: str) -> None:
    case = CASES[name]
    bin_ = f"{name}-{place}"
    if case.setup is not None:
        case.setup(lab, bin_)
    fields = case.fields(case.body)
    head, trailers = ([*case.head, *fields], []) if place == "header" else (case.head, fields)
    reply = _send(lab.bound_port, case.method, case.target.format(bin=bin_), head, trailers,
                  case.body)
    _check(lab, reply, case.as_header if place == "header" else case.as_trailer)
    capture = lab.get(int(reply.header("X-Hooklab-Capture-Id") or 0))
    want_trailers = [] if place == "header" else fields
    assert [k for k, _ in capture.trailers] == [k for k, _ in want_trailers]
    if place == "trailer":  # (stored as sent: no challenge answered, none echoed back)
        assert not any(re.fullmatch(r"(?i)x-hook-secret|.*challenge.*", k) for k, _ in
                       reply.headers)
    if case.after is not None:
        case.after(lab, bin_, place == "header")


def test_the_table_covers_every_handshake_the_module_answers() -> None:
    from hooklab.providers import handshake

    detectors = {d.__name__ for d in handshake._DETECTORS}
    covered = {c.detector for c in CASES.values()}
    assert covered | NO_HEADER == detectors, detectors - covered - NO_HEADER
    assert not covered & NO_HEADER
