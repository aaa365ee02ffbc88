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
import json
import time
from urllib.parse import parse_qs

import pytest

import hooklab


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
