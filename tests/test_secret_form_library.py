"""``lab.secret(bin, secret, provider=...)`` refuses a secret that cannot be the provider's key,
in the words ``hooklab serve --secret-file`` and ``hooklab send`` use. It was accepted: every
capture to the bin then read "secret is not valid base64 after whsec_" (verified False), the
sender's signature never looked at. A refused secret leaves what was set before in place."""

from __future__ import annotations

import base64

import pytest

import hooklab

KEY = base64.b64encode(b"k" * 24).decode()

# (provider, secret, the words: each provider's documented secret form; Svix / Standard
# Webhooks: "whsec_" then base64; Onfleet and Adyen: hexadecimal HMAC keys)
BAD = [
    ("svix", "whsec_!!notb64!!", "secret is not valid base64 after whsec_"),
    ("svix", "whsec_abcde", "secret is not valid base64 after whsec_"),
    ("standardwebhooks", "whsec_a b", "secret is not valid base64 after whsec_"),
    ("standardwebhooks", "not base64 at all!",
     "secret is not valid base64 (Standard Webhooks secrets look like whsec_<base64>)"),
    ("openai", "whsec_!!", "secret is not valid base64 after whsec_"),
    ("onfleet", "zz-not-hex", "secret must be hexadecimal for this provider"),
    ("adyen", "nothex!", "secret must be hexadecimal for this provider"),
    ("Svix", "whsec_!!", "secret is not valid base64 after whsec_"),  # (a name's case)
    # (Ed25519 keys: 32 bytes, Discord's in hex, Telnyx's in base64; an outside tester: the
    # bin then answered every Discord PING 401, which Discord does not save an endpoint for)
    ("discord", "zz-not-hex", "secret must be the Discord interactions Ed25519 key (the "
     "public key to verify, the private key to sign) (64 hex characters)"),
    ("discord", "ab" * 31, "(64 hex characters)"),
    ("telnyx", "!!!not-base64", "secret must be the Telnyx Ed25519 key (the public key to "
     "verify, the private key to sign) (base64 of 32 bytes)"),
]

# any text is a key for these, and these have the right form
GOOD = [("svix", f"whsec_{KEY}"), ("standardwebhooks", KEY), ("openai", "plain raw text"),
        ("github", "whsec_!!notb64!!"), ("stripe", "whsec_not-base64-is-fine"),
        ("onfleet", "00ff" * 8), ("adyen", "AB" * 32), ("svix", b"\x01" * 24)]


@pytest.fixture(scope="module")
def lab():
    lab = hooklab.HookLab(port=0, db=":memory:").start()  # (not the default lab: stopped
    # after each test by conftest)
    yield lab
    lab.stop()


@pytest.mark.parametrize(("provider", "secret", "words"), BAD)
def test_a_secret_of_the_wrong_form_is_refused_and_the_one_before_stays(
        lab, provider: str, secret: str, words: str) -> None:
    bin_ = f"wf-{provider.lower()}-{abs(hash(secret)) % 10**6}"
    good = f"whsec_{KEY}" if provider.lower() in ("svix", "standardwebhooks", "openai") \
        else "00" * 16
    if provider in ("discord", "telnyx"):  # (a public key: the bin's check needs cryptography)
        good = "ab" * 32 if provider == "discord" else base64.b64encode(b"k" * 32).decode()
    lab.secret(bin_, good, provider=provider)
    with pytest.raises(ValueError) as info:
        lab.secret(bin_, secret, provider=provider)
    assert words in str(info.value)
    assert secret not in str(info.value)
    if provider in ("discord", "telnyx"):
        return  # (signing takes the private key: what stays set is checked by the bin above)
    # the secret set before still checks the bin's deliveries
    hooklab.send(lab.url_for(bin_), provider=provider.lower(), payload={"n": 1}, secret=good)
    assert lab.wait(1, bin=bin_, timeout=20)[-1].verified is True


@pytest.mark.parametrize(("provider", "secret"), GOOD)
def test_a_secret_of_its_providers_form_is_taken(lab, provider: str, secret) -> None:
    bin_ = f"ok-{provider}-{len(secret)}"
    lab.secret(bin_, secret, provider=provider)
    hooklab.send(lab.url_for(bin_), provider=provider, payload={"n": 1}, secret=secret)
    cap = lab.wait(1, bin=bin_, timeout=20)[-1]
    assert cap.verified is True, cap.verify_reason


def test_no_provider_or_no_secret_is_not_checked(lab) -> None:
    lab.secret("anyform", "whsec_!!")  # (no provider: the secret's form is nobody's)
    lab.secret("anyform2", None, provider="svix")
