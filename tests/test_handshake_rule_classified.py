"""A handshake is stored as what it is, whoever answers it: hooklab, a rule of the user's, nobody.

The same Slack ``url_verification`` POST, sent as curl sends it (no Slack headers), was stored
as ``provider=slack, event_type=url_verification`` when hooklab answered the handshake, and
with no provider and no event type once ``lab.respond("slack", body="mine")`` answered it
(README: "a rule of yours always wins"), so ``lab.query(provider="slack")`` missed it: a
handshake recognisable by its body or query alone was recognised only by the code that
answers it. Now the row's provider, event type, delivery id and verification are the same
whether hooklab answers, a response rule answers, or ``lab.handshakes = False`` leaves the
normal answer; only the answer (and the ``handshake`` note, which says what hooklab answered)
differs.

Each handshake of the table is sent over a real socket to a real lab (a SQLite file) three
times: to a bin hooklab answers, to a bin a rule answers, and with handshakes off. The
expected provider, event type and delivery id are written out by hand from the request sent.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any
from urllib.parse import urlencode

import pytest
from _http import post

import hooklab

pytestmark = pytest.mark.timeout(180)

JSON = {"Content-Type": "application/json", "User-Agent": "curl/8.5.0"}
CURL = {"User-Agent": "curl/8.5.0"}
DROPBOX = {"User-Agent": "DropboxWebhooks/1.0"}  # (what Dropbox's checks come from)


def j(value: Any) -> bytes:
    return json.dumps(value).encode()


#: (case, method, query, headers, body, the bin's registration (secret, provider) or None,
#:  expected provider, event type, delivery id)
CASES: list[tuple[str, str, dict[str, str], dict[str, str], bytes, tuple[str, str] | None,
                  str, str, str | None]] = [
    ("slack url_verification", "POST", {}, JSON,
     j({"token": "Jhj5dZrVaK7ZwHHjRyZWjbDl", "challenge": "3eZbrw1aBm2rZgRNFdx",
        "type": "url_verification"}), None, "slack", "url_verification", None),
    ("slack url_verification, bin keeps Slack's secret, unsigned", "POST", {}, JSON,
     j({"token": "t", "challenge": "c1", "type": "url_verification"}), ("s3cret", "slack"),
     "slack", "url_verification", None),
    ("zoom endpoint.url_validation", "POST", {}, JSON,
     j({"payload": {"plainToken": "qgg8vlvZRS6UYooatFL8Aw"}, "event_ts": 1654503849680,
        "event": "endpoint.url_validation"}), None, "zoom", "endpoint.url_validation", None),
    ("eventgrid SubscriptionValidation", "POST", {},
     {**JSON, "aeg-event-type": "SubscriptionValidation"},
     j([{"id": "2d1781af-3a4c-4d7c-bd0c-e34b19da4e66", "topic": "/subscriptions/x",
         "subject": "", "data": {"validationCode": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"},
         "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
         "eventTime": "2018-01-25T22:12:19.4556811Z", "dataVersion": "1"}]), None,
     "eventgrid", "SubscriptionValidation", "2d1781af-3a4c-4d7c-bd0c-e34b19da4e66"),
    ("cloudevents OPTIONS", "OPTIONS", {}, {**CURL, "WebHook-Request-Origin": "eventgrid.azure.net"},
     b"", None, "eventgrid", "validation", None),
    ("graph validationToken GET", "GET", {"validationToken": "Validation: Testing"}, CURL, b"",
     None, "msgraph", "validation", None),
    ("graph validationToken POST", "POST", {"validationToken": "tok-1"}, CURL, b"", None,
     "msgraph", "validation", None),
    ("sharepoint validationtoken POST", "POST", {"validationtoken": "tok-2"}, CURL, b"", None,
     "msgraph", "validation", None),
    ("graph validationToken, bin registered for github", "POST", {"validationToken": "tok-3"},
     CURL, b"", ("gh-secret", "github"), "msgraph", "validation", None),
    ("dropbox challenge GET", "GET", {"challenge": "abc123"}, DROPBOX, b"", None,
     "dropbox", "challenge", None),
    ("dropbox challenge GET, bin registered for github", "GET", {"challenge": "abc124"}, DROPBOX,
     b"", ("gh-secret", "github"), "dropbox", "challenge", None),
    ("dropbox challenge GET, bin secret without provider", "GET", {"challenge": "abc125"},
     DROPBOX, b"", ("plain-secret", ""), "dropbox", "challenge", None),
    ("nylas challenge GET", "GET", {"challenge": "n1"}, {"User-Agent": "NylasWebhookClient"},
     b"", None, "nylas", "challenge", None),
    ("meta hub.challenge", "GET", {"hub.mode": "subscribe", "hub.challenge": "1158201444",
                                   "hub.verify_token": "tok"}, CURL, b"", None,
     "meta", "subscribe", None),
    ("strava hub.challenge", "GET", {"hub.mode": "subscribe",
                                     "hub.challenge": "15f7d1a91c1f40f8a748fd134752feb3",
                                     "hub.verify_token": "STRAVA"}, CURL, b"", None,
     "strava", "subscribe", None),
    ("onfleet check", "GET", {"check": "c-1"}, CURL, b"", None, "onfleet", "check", None),
    ("monday challenge", "POST", {}, JSON, j({"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}),
     None, "monday", "challenge", None),
    ("notion verification_token", "POST", {}, JSON,
     j({"verification_token": "secret_tMrlL1qK5vuQAh1b6cZGhFChZTSYJlce98V0pYn7yBl"}), None,
     "notion", "verification", None),
    ("figma PING", "POST", {}, JSON,
     j({"event_type": "PING", "passcode": "pc", "timestamp": "2024-01-01T00:00:00Z",
        "webhook_id": "22"}), None, "figma", "PING", "22.2024-01-01T00:00:00Z"),
    ("x crc_token", "GET", {"crc_token": "d6a6c2b4-1d1d-4f3b-8d3b-2f3c1c0f0f0f"}, CURL, b"",
     None, "x", "crc", None),
    ("asana X-Hook-Secret", "POST", {}, {**CURL, "X-Hook-Secret": "b537207f20cbfa02357cf448134da559e8bd39d61597dcd5631b8012eae53e81"},
     b"", None, "asana", "handshake", None),
    ("smartsheet challenge", "POST", {}, {**JSON, "Smartsheet-Hook-Challenge": "d78dd1d3-01ce"},
     j({"challenge": "d78dd1d3-01ce", "webhookId": 2674017481058180}), None,
     "smartsheet", "challenge", None),
    ("okta verification", "GET", {}, {**CURL, "X-Okta-Verification-Challenge": "two"}, b"",
     None, "okta", "verification", None),
    ("front challenge", "POST", {}, {**CURL, "X-Front-Challenge": "front-c"}, b"", None,
     "front", "challenge", None),
    ("twitch callback verification", "POST", {},
     {**JSON, "Twitch-Eventsub-Message-Type": "webhook_callback_verification",
      "Twitch-Eventsub-Message-Id": "e76c6bd4-55c9-4987-8304-da1588d8988b"},
     j({"challenge": "pogchamp-kappa-360noscope-vohiyo", "subscription": {"type": "channel.follow"}}),
     None, "twitch", "webhook_callback_verification", "e76c6bd4-55c9-4987-8304-da1588d8988b"),
    ("standard webhooks webhook-challenge", "POST", {}, {**CURL, "webhook-challenge": "ch-1"},
     b"", None, "standardwebhooks", "endpoint_verification", None),
    ("sns SubscriptionConfirmation", "POST", {},
     {**CURL, "Content-Type": "text/plain; charset=UTF-8",
      "x-amz-sns-message-type": "SubscriptionConfirmation",
      "x-amz-sns-message-id": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b"},
     j({"Type": "SubscriptionConfirmation", "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
        "Token": "2336412f37", "TopicArn": "arn:aws:sns:us-west-2:123456789012:MyTopic",
        "SubscribeURL": "https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription"}),
     None, "sns", "SubscriptionConfirmation", "165545c9-2a5c-472c-8df2-7ff2be2b3b1b"),
    ("google sync", "POST", {}, {**CURL, "X-Goog-Resource-State": "sync",
                                 "X-Goog-Channel-Id": "ch-9", "X-Goog-Message-Number": "1"},
     b"", None, "google", "sync", "ch-9.1"),
]
IDS = [c[0] for c in CASES]
WHO = ("hooklab", "rule", "off")


def _send(lab: Any, bin_: str, method: str, query: dict[str, str], headers: dict[str, str],
          body: bytes) -> tuple[int, bytes]:
    url = lab.url_for(bin_) + ("?" + urlencode(query) if query else "")
    return post(url, body, dict(headers), method=method)


@pytest.fixture(scope="module")
def stored(tmp_path_factory: Any) -> Any:
    """Each case sent three times: ``{(case index, who): (capture, status, answer body)}``."""
    db = tmp_path_factory.mktemp("hs") / "captures.sqlite3"
    out: dict[tuple[int, str], Any] = {}
    with hooklab.HookLab(port=0, db=str(db)) as lab:
        for who in WHO:
            lab.handshakes = who != "off"
            for i, (_n, method, query, headers, body, reg, *_e) in enumerate(CASES):
                bin_ = f"{who}-{i}"
                if reg is not None:
                    lab.secret(bin_, reg[0], provider=reg[1] or None)
                if who == "rule":
                    lab.respond(bin_, status=200, body="mine")
                status, answer = _send(lab, bin_, method, query, headers, body)
                (cap,) = lab.wait(1, timeout=10, bin=bin_)
                out[i, who] = (cap, status, answer)
        out["query"] = {p: {c.bin for c in lab.query(provider=p)} for p in {c[6] for c in CASES}}
    return out


@pytest.mark.parametrize("i", range(len(CASES)), ids=IDS)
def test_the_row_is_classified_the_same_whoever_answers(stored: Any, i: int) -> None:
    name, *_r, provider, event_type, delivery_id = CASES[i]
    rows = {who: stored[i, who][0] for who in WHO}
    for who, cap in rows.items():
        assert (cap.provider, cap.event_type, cap.delivery_id) == (
            provider, event_type, delivery_id), (name, who)
    # (what the request's check found is the request's, not the answer's)
    assert len({(c.verified, c.verify_reason) for c in rows.values()}) == 1, (
        name, {w: (c.verified, c.verify_reason) for w, c in rows.items()})
    assert {f"{who}-{i}" for who in WHO} <= stored["query"][provider], name


@pytest.mark.parametrize("i", range(len(CASES)), ids=IDS)
def test_only_the_answer_and_its_note_differ(stored: Any, i: int) -> None:
    name = CASES[i][0]
    hook, rule, off = (stored[i, who] for who in WHO)
    assert hook[0].handshake, name  # (what hooklab answered, said)
    assert rule[0].handshake is None and off[0].handshake is None, name
    assert (rule[1], rule[2]) == (200, b"mine"), name
    assert off[1] == 200 and json.loads(off[2])["ok"] is True, name  # (the normal answer)
    assert rule[0].status == 200 and off[0].status == 200, name


@pytest.mark.parametrize("case,secret,header,prefix", [
    ("asana X-Hook-Secret",
     "b537207f20cbfa02357cf448134da559e8bd39d61597dcd5631b8012eae53e81", "X-Hook-Signature", ""),
    ("notion verification_token", "secret_tMrlL1qK5vuQAh1b6cZGhFChZTSYJlce98V0pYn7yBl",
     "X-Notion-Signature", "sha256="),
])
def test_a_handshake_a_rule_answered_hands_no_secret_over(
    tmp_path: Any, case: str, secret: str, header: str, prefix: str
) -> None:
    """Asana's and Notion's handshakes hand over the secret their deliveries are signed with;
    hooklab keeps it for the bin when it answers them. Under a rule of the user's it answered
    nothing, and keeps nothing: the delivery that follows is not checked there."""
    _n, method, query, headers, body, *_ = next(c for c in CASES if c[0] == case)
    delivery = j({"events": [{"action": "changed"}], "type": "page.created", "id": "d-1"})
    signature = prefix + hmac.new(secret.encode(), delivery, hashlib.sha256).hexdigest()
    with hooklab.HookLab(port=0, db=str(tmp_path / "c.sqlite3")) as lab:
        lab.respond("rule", body="mine")
        for bin_ in ("rule", "hooklab"):
            _send(lab, bin_, method, query, headers, body)
            _send(lab, bin_, "POST", {}, {**JSON, header: signature}, delivery)
        rows = {b: lab.wait(2, timeout=10, bin=b) for b in ("rule", "hooklab")}
    assert [c.verified for c in rows["hooklab"]] == [None, True]
    assert [c.verified for c in rows["rule"]] == [None, None]


def test_x_crc_on_a_bin_kept_for_no_provider_says_how_to_answer_only_where_unanswered(
    tmp_path: Any,
) -> None:
    """X's CRC on a bin whose secret was given without ``provider='x'`` is stored unchecked
    either way; only where hooklab left it unanswered does the reason say how to have it
    answered (under a rule, or with handshakes off, that advice would be wrong)."""
    query = {"crc_token": "d6a6c2b4-1d1d-4f3b-8d3b-2f3c1c0f0f0f"}
    with hooklab.HookLab(port=0, db=str(tmp_path / "c.sqlite3")) as lab:
        for who in WHO:
            lab.handshakes = who != "off"
            lab.secret(who, "plain-secret")
            if who == "rule":
                lab.respond(who, body="mine")
            _send(lab, who, "GET", query, CURL, b"")
        rows = {who: lab.wait(1, timeout=10, bin=who)[0] for who in WHO}
    assert {(c.provider, c.event_type, c.verified) for c in rows.values()} == {("x", "crc", None)}
    assert rows["hooklab"].verify_reason == (
        "handshake: x does not sign it (not answered: register the bin with provider='x' "
        "to have X's CRC answered)")
    assert rows["rule"].verify_reason == rows["off"].verify_reason == "handshake: x does not sign it"
