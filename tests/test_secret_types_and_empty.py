"""``lab.secret`` refuses a secret that is no str or bytes (``TypeError``), a verify token
that is no str, and an empty secret (``ValueError``), before anything is set. An int secret or
a numeric verify token was taken: every capture to ANY bin was then refused 503 "capture not
stored: AttributeError", and every later ``lab.secret`` raised the same, until the lab was
reset. An empty secret (an environment variable not set in CI) removed the bin's secret
without a word, so a forged signature was stored ``verified=None`` and
``assert_received(count=0, verified=False)`` passed (an outside tester, with the pytest
plugin). ``respond(delay=)`` takes a number, as every other time does ("1" was taken)."""

from __future__ import annotations

import numpy as np
import pytest

import hooklab

#: (secret, verify_token, exception, words)
REFUSED = [
    (12345, None, TypeError, "secret must be str, bytes or None"),
    (1.5, None, TypeError, "not float"),
    (memoryview(b"abc"), None, TypeError, "not memoryview"),
    (["a"], None, TypeError, "not list"),
    (True, None, TypeError, "not bool"),
    (None, 123456, TypeError, "verify_token must be a str, not int"),
    ("s3cret", 1.0, TypeError, "verify_token must be a str, not float"),
    ("", None, ValueError, "empty secret: give the secret, or None to remove"),
    (b"", None, ValueError, "empty secret"),
    # (a reviewer: an empty verify token matched a Meta check that sent none, 200 + verified)
    ("s3cret", "", ValueError, "empty verify_token"),
]


@pytest.fixture()
def lab():
    lab = hooklab.HookLab(port=0, db=":memory:").start()  # (not the default lab: conftest
    yield lab  # stops that one after each test)
    lab.stop()


@pytest.mark.parametrize(("secret", "token", "error", "words"), REFUSED)
def test_a_secret_of_no_use_is_refused_and_the_lab_goes_on(lab, secret, token, error,
                                                           words) -> None:
    lab.secret("orders", "whsec_before", provider="stripe")
    with pytest.raises(error, match=words):
        lab.secret("orders", secret, provider="stripe", verify_token=token)
    # the bin keeps its secret, and every bin goes on capturing
    r = hooklab.send(lab.url_for("orders"), provider="stripe", secret="whsec_before")
    assert r.status == 200
    assert hooklab.send(lab.url_for("other"), payload={}).status == 200
    caps = lab.wait(2, timeout=20)
    assert (caps[0].bin, caps[0].verified) == ("orders", True)
    lab.secret("more", "another-secret")  # (and later secrets are taken)


@pytest.mark.parametrize("delay", ["1", True, b"1", None, [1]])
def test_respond_takes_a_number_of_seconds(lab, delay) -> None:
    with pytest.raises(TypeError, match="delay must be a number of seconds"):
        lab.respond("o", status=202, delay=delay)
    assert len(lab.rules) == 0


@pytest.mark.parametrize("delay", [0, 0.05, np.float64(0.05), np.int64(0)])
def test_respond_delay_numbers_are_taken(lab, delay) -> None:
    lab.respond("o", status=202, delay=delay)
    assert hooklab.send(lab.url_for("o"), payload={}).status == 202
