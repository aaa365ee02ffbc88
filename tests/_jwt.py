"""HS256 JSON Web Tokens made here from RFC 7519 / RFC 7515 (base64url without padding of the
header and the claims, joined by ``.``, then the HMAC-SHA256 of that text), to check
hooklab's JWT verification against tokens it did not make."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any


def b64url(data: bytes) -> str:
    """base64url without ``=`` padding (RFC 7515, section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256_jwt(secret: str, claims: dict[str, Any]) -> str:
    """A JWT of ``claims`` signed with HMAC-SHA256 under ``secret`` (monday.com's kind)."""
    head = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64url(json.dumps(claims).encode())
    sig = hmac.new(secret.encode(), f"{head}.{payload}".encode(), hashlib.sha256).digest()
    return f"{head}.{payload}.{b64url(sig)}"
