"""Samples sent with ``hooklab.send`` without ``secret=`` look like the provider's real
deliveries, signature headers included, so the lab recognises them: provider and event type
as when signed, ``verified`` None on a bin without a secret and False on one with a secret
(the signature was made with a key nobody holds). Real sockets on 127.0.0.1.

(found by an outside-in tester) 49 of the 131 built-in samples sent without ``secret=``
(Zoom's ``meeting.started``, Square, Twilio, Paddle, HubSpot, Nylas, X, Xero, Mux, Webflow...)
were stored with ``provider=None, event_type=None``: those providers are recognised by their
signature header, which every real delivery carries, and the unsigned sample had none; so
``lab.wait(1, event_type="meeting.started")``, the README's pattern, timed out.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from _provider_secrets import secrets_for

import hooklab
from hooklab.providers import EVENTS

#: the event type a provider itself writes for a sample where that is not the sample's name
#: (each from the field or header the provider's docs name; the rest: the sample's name)
WRITTEN = {
    ("gitlab", "push"): "Push Hook",                            # X-Gitlab-Event
    ("launchdarkly", "flag"): "flag.changed",                   # kind + titleVerb
    ("slack", "event_callback"): "app_mention",                 # event.type
    ("twilio", "sms"): "received",                              # SmsStatus
    ("plivo", "message.delivered"): "delivered",                # Status
    ("sanity", "create"): "create.post",                        # sanity-operation + _type
    ("meta", "whatsapp.messages"): "whatsapp_business_account.messages",  # object + field
    ("replicate", "prediction.succeeded"): "succeeded",         # status
    ("heroku", "api:release.create"): "release.create",         # resource + action
}
#: samples that name no sender unsigned, taken for their provider's only by a bin registered
#: for it, and what verified reads there: a HEAD (an uptime monitor's is no Trello check;
#: Trello never signs it), Discord's PING (sent unsigned without secret=: a bin without the
#: app's public key refuses a signed one with 401; a registered bin refuses it unsigned too)
REGISTERED_ONLY = {("trello", "head"): None, ("discord", "ping"): False}
SAMPLES = [(p, e) for p in EVENTS for e in EVENTS[p]]


@pytest.fixture(scope="module")
def shared_lab() -> Iterator[hooklab.HookLab]:
    lab = hooklab.HookLab(port=0, db=":memory:").start()  # (not the default lab: kept for
    try:  # the module's tests)
        yield lab
    finally:
        lab.stop()


def test_the_sample_table_is_all_here() -> None:
    assert len(SAMPLES) >= 131 and len({p for p, _ in SAMPLES}) == len(hooklab.providers.PROVIDERS)
    assert set(WRITTEN) | set(REGISTERED_ONLY) <= set(SAMPLES)


@pytest.mark.parametrize("provider,event", SAMPLES, ids=[f"{p}-{e}" for p, e in SAMPLES])
def test_an_unsigned_sample_is_recognised_as_its_provider(shared_lab: hooklab.HookLab,
                                                          provider: str, event: str) -> None:
    bin_ = f"u-{provider}-{event}"
    if (provider, event) in REGISTERED_ONLY:
        shared_lab.secret(bin_, secrets_for(provider)[1], provider=provider)
    hooklab.send(shared_lab.url_for(bin_), provider=provider, event=event)
    (cap,) = shared_lab.wait(1, timeout=10, bin=bin_)
    expected = WRITTEN.get((provider, event), event)
    assert (cap.provider, cap.event_type) == (provider, expected), cap.headers
    # (None: nothing to check it with)
    assert cap.verified is REGISTERED_ONLY.get((provider, event)), cap.verify_reason


# (provider, event, what verified reads on a bin with the provider's secret, whether the
# sample carries a signature): never True. A sample its other headers or its payload name
# (Stripe's User-Agent, X-GitHub-Event...) goes unsigned, as before (a missing signature);
# one only its signature headers name carries one made with a key nobody holds (a wrong
# signature); handshakes their senders never sign are stored unchecked
ON_A_BIN_WITH_A_SECRET = [
    ("stripe", "invoice.paid", False, False),
    ("github", "push", False, False),
    ("svix", "user.created", False, False),
    ("postmark", "Delivery", False, False),
    ("adyen", "AUTHORISATION", False, False),
    ("zoom", "meeting.started", False, True),
    ("square", "payment.updated", False, True),
    ("twilio", "sms", False, True),            # (signs the URL and the form)
    ("hubspot", "contact.creation", False, True),
    ("discord", "application_command", False, True),   # (an Ed25519 private key)
    ("paypal", "PAYMENT.CAPTURE.COMPLETED", False, True),  # (an RSA private key)
    ("plaid", "TRANSACTIONS.SYNC_UPDATES_AVAILABLE", False, True),  # (an EC private key)
    ("airtable", "ping", False, True),          # (a base64 key)
    ("onfleet", "taskCompleted", False, True),  # (a hex key)
    ("msgraph", "validation", None, False),
    ("dropbox", "challenge", None, False),
]


@pytest.mark.parametrize("provider,event,verified,signed", ON_A_BIN_WITH_A_SECRET,
                         ids=[f"{p}-{e}" for p, e, _, _ in ON_A_BIN_WITH_A_SECRET])
def test_an_unsigned_sample_never_verifies(shared_lab: hooklab.HookLab, provider: str,
                                           event: str, verified: bool | None,
                                           signed: bool) -> None:
    bin_ = f"s-{provider}-{event}"
    shared_lab.secret(bin_, secrets_for(provider)[1], provider=provider)
    hooklab.send(shared_lab.url_for(bin_), provider=provider, event=event)
    (cap,) = shared_lab.wait(1, timeout=10, bin=bin_)
    assert (cap.provider, cap.verified) == (provider, verified), cap.verify_reason
    if verified is False:  # (a wrong signature, or a missing one)
        assert ("missing" not in cap.verify_reason) is signed, cap.verify_reason


def test_the_readme_pattern_waits_for_an_unsigned_zoom_sample(shared_lab: hooklab.HookLab) -> None:
    hooklab.send(shared_lab.url_for("zoom-readme"), provider="zoom", event="meeting.started")
    (cap,) = shared_lab.wait(1, timeout=10, event_type="meeting.started", bin="zoom-readme")
    assert cap.provider == "zoom"


@pytest.mark.parametrize("given", [
    {"X-Hub-Signature-256": "sha256=" + "0" * 64},
    [("x-hub-signature-256", "sha256=forged"), ("X-Hub-Signature-256", "sha256=twice")],
])
def test_signature_headers_you_give_are_sent_as_given(shared_lab: hooklab.HookLab,
                                                      given: object) -> None:
    """(a forged or repeated signature, written by hand to test a receiver: sent as written)"""
    bin_ = f"given-{len(str(given))}"
    r = hooklab.send(shared_lab.url_for(bin_), provider="github", event="push", headers=given)
    pairs = list(given.items()) if isinstance(given, dict) else list(given)
    assert [(k, v) for k, v in r.sent_headers if k.lower() == "x-hub-signature-256"] == pairs
    (cap,) = shared_lab.wait(1, timeout=10, bin=bin_)
    assert [(k, v) for k, v in cap.headers if k.lower() == "x-hub-signature-256"] == pairs
