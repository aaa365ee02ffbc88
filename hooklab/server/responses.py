"""What the capture server answers: rules per bin, path glob and method.

>>> rules = ResponseRules()
>>> rule = rules.add("stripe", status=[503, 503, 200])   # 503 twice, then 200 from then on
>>> [rules.match("POST", "/stripe").status for _ in range(4)]
[503, 503, 200, 200]
>>> rule.hits
4
"""

from __future__ import annotations

import fnmatch
import json
import numbers
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..capture import bin_of, check_request_syntax, path_read
from ..credentials import shown_header_name
from ..filters import check_bin

__all__ = ["DEFAULT_RESPONSE", "MAX_DELAY", "Response", "ResponseRules", "Rule"]

MAX_DELAY = 30.0


@dataclass(frozen=True)
class Response:
    """One answer: status, headers, body and how long to wait before sending it."""

    status: int = 200
    body: bytes | None = None  # None: the default JSON body naming the capture id
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0

    def render(self, capture_id: int) -> tuple[int, list[tuple[str, str]], bytes]:
        headers = list(self.headers)
        if self.body is None:
            body = json.dumps({"ok": True, "id": capture_id}).encode()
            if not any(k.lower() == "content-type" for k, _ in headers):
                headers.append(("Content-Type", "application/json"))
        else:
            body = self.body
        return self.status, headers, body


_DEFAULT = Response()  # 200 with the JSON body naming the capture id
#: what :meth:`ResponseRules.match` returns when no rule of the user matches
DEFAULT_RESPONSE = _DEFAULT


def _check_header(name: str, value: str) -> None:
    """Refuse what no answer may carry (Tornado's own rules: names are tokens, values have no
    control characters or surrounding whitespace), now rather than when a webhook arrives."""
    from tornado.httputil import HTTPHeaders, HTTPInputError

    try:
        HTTPHeaders().add(name, value)
    except HTTPInputError:  # (its words quote the value)
        raise ValueError(
            f"header {shown_header_name(name, strict=True)} is not a valid HTTP header: a name is a token "
            "(no spaces or control characters), a value has no control characters and no "
            "space or tab at either end (the value is not shown: it may be a secret)") from None


def _header_pair(item: Any) -> tuple[str, str]:
    """A ``(name, value)`` of an answer's headers as it is sent: a name is text; a value is
    text, ``bytes`` (sent as they are: one character a byte) or an ``int`` (its digits).
    Anything else is ``TypeError`` now: ``None`` or ``1.5`` was taken, and every request to
    the bin then got no answer at all (the answer failed as it was written)."""
    if not isinstance(item, (tuple, list)) or len(item) != 2:
        raise TypeError("headers are a mapping or (name, value) pairs")
    name, value = item
    if not isinstance(name, str):
        raise TypeError(f"a header name is text, not {type(name).__name__}")
    if isinstance(value, (bytes, bytearray)):
        return name, bytes(value).decode("latin-1")
    if isinstance(value, int) and not isinstance(value, bool):
        return name, str(value)
    if not isinstance(value, str):
        raise TypeError(f"header {shown_header_name(name, strict=True)}: a value is text, bytes or an int, "
                        f"not {type(value).__name__}")
    return name, value


def _body(body: bytes | str | Mapping | list | None) -> bytes | None:
    if body is None or isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body).encode()


@dataclass
class Rule:
    """A response rule; ``pattern`` is a bin name (``"stripe"``) or a path glob (``"/stripe/*"``).

    A glob matches the path as sent or as a person reads it (:func:`~hooklab.capture.path_read`:
    escapes undone, raw UTF-8 read), as a bin name matches either spelling of its bin:

    >>> r = Rule("/été/*", [])
    >>> [r.matches("POST", p, "") for p in ("/\xc3\xa9t\xc3\xa9/x", "/%C3%A9t%C3%A9/x", "/ete/x")]
    [True, True, False]
    """

    pattern: str
    responses: list[Response]
    method: str | None = None
    hits: int = field(default=0)

    def matches(self, method: str, path: str, bin_: str) -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        pat = self.pattern
        if pat in ("*", "/*"):
            return True
        if not pat.startswith("/"):
            return pat == bin_
        bare = path.split("?", 1)[0]
        if fnmatch.fnmatchcase(bare, pat):
            return True
        read = path_read(bare)
        return read != bare and fnmatch.fnmatchcase(read, pat)

    def next(self) -> Response:
        r = self.responses[min(self.hits, len(self.responses) - 1)]
        self.hits += 1
        return r


class ResponseRules:
    """Ordered rules; the most recently added matching rule wins. Thread-safe."""

    def __init__(self) -> None:
        self._rules: list[Rule] = []
        self._lock = threading.Lock()

    def add(
        self,
        pattern: str,
        status: int | Iterable[int] = 200,
        body: bytes | str | Mapping[str, Any] | list[Any] | None = None,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        delay: float = 0.0,
        *,
        method: str | None = None,
    ) -> Rule:
        """Add a rule. ``status`` may be a sequence: one answer per request, the last repeats.
        A ``pattern`` without a leading ``/`` is a bin, one path segment
        (:func:`~hooklab.filters.check_bin`: ``"github/push"`` is ``ValueError``, saying to
        write the glob ``"/github/push"``). ``method`` is one HTTP method, an RFC 9110 token
        (``"GET POST"`` is ``ValueError``: it would match no request)."""
        if isinstance(pattern, str) and not pattern.startswith("/") and pattern != "*":
            check_bin(pattern)  # (compared with a capture's bin, it would never match)
        if method is not None and method != "":
            try:  # (RFC 9110: a method is a token; "GET POST" matched no request, unsaid)
                check_request_syntax(method, "/", [])
            except ValueError:
                shown = repr(method) if not isinstance(method, str) or len(method) <= 40 \
                    else repr(method[:40]) + "..."
                raise ValueError(f"method {shown} is no HTTP method (a token: letters, no "
                                 "spaces): a rule takes one, e.g. method='GET'; give a rule "
                                 "per method for several") from None
        if isinstance(delay, bool) or not isinstance(delay, numbers.Real):  # ("1" was taken,
            raise TypeError(f"delay must be a number of seconds, got {delay!r}")  # True: 1 s)
        if not 0 <= float(delay) <= MAX_DELAY:
            raise ValueError(f"delay must be between 0 and {MAX_DELAY:g} s, got {delay!r}")
        many = isinstance(status, Iterable) and not isinstance(status, (str, bytes))
        statuses = list(status) if many else [status]
        if not statuses:
            raise ValueError("status sequence is empty")
        for s in statuses:
            if isinstance(s, bool) or not isinstance(s, int) or not 200 <= s <= 599:
                # (1xx are interim answers: a sender waits on for the final one)
                raise ValueError(f"HTTP status must be an int in 200..599, got {s!r}")
        hs = tuple(_header_pair(item) for item in
                   ((headers.items() if isinstance(headers, Mapping) else headers) or ()))
        for k, v in hs:  # (text, both: _header_pair)
            if any(c in k + v for c in "\r\n\0"):
                raise ValueError(f"header {shown_header_name(k, strict=True)} contains a line break or"
                                 " NUL (the value is not shown: it may be a secret)")
            try:
                (k + v).encode("latin-1")
            except UnicodeEncodeError:
                raise ValueError(
                    f"header {shown_header_name(k, strict=True)} has characters outside Latin-1, which"
                    " HTTP headers cannot carry; percent-encode them (RFC 8187) or send them "
                    "in the body (the value is not shown: it may be a secret)"
                ) from None
            _check_header(k, v)
            if k.lower() == "transfer-encoding":
                raise ValueError(
                    "Transfer-Encoding cannot be set: hooklab frames every answer with a "
                    "Content-Length computed from the body"
                )
        # the body decides Content-Length (none at all for 1xx/204/304): a rule's own value,
        # e.g. copied from a real response, would contradict what is sent
        hs = tuple((k, v) for k, v in hs if k.lower() != "content-length")
        if isinstance(body, (Mapping, list)) and not any(k.lower() == "content-type"
                                                         for k, _ in hs):
            hs += (("Content-Type", "application/json"),)  # (sent as JSON: say so)
        resp = [Response(s, _body(body), hs, float(delay)) for s in statuses]
        rule = Rule(pattern.strip() or "*", resp, method.upper() if method else None)
        with self._lock:
            self._rules = [
                r for r in self._rules if (r.pattern, r.method) != (rule.pattern, rule.method)
            ]
            self._rules.append(rule)
        return rule

    def remove(self, pattern: str, *, method: str | None = None) -> bool:
        with self._lock:
            before = len(self._rules)
            self._rules = [
                r for r in self._rules
                if not (r.pattern == pattern and (method is None or r.method == method.upper()))
            ]
            return len(self._rules) != before

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def match(self, method: str, path: str, bin_: str | None = None) -> Response:
        """The response for a request (and advance that rule's sequence)."""
        if not self._rules:  # no rules at all: the common case, asked once per capture
            return _DEFAULT
        b = bin_of(path) if bin_ is None else bin_
        with self._lock:
            for rule in reversed(self._rules):
                if rule.matches(method, path, b):
                    return rule.next()
        return _DEFAULT

    def __iter__(self):
        return iter(list(self._rules))

    def __len__(self) -> int:
        return len(self._rules)
