"""Shared plumbing for the signature providers (private; see :mod:`hooklab.signatures`).

A provider is a pair of functions:

- ``verify(incoming: Incoming) -> str`` returns the "ok ..." reason or raises :class:`Invalid`
  with a reason that helps the user;
- ``sign(outgoing: Outgoing) -> SignedRequest`` returns what to send (may raise ``ValueError``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, NamedTuple

#: the default hint when a recomputed signature does not match
MISMATCH = "signature mismatch: was the body re-serialised? was the secret for another endpoint?"
#: how a reason ends when the signature matched but its timestamp did not pass
MATCHED = "(the signature itself matches)"

_TS_RE = re.compile(r"\s*\d{1,15}\s*")


class Invalid(Exception):
    """Verification failed; ``str(exc)`` is the reason shown to the user."""


class SignedRequest(NamedTuple):
    """What to send for a signed delivery: the URL, the headers to add, and the body.

    ``url`` and ``body`` differ from the input only where the provider needs it
    (Twilio JSON bodies add ``bodySHA256`` to the URL; Mailgun carries its signature in the body).
    """

    url: str | None
    headers: dict[str, str]
    body: bytes


def key_bytes(secret: str | bytes) -> bytes:
    """The HMAC key for a secret given as text (UTF-8) or bytes."""
    if isinstance(secret, bytes):
        return secret
    return secret.encode("utf-8", "surrogatepass")


def text(value: str | bytes) -> bytes:
    return value.encode("utf-8", "surrogatepass") if isinstance(value, str) else value


def same(a: str | bytes, b: str | bytes) -> bool:
    """Constant-time equality of two strings or byte strings."""
    return hmac.compare_digest(text(a), text(b))


def hmac_digest(key: bytes, msg: bytes, algo: Any = hashlib.sha256) -> bytes:
    return hmac.new(key, msg, algo).digest()


def hmac_hex(key: bytes, msg: bytes, algo: Any = hashlib.sha256) -> str:
    return hmac.new(key, msg, algo).hexdigest()


def hmac_b64(key: bytes, msg: bytes, algo: Any = hashlib.sha256) -> str:
    return base64.b64encode(hmac.new(key, msg, algo).digest()).decode("ascii")


def b64decode(value: str, what: str) -> bytes:
    """Strict base64 (missing padding tolerated); ``Invalid`` naming ``what`` otherwise."""
    s = value.strip()
    try:
        return base64.b64decode(s + "=" * (-len(s) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise Invalid(f"{what} is not valid base64") from None


def parse_ts(value: str, where: str) -> int:
    """Unix seconds from a header field; ``Invalid`` when it is not an integer."""
    if not _TS_RE.fullmatch(value):
        raise Invalid(f"malformed {where}: expected unix seconds, got {short(value)}")
    return int(value)


_ISO_RE = re.compile(
    r"\s*(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:[.,](\d{1,12}))?(Z|[+-]\d{2}:?\d{2})?\s*",
    re.IGNORECASE)


def parse_time(value: str, unit: str, where: str) -> float:
    """Epoch seconds from a signed timestamp: ``unit`` is ``s``, ``ms`` or ``iso`` (RFC 3339)."""
    if unit == "iso":
        m = _ISO_RE.fullmatch(value)
        if not m:
            raise Invalid(f"malformed {where}: expected an RFC 3339 time, got {short(value)}")
        day, clock, frac, zone = m.groups()
        zone = (zone or "Z").upper()
        if zone != "Z" and ":" not in zone:
            zone = zone[:3] + ":" + zone[3:]
        try:
            dt = datetime.fromisoformat(f"{day}T{clock}{'+00:00' if zone == 'Z' else zone}")
        except ValueError:
            raise Invalid(f"malformed {where}: {short(value)} is not a valid time") from None
        return dt.timestamp() + (float("0." + frac) if frac else 0.0)
    ts = parse_ts(value, where)
    return ts / 1000 if unit == "ms" else float(ts)


def format_time(ts: int, unit: str) -> str:
    """The inverse of :func:`parse_time` for signing (``iso`` with millisecond precision)."""
    if unit == "iso":
        dt = datetime.fromtimestamp(ts, timezone.utc)
        return dt.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return str(ts * 1000 if unit == "ms" else ts)


#: how a reason starts when no provider was given and no header names one
NO_PROVIDER = "unknown provider: no known signature header found"
#: where the provider ids are, for a reason (one line: the 94 ids themselves made it 907
#: characters, the whole Details pane of the live view)
PROVIDER_IDS = "ids: hooklab.providers.PROVIDERS"


def short(value: object, limit: int = 40) -> str:
    """A repr that cannot flood a reason."""
    r = repr(value)
    return r if len(r) <= limit else r[: limit - 3] + "..."


@dataclass(frozen=True)
class Incoming:
    """A request to verify: lower-cased headers (first value wins), exact body, clock.

    ``tolerance``: seconds a signed timestamp may be older than ``now`` (``<= 0``: no check);
    ``ahead``: seconds it may be ahead of ``now`` (``None``: ``tolerance``; ``math.inf``: any).
    ``url_received``: ``url`` is where the request arrived (behind a proxy, not where the
    sender sent it), not a URL the caller vouched for.
    """

    headers: dict[str, str]
    body: bytes
    secret: str | bytes
    url: str | None
    now: float
    tolerance: float
    method: str = "POST"
    ahead: float | None = None
    #: ``url`` is the URL the request was received at (a capture's), not one the caller gave
    url_received: bool = False

    @property
    def key(self) -> bytes:
        return key_bytes(self.secret)

    def opt(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def header(self, name: str, hint: str = "") -> str:
        """The header value, or ``Invalid("missing header Name")``."""
        value = self.headers.get(name.lower())
        if value is None:
            raise Invalid(f"missing header {name}{hint}")
        return value

    def stale(self, ts: float) -> str | None:
        """Why ``ts`` is outside the window, or ``None``; ``tolerance <= 0`` disables.

        >>> inc = Incoming({}, b"", "k", None, now=1000.0, tolerance=5)
        >>> inc.stale(990), inc.stale(1003), inc.stale(1009)
        ('timestamp 10 s old, beyond tolerance 5 s', None, 'timestamp 9 s in the future, beyond tolerance 5 s')
        >>> Incoming({}, b"", "k", None, 1000.0, 5, ahead=math.inf).stale(9999) is None
        True
        """
        if not self.tolerance or self.tolerance <= 0:
            return None
        if ts > 1e11:  # milliseconds
            ts = ts / 1000
        age = self.now - ts
        if age > self.tolerance:
            return f"timestamp {math.ceil(age)} s old, beyond tolerance {_fmt(self.tolerance)} s"
        ahead = self.tolerance if self.ahead is None else self.ahead
        if -age > ahead:
            return f"timestamp {math.ceil(-age)} s in the future, beyond tolerance {_fmt(ahead)} s"
        return None

    def conclude(
        self,
        index: int | None,
        count: int,
        ts: float | None = None,
        *,
        mismatch: str = MISMATCH,
        note: str = "",
    ) -> str:
        """Turn "which signature matched" plus the timestamp check into a reason."""
        stale = None if ts is None else self.stale(ts)
        if index is None:
            raise Invalid(mismatch + (f" (also: {stale})" if stale else ""))
        if stale:
            raise Invalid(f"{stale} {MATCHED}")
        extras = [f"signature {index + 1} of {count}"] if count > 1 else []
        if note:
            extras.append(note)
        return f"ok ({'; '.join(extras)})" if extras else "ok"


@dataclass
class Outgoing:
    """A request to sign."""

    secret: str | bytes
    body: bytes
    url: str | None
    timestamp: int
    msg_id: str
    method: str = "POST"
    params: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> bytes:
        return key_bytes(self.secret)

    def done(self, headers: dict[str, str], *, url: str | None = None,
             body: bytes | None = None) -> SignedRequest:
        return SignedRequest(self.url if url is None else url, headers,
                             self.body if body is None else body)

    def need_url(self, provider: str) -> str:
        if not self.url:
            raise ValueError(f"{provider} signs the request URL: pass url=")
        return self.url


class Scheme(NamedTuple):
    """A signature family: ``verify(incoming, entry) -> reason`` and ``sign(outgoing, entry)``,
    where ``entry`` is the provider's row of :data:`hooklab.providers.TABLE`."""

    verify: Callable[[Incoming, Any], str]
    sign: Callable[[Outgoing, Any], SignedRequest]


def first_match(expected: bytes | str, candidates: list[Any]) -> int | None:
    """Index of the first candidate equal to ``expected`` (each compared in constant time)."""
    found = None
    for i, cand in enumerate(candidates):
        if cand is not None and same(expected, cand) and found is None:
            found = i
    return found


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)
