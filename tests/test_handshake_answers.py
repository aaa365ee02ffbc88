"""Provider answers beyond the first check, through real HTTP on 127.0.0.1: Xero's deliveries
(200 with no body, 401 for a wrong signature, as its "Configuring your server" asks of every
request), Discord's interactions (401 for a bad or missing signature, a deferred
acknowledgement when it verifies), X's CRC on a bin kept from answering it, and how refused
handshakes are marked."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest

from hooklab import HookLab
from hooklab.providers import MAX_ECHO
from hooklab.signatures import sign_request


@dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def has(self, name: str) -> bool:
        return any(k.lower() == name.lower() for k, _ in self.headers)


def request(lab: HookLab, method: str, target: str, body: bytes = b"",
            headers: dict[str, str] | None = None) -> Reply:
    """One request on a fresh connection (real socket, 10 s at most)."""
    conn = http.client.HTTPConnection("127.0.0.1", lab.bound_port, timeout=10)
    try:
        conn.request(method, target, body=body or None, headers=headers or {})
        r = conn.getresponse()
        return Reply(r.status, r.getheaders(), r.read())
    finally:
        conn.close()


def default_answer(reply: Reply) -> bool:
    """hooklab's own answer to a capture: ``{"ok": true, "id": N}``."""
    return reply.status == 200 and set(json.loads(reply.body)) == {"ok", "id"}


MISMATCH = "signature mismatch"
X_SECRET = "z3ZX4v7mAAUGykl3EcmkqbartmuW8VFOOzCloLx9Q45P0hLrFu"


# -- refused handshakes --------------------------------------------------------------------------
def _x_token(token: str) -> str:
    digest = hmac.new(X_SECRET.encode(), token.encode(), hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


LONG = "7" * (MAX_ECHO + 1)
TOO_LONG = f"refused with 400, the challenge is longer than {MAX_ECHO} bytes"
SLACK = "slack-signing-secret-1"


def _slack(challenge: str, secret: str) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"token": "t", "challenge": challenge, "type": "url_verification"}).encode()
    headers = {"Content-Type": "application/json"}
    headers.update(sign_request("slack", secret, body=body, headers=headers).headers)
    return body, headers


#: (case, lab.secret args, method, target, body, headers, status, note, verified, reason)
REFUSED = [
    ("dropbox-long", ("dropbox", "dbx-secret-1"), "GET", f"/b?challenge={LONG}", b"", {}, 400,
     f"dropbox challenge: {TOO_LONG}", None, "handshake: dropbox does not sign it"),
    ("meta-long-token-matches", ("meta", "app-secret-1", "vt"), "GET",
     f"/b?hub.mode=subscribe&hub.challenge={LONG}&hub.verify_token=vt", b"", {}, 400,
     f"meta hub.challenge: {TOO_LONG} (verify token matches)", True, "ok"),
    ("meta-short-token-matches", ("meta", "app-secret-1", "vt"), "GET",
     "/b?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=vt", b"", {}, 200,
     "meta hub.challenge: echoed (verify token matches)", True, "ok"),
    ("meta-long-token-wrong", ("meta", "app-secret-1", "vt"), "GET",
     f"/b?hub.mode=subscribe&hub.challenge={LONG}&hub.verify_token=no", b"", {}, 403,
     "meta hub.challenge: refused with 403", False, "hub.verify_token does not match"),
    ("x-long", ("x", X_SECRET), "GET", "/b?crc_token=" + "a" * (MAX_ECHO + 1), b"", {}, 400,
     f"x crc_token: {TOO_LONG}", None, "handshake: x does not sign it"),
    ("x-json-token", ("x", X_SECRET), "GET", "/b?crc_token=true", b"", {}, 400,
     "x crc_token: refused with 400, not a token", None, "handshake: x does not sign it"),
    ("x-answered", ("x", X_SECRET), "GET", "/b?crc_token=abc", b"", {}, 200,
     "x crc_token: response_token sent", None, "handshake: x does not sign it"),
    ("slack-long-signed", ("slack", SLACK), "POST", "/b", *_slack(LONG, SLACK), 400,
     f"slack url_verification: {TOO_LONG} (signature verified)", True, "ok"),
    ("slack-long-wrong-key", ("slack", SLACK), "POST", "/b", *_slack(LONG, "other-secret"), 401,
     "slack url_verification: refused with 401 (signature invalid", False, MISMATCH),
    ("slack-long-unchecked", None, "POST", "/b", *_slack(LONG, SLACK), 400,
     f"slack url_verification: {TOO_LONG} (signature unchecked: no secret for this bin)",
     None, None),
    ("asana-not-printable", ("asana", "asana-secret-1"), "POST", "/b", b"",
     {"X-Hook-Secret": "caf\u00e9"}, 400,
     "asana X-Hook-Secret: refused with 400, not a printable header value", None,
     "handshake: asana does not sign it"),
]


@pytest.mark.parametrize("case,given,method,target,body,headers,status,note,verified,reason",
                         REFUSED, ids=[r[0] for r in REFUSED])
def test_a_refused_handshake_is_marked_as_its_answer_would_be(
        lab: HookLab, case: str, given: Any, method: str, target: str, body: bytes,
        headers: dict[str, str], status: int, note: str, verified: bool | None,
        reason: str | None) -> None:
    """One rule (the module docstring of ``hooklab.providers.handshake``): what was checked
    stands whether the challenge is answered or refused. A refusal read "challenge echoed
    (signature verified): refused, ..."; X's over-long token was stored verified=False
    ("missing header ...") where a JSON-value token was None."""
    if given:
        lab.secret("b", given[1], provider=given[0],
                   verify_token=given[2] if len(given) > 2 else None)
    reply = request(lab, method, quote(target, safe="/?=&"), body, headers)
    assert reply.status == status, (reply.status, reply.body)
    assert reply.header("X-Content-Type-Options") == "nosniff"
    if status == 400:
        error = json.loads(reply.body)
        assert error["ok"] is False and LONG not in error["error"]
        assert LONG.encode() not in reply.body and b"a" * MAX_ECHO not in reply.body
    if case == "x-answered":
        assert json.loads(reply.body) == {"response_token": _x_token("abc")}
    cap = lab.wait(1, timeout=10, bin="b")[0]
    assert cap.handshake.startswith(note), cap.handshake
    if status != 200:  # says what happened: no "echoed" or "sent" in a refusal
        assert "echoed" not in cap.handshake and " sent" not in cap.handshake, cap.handshake
    assert (cap.status, cap.verified) == (status, verified), (cap.verified, cap.verify_reason)
    if reason is None:
        assert cap.verify_reason is None
    else:
        assert (cap.verify_reason or "").startswith(reason), cap.verify_reason
