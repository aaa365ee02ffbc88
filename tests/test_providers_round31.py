"""Round 31 of provider checks (an outside tester's less common senders), met as a user meets
them: ``hooklab.send`` and raw deliveries over real sockets to a lab on 127.0.0.1 with a
SQLite file, signatures computed here from each provider's documented formula.

- ``payload=`` on a form sample merges into the JSON a form field holds (Mandrill's
  ``mandrill_events``: "a JSON-encoded array", Mandrill's webhook format) and into Braintree's
  notification (``bt_payload``: base64 of its XML); no form field is ever a Python repr.
- monday.com: "Check that the aud field matches your integration app's endpoint"
  (developer.monday.com/apps/docs/authorization-header).
- TikTok's delivery id has the event type (two events of one user in one second differ);
  HubSpot's is not the bare ``eventId``, which its reference says "is not guaranteed to be
  unique" (a retry, ``attemptNumber`` 1, is still a duplicate).
- Gitea sends X-Gogs-Signature, X-Hub-Signature(-256) beside X-Gitea-Signature, each empty
  without a secret (services/webhook/deliver.go); Heroku writes the bare resource; GitLab's
  reason for a whsec_ signing token names the webhook-signature; Bitbucket Data Center's
  X-Request-Id; WooCommerce's creation ping (WC_Webhook::deliver_ping).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from _jwt import hs256_jwt

import hooklab


def _post(lab, path: str, body: bytes, headers: dict[str, str]):
    conn = http.client.HTTPConnection("127.0.0.1", lab.bound_port, timeout=30)
    try:
        conn.request("POST", path, body, headers)
        rid = json.loads(conn.getresponse().read())["id"]
    finally:
        conn.close()
    return lab.get(rid)


def _form(body: bytes) -> dict[str, str]:
    fields = parse_qs(body.decode("utf-8"), keep_blank_values=True)
    return {k: v[0] for k, v in fields.items()}


# -- 1. payload= into a form sample ------------------------------------------------------------
def _mandrill_sig(key: str, url: str, fields: dict[str, str]) -> str:
    # Mandrill: base64 HMAC-SHA1 of the URL then each POST key and value, keys sorted
    msg = url + "".join(k + fields[k] for k in sorted(fields))
    return base64.b64encode(hmac.new(key.encode(), msg.encode(), hashlib.sha1).digest()).decode()


@pytest.mark.parametrize("payload,events,event_type", [
    ({"mandrill_events": [{"event": "open", "_id": "abc", "ts": 1700000000}]},
     [{"event": "open", "_id": "abc", "ts": 1700000000}], "open"),
    # JSON given as text: sent as it is
    ({"mandrill_events": '[{"event":"click","ts":1}]'}, [{"event": "click", "ts": 1}], "click"),
    # non-ASCII and quotes survive as JSON, not as a repr
    ({"mandrill_events": [{"event": "reject", "msg": {"subject": "caf\u00e9 \"q\" 'a'"}}]},
     [{"event": "reject", "msg": {"subject": "caf\u00e9 \"q\" 'a'"}}], "reject"),
])
def test_mandrill_payload_merges_into_its_json_field(file_lab, payload, events, event_type):
    key, url = "mandrill-key-123", file_lab.url_for("m")
    file_lab.secret("m", key, provider="mandrill")
    hooklab.send(url, provider="mandrill", secret=key, payload=payload)
    c = file_lab.wait(1, timeout=10, bin="m")[-1]
    fields = _form(c.body)
    assert json.loads(fields["mandrill_events"]) == events
    assert c.event_type == event_type and c.provider == "mandrill"
    assert c.header("X-Mandrill-Signature") == _mandrill_sig(key, url, fields)
    assert c.verified is True


def test_mandrill_sample_without_payload_is_still_a_json_array(file_lab):
    hooklab.send(file_lab.url_for("m0"), provider="mandrill", secret="k")
    c = file_lab.wait(1, timeout=10, bin="m0")[-1]
    events = json.loads(_form(c.body)["mandrill_events"])
    assert isinstance(events, list) and events[0]["event"] == "send" == c.event_type


def _bt_signed(secret: str, form: dict[str, str]) -> bool:
    # Braintree: bt_signature "public|hex(HMAC-SHA1(key=SHA1(private), bt_payload))"
    public, private = secret.split(":", 1)
    key = hashlib.sha1(private.encode()).digest()
    want = hmac.new(key, form["bt_payload"].encode(), hashlib.sha1).hexdigest()
    return f"{public}|{want}" in form["bt_signature"].split("&")


def _bt_xml(form: dict[str, str]) -> str:
    return base64.b64decode(form["bt_payload"]).decode()


@pytest.mark.parametrize("payload,in_xml,event_type", [
    ({"kind": "check"}, ["<kind>check</kind>", "<subscription>"], "check"),
    ({"kind": "check", "subject": {"check": True}},
     ["<kind>check</kind>", '<check type="boolean">true</check>'], "check"),
    ({"subject": {"subscription": {"status": "Canceled", "balance": None}}},
     ["<status>Canceled</status>", '<balance nil="true"/>',
      "<kind>subscription_charged_successfully</kind>"], "subscription_charged_successfully"),
    # base64 given as text: sent as it is
    ({"bt_payload": base64.b64encode(b"<notification><kind>disbursement</kind>"
                                     b"</notification>").decode()},
     ["<kind>disbursement</kind>"], "disbursement"),
])
def test_braintree_payload_merges_into_the_notification(file_lab, payload, in_xml, event_type):
    secret = "pub:privkey12345"
    file_lab.secret("bt", secret, provider="braintree")
    hooklab.send(file_lab.url_for("bt"), provider="braintree", secret=secret, payload=payload)
    c = file_lab.wait(1, timeout=10, bin="bt")[-1]
    form = _form(c.body)
    xml = _bt_xml(form)
    assert xml.startswith("<notification>") and all(part in xml for part in in_xml), xml
    assert _bt_signed(secret, form)
    assert (c.event_type, c.verified) == (event_type, True)


@pytest.mark.parametrize("provider,payload,words", [
    ("braintree", {"bt_payload": {"kind": "check"}}, "bt_payload is base64"),
    ("braintree", {"bt_payload": ["x"]}, "bt_payload is base64"),
    ("braintree", {"bt_payload": 5}, "bt_payload is base64"),
    ("braintree", {"subject": {"bad tag": 1}}, "XML tag"),
    ("twilio", {"Body": {"text": "hi"}}, "'Body' is text"),
    ("plivo", {"To": ["1", "2"]}, "'To' is text"),
])
def test_a_form_field_never_goes_out_as_a_repr(file_lab, provider, payload, words):
    with pytest.raises(ValueError, match=words):
        hooklab.send(file_lab.url_for("refused"), provider=provider, secret="pub:priv",
                     payload=payload)
    time.sleep(0.2)
    assert [c for c in file_lab.captures if c.bin == "refused"] == []


# -- 2. monday.com's aud -----------------------------------------------------------------------
MONDAY_KEY = "monday-signing-secret-0123456789abcdef"
MONDAY_BODY = json.dumps({"event": {"type": "create_item", "triggerUuid": "tu-1",
                                    "boardId": 1, "pulseId": 2}}).encode()


@pytest.mark.parametrize("aud,ok", [
    ("{url}", True),
    (None, True),  # (no aud claim: nothing to compare)
    ("https://other-app.example/monday/endpoint", False),
    ("{url}2", False),  # another bin's path
    ("{url}/", False),
    ("http://127.0.0.2:{port}/mon", False),
    ("https://127.0.0.1:{port}/mon", False),
    (["{url}"], False),  # (monday's aud is the endpoint URL, a string)
    (7, False),
    ("", False),
])
def test_monday_aud_must_name_the_endpoint_called(file_lab, aud, ok):
    file_lab.secret("mon", MONDAY_KEY, provider="monday")
    url, port = file_lab.url_for("mon"), file_lab.bound_port

    def fill(v):
        if isinstance(v, str):
            return v.format(url=url, port=port)
        return [fill(x) for x in v] if isinstance(v, list) else v

    now = int(time.time())
    claims = {"accountId": 1, "userId": 2, "iat": now, "exp": now + 300}
    if aud is not None:
        claims["aud"] = fill(aud)
    c = _post(file_lab, "/mon", MONDAY_BODY, {"Content-Type": "application/json",
                                              "Authorization": hs256_jwt(MONDAY_KEY, claims)})
    assert c.verified is ok, c.verify_reason
    if ok:
        assert c.verify_reason == "ok"
    else:
        assert c.verify_reason.startswith("JWT aud is ") and url in c.verify_reason


def test_monday_send_names_the_url_it_sends_to_and_verifies(file_lab):
    file_lab.secret("mon2", MONDAY_KEY, provider="monday")
    url = file_lab.url_for("mon2")
    hooklab.send(url, provider="monday", secret=MONDAY_KEY)
    c = file_lab.wait(1, timeout=10, bin="mon2")[-1]
    claims = json.loads(base64.urlsafe_b64decode(c.header("Authorization").split(".")[1] + "=="))
    assert claims["aud"] == url and (c.verified, c.verify_reason) == (True, "ok")
    # checked elsewhere without the URL: the aud is not compared, and the reason says so
    v = hooklab.verify_signature("monday", MONDAY_KEY, c.headers, c.body)
    assert v.valid and "aud not checked" in v.reason
    v = hooklab.verify_signature("monday", MONDAY_KEY, c.headers, c.body,
                                 url="https://tunnel.example/mon2")
    assert not v.valid and "https://tunnel.example/mon2" in v.reason


def test_monday_aud_behind_a_default_port(file_lab):
    now = int(time.time())
    tok = hs256_jwt(MONDAY_KEY, {"iat": now, "exp": now + 300, "aud": "https://app.example/hook"})
    for url, ok in (("https://app.example/hook", True), ("https://app.example:443/hook", True),
                    ("http://app.example/hook", False), ("https://app.example/hook?x=1", False)):
        v = hooklab.verify_signature("monday", MONDAY_KEY, {"Authorization": tok}, MONDAY_BODY,
                                     url=url)
        assert v.valid is ok, (url, v.reason)


# -- 3. delivery ids: TikTok, HubSpot --------------------------------------------------------------
def test_tiktok_two_events_of_one_user_in_one_second_are_two_deliveries(file_lab):
    secret = "tiktok-client-secret-1"
    file_lab.secret("tt", secret, provider="tiktok")
    now = int(time.time())
    seen = []
    for ev in ("video.upload.failed", "authorization.removed", "video.upload.failed"):
        body = json.dumps({"client_key": "awxyz", "event": ev, "create_time": now,
                           "user_openid": "act.example12345", "content": "{}"}).encode()
        sig = hmac.new(secret.encode(), f"{now}.".encode() + body, hashlib.sha256).hexdigest()
        c = _post(file_lab, "/tt", body, {"Content-Type": "application/json",
                                          "Tiktok-Signature": f"t={now},s={sig}"})
        seen.append((c.delivery_id, c.duplicate, c.verified))
    assert seen == [(f"video.upload.failed.act.example12345.{now}", False, True),
                    (f"authorization.removed.act.example12345.{now}", False, True),
                    (f"video.upload.failed.act.example12345.{now}", True, True)]  # a retry


def test_hubspot_shared_event_id_is_not_a_retry_but_a_retry_is(file_lab):
    secret = "hubspot-client-secret-1"
    file_lab.secret("hs", secret, provider="hubspot")
    url = file_lab.url_for("hs")
    at = int(time.time() * 1000)
    a = {"eventId": 1000, "subscriptionId": 11, "portalId": 62515, "occurredAt": at,
         "subscriptionType": "contact.propertyChange", "propertyName": "email", "objectId": 1,
         "attemptNumber": 0}
    b = {"eventId": 1000, "subscriptionId": 12, "portalId": 62515, "occurredAt": at + 5,
         "subscriptionType": "deal.creation", "objectId": 777, "attemptNumber": 0}
    c_ = {**a, "portalId": 99}  # the same event id in another account
    retry = {**a, "attemptNumber": 1}
    got = []
    for ev in (a, b, c_, retry):
        body = json.dumps([ev]).encode()
        ts = str(int(time.time() * 1000))
        sig = base64.b64encode(hmac.new(secret.encode(), b"POST" + url.encode() + body
                                        + ts.encode(), hashlib.sha256).digest()).decode()
        cap = _post(file_lab, urlsplit(url).path, body, {
            "Content-Type": "application/json", "X-HubSpot-Signature-v3": sig,
            "X-HubSpot-Request-Timestamp": ts})
        assert cap.verified is True, cap.verify_reason
        got.append((cap.delivery_id, cap.duplicate))
    assert got == [(f"1000.11.62515.{at}", False), (f"1000.12.62515.{at + 5}", False),
                   (f"1000.11.99.{at}", False), (f"1000.11.62515.{at}", True)]


# -- 4. Gitea / Forgejo: every signature header it sends; an empty one said as such ----------------
def test_gitea_sample_carries_the_headers_gitea_sends(file_lab):
    secret = "gitea-secret-1"
    file_lab.secret("g", secret, provider="gitea")
    hooklab.send(file_lab.url_for("g"), provider="gitea", secret=secret)
    c = file_lab.wait(1, timeout=10, bin="g")[-1]
    # services/webhook/deliver.go: HMAC-SHA256 and HMAC-SHA1 hex of the body, keyed by the secret
    h256 = hmac.new(secret.encode(), c.body, hashlib.sha256).hexdigest()
    h1 = hmac.new(secret.encode(), c.body, hashlib.sha1).hexdigest()
    assert [c.header(n) for n in ("X-Gitea-Signature", "X-Gogs-Signature", "X-Hub-Signature",
                                  "X-Hub-Signature-256")] == [h256, h256, "sha1=" + h1,
                                                              "sha256=" + h256]
    assert {c.header(n) for n in ("X-Gitea-Event", "X-Gitea-Event-Type", "X-Gogs-Event",
                                  "X-Gogs-Event-Type", "X-GitHub-Event",
                                  "X-GitHub-Event-Type")} == {"push"}
    assert (c.provider, c.event_type, c.verified) == ("gitea", "push", True)


@pytest.mark.parametrize("provider,headers,reason", [
    # what Gitea sends for a webhook without a secret: every signature header empty
    ("gitea", {"X-Gitea-Signature": "", "X-Gogs-Signature": "", "X-Hub-Signature": "sha1=",
               "X-Hub-Signature-256": "sha256="}, "X-Gitea-Signature is empty"),
    ("gitea", {"X-Gitea-Signature": "   "}, "X-Gitea-Signature is empty"),
    ("github", {"X-Hub-Signature-256": "sha256="}, "X-Hub-Signature-256 is empty"),
    ("gitea", {"X-Gitea-Signature": "00" * 32}, "signature mismatch"),
    ("gitea", {}, "missing header X-Gitea-Signature"),
])
def test_an_empty_signature_is_said_to_be_empty(file_lab, provider, headers, reason):
    file_lab.secret("g2", "gitea-secret-1", provider=provider)
    body = json.dumps({"ref": "refs/heads/main", "repository": {"full_name": "o/r"}}).encode()
    names = {"X-Gitea-Delivery": "d1", "X-Gitea-Event": "push"} if provider == "gitea" else {}
    c = _post(file_lab, "/g2", body, {"Content-Type": "application/json", **names,
                                      "X-GitHub-Event": "push", "X-GitHub-Delivery": "d1",
                                      **headers})
    assert c.verified is False and c.verify_reason.startswith(reason), c.verify_reason


# -- 5. Heroku: the sample writes the bare resource, as deliveries do -------------------------------
def test_heroku_sample_writes_the_bare_resource(file_lab):
    secret = "heroku-secret-1"
    file_lab.secret("h", secret, provider="heroku")
    hooklab.send(file_lab.url_for("h"), provider="heroku", secret=secret)
    c = file_lab.wait(1, timeout=10, bin="h")[-1]
    data = c.json()
    assert (data["resource"], data["action"]) == ("release", "create")
    assert data["webhook_metadata"]["event"] == {"id": data["id"], "include": "api:release"}
    want = base64.b64encode(hmac.new(secret.encode(), c.body, hashlib.sha256).digest()).decode()
    assert c.header("Heroku-Webhook-Hmac-SHA256") == want
    assert (c.event_type, c.verified) == ("release.create", True)


# -- 6. GitLab: a signing token that does not match is said of the webhook-signature ---------------
def _gitlab_headers(key: bytes, body: bytes, token: str) -> dict[str, str]:
    ts, mid = str(int(time.time())), "msg_1"
    sig = base64.b64encode(hmac.new(key, f"{mid}.{ts}.".encode() + body,
                                    hashlib.sha256).digest()).decode()
    return {"Content-Type": "application/json", "X-Gitlab-Event": "Push Hook",
            "Idempotency-Key": "ik1", "X-Gitlab-Token": token, "webhook-id": mid,
            "webhook-timestamp": ts, "webhook-signature": "v1," + sig}


REAL_KEY = b"gitlab-signing-key-0123456789ab"


@pytest.mark.parametrize("secret,ok,said", [
    ("whsec_" + base64.b64encode(REAL_KEY).decode(), True, "webhook-signature"),
    ("plain-secret-token-1", True, None),
    ("whsec_" + base64.b64encode(b"x" * 31).decode(), False, "webhook-signature"),
    ("  whsec_" + base64.b64encode(b"y" * 32).decode(), False, "webhook-signature"),
    ("another-plain-token", False, "X-Gitlab-Token does not match"),
])
def test_gitlab_both_credentials_reason_names_the_one_given(file_lab, secret, ok, said):
    body = b'{"object_kind":"push","event_name":"push","ref":"refs/heads/main"}'
    file_lab.secret("gl", secret, provider="gitlab")
    c = _post(file_lab, "/gl", body, _gitlab_headers(REAL_KEY, body, "plain-secret-token-1"))
    assert c.verified is ok, c.verify_reason
    if said:
        assert said in c.verify_reason
    if not ok and said == "webhook-signature":
        assert "webhook-signature match the signing token: signature mismatch" \
            in c.verify_reason


# -- 7. Bitbucket Data Center's X-Request-Id; WooCommerce's creation ping ---------------------------
def test_bitbucket_data_center_request_id_is_its_delivery_id(file_lab):
    secret = "bb-dc-secret"
    file_lab.secret("bb", secret, provider="bitbucket")
    body = json.dumps({"eventKey": "repo:refs_changed", "date": "2017-09-19T09:45:32+1000",
                       "changes": []}).encode()
    sig = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    rid = "6f8b4c5e-1d2a-4b3c-9d8e-7f6a5b4c3d2e"
    got = []
    for _ in range(2):
        c = _post(file_lab, "/bb", body, {"Content-Type": "application/json; charset=UTF-8",
                                          "X-Event-Key": "repo:refs_changed",
                                          "X-Request-Id": rid, "X-Hub-Signature": sig})
        got.append((c.provider, c.event_type, c.delivery_id, c.duplicate, c.verified))
    assert got == [("bitbucket", "repo:refs_changed", rid, False, True),
                   ("bitbucket", "repo:refs_changed", rid, True, True)]


@pytest.mark.parametrize("headers,body,want", [
    ({"User-Agent": "WooCommerce/9.4.0 Hookshot (WordPress/6.7.1)",
      "Content-Type": "application/x-www-form-urlencoded"}, b"webhook_id=42",
     ("woocommerce", "ping")),
    ({"User-Agent": "WooCommerce/8.0.0 Hookshot (WordPress/6.3)"}, b"webhook_id=7",
     ("woocommerce", "ping")),
    # the same User-Agent on an order delivery: the topic, not ping
    ({"User-Agent": "WooCommerce/9.4.0 Hookshot (WordPress/6.7.1)",
      "Content-Type": "application/json", "X-WC-Webhook-Topic": "order.created",
      "X-WC-Webhook-Delivery-ID": "9"}, b'{"id": 1}', ("woocommerce", "order.created")),
    # another sender's webhook_id form: not WooCommerce
    ({"User-Agent": "curl/8.0", "Content-Type": "application/x-www-form-urlencoded"},
     b"webhook_id=42", (None, None)),
])
def test_woocommerce_ping_is_recognised(file_lab, headers, body, want):
    c = _post(file_lab, "/woo", body, headers)
    assert (c.provider, c.event_type) == want
