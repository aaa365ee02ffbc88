"""Retries, message kinds and inbound shapes as four providers document them (an outside
tester's report), met as a user meets them: a lab serving on a SQLite file, raw HTTP
deliveries shaped from each provider's docs, signatures made here by the documented algorithm
(standard library only).

- Box (developer.box.com/guides/webhooks/v2, "Payload headers"): ``BOX-DELIVERY-ID`` "will
  change" when Box retries, "while the ID in the payload body remains the same"; signed as
  base64 HMAC-SHA256 of ``body + BOX-DELIVERY-TIMESTAMP`` (signatures-v2).
- Twitch EventSub (dev.twitch.tv/docs/eventsub/handling-webhook-events): the
  ``Twitch-Eventsub-Message-Type`` header is ``notification``, ``webhook_callback_verification``
  or ``revocation`` ("contains the reason why Twitch revoked your subscription"); each wants a
  2XX; signed ``sha256=`` hex HMAC-SHA256 of ``message id + timestamp + body``.
- Postmark inbound webhook (postmarkapp.com/developer/webhooks/inbound-webhook): the parsed
  email as JSON, no ``RecordType``; ``MessageID``, ``FromFull``, ``ToFull``,
  ``OriginalRecipient``, ``MailboxHash``, ``MessageStream: "inbound"``; a non-200 answer is
  retried 10 times (support article "Understanding Inbound Webhook Retries").
- Okta event hooks: the admin names the header the secret comes in (``authScheme.key``, the
  Admin Console's "Authentication field"); the one-time verification GET carries it too.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import uuid
from urllib.parse import urlsplit

import pytest
from _http import exact_request

import hooklab


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    db = tmp_path_factory.mktemp("kinds") / "captures.sqlite3"
    # (a lab beside the default one: the suite stops the default lab after each test)
    lab = hooklab.HookLab(port=0, db=str(db)).start()
    try:
        yield lab
    finally:
        lab.stop()


def send(lab, path: str, headers: list[tuple[str, str]], body: bytes = b"",
         method: str = "POST") -> tuple[int, bytes]:
    """One request with exactly these headers, over a real socket."""
    return exact_request(urlsplit(lab.url).port, method, path, headers, body, timeout=20)


def stored(lab, bin_: str, n: int):
    return lab.wait(n, timeout=20, bin=bin_)


# -- Box: a retry is the body's event again --------------------------------------------------------
BOX_KEY = "box-primary-key-4f1a9c"


def _box(lab, bin_: str, body: bytes) -> str:
    """Deliver ``body`` as Box does, with a fresh BOX-DELIVERY-ID; that id."""
    delivery = str(uuid.uuid4())
    ts = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
    sig = base64.b64encode(hmac.new(BOX_KEY.encode(), body + ts.encode(),
                                    hashlib.sha256).digest()).decode()
    status, _ = send(lab, f"/{bin_}", [
        ("Content-Type", "application/json"), ("BOX-DELIVERY-ID", delivery),
        ("BOX-DELIVERY-TIMESTAMP", ts), ("BOX-SIGNATURE-PRIMARY", sig),
        ("BOX-SIGNATURE-VERSION", "1"), ("BOX-SIGNATURE-ALGORITHM", "HmacSHA256"),
        ("User-Agent", "Box-WH-Client/0.1")], body)
    assert status == 200
    return delivery


def _box_event(event_id: str | None, trigger: str = "FILE.UPLOADED") -> bytes:
    event = {"type": "webhook_event", "id": event_id, "created_at": "2016-05-09T17:41:27-07:00",
             "trigger": trigger, "webhook": {"id": "53", "type": "webhook"},
             "source": {"id": "73835521473", "type": "file"}}
    if event_id is None:
        del event["id"]
    return json.dumps(event).encode()


def test_a_box_retry_repeats_the_body_s_event_id_and_is_a_duplicate(lab):
    """(outside tester) hooklab took BOX-DELIVERY-ID as the delivery id; Box changes it on
    each retry, so a retry was never ``duplicate``. The body's ``id`` is the same on the retry;
    the header stays as it came."""
    lab.secret("box", BOX_KEY)
    first, other = "eac4ad0e-e4bb-4e2b-aae9-2a3d3b94d4ba", "f82c3ba0-1c8b-4d2a-9c7e-7b0d2a1e6c55"
    sent = [_box(lab, "box", _box_event(first)),
            _box(lab, "box", _box_event(first)),  # Box's retry: a new BOX-DELIVERY-ID
            _box(lab, "box", _box_event(other, "FILE.DELETED"))]
    caps = stored(lab, "box", 3)
    assert [(c.provider, c.event_type, c.delivery_id, c.duplicate, c.verified) for c in caps] == [
        ("box", "FILE.UPLOADED", first, False, True),
        ("box", "FILE.UPLOADED", first, True, True),
        ("box", "FILE.DELETED", other, False, True)]
    assert [c.header("BOX-DELIVERY-ID") for c in caps] == sent


def test_a_box_body_without_its_id_keeps_the_delivery_header(lab):
    """Not Box's documented body, but a delivery still gets an id of its own: the header's."""
    lab.secret("box-noid", BOX_KEY)
    sent = _box(lab, "box-noid", _box_event(None))
    cap = stored(lab, "box-noid", 1)[-1]
    assert (cap.provider, cap.delivery_id, cap.duplicate, cap.verified) == ("box", sent, False, True)


# -- Twitch: a revocation is no notification ---------------------------------------------------------
TWITCH_SECRET = "twitch-secret-0123456789"
_SUB = {"id": "f1c2a387-161a-49f9-a165-0f21d7a4e1c4", "type": "channel.follow", "version": "2",
        "cost": 1, "condition": {"broadcaster_user_id": "12826"},
        "transport": {"method": "webhook", "callback": "https://example.com/webhooks/callback"},
        "created_at": "2019-11-16T10:11:12.634234626Z"}
FOLLOW = {"subscription": {**_SUB, "status": "enabled"},
          "event": {"user_id": "1337", "user_login": "awesome_user", "broadcaster_user_id": "12826",
                    "followed_at": "2020-07-15T18:16:11.17106713Z"}}
REVOKED = {"subscription": {**_SUB, "status": "authorization_revoked"}}


def _twitch(lab, bin_: str, kind: str, data: dict, message_id: str | None = None) -> tuple[int, str]:
    mid = message_id or str(uuid.uuid4())
    ts = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    body = json.dumps(data).encode()
    sig = "sha256=" + hmac.new(TWITCH_SECRET.encode(), mid.encode() + ts.encode() + body,
                               hashlib.sha256).hexdigest()
    status, _ = send(lab, f"/{bin_}", [
        ("Content-Type", "application/json"), ("Twitch-Eventsub-Message-Id", mid),
        ("Twitch-Eventsub-Message-Retry", "0"), ("Twitch-Eventsub-Message-Type", kind),
        ("Twitch-Eventsub-Message-Signature", sig), ("Twitch-Eventsub-Message-Timestamp", ts),
        ("Twitch-Eventsub-Subscription-Type", "channel.follow"),
        ("Twitch-Eventsub-Subscription-Version", "2")], body)
    return status, mid


def test_a_twitch_revocation_has_an_event_type_of_its_own(lab):
    """(outside tester) a ``revocation`` message was stored as ``channel.follow``, its
    subscription's type: ``lab.query(event_type="channel.follow")`` and ``lab.wait`` counted
    it as a follow. It is ``revocation``, Twitch's name for the message, as the verification
    is ``webhook_callback_verification``; answered 2XX, verified, and Twitch's resend of it
    (the same message id) is a duplicate."""
    lab.secret("tw", TWITCH_SECRET)
    s1, follow = _twitch(lab, "tw", "notification", FOLLOW)
    s2, revoked = _twitch(lab, "tw", "revocation", REVOKED)
    s3, _ = _twitch(lab, "tw", "revocation", REVOKED, message_id=revoked)
    assert (s1, s2, s3) == (200, 200, 200)
    caps = stored(lab, "tw", 3)
    assert [(c.provider, c.event_type, c.delivery_id, c.duplicate, c.verified) for c in caps] == [
        ("twitch", "channel.follow", follow, False, True),
        ("twitch", "revocation", revoked, False, True),
        ("twitch", "revocation", revoked, True, True)]
    assert [c.id for c in lab.query(bin="tw", event_type="channel.follow")] == [caps[0].id]
    assert [c.id for c in lab.wait(2, timeout=5, bin="tw", event_type="revocation")] == \
        [c.id for c in caps[1:]]


TWITCH_KINDS = [
    # (Twitch-Eventsub-Message-Type, body, event type): only Twitch's own names are taken
    ("notification", FOLLOW, "channel.follow"),
    ("revocation", REVOKED, "revocation"),
    ("webhook_callback_verification", REVOKED, "webhook_callback_verification"),  # no challenge
    ("Revocation", REVOKED, "channel.follow"),
    ("revocation.", REVOKED, "channel.follow"),
    ("revoked", REVOKED, "channel.follow"),
    ("notification,revocation", REVOKED, "channel.follow"),
]


@pytest.mark.parametrize("kind, data, event_type", TWITCH_KINDS,
                         ids=[k or "empty" for k, _, _ in TWITCH_KINDS])
def test_twitch_message_types_by_their_exact_names(lab, kind, data, event_type):
    bin_ = f"tw-kind-{abs(hash(kind)) % 10**8}"
    status, mid = _twitch(lab, bin_, kind, data)
    cap = stored(lab, bin_, 1)[-1]
    assert 200 <= status < 300
    assert (cap.provider, cap.event_type, cap.delivery_id) == ("twitch", event_type, mid)


# -- Postmark: inbound email ----------------------------------------------------------------------------
PM_ID = "73e6d360-66eb-11e1-8e72-a8904824019b"
INBOUND = {
    "FromName": "Postmarkapp Support", "MessageStream": "inbound", "From": "support@postmarkapp.com",
    "FromFull": {"Email": "support@postmarkapp.com", "Name": "Postmarkapp Support", "MailboxHash": ""},
    "To": "\"Firstname Lastname\" <yourhash+SampleHash@inbound.postmarkapp.com>",
    "ToFull": [{"Email": "yourhash+SampleHash@inbound.postmarkapp.com", "Name": "Firstname Lastname",
                "MailboxHash": "SampleHash"}],
    "Cc": "", "CcFull": [], "Bcc": "", "BccFull": [],
    "OriginalRecipient": "yourhash+SampleHash@inbound.postmarkapp.com", "Subject": "Test subject",
    "MessageID": PM_ID, "ReplyTo": "replyto@postmarkapp.com", "MailboxHash": "SampleHash",
    "Date": "Fri, 1 Aug 2014 16:45:32 -04:00", "TextBody": "This is a test text body.",
    "HtmlBody": "<html><body><p>This is a test html body.</p></body></html>",
    "StrippedTextReply": "This is the reply text", "Tag": "TestTag",
    "Headers": [{"Name": "X-Spam-Status", "Value": "No"}], "Attachments": []}
PM_AUTH = "Basic " + base64.b64encode(b"hookuser:hookpass99").decode()


@pytest.mark.parametrize("provider", [None, "postmark"])
def test_a_postmark_inbound_email_is_postmark_s_and_its_retry_a_duplicate(lab, provider):
    """(outside tester) Postmark's inbound webhook has no ``RecordType``: a bare bin stored no
    provider, and a bin registered for Postmark no event type and no delivery id, so Postmark's
    retries of one email were never marked ``duplicate``."""
    bin_ = f"pm-inbound-{provider}"
    lab.secret(bin_, "hookuser:hookpass99", provider=provider)
    body = json.dumps(INBOUND).encode()
    for _ in range(2):  # the post, then Postmark's retry of it (the same email)
        status, _ = send(lab, f"/{bin_}", [("Content-Type", "application/json"),
                                           ("User-Agent", "Postmark"),
                                           ("Authorization", PM_AUTH)], body)
        assert status == 200
    caps = stored(lab, bin_, 2)
    assert [(c.provider, c.event_type, c.delivery_id, c.duplicate, c.verified) for c in caps] == [
        ("postmark", "Inbound", PM_ID, False, True), ("postmark", "Inbound", PM_ID, True, True)]


def _without(d: dict, *keys: str) -> dict:
    return {k: v for k, v in d.items() if k not in keys}


NEAR_MISSES = [
    # (a body another sender posts, or Postmark's inbound short of a part; headers; provider)
    ("inbound without FromFull", _without(INBOUND, "FromFull"), [], None),
    ("inbound without ToFull", _without(INBOUND, "ToFull"), [], None),
    ("inbound without OriginalRecipient", _without(INBOUND, "OriginalRecipient"), [], None),
    ("inbound without MailboxHash", _without(INBOUND, "MailboxHash"), [], None),
    ("FromFull a string", {**INBOUND, "FromFull": "support@postmarkapp.com"}, [], None),
    ("FromFull without Email", {**INBOUND, "FromFull": {"Name": "x"}}, [], None),
    ("MessageID an object", {**INBOUND, "MessageID": {"id": PM_ID}}, [], None),
    ("MessageID null", {**INBOUND, "MessageID": None}, [], None),
    ("Mailjet parse API", {
        "Sender": "pilot@mailjet.com", "Recipient": "passenger@mailjet.com",
        "Date": "20150410T160638", "From": "Pilot <pilot@mailjet.com>", "Subject": "Hi",
        "Headers": {"Message-ID": "<a@b>"}, "Parts": [], "Text-part": "Hi", "Html-part": "",
        "SpamAssassinScore": "0.602", "CustomID": "", "Payload": ""}, [], None),
    ("Mailjet event", {"event": "sent", "time": 1433333949, "MessageID": 19421777835146490,
                       "Message_GUID": "1ab23cd4-e567-8901-2345-6789f0gh1i2j",
                       "email": "api@mailjet.com", "mj_campaign_id": 7257}, [], None),
    ("Mailgun route as JSON", {
        "recipient": "bob@example.com", "sender": "alice@example.com", "From": "Alice",
        "To": "bob@example.com", "subject": "Hi", "Message-Id": "<x@y>", "body-plain": "Hi",
        "stripped-text": "Hi"}, [], None),
    ("CloudMailin JSON", {
        "envelope": {"to": "to@example.com", "from": "from@example.com"},
        "headers": {"message_id": "<x@y>", "subject": "Hi", "from": "from@example.com"},
        "plain": "Hi", "html": "<p>Hi</p>", "attachments": []}, [], None),
    ("Resend email.received", {
        "type": "email.received", "created_at": "2024-02-22T23:41:12.126Z",
        "data": {"email_id": "56761188-7520-42d8-8898-ff6fc54ce618",
                 "from": "Acme <onboarding@resend.dev>", "to": ["delivered@resend.dev"],
                 "subject": "Hi", "message_id": "<x@y>"}},
     [("svix-id", "msg_2Wkr1a"), ("svix-timestamp", "1700000000"),
      ("svix-signature", "v1,c2lnbmF0dXJl")], "resend"),
    ("an app's own copy of an inbound email, under SNS", {
        "Type": "Notification", "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        "Message": json.dumps(INBOUND)}, [("x-amz-sns-message-type", "Notification")], "sns"),
]


@pytest.mark.parametrize("name, data, headers, provider", NEAR_MISSES,
                         ids=[n for n, *_ in NEAR_MISSES])
def test_other_senders_mail_is_not_taken_for_postmark_inbound(lab, name, data, headers, provider):
    bin_ = f"pm-near-{abs(hash(name)) % 10**8}"
    send(lab, f"/{bin_}", [("Content-Type", "application/json"), *headers],
         json.dumps(data).encode())
    cap = stored(lab, bin_, 1)[-1]
    assert cap.provider == provider
    if provider is None:
        assert (cap.event_type, cap.delivery_id) == (None, None)


def test_the_postmark_inbound_sample_is_stored_as_postmark_sends_it(lab):
    """``hooklab.send(..., provider="postmark", event="Inbound")`` sends the inbound shape."""
    hooklab.send(lab.url_for("pm-sample"), provider="postmark", event="Inbound")
    cap = stored(lab, "pm-sample", 1)[-1]
    data = cap.json()
    assert "RecordType" not in data and data["MessageStream"] == "inbound"
    assert (cap.provider, cap.event_type, cap.delivery_id) == ("postmark", "Inbound",
                                                               data["MessageID"])


# -- Okta: the handshake note names the header that matched --------------------------------------
OKTA_SECRET = "okta-custom-secret-77"
OKTA_HEADERS = [
    # (the headers of the verification GET, the header the note names)
    ([("X-Okta-Secret", OKTA_SECRET)], "X-Okta-Secret"),
    ([("x-okta-secret", OKTA_SECRET)], "x-okta-secret"),  # (as it came)
    ([("X-Okta-Hook-Auth", f"Bearer {OKTA_SECRET}")], "X-Okta-Hook-Auth"),
    ([("Authorization", "Bearer unrelated"), ("X-Okta-Hook-Auth", OKTA_SECRET)], "X-Okta-Hook-Auth"),
    ([("Authorization", OKTA_SECRET)], "Authorization"),
    ([("authorization", f"Bearer {OKTA_SECRET}")], "authorization"),
]


@pytest.mark.parametrize("headers, named", OKTA_HEADERS,
                         ids=[f"{i}-{n}" for i, (_, n) in enumerate(OKTA_HEADERS)])
def test_the_okta_verification_note_names_the_header_that_matched(lab, headers, named):
    """(outside tester) with the secret in the header ``authScheme.key`` names and no
    ``Authorization``, the verification was answered right but noted ``Authorization
    matches``."""
    bin_ = f"okta-note-{abs(hash(tuple(headers))) % 10**8}"
    lab.secret(bin_, OKTA_SECRET, provider="okta")
    status, body = send(lab, f"/{bin_}", [("X-Okta-Verification-Challenge", "abcDEF123"),
                                          *headers], method="GET")
    assert (status, body) == (200, b'{"verification":"abcDEF123"}')
    cap = stored(lab, bin_, 1)[-1]
    assert cap.verified is True
    assert cap.handshake == f"okta X-Okta-Verification-Challenge: answered ({named} matches)"
    assert OKTA_SECRET not in cap.header(named)  # (stored as [secret])
