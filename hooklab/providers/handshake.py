"""Endpoint handshakes: the checks a provider makes before it sends a single event.

The capture server asks :func:`handshake_answer` about every request; where no response rule
of the user answers it (and ``handshakes`` is on), a handshake is answered the way its
provider expects (and stored like any capture, marked with what was answered); where one does,
it is only recognised (``answering=False``: stored with its provider, event type and delivery
id all the same, nothing learned from it). Anything else gets ``None``.

>>> secrets = BinSecrets()
>>> record = {"method": "POST", "path": "/slack", "query": {}, "url": "http://h/slack",
...           "headers": [("Content-Type", "application/json")],
...           "body": b'{"token": "t", "challenge": "3eZbrw1aB", "type": "url_verification"}'}
>>> a = handshake_answer(record, secrets)
>>> a.status, a.body, a.provider, a.note
(200, b'3eZbrw1aB', 'slack', 'slack url_verification: challenge echoed (signature unchecked: no secret for this bin)')

Values a handshake needs come from the lab's :class:`BinSecrets` (``lab.secret(bin, secret,
provider=..., verify_token=...)``): Zoom and X sign their challenge with the bin's secret; a
registered ``verify_token`` makes Meta and Strava subscriptions with another token get 403;
Discord's PING is answered only with a valid signature. Echoed values are sent as
``text/plain`` (or JSON) with ``X-Content-Type-Options: nosniff`` and at most
:data:`MAX_ECHO` bytes, never as HTML. Amazon SNS subscriptions are never confirmed here: that
needs an outgoing request (``capture.confirm_subscription()``).

Some providers want their deliveries answered their way too (``handshake`` False: the capture
keeps its event type): Discord's webhook events get 204; Discord's interactions a deferred
acknowledgement (``{"type": 5}`` for a command, ``{"type": 6}`` for a component); Xero's
deliveries 200 with no body; each 401 (and still stored) when the bin's secret shows the
signature is wrong.

How a handshake's capture is marked (``verified``, ``verify_reason``), whether it is answered,
refused or left unanswered -- one rule:

- a signature or verify token was checked: ``True``/``"ok"``, or ``False`` with why (and the
  answer is 401 or 403);
- a handshake its provider never signs (Dropbox's challenge, X's CRC...), on a bin registered
  for that provider, set without ``provider=``, or with nothing set: ``None``,
  ``"handshake: <provider> does not sign it"`` (X's CRC, not answered on a bin set without
  ``provider='x'``, says how to have it answered) -- unless the bin has a secret and the
  request is more than the handshake: a body (not Notion's, which is the token alone), a
  header naming another sender; that is a delivery with a handshake's marker added, checked
  as any request;
- otherwise it is checked as any request, by the bin's secret (a ``?challenge=`` GET to a
  GitHub bin is no Dropbox handshake).

A refusal of the challenge itself (400: longer than :data:`MAX_ECHO`, not a token, not a
header value) says nothing of who sent it and changes none of this; its note says it was
refused and why, after what was checked:

>>> a = handshake_answer({**record, "body": record["body"].replace(b"3eZbrw1aB", b"x" * 3000)},
...                      secrets)
>>> a.status, a.note, a.verified
(400, 'slack url_verification: refused with 400, the challenge is longer than 2048 bytes (signature unchecked: no secret for this bin)', None)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from .._pathbin import bin_of
from .detect import describe, detect, header_section, parse_json
from .table import TABLE

__all__ = ["HANDSHAKE_SEEN", "MAX_ECHO", "Answer", "BinSecret", "BinSecrets", "handshake_answer"]

#: longest challenge echoed back (bytes); longer ones are refused with 400
MAX_ECHO = 2048
#: the record key :meth:`Answer.classify` sets: its provider came from a handshake (read by
#: the checks on arrival, never stored)
HANDSHAKE_SEEN = "handshake_seen"
_SAFE = (("X-Content-Type-Options", "nosniff"), ("Cache-Control", "no-store"))
_TEXT = ("Content-Type", "text/plain; charset=utf-8")
_JSON = ("Content-Type", "application/json")
_HEADER_VALUE = re.compile(r"[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?")

#: ``verify(provider, secret, headers, body, url, method) -> (valid, reason)``
Verifier = Callable[[str, "str | bytes", list, bytes, "str | None", str], "tuple[bool, str]"]


class BinSecret(NamedTuple):
    """What the lab knows about one bin: its secret, provider and (Meta/Strava) verify token."""

    secret: str | bytes | None
    provider: str | None
    verify_token: str | None = None
    #: handed over by a handshake (Asana, Notion), not set with ``lab.secret``
    learned: bool = False
    #: two handshakes handed over different secrets: nothing verifies until ``lab.secret``
    conflicted: bool = False


#: bins that may learn a secret from a handshake (a sender could otherwise fill memory)
MAX_LEARNED = 256
#: handshakes whose handed-over values are kept for forward and replay (oldest dropped first)
MAX_HANDED = 1024


def _arrival(bin_: str, received_at: Any, body: bytes) -> tuple[str, str, bytes]:
    """What tells one received request from any other: its bin, arrival time and body."""
    return bin_, str(received_at), hashlib.blake2b(body, digest_size=16).digest()


class BinSecrets:
    """Per-bin secrets of a lab (memory only; thread-safe), and its handshake settings.

    ``handshakes``: answer handshakes automatically (``HookLab.handshakes``). ``verifier``:
    how signed handshakes (Discord's PING, Slack, Zoom, Twitch, Xero) are checked; set by the
    lab to :func:`hooklab.signatures.verify_signature`. ``standard_key``: the HMAC key of a
    Standard Webhooks secret (``whsec_...``, Supabase's ``v1,whsec_...``), as deliveries are
    checked with it; set by the lab.
    """

    def __init__(self) -> None:
        self._bins: dict[str, BinSecret] = {}
        #: what handshakes handed over, as it came (see :meth:`hand_over`)
        self._handed: dict[tuple[str, str, bytes], tuple[str, ...]] = {}
        #: (bin, arrival time) of each of them, counted: any other capture (nearly all that
        #: forward and replay send) is told apart without hashing its body
        self._handed_at: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()
        #: bumped by every change of what lab.secret() set (what is scrubbed follows it)
        self.version = 0
        self.handshakes = True
        self.verifier: Verifier | None = None
        self.standard_key: Callable[[str | bytes], bytes] | None = None

    def __bool__(self) -> bool:
        return bool(self._bins)

    def __len__(self) -> int:
        return len(self._bins)

    def get(self, bin_: str) -> BinSecret | None:
        with self._lock:
            return self._bins.get(bin_)

    def set(self, bin_: str, secret: str | bytes | None, provider: str | None = None,
            verify_token: str | None = None) -> None:
        """Register ``bin_`` (``lab.secret``); only all three ``None`` forget it. A provider
        given without a secret (Nylas checks its URL before it hands out the secret) still
        names the bin's sender: its handshakes and deliveries are that provider's, unchecked.

        >>> s = BinSecrets(); s.set("ny", None, provider="nylas"); s.get("ny").provider
        'nylas'
        >>> s.set("ny", None); s.get("ny") is None
        True
        """
        with self._lock:
            if secret is None and provider is None and verify_token is None:
                self._bins.pop(bin_, None)
            else:
                self._bins[bin_] = BinSecret(secret, provider, verify_token)
            self.version += 1

    def remember(self, bin_: str, secret: str, provider: str) -> str | None:
        """Keep a secret handed over by a handshake (Asana, Notion) for a bin nothing was set
        for: ``None`` when kept (or it is the one already learned), else why not. A request
        never replaces what ``lab.secret`` set for the bin (whatever its provider), nor a
        secret an earlier handshake handed over: whoever can send to the bin could otherwise
        swap in their own key and have forged deliveries marked verified."""
        with self._lock:
            cur = self._bins.get(bin_)
            if cur is None:
                if sum(e.learned for e in self._bins.values()) >= MAX_LEARNED:
                    return f"{MAX_LEARNED} bins learned a secret already (set it with lab.secret)"
                self._bins[bin_] = BinSecret(secret, provider, None, learned=True)
                return None
            if not cur.learned:
                return "the bin has settings you gave with lab.secret(), kept as they are"
            if cur.conflicted:
                return (f"different secrets were handed over for this bin; it verifies nothing"
                        f" until lab.secret({bin_!r}, ...) sets the right one")
            if (cur.provider, cur.secret) == (provider, secret):
                return None  # (the same handshake again)
            # a second, different secret: one of the two came from someone else, and which
            # is not known, so neither is trusted
            self._bins[bin_] = BinSecret(None, cur.provider, cur.verify_token, learned=True,
                                         conflicted=True)
            return (f"a different {cur.provider} secret was handed over before; this bin now"
                    f" verifies nothing until lab.secret({bin_!r}, ...) sets the right one")

    def hand_over(self, bin_: str, received_at: Any, body: bytes, values: tuple[str, ...]) -> None:
        """Keep the values a handshake handed over (Asana's ``X-Hook-Secret`` fields, in
        order), which its capture stores as ``[secret]``, for forward and replay to give back
        to that capture only (:meth:`handed_over`): whoever answered it, the app a forward
        feeds learns the secret from it. Memory only, the last :data:`MAX_HANDED`."""
        key = _arrival(bin_, received_at, body)
        with self._lock:
            if key not in self._handed:
                self._handed_at[key[:2]] = self._handed_at.get(key[:2], 0) + 1
            self._handed[key] = values
            while len(self._handed) > MAX_HANDED:
                old = next(iter(self._handed))
                del self._handed[old]
                left = self._handed_at.pop(old[:2]) - 1
                if left:
                    self._handed_at[old[:2]] = left

    def handed_over(self, bin_: str, received_at: Any, body: bytes) -> tuple[str, ...] | None:
        """What :meth:`hand_over` kept for the capture of ``bin_`` received at
        ``received_at`` with ``body`` (``None``: none, e.g. one imported or from before a
        restart).

        >>> s = BinSecrets(); s.hand_over("a", 1, b"", ("k1",))
        >>> s.handed_over("a", 1, b""), s.handed_over("b", 1, b"")
        (('k1',), None)
        """
        with self._lock:
            if (bin_, str(received_at)) not in self._handed_at:
                return None  # (no handshake of that bin at that time: its body is not hashed)
        key = _arrival(bin_, received_at, body)
        with self._lock:
            return self._handed.get(key)

    def entries(self) -> list[BinSecret]:
        """What is known for every bin (a copy)."""
        with self._lock:
            return list(self._bins.values())

    def clear(self) -> None:
        with self._lock:
            self._bins.clear()
            self.version += 1


@dataclass(frozen=True)
class Answer:
    """A handshake's answer, and how to mark its capture.

    ``status is None``: recognised but not answered here (the normal answer goes out), e.g. a
    Zoom validation without a secret, or an SNS subscription (confirmed only on request).
    """

    #: None: a handshake whose sender the request does not tell (Dropbox's or Nylas's)
    provider: str | None
    event_type: str
    note: str
    status: int | None = 200
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    verified: bool | None = None
    verify_reason: str | None = None
    #: False: an ordinary delivery the provider wants answered its way (Discord's webhook
    #: events: 204): the capture keeps its detected event type and no ``handshake`` note
    handshake: bool = True

    def mark(self, record: dict[str, Any]) -> None:
        """Mark a capture record as this handshake, answered here: what :meth:`classify`
        marks, the ``handshake`` note and the status answered."""
        self.classify(record)
        if self.handshake:
            record["handshake"] = self.note
        if self.status is not None:
            record["status"] = self.status
        if not self.handshake and self.verify_reason is not None:  # (an ordinary delivery
            # answered here: classify() leaves it to detection, its check is this one)
            record["verified"], record["verify_reason"] = self.verified, self.verify_reason

    def classify(self, record: dict[str, Any]) -> None:
        """Mark a capture record as what this handshake is, whoever answers it (hooklab, a
        response rule of the user's, nobody with ``handshakes`` off): its provider, event
        type and delivery id, its verification when it was checked, and
        :data:`HANDSHAKE_SEEN` (for the checks on arrival: the bin's registered provider
        does not replace the handshake's; never stored). An ordinary delivery its provider
        wants answered its way (``handshake`` False) is left to detection and the checks on
        arrival, as any request. A secret the handshake handed over (Asana's
        ``X-Hook-Secret``: every later delivery is signed with it) is stored as ``[secret]``,
        whoever answers and whether hooklab keeps it or not (forward and replay give the
        value back: :meth:`BinSecrets.hand_over`).

        >>> r = {"method": "POST", "path": "/slack", "query": {}, "headers": [],
        ...      "body": b'{"type": "url_verification", "challenge": "c"}'}
        >>> handshake_answer(r, BinSecrets(), answering=False).classify(r)
        >>> r["provider"], r["event_type"], "handshake" in r
        ('slack', 'url_verification', False)
        >>> r = {"method": "POST", "path": "/a", "headers": [("X-Hook-Secret", "b537207f")]}
        >>> handshake_answer(r, BinSecrets(), answering=False).classify(r); r["headers"]
        [('X-Hook-Secret', '[secret]')]
        """
        if not self.handshake:
            return
        if self.provider == "asana" and self.event_type == "handshake":
            record["headers"] = [(k, "[secret]" if k.lower() == "x-hook-secret" else v)
                                 for k, v in record.get("headers") or ()]
        record["provider"], record["event_type"] = self.provider, self.event_type
        record["delivery_id"] = describe(self.provider, header_section(record),
                                         record.get("body") or b"", record.get("query"))[1]
        record[HANDSHAKE_SEEN] = True
        if self.verify_reason is not None:
            record["verified"], record["verify_reason"] = self.verified, self.verify_reason


class _Req:
    """One request as the detectors see it: its header section only (a trailer field after a
    chunked body is no header to a provider's receiver: an ``X-Hook-Secret`` or a challenge
    sent only as a trailer is no handshake, and a signature there signs nothing)."""

    def __init__(self, record: dict[str, Any], secrets: BinSecrets, answering: bool = True) -> None:
        #: False: recognised only (a response rule answers): nothing is learned
        self.answering = answering
        self.method = str(record.get("method") or "GET").upper()
        self.path = str(record.get("path") or "/")
        #: the bin whose settings apply, read from the path as the capture's is (raw UTF-8
        #: and an escape that is no UTF-8 name the bin lab.secret was given)
        self.bin = bin_of(self.path)
        self.headers: list[tuple[str, str]] = header_section(record)
        self.h = {}
        for k, v in self.headers:
            self.h.setdefault(str(k).lower(), str(v))
        self.query: dict[str, Any] = record.get("query") or {}
        self.body: bytes = record.get("body") or b""
        self.url: str | None = record.get("signed_url") or record.get("url")
        #: (the capture's bin, arrival time and body: what a handed-over value is kept by)
        self.arrival = (record.get("bin") or self.bin, record.get("received_at"), self.body)
        self.config = secrets
        self.entry = secrets.get(self.bin)
        self._data: Any = ...

    def q(self, name: str) -> str | None:
        v = self.query.get(name)
        if isinstance(v, list):
            return str(v[0]) if v else None
        return None if v is None else str(v)

    @property
    def data(self) -> Any:
        if self._data is ...:
            self._data = None
            if 0 < len(self.body) <= 1024 * 1024 and self.body.lstrip()[:1] in (b"{", b"["):
                try:
                    self._data = parse_json(self.body)
                except (ValueError, RecursionError):
                    pass
        return self._data

    def secret_for(self, *providers: str) -> str | bytes | None:
        e = self.entry
        if e is None or not e.secret:
            return None
        return e.secret if e.provider in (None, *providers) else None

    def registered(self) -> str | None:
        return self.entry.provider if self.entry else None

    def remember(self, secret: str, provider: str) -> str | None:
        """Keep a secret the handshake handed over (:meth:`BinSecrets.remember`), only when
        hooklab answers it: a handshake another answer took hands nothing over to hooklab."""
        return self.config.remember(self.bin, secret, provider) if self.answering else None

    def verify(self, provider: str) -> tuple[bool | None, str]:
        """The bin's secret checked on this request as ``provider``'s: the verifier's
        ``(valid, reason)`` (``"ok"``, or ``'ok (in header "x-okta-secret")'`` where it
        says more); ``(None, why)`` when unchecked."""
        secret = self.secret_for(provider)
        if secret is None:
            return None, "signature unchecked: no secret for this bin"
        if self.config.verifier is None:
            return None, "signature unchecked: no verifier"
        return self.config.verifier(provider, secret, self.headers, self.body, self.url,
                                    self.method)

    def check(self, provider: str) -> tuple[bool | None, str]:
        """Verify a signed handshake with the bin's secret: ``(None, why)`` when unchecked."""
        ok, reason = self.verify(provider)
        if ok is None:
            return None, reason
        return ok, ("signature verified" if ok else f"signature invalid: {reason}")

    def header_named(self, name: str) -> str:
        """``name`` (any case) as this request spelt it, or as given when it has no such
        header."""
        return next((k for k, _ in self.headers if k.lower() == name.lower()), name)


def _echo(value: str) -> bytes | None:
    raw = value.encode("utf-8", "surrogatepass")
    return raw if len(raw) <= MAX_ECHO else None


def _bare(r: _Req, *providers: str | None, body: bool = False) -> bool:
    """Whether a request is shaped as nothing but a handshake of ``providers`` (one provider,
    or a family such as Standard Webhooks' senders): no body (``body``:
    the handshake's own body, whose exact shape its detector checked, as Notion's token) and no
    header naming another sender. A delivery always has a body: with a handshake's marker
    added (a ``?challenge=``, an ``X-Hook-Secret``) it is still one, checked as any request."""
    if r.body and not body:
        return False
    return detect(r.headers, b"", r.query)[0] in (None, *providers)


def _unsigned(r: _Req, provider: str | None, body: bool = False, *,
              who: str | None = None) -> str | None:
    """The ``verify_reason`` of a handshake its provider never signs: not checked against the
    bin's secret (a missing signature is no failure there) -- unless the bin has a secret
    for another provider, which then checks it as any request (a ``?challenge=`` GET to a
    GitHub bin is no Dropbox handshake that may go unsigned), or the bin has a secret
    (for this provider or for none) and the request is more than the handshake (a body, a
    header naming another sender: :func:`_bare`), so that a forged delivery with a
    handshake's marker added is still a signature failure. ``who`` names the sender in the
    reason where ``provider`` is ``None`` (a request that does not tell which it is).

    >>> s = BinSecrets(); s.set("b", "s3cret")  # (lab.secret("b", "s3cret"): no provider=)
    >>> get = {"method": "GET", "path": "/b", "query": {"challenge": "abc"}, "headers": []}
    >>> _unsigned(_Req(get, s), "dropbox")
    'handshake: dropbox does not sign it'
    >>> _unsigned(_Req({**get, "body": b'{"list_folder": {}}'}, s), "dropbox") is None
    True
    """
    e = r.entry
    if e is not None and e.secret and e.provider not in (None, provider):  # (a secret given
        return None  # for another provider: checked as any request, as before this kind; a
        # bin registered for another without a secret checks nothing: said unsigned here)
    if e is not None and e.secret and not _bare(r, provider, body=body):
        return None  # (more than the handshake: checked by the bin's secret as any request)
    return f"handshake: {who or provider} does not sign it"


def _too_long(head: str, how: str) -> str:
    return f"{head}: refused with 400, the challenge is longer than {MAX_ECHO} bytes" + (
        f" ({how})" if how else "")


def _text(provider: str | None, event: str, head: str, done: str, value: str, how: str = "",
          **kw: Any) -> Answer:
    """Echo ``value`` as text: the note reads ``"{head}: {done} ({how})"``; a value over
    :data:`MAX_ECHO` bytes is refused with 400 and the same marks (``kw``)."""
    body = _echo(value)
    if body is None:
        return _refuse(provider, event, _too_long(head, how), 400, **kw)
    note = f"{head}: {done}" + (f" ({how})" if how else "")
    return Answer(provider, event, note, 200, body, (_TEXT, *_SAFE), **kw)


def _json(provider: str, event: str, head: str, done: str, obj: Any, value: str = "",
          how: str = "", **kw: Any) -> Answer:
    """Answer ``obj`` as JSON (as :func:`_text`; ``value``: the challenge it echoes)."""
    if value and _echo(value) is None:
        return _refuse(provider, event, _too_long(head, how), 400, **kw)
    body = json.dumps(obj, separators=(",", ":")).encode()
    note = f"{head}: {done}" + (f" ({how})" if how else "")
    return Answer(provider, event, note, 200, body, (_JSON, *_SAFE), **kw)


def _refuse(provider: str | None, event: str, note: str, status: int, **kw: Any) -> Answer:
    body = json.dumps({"ok": False, "error": note}).encode()
    return Answer(provider, event, note, status, body, (_JSON, *_SAFE), **kw)


def _signed(r: _Req, provider: str, event: str, what: str,
            answer: Callable[[str], Answer]) -> Answer:
    """Answer a signed handshake unless the bin's secret shows the signature is wrong (401)."""
    ok, why = r.check(provider)
    if ok is False:
        return _refuse(provider, event, f"{provider} {what}: refused with 401 ({why})", 401,
                       verified=False, verify_reason=why.removeprefix("signature invalid: "))
    a = answer(why)
    return Answer(a.provider, a.event_type, a.note, a.status, a.body, a.headers,
                  verified=ok, verify_reason=None if ok is None else "ok")


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


# -- the detectors, in order ----------------------------------------------------------------------
def _slack(r: _Req) -> Answer | None:
    d = r.data
    if r.method != "POST" or not isinstance(d, dict) or d.get("type") != "url_verification":
        return None
    challenge = _str(d.get("challenge"))
    if challenge is None:
        return None
    ev = "url_verification"
    return _signed(r, "slack", ev, ev, lambda why: _text(
        "slack", ev, f"slack {ev}", "challenge echoed", challenge, why))


def _zoom(r: _Req) -> Answer | None:
    d = r.data
    if r.method != "POST" or not isinstance(d, dict) or d.get("event") != "endpoint.url_validation":
        return None
    payload = d.get("payload")
    plain = _str(payload.get("plainToken")) if isinstance(payload, dict) else None
    if plain is None:
        return None
    ev = "endpoint.url_validation"
    secret = r.secret_for("zoom")
    if secret is None:
        return Answer("zoom", ev, f"zoom {ev}: not answered, no secret for this bin "
                      "(lab.secret(bin, secret_token, provider='zoom'))", None)

    def answer(why: str) -> Answer:
        key = secret if isinstance(secret, bytes) else secret.encode("utf-8")
        token = hmac.new(key, plain.encode("utf-8"), hashlib.sha256).hexdigest()
        return _json("zoom", ev, f"zoom {ev}", "encryptedToken sent",
                     {"plainToken": plain, "encryptedToken": token}, plain, why)

    return _signed(r, "zoom", ev, ev, answer)


def _twitch(r: _Req) -> Answer | None:
    if r.h.get("twitch-eventsub-message-type") != "webhook_callback_verification":
        return None
    d = r.data
    challenge = _str(d.get("challenge")) if isinstance(d, dict) else None
    if challenge is None:
        return None
    ev = "webhook_callback_verification"
    return _signed(r, "twitch", ev, ev, lambda why: _text(
        "twitch", ev, f"twitch {ev}", "challenge echoed", challenge, why))


def _hub_sender(r: _Req, challenge: str) -> str:
    """Who sent a ``hub.challenge`` subscription check to a bin registered for neither Meta nor
    Strava. Meta's verification requests come from a ``facebookplatform`` User-Agent and their
    challenge is "an int you must pass back" (Meta's docs, e.g. ``1158201444``); Strava's is a
    hex string (its docs' ``15f7d1a91c1f40f8a748fd134752feb3``) that must come back as JSON. A
    WebSub hub's check (``hub.topic`` is required there) wants the raw challenge, as Meta."""
    ua = r.h.get("user-agent", "").lower()
    if "facebookplatform" in ua or "facebookexternalua" in ua:
        return "meta"
    if "strava" in ua:
        return "strava"
    if r.q("hub.topic") is not None or (challenge.isascii() and challenge.isdigit()):
        return "meta"
    return "strava"


def _hub(r: _Req) -> Answer | None:
    if r.method != "GET" or r.q("hub.mode") != "subscribe":
        return None
    challenge = r.q("hub.challenge")
    if challenge is None:
        return None
    reg = r.registered()
    provider = reg if reg in ("meta", "strava") else _hub_sender(r, challenge)
    ev = "subscribe"
    token = r.entry.verify_token if r.entry else None
    given = r.q("hub.verify_token") or ""
    if token is not None:
        if not hmac.compare_digest(given.encode(), token.encode()):
            return _refuse(provider, ev, f"{provider} hub.challenge: refused with 403 "
                           "(hub.verify_token does not match the bin's verify_token)", 403,
                           verified=False, verify_reason="hub.verify_token does not match")
        how, ok = "verify token matches", True
    else:
        how, ok = "verify token unchecked: none registered for this bin", None
    if ok and r.body:  # (the token answers the subscription check; it signs no body: a
        ok, reason = None, None  # delivery's sent along is checked by the bin's secret)
    else:
        reason = "ok" if ok else _unsigned(r, provider)
    if provider == "strava":
        return _json("strava", ev, "strava hub.challenge", "echoed as JSON",
                     {"hub.challenge": challenge}, challenge, how, verified=ok,
                     verify_reason=reason)
    return _text("meta", ev, "meta hub.challenge", "echoed", challenge, how, verified=ok,
                 verify_reason=reason)


def _validation_token(r: _Req) -> tuple[str, str] | None:
    """The ``validationToken`` query parameter and its spelling: Microsoft Graph and OneDrive
    send ``validationToken``, SharePoint's list webhooks ``validationtoken`` (all lower case),
    and both want the value back; the exact spelling wins when several are given."""
    value = r.q("validationToken")
    if value is not None:
        return "validationToken", value
    for name in r.query:  # (the parsed query: one entry per distinct name)
        if isinstance(name, str) and name.lower() == "validationtoken":
            value = r.q(name)
            if value is not None:
                return name, value
    return None


def _msgraph(r: _Req) -> Answer | None:
    found = _validation_token(r)
    if found is None or r.method not in ("POST", "GET") or len(r.body) > 0:
        return None
    name, token = found
    return _text("msgraph", "validation", f"msgraph {name}", "echoed", token,
                 verify_reason=_unsigned(r, "msgraph"))


#: a verifier's reason for a token found in another header than its provider's own
_IN_HEADER = re.compile(r'ok \(in header ("(?:[^"\\]|\\.)*")\)')


def found_in_header(name: str) -> str:
    """A token verifier's reason when the token came in the header ``name``, not its provider's
    own (Okta lets the admin name it, ``authScheme.key``): the handshake's note names it, and
    forward and replay give the secret back in that header (:func:`header_found_in`).

    >>> found_in_header("X-Okta-Secret"), header_found_in('ok (in header "X-Okta-Secret")')
    ('ok (in header "X-Okta-Secret")', 'X-Okta-Secret')
    >>> header_found_in("ok") is None
    True
    """
    return f"ok (in header {json.dumps(name)})"


def header_found_in(reason: str | None) -> str | None:
    """The header a :func:`found_in_header` reason names, or ``None`` for another reason."""
    found = _IN_HEADER.fullmatch(reason or "")
    if found is None:
        return None
    try:
        return str(json.loads(found.group(1)))
    except ValueError:
        return None


def _okta(r: _Req) -> Answer | None:
    """Okta's one-time verification GET carries the same ``Authorization`` header (or the one
    the hook's ``authScheme.key`` names) as the event hooks that follow; it is checked the way
    those deliveries are (the bin's verifier: the value itself, or ``Bearer <value>``), so a
    bin whose deliveries verify also passes Okta's "Verify" step; the note names the header
    that matched."""
    value = r.h.get("x-okta-verification-challenge")
    if value is None or r.method != "GET":
        return None
    ev = "verification"
    ok, why = r.verify("okta")
    if ok is False:
        return _refuse("okta", ev, f"okta verification: refused with 401 (signature invalid: "
                       f"{why})", 401, verified=False, verify_reason=why)
    if ok:  # (the header the token came in: Authorization, or the one the hook names)
        how = r.header_named(header_found_in(why) or "Authorization") + " matches"
    else:
        how = why.replace("signature unchecked", "unchecked")
    return _json("okta", ev, "okta X-Okta-Verification-Challenge", "answered",
                 {"verification": value}, value, how, verified=ok,
                 verify_reason=None if ok is None else "ok")


def _smartsheet(r: _Req) -> Answer | None:
    value = r.h.get("smartsheet-hook-challenge")
    if value is None:
        return None
    if not _HEADER_VALUE.fullmatch(value) or _echo(value) is None:
        return _refuse("smartsheet", "challenge", "smartsheet challenge: refused with 400, "
                       "not a printable header value", 400)
    a = _json("smartsheet", "challenge", "smartsheet Smartsheet-Hook-Challenge", "answered",
              {"smartsheetHookResponse": value}, value)
    return Answer(a.provider, a.event_type, a.note, a.status, a.body,
                  (*a.headers, ("Smartsheet-Hook-Response", value)))


#: an X ``crc_token`` (their docs' example is a UUID): letters, digits and ``-._~+/=``
_CRC_TOKEN = re.compile(r"[A-Za-z0-9._~+/=-]+")


def _json_value(text: str) -> bool:
    """Whether ``text`` is a JSON value (``true``, ``null``, ``123``, ``-1.5e3``): a delivery
    body the CRC answer must not sign."""
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _x_crc(r: _Req) -> Answer | None:
    token = r.q("crc_token")
    if token is None or r.method != "GET":
        return None
    # (X signs the deliveries, not the check: no signature failure unless the GET carries a
    # body or names another sender, checked then as any request)
    unsigned = _unsigned(r, "x")
    # only a bin registered for X answers: the answer is an HMAC-SHA256 of the token under the
    # bin's secret, which a bin kept for another provider (or for none) would give out as a
    # signature of that provider's (GitHub's hex, Stripe's "t.body") to anyone who asks
    secret = r.secret_for("x")
    reg = r.registered()
    if secret is None or reg != "x":
        if secret is not None:  # (a secret given without provider=: kept from answering)
            why = ("the bin's secret is not X's: it was given without provider='x', and "
                   "answering would sign any crc_token with it for whoever asks")
            if unsigned is not None and r.answering:
                unsigned = ("handshake: x does not sign it (not answered: register the bin "
                            "with provider='x' to have X's CRC answered)")
        elif r.entry is not None and r.entry.secret and reg not in (None, "x"):
            why = f"the bin's secret is {reg}'s, not X's"
        else:
            why = "no secret for this bin"
        return Answer("x", "crc", f"x crc_token: not answered, {why}; to have it answered: "
                      "lab.secret(bin, consumer_secret, provider='x')", None,
                      verify_reason=unsigned)
    # The response_token is the HMAC X signs deliveries with, of whatever crc_token says: a
    # token that could be a delivery's body (JSON) would make this bin sign forged deliveries
    # for anyone who asks (refused; X's tokens are letters and digits).
    if not _CRC_TOKEN.fullmatch(token) or _json_value(token):
        return _refuse("x", "crc", "x crc_token: refused with 400, not a token (letters, digits "
                       "and -._~+/= only, not a JSON value such as true or 123: the answer "
                       "signs it as X signs deliveries)", 400, verify_reason=unsigned)
    key = secret if isinstance(secret, bytes) else secret.encode("utf-8")
    digest = hmac.new(key, token.encode("utf-8"), hashlib.sha256).digest()
    return _json("x", "crc", "x crc_token", "response_token sent",
                 {"response_token": "sha256=" + base64.b64encode(digest).decode()}, token,
                 verify_reason=unsigned)


#: who sends a bare ``GET ?challenge=`` to check an endpoint (both want the value echoed)
_CHALLENGERS = ("dropbox", "nylas")


def _challenger(r: _Req) -> str | None:
    """Who sent a ``?challenge=`` GET: the bin's registered provider if it is Dropbox or
    Nylas, else the one its ``User-Agent`` names (Dropbox's checks come from
    ``DropboxWebhooks/1.0``), else ``None``. Neither provider's docs name any other part of
    the check (both are a GET with a ``challenge`` parameter alone), so a request naming
    neither is no guess: Nylas's stored as Dropbox's was a wrong provider."""
    reg = r.registered()
    if reg in _CHALLENGERS:
        return reg
    ua = r.h.get("user-agent", "").lower()
    named = [p for p in _CHALLENGERS if p in ua]
    return named[0] if len(named) == 1 else None


def _challenge_get(r: _Req) -> Answer | None:
    """Dropbox's and Nylas's endpoint check: the challenge echoed as text either way (with
    ``nosniff``, as Dropbox asks); stored with the provider :func:`_challenger` finds, or
    with none ("dropbox or nylas" in its note and verification reason)."""
    value = r.q("challenge")
    if value is None or r.method != "GET":
        return None
    provider = _challenger(r)
    who = provider or " or ".join(_CHALLENGERS)
    how = "" if provider else "its User-Agent names neither"
    return _text(provider, "challenge", f"{who} challenge", "echoed", value, how,
                 verify_reason=_unsigned(r, provider, who=who))


def _onfleet(r: _Req) -> Answer | None:
    value = r.q("check")
    if value is None or r.method != "GET":
        return None
    return _text("onfleet", "check", "onfleet check", "echoed", value,
                 verify_reason=_unsigned(r, "onfleet"))


def _asana(r: _Req) -> Answer | None:
    value = r.h.get("x-hook-secret")
    if value is None or r.method != "POST":
        return None
    if not _HEADER_VALUE.fullmatch(value) or len(value) > MAX_ECHO:
        return _refuse("asana", "handshake", "asana X-Hook-Secret: refused with 400, not a "
                       "printable header value", 400, verify_reason=_unsigned(r, "asana"))
    if r.arrival[1] is not None:  # (stored as [secret]; a forward feeds it to the app)
        r.config.hand_over(*r.arrival, tuple(
            v if _HEADER_VALUE.fullmatch(v) and len(v) <= MAX_ECHO else "[secret]"
            for k, v in r.headers if k.lower() == "x-hook-secret"))
    refused = r.remember(value, "asana")
    how = "kept as this bin's secret for the deliveries that follow" if refused is None else \
        f"not kept: {refused}"
    return Answer("asana", "handshake", f"asana X-Hook-Secret: echoed ({how})", 200, b"",
                  (("X-Hook-Secret", value), *_SAFE), verify_reason=_unsigned(r, "asana"))


def _notion(r: _Req) -> Answer | None:
    d = r.data
    if r.method != "POST" or not isinstance(d, dict) or set(d) != {"verification_token"}:
        return None
    token = _str(d.get("verification_token"))
    if token is None or len(token) > MAX_ECHO:  # (a sender must not pin megabytes per bin)
        return None
    refused = r.remember(token, "notion")
    how = "kept as this bin's secret; paste it into Notion to finish" if refused is None else \
        f"not kept: {refused}"
    return Answer("notion", "verification", f"notion verification_token received ({how})", None,
                  verify_reason=_unsigned(r, "notion", body=True))


def _monday(r: _Req) -> Answer | None:
    d = r.data
    if r.method != "POST" or not isinstance(d, dict) or set(d) != {"challenge"}:
        return None
    value = _str(d.get("challenge"))
    if value is None:
        return None
    return _json("monday", "challenge", "monday challenge", "echoed", {"challenge": value},
                 value)


def _front(r: _Req) -> Answer | None:
    value = r.h.get("x-front-challenge")
    if value is None or r.method != "POST":
        return None
    return _signed(r, "front", "challenge", "challenge", lambda why: _text(
        "front", "challenge", "front X-Front-Challenge", "echoed", value, why))


#: what a verified Discord interaction is answered, by interaction type: an acknowledgement that
#: decides nothing for the app and keeps the interaction's token usable for the 15 minutes
#: Discord gives (an answer that is no interaction response makes Discord invalidate it after
#: 3 s and show "This interaction failed"): 5 DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE for a
#: command or a modal submit (a loading state until the response is edited), 6
#: DEFERRED_UPDATE_MESSAGE for a component, 8 with no choices for an autocomplete
_DISCORD_ACK: dict[int, dict[str, Any]] = {
    2: {"type": 5}, 3: {"type": 6}, 4: {"type": 8, "data": {"choices": []}}, 5: {"type": 5},
}
_DISCORD_KINDS = {2: "application_command", 3: "message_component",
                  4: "application_command_autocomplete", 5: "modal_submit"}


def _discord(r: _Req) -> Answer | None:
    d = r.data
    if r.method != "POST" or not isinstance(d, dict):
        return None
    if "x-signature-ed25519" not in r.h and (r.registered() != "discord"
                                             or "application_id" not in d):
        return None  # (unsigned: Discord's only on a bin registered for it, then refused)
    if "token" not in d and "application_id" in d and (
            d.get("type") == 0 or (d.get("type") == 1 and isinstance(d.get("event"), dict))):
        return _discord_webhook_event(r, d.get("type") == 0)
    kind = d.get("type")
    if kind != 1:
        if type(kind) is int and isinstance(d.get("token"), str):
            return _discord_interaction(r, kind)
        return None
    ok, why = r.check("discord")
    if ok is None:
        return _refuse("discord", "ping", "discord PING: refused with 401 (Discord requires a "
                       "valid signature; register the application's public key with "
                       "lab.secret(bin, public_key, provider='discord'))", 401)
    if not ok:
        return _refuse("discord", "ping", f"discord PING: refused with 401 ({why})", 401,
                       verified=False, verify_reason=why.removeprefix("signature invalid: "))
    return _json("discord", "ping", "discord PING", "PONG sent", {"type": 1},
                 how="signature verified", verified=True, verify_reason="ok")


def _discord_interaction(r: _Req, kind: int) -> Answer | None:
    """A Discord interaction other than the PING (a command, a component, an autocomplete, a
    modal submit): 401 when the bin's public key shows its signature is wrong or missing
    (Discord sends invalid signatures on purpose and removes the URL of an endpoint that takes
    them); when it verifies, ``_DISCORD_ACK``'s deferred answer; without a key for the
    bin, the normal answer (stored unchecked). A delivery, not a handshake: the capture keeps
    its event type."""
    ok, why = r.check("discord")
    if ok is None:
        return None
    event = _DISCORD_KINDS.get(kind, str(kind))
    if not ok:
        return _refuse("discord", event, f"discord interaction: refused with 401 ({why})", 401,
                       handshake=False, verified=False,
                       verify_reason=why.removeprefix("signature invalid: "))
    ack = _DISCORD_ACK.get(kind)
    if ack is None:  # (a type Discord may add: answered as any request, marked verified)
        return Answer("discord", event, "", None, verified=True, verify_reason="ok",
                      handshake=False)
    return Answer("discord", event, "", 200, json.dumps(ack, separators=(",", ":")).encode(),
                  (_JSON, *_SAFE), verified=True, verify_reason="ok", handshake=False)


def _discord_webhook_event(r: _Req, ping: bool) -> Answer:
    """Discord's webhook events (``{"version": 1, "application_id": ..., "type": 0}`` to check
    the URL, ``"type": 1`` with an ``event`` object for each event; interactions carry a
    ``token``): every one is answered 204 with an empty body, or 401 when its signature is
    wrong; the PING also 401 when no public key is registered (the URL must prove it checks)."""
    ok, why = r.check("discord")
    if ping and ok is None:
        return _refuse("discord", "ping", "discord webhook events PING: refused with 401 "
                       "(Discord requires a valid signature; register the application's public "
                       "key with lab.secret(bin, public_key, provider='discord'))", 401)
    if ok is False:
        return _refuse("discord", "ping" if ping else "event",
                       f"discord webhook {'events PING' if ping else 'event'}: refused with 401 "
                       f"({why})", 401, handshake=ping, verified=False,
                       verify_reason=why.removeprefix("signature invalid: "))
    if ping:
        return Answer("discord", "ping", "discord webhook events PING: 204 sent (signature "
                      "verified)", 204, b"", _SAFE, verified=True, verify_reason="ok")
    return Answer("discord", "event", "", 204, b"", _SAFE, verified=ok,
                  verify_reason=None if ok is None else "ok", handshake=False)


def _eventgrid(r: _Req) -> Answer | None:
    if r.method == "OPTIONS" and "webhook-request-origin" in r.h:
        origin = r.h["webhook-request-origin"]
        if not _HEADER_VALUE.fullmatch(origin) or len(origin) > 512:
            return _refuse("eventgrid", "validation", "CloudEvents validation: refused with "
                           "400, malformed WebHook-Request-Origin", 400)
        headers = [("WebHook-Allowed-Origin", origin), *_SAFE]
        if "webhook-request-rate" in r.h:
            headers.append(("WebHook-Allowed-Rate", "*"))
        return Answer("eventgrid", "validation", "CloudEvents abuse-protection OPTIONS: "
                      "WebHook-Allowed-Origin sent", 200, b"", tuple(headers))
    if r.h.get("aeg-event-type", "").lower() != "subscriptionvalidation":
        return None
    d = r.data
    first = d[0] if isinstance(d, list) and d else None
    data = first.get("data") if isinstance(first, dict) else None
    code = _str(data.get("validationCode")) if isinstance(data, dict) else None
    if code is None:
        return None
    return _json("eventgrid", "SubscriptionValidation", "eventgrid SubscriptionValidation",
                 "validationResponse sent", {"validationResponse": code}, code)


def _sns(r: _Req) -> Answer | None:
    if r.h.get("x-amz-sns-message-type") != "SubscriptionConfirmation":
        return None
    return Answer("sns", "SubscriptionConfirmation", "sns SubscriptionConfirmation: not "
                  "confirmed automatically (it needs an outgoing GET); call "
                  "capture.confirm_subscription()", None)


def _google(r: _Req) -> Answer | None:
    if r.h.get("x-goog-resource-state") != "sync" or "x-goog-channel-id" not in r.h:
        return None
    return Answer("google", "sync", "google sync: acknowledged (no answer body needed)", None)


def _xero(r: _Req) -> Answer | None:
    """Every Xero request, Intent to Receive (``"events": []``) or delivery, answered as Xero's
    "Configuring your server" asks of each: 200 with no body when the ``x-xero-signature``
    verifies, 401 (no body either) when it does not; no cookies. Without a secret for the bin
    a delivery gets the normal answer; on a bin registered for Xero a missing signature is a
    wrong one."""
    if r.method != "POST":
        return None
    d = r.data
    events = d.get("events") if isinstance(d, dict) else None
    if "x-xero-signature" not in r.h and not (r.registered() == "xero"
                                              and isinstance(events, list)):
        return None
    intent = isinstance(events, list) and not events
    ev, what = ("intent_to_receive", "intent to receive") if intent else ("event", "delivery")
    ok, why = r.check("xero")
    if ok is None:
        if not intent:
            return None
        return Answer("xero", ev, "xero intent to receive: not answered, no secret for this "
                      "bin (Xero needs 200 for valid and 401 for invalid signatures: "
                      "lab.secret(bin, webhook_key, provider='xero'))", None)
    if not ok:
        return Answer("xero", ev, f"xero {what}: refused with 401 ({why})", 401,
                      b"", _SAFE, verified=False, handshake=intent,
                      verify_reason=why.removeprefix("signature invalid: "))
    return Answer("xero", ev, f"xero {what}: 200 (signature verified)", 200, b"",
                  _SAFE, verified=True, verify_reason="ok", handshake=intent)


def _figma(r: _Req) -> Answer | None:
    d = r.data
    if r.method != "POST" or not isinstance(d, dict) or d.get("event_type") != "PING" \
            or "passcode" not in d:
        return None
    return Answer("figma", "PING", "figma PING: acknowledged", None)


def _head(r: _Req) -> Answer | None:
    if r.method != "HEAD":
        return None
    provider = r.registered()
    if provider not in ("trello", "mandrill"):  # (a HEAD carries nothing of its sender: an
        return None  # uptime monitor's or `curl -I` is no Trello check; answered 200 as any)
    return Answer(provider, "head", "HEAD answered 200 (Trello and Mandrill check a callback "
                  "URL this way)", 200, b"", _SAFE, verify_reason=_unsigned(r, provider))


def _standard_challenge(r: _Req) -> Answer | None:
    """Standard Webhooks' endpoint verification (the official ``standardwebhooks`` SDK's
    ``endpoint_verification_response``): a ``webhook-challenge`` request header, answered 204
    with ``webhook-challenge-response: v1,<base64 HMAC-SHA256(HMAC-SHA256(key, "wev-v1"),
    challenge)>`` under the bin's signing secret, whatever the method and body (the SDK's
    README answers any request that carries the header, "without processing the body").

    Answering and checking are apart: the answer is safe to give anyone (its key is derived
    for challenges alone, it signs no delivery), but only the bare challenge, a POST with no
    body whose headers name no sender outside the family, is stored unchecked ("not signed:
    an endpoint verification, no delivery"). A request with a body, another method or another
    sender's headers is checked as any delivery (the header must not keep a forged one out of
    the signature failures), and a challenge that carries the family's signature headers
    (``webhook-id``, ``webhook-signature``...) is checked by them."""
    challenge = r.h.get("webhook-challenge")
    if challenge is None:
        return None
    bare = r.method == "POST" and _bare(r, *_STANDARD)
    ev = "endpoint_verification"
    secret = r.secret_for(*_STANDARD)
    signed = any(name in r.h for name in _STANDARD_SIGNED)
    unsigned = None if signed or not bare else "not signed: an endpoint verification, no delivery"
    if not _HEADER_VALUE.fullmatch(challenge) or len(challenge) > MAX_ECHO:
        return _refuse("standardwebhooks", ev, "standard webhooks webhook-challenge: refused "
                       "with 400, malformed challenge", 400,
                       verify_reason=None if secret is None else unsigned)
    provider = (r.registered() if r.registered() in _STANDARD else None) or "standardwebhooks"
    if secret is None:
        return Answer(provider, ev, "standard webhooks webhook-challenge: not answered, no "
                      "secret for this bin (lab.secret(bin, 'whsec_...', "
                      "provider='standardwebhooks'))", None)
    if r.config.standard_key is None:
        return Answer(provider, ev, "standard webhooks webhook-challenge: not answered, no "
                      "key parser", None)
    try:  # (the key deliveries are checked with: whsec_ base64, Supabase's v1,whsec_...)
        key = r.config.standard_key(secret)
    except Exception as exc:  # noqa: BLE001 - e.g. not base64 after whsec_: said, not answered
        return Answer(provider, ev, f"standard webhooks webhook-challenge: not answered ({exc})",
                      None)
    derived = hmac.new(key, b"wev-v1", hashlib.sha256).digest()
    proof = base64.b64encode(hmac.new(derived, challenge.encode(), hashlib.sha256).digest())
    return Answer(provider, ev, "standard webhooks webhook-challenge: webhook-challenge-response "
                  "sent", 204, b"", (("webhook-challenge-response", "v1," + proof.decode()), *_SAFE),
                  verified=None, verify_reason=unsigned)


#: providers that sign as Standard Webhooks (Svix, OpenAI, Supabase...)
_STANDARD = tuple(p for p, e in TABLE.items() if e.scheme == "standardwebhooks")
#: the headers a signed Standard Webhooks request carries (``webhook-*``, Svix's ``svix-*``)
_STANDARD_SIGNED = frozenset(f"{TABLE[p].sig['prefix']}-{part}" for p in _STANDARD
                             for part in ("id", "timestamp", "signature"))

_DETECTORS: tuple[Callable[[_Req], Answer | None], ...] = (
    _slack, _zoom, _twitch, _discord, _hub, _msgraph, _okta, _smartsheet, _x_crc,
    _standard_challenge,
    _challenge_get, _onfleet, _asana, _notion, _monday, _front, _eventgrid, _sns, _google,
    _xero, _figma, _head,
)


def handshake_answer(record: dict[str, Any], secrets: BinSecrets | None, *,
                     answering: bool = True) -> Answer | None:
    """The handshake answer for a received request, or ``None`` when it is not one.

    ``record`` is the capture record (``method``, ``path``, ``query``, ``headers``, ``body``,
    ``url``; ``trailers_at``: where trailer fields start, which are not read);
    ``secrets`` the lab's :class:`BinSecrets` (``secrets.handshakes`` False: never answered,
    only recognised with ``answering=False``).
    ``answering=False``: the handshake recognised though another answer goes out (a response
    rule of the user's, or ``secrets.handshakes`` False), for :meth:`Answer.classify`: the
    same answer, with nothing learned from it (no secret kept from Asana's or Notion's).
    Never raises: a detector that fails on hostile input is skipped.
    """
    if secrets is None or (answering and not secrets.handshakes):
        return None
    r = _Req(record, secrets, answering)
    for detector in _DETECTORS:
        try:
            answer = detector(r)
        except Exception:  # noqa: BLE001 - hostile input must never break capture
            answer = None
        if answer is not None:
            return answer
    return None
