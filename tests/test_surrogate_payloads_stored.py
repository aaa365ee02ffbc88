r"""A delivery whose JSON holds a lone surrogate escape (``"type": "evt\ud800"``: valid JSON,
what JavaScript's ``JSON.stringify`` writes for a string cut inside an emoji) is stored, for
every provider's sample: detection took the event type or delivery id from the payload with
the surrogate in it, SQLite refused the text, and the sender got ``503 capture not stored:
UnicodeEncodeError`` (the webhook was lost). The event type and delivery id show the
surrogate as JSON writes it (``\ud800``); the body is kept byte for byte."""

from __future__ import annotations

import json
from typing import Any

import pytest
from _http import post

import hooklab
from hooklab.providers import EVENTS, TABLE
from hooklab.providers.samples import sample


def _spoiled(value: Any) -> Any:
    """Every string and key of ``value`` with a lone surrogate added."""
    if isinstance(value, str):
        return value + "\ud800"
    if isinstance(value, dict):
        return {k + "\udfff": _spoiled(v) for k, v in value.items()} | {
            k: _spoiled(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_spoiled(v) for v in value]
    return value


def _json_samples() -> list[tuple[str, str]]:
    out = []
    for prov, events in EVENTS.items():
        for ev in events:
            s = sample(prov, ev)
            try:
                data = json.loads(s.body) if s.body else None
            except ValueError:
                continue
            if isinstance(data, dict) and s.method == "POST":
                out.append((prov, ev))
    return out


SAMPLES = _json_samples()


@pytest.fixture(scope="module")
def lab():
    lab = hooklab.HookLab(port=0, db=":memory:").start()
    yield lab
    lab.stop()


def test_there_are_many_samples() -> None:
    assert len(SAMPLES) >= 80, SAMPLES


@pytest.mark.parametrize(("provider", "event"), SAMPLES)
def test_a_lone_surrogate_in_the_payload_is_stored(lab, provider: str, event: str) -> None:
    s = sample(provider, event)
    body = json.dumps(_spoiled(json.loads(s.body))).encode()  # (ASCII: \ud800 escapes)
    assert b"\\ud800" in body
    headers = [(k, v) for k, v in s.headers if k.lower() not in ("content-length", "host")]
    status, answer = post(lab.url_for(provider) + s.query_string, body, dict(headers))
    assert status < 500, (status, answer)  # (a handshake's answer is its own: not 503)
    (cap,) = lab.query(newest_first=True, limit=1)
    assert cap.body == body and cap.bin == provider
    for text in (cap.event_type, cap.delivery_id):
        if text is not None:
            text.encode("utf-8")  # (storable and showable: no lone surrogate left in it)
            assert "\\ud800" in text or "\\udfff" in text or "\\" not in text


# (body, headers, provider, event type, delivery id): written out by hand
CASES = [
    (rb'{"id":"evt_1","object":"event","type":"evt\ud800","data":{"object":{}}}',
     {"Stripe-Signature": "t=1,v1=00"}, "stripe", "evt\\ud800", "evt_1"),
    (rb'{"id":"evt_\udc00","object":"event","type":"x","data":{"object":{}}}',
     {"Stripe-Signature": "t=1,v1=00"}, "stripe", "x", "evt_\\udc00"),
    (rb'{"action":"op\ud800"}', {"X-GitHub-Event": "issues", "X-GitHub-Delivery": "d1"},
     "github", "issues.op\\ud800", "d1"),
    (rb'{"type":"event_callback","event":{"type":"m\udfff\ud800"},"event_id":"E\ud800"}',
     {"X-Slack-Signature": "v0=00", "X-Slack-Request-Timestamp": "1"},
     "slack", "m\\udfff\\ud800", "E\\ud800"),
    (rb'{"type":"caf\u00e9 \ud83d"}', {"Stripe-Signature": "t=1,v1=00"},
     "stripe", "caf\u00e9 \\ud83d", None),  # (named by its header; no "id": no delivery id)
    (rb'{"id":"evt_2","object":"event","type":"caf\u00e9 \ud83d\ude00 \ud83d","data":{"object":{}}}',
     {"Stripe-Signature": "t=1,v1=00"}, "stripe", "caf\u00e9 \U0001f600 \\ud83d", "evt_2"),
]


@pytest.mark.parametrize(("body", "headers", "provider", "event", "delivery"), CASES)
def test_the_event_type_and_delivery_id_show_the_surrogate_as_json_writes_it(
        lab, body, headers, provider, event, delivery) -> None:
    status, answer = post(lab.url_for("in"), body, {"Content-Type": "application/json", **headers})
    assert status == 200, answer
    cap = lab.get(json.loads(answer)["id"])
    assert (cap.provider, cap.event_type, cap.delivery_id) == (provider, event, delivery)
    assert cap.body == body
    assert lab.dataframe(event_type=event)["id"].tolist() == ([cap.id] if event else [])


@pytest.mark.parametrize(("provider", "event"), SAMPLES[::7])
def test_hooklab_send_writes_a_lone_surrogate_as_json_does(lab, provider: str, event: str) -> None:
    """``hooklab.send(..., payload=...)`` with a lone surrogate in the payload: sent with it
    escaped as JSON writes it (it raised ``UnicodeEncodeError`` for providers whose samples
    are compact JSON), stored."""
    data = json.loads(sample(provider, event).body)
    # (a provider that signs with Basic auth takes its secret as user:password, as README says)
    secret = ("hooklab:c3Vycm9nYXRl" if TABLE[provider].scheme == "basic"
              else "whsec_c3Vycm9nYXRlIHRlc3Qgc2VjcmV0")
    r = hooklab.send(lab.url_for(provider), provider=provider, event=event,
                     payload=_spoiled(data), secret=secret)
    assert r.status < 500, r.body
    (cap,) = lab.query(newest_first=True, limit=1)
    assert b"\\ud800" in cap.body and b"\\udfff" in cap.body
    assert json.loads(cap.body) == _spoiled(data) | json.loads(cap.body)  # (the sample's keys)


def test_hooklab_send_refuses_text_or_a_form_that_holds_a_lone_surrogate(lab) -> None:
    before = len(lab.captures)
    with pytest.raises(ValueError, match=r"payload text holds '\\ud800' at index 3, a lone surrogate"):
        hooklab.send(lab.url_for("t"), payload="abc\ud800")
    with pytest.raises(ValueError, match=r"a twilio form field holds '\\udc00', a lone surrogate"):
        hooklab.send(lab.url_for("t"), provider="twilio", payload={"Body": "x\udc00"})
    assert len(lab.captures) == before  # (nothing sent)
