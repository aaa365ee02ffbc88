"""Secrets registered per bin, applied to each capture on arrival (``lab.secret(...)``).

>>> book = SecretBook()
>>> book.set("github", "s3cret", provider="github")
>>> record = {"path": "/github", "headers": [], "body": b"{}", "kind": "http"}
>>> book.apply(record); record["verified"], record["verify_reason"]
(False, 'missing header X-Hub-Signature-256 (was the webhook created without a secret?)')

The store's writer thread calls :meth:`SecretBook.apply` for every record before it is stored, so
it stays cheap when no secret is registered. The capture server answers endpoint handshakes with
the same book (:func:`hooklab.providers.handshake_answer`: verify tokens, secrets handed over by
Asana and Notion). Secrets live in memory only: never in the database, widgets or exports
(a capture stored before a secret was given is written so by :meth:`SecretBook.scrubbed`).
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import sys
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from ..capture import (
    Capture,
    basic_credentials,
    bin_of,
    build_secret_pattern,
    path_read,
    redact_record,
)
from ..providers import HANDSHAKE_SEEN, TABLE, BinSecrets, describe, header_found_in
from ..providers.detect import header_section
from . import trailer_note
from ._base import NO_PROVIDER, PROVIDER_IDS, short

__all__ = ["MARK", "SecretBook"]

#: what a registered secret is stored as (never the secret itself)
MARK = "[secret]"
_SCHEME_MARK = re.compile(r"(?i)(basic|bearer)( \s*)\[secret\]")
_VERIFY_TOKEN_MARK = re.compile(r"(?<=[?&])(hub\.verify_token=)(?:\[secret\]|%5Bsecret%5D)(?=&|#|$)")
_QUERY_MARK = re.compile(r"(?<=[?&])([^=&#]*)=(?:\[secret\]|%5Bsecret%5D)(?=&|#|$)")
#: how a capture's reason starts when a bin without a provider got its secret whole, as a token
TOKEN_SENT = "the bin's secret was sent as a token"
#: a reason's start when an ``Authorization`` came to a bin whose secret (no provider) it
#: does not hold: wrong credentials, not a sender to name
_NOT_THE_SECRET = ("the Authorization header does not hold the bin's secret (wrong "
                   "credentials?)")
#: the reason when a bin's secret (no provider) came as the password of Basic credentials:
#: a bin takes Basic credentials as its whole secret, ``user:password``
_PASSWORD_ONLY = ("the bin's secret is the password of the Basic credentials in Authorization: "
                 "register the whole user:password as the bin's secret to verify them")
_TOKEN_WHERE = re.compile(re.escape(TOKEN_SENT) + r' in (header|the query) ("(?:[^"\\]|\\.)*") \(no signature to check\)')
#: the fields of a capture :meth:`SecretBook.scrubbed` scrubs (those the store scrubs on arrival)
_SHOWN = ("method", "path", "query", "headers", "url", "event_type", "delivery_id",
          "verify_reason", "handshake")
#: captures a token verified in this lab, remembered at most (see SecretBook.restored)
_TOKEN_SEEN = 65_536
#: secrets and verify tokens given in a lab's life that stay hidden, at most (the newest kept;
#: the current ones of every bin always): each is a form of the one pattern every capture is
#: scrubbed with, so thousands made each webhook's scrub milliseconds
_GIVEN_KEPT = 256
#: bytes of memory the paths remembered as they came hold at most (see SecretBook.restored
#: and :func:`_path_cost`): the oldest are forgotten first (their captures then go out as
#: stored). Characters counted alone let 300,000 short Telegram-style paths hold 67 MiB
_PATHS_KEPT = 8 * 1024 * 1024
#: what one remembered path costs beyond the sizes of its objects: its slot in the dict
#: (hash, key and value pointers, its index), with the room a dict keeps to grow
_PATH_SLOT = 100


def _path_cost(key: tuple[str, str, bytes, str], kept: str | None) -> int:
    """The bytes one entry of ``SecretBook._paths`` holds: its key (bin, arrival time, body
    digest, path stored) and the path as it came (``kept``), each object's own size
    (:func:`sys.getsizeof`: a path of emoji is 4 bytes a character) and its dict slot.

    >>> _path_cost(("tg", "2026-01-01", bytes(16), "/tg/bot[secret]/x"), "/tg/bot123/x") > 300
    True
    """
    return (_PATH_SLOT + sys.getsizeof(key) + sum(sys.getsizeof(part) for part in key)
            + (0 if kept is None else sys.getsizeof(kept)))


def _forms(value: str | bytes) -> set[str]:
    """The forms of one secret a capture is scrubbed of (see :meth:`SecretBook._words`):
    none for one under 6 bytes."""
    raw = value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")
    if len(raw) < 6:
        return set()
    text = value if isinstance(value, str) else value.decode("utf-8", "replace")
    std = base64.b64encode(raw).decode()
    return {w for w in (text, raw.decode("latin-1"), text.replace("+", " "),
                        text.replace(" ", "+"), std,  # (a space as a query string sends it)
                        std.rstrip("="), base64.urlsafe_b64encode(raw).decode().rstrip("="))
            if w}


def _seen_key(bin_: str, received: Any, body: bytes) -> tuple[str, str, bytes]:
    """What tells a capture that this lab verified by its token from any other (an imported
    one may say anything of itself): its bin, arrival time and body."""
    import hashlib

    return bin_, str(received), hashlib.blake2b(body, digest_size=16).digest()


def _token_text(secret: str | bytes) -> str | None:
    """The registered secret as text a sender could put in a header or query whole; ``None``
    for bytes that are no UTF-8 (compared after a lossy decoding, ``?token=%FF...`` matched
    any such key: U+FFFD for U+FFFD)."""
    if isinstance(secret, str):
        return secret
    try:
        return secret.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _sent_whole(plain: str, headers: Any, query: Any) -> tuple[str, str] | None:
    """Where a sender put ``plain`` whole: ``("header", name)`` for a header that carries it
    as the verifiers take an ``Authorization`` credential (see :func:`_credential_form`: the
    value itself, ``Bearer``/``Basic`` credentials), ``("the query", name)`` for a query value;
    ``None`` if nowhere (names of over 100 characters are not looked at)."""
    for name, value in headers:
        if len(name) <= 100 and _credential_form(value, plain) is not None:
            return "header", name
    for name, values in (query or {}).items():
        if len(name) <= 100 and plain in values:
            return "the query", name
    return None


def _password_is(value: str, secret: str) -> bool:
    """Whether ``value``, an ``Authorization`` field, is ``Basic`` credentials whose password
    (what follows the first ``:``) is ``secret`` (constant time; read by
    :func:`hooklab.capture.basic_credentials`, as the scrub reads them: any whitespace after
    the scheme, base64 standard or URL-safe, padded or not).

    >>> _password_is("Basic " + base64.b64encode(b"myapp:hunter2-pw").decode(), "hunter2-pw")
    True
    >>> _password_is("Basic bXlhcHA6", "hunter2-pw"), _password_is("Bearer hunter2-pw", "hunter2-pw")
    (False, False)
    """
    import hmac

    read = basic_credentials(value)
    if read is None:
        return False
    _, colon, password = read[1].partition(b":")
    return bool(colon) and hmac.compare_digest(password, secret.encode("utf-8", "surrogatepass"))


def _hide_in_query(record: dict[str, Any], value: str, key: str | None) -> None:
    """Store ``value``, a token the bin's check takes from the query field ``key`` (``None``:
    from any), as ``[secret]`` where such a field holds it whole (its query and URL),
    whatever its length: the rule of a credential in a header (:func:`_credential_form`).
    Only there: a short token is also an ordinary value (Meta's ``abc`` in ``?state=abc``),
    stored and replayed as sent elsewhere.
    Values are read as the query is parsed (:func:`hooklab.capture.parse_query`);
    :meth:`SecretBook.restored` gives the token back where the check found it.

    >>> rec = {"query": {"hub.verify_token": ["vtk12"], "n": ["vtk12"]},
    ...        "url": "http://h/wa?hub.verify_token=vtk%31%32&n=vtk12"}
    >>> _hide_in_query(rec, "vtk12", "hub.verify_token"); rec["query"], rec["url"]
    ({'hub.verify_token': ['[secret]'], 'n': ['vtk12']}, 'http://h/wa?hub.verify_token=[secret]&n=vtk12')
    """
    query = record.get("query") or {}
    if not value or not any(value in vs for k, vs in query.items() if key in (None, k)):
        return
    record["query"] = {k: [MARK if v == value and key in (None, k) else v for v in vs]
                       for k, vs in query.items()}
    url = record.get("url")
    if not isinstance(url, str) or "?" not in url:
        return

    def hidden(pair: str) -> str:
        name, eq, given = pair.partition("=")
        return (f"{name}={MARK}" if eq and path_read(given.replace("+", " ")) == value
                and key in (None, path_read(name.replace("+", " "))) else pair)

    head, _, qs = url.partition("?")
    record["url"] = head + "?" + "&".join(hidden(pair) for pair in qs.split("&"))


def _given(value: str, secret: str) -> str:
    """A header value the lab stored with ``[secret]`` for the bin's ``secret``, as sent."""
    if value == MARK:
        return secret
    m = _SCHEME_MARK.fullmatch(value)
    if m is None:
        return value
    if m.group(1).lower() == "basic":
        return m.group(1) + m.group(2) + base64.b64encode(secret.encode("utf-8", "surrogatepass")).decode()
    return m.group(1) + m.group(2) + secret


def _quoted_parts(text: str, value: str) -> list[tuple[int, int]]:
    """``(start, end)`` of every quoted piece of ``text`` that is part of ``value``: between a
    quote (``'``, ``"``) and the same quote or the ``...`` of a cut-short quote (``short()``),
    a run of the value, its ``repr`` or its JSON (a reason quotes a word of a field, say the
    scheme of ``Authorization``, or its first 36 characters)."""
    forms = {value, repr(value)[1:-1], json.dumps(value)[1:-1]}
    found: list[tuple[int, int]] = []
    at = 0
    while at < len(text):
        q = text[at]
        if q not in "'\"":
            at += 1
            continue
        start, run = at + 1, at + 1
        while run < len(text) and any(text[start : run + 1] in f for f in forms):
            run += 1  # (text[start:run]: the longest run of the value from the quote on)
        end = next((stop for stop in range(run, start, -1)
                    if text.startswith(q, stop) or text.startswith("...", stop)), None)
        if end is None:
            at += 1
            continue
        found.append((start, end))
        at = end + 1
    return found


def _unquote(record: dict[str, Any], values: list[Any]) -> None:
    """``[secret]`` for whatever of ``values`` (header values taken off the record or changed
    in it) its verification reason or handshake note quotes: a quoted piece of one (its first
    word, cut short, whole) becomes ``[secret]`` whole, as does (for values of 8 characters or
    more) its start quoted otherwise."""
    values = [v for v in values if isinstance(v, str) and v]
    for key in ("verify_reason", "handshake") if values else ():  # (whole secrets: redact_record)
        text = record.get(key)
        if not isinstance(text, str):
            continue
        if _TOKEN_WHERE.fullmatch(text) is None:  # (that one quotes a field's name only)
            for v in values:
                for start, end in reversed(_quoted_parts(text, v)):
                    text = text[:start] + MARK + text[end:]
        for v in values:
            for n in (len(v), 36, 24, 16, 8) if len(v) >= 8 else ():
                if v[:n] in text:
                    text = text.replace(v[:n], MARK)
                    break
        record[key] = text


def _trailer_note(record: dict[str, Any], sender: str | None, secret: str | bytes,
                  headers: list[tuple[str, str]], section: list[tuple[str, str]]) -> str:
    """:func:`trailer_note` of a record checked on arrival with its bin's ``secret``."""
    def verifies(every: list[tuple[str, str]]) -> bool:
        try:
            ok, _ = _verify(sender, secret, every, record.get("body") or b"",
                            record.get("signed_url") or record.get("url"),
                            str(record.get("method") or "POST"), record.get("received_at"))
        except Exception:  # noqa: BLE001 - a note only
            ok = False
        return ok

    return trailer_note(sender, headers, section, verifies)


def _verify(provider: str | None, secret: str | bytes, headers: Any, body: bytes,
            url: str | None, method: str = "POST", now: Any = None) -> tuple[bool, str]:
    from . import verify_signature

    # (a record's URL is where it arrived: received_url, not a URL the caller vouched for)
    v = verify_signature(provider, secret, headers, body, received_url=url, now=now,
                         method=method)
    return v.valid, v.reason


def _standard_key(secret: str | bytes) -> bytes:
    from ._hmac import swh_key

    return swh_key(secret, raw_fallback=True)


#: the verifiers' rules for a credential in ``Authorization`` (``hooklab.signatures._hmac``):
#: ``token`` (Okta, Auth0, Event Grid: the value itself or ``Bearer <secret>``) and ``basic``
#: (Postmark, Chargebee, Pipedrive: ``Basic <base64 of user:password>``)
RULES = ("token", "basic")


def _rules(provider: str | None) -> tuple[str, ...]:
    """The rules under which the bin's verifier takes an ``Authorization`` field as its
    credential when ``provider`` sends to it: both for a bin without a provider (its token,
    see :func:`_sent_whole`), none for a provider that signs (a JWT in it: monday.com)."""
    if not provider:
        return RULES
    row = TABLE.get(provider)
    if row is None:
        return ()
    if row.scheme == "basic":
        return ("basic",)
    if row.scheme == "token" and str(row.sig.get("header", "")).lower() == "authorization":
        return ("token", "basic") if row.sig.get("basic") else ("token",)
    return ()


def _verifies(rule: str, value: str, secret: str | bytes) -> bool:
    """Whether the verifier of ``rule`` takes ``value``, an ``Authorization`` field, as the
    credential ``secret``: its own check is run (on the value as ``verify_signature`` hands
    it over, stripped), so what verifies and what is stored cannot part."""
    from types import SimpleNamespace

    from . import _headers
    from ._base import Incoming
    from ._hmac import SCHEMES

    if not (secret.strip() if isinstance(secret, str) else secret):
        return False  # (verify_signature: "empty secret")
    row = SimpleNamespace(id=rule, name="the sender", sig={"header": "Authorization"})
    try:
        inc = Incoming(_headers([("Authorization", value)]), b"", secret, None, 0.0, 0.0)
        SCHEMES[rule].verify(inc, row)
    except Exception:  # noqa: BLE001 - Invalid, or input it cannot read: not verified
        return False
    return True


def _credential_form(value: str, secret: str | bytes, rules: tuple[str, ...] = RULES) -> str | None:
    """How ``value``, an ``Authorization`` field, is stored if it is ``secret`` as the
    verifiers of ``rules`` take it (the value itself, ``Bearer <secret>``, ``Basic <base64 of
    it>``; the scheme in any case, any spaces, base64 with or without padding, a secret with
    spaces in it): ``[secret]`` in place of the secret (what follows it dropped), else
    ``None``. :meth:`SecretBook.restored` gives the credential back from that form.

    >>> _credential_form("Basic dXNlcjpwYXNz", "user:pass"), _credential_form("tok", "tok")
    ('Basic [secret]', '[secret]')
    >>> _credential_form("bearer  tok ", "tok"), _credential_form("token tok", "tok")
    ('bearer  [secret]', None)
    >>> _credential_form("Bearer my token", "my token"), _credential_form("BASIC dTpw", "u:p")
    ('Bearer [secret]', 'BASIC [secret]')
    >>> _credential_form("Basic dTpw", "u:p", ("token",)), _credential_form("u:p", "u:p", ("basic",))
    (None, None)
    """
    if not secret or not isinstance(value, str):
        return None
    if not any(_verifies(rule, value, secret) for rule in rules):
        return None
    given = value.strip()
    if given == (secret.decode("utf-8", "replace") if isinstance(secret, bytes) else secret):
        return MARK
    # ("<scheme> <credentials>": the verifiers split at the first space and strip the rest)
    scheme, _, rest = given.partition(" ")
    return f"{scheme} {rest[: len(rest) - len(rest.lstrip())]}{MARK}"


def _may_carry(value: Any, plain: str) -> bool:
    """A cheap test before :func:`_credential_form`: ``value`` holds ``plain`` itself, or is
    ``Basic`` credentials (the writer thread runs it on every field of a bin with a secret)."""
    return isinstance(value, str) and (plain in value or value.lstrip()[:6].lower() == "basic ")


def _relayed_authorization(record: dict[str, Any]) -> list[tuple[int, str]]:
    """``(index, value)`` of the ``Authorization`` fields of a capture that came through the
    Jupyter relay: the relay sealed them for the checks (it never lists one among the fields
    it received), so every one there is a sender's, possibly the user's Jupyter token."""
    if not record.get("relay_key"):
        return []
    return [(i, v) for i, (k, v) in enumerate(record.get("headers") or [])
            if isinstance(k, str) and k.lower() == "authorization"]


class SecretBook(BinSecrets):
    """bin -> (secret, provider, verify_token); thread-safe. Verifies on arrival."""

    #: a relayed ``Authorization`` is kept only where it is the bin's credential (see
    #: :meth:`apply`): :func:`hooklab.server.guard.relayed_url` hands it over then only
    TAKES_RELAYED_AUTHORIZATION = True

    def __init__(self) -> None:
        super().__init__()
        self.verifier = _verify
        self.standard_key = _standard_key
        #: bin -> (secret, verify token) last set, and when a different one replaced it
        self._last: dict[str, tuple[Any, Any]] = {}
        self._changed: dict[str, datetime] = {}
        #: captures a token verified here (bins without a provider): only theirs get it back
        self._token_seen: dict[tuple[str, str, bytes], None] = {}
        #: (capture key, path stored) -> the path as it came, the bin's own secret in it
        #: (see _remember_path); ``None`` where two captures of one key came differently
        self._paths: dict[tuple[str, str, bytes, str], str | None] = {}
        self._paths_size = 0
        #: every secret and verify token given since the lab started (or was reset), the
        #: last :data:`_GIVEN_KEPT`: one replaced (rotated) or removed is still a credential
        #: (Stripe keeps an old one valid up to 24 h), hidden as the current ones are
        self._given: dict[str | bytes, None] = {}
        #: bumped by each :meth:`set` that gives a secret or verify token not given before
        #: (after the words scrubbed with are made again): a capture its store scrubbed on
        #: arrival under the current one holds none of them (see ``CaptureStore.shown``)
        self.generation = 0

    def set(self, bin_: str, secret: str | bytes | None, provider: str | None = None,
            verify_token: str | None = None) -> None:
        """As :meth:`BinSecrets.set`; a secret (or verify token) that replaces a different one
        for the bin is noted with the time: captures from before it are not given the new
        one by forward and replay (:meth:`restored`)."""
        with self._lock:
            now = (secret, verify_token)
            before = self._last.get(bin_)
            if before is not None and before != now and now != (None, None):
                self._changed[bin_] = datetime.now(timezone.utc)
            if now != (None, None):
                self._last[bin_] = now
            added = False
            for value in now:
                if value:
                    added = added or value not in self._given
                    self._given.pop(value, None)  # (the newest last: the oldest go first)
                    self._given[value] = None
            while len(self._given) > _GIVEN_KEPT:
                del self._given[next(iter(self._given))]
        super().set(bin_, secret, provider, verify_token)
        # the pattern every capture is scrubbed with, made here (not by the thread that
        # scrubs first: the server's, for a webhook)
        build_secret_pattern(self._words())
        if added:  # (after the words: a capture scrubbed under it was scrubbed of these)
            with self._lock:
                self.generation += 1

    def __bool__(self) -> bool:
        """Whether any bin has settings, or any secret was given in this lab's life (one
        removed since is still hidden: see :meth:`scrubbed`)."""
        return bool(self._bins) or bool(self._given)

    def clear(self) -> None:
        """Forget every bin's settings and every secret given (``lab.reset()``: a fresh lab)."""
        with self._lock:
            self._given.clear()
            self._last.clear()
            self._changed.clear()
            self._paths.clear()
            self._paths_size = 0
        super().clear()

    def changed_at(self, bin_: str) -> datetime | None:
        """When the bin's secret last replaced a different one in this lab (``None``: never)."""
        with self._lock:
            return self._changed.get(bin_)

    def apply(self, record: dict[str, Any]) -> None:
        """Verify ``record`` against its bin's secret (sets ``verified``, ``verify_reason``).

        A bin registered with a provider names the sender (Clerk sends Svix's headers: the
        capture says ``clerk``). A verification already settled by a handshake is kept. Some
        providers (GitLab, Okta, Asana's handshake, Basic auth) send the shared secret itself
        in a header: it is replaced by ``[secret]`` so it is never stored. A record that
        cannot be scrubbed raises (the store refuses it rather than keep a secret); one that
        cannot be verified is stored unverified, with the reason.

        An ``Authorization`` that came through the Jupyter relay (where it may be the user's
        Jupyter or JupyterHub token) is checked as any, then kept only where it is the bin's
        credential: the bin's secret as its verifier takes it (whole or ``Bearer`` for a
        token, ``Basic`` credentials padded or not) as ``[secret]`` (``Bearer [secret]``,
        ``Basic [secret]``: as a capture sent straight to the lab is stored), or a signature in
        it that verifies with the secret (monday.com's JWT) as sent; anything else of it is not
        stored, nor quoted by the capture's reason.
        """
        relayed = _relayed_authorization(record)
        sent = list(record.get("headers") or []) if relayed else []
        advise = self._apply(record)
        if relayed:
            self._keep_credential(record, relayed, sent)
        if advise is not None:  # (after every scrub: see _advise)
            self._advise(record, advise)

    def _advise(self, record: dict[str, Any], bin_: str) -> None:
        """Add the lab's advice for a bin given a secret without a provider to the reason of
        ``record``, once the reason is scrubbed. The advice is the lab's own text, no header
        value quoted by a verifier: it is scrubbed of every form of the registered secrets
        (as the path the bin came from is), never of quoted pieces of a credential taken off
        the record (:func:`_unquote`), which turned a bin named ``b`` into ``'[secret]'`` when
        ``b`` was a letter of the ``Basic`` credentials sent (here ``abtopsecretvalue99:x``:
        the secret inside the user name).

        >>> book = SecretBook()
        >>> book.set("b", "topsecretvalue99")
        >>> rec = {"path": "/b", "headers": [("Authorization", "Basic YWJ0b3BzZWNyZXR2YWx1ZTk5Ong=")],
        ...        "body": b"{}"}
        >>> book.apply(rec); rec["headers"], "lab.secret('b', ..., provider=" in rec["verify_reason"]
        ([('Authorization', 'Basic [secret]')], True)
        """
        advice = {"verify_reason": (f"; give the bin a provider: lab.secret({short(bin_)}, "
                                    f"..., provider='<id>') ({PROVIDER_IDS})")}
        words = self._words()
        if words:
            redact_record(advice, credentials=False, secrets=words, mark=MARK)
        reason = record.get("verify_reason")
        if not isinstance(reason, str):
            return
        at = len(NO_PROVIDER) if reason.startswith(NO_PROVIDER) else len(reason)
        record["verify_reason"] = reason[:at] + advice["verify_reason"] + reason[at:]

    def _keep_credential(self, record: dict[str, Any], relayed: list[tuple[int, str]],
                         sent: list[tuple[str, str]]) -> None:
        """Take the relayed ``Authorization`` fields (``relayed``: index and value as they
        came; ``sent``: the fields then) off ``record`` but where they are its bin's
        credential (see :meth:`apply`)."""
        entry = self.get(record.get("bin") or bin_of(record.get("path") or "/")) if self else None
        secret = entry.secret if entry is not None else None
        headers = list(record.get("headers") or [])
        aligned = len(headers) == len(sent)
        sender = (entry.provider if entry is not None else None) or record.get("provider")
        keep: dict[int, tuple[str, str]] = {}
        for i, value in relayed if aligned and secret else ():
            # (the verifier's own rule: what verifies is kept in the form a capture sent
            # straight to the lab is stored in; what does not, is not stored)
            form = _credential_form(value, secret, _rules(sender))  # type: ignore[arg-type]
            if form is not None:
                keep[i] = (headers[i][0], form)
        row = TABLE.get(sender or "")
        if (aligned and secret and not keep and len(relayed) == 1 and row is not None
                and row.scheme not in ("token", "basic")
                and str(row.sig.get("header", "")).lower() == "authorization"
                and record.get("verified") is True):
            # a signature in Authorization (monday.com's JWT): kept as sent (as a capture sent
            # straight to the lab) when it verifies with the bin's secret by itself
            try:
                ok, _ = _verify(row.id, secret, sent, record.get("body") or b"",
                                record.get("signed_url") or record.get("url"),
                                str(record.get("method") or "POST"), record.get("received_at"))
            except Exception:  # noqa: BLE001 - not kept, then
                ok = False
            if ok:
                keep[relayed[0][0]] = headers[relayed[0][0]]
        if aligned:
            gone = {i for i, _ in relayed} - set(keep)
            record["headers"] = [keep.get(i, h) for i, h in enumerate(headers) if i not in gone]
        else:  # (never: the checks keep every field in its place) none of them, then
            record["headers"] = [(k, v) for k, v in headers
                                 if not (isinstance(k, str) and k.lower() == "authorization")]
            keep = {}
        _unquote(record, [v for i, v in relayed if i not in keep])

    def _apply(self, record: dict[str, Any]) -> str | None:
        """Verify and scrub ``record``; the bin whose advice (:meth:`_advise`) its reason is
        to get once every scrub is done, else ``None``."""
        if not self:
            return None
        if record.get("kind", "http") != "http":  # (a WebSocket frame: nothing to verify)
            self.scrub(record)
            return None
        bin_ = record.get("bin") or bin_of(record.get("path") or "/")
        entry = self.get(bin_)
        if entry is None:
            self.scrub(record)  # (another bin's secret, sent here)
            return None
        advise = None
        secret, provider = entry.secret, entry.provider
        headers = record.get("headers") or []
        came = record.get("path")
        # (what the provider's receivers read: the header section, not trailer fields)
        section = header_section(record)
        try:
            if provider in TABLE and record.get("provider") != provider \
                    and not (record.get("handshake") or record.get(HANDSHAKE_SEEN)):
                record["provider"] = provider
                record["event_type"], record["delivery_id"] = describe(
                    provider, section, record.get("body") or b"", record.get("query"))
            if secret and record.get("verify_reason") is None:
                sender = provider or record.get("provider")
                record["verified"], reason = _verify(
                    sender, secret, section,
                    record.get("body") or b"", record.get("signed_url") or record.get("url"),
                    str(record.get("method") or "POST"), record.get("received_at"))
                note = ""  # (said last, whatever the reason becomes below)
                if not record["verified"] and len(section) < len(headers):
                    note = _trailer_note(record, sender, secret, headers, section)
                text = None if sender else _token_text(secret)
                where = None if text is None else _sent_whole(text, section, record.get("query"))
                if where is not None:  # (a token scheme of the bin's own, e.g. Bearer: the
                    record["verified"] = True  # sender knew it; forward and replay give it back)
                    # (in the query too: hidden as in a header, however short; in any field,
                    # as the check takes it from any: _sent_whole)
                    _hide_in_query(record, str(text), None)
                    reason = (f"{TOKEN_SENT} in {where[0]} {json.dumps(where[1])} "
                              "(no signature to check)")
                    note = ""
                    seen = _seen_key(bin_, record.get("received_at"), record.get("body") or b"")
                    with self._lock:
                        self._token_seen[seen] = None
                        while len(self._token_seen) > _TOKEN_SEEN:
                            del self._token_seen[next(iter(self._token_seen))]
                elif not sender and reason.startswith(NO_PROVIDER):
                    # (lab.secret() without provider=: "pass provider=" is verify_signature's
                    # advice; here it is the bin's setting, shown in the live view's Details;
                    # added after the scrubs, which would take the bin's name for a quoted
                    # piece of a credential: see _advise)
                    reason, advise = NO_PROVIDER, bin_
                    auth = [v for k, v in section if k.lower() == "authorization"]
                    if text is not None and any(_password_is(v, text) for v in auth):
                        # (Basic credentials are user:password whole, README: the secret
                        # found as their password is said as such, no provider to pick)
                        reason, advise = _PASSWORD_ONLY, None
                    elif text is not None and auth:
                        # (a token scheme of the bin's own, sent with other credentials: a
                        # wrong password read as "no provider" sent users to set one)
                        reason = f"{_NOT_THE_SECRET}; {NO_PROVIDER}"
                record["verify_reason"] = reason + note
        except Exception as exc:  # noqa: BLE001 - verifying is best effort, scrubbing is not
            advise = None
            record["verified"] = False
            record["verify_reason"] = f"could not be verified ({type(exc).__name__})"
        if entry.verify_token:  # (Meta's, Strava's: the value their check takes, hidden)
            _hide_in_query(record, entry.verify_token, "hub.verify_token")
        plain = secret.decode("utf-8", "replace") if isinstance(secret, bytes) else secret
        if plain:  # (the scheme stays: forward and replay give the value back, restored())
            # every spelling a verifier takes as the secret (see _credential_form), as a
            # relayed Authorization that verifies is stored
            forms = [(k, _credential_form(v, secret) if _may_carry(v, plain) else None)
                     for k, v in headers]
            if any(form is not None for _, form in forms):
                record["headers"] = [(k, v if form is None else form)
                                     for (k, v), (_, form) in zip(headers, forms, strict=True)]
        self.scrub(record, headers)
        if secret and isinstance(came, str) and came != record.get("path"):
            self._remember_path(record, bin_, came, secret)
        return advise

    def _remember_path(self, record: dict[str, Any], bin_: str, came: str,
                       secret: str | bytes) -> None:
        """Keep the path ``record`` came with (``came``), which its scrub changed, for
        :meth:`restored`: where the bin's own ``secret`` was (any form the scrub hides:
        percent-encoded, base64), as it came; where another secret given to the lab was,
        ``[secret]`` as stored. Nothing when only other secrets were there. In memory only,
        at most :data:`_PATHS_KEPT` bytes of it (:func:`_path_cost`; the oldest forgotten
        first)."""
        others = self._other_words(secret)
        own = came
        if others:
            own = redact_record({"path": came}, credentials=False, secrets=others,
                                mark=MARK)["path"]
        stored = record.get("path")
        if not isinstance(stored, str) or own == stored:
            return
        key = (*_seen_key(bin_, record.get("received_at"), record.get("body") or b""), stored)
        kept: str | None = own
        with self._lock:
            if key in self._paths:  # (another capture of that key: which came when is
                before = self._paths.pop(key)  # unknown, so both are sent as stored)
                kept = None if before != own else own
                self._paths_size -= _path_cost(key, before)
            self._paths[key] = kept
            self._paths_size += _path_cost(key, kept)
            while self._paths_size > _PATHS_KEPT and self._paths:
                oldest = next(iter(self._paths))
                self._paths_size -= _path_cost(oldest, self._paths.pop(oldest))

    def _path_back(self, capture: Capture) -> Capture:
        """``capture`` with the path it came with where it held its bin's secret (see
        :meth:`_remember_path`), and so its URL's path: only for a capture this lab received
        since it started, under the bin's current secret; any other is sent as stored."""
        if capture.kind != "http" or MARK not in (capture.path or ""):
            return capture
        entry = self.get(capture.bin)
        if entry is None or not entry.secret:
            return capture
        changed = self.changed_at(capture.bin)
        if changed is not None and (capture.received_at is None or capture.received_at < changed):
            return capture  # (sent with the secret the bin had then: as stored, README)
        key = (*_seen_key(capture.bin, capture.received_at, capture.body), capture.path)
        with self._lock:
            came = self._paths.get(key)
        if came is None:
            return capture
        url = capture.url
        if url:
            at = url.find(capture.path, url.find("//") + 2 if "//" in url else 0)
            if at >= 0 and url[at + len(capture.path):][:1] in ("", "?", "#"):
                url = url[:at] + came + url[at + len(capture.path):]
        return replace(capture, path=came, url=url)

    def restored(self, capture: Capture) -> Capture:
        """``capture`` as its sender sent it, for forward and replay: the credential the lab
        stored as ``[secret]`` where the provider puts it (its token header, ``Authorization``
        with ``Basic``/``Bearer``; Meta's and Strava's ``hub.verify_token``) is given back as
        the value registered for the capture's bin, so a target that checks it accepts it.
        Only for a capture that credential verified: a ``[secret]`` anywhere else (one a sender
        wrote itself, another bin's secret) stays as it is.

        >>> book = SecretBook()
        >>> book.set("gitlab", "tok-123", provider="gitlab")
        >>> rec = {"path": "/gitlab", "headers": [("X-Gitlab-Token", "tok-123"), ("X-Echo", MARK)],
        ...        "body": b"{}"}
        >>> book.apply(rec); rec["headers"], rec["verified"]
        ([('X-Gitlab-Token', '[secret]'), ('X-Echo', '[secret]')], True)
        >>> from hooklab.capture import Capture
        >>> cap = Capture(1, None, "POST", "/gitlab", headers=rec["headers"], verified=True)
        >>> book.restored(cap).headers
        [('X-Gitlab-Token', 'tok-123'), ('X-Echo', '[secret]')]
        """
        capture = self._path_back(self._handed_back(capture))
        entry = self.get(capture.bin)
        if entry is None or capture.verified is not True or capture.kind != "http":
            return capture
        changed = self.changed_at(capture.bin)
        if changed is not None and (capture.received_at is None or capture.received_at < changed):
            # verified with the secret the bin had then: the one set since (rotated because
            # the old one leaked?) is not given to what was sent with the old one
            return capture
        secret = entry.secret.decode("utf-8", "replace") if isinstance(entry.secret, bytes) \
            else entry.secret
        row = TABLE.get(entry.provider or capture.provider or "")
        headers, query, url = capture.headers, capture.query, capture.url
        if secret and row is not None and (row.scheme in ("token", "basic") or "token" in row.sig):
            # (a token scheme's header; or an HMAC sender's token mode: Buildkite's X-Buildkite-Token)
            where = ("authorization" if row.scheme == "basic" else
                     str(row.sig.get("token" if row.scheme == "hmac" else "header", "")).lower())
            named = header_found_in(capture.verify_reason) if row.sig.get(
                "any_header") else None  # (Okta: in the header the admin named, which the
            if named is not None:  # verifier said; a [secret] a sender wrote elsewhere stays)
                where = named.lower()
            headers = [(k, _given(v, secret) if k.lower() == where else v) for k, v in headers]
        token = entry.verify_token
        if token and query.get("hub.verify_token") == [MARK]:
            from urllib.parse import quote_plus

            query = {**query, "hub.verify_token": [token]}
            url = _VERIFY_TOKEN_MARK.sub(lambda m: m.group(1) + quote_plus(token), url)
        found = _TOKEN_WHERE.fullmatch(capture.verify_reason or "")
        name: Any = None
        if secret and found is not None:
            with contextlib.suppress(ValueError):
                name = json.loads(found.group(2))
            seen = _seen_key(capture.bin, capture.received_at, capture.body)
            with self._lock:
                if seen not in self._token_seen:
                    # not verified by this lab (an imported capture may claim anything of
                    # itself, and one from before a restart was checked against a secret
                    # this lab does not know): sent as stored
                    name = None
        if isinstance(name, str):
            # a bin without a provider that got its secret whole (see apply): only where that
            # sender put it (a [secret] it wrote elsewhere, another bin's, stays as it is)
            from urllib.parse import quote_plus, unquote_plus

            if found.group(1) == "header":  # type: ignore[union-attr]
                headers = [(k, _given(v, secret) if k.lower() == name.lower() else v)
                           for k, v in headers]
            elif MARK in query.get(name, ()):
                query = {**query, name: [secret if v == MARK else v for v in query[name]]}
                url = _QUERY_MARK.sub(lambda m: m.group(0) if unquote_plus(m.group(1)) != name
                                      else f"{m.group(1)}={quote_plus(secret)}", url)
        if headers == capture.headers and query is capture.query and url == capture.url:
            return capture
        return replace(capture, headers=headers, query=query, url=url)

    def _handed_back(self, capture: Capture) -> Capture:
        """``capture`` with the values its handshake handed over (Asana's ``X-Hook-Secret``,
        stored as ``[secret]`` whoever answered) as they came, for forward and replay: the
        app behind a forward learns from it the secret every later delivery is signed with.
        Only for a handshake this lab received since it started
        (:meth:`~hooklab.providers.BinSecrets.handed_over`); one imported, or from before a
        restart, is sent as stored."""
        if capture.kind != "http" or capture.received_at is None:
            return capture
        values = self.handed_over(capture.bin, capture.received_at, capture.body)
        if not values:
            return capture
        given = iter(values)
        headers = []
        for k, v in capture.headers:
            if k.lower() == "x-hook-secret":
                sent = next(given, MARK)
                v = sent if v == MARK else v
            headers.append((k, v))
        return capture if headers == capture.headers else replace(capture, headers=headers)

    def scrub(self, record: dict[str, Any], received: Any = None) -> None:
        """Replace every secret and verify token given with ``lab.secret`` (of any bin; its
        base64 forms too) by ``[secret]`` wherever it appears in the record's header names
        and values (inside ``Basic`` credentials too), path, query, URL, event type and
        delivery id: ``bearer <secret>``, ``?token=<secret>``, percent-encoded, a bin other
        than the one it was given for (see :func:`hooklab.capture.redact_record`). A secret
        a handshake handed over is only replaced in its own bin's captures (by
        :meth:`apply`): a sender chooses it. The body stays exact (signatures are checked
        over it). Values shorter than 6 characters are only replaced where they are a whole
        header value."""
        words = self._words()
        before = list(received if received is not None else record.get("headers") or [])
        if not words and before == list(record.get("headers") or []):
            return
        if words:
            redact_record(record, credentials=False, secrets=words, mark=MARK)
        # a verification reason or handshake note may quote a header value (cut short)
        _unquote(record, [v for (_, v), (_, w) in zip(before, record.get("headers") or [],
                                                      strict=False) if v != w])

    def scrubbed(self, capture: Capture) -> Capture:
        """``capture`` with every secret and verify token given with ``lab.secret`` (the forms
        :meth:`scrub` replaces, of every bin) as ``[secret]`` outside the body: what exports and
        the live view show of a capture stored before its secret was given (the database keeps
        it as it was stored). The same object when there is nothing to replace.

        >>> from datetime import datetime, timezone
        >>> book = SecretBook()
        >>> cap = Capture(1, datetime.now(timezone.utc), "POST", "/gitlab",
        ...               headers=[("X-Gitlab-Token", "glsecret-123")], url="/gitlab?t=glsecret-123")
        >>> book.scrubbed(cap) is cap
        True
        >>> book.set("gitlab", "glsecret-123", provider="gitlab")
        >>> shown = book.scrubbed(cap)
        >>> shown.headers, shown.url, cap.headers[0][1]
        ([('X-Gitlab-Token', '[secret]')], '/gitlab?t=[secret]', 'glsecret-123')
        """
        changed = self.hidden_fields(capture)
        return replace(capture, **changed) if changed else capture

    def hidden_fields(self, capture: Capture) -> dict[str, Any]:
        """The fields of ``capture`` :meth:`scrubbed` changes, with their new values (``{}``:
        none): what a store keeps of a capture shown again and again (the live view's rows).

        >>> SecretBook().hidden_fields(Capture(1, None, "POST", "/b", headers=[("X", "v")]))
        {}
        """
        if not self._words():
            return {}
        record: dict[str, Any] = {k: getattr(capture, k) for k in _SHOWN}
        self.scrub(record)  # (the rule on arrival: a reason quoting a value scrubbed too)
        return {k: v for k, v in record.items() if v != getattr(capture, k)}

    def scrub_text(self, text: str) -> str:
        """``text`` (a path, event type, delivery id...) with every secret given with
        ``lab.secret`` as ``[secret]``, as :meth:`scrubbed` writes a capture's fields."""
        words = self._words()
        if not words or not text:
            return text
        return redact_record({"path": text}, credentials=False, secrets=words, mark=MARK)["path"]

    def _values(self) -> list[str | bytes]:
        """Every secret and verify token given in the lab's life (rotated or removed since
        too), and those of the bins' current settings (none a handshake handed over)."""
        with self._lock:
            values = list(self._given)
        values += [v for e in self.entries() if not e.learned for v in (e.secret, e.verify_token)]
        return [v for v in values if v]

    def _other_words(self, secret: str | bytes) -> tuple[str, ...]:
        """The forms (see :meth:`_words`) of every secret and verify token given but
        ``secret``: what a path keeps hidden when forward and replay give ``secret`` back.
        Made again only when what was given changes (each capture with its bin's secret in
        the path made them anew: 1.7 ms a capture with 255 other secrets, 0.55 without)."""
        version = self.version
        cached = getattr(self, "_cached_others", None)
        if cached is None or cached[0] != version:
            cached = self._cached_others = (version, {})
        got = cached[1].get(secret)
        if got is None:
            words: set[str] = set()
            for value in self._values():
                if value != secret:
                    words.update(_forms(value))
            got = cached[1][secret] = tuple(sorted(words))
        return got

    def _words(self) -> tuple[str, ...]:
        """The forms of every secret and verify token given with ``lab.secret`` in the lab's
        life (rotated or removed since too; 6+
        characters): as text, its bytes read as Latin-1, base64 (standard, unpadded,
        URL-safe), ``+`` read as a space (as a query string decodes it) and a space sent as
        ``+`` (as ``quote_plus`` writes it). Made again only when what was given changes."""
        cached = getattr(self, "_cached_words", None)
        if cached is not None and cached[0] == self.version:
            return cached[1]
        version = self.version
        words: set[str] = set()
        for value in self._values():
            words.update(_forms(value))
        got = tuple(sorted(words))
        self._cached_words = (version, got)
        return got
