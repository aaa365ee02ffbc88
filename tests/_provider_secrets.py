"""Signing and verifying secrets for every provider in the table (test helper)."""

from __future__ import annotations

import base64
import functools

from hooklab.providers import TABLE
from hooklab.signatures import keypair

URL = "https://hooks.example.com/in/abc?x=1"


@functools.cache
def secrets_for(pid: str) -> tuple[str, str]:
    """``(signing secret, verifying secret)`` for ``pid``."""
    p = TABLE[pid]
    if p.scheme in ("ed25519", "ecdsa", "paypal", "sns") or (p.scheme == "jwt" and p.sig["alg"] == "ES256"):
        return keypair(pid)
    if p.scheme == "standardwebhooks":
        s = "whsec_" + base64.b64encode(f"{pid}-key-0123456789abcdef".encode()).decode()
        return (("v1," + s) if pid == "supabase" else s,) * 2
    if p.scheme == "adyen" or p.sig.get("key") == "hex":
        return ("44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056",) * 2
    if p.sig.get("key") == "b64":
        return (base64.b64encode(b"airtable-mac-secret-32-bytes-xx").decode(),) * 2
    if p.scheme == "basic":
        return ("hooklab:pa55-word",) * 2
    if p.scheme == "braintree":
        return ("pubkey123:privkey-456",) * 2
    if pid == "stripe":
        return ("whsec_stripe_test_secret",) * 2
    return (f"s3cret-{pid}-Kx9",) * 2


def wrong_secret(pid: str) -> str:
    """A secret of the right form that is not the one used to sign."""
    p = TABLE[pid]
    if p.scheme in ("ed25519", "ecdsa", "paypal", "sns") or (p.scheme == "jwt" and p.sig["alg"] == "ES256"):
        other = keypair(pid)[1]
        if pid == "paypal":  # same webhook id, another certificate
            other = secrets_for(pid)[1].split("\n", 1)[0] + "\n" + other.split("\n", 1)[1]
        return other
    if p.scheme == "standardwebhooks":
        s = "whsec_" + base64.b64encode(b"another-key-0123456789abcdef").decode()
        return ("v1," + s) if pid == "supabase" else s
    if p.scheme == "adyen" or p.sig.get("key") == "hex":
        return "00" * 32
    if p.sig.get("key") == "b64":
        return base64.b64encode(b"another-mac-secret-32-bytes-xxxx").decode()
    if p.scheme == "basic":
        return "hooklab:wrong"
    if p.scheme == "braintree":
        return "pubkey123:another"
    return f"wrong-{pid}"
