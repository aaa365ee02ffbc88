r"""Send a realistic (optionally signed) sample webhook, or any body, synchronously.

>>> r = send(lab.url_for("github"), provider="github", event="push", secret="s3cret")
>>> r.status, r.json()            # what the lab answered; r.elapsed: seconds
(200, {'ok': True, 'id': 2})
>>> r.header("Content-Type")
'application/json'
>>> r = send(app_url, payload={"hello": "world"})     # any JSON to any URL
>>> r.status, r.sent_body
(200, b'{"hello": "world"}')

Outgoing requests use :mod:`http.client`: no redirects unless ``follow_redirects=True``, a
timeout on connect and on each read, headers sent exactly in the given order. A followed
redirect to another origin (scheme, host or port) carries no credentials (``Authorization``,
``Cookie``...) and no signature headers, to another host no body either; one from https to
anything but https is not followed (the redirect itself is returned, ``unfollowed`` saying
why), nor is a ``307``/``308`` to another host with a body (it resends the request, body and
all, RFC 9110 15.4.8: the body goes to no other host). ``sent_*`` is what went out last.

Every header is checked before anything is sent (:func:`check_header`): a name that is no
token, or a value with a line break, NUL or another control character (a tab is fine), is
``ValueError`` naming the header, never quoting its value; so is a ``Content-Length`` that is
not the body's length, any ``Transfer-Encoding`` (hooklab frames the body itself), a
``Connection`` other than ``close`` / ``keep-alive`` and a second ``Host``: no header given
can add a header or a request (header injection, request smuggling behind a proxy).

>>> send(app_url, payload="hi", headers={"X-A": "1\r\nX-Injected: yes"})
Traceback (most recent call last):
...
ValueError: header 'X-A' has an invalid value: U+000D at character 2 of 18 is a line break:
it would end the header and start another one (the value is not shown: ...)

The answer is the final one: interim ``1xx`` answers (``103 Early Hints``...) are read past,
at most :data:`MAX_INTERIM` of them. Its body is read a piece at a time and kept up to
:data:`MAX_ANSWER` bytes; a longer one is cut there (``truncated``) and the connection closed,
so a target answering gigabytes, or without end, costs neither the memory nor the time.
An answer whose connection closes before the body its head announced (``Content-Length``
bytes, or a chunked body's last, empty chunk) is an error, :class:`IncompleteRead`, not a
shorter body: what came may look whole (a JSON list cut at an element) and is not.

A target may answer before it has read the whole request, and close (an upload limit's
``413``, as nginx and uvicorn do): writing the rest then fails (broken pipe, reset), and the
answer it sent is read and returned rather than that error, as curl reports it.
"""

from __future__ import annotations

import base64
import functools
import http.client
import io
import json
import os
import re
import socket
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import SplitResult, urljoin, urlsplit

from ..capture import target_as_sent
from ..credentials import basic_authorization, shown_header_name

__all__ = ["MAX_ANSWER", "MAX_INTERIM", "MAX_TIMEOUT", "NOT_IN_URL", "BadChunkSize",
           "BadContentLength", "IncompleteRead", "SendResponse", "Unsendable", "answered",
           "check_header", "check_headers", "check_timeout", "http_request", "iri_escaped",
           "refuse_unsendable", "send", "sent_target", "unread_answer", "unsendable",
           "url_as_sent", "url_port"]

_MAX_REDIRECTS = 5
#: what cannot be anywhere in a URL hooklab sends to: a control character (``urlsplit`` drops
#: a tab, CR or LF silently, so the URL parsed would not be the one written); send, forward
#: and replay targets and ``%hooklab send`` refuse it
NOT_IN_URL = re.compile(r"[\x00-\x1f\x7f]")
#: what a request line or ``Host`` header cannot carry raw either: a space (http.client
#: refuses it there with its own ``InvalidURL``, quoting the path)
_NOT_IN_TARGET = re.compile(r"[\x00-\x20\x7f]")
#: whitespace before or after the whole URL (a space, a tab, a line break: a copy-paste slip,
#: or a line read from a file; WHATWG's URL parser strips it, ``urlsplit`` a leading one, and
#: RFC 3986 has no whitespace), refused as any other character, even where a space inside
#: would be fine (the fragment, ``user:password@``), but to be removed, not percent-encoded
_AROUND = " \t\r\n"
#: the most of an answer's body kept (bytes): ``send``'s and ``replay``'s ``body`` hold at most
#: this much, ``truncated`` saying when there was more (a forward keeps none of it)
MAX_ANSWER = 10 * 2**20
#: the most interim (``1xx``) answers read past before the final one: a target sending them
#: without end is an error, not a wait
MAX_INTERIM = 32
_PIECE = 64 * 1024  # (read a body this much at a time: never all of it at once)
#: a chunk-size line (RFC 9112 7.1): hexadecimal digits, then white space and extensions
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]+)[ \t]*(?:;[^\r\n]*)?\r?\n")


#: the longest a target may be given to answer (a day): past a few years a deadline is no
#: time the clock holds (1e10 s failed every delivery with OverflowError)
MAX_TIMEOUT = 86_400.0


def check_timeout(timeout: Any) -> float:
    """``timeout`` (seconds a target has to answer) as a float, or ``ValueError``: a number
    from 0.1 to :data:`MAX_TIMEOUT` (a day).

    >>> check_timeout(2), check_timeout(86400)
    (2.0, 86400.0)
    >>> check_timeout(1e10)
    Traceback (most recent call last):
    ...
    ValueError: timeout must be 0.1 to 86400 seconds, got 10000000000.0
    """
    import math

    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not (
            math.isfinite(timeout) and 0.1 <= timeout <= MAX_TIMEOUT):
        raise ValueError(f"timeout must be 0.1 to {MAX_TIMEOUT:g} seconds, got {timeout!r}")
    return float(timeout)


#: an RFC 9110 field name: a token (ASCII letters, digits and ``!#$%&'*+-.^_`|~``)
_FIELD_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
#: what a field value may not hold (RFC 9110 section 5.5): control characters but the tab
#: (CR and LF end the header and start another one: header injection), DEL, and characters
#: past Latin-1 (a value is bytes, sent one character a byte)
_NOT_IN_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]|[^\x00-\xff]")
#: what a caller may say in ``Connection``: nothing that names another header (a proxy drops
#: the headers ``Connection`` names, ``Content-Length`` too) or asks for another protocol
_CONNECTION_OK = frozenset({"close", "keep-alive"})
#: methods whose requests anticipate no content: without a body they go without a
#: ``Content-Length`` (RFC 9110 8.6: a user agent SHOULD NOT send one there), as they came
_NO_CONTENT = frozenset({"GET", "HEAD", "DELETE", "OPTIONS", "TRACE", "CONNECT"})


def _what(char: str) -> str:
    if char in "\r\n":
        return "a line break: it would end the header and start another one"
    if char == "\0":
        return "NUL"
    if ord(char) > 0xFF:
        return ("past Latin-1: a header value is bytes; give bytes (e.g. text.encode()) or "
                "percent-encode it as RFC 8187 says")
    return "a control character"


def check_header(name: str | bytes, value: str | bytes | int) -> tuple[str, str]:
    r"""The header ``name: value`` as hooklab sends it, or ``ValueError`` naming the header
    (never quoting its value: it is often a credential) when it cannot go out as one header.

    The name is an RFC 9110 token (no spaces, colons, control or non-ASCII characters, not
    empty). The value holds no control character but the tab, DEL included: a CR or LF would
    end the header and start another one (header injection, request smuggling behind a
    proxy). Characters 0x80-0xFF (RFC 9110's obs-text) are sent as those bytes (one character
    a byte, as :mod:`http.client` and hooklab's capture server read them). ``bytes`` are
    sent exactly as given (returned as one character a byte), an ``int`` as its digits;
    anything else is ``TypeError``. :func:`send`, replay, forward and :func:`http_request`
    check every header they send with it, before anything is sent.

    >>> check_header("X-Tag", "caf\xe9\tbar")
    ('X-Tag', 'caf\xe9\tbar')
    >>> check_header(b"X-Raw", "caf\u00e9".encode())     # bytes: sent as given
    ('X-Raw', 'caf\xc3\xa9')
    >>> check_header("X-A", "1\r\nX-Injected: yes")
    Traceback (most recent call last):
    ...
    ValueError: header 'X-A' has an invalid value: U+000D at character 2 of 18 is a line
    break: it would end the header and start another one (the value is not shown: it may be a
    secret; a value holds visible characters, spaces, tabs and 0x80-0xFF)
    >>> check_header("Authorization: Bearer abc", "")
    Traceback (most recent call last):
    ...
    ValueError: invalid header name 'Authorization' (what follows its ':' not shown): a name
    is ASCII letters, digits and !#$%&'*+-.^_`|~ (no spaces, colons or control characters)
    """
    if isinstance(name, (bytes, bytearray)):
        name = bytes(name).decode("latin-1")  # (not ASCII: refused below, as a str would be)
    if not isinstance(name, str):
        raise TypeError(f"a header name is str or bytes, not {type(name).__name__}")
    if not _FIELD_NAME.fullmatch(name):
        raise ValueError(f"invalid header name {shown_header_name(name)}: a name is ASCII letters, "
                         "digits and !#$%&'*+-.^_`|~ (no spaces, colons or control characters)")
    if isinstance(value, (bytes, bytearray, memoryview)):
        value = bytes(value).decode("latin-1")  # (one character a byte: the bytes go out)
    elif isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    elif not isinstance(value, str):
        raise TypeError(f"header {name!r}: a value is str, bytes or int, not "
                        f"{type(value).__name__}")
    bad = _NOT_IN_VALUE.search(value)
    if bad:
        char = bad.group()
        raise ValueError(f"header {name!r} has an invalid value: U+{ord(char):04X} at character "
                         f"{bad.start() + 1} of {len(value)} is {_what(char)} (the value is "
                         "not shown: it may be a secret; a value holds visible characters, "
                         "spaces, tabs and 0x80-0xFF)")
    return name, value


def check_headers(headers: Mapping[Any, Any] | Iterable[tuple[Any, Any]] | None
                  ) -> list[tuple[str, str]]:
    """Every header of ``headers`` (a mapping, or ``(name, value)`` pairs in order, a name
    given more than once sent that many times) checked by :func:`check_header`, as a list.

    >>> check_headers({"X-A": "1", "X-B": b"2"})
    [('X-A', '1'), ('X-B', '2')]
    >>> check_headers(["X-A: 1"])
    Traceback (most recent call last):
    ...
    TypeError: headers are a mapping or (name, value) pairs; item 1 is a str
    """
    if not headers:
        return []
    items = headers.items() if isinstance(headers, Mapping) else headers
    out = []
    for i, item in enumerate(items, 1):
        if not isinstance(item, (tuple, list)) or len(item) != 2:  # ("X-A: 1": not unpacked
            raise TypeError("headers are a mapping or (name, value) pairs; item "  # into two
                            f"{i} is a {type(item).__name__}")  # characters, nor quoted)
        out.append(check_header(item[0], item[1]))
    return out


def _check_framing(headers: list[tuple[str, str]], body: bytes, *, chunked: bool = False) -> None:
    """``ValueError`` unless the request's head frames ``body`` as hooklab sends it: whole,
    after a ``Content-Length`` of its length. A ``Content-Length`` given must say exactly that
    (once); ``Transfer-Encoding`` cannot be given (hooklab frames the body itself: the
    target would read the body, and what follows it, otherwise: request smuggling behind a
    proxy); ``Connection`` only ``close`` or ``keep-alive`` (one naming a header has a proxy
    drop that header, ``Content-Length`` too); ``Host`` once at most. With ``chunked`` (a
    request with trailer fields: hooklab sends its body chunked, :func:`_chunked`) no
    ``Content-Length`` can be given at all (both: request smuggling)."""
    lengths = [v for k, v in headers if k.lower() == "content-length"]
    if lengths and chunked:
        raise ValueError("header 'Content-Length' cannot be given with trailer fields: hooklab "
                         "sends the body chunked, the trailer fields after it (leave it out)")
    if len(lengths) > 1:
        raise ValueError(f"header 'Content-Length' given {len(lengths)} times: hooklab sends "
                         "one, the body's length (leave it out)")
    if lengths:
        given = lengths[0].strip(" \t")
        if given != str(len(body)):
            said = f"says {given}" if given.isdigit() and given.isascii() and len(given) < 30 \
                else "is no byte count"
            raise ValueError(f"header 'Content-Length' {said}, but the body is {len(body)} "
                             "bytes: the target would read the body wrong (leave it out: "
                             "hooklab sends the body's length)")
    if any(k.lower() == "transfer-encoding" for k, _ in headers):
        raise ValueError("header 'Transfer-Encoding' cannot be given: hooklab sends the body "
                         "whole, with a Content-Length of its length (leave it out)")
    for k, v in headers:
        if k.lower() == "connection" and not {t.strip(" \t").lower() for t in v.split(",")
                                              if t.strip(" \t")} <= _CONNECTION_OK:
            raise ValueError("header 'Connection' may say 'close' or 'keep-alive' only: "
                             "another option names a header for a proxy to drop (or asks "
                             "for another protocol), which would change the request")
    if sum(k.lower() == "host" for k, _ in headers) > 1:
        raise ValueError("header 'Host' given more than once: a target takes that for a "
                         "malformed request (give one)")


#: field names no trailer field sent here may have: they frame or route the request, which a
#: recipient must know before the body (RFC 9110 section 6.5.1), and a recipient that merges
#: trailers into the header section would read the request otherwise
_NOT_TRAILERS = frozenset({"content-length", "transfer-encoding", "host", "trailer"})


def _check_trailers(trailers: list[tuple[str, str]]) -> None:
    """``ValueError`` for a trailer field hooklab does not send (:data:`_NOT_TRAILERS`), naming
    it, never quoting its value."""
    for k, _ in trailers:
        if k.lower() in _NOT_TRAILERS:
            raise ValueError(f"trailer field {k!r} cannot be sent: it frames or routes the "
                             "request, which a recipient reads from the header section only "
                             "(leave it out)")


def _chunked(body: bytes, trailers: list[tuple[str, str]]) -> Iterator[bytes]:
    r"""``body`` as a chunked message body (RFC 9112 section 7.1) that ends with ``trailers``
    (checked fields, one character a byte) as its trailer section, a chunk of at most
    :data:`_PIECE` body bytes at a time (a 16 MiB body is not copied whole first).

    >>> list(_chunked(b"hello", [("X-Sig", "v1=abc"), ("X-Sig", "2")]))
    [b'5\r\nhello\r\n', b'0\r\nX-Sig: v1=abc\r\nX-Sig: 2\r\n\r\n']
    >>> list(_chunked(b"", [("X-A", "1")]))
    [b'0\r\nX-A: 1\r\n\r\n']
    """
    for i in range(0, len(body), _PIECE):
        part = body[i:i + _PIECE]
        yield b"%x\r\n%s\r\n" % (len(part), part)
    last = b"".join(f"{k}: {v}\r\n".encode("latin-1") for k, v in trailers)
    yield b"0\r\n" + last + b"\r\n"


def _shown_repr(result: Any) -> str:
    """The ``repr`` of a dataclass result of a request (:class:`SendResponse`, a replay's
    result) with its ``url`` as :func:`hooklab.credentials.scrubbed_url` writes it: the
    target's ``user:password@``, credential query values and path parameters as
    ``[secret]``, as ``lab.forwards()`` records a forward's target, and those credentials
    wherever else it quotes them (a reason phrase, a header echoing the request line, in
    their ``repr``: the Basic credentials made of ``user:password@`` too). The attribute
    stays the URL the request went to (code may need it); the text a notebook saves (``text/plain``)
    and a log line do not carry the credentials, which often come from ``os.environ``. Its
    target reads as the bytes sent (:func:`url_as_sent`: a capture's raw UTF-8 as ``café``,
    never ``cafÃ©``).

    >>> r = SendResponse(200, "OK", [], b"", 0.5, "http://a:pw@127.0.0.1/h?token=t&q=1")
    >>> r
    SendResponse(status=200, reason='OK', headers=[], body=b'', elapsed=0.5,
    url='http://a:[secret]@127.0.0.1/h?token=[secret]&q=1', truncated=False)
    >>> r.url
    'http://a:pw@127.0.0.1/h?token=t&q=1'
    """
    from dataclasses import fields

    from ..credentials import scrubbed_text, scrubbed_url

    url = getattr(result, "url", "")
    url = url if isinstance(url, str) else ""
    shown = []
    for f in fields(result):
        if not f.repr:
            continue
        value = getattr(result, f.name)
        if f.name == "url" and isinstance(value, str):
            shown.append(f"url={url_as_sent(scrubbed_url(value))!r}")
        elif isinstance(value, (str, bytes, list)):  # (what the target answered may echo
            shown.append(f"{f.name}={scrubbed_text(repr(value), url)}")  # the request: a
        else:  # reason phrase quoting its request line; a number is none of it)
            shown.append(f"{f.name}={value!r}")
    return f"{type(result).__name__}({', '.join(shown)})"


def _hide_url_in(exc: BaseException, url: str) -> None:
    """``exc`` (and the exceptions chained to it) no longer quoting the credentials of
    ``url`` (:func:`hooklab.credentials.scrubbed_text`): ``http.client`` quotes a target's
    path and query in ``InvalidURL`` (a control character in it), our own ``ValueError``
    the whole URL, and a bad status line may echo it. The message is shown in a notebook
    cell's traceback, which a saved notebook keeps."""
    from ..credentials import scrubbed_text, url_secrets

    if not url_secrets(url):
        return
    seen: set[int] = set()
    for _ in range(8):  # (a chain of causes is short; bounded anyway)
        if exc is None or id(exc) in seen:
            return
        seen.add(id(exc))
        if scrubbed_text(str(exc), url) != str(exc):
            exc.args = tuple(scrubbed_text(a, url) if isinstance(a, str) else a for a in exc.args)
            if isinstance(exc, OSError) and isinstance(exc.strerror, str):
                exc.strerror = scrubbed_text(exc.strerror, url)  # (what str() shows of it)
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]


@dataclass
class SendResponse:
    """What the receiver answered; ``elapsed`` is in seconds. ``sent_*`` is what went out.
    ``url`` is the URL the request went to, exactly; its ``repr`` (what a notebook cell
    shows and saves) writes the URL's credentials as ``[secret]`` (:func:`_shown_repr`)."""

    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    elapsed: float
    url: str = ""
    sent_headers: list[tuple[str, str]] = field(default_factory=list, repr=False)
    sent_body: bytes = field(default=b"", repr=False)
    #: the answer's body was longer than :data:`MAX_ANSWER`: ``body`` is its beginning
    truncated: bool = False
    #: with ``follow_redirects=True``, why the redirect returned was not followed (``None``:
    #: none was refused): it leaves https, more than 5, or a 307/308 to another host (it
    #: would resend the body, which goes to no other host)
    unfollowed: str | None = field(default=None, repr=False)

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def ok(self) -> bool:
        """Whether the receiver took the webhook: a ``2xx`` final answer. A redirect not
        followed (the default; with ``follow_redirects=True`` one that could not be: more
        than 5, https to http, a 307/308 to another host: :attr:`unfollowed` says which) is
        ``False``: the app at its ``Location`` got nothing."""
        return 200 <= self.status < 300

    def __repr__(self) -> str:
        return _shown_repr(self)


def iri_escaped(text: str) -> str:
    """``text`` with its characters past ASCII percent-encoded as UTF-8 (RFC 3987 section
    3.1: an IRI as the URI it stands for); ASCII, ``%`` escapes included, as written; a lone
    surrogate as the bytes Python gives it.

    >>> iri_escaped("/caf\u00e9?q=\u20ac&r=%41")
    '/caf%C3%A9?q=%E2%82%AC&r=%41'
    """
    if text.isascii():
        return text
    from urllib.parse import quote

    return re.sub(r"[^\x00-\x7f]+",
                  lambda m: quote(m.group(), safe="", errors="surrogatepass"), text)


def ascii_url(url: str) -> str:
    """``url`` (one a person wrote) with characters past ASCII in its path, query and fragment
    percent-encoded as UTF-8, as curl and browsers send it; the host as written. A captured
    request's own target is sent as it came instead (:func:`sent_target`).

    >>> ascii_url("http://127.0.0.1:5000/caf\u00e9?q=\u20ac")
    'http://127.0.0.1:5000/caf%C3%A9?q=%E2%82%AC'
    """
    if url.isascii():
        return url
    parts = urlsplit(url)
    return parts._replace(path=iri_escaped(parts.path), query=iri_escaped(parts.query),
                          fragment=iri_escaped(parts.fragment)).geturl()


def _text_not_bytes(target: str) -> bool:
    """Whether a stored target holds a character past U+00FF: text (an IRI), not bytes."""
    return not target.isascii() and any(ord(ch) > 0xFF for ch in target)


def sent_target(target: str) -> str:
    r"""A captured request target (path and query) as replay, forward and copy-as-curl put it
    on the request line, one character a byte.

    The server stores a target it received a character a byte (latin-1: raw UTF-8 ``é`` is
    ``\xc3\xa9``, a lone byte 0xE9 is ``\xe9``), and such a target goes back as it came,
    byte for byte. A target with a character past U+00FF was never received: it is text (a
    JSON Lines line written by hand, a capture made in code), an IRI, and goes as a browser
    sends one: its characters past ASCII (all of them, ``ü`` too) percent-encoded as UTF-8
    (RFC 3987 section 3.1). (An imported HAR file's URL is text whatever its characters: the
    import percent-encodes it so.)

    >>> sent_target("/b/p?q=\xc3\xbc") == "/b/p?q=\xc3\xbc"   # received bytes: as they came
    True
    >>> sent_target("/b/p?q=\u00fc&e=\u20ac")                 # text: an IRI
    '/b/p?q=%C3%BC&e=%E2%82%AC'
    """
    return iri_escaped(target) if _text_not_bytes(target) else target


def url_as_sent(url: str) -> str:
    r"""A URL hooklab sent, as a person reads what went on the wire: its request target
    (path and query) is sent a character a byte (:func:`sent_target`), so it is read as
    :func:`hooklab.capture.target_as_sent` reads a target: its bytes as UTF-8 (``café``), a
    byte that is no UTF-8 as its escape (``%FF``), escapes sent as such kept. The scheme,
    host and port are as written. The ``repr`` of :class:`SendResponse` and of a replay's
    result show their ``url`` so.

    >>> url_as_sent("http://127.0.0.1:5000/app/caf\xc3\xa9/x\xff?q=\xc3\xbc&r=%C3%A9")
    'http://127.0.0.1:5000/app/café/x%FF?q=ü&r=%C3%A9'
    """
    return target_as_sent(url)


class _FinalResponse(http.client.HTTPResponse):
    """An ``HTTPResponse`` that reads past every interim ``1xx`` answer to the final one.

    ``http.client`` skips ``100 Continue`` only: a ``103 Early Hints`` before a ``500`` was
    taken for the answer (status 103, no body, "ok"). ``101`` stays final (the connection is
    no HTTP after it). At most :data:`MAX_INTERIM` interim answers, each bounded as any head
    is (100 lines of 64 KiB), then ``http.client.HTTPException``.
    """

    _interim = 0

    def begin(self) -> None:
        try:
            super().begin()
        except (OSError, http.client.HTTPException) as exc:
            # (its final status line came, then its head failed: a reset, a stall, a line
            # too long; the target had the request and answered it: see answered())
            if isinstance(self.status, int) and answered(exc) is None:
                exc.answered = (self.status, self.reason)  # type: ignore[union-attr]
            raise

    def _read_status(self) -> tuple[str, int, str]:
        for _ in range(MAX_INTERIM + 1):  # (the count below ends it sooner or later)
            version, status, reason = super()._read_status()
            if not 100 <= status < 200 or status == 101:
                return version, status, reason
            self._interim += 1  # (100 Continue counts: http.client loops on those itself)
            if self._interim > MAX_INTERIM:
                raise http.client.HTTPException(
                    f"more than {MAX_INTERIM} interim (1xx) answers, no final one")
            if status == 100:
                return version, status, reason  # (begin() reads its head and asks again)
            http.client.parse_headers(self.fp)  # this interim answer's head, dropped
        raise http.client.HTTPException(f"more than {MAX_INTERIM} interim (1xx) answers")

    def _read_next_chunk_size(self) -> int:
        # (http.client reads a line that is no chunk size, "zz", as the connection closing
        # before the last chunk: IncompleteRead. Only an empty line, the close, is that)
        line = self.fp.readline(65537)
        if len(line) > 65536:
            raise http.client.LineTooLong("chunk size")
        if not line.endswith(b"\n"):  # (the connection closed before or inside the line)
            raise ValueError("the connection closed before a chunk size")
        size = _CHUNK_SIZE.fullmatch(line)
        if size is None:
            self._close_conn()  # type: ignore[attr-defined]  (no framing left to go on with)
            raise BadChunkSize(line, (self.status, self.reason))
        return int(size.group(1), 16)


class _Deadline:
    """The end of one exchange (:func:`_exchange`): ``timeout`` seconds after it began, for
    the whole of it, connecting, writing the request and reading the answer. :meth:`left`
    gives each blocking call on the socket what remains (``TimeoutError`` when nothing does),
    so a target that answers a byte at a time, each within a socket timeout, is cut off at
    the deadline all the same (a timer shutting the socket down did not stop it: Linux still
    hands over bytes that arrive after a ``shutdown``)."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.end = time.monotonic() + timeout

    def left(self) -> float:
        """Seconds until the deadline, or ``TimeoutError`` when it has passed."""
        left = self.end - time.monotonic()
        if left <= 0:
            raise self.error()
        return left

    def error(self) -> TimeoutError:
        return TimeoutError(f"timed out after {self.timeout:g} s")


class _DeadlineReader(io.RawIOBase):
    """The answer's side of a socket (its ``makefile("rb", buffering=0)``), each read given
    what remains of the :class:`_Deadline` as its socket timeout."""

    def __init__(self, raw: Any, sock: socket.socket, deadline: _Deadline) -> None:
        super().__init__()
        self._raw, self._sock, self._deadline = raw, sock, deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        self._sock.settimeout(self._deadline.left())
        return self._raw.readinto(buffer)

    def close(self) -> None:
        self._raw.close()  # (the socket closes once its connection has closed it too)
        super().close()


class _DeadlineSocket:
    """A connected socket whose writes and reads (:class:`_DeadlineReader`) end by the
    :class:`_Deadline`; anything else is the socket's own."""

    def __init__(self, sock: socket.socket, deadline: _Deadline) -> None:
        self._sock, self._deadline = sock, deadline

    def sendall(self, data: Any) -> None:
        self._sock.settimeout(self._deadline.left())  # (sendall's timeout bounds all of it)
        self._sock.sendall(data)

    def makefile(self, mode: str = "r", *args: Any, **kwargs: Any) -> io.BufferedReader:
        raw = self._sock.makefile("rb", buffering=0)
        return io.BufferedReader(_DeadlineReader(raw, self._sock, self._deadline))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class _DeadlineConnection:
    """Connects (TLS handshake included) within what remains of its :class:`_Deadline`
    (``deadline``, set before it connects), then sends and reads through a
    :class:`_DeadlineSocket`."""

    deadline: _Deadline | None = None

    def connect(self) -> None:
        if self.deadline is not None:
            self.timeout = self.deadline.left()
        super().connect()  # type: ignore[misc]
        if self.deadline is not None:
            self.sock = _DeadlineSocket(self.sock, self.deadline)


class _ExactHTTPConnection(_DeadlineConnection, http.client.HTTPConnection):
    """An ``HTTPConnection`` that writes the request line's bytes as the capture held them:
    a target with bytes past ASCII (stored one character a byte, as HTTP reads a request)
    goes out byte for byte, where ``http.client`` refused it (``UnicodeEncodeError``); the
    whole exchange ends by its ``deadline`` (:class:`_DeadlineConnection`)."""

    response_class = _FinalResponse

    def _encode_request(self, request: str) -> bytes:
        return request.encode("latin-1")


class _ExactHTTPSConnection(_DeadlineConnection, http.client.HTTPSConnection):
    __doc__ = _ExactHTTPConnection.__doc__
    response_class = _FinalResponse
    _encode_request = _ExactHTTPConnection._encode_request


class IncompleteRead(http.client.IncompleteRead):
    """The connection closed before the answer's body was whole: fewer bytes than its
    ``Content-Length`` said, or a chunked body without its last (empty) chunk. A subclass of
    :class:`http.client.IncompleteRead` (an ``http.client.HTTPException``) that says it in
    words; ``got``: the bytes of the body that came, ``expected`` the bytes still owed
    (``None`` for a chunked body). ``partial`` holds what was kept of them.

    >>> str(IncompleteRead(b"x" * 500, 500, 500))
    'the answer was cut short: 500 of 1000 bytes (its Content-Length) came before the
    connection closed'
    >>> str(IncompleteRead(b"", None, 12))
    'the answer was cut short: 12 bytes of a chunked body came, then no last (empty) chunk'

    ``answered``: the status and reason of the answer whose body it is (``None`` when not
    told): the target had the request and answered it.
    """

    def __init__(self, partial: bytes, expected: int | None, got: int,
                 answered: tuple[int, str] | None = None) -> None:
        super().__init__(partial, expected)
        self.got = got
        self.answered = answered

    def __str__(self) -> str:
        if self.expected is not None:
            return (f"the answer was cut short: {self.got} of {self.got + self.expected} bytes "
                    "(its Content-Length) came before the connection closed")
        return (f"the answer was cut short: {self.got} bytes of a chunked body came, "
                "then no last (empty) chunk")


class _Answer(NamedTuple):
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    truncated: bool  # the body went on past the limit: ``body`` is its beginning


class BadContentLength(http.client.HTTPException):
    """The answer's ``Content-Length`` is no byte count (``abc``, ``-1``, ``+5``, ``""``), or
    it is given more than once with different counts: its body cannot be told from what
    follows it. RFC 9112 section 6.3 makes that an unrecoverable error: the answer is
    discarded, not taken for a body read until the connection closed (a delivery that looked
    whole, status 200 and all), as an answer cut short is (:class:`IncompleteRead`).

    >>> str(BadContentLength(["abc"]))
    "the answer's Content-Length 'abc' is no byte count: its body cannot be framed (RFC 9112 6.3)"

    ``answered``: the status and reason of that answer (``None`` when not told).
    """

    def __init__(self, values: list[str], answered: tuple[int, str] | None = None) -> None:
        super().__init__(values)
        self.values = values
        self.answered = answered

    def __str__(self) -> str:
        said = ", ".join(self.values)
        shown = repr(said if len(said) <= 60 else said[:60] + "...")
        what = ("is no byte count" if len({v.strip(" \t") for v in self.values}) <= 1
                else "says different byte counts")
        return f"the answer's Content-Length {shown} {what}: its body cannot be framed (RFC 9112 6.3)"


class BadChunkSize(http.client.HTTPException):
    """A chunked answer's chunk-size line is no hexadecimal byte count (``zz``, ``0x5``,
    ``-1``): RFC 9112 section 7.1 has ``chunk-size = 1*HEXDIG``, and what follows cannot be
    framed. Not the connection closing before the last chunk (:class:`IncompleteRead`): the
    target sent a malformed body. ``line``: the line as it came; ``answered``: the status
    and reason of that answer (``None`` when not told).

    >>> str(BadChunkSize(b"zz"))
    "the answer's chunk size 'zz' is no hexadecimal byte count: its body cannot be framed (RFC 9112 7.1)"
    """

    def __init__(self, line: bytes, answered: tuple[int, str] | None = None) -> None:
        super().__init__(line)
        self.line = line
        self.answered = answered

    def __str__(self) -> str:
        said = self.line.rstrip(b"\r\n").decode("latin-1")
        shown = repr(said if len(said) <= 60 else said[:60] + "...")
        return (f"the answer's chunk size {shown} is no hexadecimal byte count: its body "
                "cannot be framed (RFC 9112 7.1)")


def answered(exc: BaseException) -> tuple[int, str] | None:
    """The status and reason of the answer ``exc`` was raised reading, else ``None``: where
    it is not ``None`` the target had the request and had answered its status line, so
    sending again delivers it twice. That is any failure once the status line was read: a
    body cut short or that cannot be framed (:class:`IncompleteRead`,
    :class:`BadContentLength`, :class:`BadChunkSize`), and a reset, a timeout or any other
    ``OSError`` or ``http.client.HTTPException`` while reading the rest (:func:`send`,
    :func:`http_request` set their ``answered``). Before it (nothing listening, a timeout
    waiting for the status line): ``None``.

    >>> answered(IncompleteRead(b"", 5, 0, (200, "OK"))), answered(TimeoutError())
    ((200, 'OK'), None)
    """
    found = getattr(exc, "answered", None)
    if isinstance(exc, (OSError, http.client.HTTPException)) and isinstance(found, tuple):
        return found
    return None


def unread_answer(exc: BaseException, shown_url: str, why: str) -> str | None:
    """What ``hooklab send`` and ``%hooklab send`` say when ``exc`` came after the target
    answered (:func:`answered`): that the webhook was sent, with the status, and why its
    answer could not be read (``why``, as the caller shows errors); ``None`` when it did not
    answer (then nothing was delivered that anyone knows of: "could not send").

    >>> unread_answer(TimeoutError(), "http://h/x", "timed out after 10 s") is None
    True
    >>> e = ConnectionResetError(104, "Connection reset by peer"); e.answered = (200, "OK")
    >>> unread_answer(e, "http://h/x", str(e))
    'sent to http://h/x (answered 200 OK), but the answer could not be read: [Errno 104]
    Connection reset by peer'
    """
    from ..capture import printable

    status = answered(exc)
    if status is None:
        return None
    return (f"sent to {shown_url} (answered {status[0]} {printable(status[1], 200)}), but the "
            f"answer could not be read: {why}")


def _check_length(resp: http.client.HTTPResponse) -> None:
    """:class:`BadContentLength` when the answer's body is framed by a ``Content-Length``
    (no ``Transfer-Encoding``, a status that has content) that is no byte count, or lists
    different ones; the same count listed twice (``5, 5``: RFC 9112 6.3 lets a recipient
    take it as one) frames the body as that count, where ``http.client`` read until close."""
    values = resp.headers.get_all("Content-Length") or []
    if not values or resp.headers.get("Transfer-Encoding") is not None \
            or resp.status in (204, 304) or 100 <= resp.status < 200:
        return
    counts = {t.strip(" \t") for v in values for t in v.split(",")}
    if len(counts) != 1 or not all(c.isascii() and c.isdigit() for c in counts):
        raise BadContentLength(values, (resp.status, resp.reason))
    if resp.length is None:  # ("5, 5": one count, which http.client did not read)
        resp.length = int(counts.pop())


def _read_body(resp: http.client.HTTPResponse, limit: int, keep: bool) -> tuple[bytes, bool]:
    """At most ``limit`` bytes of ``resp``'s body (``b""`` unless ``keep``: read and dropped)
    and whether there was more, read a piece at a time (a 1.5 GiB answer took 1.5 GiB).
    :class:`IncompleteRead` when the connection closes before the body is whole."""
    kept = bytearray()
    got = 0
    while got <= limit:  # (each round reads at least a byte or ends: bounded by limit + 1)
        try:
            piece = resp.read(min(_PIECE, limit + 1 - got))  # (one byte past: is there more?)
        except http.client.IncompleteRead as exc:  # (chunked: the connection closed inside a
            # chunk or before the last one; http.client counts only this read's bytes)
            cause = exc.__cause__
            got += len(exc.partial) + (len(cause.partial)
                                       if isinstance(cause, http.client.IncompleteRead) else 0)
            raise IncompleteRead(bytes(kept), None, got, (resp.status, resp.reason)) from None
        if not piece:
            break
        got += len(piece)
        if keep:
            kept += piece
    if got <= limit and resp.length:
        # http.client's read(amt) takes a close before Content-Length bytes for the end of
        # the body (its own comment: "ideally ... IncompleteRead"): half an answer looked
        # whole, status 200 and all; the bytes it still owed say it was cut
        raise IncompleteRead(bytes(kept), resp.length, got, (resp.status, resp.reason))
    del kept[limit:]
    body = bytes(kept)
    return body, got > limit


def http_request(
    method: str,
    url: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    *,
    timeout: float = 10.0,
    limit: int = MAX_ANSWER,
) -> tuple[int, str, list[tuple[str, str]], bytes]:
    """One HTTP/1.1 request with exactly these headers (plus ``Host`` and ``Content-Length``
    when absent; ``Authorization: Basic`` from the URL's ``user:password@`` when the headers
    carry no ``Authorization``, as curl does), each checked first (:func:`check_header`; a
    ``Content-Length`` that is not ``body``'s length, ``Transfer-Encoding``, ``Connection``
    but ``close`` / ``keep-alive``, a second ``Host``: ``ValueError``, nothing sent). Returns ``(status, reason, headers, body)``
    of the final answer (interim ``1xx`` ones are read past), ``body`` at most ``limit``
    bytes (the rest is not read); raises ``OSError`` on network
    errors (``TimeoutError`` when the whole exchange takes longer than ``timeout``: an app
    that trickles its answer byte by byte is cut off too), ``http.client.HTTPException``
    on an answer that is no HTTP or cut short (:class:`IncompleteRead`: the connection
    closed before the body its head announced), and ``ValueError`` on an unusable URL.
    Redirects are not followed.

    >>> status, reason, headers, body = http_request("POST", app_url, [], b"{}")
    """
    timeout = check_timeout(timeout)  # (0.1 to a day, as send's and replay's)
    return _exchange(method, url, headers, body, timeout=timeout, limit=limit)[:4]


def _exchange(
    method: str,
    url: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    *,
    timeout: float = 10.0,
    limit: int = MAX_ANSWER,
    keep: bool = True,
    trailers: Iterable[tuple[str, str]] | None = None,
    deadline: _Deadline | None = None,
) -> _Answer:
    """:func:`http_request`, saying whether the body was cut; with ``keep=False`` the body
    (up to ``limit`` bytes: a forward's app finishes writing its answer) is read and dropped.
    With ``trailers`` (fields, checked as headers are, none of :data:`_NOT_TRAILERS`) the body
    goes with ``Transfer-Encoding: chunked`` and they follow it as its trailer section (a
    replay or forward of a capture that came so), no ``Content-Length`` given or sent; none:
    the body whole after its ``Content-Length``, as ever. ``deadline`` (one of several
    exchanges: the hops of followed redirects) ends it instead of ``timeout`` seconds from now.
    What it raises does not quote the URL's credentials (:func:`_hide_url_in`)."""
    try:
        return _exchange_once(method, url, headers, body, timeout=timeout, limit=limit, keep=keep,
                              trailers=trailers, deadline=deadline)
    except Exception as exc:
        _hide_url_in(exc, url)
        raise


def _exchange_once(
    method: str,
    url: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    *,
    timeout: float,
    limit: int,
    keep: bool,
    trailers: Iterable[tuple[str, str]] | None = None,
    deadline: _Deadline | None = None,
) -> _Answer:
    """:func:`_exchange`, its errors as raised."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        from ..credentials import shown_url

        # (its credentials as [secret], every other character as written: a mistyped
        # scheme or slash is what the user must see to put it right)
        raise ValueError(f"not an http(s) URL: {shown_url(url)}")
    hdrs = check_headers(list(headers))  # (every path out passes here: before it connects)
    tail = check_headers(list(trailers)) if trailers else []
    _check_framing(hdrs, body, chunked=bool(tail))
    _check_trailers(tail)
    conn_cls = _ExactHTTPSConnection if parts.scheme == "https" else _ExactHTTPConnection
    conn = conn_cls(parts.hostname, url_port(url), timeout=timeout)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    names = {k.lower() for k, _ in hdrs}
    # (the whole exchange, not each read; every hop of a redirected one: curl's --max-time)
    deadline = conn.deadline = deadline or _Deadline(timeout)
    try:
        conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        if "host" not in names:
            conn.putheader("Host", parts.netloc.rpartition("@")[2])
        if parts.username is not None and "authorization" not in names:
            conn.putheader("Authorization", basic_authorization(url))
        for k, v in hdrs:
            conn.putheader(k, v)
        if tail:  # (trailer fields: only a chunked body carries them; http.client writes
            conn.putheader("Transfer-Encoding", "chunked")  # no trailer section: ours, as is)
        elif "content-length" not in names and (body or method.upper() not in _NO_CONTENT):
            conn.putheader("Content-Length", str(len(body)))
        try:
            conn.endheaders(_chunked(body, tail) if tail else (body or None))
        except (BrokenPipeError, ConnectionResetError) as exc:
            # the target answered before reading the whole body (a 413 from an upload limit)
            # and closed: its answer is in our receive buffer. Read it (bounded by the
            # deadline) and return it, as curl does; none there: the send's error
            try:
                resp = conn.getresponse()
            except (OSError, http.client.HTTPException) as late:
                if answered(late) is not None:  # (it answered, then its head failed)
                    exc.answered = answered(late)  # type: ignore[attr-defined]
                raise exc from None
        else:
            resp = conn.getresponse()
        head_only = method.upper() == "HEAD"
        try:
            if not head_only:
                _check_length(resp)
            data, truncated = (b"", False) if head_only else _read_body(resp, max(0, limit), keep)
        except (OSError, http.client.HTTPException) as exc:
            # (after the status line: the target had the request and answered it, whatever
            # cut its body, a reset, a stall, a bad framing; "could not send" had users send
            # it again, a duplicate delivery: see answered())
            if answered(exc) is None:
                exc.answered = (resp.status, resp.reason)  # type: ignore[union-attr]
            raise
    except TimeoutError as exc:  # (the socket's own, or the deadline's: said in the caller's
        late = deadline.error()  # words, and whether it came after the status line)
        if answered(exc) is not None:
            late.answered = exc.answered  # type: ignore[attr-defined]
        raise late from None
    finally:
        conn.close()  # (a cut answer's rest is not read: the target gets a reset)
    return _Answer(resp.status, resp.reason, list(resp.getheaders()), data, truncated)


def _encode(payload: Any) -> tuple[bytes, str | None]:
    if payload is None:
        return b"", None
    if isinstance(payload, (bytes, bytearray, memoryview)):
        return bytes(payload), None
    if isinstance(payload, str):
        try:
            return payload.encode("utf-8"), "text/plain; charset=utf-8"
        except UnicodeEncodeError as exc:
            raise ValueError(
                f"payload text holds {exc.object[exc.start:exc.end]!r} at index {exc.start}, a "
                "lone surrogate: no UTF-8 text can; give bytes, or a dict or list (sent as JSON, "
                "which escapes it)") from None
    return json.dumps(payload).encode("utf-8"), "application/json"


def _merge(base: list[tuple[str, str]], extra: Mapping[str, str] | Iterable[tuple[str, str]] | None
           ) -> list[tuple[str, str]]:
    """``base`` with ``extra`` replacing same-named headers (case-insensitive) in place, all
    of a name's there in the order given; the names ``base`` has not follow it exactly in the
    order given (``X-B: 1``, ``x-a: 2``, ``X-B: 3`` go out so, as ``curl -H`` sends them:
    never regrouped by name).

    >>> _merge([("A", "1"), ("B", "2")], [("b", "x"), ("C", "y"), ("b", "z")])
    [('A', '1'), ('b', 'x'), ('b', 'z'), ('C', 'y')]
    >>> _merge([("A", "1")], [("X-B", "1"), ("x-a", "2"), ("X-B", "3")])
    [('A', '1'), ('X-B', '1'), ('x-a', '2'), ('X-B', '3')]
    """
    if not extra:
        return base
    items = check_headers(extra)  # (a bad one is named before anything is signed or sent)
    replacing = {k.lower() for k, _ in base} & {k.lower() for k, _ in items}
    placed: set[str] = set()
    out: list[tuple[str, str]] = []
    for k, v in base:
        name = k.lower()
        if name not in replacing:
            out.append((k, v))
        elif name not in placed:  # (the first of base's: all of extra's go there)
            out.extend(h for h in items if h[0].lower() == name)
            placed.add(name)
    out.extend(h for h in items if h[0].lower() not in replacing)
    return out


def _left_out(names: Iterable[str], headers: Any) -> set[str]:
    """The names (lower-case) of ``leave_out`` that :func:`send` leaves out: its own default,
    the sample's or the signature's header of that name, as ``curl -H "Name:"`` removes one
    of curl's; a name also given in ``headers`` with a value is sent with it (curl sends
    ``-H "X-A:" -H "X-A: 1"`` as ``X-A: 1``, either order). Each is checked as a header name
    is (:func:`check_header`).

    >>> sorted(_left_out(["User-Agent", "X-A"], [("X-A", "1")]))
    ['user-agent']
    """
    if isinstance(names, (str, bytes)):
        raise TypeError("leave_out is names of headers (a list), not one str")
    out = {check_header(n, "")[0].lower() for n in names}
    if out and headers:
        try:
            pairs = headers.items() if isinstance(headers, Mapping) else headers
            out -= {str(k).lower() for k, _ in pairs}
        except (TypeError, ValueError):  # (no pairs: check_headers says so before sending)
            pass
    return out


def send(
    url: str,
    *,
    provider: str | None = None,
    event: str | None = None,
    payload: Any = None,
    secret: str | bytes | None = None,
    headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
    method: str | None = None,
    timeout: float = 10.0,
    follow_redirects: bool = False,
    leave_out: Iterable[str] = (),
) -> SendResponse:
    r"""Send one webhook to ``url`` and return the receiver's :class:`SendResponse`.

    With ``provider`` (and optionally ``event``): a realistic sample from
    :mod:`hooklab.providers.samples` with the provider's method, query and headers (handshake
    samples such as ``provider="meta", event="subscribe"`` are GET requests); ``payload`` (a
    dict) is deep-merged into it; ``secret`` signs it as the provider would. Without
    ``secret`` it goes unsigned, unless its provider is known by its signature headers alone
    (Zoom, Square, Twilio...: every real delivery carries them): then it is signed the
    provider's way with a throwaway key nobody holds (:func:`_throwaway_secret`), a header
    given in ``headers`` sent as given, so the lab stores it as that provider's, ``verified``
    None on a bin without a secret and False on one with a secret. Handshakes their senders
    never sign (Graph's validation, Dropbox's challenge...) go unsigned whatever ``secret``
    says, and Discord's PING unsigned without it. ``method``
    defaults to the sample's (``POST`` without a provider). Without ``provider``: a dict/list ``payload``
    is sent as JSON, ``bytes`` as-is, ``str`` as UTF-8 text. ``headers`` (a mapping, or
    ``(name, value)`` pairs: a name given twice is sent twice) are added last and replace
    same-named ones, a signature's computed with ``secret`` too (a forged
    ``X-Hub-Signature-256`` goes out as written); a value is ``str`` (sent one character a byte: ``"caf\xe9"`` is the
    byte 0xE9), ``bytes`` (sent as given: ``"café".encode()`` is UTF-8) or ``int`` (``None``
    is a ``TypeError``: an unset ``os.environ.get`` must not go out as ``None``, nor leave a
    header out unseen). ``leave_out=["User-Agent"]`` leaves those names out, hooklab's own
    (``User-Agent``, ``Content-Type``), the sample's or the signature's too, as ``curl -H
    "Name:"`` does (``Host`` and ``Content-Length`` are sent whatever it says; a name also
    given in ``headers`` is sent with that value). ``Host
    replaces the URL's; ``Content-Length`` and ``Transfer-Encoding`` are hooklab's to frame
    the body: a ``Content-Length`` that is not the body's length is refused, as is any
    ``Transfer-Encoding``. Raises ``ValueError`` for a header that cannot be sent as given
    (:func:`check_header`: no name that is no token, no value with CR, LF, NUL or another
    control character but tab; the message names the header, never quotes its value),
    before anything is sent, for a URL holding a control character (a tab or line break
    that :func:`urllib.parse.urlsplit` would drop unseen: percent-encode it) before
    anything is sent, the message without the URL's credentials, for an unknown
    provider/event (listing the known ones), ``OSError`` when the receiver cannot be reached and
    ``http.client.HTTPException`` when its answer is no HTTP or cut short
    (:class:`IncompleteRead`). ``follow_redirects``
    follows up to 5 redirects (see the module docstring for what crosses origins);
    ``timeout`` bounds them all together, as curl's ``--max-time`` does, not each hop:
    0.1 to 86400 seconds (:func:`check_timeout`), else ``ValueError``, nothing sent.

    >>> r = send(lab.url_for("stripe"), provider="stripe", event="invoice.paid",
    ...          secret="whsec_test", payload={"data": {"object": {"amount_paid": 4200}}})
    >>> r.status
    200
    >>> got = lab.captures[-1]
    >>> got.event_type, got.json()["data"]["object"]["amount_paid"], got.verified
    ('invoice.paid', 4200, True)
    >>> send(app_url, payload=b"{}", headers=[("X-Note", "caf\xe9"), ("X-Raw", b"\xc3\xa9")]).status
    200
    >>> send(app_url, payload=b"{}", headers={"Content-Length": "1"})
    Traceback (most recent call last):
    ...
    ValueError: header 'Content-Length' says 1, but the body is 2 bytes: the target would
    read the body wrong (leave it out: hooklab sends the body's length)
    """
    from ..providers.detect import detect
    from ..providers.samples import sample

    refuse_unsendable(url)  # (before urlsplit drops a tab or line break unseen)
    timeout = check_timeout(timeout)  # (-1 said "timed out after -1 s", inf OverflowError)
    left_out = _left_out(leave_out, headers)
    stand_in, throwaway = False, None
    url = ascii_url(url)  # (a URL typed with "café": sent, and signed, as curl would send it)
    if provider:
        s = sample(provider, event, payload)
        hdrs, body, sign_args = s.headers, s.body, {"timestamp": s.timestamp,
                                                    "msg_id": s.msg_id, "params": s.params}
        prov = s.provider
        method = method or s.method
        if not s.signed:  # (an endpoint check its sender never signs: sent as it comes)
            secret = None
        stand_in = secret is None and s.signed and s.throwaway
        if s.query:
            url += ("&" if "?" in url else "?") + s.query_string[1:]
    else:
        if event:
            raise ValueError("event= needs provider= (e.g. provider='github', event='push')")
        if secret is not None:
            raise ValueError("secret= needs provider= to know how to sign")
        body, ctype = _encode(payload)
        hdrs = [("Content-Type", ctype)] if ctype else []
        hdrs.append(("User-Agent", "hooklab/send"))
        sign_args, prov = {}, ""
    method = method or "POST"
    hdrs = [h for h in _merge(hdrs, headers) if h[0].lower() not in left_out]
    if stand_in and detect(hdrs, body, s.query)[0] != prov:  # (known by its signature alone:
        throwaway = _throwaway_secret(prov)  # signed as it signs, with a key nobody holds)
    signed_names: set[str] = set()
    if secret is not None or throwaway is not None:
        from ..signatures import sign_request, signed_inputs

        if headers:  # (a delivery id or a time of the user's is signed over, not beside)
            sign_args = {**sign_args, **signed_inputs(prov, check_headers(headers))}

        try:
            signed = sign_request(prov, secret if secret is not None else throwaway, url=url,
                                  body=body, method=method, headers=dict(hdrs), **sign_args)
        except ValueError:
            if secret is not None:
                raise
            signed = None  # (a payload= the provider could not sign: sent unsigned, as asked)
        if signed is not None:
            url, body = signed.url or url, signed.body
            # a header given in headers= is sent as given, a signature's too, with secret= as
            # without it (a forged one, to test that a receiver refuses it): the signature's
            # headers fill in only the names not given
            given = {k.lower() for k, _ in check_headers(headers)} | left_out
            hdrs = _merge(hdrs, [(k, v) for k, v in signed.headers.items()
                                 if k.lower() not in given])
            signed_names = {k.lower() for k in signed.headers}
    start = time.perf_counter()
    cur_method, cur_url, cur_body = method.upper(), url, body
    unfollowed = None
    deadline = _Deadline(timeout)  # (one for every hop: the timeout bounds the whole exchange)
    for hop in range(_MAX_REDIRECTS + 1):
        status, reason, rh, rb, cut = _exchange(cur_method, cur_url, hdrs, cur_body,
                                                timeout=timeout, deadline=deadline)
        location = next((v for k, v in rh if k.lower() == "location"), None)
        if not (follow_redirects and location and status in (301, 302, 303, 307, 308)):
            break
        if hop == _MAX_REDIRECTS:
            unfollowed = f"more than {_MAX_REDIRECTS} redirects"
            break
        nxt = urljoin(cur_url, location)
        here, there = urlsplit(cur_url), urlsplit(nxt)
        keeps_body = status in (307, 308) or cur_method == "HEAD"  # (RFC 9110 15.4.8, 15.4.9)
        if there.scheme not in ("http", "https") or (here.scheme == "https" and there.scheme != "https"):
            unfollowed = "it leaves https" if here.scheme == "https" else "it leaves http(s)"
            break  # never downgrade https to http (or leave http(s)): the redirect is returned
        other_host = (here.hostname or "").lower() != (there.hostname or "").lower()
        if other_host and keeps_body and cur_body:
            # a 307/308 resends the same request, body and all; the payload goes to no other
            # host: not followed (an empty POST there, answered 200, looked delivered)
            unfollowed = (f"a {status} to another host ({there.hostname or ''}) resends the "
                          "body, which hooklab sends to no other host")
            break
        if _origin(here) != _origin(there):  # another origin: no credentials or signatures
            hdrs = [(k, v) for k, v in hdrs
                    if k.lower() not in signed_names and not _CREDENTIAL.search(k)]
        if other_host:  # (another host: no payload; a 301/302/303 sends none anyway)
            hdrs = [(k, v) for k, v in hdrs if k.lower() not in ("content-type", "content-length")]
            cur_body = b""
        cur_url = nxt
        if not keeps_body and cur_method != "HEAD":  # (301, 302, 303: a GET, no content)
            cur_method, cur_body = "GET", b""
            hdrs = [(k, v) for k, v in hdrs if k.lower() not in ("content-type", "content-length")]
    return SendResponse(status, reason, rh, rb, time.perf_counter() - start, cur_url, hdrs,
                        cur_body, truncated=cut, unfollowed=unfollowed)


def data_arg(text: str, *, merged: bool) -> Any:
    """``--data`` of ``hooklab send`` and ``%hooklab send``: a JSON object (RFC 8259), as the
    body to send. Without ``--provider``
    (``merged`` False) it is sent as written: its UTF-8 bytes are returned (parsed and
    re-written, ``1e999`` went out as ``Infinity`` and ``{"a":1}`` as ``{"a": 1}``); with
    it, the object to merge into the sample's payload. ``ValueError`` in the command's words
    for text that is no JSON, JSON that is no object (an array too: README promises an
    object, with ``--provider`` or without), ``NaN``/``Infinity`` (Python's JSON
    reader takes them; no JSON reader has to) and, to be merged, a number too large for a
    float (the sample is written anew, where it would be ``Infinity``).

    >>> data_arg('{"a":1e999}', merged=False)
    b'{"a":1e999}'
    >>> data_arg('{"a":NaN}', merged=False)
    Traceback (most recent call last):
    ...
    ValueError: --data is not valid JSON: NaN is no JSON value (RFC 8259 has no NaN or Infinity: write a number, or a string)
    >>> data_arg('[{"id": 1}]', merged=False)
    Traceback (most recent call last):
    ...
    ValueError: --data must be a JSON object (the body, sent as written), not list
    """
    import math

    too_large: list[str] = []

    def constant(name: str) -> Any:
        raise ValueError(f"{name} is no JSON value (RFC 8259 has no NaN or Infinity: write a "
                         "number, or a string)")

    def number(digits: str) -> float:
        value = float(digits)
        if math.isinf(value):
            too_large.append(digits)
        return value

    try:
        data = json.loads(text, parse_constant=constant, parse_float=number)
    except ValueError as exc:
        raise ValueError(f"--data is not valid JSON: {exc}") from None
    except RecursionError:  # (nested past what Python's reader goes)
        raise ValueError("--data is not valid JSON: nested too deep") from None
    if not isinstance(data, dict):  # (null too: it sent an empty body, exit 0)
        kind = "null" if data is None else type(data).__name__
        role = "merged into the sample's payload" if merged else "the body, sent as written"
        raise ValueError(f"--data must be a JSON object ({role}), not {kind}")
    if not merged:
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError:  # (bytes of the command line that are no UTF-8)
            raise ValueError("--data is not UTF-8 text (JSON is)") from None
    if too_large:
        shown = too_large[0] if len(too_large[0]) <= 40 else too_large[0][:40] + "..."
        raise ValueError(f"--data holds {shown}, a number too large for a float: merged into "
                         "the sample's payload it cannot be written as it is (without "
                         "--provider, --data is sent as written)")
    return data


#: the key of every sample sent without ``secret=`` (:func:`_throwaway_secret`): made once
#: a process, never shown nor kept, so no bin's secret is it
_THROWAWAY_KEY = os.urandom(32)
#: schemes whose signing secret is a private key (:func:`hooklab.signatures.keypair`)
_KEY_PAIR_SCHEMES = frozenset({"ed25519", "ecdsa", "paypal", "sns"})


@functools.cache
def _throwaway_secret(provider: str) -> str | None:
    """A secret of the form ``provider`` signs with that nobody holds: :func:`send` signs with
    it a sample given no ``secret=`` that only its signature headers would mark as that
    provider's (every real delivery carries them), so it is recognised, yet verifies under
    no bin's secret. A private key for the key-pair providers (made once a process), ``None``
    where that needs the missing ``cryptography`` package (the sample goes unsigned).

    >>> _throwaway_secret("stripe") == _throwaway_secret("github") != _throwaway_secret("postmark")
    True
    """
    from ..providers import TABLE

    entry = TABLE.get(provider)
    if entry is None:
        return None
    if entry.scheme in _KEY_PAIR_SCHEMES or entry.sig.get("alg") == "ES256":
        from ..signatures import keypair

        try:
            return keypair(provider)[0]
        except ImportError:
            return None
    if entry.scheme == "standardwebhooks":
        return "whsec_" + base64.b64encode(_THROWAWAY_KEY).decode()
    if entry.scheme in ("basic", "braintree"):  # ("user:password", "public:private")
        return "hooklab-sample:" + _THROWAWAY_KEY.hex()
    return _THROWAWAY_KEY.hex()  # (hex: a text key, a hex key and a base64 one alike)


class Unsendable(NamedTuple):
    """A character of a URL that no request can carry as written (:func:`unsendable`)."""

    #: the URL as a message shows it: credentials hidden, the characters it cannot hold kept
    #: in their places (``repr()`` or :func:`hooklab.capture.printable` escapes them)
    shown: str
    #: the character, and its index in the URL as written (a message says ``at + 1``)
    char: str
    at: int
    #: where the count is read, when the URL shown is not the URL as written ("" when it is)
    note: str
    #: whitespace before or after the whole URL (a space, tab, CR or LF): a copy-paste slip,
    #: to be removed (percent-encoded, it would send to another URL: ``/x%20``)
    around: bool = False

    @property
    def slip(self) -> str:
        """What a message says of whitespace before or after the URL, instead of
        percent-encoding advice ("" for any other character): ``"a space before or after a
        URL is most likely a copy-paste slip: remove it"`` (a tab, a line break likewise)."""
        if not self.around:
            return ""
        what = {" ": "a space", "\t": "a tab"}.get(self.char, "a line break")
        return f"{what} before or after a URL is most likely a copy-paste slip: remove it"

    @property
    def what(self) -> str:
        """``"a space"`` or ``"the control character U+0009"``."""
        return "a space" if self.char == " " else f"the control character U+{ord(self.char):04X}"

    @property
    def encoded(self) -> str:
        """The character percent-encoded (``%20``, ``%09``), as the URL should hold it."""
        return f"%{ord(self.char):02X}"

    @property
    def advice(self) -> str:
        """How a message says to write it: ``"%09 for a tab"``, ``"%20 for a space"``,
        ``"%0A"``."""
        return self.encoded + {"\t": " for a tab", " ": " for a space"}.get(self.char, "")


def unsendable(url: str) -> Unsendable | None:
    r"""The first character of ``url`` that no request can carry as written, or ``None``.

    That is a control character anywhere (:func:`urllib.parse.urlsplit` drops a tab, CR or
    LF without a word, so another URL than the one written would go out; NUL, ESC, DEL...
    http.client refuses), and a space in the host, path or query (a request line or ``Host``
    header holds none: http.client's ``InvalidURL``). A space in ``user:password@`` (sent as
    Basic credentials) or in the fragment (never sent) is fine, but not before or after the
    whole URL: whitespace there (a space, tab, CR or LF) is a copy-paste slip, ``around``, to
    be removed (WHATWG's URL parser strips it without a word; RFC 3986 has no whitespace;
    percent-encoded, it would name another URL). Characters past ASCII are
    no such character: an IRI's are percent-encoded as UTF-8 on the way out
    (:func:`ascii_url`). ``send``, ``%hooklab send``, ``hooklab send`` and forward and
    replay targets refuse such a URL with it, before anything is sent.

    The position counts the URL as written; the URL shown hides its credentials and keeps
    the character where it is (a URL shown through ``urlsplit`` had lost a tab the message
    named), and ``note`` says so when the URL shown is not the one written.

    >>> bad = unsendable("http://127.0.0.1:9/my hook?api_key=sk_1")
    >>> bad.what, bad.at + 1, bad.shown, bad.note
    ('a space', 22, 'http://127.0.0.1:9/my hook?api_key=[secret]', '')
    >>> unsendable("http://u:pw@127.0.0.1:9/my hook").note
    'counted in the URL as written, whose credentials are hidden here'
    >>> unsendable("http://127.0.0.1:9/caf\u00e9#a b") is None    # an IRI; a fragment
    True
    >>> unsendable(" http://127.0.0.1:9/x").at    # pasted with a space before it
    0
    >>> unsendable("http://127.0.0.1:9/x \n").around    # a line read from a file
    True
    """
    scheme = url.find("://")
    start = scheme + 3 if scheme >= 0 else 0
    end = len(url.split("#", 1)[0])
    authority = re.match(r"[^/?]*", url[start:end]).group()  # type: ignore[union-attr]
    skip = start + authority.rfind("@") + 1  # (the credentials: not in the request line)
    lead, trail = len(url) - len(url.lstrip(_AROUND)), len(url.rstrip(_AROUND))
    at = min((m.start() for m in (NOT_IN_URL.search(url), _NOT_IN_TARGET.search(url, skip, end))
              if m is not None), default=len(url))
    at = 0 if lead else min(at, trail)  # (whitespace around: the first of it)
    if at == len(url):
        return None
    shown, shown_at = _shown_keeping(url, at)
    note = "" if shown_at == at else (  # (the URL shown counts it elsewhere)
        "counted in the URL as written, whose credentials are hidden here" if shown_at is not None
        else "counted in the URL as written, in a credential hidden here as [secret]")
    return Unsendable(shown, url[at], at, note, at < lead or at >= trail)


_MARKS = 0xE000  # (private-use characters: stand-ins while credentials are hidden)


def _shown_keeping(url: str, at: int) -> tuple[str, int | None]:
    """``url`` without its credentials (:func:`hooklab.credentials.scrubbed_url`) but with
    its spaces and control characters where they were, and where the one at ``at`` is in it
    (``None``: inside a hidden credential). Each such character is a private-use stand-in
    while the URL is scrubbed, the credentials of both readings hidden (the URL with its
    stand-ins, and as urlsplit reads the URL written, a tab dropped from a token), then put
    back."""
    from ..credentials import scrubbed_text, scrubbed_url

    spots = [m.start() for m in _NOT_IN_TARGET.finditer(url)]
    if len(spots) > 0x1900 or any("\ue000" <= c <= "\uf8ff" for c in url):
        return scrubbed_url(url), None  # (no stand-ins to spare: the character not shown)
    chars = list(url)
    for i, spot in enumerate(spots):
        chars[spot] = chr(_MARKS + i)
    shown = scrubbed_text(scrubbed_url("".join(chars)), url)
    mine = chr(_MARKS + spots.index(at))
    put_back = "".join(url[spots[ord(c) - _MARKS]] if "\ue000" <= c <= "\uf8ff" else c
                       for c in shown)
    return put_back, (shown.index(mine) if mine in shown else None)


def refuse_unsendable(url: str) -> None:
    r"""``ValueError`` when ``url`` holds a character no request can carry as written
    (:func:`unsendable`: a control character, a space in the host, path or query), before
    anything is sent. :func:`urllib.parse.urlsplit` drops a tab, CR or LF anywhere in a URL
    (as WHATWG says), so ``/tab\there`` went out as ``/tabhere`` without a word; a space was
    http.client's ``InvalidURL``, quoting the path. The message shows the URL without its
    credentials and names the character and where it is in the URL as written. ``send``
    and ``hooklab.ws.record`` (a ``ws://`` URL: the same words) check their URL with it.

    >>> refuse_unsendable("http://127.0.0.1:9/tab\there")
    Traceback (most recent call last):
    ...
    ValueError: URL 'http://127.0.0.1:9/tab\there' holds the control character U+0009 at
    character 23: no URL holds one (a tab or line break would be dropped and another URL sent
    than the one written); percent-encode it (%09 for a tab)
    >>> refuse_unsendable("http://127.0.0.1:9/hook?token=t0k3n x")
    Traceback (most recent call last):
    ...
    ValueError: URL 'http://127.0.0.1:9/hook?token=[secret]' holds a space at character 36:
    counted in the URL as written, in a credential hidden here as [secret]; no URL holds
    one (a request line cannot carry it); percent-encode it (%20 for a space)
    """
    if not isinstance(url, str):
        return  # (what is no text is refused where it is used)
    bad = unsendable(url)
    if bad is None:
        return
    why = (f"{bad.slip}; a URL parser drops it without a word" if bad.around
           else "a request line cannot carry it" if bad.char == " " else
           "a tab or line break would be dropped and another URL sent than the one written")
    from ..credentials import shown_url

    raise ValueError(f"URL {shown_url(url, shown=bad.shown)} holds {bad.what} at character {bad.at + 1}: "
                     + (f"{bad.note}; " if bad.note else "") + f"no URL holds one ({why})"
                     + ("" if bad.around else f"; percent-encode it ({bad.advice})"))


def url_port(url: str) -> int | None:
    """The port ``url`` names, ``None`` when it names none or an empty one (``host:/``: the
    scheme's default, RFC 3986 3.2.3), or ``ValueError`` before anything is sent: a port of
    anything but ASCII digits (``+80``, ``-1``, ``８０``: Python 3.10's urlsplit read ``+80``
    as 80, and a WebSocket client found no such host, "Name or service not known") or past
    65535 (the socket layer wraps it: 99999 connected to port 34463), in urllib's words, the
    URL shown without its credentials. ``send`` (and so forward and replay) and
    ``hooklab.ws.record`` read their URL's port here.

    >>> url_port("ws://127.0.0.1:9000/feed"), url_port("http://[::1]:/x"), url_port("http://h/")
    (9000, None, None)
    >>> url_port("ws://127.0.0.1:99999/feed")
    Traceback (most recent call last):
    ...
    ValueError: URL 'ws://127.0.0.1:99999/feed' names no valid port: Port out of range 0-65535
    """
    from ..credentials import shown_url

    parts = urlsplit(url)  # (its own ValueError for "[::1": "Invalid IPv6 URL")
    hostport = parts.netloc.rpartition("@")[2]  # (the userinfo's ":" is no port's)
    if hostport.startswith("["):
        written = hostport.partition("]")[2].removeprefix(":")
    else:
        written = hostport.partition(":")[2]
    why = None
    if written and not (written.isascii() and written.isdigit()):
        why = f"Port could not be cast to integer value as {written!r}"
    elif written and int(written) > 65535:
        why = "Port out of range 0-65535"
    else:
        try:
            parts.port  # noqa: B018 - whatever else urllib refuses
        except ValueError as exc:
            why = str(exc)
    if why is not None:
        raise ValueError(f"URL {shown_url(url)} names no valid port: {why}")
    return int(written) if written else None


#: header names that carry credentials or signatures (dropped on a cross-origin redirect)
_CREDENTIAL = re.compile(r"authorization|cookie|signature|token|secret|hmac|api-?key", re.I)


def _origin(parts: SplitResult) -> tuple[str, str, int | None]:
    default = 443 if parts.scheme == "https" else 80
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default
