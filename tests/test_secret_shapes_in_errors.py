"""Which typed values an error says as their length: credentials anywhere in them, not names.

The rule first knew a key's prefix only at the start of the value and took any 20 letters
and digits for a token. So ``hooklab serve --provider stripe:whsec_...`` printed the secret
whole (``got 'stripe:whsec_...'``), as did ``--provider "orders=stripe whsec_..."`` and a
stray ``hooklab serve whsec_...`` ("unrecognized arguments"); while a GitHub delivery UUID, a
Stripe event id, a typo'd time, a bin name or a path came out ``<hidden: N characters>``,
which the user needs to see to fix. Each case runs the ``hooklab`` command (or ``%hooklab``
in a real IPython shell) as a user would."""

from __future__ import annotations

import random
import string
from pathlib import Path

import pytest
from test_secret_given_as_name import URL, _run  # (the hooklab command, run to its error)

#: credentials in the shapes their issuers document (made up; none is a real one)
SECRETS = {
    "stripe webhook secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "stripe restricted key": "rk_live_51HxYzAbCdEfGhIjKlMnOpQrSt",
    "stripe test key": "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
    "slack user token": "xoxp-123456789012-123456789012-123456789012-0123456789abcdef0123456789abcdef",
    "slack app token": "xapp-1-A0123456789-1234567890123-abcdef0123456789",
    "github fine-grained token": "github_pat_11ABCDEFG0abcdefghijKL_mnopqrstuvwxyz0123456789ABCDEFGH",
    "github app token": "ghs_16C7e42F292c6912E7710c838347Ae178B4a",
    "gitlab token": "glpat-xY3zW9vU7tS5rQ1pO2nM",
    "aws access key id": "AKIAJ5Q3RZ7WXV2LMN4P",
    "aws secret access key": "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",
    "sendgrid key": "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",
    "google api key": "AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe",
    "shopify admin token": "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",
    "twilio api key sid": "SK0123456789abcdef0123456789abcdef",
    "JWT": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV",
    "password with marks": "P@ssw0rd-2024!",
    "password of words": "mysupersecretpassword",
    # (a word and ``_`` before a key: the object ids' exemption is for object ids only)
    "resend api key": "re_c1tpEyD8NKFusih9vKVQknRAQfmFcWCv",
    "resend api key as issued": "re_c1tpEyD8_NKFusih9vKVQknRAQfmFcWCv",
    "personal access token": "pat_8kQ2mZ7xR4vN1bT6yW3hJ9cL",
    "square oauth secret": "sq0csp-7Pq2Xw9Lm4Rt6Yb1Nc8Vd3Kz5Hg0Jf2Se4Ua6Wo",
    "paddle webhook secret": "pdl_ntfset_01gkpjp8bkm3tm53kdgkx6sms7_6h3mdtS0J0b5BjJJZ2pbrFzBNXrY0Rba",
    # (one case of letters, and digits: under 32 hex digits, random with no word in it)
    "24 hex digits": "4f7890604024d3f45b3bb91f",
    "24 upper case and digits": "OIKLZG3PYZLJ2FEPIA9G1KP6",
    "29 lower case and digits": "hof5gwx0su6owfnys0yan9c87zr6t",
}

#: values that are no credential, which an error must quote (each where a user types it)
NAMES = [
    ("github delivery uuid", ["export", "--db", "c.sqlite3", "--since",
                              "123e4567-e89b-12d3-a456-426614174000"]),
    ("stripe event id", ["export", "--db", "c.sqlite3", "--since", "evt_1NqXyZ2eZvKYlo2C0abc1234"]),
    ("iso time typo", ["export", "--db", "c.sqlite3", "--since", "2026-12-07T06-08-04Z"]),
    ("pod hostname", ["send", "hooklab-7d4b9c8f6-x2k9p"]),
    ("bin name", ["serve", "--port", "0", "--db", "c.sqlite3", "--provider",
                  "stripe-prod-2024-eu-west"]),
    ("path without a dot", ["send", "/home/user/hooklab/data2024"]),
    ("bin with a year", ["send", "github-webhooks-2024"]),
    ("event type", ["send", URL, "--provider", "stripe", "--event", "invoice_payment_failed_v2"]),
    ("camel-case name", ["send", "MyWebhookHandler2024"]),
    ("svix message id", ["export", "--db", "c.sqlite3", "--since", "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"]),
    ("stripe payment intent id", ["export", "--db", "c.sqlite3", "--since",
                                  "pi_3MtwBwLkdIwHu7ix28a3tqPa"]),
    ("paddle customer id", ["export", "--db", "c.sqlite3", "--since", "ctm_01h8441jn5pcwrfhwh78jqt8hk"]),
    ("workos organization id", ["export", "--db", "c.sqlite3", "--since",
                                "org_01EHZNVPK3SFK441A1RGBFSHRT"]),
    ("words run together", ["send", "eventsstripewebhooks2024"]),
    ("nix store path", ["send", "/nix/store/6m1n6sj0ql5v7ckfm2wg7yfvg1n7xq8l-python3-3.11.9"]),
    ("path with 40 hex digits", ["send", "/srv/.git/objects/3f/786850e387550fdab836ed7e6dc881de23001b"]),
]


#: tokens drawn at random as issuers mint them, of one case of letters and digits (ids of 24,
#: keys of 29, 32, 40; hex under the 32 digits always hidden): the share of them, with both
#: letters and digits, that must be said as their length (measured: all but about 1 in 70 at
#: 24 characters, 1 in 300 at 29, 1 in 1000 at 32 and more)
DRAWN = [(alphabet, length, share)
         for alphabet in (string.ascii_lowercase + string.digits, string.ascii_uppercase + string.digits)
         for length, share in ((24, 0.95), (29, 0.98), (32, 0.99), (40, 0.99))] + [
    (string.hexdigits[:16], length, 1.0) for length in (20, 24, 31)]


@pytest.mark.parametrize("alphabet, length, share", DRAWN,
                         ids=[f"{a[:3]}..{a[-3:]}-{n}" for a, n, _ in DRAWN])
def test_tokens_drawn_at_random_of_one_case_are_hidden(alphabet: str, length: int,
                                                       share: float) -> None:
    from hooklab.credentials import looks_like_secret, shown_given

    rng = random.Random(f"{alphabet} {length}")
    drawn = ["".join(rng.choice(alphabet) for _ in range(length)) for _ in range(600)]
    drawn = [t for t in drawn if not t.isdigit() and not t.isalpha()]
    hidden = [t for t in drawn if looks_like_secret(t)]
    assert len(hidden) >= share * len(drawn), sorted(set(drawn) - set(hidden))[:5]
    assert {shown_given(t) for t in hidden} == {f"<hidden: {length} characters>"}


def _no_part_of(secret: str, said: str) -> None:
    for start in range(0, len(secret) - 7):  # (no 8 characters of it in a row)
        assert secret[start:start + 8] not in said, said


# (id, argv with {S} where the secret goes, the words the error keeps, what is hidden: the
# whole value the user typed)
LEAKS = [
    ("provider with ':' for '='",
     ["serve", "--port", "0", "--db", "c.sqlite3", "--provider", "stripe:{S}"],
     "--provider wants BIN=NAME", "stripe:{S}"),
    ("provider after a space",
     ["serve", "--port", "0", "--db", "c.sqlite3", "--provider", "orders=stripe {S}"],
     "unknown provider", "stripe {S}"),
    ("stray word", ["serve", "--port", "0", "--db", "c.sqlite3", "{S}"],
     "unrecognized arguments:", "{S}"),
    ("stray option value", ["send", URL, "--colour={S}"], "unrecognized arguments: --colour=", "{S}"),
]


@pytest.mark.parametrize("argv, words, typed", [c[1:] for c in LEAKS], ids=[c[0] for c in LEAKS])
@pytest.mark.parametrize("secret", [SECRETS["stripe webhook secret"], SECRETS["JWT"]],
                         ids=["whsec", "jwt"])
def test_a_secret_inside_a_value_is_said_as_the_value_length(
        tmp_path: Path, argv: list[str], words: str, typed: str, secret: str) -> None:
    said = _run([a.replace("{S}", secret) for a in argv], tmp_path)
    assert words in said, said
    _no_part_of(secret, said)
    assert f"<hidden: {len(typed.replace('{S}', secret))} characters>" in said, said
    assert not (tmp_path / "c.sqlite3").exists()  # (refused before anything was opened)


@pytest.mark.parametrize("secret", list(SECRETS.values()), ids=list(SECRETS))
def test_each_credential_shape_is_hidden_as_a_stray_word_and_after_a_colon(
        tmp_path: Path, secret: str) -> None:
    said = _run(["serve", "--port", "0", "--db", "c.sqlite3", secret], tmp_path)
    assert f"unrecognized arguments: <hidden: {len(secret)} characters>" in said, said
    _no_part_of(secret, said)
    said = _run(["send", URL, "--provider", f"github:{secret}"], tmp_path)
    assert f"<hidden: {len(secret) + 7} characters>" in said, said
    _no_part_of(secret, said)


@pytest.mark.parametrize("argv", [n[1] for n in NAMES], ids=[n[0] for n in NAMES])
def test_a_name_id_time_host_or_path_is_quoted_as_typed(tmp_path: Path, argv: list[str]) -> None:
    value = next(a for a in reversed(argv) if not a.startswith("-") and a != URL)
    said = _run(argv, tmp_path)
    assert repr(value) in said, said
    assert "<hidden" not in said, said


def test_a_mistyped_command_is_named_and_a_secret_one_is_not(tmp_path: Path) -> None:
    said = _run(["sreve"], tmp_path)
    assert "invalid choice: 'sreve'" in said, said
    secret = SECRETS["password of words"]
    said = _run([secret], tmp_path)
    assert f"invalid choice: <hidden: {len(secret)} characters>" in said, said
    _no_part_of(secret, said)


def test_percent_hooklab_hides_a_secret_inside_a_value_and_names_the_rest(tmp_path: Path) -> None:
    """``%hooklab`` in a real IPython shell: the same rule in its parser's and commands' errors."""
    from IPython.core.error import UsageError
    from IPython.core.interactiveshell import InteractiveShell

    secret = SECRETS["github app token"]
    ip = InteractiveShell.instance()
    ip.run_line_magic("config", "HookLab.port = 0")
    ip.run_line_magic("config", f"HookLab.db = {str(tmp_path / 'm.sqlite3')!r}")
    ip.extension_manager.load_extension("hooklab")
    try:
        for line, hidden in ((f"send github --provider 'github:{secret}'", f"github:{secret}"),
                             (f"df --provider 'stripe {secret}'", f"stripe {secret}"),
                             (f"send github {secret}", secret)):
            with pytest.raises(UsageError) as err:
                ip.run_line_magic("hooklab", line)
            _no_part_of(secret, str(err.value))
            assert f"<hidden: {len(hidden)} characters>" in str(err.value), str(err.value)
        for line, shown in (("df --since 123e4567-e89b-12d3-a456-426614174000",
                             "'123e4567-e89b-12d3-a456-426614174000'"),
                            ("df --since evt_1NqXyZ2eZvKYlo2C0abc1234",
                             "'evt_1NqXyZ2eZvKYlo2C0abc1234'"),
                            ("df --provider stripe-prod-2024-eu-west", "'stripe-prod-2024-eu-west'")):
            with pytest.raises(UsageError) as err:
                ip.run_line_magic("hooklab", line)
            assert shown in str(err.value) and "<hidden" not in str(err.value), str(err.value)
    finally:
        ip.extension_manager.unload_extension("hooklab")
        ip.run_line_magic("config", "HookLab.db = ':memory:'")
