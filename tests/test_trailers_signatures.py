"""Trailer fields (sent after a chunked body) are kept in the capture, but a signature that
came only as a trailer verifies nothing: a provider's receivers read the header section, so
the lab checks and detects from it alone, and says why (a real lab on 127.0.0.1, raw HTTP)."""

from __future__ import annotations

import json

import pytest
from _chunked import chunked_post
from _http import raw_request

import hooklab

SECRET = "whsec_trailer_test"
BODY = json.dumps({"id": "evt_1", "object": "event", "type": "invoice.paid",
                   "data": {"object": {"id": "in_1"}}}).encode()


def _chunked(path: str, head: list[tuple[str, str]], trailers: list[tuple[str, str]],
             body: bytes = BODY) -> bytes:
    return chunked_post(path, head, trailers, body)


def _send(lab: hooklab.HookLab, raw: bytes) -> hooklab.Capture:
    before = len(lab.captures)
    answer = raw_request(lab.bound_port, raw)
    assert b" 200 " in answer.split(b"\r\n")[0], answer[:200]
    return lab.wait(before + 1, timeout=10)[-1]


def _sig(body: bytes = BODY, secret: str = SECRET) -> str:
    return hooklab.signatures.sign("stripe", secret, body)["Stripe-Signature"]


CT = ("Content-Type", "application/json")


# (where the signature goes, its value, verified, whether the reason names the trailer)
CASES = {
    "header only": (lambda s: ([CT, ("Stripe-Signature", s)], []), True, False),
    "trailer only": (lambda s: ([CT], [("Stripe-Signature", s)]), False, True),
    "trailer only, other case": (lambda s: ([CT], [("stripe-signature", s)]), False, True),
    "trailer only, among others": (
        lambda s: ([CT], [("X-Checksum", "abc"), ("Stripe-Signature", s), ("X-Z", "1")]),
        False, True),
    "header right, trailer wrong": (
        lambda s: ([CT, ("Stripe-Signature", s)], [("Stripe-Signature", "t=1,v1=00")]),
        True, False),
    "header wrong, trailer right": (
        lambda s: ([CT, ("Stripe-Signature", "t=1,v1=00")], [("Stripe-Signature", s)]),
        False, True),
    "no signature, unrelated trailer": (lambda s: ([CT], [("X-Checksum", "abc")]), False, False),
}


@pytest.mark.parametrize("name", list(CASES))
def test_a_signature_counts_only_from_the_header_section(lab, name: str) -> None:  # type: ignore[no-untyped-def]
    where, verified, noted = CASES[name]
    lab.secret("stripe", SECRET, provider="stripe")
    head, trailers = where(_sig())
    cap = _send(lab, _chunked("/stripe/events", head, trailers))
    assert cap.verified is verified, cap.verify_reason
    assert ("trailer field" in (cap.verify_reason or "")) is noted, cap.verify_reason
    if noted:
        assert "Stripe-Signature" in cap.verify_reason or "stripe-signature" in cap.verify_reason
    # the trailers are kept, after the header section, as they came
    sent = [(k, v) for k, v in head] + trailers
    assert [h for h in cap.headers if h[0] not in ("Host", "Transfer-Encoding", "Connection")] \
        == sent
    assert cap.body == BODY


def test_a_trailer_signature_never_verifies_on_a_bin_without_provider(lab) -> None:  # type: ignore[no-untyped-def]
    """A bin given only a secret detects the provider from the headers: a signature header
    that came as a trailer names no provider either."""
    lab.secret("anon", SECRET)
    cap = _send(lab, _chunked("/anon", [CT], [("Stripe-Signature", _sig())]))
    assert cap.verified is False, cap.verify_reason
    assert cap.header("Stripe-Signature", "").startswith("t=")  # (kept, visible)


@pytest.mark.parametrize("trailer", [
    ("X-GitHub-Event", "push"),
    ("Stripe-Signature", "t=1,v1=00"),
    ("X-Twilio-Signature", "abc"),
])
def test_detection_reads_no_trailer_fields(lab, trailer: tuple[str, str]) -> None:  # type: ignore[no-untyped-def]
    """A trailer naming a provider does not make the capture that provider's (nor give it an
    event type), where the same field in the header section does."""
    plain = json.dumps({"hello": "world"}).encode()
    as_trailer = _send(lab, _chunked("/d", [CT], [trailer], plain))
    as_header = _send(lab, _chunked("/d", [CT, trailer], [], plain))
    assert as_trailer.provider is None and as_trailer.event_type is None
    assert as_header.provider is not None
    assert as_trailer.header(trailer[0]) == trailer[1]  # (kept, visible)


def test_a_relay_field_in_the_trailers_is_not_stored(lab) -> None:  # type: ignore[no-untyped-def]
    """``X-Hooklab-Relay-*`` fields are the Jupyter relay's, in a head: a sender's trailer one
    is dropped as a sender's header one is."""
    cap = _send(lab, _chunked("/r", [CT], [("X-Hooklab-Relay-Url", "http://evil/x"),
                                           ("X-Keep", "1")]))
    assert [k for k, _ in cap.headers if k.lower().startswith("x-hooklab-relay")] == []
    assert cap.header("X-Keep") == "1"
