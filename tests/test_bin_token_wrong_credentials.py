"""A bin given a secret without a provider takes it as a token of its own (the secret whole,
``Bearer``, ``Basic``): a request carrying other credentials in ``Authorization`` read "unknown
provider: no known signature header found; give the bin a provider", the reason of a request
with none at all, which sent users to set a provider for a wrong password (an outside-in tester
on JupyterHub, where a wrong ``Authorization`` is not stored either). It says so now; the
reason of a request without one is unchanged. Real sockets on 127.0.0.1."""

from __future__ import annotations

import base64

import pytest
from _http import post

NOT_IT = "the Authorization header does not hold the bin's secret (wrong credentials?); "
NO_PROVIDER = ("unknown provider: no known signature header found; give the bin a provider: "
               "lab.secret('tok', ..., provider='<id>') (ids: hooklab.providers.PROVIDERS)")


def _basic(pair: str) -> str:
    return "Basic " + base64.b64encode(pair.encode()).decode()


# (secret, Authorization sent or None, verified, reason)
CASES = [
    ("user:pa ss", _basic("user:pa ss"), True, None),
    ("user:pa ss", _basic("user:WRONG"), False, NOT_IT + NO_PROVIDER),
    ("user:pa ss", _basic("other:pa ss"), False, NOT_IT + NO_PROVIDER),
    ("user:pa ss", "Bearer user:pa ss", True, None),
    ("user:pa ss", None, False, NO_PROVIDER),
    ("tok_7Hq2secret", "Bearer tok_7Hq2secret", True, None),
    ("tok_7Hq2secret", "Bearer tok_wrong", False, NOT_IT + NO_PROVIDER),
    ("tok_7Hq2secret", "token tok_wrong", False, NOT_IT + NO_PROVIDER),
    ("tok_7Hq2secret", "", False, NOT_IT + NO_PROVIDER),
    ("tok_7Hq2secret", None, False, NO_PROVIDER),
]


@pytest.mark.parametrize("secret,auth,verified,reason", CASES)
def test_other_credentials_are_said_as_such(lab, secret, auth, verified, reason) -> None:  # type: ignore[no-untyped-def]
    lab.secret("tok", secret)
    headers = {"Content-Type": "application/json"}
    if auth is not None:
        headers["Authorization"] = auth
    assert post(lab.url_for("tok"), b"{}", headers)[0] == 200
    (cap,) = lab.wait(1, timeout=20)
    assert cap.verified is verified, cap.verify_reason
    if reason is None:
        assert cap.verify_reason.startswith("the bin's secret was sent as a token")
    else:
        assert cap.verify_reason == reason
    assert "WRONG" not in cap.verify_reason and "tok_wrong" not in cap.verify_reason
