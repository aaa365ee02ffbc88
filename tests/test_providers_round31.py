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
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import time
from urllib.parse import parse_qs

import pytest

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
def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jwt(key: str, claims: dict) -> str:
    head = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = _b64url(json.dumps(claims).encode())
    sig = hmac.new(key.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64url(sig)}"


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
                                              "Authorization": _jwt(MONDAY_KEY, claims)})
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
    tok = _jwt(MONDAY_KEY, {"iat": now, "exp": now + 300, "aud": "https://app.example/hook"})
    for url, ok in (("https://app.example/hook", True), ("https://app.example:443/hook", True),
                    ("http://app.example/hook", False), ("https://app.example/hook?x=1", False)):
        v = hooklab.verify_signature("monday", MONDAY_KEY, {"Authorization": tok}, MONDAY_BODY,
                                     url=url)
        assert v.valid is ok, (url, v.reason)
