"""hooklab.send and the built-in samples, against real servers on 127.0.0.1."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from urllib.parse import parse_qs

import pytest
from _target import Target

import hooklab
from hooklab.outbound.sender import send
from hooklab.providers.samples import EVENTS, deep_merge, sample

SWH_SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


@pytest.mark.parametrize("provider,event", [(p, e) for p, evs in EVENTS.items() for e in evs])
def test_every_sample_is_well_formed_and_fresh(provider: str, event: str) -> None:
    a, b = sample(provider, event), sample(provider, event)
    if a.body or b.body:
        assert a.body != b.body, "ids must be fresh per call"
    else:  # handshakes sent without a body (GET, HEAD, Graph's POST): in query or headers
        if a.method != "HEAD":  # Trello's HEAD check carries nothing at all
            assert (a.query, a.headers) != (b.query, b.headers), "ids must be fresh per call"
        assert a.query == ({} if a.method == "HEAD" or not a.data else a.data)
        return
    ctype = a.header("Content-Type") or ""
    if provider == "twilio":
        assert a.header("Content-Type") == "application/x-www-form-urlencoded"
        assert parse_qs(a.body.decode())["SmsStatus"] == ["received"]
    elif "x-www-form-urlencoded" in ctype:  # Braintree, Mandrill, Plivo post forms
        assert {k: v[0] for k, v in parse_qs(a.body.decode(), keep_blank_values=True).items()} \
            == {k: str(v) for k, v in a.data.items()}
    else:
        assert json.loads(a.body) == a.data
        # Amazon SNS posts its JSON as text/plain
        assert "json" in ctype or (provider == "sns" and ctype.startswith("text/plain"))


def test_sample_shapes_follow_the_providers() -> None:
    s = sample("stripe", "charge.refunded")
    assert s.data["object"] == "event" and s.data["id"].startswith("evt_")
    assert s.data["type"] == "charge.refunded" and s.data["livemode"] is False
    assert s.data["data"]["object"]["object"] == "charge"
    assert {"api_version", "created"} <= set(s.data)
    g = sample("github", "pull_request.opened")
    assert g.header("X-GitHub-Event") == "pull_request" and g.data["action"] == "opened"
    assert g.header("User-Agent").startswith("GitHub-Hookshot/")
    assert len(g.header("X-GitHub-Delivery")) == 36 and g.header("X-GitHub-Hook-ID").isdigit()
    sh = sample("shopify", "orders/create")
    assert sh.header("X-Shopify-Topic") == "orders/create"
    assert sh.header("X-Shopify-Shop-Domain").endswith(".myshopify.com")
    assert sh.header("X-Shopify-Webhook-Id")
    assert sample("slack", "url_verification").data["type"] == "url_verification"
    assert sample("slack", "event_callback").data["event"]["type"] == "app_mention"
    sw = sample("standardwebhooks", "invoice.paid")
    assert sw.data["type"] == "invoice.paid" and "timestamp" in sw.data and "data" in sw.data
    assert sw.header("webhook-id") == sw.msg_id
    assert sample("gitlab").header("X-Gitlab-Event") == "Push Hook"
    assert sample("svix", "anything.happened").data["type"] == "anything.happened"


def test_payload_deep_merges_like_stripe_override() -> None:
    s = sample("stripe", "payment_intent.succeeded",
               payload={"data": {"object": {"amount": 4200, "metadata": {"order": "42"}}}})
    obj = s.data["data"]["object"]
    assert obj["amount"] == 4200 and obj["metadata"] == {"order": "42"}
    assert obj["currency"] == "usd" and s.data["type"] == "payment_intent.succeeded"
    assert deep_merge({"a": {"b": 1, "c": 2}}, {"a": {"b": 3}, "d": [1]}) == {
        "a": {"b": 3, "c": 2}, "d": [1]}
    assert parse_qs(sample("twilio", payload={"Body": "hi"}).body.decode())["Body"] == ["hi"]


def test_unknown_provider_or_event_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="providers with samples: .*github") as e:
        sample("nope")
    assert "stripe" in str(e.value) and "did you mean" not in str(e.value)
    assert len(str(e.value)) < 2000  # provider names, not every provider's events
    with pytest.raises(ValueError, match=r"'githb' \(did you mean 'github'\?\)"):
        sample("githb")
    with pytest.raises(ValueError, match="pull_request.opened") as e:
        sample("github", "pull_request.closed")
    assert "stripe" not in str(e.value)  # github's events only
    with pytest.raises(ValueError, match=r"'pushh' \(did you mean 'push'\?\); github has: push,"):
        sample("github", "pushh")
    with pytest.raises(ValueError, match="provider"):
        send("http://127.0.0.1:9/", event="push")


def test_send_is_byte_exact_and_headers_in_order() -> None:
    with Target(status=201, body=b'{"got": true}', headers=[("X-Reply", "1")]) as t:
        r = send(t.url + "/hook?a=1", provider="github", event="push",
                 headers={"X-Extra": "yes", "User-Agent": "custom"})
        got = t.wait(1)[0]
    assert (r.status, r.reason, r.body, r.header("X-Reply")) == (201, "Created", b'{"got": true}', "1")
    assert r.elapsed > 0 and got.method == "POST" and got.path == "/hook?a=1"
    assert got.body == r.sent_body and json.loads(got.body)["ref"] == "refs/heads/main"
    names = [k for k, _ in got.headers]
    assert names.index("X-GitHub-Delivery") < names.index("X-GitHub-Event") < names.index("X-Extra")
    assert got.header("User-Agent") == "custom" and got.header("Content-Length") == str(len(got.body))


def test_send_without_provider() -> None:
    with Target() as t:
        send(t.url, payload={"hello": "wörld"})
        send(t.url, payload=bytes(range(256)), headers=[("Content-Type", "application/x-bin")])
        send(t.url, method="PUT", payload="plain")
        a, b, c = t.wait(3)
    assert json.loads(a.body) == {"hello": "wörld"} and a.header("Content-Type") == "application/json"
    assert b.body == bytes(range(256)) and b.header("Content-Type") == "application/x-bin"
    assert c.method == "PUT" and c.body == b"plain"


def test_no_redirects_by_default_and_timeouts() -> None:
    with Target(status=302, headers=[("Location", "/elsewhere")]) as t:
        assert send(t.url, payload={}).status == 302
        assert len(t.received) == 1
    with Target() as ok, Target(status=308, headers=[("Location", ok.url + "/moved")]) as t:
        r = send(t.url, payload={"x": 1}, follow_redirects=True)
        assert r.status == 200 and r.url == ok.url + "/moved"
        assert ok.wait(1)[0].body == b'{"x": 1}' and ok.received[0].method == "POST"
    with Target(delay=2.0) as slow, pytest.raises(TimeoutError):
        send(slow.url, payload={}, timeout=0.3)
    with pytest.raises(ConnectionRefusedError):
        send("http://127.0.0.1:9/", payload={})


def _headers(received) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {k.lower(): v for k, v in received.headers}


def test_signatures_verify_with_official_libraries() -> None:
    stripe = pytest.importorskip("stripe")
    from slack_sdk.signature import SignatureVerifier
    from standardwebhooks.webhooks import Webhook as SWH
    from svix.webhooks import Webhook as Svix
    from twilio.request_validator import RequestValidator

    with Target() as t:
        send(t.url + "/stripe", provider="stripe", event="invoice.paid", secret="whsec_abc")
        send(t.url + "/gh", provider="github", event="ping", secret="gh-secret")
        send(t.url + "/slack", provider="slack", secret="slack-secret")
        send(t.url + "/swh", provider="standardwebhooks", secret=SWH_SECRET)
        send(t.url + "/svix", provider="svix", event="user.created", secret=SWH_SECRET)
        send(t.url + "/sms", provider="twilio", secret="twilio-token")
        send(t.url + "/shop", provider="shopify", secret="shop-secret")
        st, gh, sl, sw, sv, tw, sh = t.wait(7)
    ev = stripe.Webhook.construct_event(st.body, st.header("Stripe-Signature"), "whsec_abc")
    assert ev["type"] == "invoice.paid"
    mac = hmac.new(b"gh-secret", gh.body, hashlib.sha256).hexdigest()
    assert gh.header("X-Hub-Signature-256") == "sha256=" + mac
    assert SignatureVerifier("slack-secret").is_valid(
        sl.body, sl.header("X-Slack-Request-Timestamp"), sl.header("X-Slack-Signature"))
    assert SWH(SWH_SECRET).verify(sw.body, _headers(sw))["type"] == "invoice.paid"
    Svix(SWH_SECRET).verify(sv.body, _headers(sv))  # raises when invalid
    assert json.loads(sv.body)["type"] == "user.created"
    params = {k: v[0] for k, v in parse_qs(tw.body.decode(), keep_blank_values=True).items()}
    assert RequestValidator("twilio-token").validate(
        t.url + "/sms", params, tw.header("X-Twilio-Signature"))
    expected = base64.b64encode(hmac.new(b"shop-secret", sh.body, hashlib.sha256).digest())
    assert sh.header("X-Shopify-Hmac-Sha256") == expected.decode()


def test_sent_samples_are_captured_detected_and_verified(lab) -> None:  # type: ignore[no-untyped-def]
    lab.secret("stripe", "whsec_abc")
    hooklab.send(lab.url_for("stripe"), provider="stripe", event="charge.refunded",
                 secret="whsec_abc", payload={"data": {"object": {"amount": 5}}})
    hooklab.send(lab.url_for("github"), provider="github", event="issues.opened")
    s, g = lab.wait(2)
    assert (s.provider, s.event_type, s.verified) == ("stripe", "charge.refunded", True)
    assert s.json()["data"]["object"]["amount"] == 5
    assert (g.provider, g.event_type, g.verified) == ("github", "issues.opened", None)


def test_hooklab_send_stays_a_function_after_module_import() -> None:
    import hooklab.outbound.sender  # noqa: F401 - importing the module must not shadow hooklab.send

    assert hooklab.send is hooklab.outbound.sender.send
    with Target() as t:
        assert hooklab.send(t.url, payload={"a": 1}).status == 200


@pytest.mark.parametrize("extra, sent", [
    ([("X-Tag", "a"), ("X-Tag", "b")], [("X-Tag", "a"), ("X-Tag", "b")]),
    # (in the order given, never regrouped by name: README, "as curl -H sends them")
    ([("x-tag", "a"), ("X-Other", "o"), ("X-TAG", "b")], [("x-tag", "a"), ("X-Other", "o"), ("X-TAG", "b")]),
    ({"X-Tag": "only"}, [("X-Tag", "only")]),
    ([("Content-Type", "text/a"), ("Content-Type", "text/b")], [("Content-Type", "text/a"), ("Content-Type", "text/b")]),
])
def test_send_keeps_repeated_headers_given_as_pairs(extra, sent) -> None:  # type: ignore[no-untyped-def]
    """(found writing a docstring example) ``headers=[("X-Tag", "a"), ("X-Tag", "b")]`` sent
    only ``X-Tag: b``: the pairs became a dict. A repeated header is how a test of a
    receiver's parsing (duplicate signatures, two Content-Types) is written."""
    with Target() as t:
        send(t.url, payload="hi", headers=extra)
        (got,) = t.wait(1)
    names = {k.lower() for k, _ in sent}
    assert [(k, v) for k, v in got.headers if k.lower() in names] == sent
