"""Mismatch reasons say what helps: a hint about the secret's form only when it lacks that form."""

from __future__ import annotations

import pytest

import hooklab
from hooklab.signatures import sign

BODY = b'{"id": "evt_1", "type": "invoice.paid"}'
NOW = 1_700_000_000
HINT = "(Stripe endpoint secrets start with whsec_)"


@pytest.mark.parametrize(("signed_with", "checked_with", "hinted"), [
    ("whsec_right", "whsec_wrong", False),   # the right form: the hint would mislead
    ("whsec_right", "sk_live_123", True),    # an API key instead of the endpoint secret
    ("whsec_right", "rk_test_456", True),
    ("whsec_right", b"whsec_bytes", False),
    ("whsec_right", "WHSEC_upper", True),   # Stripe's prefix is lower case
])
def test_stripe_mismatch_hint_depends_on_the_secret(signed_with, checked_with, hinted):
    headers = sign("stripe", signed_with, BODY, timestamp=NOW)
    result = hooklab.verify_signature("stripe", checked_with, headers, BODY, now=NOW)
    assert result.valid is False
    assert result.reason.startswith("signature mismatch")
    assert (HINT in result.reason) is hinted, result.reason


def test_a_right_stripe_secret_verifies_without_any_hint():
    headers = sign("stripe", "whsec_right", BODY, timestamp=NOW)
    result = hooklab.verify_signature("stripe", "whsec_right", headers, BODY, now=NOW)
    assert (result.valid, HINT in result.reason) == (True, False)


def test_shopify_hint_is_unconditional():
    headers = sign("shopify", "client-secret", BODY)
    result = hooklab.verify_signature("shopify", "other", headers, BODY)
    assert result.valid is False
    assert "(Shopify signs with the app's client secret, not an access token)" in result.reason
