"""The provider table: completeness, detection of every provider's deliveries, the Standard
Webhooks family, providers that cannot be verified offline, and the README's provider table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from _provider_secrets import secrets_for

import hooklab
from hooklab.providers import EVENTS, PROVIDERS, TABLE, detect, sample
from hooklab.providers.detect import payload
from hooklab.signatures import SIGNING_PROVIDERS, keypair, sign_request, verify_signature
from hooklab.signatures._hmac import SCHEMES as COMMON
from hooklab.signatures._special import SCHEMES as SPECIAL

README = Path(__file__).resolve().parents[1] / "README.md"
FIRST_IDS = ("stripe", "github", "shopify", "slack", "standardwebhooks", "svix", "twilio",
             "gitlab", "zoom", "meta", "msgraph", "x", "discord", "mailgun", "paddle", "square")
HANDSHAKE_IDS = ("slack", "zoom", "twitch", "meta", "msgraph", "dropbox", "asana", "okta",
                 "smartsheet", "strava", "x", "trello", "nylas", "monday", "onfleet", "discord",
                 "eventgrid", "sns")


def test_seventy_plus_lower_case_providers_including_the_named_ones():
    assert len(PROVIDERS) >= 70
    assert list(PROVIDERS) == sorted(PROVIDERS) and all(p == p.lower() for p in PROVIDERS)
    assert set(FIRST_IDS) | set(HANDSHAKE_IDS) <= set(PROVIDERS)
    assert set(PROVIDERS) == set(SIGNING_PROVIDERS) == set(TABLE) == set(EVENTS)
    assert set(PROVIDERS) == set(hooklab.providers.PROVIDERS)


@pytest.mark.parametrize("pid", PROVIDERS)
def test_every_entry_is_complete(pid):
    p = TABLE[pid]
    assert p.id == pid and p.name and p.docs.startswith("https://")
    assert p.scheme in {**COMMON, **SPECIAL}
    assert p.events and p.event, "sample events and where the event type is"
    assert p.detect or p.agent or p.shape, "a way to recognise it"
    if p.shape is not None and not p.detect:
        assert p.hint, "shape-only detection needs a cheap byte hint"
    if p.scheme == "hmac":
        assert p.sig["header"] and p.sig.get("enc", "hex") in ("hex", "b64", "b64url")
    for event in p.events:
        sample(pid, event)  # every listed event builds


@pytest.mark.parametrize("pid", PROVIDERS)
def test_signed_default_sample_is_detected_with_event_and_delivery(pid):
    s = sample(pid)
    sk, _ = secrets_for(pid)
    req = sign_request(pid, sk, url="https://h.example/x", body=s.body, headers=dict(s.headers),
                       msg_id=s.msg_id, params=s.params, timestamp=s.timestamp)
    names = {k.lower() for k in req.headers}
    headers = [(k, v) for k, v in s.headers if k.lower() not in names] + list(req.headers.items())
    provider, event, delivery = detect(headers, req.body)
    assert provider == pid
    assert event, f"{pid}: no event type"
    if TABLE[pid].delivery and pid not in ("figma",):
        assert delivery, f"{pid}: no delivery id"


def test_detection_examples_by_shape_and_header():
    assert detect([("X-GitHub-Event", "push"), ("X-GitHub-Delivery", "d")], b"{}") == \
        ("github", "push", "d")
    assert detect([], b'{"object":"whatsapp_business_account","entry":[{"id":"1","changes":'
                      b'[{"field":"messages","value":{}}]}]}')[:2] == \
        ("meta", "whatsapp_business_account.messages")
    assert detect([("User-Agent", "Stripe/1.0")], b'{"id":"evt_1","type":"x.y"}') == \
        ("stripe", "x.y", "evt_1")
    assert detect([("Content-Type", "text/plain")], b"hello") == (None, None, None)
    # svix-* headers: Clerk by its payload, otherwise the family
    clerk = sample("clerk")
    assert detect(clerk.headers + [("svix-signature", "v1,x")], clerk.body)[0] == "clerk"
    assert detect([("svix-id", "msg_1")], b'{"type":"a.b"}')[:2] == ("svix", "a.b")
    assert payload(b"x" * 10, {}) is None


def test_the_standard_webhooks_family_are_named_providers():
    family = {p.id for p in TABLE.values() if p.family in ("standardwebhooks", "svix")}
    assert {"clerk", "resend", "replicate", "openai", "supabase", "polar"} <= family
    secret = "v1,whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # Supabase shows the v1, prefix
    hdrs = sign_request("supabase", secret, body=b"{}").headers
    assert verify_signature("supabase", secret, hdrs, b"{}")
    assert verify_signature("standardwebhooks", secret[3:], hdrs, b"{}")


def test_registered_provider_names_a_family_member(lab):
    from hooklab.outbound.sender import send

    secret = secrets_for("svix")[0]
    lab.secret("clerk-bin", secret, provider="clerk")
    send(lab.url_for("clerk-bin"), provider="svix", event="user.created", secret=secret)
    cap = lab.wait(1, timeout=10)[0]
    assert (cap.provider, cap.event_type, cap.verified) == ("clerk", "user.created", True)
    with pytest.raises(ValueError, match="unknown provider 'nope'"):
        lab.secret("b", "s", provider="nope")


def test_every_default_sample_sent_to_a_lab_is_stored_as_its_provider(lab):
    from hooklab.outbound.sender import send

    for pid in PROVIDERS:
        send(lab.url_for(f"d-{pid}"), provider=pid, secret=secrets_for(pid)[0])
    caps = lab.wait(len(PROVIDERS), timeout=30)
    got = {c.bin[2:]: (c.provider, c.event_type) for c in caps}
    assert {pid: got[pid][0] for pid in PROVIDERS} == {pid: pid for pid in PROVIDERS}
    assert all(got[pid][1] for pid in PROVIDERS), {p: v for p, v in got.items() if not v[1]}
    df = lab.dataframe()
    assert set(df["provider"]) == set(PROVIDERS)


def test_paypal_and_sns_say_when_they_cannot_be_verified_offline():
    sk, vk = keypair("paypal", webhook_id="WH-1")
    s = sample("paypal")
    req = sign_request("paypal", sk, body=s.body)
    v = verify_signature("paypal", "WH-1", req.headers, req.body)
    assert not v and v.reason.startswith("cannot be verified offline: PayPal signs")
    assert "PAYPAL-CERT-URL" in v.reason and "verify-webhook-signature" in v.reason
    assert verify_signature("paypal", vk, req.headers, req.body).reason == \
        "ok (certificate chain not checked)"
    v = verify_signature("paypal", "WH-2\n" + vk.split("\n", 1)[1], req.headers, req.body)
    assert not v and "webhook ID" in v.reason
    sk, vk = keypair("sns")
    req = sign_request("sns", sk, body=sample("sns").body)
    v = verify_signature("sns", "no certificate", {}, req.body)
    assert not v and v.reason.startswith("cannot be verified offline: SNS signs")
    assert verify_signature("sns", vk, {}, req.body).reason == "ok (certificate chain not checked)"


def test_keypair_serves_only_key_pair_providers():
    with pytest.raises(ValueError, match="does not sign with a key pair"):
        keypair("github")


def test_readme_table_is_what_its_generator_prints():
    """The README says its provider table is generated by ``tools/provider_table.py``: a row
    edited by hand (Okta's said more than the generator printed) would go at the next run."""
    import subprocess
    import sys

    made = subprocess.run([sys.executable, str(README.parent / "tools" / "provider_table.py")],
                          capture_output=True, text=True, timeout=120, check=True).stdout
    rows = [line for line in made.splitlines() if line.startswith("|")]
    section = README.read_text()
    section = section[section.index("## Providers"):]
    table = [line for line in section.splitlines() if line.startswith("|")][:len(rows)]
    assert len(rows) > 60 and table == rows


def test_readme_lists_every_provider():
    text = README.read_text()
    section = text[text.index("## Providers"):]
    rows = re.findall(r"^\| `([a-z0-9_]+)` \|", section, flags=re.M)
    assert sorted(rows) == sorted(PROVIDERS)
    for pid in PROVIDERS:
        row = next(line for line in section.splitlines() if line.startswith(f"| `{pid}` |"))
        assert TABLE[pid].docs in row
        if TABLE[pid].sdk:
            assert TABLE[pid].sdk in row


def test_slack_requests_in_one_second_are_not_duplicates_but_retries_are(lab):
    """Slack's delivery id is the event_id (an Events API retry repeats it) or a slash
    command's / interaction's trigger_id, never the request timestamp: two commands sent in
    the same second (whole seconds) were marked ``duplicate`` (a provider retry)."""
    import time
    from urllib.parse import urlencode

    from _http import post

    secret, ts = "8f742231b10e8888abcd99yyyzzz85a5", str(int(time.time()))

    def signed(body: bytes, ctype: str, **extra: str) -> None:
        headers = {"Content-Type": ctype, "X-Slack-Request-Timestamp": ts, **extra}
        req = sign_request("slack", secret, body=body, headers=headers, timestamp=int(ts))
        post(lab.url_for("sl"), body, {**headers, **req.headers})

    form = "application/x-www-form-urlencoded"
    for trigger in ("13345224609.1", "13345224609.2"):
        signed(urlencode({"command": "/deploy", "text": "x", "trigger_id": trigger}).encode(), form)
    event = b'{"type":"event_callback","event_id":"Ev01","event":{"type":"app_mention"}}'
    signed(event, "application/json")
    signed(event, "application/json", **{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    caps = lab.wait(4, timeout=10, bin="sl")
    assert [(c.event_type, c.delivery_id, c.duplicate) for c in caps] == [
        ("/deploy", "13345224609.1", False), ("/deploy", "13345224609.2", False),
        ("app_mention", "Ev01", False), ("app_mention", "Ev01", True)]


def test_capture_verify_takes_the_url_the_provider_signed(lab):
    """A URL-signing provider reached through a proxy signed its own URL: the reason says
    "pass url=", and ``capture.verify`` takes it (it used to raise TypeError)."""
    from _http import post

    public = "https://hub.example.org/user/ada/hooklab/in/KEY/sms?x=1"
    body = b"Body=hi&From=%2B15550001"
    req = sign_request("twilio", "auth-token-abc", url=public, body=body,
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    post(lab.url_for("tw", "sms") + "?x=1", body, {"Content-Type": "application/x-www-form-urlencoded",
                                                    **req.headers})
    (cap,) = lab.wait(1, timeout=10)
    plain = cap.verify("auth-token-abc")
    assert not plain and "pass url=" in plain.reason
    assert cap.verify("auth-token-abc", url=public).valid
    assert not cap.verify("auth-token-abc", url=public.replace("KEY", "KEY2"))
