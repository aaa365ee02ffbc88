"""A signed timestamp outside the window is described by its own age: "1000 s old, beyond
tolerance 300 s" (the old wording, "1000 s older than tolerance 300 s", read as 1,300 s old),
worded as the future case is ("1000 s in the future, beyond tolerance 300 s")."""

from __future__ import annotations

import hashlib
import hmac

import pytest

import hooklab

BODY = b'{"id":"evt_1","object":"event","type":"invoice.paid"}'
NOW = 1_700_000_000
SECRET = "whsec_test"


def _stripe(t: int) -> dict[str, str]:
    sig = hmac.new(SECRET.encode(), f"{t}.".encode() + BODY, hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={t},v1={sig}"}


def _slack(t: int) -> dict[str, str]:
    sig = hmac.new(SECRET.encode(), f"v0:{t}:".encode() + BODY, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(t), "X-Slack-Signature": "v0=" + sig}


@pytest.mark.parametrize(("provider", "headers", "tolerance", "expected"), [
    ("stripe", _stripe(NOW - 1000), 300, "timestamp 1000 s old, beyond tolerance 300 s"),
    ("slack", _slack(NOW - 1000), 300, "timestamp 1000 s old, beyond tolerance 300 s"),
    ("slack", _slack(NOW - 301), 300, "timestamp 301 s old, beyond tolerance 300 s"),
    ("stripe", _stripe(NOW - 61), 60, "timestamp 61 s old, beyond tolerance 60 s"),
    ("slack", _slack(NOW + 1000), 300, "timestamp 1000 s in the future, beyond tolerance 300 s"),
])
def test_a_stale_timestamp_is_described_by_its_age(provider, headers, tolerance, expected):
    v = hooklab.verify_signature(provider, SECRET, headers, BODY, now=NOW, tolerance=tolerance)
    assert not v.valid
    assert v.reason == f"{expected} (the signature itself matches)", v.reason
    assert "older than" not in v.reason


def test_within_the_window_verifies():
    assert hooklab.verify_signature("stripe", SECRET, _stripe(NOW - 300), BODY, now=NOW).valid
