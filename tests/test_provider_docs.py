"""Provider details checked against each provider's own documentation and official validators,
as a user meets them: deliveries built by the documented rule (computed here with the standard
library, not with hooklab), sent over real HTTP to a lab that verifies on arrival.

- Trello signs ``body + callbackURL`` as a Node "binary" string (each UTF-16 unit's low byte:
  its docs' en dash, U+2013, is hashed as 0x13), not as UTF-8.
- Amazon SNS: AWS's message validators accept a ``SigningCertURL`` only if it is https, on
  ``sns.<region>.amazonaws.com`` and a ``.pem``; they do not check ``Timestamp`` (a retry keeps
  the first one).
- Front's rule webhooks: base64 HMAC-SHA1 of the body, no timestamp header.
- X's CRC answer is the HMAC X signs deliveries with: only token-like ``crc_token``s are
  answered, so nobody gets a forged delivery body signed.
- Mux refuses only old timestamps; Linear's ``webhookTimestamp`` within a minute.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import time
from urllib.parse import quote, urlsplit

import pytest

import hooklab
from hooklab.signatures import keypair, sign_request, verify_signature


@pytest.fixture(scope="module")
def lab():
    lab = hooklab.HookLab(port=0, db=":memory:")
    lab.start()
    yield lab
    lab.stop()


def post(url: str, body: bytes, headers: dict[str, str], method: str = "POST"):
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request(method, parts.path + (f"?{parts.query}" if parts.query else ""),
                     body=body or None, headers=headers)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def stored(lab, bin: str):
    return lab.wait(1, bin=bin, timeout=10)[-1]


# -- Trello ---------------------------------------------------------------------------------
def node_binary(text: str) -> bytes:
    """Trello's rule, written from its docs: each UTF-16 code unit's 8 low bits."""
    out = bytearray()
    for ch in text:
        cp = ord(ch)
        if cp >= 0x10000:  # a surrogate pair in JavaScript: two units
            cp -= 0x10000
            out += bytes([(0xD800 + (cp >> 10)) & 0xFF, (0xDC00 + (cp & 0x3FF)) & 0xFF])
        else:
            out.append(cp & 0xFF)
    return bytes(out)


TRELLO_TEXTS = [
    "Launch – board",  # the docs' en dash
    "Crème brûlée",  # Latin-1 letters: one unit each
    "Ship it 🚀 today",  # outside the BMP: a surrogate pair
    "日本語のカード",
    "plain ASCII only",
]


@pytest.mark.parametrize("name", TRELLO_TEXTS)
def test_trello_delivery_signed_as_trello_signs_verifies(lab, name):
    bin = "trello-" + hashlib.sha1(name.encode()).hexdigest()[:8]
    secret = "trello-oauth-app-secret"
    lab.secret(bin, secret, provider="trello")
    url = lab.url_for(bin)
    body = json.dumps({"action": {"type": "updateCard", "data": {"card": {"name": name}}},
                       "model": {"name": name}}, ensure_ascii=False).encode()
    msg = node_binary(body.decode() + url)
    sig = base64.b64encode(hmac.new(secret.encode(), msg, hashlib.sha1).digest()).decode()
    assert post(url, body, {"X-Trello-Webhook": sig, "Content-Type": "application/json"})[0] == 200
    cap = stored(lab, bin)
    assert (cap.provider, cap.verified, cap.verify_reason) == ("trello", True, "ok")
    # one byte changed: refused
    bad = body.replace(b"updateCard", b"updateCarx")
    post(url, bad, {"X-Trello-Webhook": sig, "Content-Type": "application/json"})
    cap = lab.wait(2, bin=bin, timeout=10)[-1]
    assert cap.verified is False and "mismatch" in cap.verify_reason


def test_trello_utf8_form_is_accepted_too():
    """Senders that sign the UTF-8 bytes (a proxy re-signing, an older integration) verify."""
    body = json.dumps({"model": {"name": "Crème – 🚀"}}, ensure_ascii=False).encode()
    url = "https://example.com/trello"
    sig = base64.b64encode(hmac.new(b"k", body + url.encode(), hashlib.sha1).digest()).decode()
    assert verify_signature("trello", "k", {"X-Trello-Webhook": sig}, body, url=url).valid


def test_trello_sample_is_signed_as_trello_signs():
    body = json.dumps({"model": {"name": "Crème – 🚀"}}, ensure_ascii=False).encode()
    url = "https://example.com/trello"
    req = sign_request("trello", "k", url=url, body=body)
    want = base64.b64encode(hmac.new(b"k", node_binary(body.decode() + url),
                                     hashlib.sha1).digest()).decode()
    assert req.headers["X-Trello-Webhook"] == want


# -- Amazon SNS -------------------------------------------------------------------------------
SNS_PRIV, SNS_CERT = keypair("sns")
GOOD_CERT_URL = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0123456789abcdef.pem"


def sns_message(cert_url: str, *, timestamp: str = "2026-01-01T00:00:00.000Z") -> bytes:
    body = json.dumps({"Type": "Notification", "MessageId": "m-1",
                       "TopicArn": "arn:aws:sns:eu-west-1:123456789012:t", "Message": "hello",
                       "Timestamp": timestamp}).encode()
    signed = json.loads(sign_request("sns", SNS_PRIV, body=body).body)
    signed["SigningCertURL"] = cert_url  # (not among the signed fields: anyone can change it)
    return json.dumps(signed).encode()


ACCEPTED_CERT_URLS = [
    GOOD_CERT_URL,
    "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-x.pem",
    "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-x.pem",
    "https://sns.us-gov-west-1.amazonaws.com/a/b.pem",
]
REFUSED_CERT_URLS = [
    "http://sns.eu-west-1.amazonaws.com/SimpleNotificationService-x.pem",  # not https
    "https://evil.example.com/SimpleNotificationService-x.pem",
    "https://sns.eu-west-1.amazonaws.com.evil.com/x.pem",
    "https://evil.com/sns.eu-west-1.amazonaws.com/x.pem",
    "https://sns.eu-west-1.amazonaws.com/x.txt",
    "https://sns.eu-west-1.amazonaws.com/x.pem.txt",
    "https://sns.eu.amazonaws.com/x.pem",  # (a region of 3 or more characters)
    "https://sns.eu-west-1.amazonaws.com:8443/x.pem",
    "https://sns.eu-west-1.amazonaws.com:99999/x.pem",  # (review: a port that is no port
    "https://sns.eu-west-1.amazonaws.com:abc/x.pem",  # said "could not verify: ValueError")
    "https://user@sns.eu-west-1.amazonaws.com/x.pem",
    "https://sqs.eu-west-1.amazonaws.com/x.pem",
    "https://SNS.EU-WEST-1.AMAZONAWS.COM.evil/x.pem",
    "https://sns.eu_west-1.amazonaws.com/x.pem",
    "https://[::1]/x.pem",
    "file:///etc/ssl/x.pem",
    "sns.eu-west-1.amazonaws.com/x.pem",
    "",
    "https://sns.eu-west-1.amazonaws.com\\@evil.com/x.pem",
]


@pytest.mark.parametrize("cert_url, accepted", [*((u, True) for u in ACCEPTED_CERT_URLS),
                                                *((u, False) for u in REFUSED_CERT_URLS)])
def test_sns_certificate_urls_as_aws_validators_take_them(cert_url, accepted):
    v = verify_signature("sns", SNS_CERT, {"x-amz-sns-message-type": "Notification"},
                         sns_message(cert_url), now=time.time())
    assert v.valid is accepted, v.reason
    if not accepted:
        assert "SigningCertURL" in v.reason, v.reason


def test_sns_old_timestamp_is_not_refused(lab):
    """A retry carries the message's first Timestamp: days old is still SNS's message."""
    bin = "sns-retry"
    lab.secret(bin, SNS_CERT, provider="sns")
    body = sns_message(GOOD_CERT_URL, timestamp="2020-02-03T04:05:06.789Z")
    status, _ = post(lab.url_for(bin), body, {"x-amz-sns-message-type": "Notification",
                                              "Content-Type": "text/plain; charset=UTF-8"})
    assert status == 200
    cap = stored(lab, bin)
    assert (cap.provider, cap.verified) == ("sns", True), cap.verify_reason


def test_sns_forged_certificate_url_is_not_verified_on_arrival(lab):
    """The attack the URL check stops: a message signed by a key of the sender's own, with its
    certificate at the sender's URL; a user who fetched that certificate gave it as the secret."""
    bin = "sns-forged"
    lab.secret(bin, SNS_CERT, provider="sns")
    body = sns_message("https://attacker.example/SimpleNotificationService-x.pem")
    post(lab.url_for(bin), body, {"x-amz-sns-message-type": "Notification"})
    cap = stored(lab, bin)
    assert cap.verified is False and "SigningCertURL" in cap.verify_reason


# -- Front rule webhooks ----------------------------------------------------------------------
def test_front_rule_webhook_verifies(lab):
    bin = "front-rule"
    secret = "front-api-secret"
    lab.secret(bin, secret, provider="front")
    body = json.dumps({"type": "inbound", "conversation": {"subject": "Crème"}},
                      ensure_ascii=False).encode()
    sig = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha1).digest()).decode()
    post(lab.url_for(bin), body, {"X-Front-Signature": sig, "Content-Type": "application/json"})
    cap = stored(lab, bin)
    assert (cap.provider, cap.verified) == ("front", True), cap.verify_reason
    assert "rule webhook" in cap.verify_reason
    # SHA-256 of the body (an application webhook's algorithm without its timestamp): refused
    sha256 = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    assert not verify_signature("front", secret, {"X-Front-Signature": sha256}, body).valid
    # an application webhook still needs its timestamp
    app = sign_request("front", secret, body=body)
    assert verify_signature("front", secret, app.headers, body).reason == "ok"
    no_ts = {"X-Front-Signature": app.headers["X-Front-Signature"]}
    assert not verify_signature("front", secret, no_ts, body).valid


# -- X (Twitter) CRC --------------------------------------------------------------------------
X_SECRET = "x-consumer-secret"


def crc(lab, bin: str, token: str):
    return post(lab.url_for(bin) + "?crc_token=" + quote(token, safe=""), b"", {}, method="GET")


def test_x_crc_answers_a_token_and_the_check_is_not_a_failed_delivery(lab):
    bin = "x-crc"
    lab.secret(bin, X_SECRET, provider="x")
    token = "9b4507b3-9040-4669-9ca3-6b94edb50553"  # (the form of X's docs' example)
    status, body = crc(lab, bin, token)
    want = base64.b64encode(hmac.new(X_SECRET.encode(), token.encode(),
                                     hashlib.sha256).digest()).decode()
    assert (status, json.loads(body)) == (200, {"response_token": "sha256=" + want})
    cap = stored(lab, bin)
    assert cap.verified is None and "does not sign" in cap.verify_reason


FORGED = json.dumps({"for_user_id": "1", "tweet_create_events": [{"text": "forged"}]})


@pytest.mark.parametrize("token", [
    FORGED,
    "{}",
    '"quoted"',
    "two words",
    "line\nbreak",
    "tab\there",
    "café",
    "a<b>",
    "semi;colon",
    "[1,2]",
    "%7B%7D",  # (a percent sign: the decoded text is what would be signed)
    # (fifth attacker) token characters that spell a JSON value: a delivery body of its own
    "true", "null", "false", "12345", "-1.5e3", "0",
])
def test_x_crc_refuses_what_could_be_a_delivery(lab, token):
    bin = "x-oracle"
    lab.secret(bin, X_SECRET, provider="x")
    status, body = crc(lab, bin, token)
    assert status == 400
    assert b"response_token" not in body and b"sha256=" not in body


def test_x_crc_cannot_be_used_to_forge_a_verified_delivery(lab):
    """The attack: ask the CRC to sign a delivery body, then send that body with the answer."""
    bin = "x-forge"
    lab.secret(bin, X_SECRET, provider="x")
    status, answer = crc(lab, bin, FORGED)
    assert status == 400
    token = json.loads(answer).get("response_token", "sha256=AAAA")
    post(lab.url_for(bin), FORGED.encode(), {"x-twitter-webhooks-signature": token,
                                             "Content-Type": "application/json"})
    cap = lab.wait(2, bin=bin, timeout=10)[-1]
    assert cap.method == "POST" and cap.verified is False


# -- timestamp windows ------------------------------------------------------------------------
def test_mux_refuses_only_old_timestamps():
    body = b'{"type":"video.asset.ready"}'
    now = 1_800_000_000
    future = sign_request("mux", "mux-secret", body=body, timestamp=now + 900).headers
    old = sign_request("mux", "mux-secret", body=body, timestamp=now - 900).headers
    assert verify_signature("mux", "mux-secret", future, body, now=now).valid
    v = verify_signature("mux", "mux-secret", old, body, now=now)
    assert not v.valid and "old, beyond" in v.reason


@pytest.mark.parametrize(("age", "ok"), [(0, True), (45, True), (59, True), (90, False),
                                         (299, False)])
def test_linear_webhook_timestamp_within_a_minute(age, ok):
    now = 1_800_000_000
    body = json.dumps({"action": "create", "type": "Issue",
                       "webhookTimestamp": (now - age) * 1000}).encode()
    headers = sign_request("linear", "lin-secret", body=body).headers
    assert verify_signature("linear", "lin-secret", headers, body, now=now).valid is ok


# -- second pass: Persona, Buildkite, Gitea, Auth0, Webflow -------------------------------------
def test_persona_signature_with_two_sets_while_a_secret_rotates(lab):
    """Persona's docs: while a secret rotates, Persona-Signature holds two space-separated
    ``t=..,v1=..`` sets, one per secret; either secret verifies. The header was split on "," only:
    the first set's signature never decoded."""
    body = b'{"data": {"id": "evt_1", "attributes": {"name": "inquiry.completed"}}}'
    t = str(int(time.time()))

    def v1(secret: str) -> str:
        return hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()

    header = f"t={t},v1={v1('new-secret')} t={t},v1={v1('old-secret')}"
    for n, secret in enumerate(("new-secret", "old-secret")):
        bin = f"persona-{n}"
        lab.secret(bin, secret, provider="persona")
        post(lab.url_for(bin), body, {"Persona-Signature": header, "Content-Type": "application/json"})
        cap = stored(lab, bin)
        assert cap.verified is True, cap.verify_reason
        assert cap.verify_reason == f"ok (set {n + 1} of 2)"
    v = verify_signature("persona", "third-secret", {"Persona-Signature": header}, body)
    assert not v.valid and "mismatch" in v.reason


@pytest.mark.parametrize(("token", "ok"), [("bk-token-123", True), ("bk-token-12", False),
                                           ("", False), ("BK-TOKEN-123", False)])
def test_buildkite_token_mode(lab, token, ok):
    """Buildkite sends either X-Buildkite-Signature or, in token mode, X-Buildkite-Token with
    the token as it is; token-mode deliveries all failed with 'missing header'."""
    bin = f"bk-{abs(hash(token)) % 10_000}"
    lab.secret(bin, "bk-token-123", provider="buildkite")
    post(lab.url_for(bin), b'{"event": "build.finished"}',
         {"X-Buildkite-Event": "build.finished", "X-Buildkite-Token": token,
          "Content-Type": "application/json"})
    cap = stored(lab, bin)
    assert (cap.provider, cap.verified) == ("buildkite", ok), cap.verify_reason
    if not ok:
        assert "X-Buildkite-Token does not match" in cap.verify_reason


def test_a_real_gitea_delivery_is_gitea_not_github(lab):
    """Gitea (and Forgejo) send X-GitHub-Event and X-GitHub-Delivery beside their own headers
    (its docs' example): detection said github and X-Gitea-Signature was never checked."""
    body = b'{"ref": "refs/heads/main", "commits": []}'
    sig = hmac.new(b"gitea-secret", body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-GitHub-Delivery": "d-1",
               "X-GitHub-Event": "push", "X-GitHub-Event-Type": "push", "X-Gitea-Delivery": "d-1",
               "X-Gitea-Event": "push", "X-Gitea-Event-Type": "push", "X-Gitea-Signature": sig,
               "X-Gogs-Delivery": "d-1", "X-Gogs-Event": "push", "X-Gogs-Signature": sig,
               "X-Hub-Signature": "sha1=" + hmac.new(b"gitea-secret", body, hashlib.sha1).hexdigest(),
               "X-Hub-Signature-256": "sha256=" + sig}
    lab.secret("gitea-real", "gitea-secret")  # (no provider named: detection decides)
    post(lab.url_for("gitea-real"), body, headers)
    cap = stored(lab, "gitea-real")
    assert (cap.provider, cap.event_type, cap.verified) == ("gitea", "push", True), cap.verify_reason


_AUTH0_EVENT = {"log_id": "900200", "data": {"type": "s", "date": "2026-01-01T00:00:00Z"}}


@pytest.mark.parametrize("kind, body", [
    ("array", json.dumps([_AUTH0_EVENT]).encode()),
    ("object", json.dumps(_AUTH0_EVENT).encode()),
    ("lines", (json.dumps(_AUTH0_EVENT) + "\n" + json.dumps({**_AUTH0_EVENT, "log_id": "2"})
               + "\n").encode()),  # (the stream's default format)
])
def test_auth0_log_stream_formats_are_detected(lab, kind, body):
    """Auth0's custom log streams send JSON Lines (the default), a JSON array or a JSON object
    of log events; hooklab expected {"logs": [...]}, which Auth0 never sends."""
    bin = "auth0-" + kind
    post(lab.url_for(bin), body,
         {"Content-Type": "application/json", "Authorization": "Bearer stream-token"})
    cap = stored(lab, bin)
    assert (cap.provider, cap.event_type, cap.delivery_id) == ("auth0", "s", "900200")


def test_webflow_refuses_only_old_timestamps():
    body = b'{"triggerType": "form_submission"}'
    now = 1_800_000_000
    future = sign_request("webflow", "wf-secret", body=body, timestamp=now + 900).headers
    assert verify_signature("webflow", "wf-secret", future, body, now=now).valid
    old = sign_request("webflow", "wf-secret", body=body, timestamp=now - 900).headers
    assert not verify_signature("webflow", "wf-secret", old, body, now=now).valid


@pytest.mark.parametrize(("provider", "event", "signature_header"), [
    ("x", "crc", "x-twitter-webhooks-signature"),
    ("dropbox", "challenge", "X-Dropbox-Signature"),
    ("onfleet", "check", "X-Onfleet-Signature"),
    ("nylas", "challenge", "X-Nylas-Signature"),
    ("meta", "subscribe", "X-Hub-Signature-256"),
    ("strava", "subscribe", "X-Hub-Signature"),
    ("trello", "head", "X-Trello-Webhook"),
])
def test_endpoint_checks_are_sent_unsigned_as_their_senders_send_them(lab, provider, event,
                                                                      signature_header):
    """``hooklab.send(..., event="check", secret=...)`` signed Onfleet's check (and the other
    unsigned endpoint checks) with the delivery signature the real sender never puts there."""
    bin = f"check-{provider}"
    hooklab.send(lab.url_for(bin), provider=provider, event=event, secret="a-secret-123456")
    cap = stored(lab, bin)
    assert cap.header(signature_header) is None, cap.headers
    assert cap.method in ("GET", "HEAD")


def test_x_crc_is_answered_only_for_a_bin_registered_for_x(lab):
    """(fifth attacker) A bin whose secret was given without provider= answered the CRC with
    HMAC-SHA256(secret, token): GitHub's signature of a body "12345" (its hex) and Stripe's of
    "t.null", to anyone who asked; such forged deliveries were stored verified."""
    lab.secret("gh-any", "shared-secret")  # (no provider: detection decides)
    status, body = crc(lab, "gh-any", "9b4507b3-9040-4669-9ca3-6b94edb50553")
    assert b"response_token" not in body
    cap = stored(lab, "gh-any")
    assert "not X's" in (cap.handshake or ""), cap.handshake
    lab.secret("gh-named", "shared-secret", provider="github")
    status, body = crc(lab, "gh-named", "9b4507b3-9040-4669-9ca3-6b94edb50553")
    assert b"response_token" not in body


def test_persona_header_with_many_sets_is_refused_without_an_hmac_each():
    """(review) Each set cost an HMAC of the body on the store's writer thread: 6000 sets in a
    60 KB header held an unrelated webhook 17 s. Persona sends two at most."""
    body = b"x" * 1_000_000
    header = " ".join(f"t={1800000000 + i},v1={'0' * 64}" for i in range(5000))
    start = time.perf_counter()
    v = verify_signature("persona", "s", {"Persona-Signature": header}, body, now=1800000000)
    assert time.perf_counter() - start < 0.5  # (refused before any HMAC: 5000 took seconds)
    assert not v.valid and "5000 signature sets" in v.reason
    three = " ".join(["t=1800000000,v1=" + "0" * 64] * 3)
    assert "3 signature sets" in verify_signature("persona", "s", {"Persona-Signature": three},
                                                  b"{}", now=1800000000).reason


def test_trello_body_that_is_not_utf8_is_refused():
    """(fifth attacker) Accepting both forms made the raw bytes of one genuine delivery's
    "binary" form (``caf\xe9``, not UTF-8) verify too: a body Trello never sent."""
    url = "https://example.com/trello"
    text = '{"name": "café"}'
    sig = base64.b64encode(hmac.new(b"k", node_binary(text + url), hashlib.sha1).digest()).decode()
    assert verify_signature("trello", "k", {"X-Trello-Webhook": sig}, text.encode(), url=url).valid
    forged = verify_signature("trello", "k", {"X-Trello-Webhook": sig}, text.encode("latin-1"),
                              url=url)
    assert not forged.valid and "mismatch: the body is not UTF-8" in forged.reason


# -- documented deliveries: provider, event type, delivery id, duplicate ------------------------
def _basic(credentials: str) -> str:
    return "Basic " + base64.b64encode(credentials.encode()).decode()


_PD_AUTH = {"Content-Type": "application/json", "Authorization": _basic("pd-user:pd-pass-123")}


def _pd_v1(action: str, obj: str, oid: int, ts_micro: int, *, retry: int = 0,
           current: object = "state") -> bytes:
    """A v1 delivery as Pipedrive's v1 guide shows it (guide-for-webhooks, "Webhook format"):
    ``meta.id`` is "ID of the object", ``timestamp_micro`` a 16 character timestamp, ``retry``
    0-3 outside ``meta``; ``current`` is null for ``deleted``."""
    state = {"id": oid, "title": "Sample Org deal", "status": "open"}
    return json.dumps({
        "v": 1, "matches_filters": {"current": [], "previous": []},
        "meta": {"v": 1, "action": action, "object": obj, "change_source": "app", "id": oid,
                 "company_id": 8087566, "user_id": 12415231, "host": "company.pipedrive.com",
                 "timestamp": ts_micro // 1_000_000, "timestamp_micro": ts_micro,
                 "permitted_user_ids": [], "trans_pending": False, "is_bulk_update": False,
                 "pipedrive_service_name": False,
                 "matches_filters": {"current": [], "previous": []}, "webhook_id": 4710827},
        "retry": retry, "current": state if current == "state" else current,
        "previous": state if action != "added" else None, "event": f"{action}.{obj}"}).encode()


def _pd_v2(action: str, entity: str, entity_id: str, event_id: str, ts: str, *,
           attempt: int = 1) -> bytes:
    """A v2 delivery as the v2 migration guide's examples show it ("Webhooks v2 examples":
    ``meta.id`` is a UUID of its own per event, ``entity_id`` the object's id; ``data`` is
    null for ``delete``; ``attempt`` 1-4 inside ``meta``)."""
    state = {"id": int(entity_id), "subject": "Call with friends", "type": "meeting"}
    return json.dumps({
        "data": None if action == "delete" else state,
        "previous": None if action == "create" else {"subject": "Call"},
        "meta": {"action": action, "company_id": "8087566",
                 "correlation_id": "030c898c-3b97-48b7-983b-054681d07f9a", "entity_id": entity_id,
                 "entity": entity, "id": event_id, "is_bulk_edit": False, "timestamp": ts,
                 "type": "general", "user_id": "12415231", "version": "2.0",
                 "webhook_id": "4710827", "webhook_owner_id": "12094821", "change_source": "app",
                 "attempt": attempt, "host": "pd-us.pipedrive.com"}}).encode()


def _gitlab(kind: str, hook: str, event_uuid: str, idempotency_key: str | None) -> tuple:
    headers = {"Content-Type": "application/json", "User-Agent": "GitLab/17.5.0",
               "X-Gitlab-Event": hook, "X-Gitlab-Token": "gl-token-123456",
               "X-Gitlab-Instance": "https://gitlab.example.com",
               "X-Gitlab-Webhook-UUID": "02affd2d-2cba-4033-917d-ec22d5dc4b38",
               "X-Gitlab-Event-UUID": event_uuid}
    if idempotency_key is not None:  # (GitLab 17.4 and later)
        headers["Idempotency-Key"] = idempotency_key
    return headers, json.dumps({"object_kind": kind}).encode()


# Event Grid's CloudEvents 1.0 sample (learn.microsoft.com/azure/event-grid/cloud-event-schema)
_CE_BLOB = {"specversion": "1.0", "type": "Microsoft.Storage.BlobCreated",
            "source": "/subscriptions/{subscription-id}/resourceGroups/{resource-group}/providers/"
                      "Microsoft.Storage/storageAccounts/{storage-account}",
            "id": "9aeb0fdf-c01e-0131-0922-9eb54906e209", "time": "2019-11-18T15:13:39.4589254Z",
            "subject": "blobServices/default/containers/{storage-container}/blobs/{new-file}",
            "data": {"api": "PutBlockList", "contentType": "image/png", "blobType": "BlockBlob"}}
# ... and its CloudEvents event of "Delivery event formats" (event-grid/delivery-and-retry)
_CE_FOO = {"id": "caee971c-3ca0-4254-8f99-1395b394588e", "source": "mysource",
           "dataversion": "1.0", "subject": "mySubject", "type": "fooEventType",
           "datacontenttype": "application/json", "data": {"prop1": "value1", "prop2": 5}}
# ... and its Event Grid schema event (same page)
_EG_BLOB = {"id": "93902694-901e-008f-6f95-7153a806873c", "eventTime": "2020-08-13T17:18:13.1647262Z",
            "eventType": "Microsoft.Storage.BlobCreated", "dataVersion": "", "metadataVersion": "1",
            "topic": "/subscriptions/0/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/s",
            "subject": "/blobServices/default/containers/deadletter/blobs/myBlobFile.txt",
            "data": {"api": "PutBlob", "contentType": "text/plain", "blobType": "BlockBlob"}}


def _eventgrid(body: object, content_type: str) -> tuple:
    # (the headers of both schemas are the same but for content-type: cloud-event-schema)
    return ({"Content-Type": content_type, "aeg-event-type": "Notification",
             "aeg-subscription-name": "HOOKLAB", "aeg-delivery-count": "0",
             "Authorization": "eg-static-token-123"}, json.dumps(body).encode())


_CE = "application/cloudevents+json; charset=utf-8"
_CE_BATCH = "application/cloudevents-batch+json; charset=utf-8"
_T1, _T2 = 1_669_295_924_461_000, 1_669_296_093_375_000  # (timestamp_micro, 16 characters)
_RETRY_KEY, _CHAIN = "f5e5f430-f57b-4e6e-9fac-d9128cd7232f", "13792a34-cac6-4fda-95a8-c58e00a3954e"

# (case, (provider, secret) the bin is registered with or None, deliveries sent in order,
#  expected (provider, event_type, delivery_id, duplicate, verified) of each capture)
DOCUMENTED_DELIVERIES = [
    # Pipedrive v1 (pipedrive.readme.io/docs/guide-for-webhooks): meta.id is the object's id,
    # so two updates of deal 49 differ only in timestamp_micro; a retry changes only `retry`
    ("pipedrive v1: two updates of one deal, then a retry", None, [
        (_PD_AUTH, _pd_v1("updated", "deal", 49, _T1)),
        (_PD_AUTH, _pd_v1("updated", "deal", 49, _T2)),
        (_PD_AUTH, _pd_v1("updated", "deal", 49, _T2, retry=1)),
    ], [("pipedrive", "updated.deal", f"{_T1}.4710827.updated.deal.49", False, None),
        ("pipedrive", "updated.deal", f"{_T2}.4710827.updated.deal.49", False, None),
        ("pipedrive", "updated.deal", f"{_T2}.4710827.updated.deal.49", True, None)]),
    ("pipedrive v1: deleted (current is null)", None, [
        (_PD_AUTH, _pd_v1("deleted", "deal", 50, _T1, current=None)),
    ], [("pipedrive", "deleted.deal", f"{_T1}.4710827.deleted.deal.50", False, None)]),
    # Pipedrive v2, the default since 2025-03 (pipedrive.readme.io/docs/webhooks-v2-migration-guide:
    # "current" is now "data", meta.object is now meta.entity, actions create/change/delete;
    # guide-for-webhooks-v2: meta.id is the "ID of the event triggering the webhook")
    ("pipedrive v2: create, two changes of one activity, a retry, delete", None, [
        (_PD_AUTH, _pd_v2("create", "activity", "2", "bbba59e9-1d1f-4794-9472-72540d421386",
                          "2022-11-24T15:25:44.461Z")),
        (_PD_AUTH, _pd_v2("change", "activity", "2", "7a40ac1f-debd-4d22-b8d6-d9a687a96ec4",
                          "2022-11-24T15:28:13.375Z")),
        (_PD_AUTH, _pd_v2("change", "activity", "2", "3f1c3c0e-6d0a-4f55-9a55-0e4b7d3b6a11",
                          "2022-11-24T15:28:40.102Z")),
        (_PD_AUTH, _pd_v2("change", "activity", "2", "3f1c3c0e-6d0a-4f55-9a55-0e4b7d3b6a11",
                          "2022-11-24T15:28:40.102Z", attempt=2)),
        (_PD_AUTH, _pd_v2("delete", "activity", "2", "df8b0894-c23e-40ac-a49f-07a4c8e66213",
                          "2022-11-24T15:29:10.654Z")),
    ], [("pipedrive", "create.activity", "bbba59e9-1d1f-4794-9472-72540d421386", False, None),
        ("pipedrive", "change.activity", "7a40ac1f-debd-4d22-b8d6-d9a687a96ec4", False, None),
        ("pipedrive", "change.activity", "3f1c3c0e-6d0a-4f55-9a55-0e4b7d3b6a11", False, None),
        ("pipedrive", "change.activity", "3f1c3c0e-6d0a-4f55-9a55-0e4b7d3b6a11", True, None),
        ("pipedrive", "delete.activity", "df8b0894-c23e-40ac-a49f-07a4c8e66213", False, None)]),
    ("pipedrive v2 on a registered bin", ("pipedrive", "pd-user:pd-pass-123"), [
        (_PD_AUTH, _pd_v2("create", "deal", "8", "71825ee0-0054-4267-b5fd-d28b7a414212",
                          "2022-11-24T13:18:56.089Z")),
    ], [("pipedrive", "create.deal", "71825ee0-0054-4267-b5fd-d28b7a414212", False, True)]),
    # GitLab (docs.gitlab.com/user/project/integrations/webhooks/, delivery headers):
    # Idempotency-Key "Unique ID consistent across webhook retries" (17.4+); X-Gitlab-Event-UUID
    # "Recursive webhooks (triggered by earlier webhooks) share the same value"
    ("gitlab: a delivery retried", ("gitlab", "gl-token-123456"), [
        _gitlab("push", "Push Hook", "5b0d4bb4-6b54-4c2c-8a0e-0c3f3c3b1f01", _RETRY_KEY),
        _gitlab("push", "Push Hook", "5b0d4bb4-6b54-4c2c-8a0e-0c3f3c3b1f01", _RETRY_KEY),
    ], [("gitlab", "Push Hook", _RETRY_KEY, False, True),
        ("gitlab", "Push Hook", _RETRY_KEY, True, True)]),
    ("gitlab: a recursive chain shares X-Gitlab-Event-UUID", ("gitlab", "gl-token-123456"), [
        _gitlab("push", "Push Hook", _CHAIN, "0f2f8e0a-1c7b-4a55-b0a4-6a0a5b7c9d01"),
        _gitlab("pipeline", "Pipeline Hook", _CHAIN, "0f2f8e0a-1c7b-4a55-b0a4-6a0a5b7c9d02"),
    ], [("gitlab", "Push Hook", "0f2f8e0a-1c7b-4a55-b0a4-6a0a5b7c9d01", False, True),
        ("gitlab", "Pipeline Hook", "0f2f8e0a-1c7b-4a55-b0a4-6a0a5b7c9d02", False, True)]),
    ("gitlab before 17.4: no Idempotency-Key", ("gitlab", "gl-token-123456"), [
        _gitlab("push", "Push Hook", "8c1e2f60-9d4b-4e0a-a1d2-3b4c5d6e7f80", None),
    ], [("gitlab", "Push Hook", "8c1e2f60-9d4b-4e0a-a1d2-3b4c5d6e7f80", False, True)]),
    # Azure Event Grid, CloudEvents 1.0 output (learn.microsoft.com/azure/event-grid/
    # cloud-event-schema): one event is an object with `type` and `id`; batched, an array
    ("eventgrid cloudevents: one event", ("eventgrid", "eg-static-token-123"), [
        _eventgrid(_CE_BLOB, _CE),
    ], [("eventgrid", "Microsoft.Storage.BlobCreated", _CE_BLOB["id"], False, True)]),
    ("eventgrid cloudevents: a batch", ("eventgrid", "eg-static-token-123"), [
        _eventgrid([_CE_FOO, _CE_BLOB], _CE_BATCH),
    ], [("eventgrid", "fooEventType", _CE_FOO["id"], False, True)]),
    ("eventgrid schema: an array (as before)", ("eventgrid", "eg-static-token-123"), [
        _eventgrid([_EG_BLOB], "application/json; charset=utf-8"),
    ], [("eventgrid", "Microsoft.Storage.BlobCreated", _EG_BLOB["id"], False, True)]),
]


@pytest.mark.parametrize(("case", "registered", "deliveries", "expected"), DOCUMENTED_DELIVERIES,
                         ids=[c[0] for c in DOCUMENTED_DELIVERIES])
def test_documented_deliveries_are_named_and_deduplicated_as_documented(case, registered,
                                                                       deliveries, expected):
    """Each case on a lab of its own (duplicates are per provider and delivery id, lab-wide)."""
    lab = hooklab.HookLab(port=0, db=":memory:")
    lab.start()
    try:
        if registered:
            lab.secret("docs", registered[1], provider=registered[0])
        for headers, body in deliveries:
            assert post(lab.url_for("docs"), body, headers)[0] == 200
        caps = lab.wait(len(deliveries), bin="docs", timeout=10)
        got = [(c.provider, c.event_type, c.delivery_id, c.duplicate, c.verified) for c in caps]
        assert got == expected, case
    finally:
        lab.stop()
