"""Forward captures to a local app (like ``smee --target``) and replay stored ones exactly.

>>> lab.forward("github", to=app_url)          # app_url: your app's webhook endpoint
>>> hooklab.send(lab.url_for("github", "events?x=1"), provider="github", event="push").status
200
>>> lab.store.wait_for(lambda: lab.forwards(), timeout=10)   # forwarding never delays capture
True
>>> fwd = lab.forwards()[-1]
>>> fwd["capture_id"], fwd["status"], fwd["target"] == app_url + "/events?x=1"
(2, 200, True)
>>> [r.status for r in lab.replay([1, 2], to=app_url)]
[200, 200]

A capture of ``/github/events?x=1`` forwarded to ``http://127.0.0.1:5000/webhook`` goes to
``http://127.0.0.1:5000/webhook/events?x=1`` with the same method, the same headers except the
hop-by-hop ones (``Host`` is the target's, ``Content-Length`` recomputed) and the exact body, so
signatures still verify. A capture whose trailer fields came after a chunked body
(``capture.trailers``) goes as it came: its header section as headers, the body with
``Transfer-Encoding: chunked``, the trailer fields after it as trailers (RFC 9112 section
7.1.2), never as headers: a signature sent only as a trailer, which the provider's receivers
never read, stays where the app's parser does not take it for one. Signatures verify but for
two cases ``resign=`` is for: a replay long after the delivery
where the signature holds a time the app checks (Stripe's ``t=`` against its 300 s tolerance,
Standard Webhooks, Slack), and a provider that signs the URL (Twilio, Square, HubSpot...),
whose URL changed. ``replay(..., resign=secret)`` and ``Forwarder.add(..., resign=secret)``
sign each request afresh for the URL it goes to, the body bytes and the delivery id kept, as
``stripe events resend`` does (:func:`resigned`). A fresh signature vouches for a delivery, so
only one that verified with its bin's secret on arrival (``verified is True``) is re-signed by
a forward or by ``resign=True``: anyone who knows the bin's URL can post to it, and a forged
or replayed delivery is what the app's own check is there to refuse. Requests use
:func:`hooklab.outbound.sender.http_request`: no redirects, timeouts. With ``workers > 1``
forwards of one bin may reach the app out of order, as providers' own retries do.

Each forward carries one header more: ``X-Hooklab-Forwarded-By: <16 hex digits>``, a mark of
this lab and the forwarded bin (a keyed hash under a random key the lab draws when it starts
forwarding: it says nothing about the lab, and it guards nothing: whoever copies it into a
delivery only keeps that delivery from being forwarded). A capture that comes
back to the lab carrying the mark of its own bin (through a host name that resolves to this
machine, another interface, a proxy) is not forwarded again: its forward is recorded with the
error ``forward loop: ...``. A delivery then comes back at most once, where one request made
a thousand captures a second. The app sees the header (and a lab capturing the forward stores it).

The capture is the sender's, so it never steers the request: a path suffix with a dot segment
however spelled (``..``, ``%2e%2e``, ``..;``, ``..%2f``, ``%252e%252e``, a backslash) is refused
rather than sent, the target's own query parameters win over the capture's same-named ones, and
headers hooklab stored as ``[redacted]`` (Jupyter's cookie) are not sent at all. Nor is a
capture with a header that cannot go out as one header (a database or file from elsewhere, a
capture made in code: a line break, NUL or another control character in a value, a name that
is no token): its forward or replay is an error naming the header, never quoting its value
(:func:`hooklab.outbound.sender.check_header`), and nothing reaches the target.
"""

from __future__ import annotations

import contextlib
import hashlib
import queue
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from dataclasses import replace as dc_replace
from typing import Any, NamedTuple
from urllib.parse import unquote, unquote_plus, urlencode, urlsplit

from ..capture import (
    REDACTED,
    Capture,
    ForwardOutcome,
    as_sent,
    forward_error,
    not_a_request,
    target_as_sent,
    trailers_start,
)
from ..jsonread import MAX_DECODED, TRANSFER_UNDONE, inflate, transfer_codings
from .sender import (
    _exchange,
    _shown_repr,
    _text_not_bytes,
    ascii_url,
    check_timeout,
    iri_escaped,
    unsendable,
)

__all__ = ["HOP_BY_HOP", "LOOP_HEADER", "Forwarder", "ForwardsLeft", "LeftForwards", "ReplayResult",
           "Resign", "book_resigner",
           "check_resign", "check_target", "decoded", "delivered", "forward_target_read",
           "has_dot_segment", "outgoing",
           "outgoing_trailers", "replay", "resigned", "sent_body",
           "target_url", "unverified"]

#: headers that describe one connection, not the message (RFC 9110 section 7.6.1) and are
#: therefore not forwarded; ``Proxy-*`` headers are dropped too
HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "transfer-encoding", "te", "trailer", "trailers", "upgrade",
    "host", "content-length", "expect",
})
DEFAULT_TIMEOUT = 10.0
#: the header a forward carries: the forwarding lab's mark for the bin (see :meth:`Forwarder.mark`)
LOOP_HEADER = "X-Hooklab-Forwarded-By"
#: forwards waiting for a worker at most; one more is recorded as not forwarded. A burst to a
#: slow app waits its turn (1,000 dropped a third of a 1,500-webhook burst to a 0.1 s app)
DEFAULT_QUEUE = 100_000
#: what waiting forwards hold in memory at most (their captures: bodies and heads, see _weight):
#: past it a waiting forward keeps only its capture's id, read back from the store at its turn
HELD_BYTES = 32 << 20


_SEPARATORS = re.compile(r"[/\\]")


def _weight(capture: Capture) -> int:
    """About what a waiting forward's capture holds in memory, in bytes: its body and its
    head (a body-less request with a megabyte of header fields counted 512 bytes, and 200 of
    them held 600 MiB past HELD_BYTES), with Python's overhead per header field."""
    return (len(capture.body or b"") + len(capture.url or "") + len(capture.path or "") + 1024
            + sum(len(k) + len(v) + 160 for k, v in capture.headers))


def has_dot_segment(path: str, *, levels: int = 3) -> bool:
    """Whether any segment of ``path`` is ``.`` or ``..`` however it is spelled.

    Servers differ in what they decode before resolving dot segments, so every spelling counts:
    percent-encoded (``%2e%2e``, up to ``levels`` times: ``%252e``), with path parameters
    (``..;x``, as Tomcat and Spring read them), and split by an encoded or back slash.

    >>> [has_dot_segment(p) for p in ("/a/../b", "/a/..;/b", "/%2e%2e%2fb", "/a..b", "/.well-known")]
    [True, True, True, False, False]
    """
    for _ in range(levels + 1):
        for segment in _SEPARATORS.split(path):
            if segment.split(";", 1)[0] in (".", ".."):
                return True
        decoded = unquote(path)
        if decoded == path:
            return False
        path = decoded
    return True  # still encoded after that many levels: refuse rather than guess


def _names(query: str) -> set[str]:
    return {unquote_plus(p.split("=", 1)[0]) for p in query.split("&") if p}


def check_target(to: str) -> str:
    """``to`` as requests go to it (characters past ASCII percent-encoded), or ``ValueError``
    when it is no http(s) URL with a host and a valid port, or one a request line cannot
    carry (a space or a control character in its host, path or query: percent-encode it), as
    ``hooklab send`` refuses it (``TypeError`` when it is no string): the mistake of whoever
    wrote it, said once before anything is sent, not an error per capture. The message quotes
    the target without its credentials.

    >>> check_target("http://127.0.0.1:5000/webhook")
    'http://127.0.0.1:5000/webhook'
    >>> check_target("ftp://user:pw@example.org/")
    Traceback (most recent call last):
    ...
    ValueError: forward/replay target must be an http(s) URL, got 'ftp://user:[secret]@example.org/'
    >>> check_target("http://127.0.0.1:5000/my hook")
    Traceback (most recent call last):
    ...
    ValueError: forward/replay target 'http://127.0.0.1:5000/my hook' is no valid URL: a space
    at character 25 (a request line holds none: percent-encode it, %20 for a space)
    """
    from ..credentials import scrubbed_text, shown_url

    if not isinstance(to, str):
        raise TypeError(f"forward/replay target must be a URL (str), not {type(to).__name__}")
    written, to = to, ascii_url(to)  # (the target a person wrote; the capture's own part
    # stays as it came)
    try:
        parts = urlsplit(to)
        parts.port  # noqa: B018 - past 65535 or no number: refused now, not per capture
    except ValueError as exc:  # ("Invalid IPv6 URL", "Port out of range": its words may quote
        raise ValueError(f"forward/replay target {shown_url(to)} is no valid URL: "  # the
                         f"{scrubbed_text(str(exc), to)}") from None  # credentials: scrubbed)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("forward/replay target must be an http(s) URL, got "
                         f"{shown_url(to)}")
    bad = unsendable(written)  # (counted in the target as written, before ascii_url)
    if bad is not None:  # (http.client refused it per capture: InvalidURL, every one failed)
        fix = bad.slip or f"a request line holds none: percent-encode it, {bad.advice}"
        raise ValueError(f"forward/replay target {shown_url(written, shown=bad.shown)} is no valid URL: {bad.what} at "
                         f"character {bad.at + 1} ({bad.note + '; ' if bad.note else ''}{fix})")
    return to


def target_url(capture: Capture, to: str) -> str:
    """``to`` + the capture's path after its bin + the capture's query string (as received,
    a character a byte; one with a character past U+00FF, which is text, percent-encoded as
    UTF-8: :func:`~hooklab.outbound.sender.sent_target`).

    Raises ``ValueError`` for a target that is not http(s) and for a path suffix with a dot
    segment (see :func:`has_dot_segment`). Query parameters named in ``to`` keep ``to``'s values:
    the capture's same-named ones (compared decoded) are dropped.

    >>> target_url(Capture(1, None, "POST", "/gh/a/b", url="http://x/gh/a/b?q=1"), "http://t/hook")
    'http://t/hook/a/b?q=1'
    >>> target_url(Capture(1, None, "POST", "/gh", url="http://x/gh?k=EVIL&q=1"), "http://t/h?k=REAL")
    'http://t/h?k=REAL&q=1'
    """
    to = check_target(to)
    parts = urlsplit(to)
    raw = capture.path.lstrip("/")
    suffix = raw.split("/", 1)[1] if "/" in raw else ""
    if has_dot_segment("/" + suffix):
        raise ValueError(f"refusing to send {capture.path!r}: its path has a dot segment")
    query = urlsplit(capture.url).query if capture.url else ""
    if not query and capture.query:
        query = urlencode([(k, v) for k, vs in capture.query.items() for v in vs])
    if _text_not_bytes(capture.path + query):  # (text, not the bytes of a received target:
        suffix, query = iri_escaped(suffix), iri_escaped(query)  # an IRI, sent as a browser does)
    base = to.split("?", 1)[0].split("#", 1)[0]
    if suffix:
        base = base.rstrip("/") + "/" + suffix
    elif capture.path.endswith("/") and raw and not base.endswith("/"):
        base += "/"  # "/github/" keeps its trailing slash
    if parts.query and query:  # the target's own parameters win
        own = _names(parts.query)
        query = "&".join(p for p in query.split("&")
                         if p and unquote_plus(p.split("=", 1)[0]) not in own)
    queries = [q for q in (parts.query, query) if q]
    return base + ("?" + "&".join(queries) if queries else "")


def forward_target_read(target: str, capture: Capture | None) -> str:
    r"""A forward record's ``target`` (``lab.forwards()``) as a person reads it, on
    ``hooklab serve``'s line and in the live view: the bytes the capture's path and query
    went as, read as UTF-8, a byte that is no UTF-8 as its escape (``/é%FF``, a lone 0xE9
    ``%E9``), never a byte as its Latin-1 character.

    The record keeps a target whose bytes are UTF-8 read (``/café``) and any other as its
    bytes, a character a byte (``/Ã©ÿ``): so a record's ``é`` is raw UTF-8
    ``Ã©``, or a lone byte 0xE9. ``capture`` (the one forwarded) tells which: the record
    is its bytes when the capture's own target (credentials hidden, as in the record) is no
    UTF-8. Without it (deleted since) the record is shown as it is.

    >>> cap = Capture(1, None, "POST", "/q/Ã©ÿ", url="http://x/q/Ã©ÿ")
    >>> forward_target_read("http://app/t/Ã©ÿ", cap)
    'http://app/t/é%FF'
    >>> cap = Capture(2, None, "POST", "/q/cafÃ©", url="http://x/q/cafÃ©")
    >>> forward_target_read("http://app/t/café", cap)
    'http://app/t/café'
    """
    if target.isascii() or _text_not_bytes(target):
        return target  # (ASCII, or characters read already: as recorded)
    try:
        target.encode("latin-1").decode("utf-8")
        return target  # (a recorded target that were bytes would have been read: text)
    except UnicodeDecodeError:
        pass
    if capture is None:
        return target
    from ..credentials import scrubbed_url

    query = urlsplit(capture.url).query if capture.url else ""
    came = scrubbed_url("http://h" + (capture.path or "/") + (f"?{query}" if query else ""))
    try:
        came.encode("latin-1").decode("utf-8")
    except UnicodeEncodeError:  # (text: sent percent-encoded, ASCII; not this record)
        return target
    except UnicodeDecodeError:  # its bytes are no UTF-8: so is the record, bytes
        return target_as_sent(target)
    return target  # (its bytes are UTF-8: the record read them)


def _sent(fields: list[tuple[str, str]], named: set[str], keep: frozenset[str] = frozenset()
          ) -> list[tuple[str, str]]:
    """``fields`` minus hop-by-hop ones (but ``keep``), those ``named`` (by ``Connection``),
    ``Proxy-*`` ones and those stored as ``[redacted]``."""
    return [
        (k, v) for k, v in fields
        if (k.lower() not in HOP_BY_HOP or k.lower() in keep) and k.lower() not in named
        and not k.lower().startswith("proxy-") and v != REDACTED
    ]


def _connection_named(capture: Capture) -> set[str]:
    """The field names the header section's ``Connection`` names (a trailer is no option)."""
    return {
        t.strip().lower()
        for k, v in capture.header_section if k.lower() == "connection"
        for t in v.split(",") if t.strip()
    }


def outgoing(capture: Capture) -> list[tuple[str, str]]:
    """The capture's header section (:attr:`~hooklab.capture.Capture.header_section`: without
    the trailer fields that followed a chunked body, :func:`outgoing_trailers` sends those)
    minus hop-by-hop ones (and those named in ``Connection``) and minus those stored as
    ``[redacted]``. A ``Trailer`` field (the names the trailers were announced as) is kept
    when trailer fields are sent after the body.

    >>> c = Capture(1, None, "POST", "/s", headers=[("Transfer-Encoding", "chunked"),
    ...             ("Trailer", "X-Sig"), ("X-A", "1"), ("X-Sig", "v1=abc")], trailers_at=3)
    >>> outgoing(c), outgoing_trailers(c)
    ([('Trailer', 'X-Sig'), ('X-A', '1')], [('X-Sig', 'v1=abc')])
    """
    named = _connection_named(capture)
    keep = frozenset({"trailer"}) if _sent(capture.trailers, named) else frozenset()
    return _sent(capture.header_section, named, keep)


def outgoing_trailers(capture: Capture) -> list[tuple[str, str]]:
    """The capture's trailer fields (:attr:`~hooklab.capture.Capture.trailers`) as replay and
    forward send them, after a chunked body: as :func:`outgoing` leaves its header fields
    out, without hop-by-hop ones (``Content-Length``, ``Transfer-Encoding``, ``Host``...),
    those the header section's ``Connection`` names, ``Proxy-*`` ones and those stored as
    ``[redacted]``. ``[]``: the body goes whole, after its ``Content-Length``."""
    return _sent(capture.trailers, _connection_named(capture))


def decoded(capture: Capture) -> Capture:
    """``capture`` as replay and forward send it: its body with the transfer codings undone
    (:func:`sent_body`) and, where any were, its ``Transfer-Encoding`` fields gone from the
    header section (``trailers_at`` moved to match); ``capture`` itself when none were.
    Whatever reads a body to show or hide parts of it before sending (the live view's copy
    as curl hides a JSON body's credentials) reads this one: the stored gzip bytes hid
    nothing, and the command then showed the decoded body whole. ``ValueError`` as
    :func:`sent_body`.

    >>> import gzip
    >>> c = decoded(Capture(1, None, "POST", "/b", headers=[("Transfer-Encoding", "gzip, chunked"),
    ...                     ("X-Sig", "t")], body=gzip.compress(b'{"a":1}'), trailers_at=1))
    >>> c.body, c.headers, c.trailers_at
    (b'{"a":1}', [('X-Sig', 't')], 0)
    """
    body = sent_body(capture)
    if body == (capture.body or b"") and not _transfer_codings(capture):
        return capture
    at = trailers_start(capture.trailers_at, len(capture.headers))
    section = len(capture.headers) if at is None else at
    dropped = [i for i, (k, _) in enumerate(capture.headers)
               if i < section and k.lower() == "transfer-encoding"]
    headers = [h for i, h in enumerate(capture.headers) if i not in dropped]
    return dc_replace(capture, body=body, headers=headers,
                      trailers_at=None if at is None else at - len(dropped))


def _transfer_codings(capture: Capture) -> list[str]:
    """The transfer codings of the capture's header section (:func:`hooklab.jsonread.transfer_codings`)."""
    return transfer_codings(v for k, v in capture.header_section if k.lower() == "transfer-encoding")


def sent_body(capture: Capture) -> bytes:
    """The body replay and forward send for ``capture``: its body, with the transfer codings
    it came with undone (``Transfer-Encoding: gzip, chunked``: the gzip bytes the server
    stored once it undid ``chunked``, gunzipped). ``Transfer-Encoding`` is hop-by-hop: a
    proxy that drops it must undo its codings (RFC 9112 section 7), or the app reads coded
    bytes as the body. ``gzip``/``x-gzip`` and ``deflate`` are undone, at most
    :data:`hooklab.jsonread.MAX_DECODED` bytes each; a coding hooklab does not know
    (``compress``, a made-up one), a corrupt stream or a decompression bomb is
    ``ValueError`` saying why, and nothing is sent: sent as it is, the app would take the
    coded bytes for the body.

    >>> import gzip
    >>> sent_body(Capture(1, None, "POST", "/b", headers=[("Transfer-Encoding", "gzip, chunked")],
    ...                   body=gzip.compress(b'{"a":1}')))
    b'{"a":1}'
    >>> sent_body(Capture(1, None, "POST", "/b", headers=[("Transfer-Encoding", "compress, chunked")],
    ...                   body=b"compressed"))
    Traceback (most recent call last):
    ...
    ValueError: capture #1 came with Transfer-Encoding 'compress, chunked', whose 'compress'
    coding hooklab cannot undo (gzip, deflate): not sent (the app would read the coded bytes
    as the body)
    """
    body = capture.body or b""
    codings = _transfer_codings(capture)
    if codings and codings[-1] == "chunked":
        codings.pop()
    if not codings:
        return body
    said = ", ".join(v for k, v in capture.header_section if k.lower() == "transfer-encoding")
    for coding in reversed(codings):  # (the last applied is undone first)
        if coding not in TRANSFER_UNDONE:
            what = ("'chunked' before another coding (a request's chunked is its last)"
                    if coding == "chunked" else f"whose {coding!r} coding hooklab cannot undo "
                    "(gzip, deflate)")
            raise ValueError(f"capture #{capture.id} came with Transfer-Encoding {said!r}, "
                             f"{what}: not sent (the app would read the coded bytes as the "
                             "body)")
    for coding in reversed(codings):
        if not body:  # (no body came: none to undo)
            break
        try:
            body = inflate(body, coding, MAX_DECODED)
        except ValueError as exc:
            raise ValueError(f"capture #{capture.id} came with Transfer-Encoding {said!r}: "
                             f"{exc}: not sent (the app would read the coded bytes as the "
                             "body)") from None
    return body


class Resign(NamedTuple):
    """Sign a replayed or forwarded request afresh: with ``secret``, as ``provider`` signs
    (``None``: the provider the capture was detected as, or its bin's). See :func:`resigned`.

    >>> Resign("whsec_...", "stripe")
    Resign(secret='[secret]', provider='stripe')
    """

    secret: str | bytes
    provider: str | None = None

    def __repr__(self) -> str:  # (a notebook cell's output never shows the secret)
        return f"Resign(secret='[secret]', provider={self.provider!r})"


#: what ``resign=`` takes: a secret, a :class:`Resign`, or a function giving one per capture
ResignSpec = str | bytes | Resign | Callable[[Capture], Resign]

#: schemes that sign with a private key (the secret a lab verifies with is the public one)
_PRIVATE_KEY_SCHEMES = frozenset({"ed25519", "ecdsa", "paypal", "sns"})


def _signs_with_private_key(provider: str) -> bool:
    from ..providers import TABLE

    row = TABLE[provider]
    return row.scheme in _PRIVATE_KEY_SCHEMES or (row.scheme == "jwt"
                                                  and row.sig.get("alg") == "ES256")


def _resign_provider(capture: Capture, provider: str | None) -> str:
    """The provider whose signing a re-signed ``capture`` gets, or ``ValueError``."""
    from ..providers import TABLE, unknown_provider
    from ..signatures import SIGNING_PROVIDERS

    name = (provider or capture.provider or "").strip().lower()
    if not name:
        raise ValueError(f"capture #{capture.id} cannot be re-signed: no provider was detected "
                         "for it; say which: resign=Resign(secret, provider='stripe') (or "
                         "lab.secret(bin, secret, provider=...))")
    if name not in TABLE:
        raise ValueError(f"capture #{capture.id} cannot be re-signed as {unknown_provider(name)}: hooklab "
                         f"signs as {', '.join(SIGNING_PROVIDERS)}")
    return name


def resigned(
    capture: Capture,
    url: str,
    secret: str | bytes,
    *,
    provider: str | None = None,
    timestamp: int | float | None = None,
) -> tuple[str, list[tuple[str, str]], bytes]:
    """``(url, headers, body)`` to send ``capture`` to ``url`` signed afresh, as ``provider``
    (default: the capture's) signs with ``secret`` (:func:`hooklab.signatures.sign_request`,
    now or at ``timestamp``).

    The capture's signature headers (each spelling of one it has: Shopify Events'
    ``Shopify-Hmac-Sha256`` beside or instead of ``X-Shopify-Hmac-Sha256``, Box's secondary),
    and the timestamp headers a provider keeps apart
    (Slack's ``X-Slack-Request-Timestamp``, ``svix-timestamp``/``webhook-timestamp``...), are
    replaced in place by fresh ones; the delivery id a signature covers is kept
    (``webhook-id``/``svix-id``: apps deduplicate by it); every other header (as
    :func:`outgoing` sends them) and the body bytes stay as they were; the signature is made
from the header section, and trailer fields (:func:`outgoing_trailers`) are still sent as
trailers, as they came, never moved into the headers. Providers that sign
    the URL (Twilio, Square, HubSpot, Plivo, Trello, Mandrill) are signed for ``url``, the
    URL the request goes to. Where a provider's signing changes the URL or the body, that
    is what is sent, as :func:`~hooklab.signatures.sign_request` makes it: Twilio's JSON
    body hash in the ``bodySHA256`` query parameter; Mailgun's signature in the body (a
    JSON body is serialised again; a form, urlencoded or multipart, gets new ``timestamp``,
    ``token`` and ``signature`` values in place of the old ones, every other byte kept: a
    form with one of them twice, or some of them without the others, is ``ValueError``);
    Adyen's per-item ``hmacSignature``, Braintree's form and SNS's message likewise; a shared token (GitLab's, Basic credentials) is ``secret``.
    PayPal's transmission id is a new one (it is signed with the time). A time the
    payload itself carries (Linear's ``webhookTimestamp``) is the body's: it stays as it was,
    so an app that checks it still refuses a late replay. Providers that sign
    with a private key (Discord, Telnyx, SendGrid, Plaid, PayPal, SNS) need that private
    key as ``secret``: your app verifies with its public key.

    Raises ``ValueError`` when the capture has no provider (pass ``provider=``), for a
    provider hooklab cannot sign as, and when signing fails (a secret of the wrong form, a
    body the provider's signing cannot read); the message never quotes the secret.

    >>> url, headers, body = resigned(cap, "http://127.0.0.1:5000/webhook", "whsec_test")
    >>> body == cap.body, dict(headers)["Stripe-Signature"][:2]
    (True, 't=')
    """
    from ..providers import TABLE
    from ..signatures import sign_request

    name = _resign_provider(capture, provider)
    row = TABLE[name]
    headers = outgoing(capture)
    body = sent_body(capture)  # (the transfer codings undone: what the sender signed)
    given: dict[str, str] = {}
    for k, v in headers:
        given.setdefault(k.lower(), v)
    msg_id = None
    rename: dict[str, str] = {}
    if row.scheme == "standardwebhooks":  # (its own prefix, or the other, as the capture has)
        first = row.sig.get("prefix", "webhook")
        other = "svix" if first == "webhook" else "webhook"
        used = other if (f"{other}-signature" in given and f"{first}-signature" not in given) \
            else first
        msg_id = given.get(f"{used}-id")
        rename = {f"{first}-{part}": f"{used}-{part}" for part in ("id", "timestamp", "signature")}
    # a provider that signs in more than one header (Shopify Events' Shopify-Hmac-Sha256,
    # Box's secondary, DocuSign's -2 ... -100): each of them the capture has gets the fresh
    # signature, none is left stale beside it (an app may check that one first)
    also = [h for h in row.sig.get("also", ()) if h.lower() in given] \
        if row.scheme == "hmac" else []
    try:
        signed = sign_request(name, secret, url=url, body=body, method=capture.method or "POST",
                              headers=dict(headers), timestamp=timestamp, msg_id=msg_id)
    except ValueError as exc:
        raise ValueError(f"capture #{capture.id} cannot be re-signed as {name}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - a body the provider's signing cannot read
        raise ValueError(f"capture #{capture.id} cannot be re-signed as {name}: "
                         f"{type(exc).__name__} reading its body") from None
    fresh = {rename.get(k, k): v for k, v in signed.headers.items()}
    if also and row.sig["header"] in fresh:
        mac = fresh[row.sig["header"]] if row.sig["header"].lower() in given \
            else fresh.pop(row.sig["header"])
        fresh.update((h, mac) for h in also)
    wanted = {k.lower(): (k, v) for k, v in fresh.items()}
    out: list[tuple[str, str]] = []
    for k, v in headers:
        low = k.lower()
        if low not in wanted:
            out.append((k, v))
        elif wanted[low] is not None:  # (the first of its name: in place, the rest dropped)
            out.append((k, wanted[low][1]))
            wanted[low] = None  # type: ignore[assignment]
    out.extend(pair for pair in wanted.values() if pair is not None)
    return signed.url or url, out, signed.body


def _resigner(resign: ResignSpec | None) -> Callable[[Capture], Resign] | None:
    """``resign=`` as a function of the capture (``None``: sent as captured)."""
    if resign is None or resign is False:
        return None
    if isinstance(resign, Resign):
        return lambda capture: resign
    if isinstance(resign, (str, bytes)):
        if not resign:
            raise ValueError("resign= needs a non-empty secret")
        return lambda capture: Resign(resign)
    if callable(resign):
        return resign
    raise TypeError(f"resign= is a secret (str or bytes), a Resign or a function of the "
                    f"capture, not {type(resign).__name__}")


def book_resigner(book: Any, resign: bool | ResignSpec | None, *,
                  bin: str | None = None) -> Callable[[Capture], Resign] | None:
    """``resign=`` of ``lab.replay`` / ``lab.forward`` as a function of the capture: ``True``
    signs with the secret registered for the capture's bin (``lab.secret(bin, secret,
    provider=...)``, read when each is sent: ``book`` is the lab's secret book) as its
    provider; a secret signs with that secret as the bin's provider (or the capture's); a
    :class:`Resign` or a function as :func:`replay` takes them; ``False``/``None``: as
    captured.

    ``True`` signs only a capture that verified with the bin's own secret on arrival
    (``verified is True``): any other is ``ValueError`` naming it and its ``verify_reason``
    (a forged delivery, posted by anyone who knows the bin's URL, or a stale one replayed
    by a third party, is not vouched for with your secret). It signs as the bin's
    registered provider, or, for a bin registered without one, as the provider whose
    signature verified the capture on arrival (never one a sender's headers name without a
    signature made with the secret). An explicit secret (``resign="whsec_..."``, a
    :class:`Resign`, a function) signs whatever capture it is given: in a replay the user
    picked the capture (a forward still sends only verified ones, see :class:`Forwarder`).

    With ``bin`` (a forward), any ``resign`` for a bin without a secret is ``ValueError``
    now (its deliveries can never verify, so none would be sent), as is ``True`` for a bin
    whose provider signs with a private key (the lab holds the public key, which verifies:
    give the private key, ``resign=Resign(key, provider)``).

    >>> from hooklab.signatures.book import SecretBook
    >>> book = SecretBook()
    >>> book.set("stripe", "whsec_test", provider="stripe")
    >>> book_resigner(book, True)(cap)                   # cap: verified on arrival
    Resign(secret='[secret]', provider='stripe')
    >>> forged = Capture(9, None, "POST", "/stripe", verified=False,
    ...                  verify_reason="signature mismatch")
    >>> book_resigner(book, True)(forged)
    Traceback (most recent call last):
    ...
    ValueError: not re-signed with bin 'stripe''s secret: capture #9's signature did not verify
    on arrival (signature mismatch); only a delivery that verified is (...)
    >>> book_resigner(book, "whsec_test")(forged)        # your own choice of capture
    Resign(secret='[secret]', provider='stripe')
    """
    if bin is not None and resign is not None and resign is not False:
        entry = book.get(bin)
        if entry is None or not entry.secret:
            raise ValueError(f"cannot re-sign the forwards of bin {bin!r}: no secret is "
                             f"registered for it, and only deliveries that verify with the "
                             f"bin's secret are re-signed: lab.secret({bin!r}, secret, "
                             "provider=...) first")
    if resign is True:
        def registered(capture: Capture) -> Resign:
            return _registered(book, capture.bin, capture)

        if bin is not None:
            _registered(book, bin, None)
        return registered
    if isinstance(resign, (str, bytes)) and resign:
        secret = resign

        def given(capture: Capture) -> Resign:
            entry = book.get(capture.bin)
            return Resign(secret, entry.provider if entry is not None else None)

        return given
    return _resigner(resign)  # type: ignore[arg-type]


def _registered(book: Any, bin: str, capture: Capture | None) -> Resign:
    entry = book.get(bin)
    if entry is None or not entry.secret:
        what = f"capture #{capture.id} cannot be re-signed" if capture else "cannot re-sign"
        raise ValueError(f"{what}: no secret is registered for bin {bin!r}: "
                         f"lab.secret({bin!r}, secret, provider=...) first, or give the "
                         "secret: resign='<secret>'")
    if capture is not None:
        why = unverified(capture)
        if why is not None:  # (a forged delivery signed with the user's secret: an oracle)
            raise ValueError(f"not re-signed with bin {bin!r}'s secret: {why}; only a "
                             "delivery that verified is (to sign this one all the same, give "
                             "the secret yourself: resign='<secret>' or Resign(secret, "
                             "provider))")
    # a bin without a provider: the one whose signature verified the capture (the lab checks
    # a provider-less bin's capture as the provider it was detected as, and stores that one:
    # verified is True only where the user's secret signed it that way)
    provider = entry.provider or (capture.provider if capture is not None else None)
    if capture is not None and not provider:
        raise ValueError(f"capture #{capture.id} cannot be re-signed with bin {bin!r}'s "
                         "secret: the bin has no provider, and no provider's signature "
                         f"verified the capture: lab.secret({bin!r}, secret, "
                         "provider='stripe') (ids: hooklab.providers.PROVIDERS)")
    if provider and provider in _table() and _signs_with_private_key(provider):
        raise ValueError(f"{provider} signs with a private key, and lab.secret holds the key "
                         f"that verifies (bin {bin!r}): give the private key your app trusts, "
                         f"resign=Resign(private_key, {provider!r})")
    return Resign(entry.secret, provider)


def unverified(capture: Capture) -> str | None:
    """Why ``capture`` must not be signed afresh with the bin's secret (by a forward with
    ``resign``, or ``replay(..., resign=True)``), or ``None`` when it verified on arrival with
    its bin's own secret (``verified is True``). A fresh signature over a delivery that did not
    verify would turn the lab into a signing oracle: anyone who can post to the bin's URL
    (``lab.public_url`` is on the internet) would get any payload signed with your secret.

    >>> unverified(Capture(7, None, "POST", "/stripe", verified=False,
    ...                    verify_reason="signature mismatch"))
    "capture #7's signature did not verify on arrival (signature mismatch)"
    >>> unverified(Capture(7, None, "POST", "/stripe", verified=True)) is None
    True
    """
    from ..capture import printable

    if capture.verified is True:
        return None
    if capture.verified is None:
        why = printable(capture.verify_reason, 300) if capture.verify_reason else (
            f"no secret was registered for bin {capture.bin!r} when it came: "
            f"lab.secret({capture.bin!r}, secret, provider=...)")
        return f"capture #{capture.id} was not verified on arrival ({why})"
    why = printable(capture.verify_reason or "no reason recorded", 300)
    return f"capture #{capture.id}'s signature did not verify on arrival ({why})"


def _table() -> Any:
    from ..providers import TABLE

    return TABLE


def delivered(status: int | None, error: str | None = None) -> bool:
    """Whether a replay's or forward's answer means the target took the webhook: a ``2xx``
    status and no error. A ``3xx`` is no delivery: hooklab follows no redirect, so the app at
    the ``Location`` never got it (Stripe, GitHub and Svix count a redirect as a failed
    delivery too); ``1xx`` (``101``) and ``4xx``/``5xx`` are failures as well. What
    ``ReplayResult.ok`` says, and what a ``lab.forwards()`` row (``status``, ``error``) means.

    >>> [delivered(s) for s in (200, 204, 299, 301, 307, 308, 404, 500)]
    [True, True, True, False, False, False, False, False]
    >>> delivered(None, "ConnectionRefusedError: ...")
    False
    """
    return error is None and isinstance(status, int) and 200 <= status < 300


@dataclass
class ReplayResult:
    """One re-sent capture: the target's final answer (its body: at most
    :data:`~hooklab.outbound.sender.MAX_ANSWER` bytes, ``truncated`` when there was more), or
    ``error`` (then ``status`` is ``None``; escaped and cut as a forward's error is).

    ``url`` is where it went, exactly (the target's credentials included: code may need
    them); its ``repr``, the text a notebook cell shows and saves, writes them as
    ``[secret]``, as ``lab.forwards()`` records a forward's target, and ``error`` never
    quotes them.

    >>> r = ReplayResult(3, 200, "OK", url="http://127.0.0.1:5000/hook?token=S3CR3T")
    >>> r
    ReplayResult(capture_id=3, status=200, reason='OK', headers=[], body=b'', elapsed=0.0,
    error=None, url='http://127.0.0.1:5000/hook?token=[secret]', truncated=False)
    >>> r.url
    'http://127.0.0.1:5000/hook?token=S3CR3T'
    """

    capture_id: int
    status: int | None
    reason: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    elapsed: float = 0.0
    error: str | None = None
    url: str = ""
    truncated: bool = False

    @property
    def ok(self) -> bool:
        """Whether the target took the webhook: it answered ``2xx`` (:func:`delivered`). A
        redirect (``3xx``) is not followed: the app behind the URL it names never got it."""
        return delivered(self.status, self.error)

    def __repr__(self) -> str:
        return _shown_repr(self)


def _deliver(capture: Capture, to: str, timeout: float,
             extra: list[tuple[str, str]] | None = None, *, keep: bool = True,
             resign: Callable[[Capture], Resign] | None = None) -> ReplayResult:
    """Send ``capture``, signed afresh by ``resign`` when given (:func:`resigned`); its
    error as raised (the caller scrubs, escapes and cuts it). Without ``keep`` the answer's
    body is read and dropped (a forward records none of it)."""
    start = time.perf_counter()
    url = to
    try:
        url = target_url(capture, to)
        headers_out, body_out = outgoing(capture), sent_body(capture)
        if resign is not None:
            how = resign(capture)
            url, headers_out, body_out = resigned(capture, url, how.secret,
                                                  provider=how.provider)
        if not body_out and capture.header("Content-Length") is not None:
            # (a bodiless DELETE or OPTIONS that came with "Content-Length: 0", as Python's
            # requests sends one, goes with it: the delivery as it came)
            headers_out = [*headers_out, ("Content-Length", "0")]
        status, reason, headers, body, cut = _exchange(
            capture.method, url, headers_out + (extra or []), body_out,
            timeout=timeout, keep=keep, trailers=outgoing_trailers(capture))
    except Exception as exc:  # noqa: BLE001 - connection refused, timeout, bad URL, ...
        msg = str(exc) or type(exc).__name__
        if isinstance(exc, TimeoutError) or "timed out" in msg:
            msg = f"timed out after {timeout:g} s"
        return ReplayResult(capture.id, None, elapsed=time.perf_counter() - start,
                            error=f"{type(exc).__name__}: {msg}", url=url)
    return ReplayResult(capture.id, status, reason, headers, body,
                        time.perf_counter() - start, None, url, cut)


def _replayed(capture: Capture, to: str, timeout: float,
              resign: Callable[[Capture], Resign] | None = None) -> ReplayResult:
    from ..credentials import scrubbed_text

    r = _deliver(capture, to, timeout, resign=resign)
    if r.error:  # (the target's credentials never in it, as a forward's recorded error: the
        # result is a cell's output; scrubbed before the cut, which could leave half a one)
        r.error = scrubbed_text(r.error, r.url or to)
        r.error = forward_error(r.error)  # (a bad status line: ESC and all, or megabytes)
    return r


def check_resign(captures: Iterable[Capture], to: str, resign: ResignSpec | None) -> None:
    """``ValueError`` naming the first of ``captures`` that :func:`replay` could not re-sign
    with ``resign`` for ``to`` (no provider detected, a secret of the wrong form), as
    :func:`replay` raises it before sending anything; nothing when ``resign`` is none. A
    caller that reads captures one at a time (``hooklab replay``) checks each this way
    before it sends the first. A recorded WebSocket message, and a capture that cannot be
    sent at all (a dot segment...), is no re-signing error: its result says why.

    >>> check_resign([cap], app_url, "whsec_test")                 # a Stripe capture: fine
    >>> plain = Capture(7, None, "POST", "/x", body=b"plain")
    >>> check_resign([plain], app_url, "whsec_test")
    Traceback (most recent call last):
    ...
    ValueError: capture #7 cannot be re-signed: no provider was detected for it; ...
    """
    resigner = _resigner(resign)
    if resigner is None:
        return
    for c in captures:
        if c.kind != "http":
            continue
        how = resigner(c)
        try:
            url = target_url(c, to)
            sent_body(c)
        except ValueError:  # (a dot segment, a transfer coding not undone: that
            continue  # capture's error result, as unsigned)
        resigned(c, url, how.secret, provider=how.provider)


def replay(
    captures: Iterable[Capture], to: str, timeout: float = DEFAULT_TIMEOUT, *,
    resign: ResignSpec | None = None,
) -> list[ReplayResult]:
    """Re-send each capture exactly to ``to`` (in order); never raises on network errors
    (each result's ``error`` says what happened), but a ``to`` that is no http(s) URL is
    refused before anything is sent (:func:`check_target`: ``ValueError``).
    A recorded WebSocket message is not sent (it was no HTTP request): its result says so;
    nor is a capture with a header that cannot go out as one header (a CR or LF in a value:
    header injection), its ``error`` naming the header (:func:`~hooklab.outbound.sender.check_header`).
    An ``error`` shows what a terminal would act on as escapes and is cut at 2,000 characters,
    as a forward's is (:func:`hooklab.capture.forward_error`).

    A replay is the delivery as it was: where its signature holds a time the app checks
    (Stripe's ``t=`` against 300 s, Standard Webhooks, Slack...) a later replay is refused.
    ``resign`` signs each one afresh for the URL it goes to, keeping the body bytes and the
    delivery id (:func:`resigned`): a secret (as the capture's detected provider signs), a
    :class:`Resign` (secret and provider) or a function of the capture giving one. A capture
    that cannot be re-signed (no provider detected, a secret of the wrong form) is
    ``ValueError`` naming it, before anything is sent. The secret given here signs any
    capture, verified or not: you picked the captures (``lab.replay(..., resign=True)``,
    the bin's own secret, signs only those that verified on arrival: :func:`book_resigner`).

    >>> [r.status for r in replay([cap], app_url, resign="whsec_test")]   # a Stripe capture
    [200]
    >>> replay([cap], "notaurl")
    Traceback (most recent call last):
    ...
    ValueError: forward/replay target must be an http(s) URL, got 'notaurl'
    """
    # (the same mistake said once per capture, as "error" results, read as if the app had
    # failed them: hooklab replay --to already refused it as a usage error)
    check_target(to)
    timeout = check_timeout(timeout)
    resigner = _resigner(resign)
    captures = list(captures)
    check_resign(captures, to, resigner)  # (every one first: nothing is sent when one cannot be)
    return [_replayed(c, to, timeout, resigner) if c.kind == "http" else
            ReplayResult(c.id, None, error=f"not replayed: {not_a_request(c.kind, c.method)}")
            for c in captures]


class LeftForwards(NamedTuple):
    """The forwards of one bin to one target that a :meth:`Forwarder.close` left unfinished:
    the capture ids, ascending (one entry of :class:`ForwardsLeft`).

    >>> LeftForwards("orders", "http://127.0.0.1:8000/hook", (3, 4))
    LeftForwards(bin='orders', target='http://127.0.0.1:8000/hook', ids=(3, 4))
    """

    bin: str
    target: str
    ids: tuple[int, ...]


@dataclass(frozen=True)
class ForwardsLeft:
    """What a forwarder's close left behind (:meth:`Forwarder.close`, ``lab.forwards_left``).

    ``unsent``: forwards never sent (waiting for a worker when it closed, dropped): replaying
    those captures sends each once. ``unanswered``: forwards a worker had sent with no answer
    when it closed: the target may have them, a replay could deliver them twice. Each a tuple
    of :class:`LeftForwards`, one per bin and target, sorted; their outcome is never recorded
    (a late answer is not stored). False when nothing was left.

    >>> left = ForwardsLeft(unsent=(LeftForwards("orders", "http://127.0.0.1:8000/h", (3, 4)),))
    >>> bool(left), left.ids("unsent"), left.ids("unanswered")
    (True, [3, 4], [])
    >>> bool(ForwardsLeft())
    False
    """

    unsent: tuple[LeftForwards, ...] = ()
    unanswered: tuple[LeftForwards, ...] = ()
    #: the database the ids are of (its path; ``":memory:"``): after a lab moved to another
    #: database, ``lab.replay`` of these ids would send that database's captures of the same
    #: ids; ``hooklab.open(db).replay(...)`` sends these (a file's: the captures of a
    #: ``":memory:"`` database are gone with the lab that held them)
    db: str | None = None

    def __bool__(self) -> bool:
        return bool(self.unsent or self.unanswered)

    def ids(self, which: str = "unsent") -> list[int]:
        """The capture ids of ``which`` (``"unsent"`` or ``"unanswered"``), every bin's, ascending."""
        if which not in ("unsent", "unanswered"):
            raise ValueError(f"which must be 'unsent' or 'unanswered', got {which!r}")
        return sorted(i for entry in getattr(self, which) for i in entry.ids)


def _grouped(items: Iterable[tuple[int, str, str]]) -> tuple[LeftForwards, ...]:
    """(capture id, bin, target) triples as one :class:`LeftForwards` per bin and target."""
    by: dict[tuple[str, str], set[int]] = {}
    for cid, bin_, to in items:
        by.setdefault((bin_, to), set()).add(cid)
    return tuple(LeftForwards(b, t, tuple(sorted(ids))) for (b, t), ids in sorted(by.items()))


class Forwarder:
    """Relays new captures of some bins to targets from a few daemon worker threads.

    ``submit`` only enqueues (bounded; when full the capture is not forwarded and an error is
    recorded), so a failing or slow target never delays capture. Outcomes go to
    ``store.record_forward``: the target's status (or the error); a forward was delivered when
    :func:`delivered` says so, a ``2xx`` (a redirect is not followed: its ``3xx`` is a failed
    forward). With ``workers > 1`` deliveries may complete out of order.

    Every delivery carries ``X-Hooklab-Forwarded-By: <mark of its bin>`` (:meth:`mark`), and
    a capture already carrying the mark of its own bin is not sent: it came back through a
    loop no URL check saw (a name resolving to this machine, a proxy, another lab forwarding it
    back), and sending it again would store it again without end.

    >>> f = Forwarder(lab.store)
    >>> f.add("a", "http://127.0.0.1:5000/hook")      # deliveries carry the mark of bin "a"
    >>> f.looped(Capture(1, None, "POST", "/a", headers=[(LOOP_HEADER, f.mark("a"))]))
    True

    :meth:`close` says what it left unfinished, capture ids and all (and keeps it as
    :attr:`left`): those never sent, and those sent with no answer yet.

    >>> f.close(quiet=True)
    ForwardsLeft(unsent=(), unanswered=(), db=':memory:')
    """

    def __init__(self, store: Any, *, workers: int = 4, maxsize: int = DEFAULT_QUEUE,
                 timeout: float = DEFAULT_TIMEOUT,
                 restore: Callable[[Capture], Capture] | None = None) -> None:
        self.store = store
        self.timeout = timeout
        #: gives a capture back its registered secrets before it is sent (SecretBook.restored)
        self.restore = restore
        # the key of this forwarder's marks: random, so a sender cannot predict a mark (and so
        # have a capture refused), and nothing of the lab can be read from one
        self._key = secrets.token_bytes(16)
        self._targets: dict[str, str] = {}
        #: bin -> how its forwards are signed afresh (see add)
        self._resign: dict[str, Callable[[Capture], Resign]] = {}
        self._lock = threading.Lock()
        #: bumped by clear(): what was on its way before is not recorded (a reset lab)
        self._generation = 0
        self._queue: queue.Queue[tuple[Capture | int, str, str, int, int] | None] = \
            queue.Queue(maxsize)
        #: worker thread -> the forward it took: [capture id, bin, target, generation, sending]
        self._taken: dict[int, list[Any]] = {}
        #: what close() left unfinished (see :class:`ForwardsLeft`); ``None`` until it closes
        self.left: ForwardsLeft | None = None
        self._held = 0  # bytes of the captures the queue holds (see HELD_BYTES)
        self._held_lock = threading.Lock()
        self._closed = False
        self._threads = [
            threading.Thread(target=self._work, name=f"hooklab-forward-{i}", daemon=True)
            for i in range(max(1, workers))
        ]
        for t in self._threads:
            t.start()
        #: the store's one "stored" event brings every new capture (on the store's thread)
        self._unsubscribe = store.subscribe(self.submit)

    @property
    def targets(self) -> dict[str, str]:
        """bin -> target URL (a copy)."""
        with self._lock:
            return dict(self._targets)

    @property
    def resigners(self) -> dict[str, Callable[[Capture], Resign]]:
        """bin -> how its forwards are signed afresh (``resign=`` of :meth:`add` as a function
        of the capture; bins forwarded as captured are not listed), a copy: a lab that moves
        to another database adds its forwards again with them."""
        with self._lock:
            return dict(self._resign)

    def add(self, bin: str, to: str, *, resign: ResignSpec | None = None) -> None:
        """Forward new captures of ``bin`` to ``to`` (replaces an earlier target and its
        ``resign``). ``resign``, as :func:`replay` takes it, signs each forward afresh for
        ``to`` (a provider that signs the URL, Twilio's, could never verify at the app
        otherwise); a capture that cannot be re-signed is not sent, its forward recorded
        with the error. Nor is, with any ``resign``, a capture that did not verify with its
        bin's secret on arrival (``verified`` not ``True``: a forged, unsigned or stale
        delivery anyone could post to the bin's URL): its forward is recorded with the error
        ``not re-signed: ...`` naming its ``verify_reason``, and the app gets nothing."""
        target_url(Capture(0, None, "POST", f"/{bin}"), to)  # type: ignore[arg-type]
        resigner = _resigner(resign)
        with self._lock:
            self._targets[bin] = to
            if resigner is None:
                self._resign.pop(bin, None)
            else:
                self._resign[bin] = resigner

    def mark(self, bin: str) -> str:
        """The value of :data:`LOOP_HEADER` on this forwarder's deliveries from ``bin``: 16 hex
        digits, one per bin (forwarding ``a`` to this lab's bin ``b``, and ``b`` on to an app, is
        no loop), different for every lab and every run."""
        digest = hashlib.blake2s(bin.encode("utf-8", "surrogatepass"), key=self._key,
                                 digest_size=8)
        return digest.hexdigest()

    def looped(self, capture: Capture) -> bool:
        """Whether ``capture`` came from this forwarder's own delivery from its bin (it carries
        that bin's mark: in a header of its own or among a comma-separated list, as a proxy
        may fold repeated headers)."""
        values = capture.header_all(LOOP_HEADER)
        if not values:
            return False
        mine = self.mark(capture.bin)
        return any(t.strip() == mine for v in values for t in v.split(","))

    def remove(self, bin: str) -> None:
        with self._lock:
            self._targets.pop(bin, None)
            self._resign.pop(bin, None)

    def clear(self) -> None:
        """Stop forwarding every bin; forwards queued or on their way are not recorded."""
        with self._lock:
            self._targets.clear()
            self._resign.clear()
            self._generation += 1

    def drop_waiting(self) -> None:
        """Forwards queued are not sent (nor recorded), the bins stay forwarded: ``lab.clear()``
        deleted their captures and every outcome (some were sent all the same, those held in
        memory, while those waiting as an id were not)."""
        with self._lock:
            self._generation += 1

    def submit(self, capture: Capture) -> None:
        """Queue ``capture`` if its bin is forwarded; returns immediately."""
        if self._closed or capture.kind != "http":
            return
        with self._lock:
            to = self._targets.get(capture.bin)
            gen = self._generation
        if to is None:
            return
        size = _weight(capture)
        with self._held_lock:
            held = self._held + size <= HELD_BYTES
            if held:
                self._held += size
        try:
            self._queue.put_nowait((capture, capture.bin, to, gen, size) if held
                                   else (capture.id, capture.bin, to, gen, 0))
        except queue.Full:
            if held:
                with self._held_lock:
                    self._held -= size
            self._record(capture.id, to, None, None,
                         f"forward queue full ({self._queue.maxsize}): capture not forwarded", gen)

    def _record(self, cid: int, target: str, status: int | None, ms: float | None,
                error: str | None, gen: int) -> None:
        from ..credentials import scrubbed_text, scrubbed_url

        shown = scrubbed_url(target)  # the user's own credentials in the target are not
        if error and shown != target:  # kept: the record reaches frames, views, exports
            error = scrubbed_text(error.replace(target, shown), target)
        # the capture's path and query in the target are its bytes a character a byte (what
        # was sent, exactly); the record is text to read: raw UTF-8 read as its characters,
        # as the capture's path and query are (/q/cafÃ© was shown for /q/café)
        readable = as_sent(shown)
        if error and readable != shown:
            error = error.replace(shown, readable)
        shown = readable
        if error:  # (once scrubbed: a cut could leave half a password no scrub would find)
            error = forward_error(error)  # a target's status line, ESC and all, or 64 KiB
        with self._lock:  # (clear() bumps the generation under this lock: nothing slips by)
            mine = self._taken.get(threading.get_ident())
            if mine is not None and mine[0] == cid:  # (its outcome now: no longer left over)
                del self._taken[threading.get_ident()]
            if gen != self._generation:
                return
            try:
                self.store.record_forward(ForwardOutcome(cid, shown, status, ms, error))
            except Exception:  # noqa: BLE001 - store closed while shutting down
                pass

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                self._queue.task_done()
                return
            me = threading.get_ident()
            try:
                capture, bin_, to, gen, size = item
                if size:
                    with self._held_lock:
                        self._held -= size
                with self._lock:
                    if gen != self._generation:  # (cleared or closed meanwhile: not sent)
                        continue
                    self._taken[me] = [capture if isinstance(capture, int) else capture.id,
                                       bin_, to, gen, False]
                if isinstance(capture, int):  # (queued past HELD_BYTES: read back now)
                    cid = capture
                    try:
                        found = self.store.get(cid)
                    except Exception as exc:  # noqa: BLE001 - a closed or failing store
                        self._record(cid, to, None, None, f"capture #{cid} could not be read "
                                     f"back to be forwarded ({type(exc).__name__})", gen)
                        continue
                    if found is None:
                        self._record(cid, to, None, None, f"capture #{cid} was deleted before "
                                     "its turn (retention): not forwarded", gen)
                        continue
                    capture = found
                if self.looped(capture):
                    self._record(capture.id, to, None, None,
                                 f"forward loop: capture #{capture.id} came back from this lab's "
                                 f"own forward of bin {capture.bin!r} (it carries {LOOP_HEADER}"
                                 f" with that bin's mark): not forwarded again", gen)
                    continue
                with self._lock:
                    resign = self._resign.get(capture.bin) \
                        if self._targets.get(capture.bin) == to else None
                why = unverified(capture) if resign is not None else None
                if why is not None:  # (signed afresh, anyone's post would verify at the app;
                    # sent as it came, the user who asked for signed forwards gets unsigned)
                    self._record(capture.id, to, None, None,
                                 f"not re-signed: {why}: not forwarded (a forward is signed "
                                 "afresh only when the delivery verified with the bin's "
                                 "secret)", gen)
                    continue
                with self._lock:  # (atomic with close()'s count: sent, or said not sent)
                    if gen != self._generation:
                        continue
                    self._taken[me][4] = True
                sent = capture
                if self.restore is not None:
                    try:
                        sent = self.restore(capture)
                    except Exception:  # noqa: BLE001 - sent as stored rather than not at all
                        pass
                r = _deliver(sent, to, self.timeout, [(LOOP_HEADER, self.mark(capture.bin))],
                             keep=False, resign=resign)  # (only status and latency recorded)
                try:  # the target as stored: a restored secret (Meta's verify token in the
                    shown = target_url(capture, to)  # query) never goes into the database
                except ValueError:
                    shown = to
                self._record(capture.id, shown if r.url else to, r.status,
                             round(r.elapsed * 1000, 3), r.error, gen)
            finally:
                with self._lock:
                    self._taken.pop(me, None)
                self._queue.task_done()

    @property
    def unfinished(self) -> int:
        """Captures queued or on their way to their target, their outcome not recorded yet."""
        return self._queue.unfinished_tasks

    def join(self, timeout: float = 10.0) -> bool:
        """Wait until every queued capture has been delivered (tests, clean shutdown)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def close(self, timeout: float = 2.0, *, quiet: bool = False) -> ForwardsLeft:
        """Stop the workers (waiting ``timeout`` seconds at most for the forwards on their
        way); queued but unsent captures are dropped. Returns what was left unfinished, kept
        as :attr:`left` (a second close returns it again): the forwards never sent and those
        sent with no answer when the wait ended (no outcome is recorded for either, however
        late an answer comes). Forwards never sent are also said as a warning of the
        ``hooklab`` logger, unless ``quiet`` (the caller says them itself).

        >>> f = Forwarder(lab.store)
        >>> f.close(quiet=True) == f.left == ForwardsLeft(db=":memory:")
        True
        """
        if self.left is not None or self._closed:
            return self.left if self.left is not None else ForwardsLeft()
        self._closed = True
        self._unsubscribe()
        dropped = self._drain()
        for _ in self._threads:
            try:
                self._queue.put(None, timeout=0.1)
            except queue.Full:
                break
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        with self._lock:  # (from now on no worker sends, and no outcome is recorded)
            gen = self._generation
            dropped += self._drain()
            unanswered = []
            for cid, bin_, to, taken_gen, sending in self._taken.values():
                if taken_gen == gen:
                    (unanswered if sending else dropped).append((cid, bin_, to))
            self._generation += 1
            for t in self._threads:  # (the drain took the stop markers too: a worker still
                if t.is_alive():  # sending would then wait on the queue for ever)
                    with contextlib.suppress(queue.Full):
                        self._queue.put_nowait(None)
        db = getattr(self.store, "path", None)
        self.left = ForwardsLeft(_grouped(dropped), _grouped(unanswered),
                                 db=db if isinstance(db, str) else None)
        n = len(dropped)
        if n and not quiet:  # (a lab stopped, or moved to another database, while an app was
            import logging  # slow: they were neither sent nor recorded, and nothing said so)

            if self.left.db == ":memory:":  # (a new :memory: database is another, empty one)
                where = ("captures of a database in memory: they are gone with it, nothing "
                         "can send them now")
            elif self.left.db is None:
                where = "captures of this lab's store"
            else:
                where = (f"captures of {self.left.db} (hooklab.open({self.left.db!r})"
                         ".replay(...) sends them)")
            logging.getLogger("hooklab").warning(
                "%d forward%s waiting for a slow target %s not sent (the lab stopped or moved "
                "to another database); lab.forwards_left names them, %s", n,
                "" if n == 1 else "s", "was" if n == 1 else "were", where)
        return self.left

    def _drain(self) -> list[tuple[int, str, str]]:
        """Empty the queue: (capture id, bin, target) of each forward of this generation."""
        gone: list[tuple[int, str, str]] = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return gone
            self._queue.task_done()
            if item is not None and item[3] == self._generation:
                capture = item[0]
                gone.append((capture if isinstance(capture, int) else capture.id,
                             item[1], item[2]))
