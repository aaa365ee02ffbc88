"""What a received request becomes: its store record, its response rule, and its answer.

Used by :mod:`hooklab.server.protocol` (which reads requests off the wire):
:func:`capture_record` builds the record to store and picks the response rule;
:func:`deliver` answers once the store committed the capture (or 503 when it could not);
:func:`answer_headers` frames an answer the way every answer is framed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import re
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tornado import httputil

from ..capture import CaptureRecord, new_record
from ..providers import handshake_answer
from .guard import RELAY_PREFIX, RELAY_PROOF, relayed_url
from .responses import DEFAULT_RESPONSE, Response

if TYPE_CHECKING:
    from .lifecycle import CaptureServer

__all__ = [
    "DEFAULT_MAX_BODY",
    "NO_CONTENT",
    "RESERVED_PREFIX",
    "answer_headers",
    "capture_record",
    "date_field",
    "deliver",
    "reason",
    "valid_authority",
]

RESERVED_PREFIX = "/_hooklab"
_PROOF, _PROOF_LEN = RELAY_PROOF.lower(), len(RELAY_PROOF)
_PREFIX_LEN = len(RELAY_PREFIX)
DEFAULT_MAX_BODY = 16 * 1024 * 1024

#: the answer to a CONNECT that would have been a 2xx: no tunnel (see capture_record)
_NO_TUNNEL = Response(501)

# RFC 3986 3.2.2: a reg-name (an IPv4 address is one too) is unreserved characters,
# sub-delims and %XX escapes; an IPvFuture literal "v" hex "." then those and ":"
_REG_NAME = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})+")
_IP_FUTURE = re.compile(r"v[0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+")
#: the longest host name a URL should have (RFC 3986 3.2.2, after DNS's limit)
_MAX_HOST = 255


def valid_authority(value: str) -> bool:
    """Whether ``value`` (a ``Host`` field) is a URL authority with a host, by RFC 3986:
    a reg-name or IPv4 address (at most 255 characters), an ``[IPv6]`` or ``[vX.future]``
    literal, then an optional ``:port`` of digits (at most 65535). No userinfo (``@``), no
    path, query or fragment, spaces, controls or non-ASCII: such a Host pasted into a URL
    makes another URL (``a/b?c`` before ``/z`` reads as host ``a``, query ``c/z``) or none.

    >>> [valid_authority(h) for h in ("hooks.example:8443", "[::1]:80", "10.0.0.1", "[v1.x]")]
    [True, True, True, True]
    >>> [valid_authority(h) for h in ("a b", "[::1", "a/b?c", "u@h", "h:80x", "h:99999", "")]
    [False, False, False, False, False, False, False]
    """
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return False
        literal, rest = value[1:end], value[end + 1 :]
        if literal.startswith("v"):  # (lower case only: Python's urlsplit refuses "[V1.x]")
            if not _IP_FUTURE.fullmatch(literal):
                return False
        else:
            try:
                ipaddress.IPv6Address(literal)
            except ValueError:
                return False
            if "%" in literal:  # (a zone: no part of a URL's host, RFC 3986)
                return False
        if not rest:
            return True
        if rest[0] != ":":
            return False
        port = rest[1:]
    else:
        host, colon, port = value.partition(":")
        if len(host) > _MAX_HOST or not _REG_NAME.fullmatch(host):
            return False
        if not colon:
            return True
    return not port or (len(port) <= 5 and port.isascii() and port.isdigit() and int(port) <= 65535)


def _own_authority(srv: CaptureServer) -> str:
    """The lab's own address as a URL authority (an IPv6 address in brackets)."""
    host = srv.host
    return f"[{host}]:{srv.port}" if ":" in host else f"{host}:{srv.port}"


def _absolute_url(srv: CaptureServer, target: str) -> str:
    """The URL of an absolute-form request target (``http://host/x?q``): its scheme in lower
    case, its authority only when that is one (:func:`valid_authority`: no userinfo, no
    backslash, a port of at most 65535), else the lab's own address, as for a ``Host`` field;
    the path, query (and fragment) as sent. A URL pasted from the target as it was could show
    one host and name another (``http://good.example@evil.example/x``), keep a password
    (``http://admin:pw@h/x``) or be none (``http://h:99999/x``).

    >>> from types import SimpleNamespace
    >>> lab = SimpleNamespace(host="127.0.0.1", port=8765)  # (what it reads of the server)
    >>> _absolute_url(lab, "HTTPS://hooks.example:8443/x?a=1")
    'https://hooks.example:8443/x?a=1'
    >>> _absolute_url(lab, "http://good.example@evil.example/x?a=1")
    'http://127.0.0.1:8765/x?a=1'
    """
    scheme, _, rest = target.partition("://")
    scheme = scheme.lower()
    if scheme not in ("http", "https"):  # (the server refuses any other: 400, never stored)
        scheme = "http"
    end = len(rest)
    for sep in "/?#":
        at = rest.find(sep)
        if 0 <= at < end:
            end = at
    authority, tail = rest[:end], rest[end:]
    if not valid_authority(authority):
        authority = _own_authority(srv)
    return f"{scheme}://{authority}{tail}"


def _https(proto: str | None) -> bool:
    """Whether ``X-Forwarded-Proto`` says https: its first value (the one the proxy nearest
    the sender wrote, in a list ``https, http``), in any case."""
    return proto is not None and proto.partition(",")[0].strip().lower() == "https"


def capture_record(
    srv: CaptureServer,
    method: str,
    target: str,
    headers: list[tuple[str, str]],
    body: bytes,
    remote: str,
    received_at: datetime | None,
    host: str | None,
    proto: str | None,
    *,
    nheaders: int | None = None,
) -> tuple[CaptureRecord, Any]:
    """The store record for one received request, and the response rule that answers it.

    The URL of an origin-form or ``*`` target is made from ``host`` (the ``Host`` field)
    only when that is a valid authority (:func:`valid_authority`), else from the lab's own
    address, as for a request without one: the headers keep the ``Host`` as sent. An
    absolute-form target's own authority is checked the same way (:func:`_absolute_url`). A
    ``CONNECT`` the rules would answer 2xx is answered 501 (a 2xx opens a tunnel).

    The record's ``status`` is the answer's, or 0 (no answer) for one a rule delays: its row
    says the status once the delay is over, stored before the answer is written, and 0 for
    an answer that never reached the sender (the server corrects it either way:
    :meth:`CaptureServer.answered`).

    ``nheaders`` is how many of ``headers`` are the header section: those after it are trailer
    fields (after a chunked body). All are stored, in order; the record's ``trailers_at`` says
    where the trailers start, so that detection and the signature checks read the header
    section only, as the provider's receivers do.
    """
    if not host or not valid_authority(host):
        host = _own_authority(srv)
    scheme = "https" if _https(proto) else "http"
    if target[:1] == "/":  # origin form (the usual one)
        url = f"{scheme}://{host}{target}"
    elif "://" in target:  # absolute form: the URL it names, its authority checked as Host's
        url = _absolute_url(srv, target)
    elif target == "*":  # asterisk form (OPTIONS *): the server itself
        url = f"{scheme}://{host}"
    else:  # authority form (CONNECT host:port), checked as Host is (port 99999 made no URL)
        url = f"{scheme}://{target if valid_authority(target) else _own_authority(srv)}"
    trailers: list[tuple[str, str]] = []
    if nheaders is not None and nheaders < len(headers):  # (trailer fields came)
        headers, trailers = headers[:nheaders], headers[nheaders:]
        trailers = [h for h in trailers  # (the relay's fields are a head's, never a trailer's:
                    if not h[0].lower().startswith(RELAY_PREFIX)]  # none is stored)
    relayed = None
    for k, _ in headers:  # (a cheap look first: most captures do not come through the relay)
        if len(k) >= _PREFIX_LEN and k[:_PREFIX_LEN].lower() == RELAY_PREFIX:
            if any(len(n) == _PROOF_LEN and n.lower() == _PROOF for n, _ in headers):
                relayed = relayed_url(srv, headers)
            if relayed is None:  # (no proof, or one this lab cannot check: a relay of
                headers = [h for h in headers  # another version, a forgery; a URL may hold
                           if not h[0].lower().startswith(RELAY_PREFIX)]  # a key)
            break
    if relayed is not None:  # through the Jupyter relay: the URL the sender called, keyless
        headers = relayed.headers
        url = relayed.shown or url
    section = len(headers)
    if trailers:
        headers = [*headers, *trailers]
    record = new_record(method, target, headers, body, remote_addr=remote,
                        url=url, received_at=received_at,
                        redact_credentials=srv.redact_credentials, secrets=srv.never_stored)
    if relayed is not None and relayed.url:  # (for the checks on arrival only: never stored)
        record["signed_url"], record["relay_key"] = relayed.url, relayed.key
    if trailers:  # (for detection and the checks on arrival: they read the header section)
        record["trailers_at"] = section
    # (scrubbed again from what detection and the checks read out of the body)
    record["never_stored"] = srv.never_stored
    response = srv.rules.match(method, record["path"])
    record["status"] = response.status
    if srv.handshakes is not None:  # a user's rule wins; the handshake is what it is
        # either way (its provider, event type, delivery id), whoever answers it
        answering = response is DEFAULT_RESPONSE and srv.handshakes.handshakes
        answer = handshake_answer(record, srv.handshakes, answering=answering)
        if answer is not None and not answering:
            answer.classify(record)
        elif answer is not None:
            answer.mark(record)
            if answer.status is not None:
                response = Response(answer.status, answer.body, answer.headers)
    if method == "CONNECT" and 200 <= response.status < 300:
        # a 2xx to CONNECT opens a tunnel (RFC 9110 9.3.6): the client would take what follows
        # for the tunnelled server's bytes. Captured as any request, answered 501 (the lab is
        # no proxy) with the usual body naming the capture; a rule's non-2xx is kept
        response = _NO_TUNNEL
        record["status"] = response.status
    if response.delay > 0:  # answered later: stored as not answered (0) until it is written
        record["status"] = 0  # (the server says what it answered then: CaptureServer.answered)
    return record, response


#: statuses whose answer never carries content (RFC 9110 15.3.5, 15.3.6, 15.4.5; and 1xx):
#: a rule's body is not sent with them
NO_CONTENT = frozenset({204, 205, 304})


_date: tuple[int, str, bytes] = (-1, "", b"")  # (second, value, its header line)


def date_field() -> tuple[str, bytes]:
    r"""The ``Date`` of an answer sent now, as its value and as a header line: an origin server
    with a clock sends one with every 2xx, 3xx and 4xx answer (RFC 9110 6.6.1), in IMF-fixdate
    (5.6.7). Formatted at most once a second: the receive path asks for it per request.

    >>> value, line = date_field()
    >>> value.endswith(" GMT"), line == b"Date: " + value.encode() + b"\r\n"
    (True, True)
    """
    global _date
    now = int(time.time())
    d = _date
    if d[0] != now:
        value = httputil.format_timestamp(now)
        d = _date = (now, value, b"Date: %s\r\n" % value.encode("ascii"))
    return d[1], d[2]


def reason(status: int) -> str:
    """The reason phrase Tornado sends with ``status``."""
    return httputil.responses.get(status, "Unknown")


def answer_headers(
    status: int, headers: list[tuple[str, str]], body: bytes, *, head_only: bool
) -> tuple[httputil.HTTPHeaders, bytes]:
    """Headers and payload of a capture's answer: Tornado's ``HTTPHeaders`` (its
    validation, name normalisation, grouping of repeats), ``Content-Length`` from the body
    (none for 1xx/204/304), ``Server: hooklab`` and ``Date`` (:func:`date_field`) unless the
    rule set its own; no payload for HEAD.
    A status that never carries content (:data:`NO_CONTENT`: 1xx, 204, 205, 304) drops the
    rule's body; a 205 says ``Content-Length: 0`` (RFC 9110 15.3.6: without it a client would
    read until the connection closes).

    >>> h, payload = answer_headers(205, [], b"BODY", head_only=False)
    >>> h["Content-Length"], payload
    ('0', b'')
    """
    h = httputil.HTTPHeaders()
    for k, v in headers:
        h.add(k, v)
    bodiless = status in NO_CONTENT or status < 200
    if not bodiless:
        h["Content-Length"] = str(len(body))
    elif status == 205:
        h["Content-Length"] = "0"
    h.setdefault("Server", "hooklab")
    h.setdefault("Date", date_field()[0])
    return h, (b"" if bodiless or head_only else body)


def deliver(
    result: Any,
    response: Any,
    write: Callable[[int, list[tuple[str, str]], bytes], None],
) -> None:
    """Answer one stored capture through ``write(status, headers, body)`` (after the rule's
    delay; 503 if it was not stored)."""
    from ..capture import Capture
    from ..store import NotDurable, write_error

    if not isinstance(result, Capture):
        if isinstance(result, NotDurable):  # in the database, but the disk did not confirm it
            msg = '{"ok": false, "error": "capture not durable: syncing the database failed"}'
        else:  # (SQLite's words, e.g. "database or disk is full": no path, no capture data)
            msg = json.dumps({"ok": False, "error": f"capture not stored: {write_error(result)}"})
        write(503, [("Content-Type", "application/json")], msg.encode())
        return
    status, headers, body = response.render(result.id)
    headers.append(("X-Hooklab-Capture-Id", str(result.id)))
    if response.delay > 0:
        asyncio.get_running_loop().call_later(response.delay, write, status, headers, body)
    else:
        write(status, headers, body)
