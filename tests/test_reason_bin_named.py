"""The reason of a capture to a bin given a secret without a provider names the bin as given,
whatever credential the sender put the secret in: the scrubbing that takes the secret off a
header value (and off a reason that quotes a piece of it) must not take a bin name that happens
to be a letter or a word of that value for a piece of it.

Each table row is sent through a real lab on 127.0.0.1 and checked against the exact reason,
and against every form of the secret the lab knows of (text, base64 padded or not, URL-safe,
UTF-8 read as Latin-1, the ``Basic`` credentials as sent, in any letter case for long ones).
"""

from __future__ import annotations

import base64
import re
import urllib.request

import pytest

from hooklab import HookLab

NO_PROVIDER = "unknown provider: no known signature header found"
SECRETS = [
    "topsecretvalue99",           # the outside tester's
    "s3cret+with/slash=and-more",  # base64-ish characters, + read as a space in a query
    "pässwörd-ünïcode-42",        # non-ASCII: UTF-8 read as Latin-1 is a form too
    "abcdef",                     # the shortest secret scrubbed (6 characters)
    "Zm9vYmFyYmF6cXV4" * 4,       # long (64): any letter case is scrubbed
    b"bytes-secret-0123",         # given as bytes
]


def _text(secret: str | bytes) -> str:
    return secret if isinstance(secret, str) else secret.decode()


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _forms(secret: str | bytes) -> list[str]:
    """Every spelling of ``secret`` a reason must not hold."""
    text = _text(secret)
    raw = text.encode()
    forms = {text, raw.decode("latin-1"), _b64(raw), _b64(raw).rstrip("="),
             base64.urlsafe_b64encode(raw).decode().rstrip("="), _b64(b"u:" + raw),
             _b64(b"u:" + raw).rstrip("="), text.replace("+", " "), text.replace(" ", "+")}
    return sorted(forms)


def _word(text: str, start: int = 1, size: int = 6) -> str:
    """A run of letters and digits of ``text`` (a bin name must be a path segment)."""
    runs = [r for r in re.findall(r"[A-Za-z0-9]+", text) if len(r) > start + 2]
    run = max(runs, key=len)
    return run[start:start + size]


def _bins(secret: str | bytes) -> list[str]:
    """Bin names that are a letter or a word of what the sender puts the secret in."""
    text = _text(secret)
    raw = text.encode()
    names = ["b", "u", "d", "a", "B", "github", "Basic", "secret",
             _word(text),                    # a word of the secret itself
             _word(_b64(raw)),               # of its base64
             _word(_b64(b"u:" + raw), 2),    # of the Basic credentials sent
             raw.hex()[2:10],                # of its hex
             _b64(b"u:" + raw)[:8]]          # the credentials' first 8 characters
    return list(dict.fromkeys(names))


def _senders(secret: str | bytes) -> list[tuple[str, dict[str, str]]]:
    """Where the sender puts the secret: nowhere, Basic credentials (padded or not), a header
    that holds it inside a longer value, its base64 alone."""
    raw = _text(secret).encode()
    return [
        ("none", {}),
        ("basic", {"Authorization": "Basic " + _b64(b"u:" + raw)}),
        ("basic-unpadded", {"Authorization": "Basic " + _b64(b"u:" + raw).rstrip("=")}),
        ("basic-as-user", {"Authorization": "Basic " + _b64(raw + b":p")}),  # (not the password)
        ("inside", {"X-Echo": "github-" + raw.decode("latin-1") + "-b"}),
        ("base64", {"X-Echo": _b64(raw)}),
    ]


def _expected(bin_: str, how: str = "none") -> str:
    # (Basic credentials u:<secret> hold the bin's secret as their password: said as such,
    # with no bin named and no provider to pick, tests/test_basic_password_secret.py)
    if how in ("basic", "basic-unpadded"):
        return ("the bin's secret is the password of the Basic credentials in Authorization: "
                "register the whole user:password as the bin's secret to verify them")
    # (Basic credentials that are not the bin's secret are said to be so first: a wrong
    # password is no missing provider, tests/test_bin_token_wrong_credentials.py)
    other = ("the Authorization header does not hold the bin's secret (wrong credentials?); "
             if how.startswith("basic") else "")
    return (f"{other}{NO_PROVIDER}; give the bin a provider: lab.secret({bin_!r}, ..., "
            "provider='<id>') (ids: hooklab.providers.PROVIDERS)")


@pytest.mark.parametrize("secret", SECRETS, ids=lambda s: repr(s)[:20])
def test_reason_names_the_bin_as_given_and_holds_no_form_of_the_secret(lab: HookLab, secret):
    bins = _bins(secret)
    for bin_ in bins:
        lab.secret(bin_, secret)
    sent = 0
    for bin_ in bins:
        for _, headers in _senders(secret):
            req = urllib.request.Request(lab.url_for(bin_), data=b"{}", method="POST",
                                         headers={"Content-Type": "application/json", **headers})
            with urllib.request.urlopen(req, timeout=10) as r:
                assert r.status == 200
            sent += 1
    got = lab.wait(sent, timeout=30)
    assert len(got) == sent
    rows = iter(got)
    wrong = []
    for bin_ in bins:
        for how, _ in _senders(secret):
            capture = next(rows)
            reason = capture.verify_reason or ""
            assert capture.bin == bin_ and capture.verified is False, (bin_, how, reason)
            if reason != _expected(bin_, how):
                wrong.append((bin_, how, reason))
            leaked = [f for f in _forms(secret)
                      if f in reason or (len(f) >= 16 and f.lower() in reason.lower())]
            assert not leaked, (bin_, how, reason, leaked)
            stored = repr(capture.headers)
            assert not [f for f in _forms(secret) if f in stored], (bin_, how, stored)
    assert not wrong, wrong


@pytest.mark.parametrize("secret", ["topsecretvalue99", "s3cretkey-abc"])
def test_a_bin_named_after_its_secret_is_named_as_scrubbed(lab: HookLab, secret: str):
    """The bin's name in the advice is scrubbed as the path it came from is: a secret a user
    made part of the bin's name is not written out (its name is shown as ``[secret]``)."""
    bin_ = "x" + secret
    lab.secret(bin_, secret)
    raw = secret.encode()
    for _, headers in _senders(secret):
        req = urllib.request.Request(lab.url_for(bin_), data=b"{}", method="POST", headers=headers)
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.status == 200
    got = lab.wait(len(_senders(secret)), timeout=30)
    for capture, (how, _) in zip(got, _senders(secret), strict=True):
        reason = capture.verify_reason or ""
        assert reason == _expected("x[secret]", how), (how, reason)
        assert capture.path == "/x[secret]"
        assert secret not in reason and _b64(raw) not in reason
