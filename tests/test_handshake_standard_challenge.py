"""Standard Webhooks' endpoint verification (``webhook-challenge``) through real HTTP on
127.0.0.1: any request carrying the header is answered (204 + ``webhook-challenge-response``,
as the official ``standardwebhooks`` SDK's README answers it, "without processing the body"),
but only the bare challenge (a POST with no body) is stored unchecked. A delivery with the
header added -- a body, another method, another sender's headers -- is checked as any
delivery; a challenge carrying the family's signature headers is checked by them."""

from __future__ import annotations

from typing import Any

import pytest
from _handshake_http import default_answer, request
from standardwebhooks.webhooks import Webhook

from hooklab import HookLab
from hooklab.signatures import sign_request

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OTHER = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"  # (another endpoint's key: a forger's guess)
CHALLENGE = "c2f1b6e4a9d84b7e"
EVENT = b'{"type": "invoice.paid", "timestamp": "2026-01-01T00:00:00Z", "data": {"id": "in_1"}}'
JSON = {"Content-Type": "application/json"}
ASK = {"webhook-challenge": CHALLENGE}
UNSIGNED = "not signed: an endpoint verification, no delivery"
MISSING = "missing header webhook-id"
MISMATCH = "signature mismatch"
UNKNOWN = "unknown provider: no known signature header found"


def _signed(secret: str, body: bytes, prefix: str = "standardwebhooks") -> dict[str, Any]:
    """Signature headers to be made when the test runs (:func:`_fresh`), not when the module
    is imported: a suite run imports it minutes before, past the 300 s tolerance."""
    return {SIGN: (secret, body, prefix)}


SIGN = "__sign__"


def _fresh(headers: dict[str, Any]) -> dict[str, str]:
    """``headers`` with the signature :func:`_signed` asked for, made now."""
    out = dict(headers)
    asked = out.pop(SIGN, None)
    if asked is not None:
        secret, body, prefix = asked
        out.update(sign_request(prefix, secret, body=body).headers)
    return out


def _answer() -> str:
    return Webhook(SECRET).endpoint_verification_response(CHALLENGE)


#: (case, bin's provider, method, headers, body, answered, verified, verify_reason prefix)
#: answered: the challenge is answered (204 + webhook-challenge-response), as every request
#: carrying the header is; verified / reason: the bare challenge unchecked, the rest checked
SHAPES = [
    # the spec's challenge: a POST with no body
    ("spec", "standardwebhooks", "POST", ASK, b"", True, None, UNSIGNED),
    ("spec-content-type", "standardwebhooks", "POST", {**ASK, **JSON}, b"", True, None,
     UNSIGNED),
    ("spec-no-provider", None, "POST", ASK, b"", True, None, UNSIGNED),
    # a challenge that carries signature headers: answered, and checked by them
    ("empty-signed", "standardwebhooks", "POST", {**ASK, **_signed(SECRET, b"")}, b"", True,
     True, "ok"),
    ("empty-forged-signature", "standardwebhooks", "POST", {**ASK, **_signed(OTHER, b"")}, b"",
     True, False, MISMATCH),
    # a delivery with the header added: answered (harmless), but checked as any delivery
    ("body", "standardwebhooks", "POST", {**ASK, **JSON}, EVENT, True, False, MISSING),
    ("body-no-provider", None, "POST", {**ASK, **JSON}, EVENT, True, False, MISSING),
    ("body-forged-signature", "standardwebhooks", "POST",
     {**ASK, **JSON, **_signed(OTHER, EVENT)}, EVENT, True, False, MISMATCH),
    ("body-signed", "standardwebhooks", "POST", {**ASK, **JSON, **_signed(SECRET, EVENT)},
     EVENT, True, True, "ok"),
    ("body-text", "standardwebhooks", "POST", {**ASK, "Content-Type": "text/plain"},
     b"invoice paid", True, False, MISSING),
    ("put-body", "standardwebhooks", "PUT", {**ASK, **JSON}, EVENT, True, False, MISSING),
    ("get-empty", "standardwebhooks", "GET", ASK, b"", True, False, MISSING),
    ("options-empty", "standardwebhooks", "OPTIONS", ASK, b"", True, False, MISSING),
    ("delete-empty", "standardwebhooks", "DELETE", ASK, b"", True, False, MISSING),
    ("empty-github-headers", "standardwebhooks", "POST",
     {**ASK, "X-GitHub-Event": "push", "X-GitHub-Delivery": "d-1"}, b"", True, False, MISSING),
    ("svix-body-forged", "svix", "POST", {**ASK, **JSON, **_signed(OTHER, EVENT, "svix")}, EVENT,
     True, False, MISMATCH),
]


@pytest.mark.parametrize("case,registered,method,headers,body,answered,verified,reason", SHAPES,
                         ids=[s[0] for s in SHAPES])
def test_only_the_spec_challenge_escapes_the_signature_check(
        lab: HookLab, case: str, registered: str | None, method: str, headers: dict[str, str],
        body: bytes, answered: bool, verified: bool | None, reason: str) -> None:
    """A forged delivery with a ``webhook-challenge`` header added was answered 204 and stored
    ``verified=None``, "not signed: an endpoint verification, no delivery", where the same body
    without the header is ``verified=False``: the header kept it out of the signature failures
    (and a challenge's signature headers were never looked at)."""
    lab.secret("swh", SECRET, provider=registered)
    reply = request(lab, method, "/swh", body, _fresh(headers))
    cap = lab.wait(1, timeout=10, bin="swh")[0]
    if answered:
        assert reply.status == 204 and reply.body == b"", (reply.status, reply.body)
        assert reply.header("webhook-challenge-response") == _answer()
        assert cap.event_type == "endpoint_verification" and cap.handshake
    else:
        assert default_answer(reply), (reply.status, reply.body)
        assert reply.header("webhook-challenge-response") is None
        assert cap.event_type != "endpoint_verification" and not cap.handshake, (
            cap.event_type, cap.handshake)
    assert cap.verified is verified, (cap.verified, cap.verify_reason)
    assert cap.verify_reason is not None and cap.verify_reason.startswith(reason), \
        cap.verify_reason
