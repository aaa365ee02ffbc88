"""The ``/_hooklab/`` JSON API served beside the capture paths, for tools and other processes.

- ``GET /_hooklab/health`` -> ``{"status": "ok", "captures": N, "last_id": K, ...}``
  (``"status": "failing"`` with ``error`` and ``since``, answered 503, while captures cannot
  be stored)
- ``GET /_hooklab/api/captures?since=<id>&limit=<n>&bin=<b>&search=<text>...`` -> a page of
  captures as JSON (filters: :mod:`hooklab.filters`): ``{"captures": [...], "last_id": K,
  "more": bool}``. A page holds at most ``limit`` (1000; a larger one is cut to it) captures
  and about ``server.api_page_bytes`` (8 MiB) of JSON, but always at least one capture; ``more: true``
  means ask again with ``since=<last_id>``.
- ``GET /_hooklab/api/captures/<id>`` -> one capture; ``.../<id>/body`` -> its raw bytes
- ``GET /_hooklab/`` -> a small page showing the live stream (``static/stream.html``)
- ``HEAD`` on each of these answers as ``GET`` (no body); another method: ``405`` with ``Allow``
- ``WS  /_hooklab/ws?since=<id>&bin=<b>&provider=<p>`` -> captures pushed as JSON
  (:mod:`hooklab.server.stream`)

Everything but ``health``, the page's script and the relay check is guarded by
:func:`hooklab.server.guard.refuse_reader`: a local ``Host`` and the lab's read token
(``?token=`` or ``Authorization: token ...``; ``lab.page_url`` carries it).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import weakref
from datetime import datetime, timezone
from functools import partial
from importlib import resources
from typing import Any

from tornado import web

from .._version import __version__
from ..filters import FILTER_KEYS, bound, capture_id, from_query
from .encoding import ENCODING, SLICE, capture_json
from .guard import (
    log_without_query,
    query_text,
    query_texts,
    refuse_host,
    refuse_reader,
    unknown_parameter,
    wants_body,
)

__all__ = ["DEFAULT_PAGE_BYTES", "make_api_app"]

_MAX_LIMIT = 1000
_DIGITS = re.compile(r"[0-9]+")  # (ASCII digits only: int() takes " 1", "1_0", "١")
#: JSON bytes one ``/_hooklab/api/captures`` page may hold (a bigger single capture still comes)
DEFAULT_PAGE_BYTES = 8 * 1024 * 1024


class _Base(web.RequestHandler):
    def initialize(self, server: Any) -> None:
        self.server = server

    #: needs the read token (captures, one capture, the page); else only a local Host
    reader = True

    def prepare(self) -> None:
        if self.reader:
            refuse_reader(self, self.server)
        else:
            refuse_host(self, self.server)

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Content-Type-Options", "nosniff")

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        log_without_query(self, typ, value, tb)  # (the query may hold the read token)

    def set_status(self, status_code: int, reason: str | None = None) -> None:
        # the status line says the reason in ASCII (Tornado puts "Unknown" in place of a
        # reason it cannot hold: the name of a parameter %FF=1 is U+FFFD, and the answer said
        # only "400 Unknown"); the JSON body says it as it is (write_error)
        self._said = reason
        super().set_status(status_code, None if reason is None else _phrase(reason))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        if status_code == 401:
            self.set_header("WWW-Authenticate", "token")
        elif status_code == 405:  # (RFC 9110 15.5.6: a 405 says what the resource takes)
            self.set_header("Allow", ", ".join(_allowed(type(self))))
        said = getattr(self, "_said", None) or self._reason
        self.finish(json.dumps({"ok": False, "status": status_code, "error": said}))

    def check_xsrf_cookie(self) -> None:  # read-only JSON API, no cookies involved
        return None

    async def head(self, *args: Any) -> None:
        """HEAD as GET, behind the same guard (``prepare``): the same status and fields,
        ``Content-Length`` the GET body's where GET sends one; Tornado sends no body
        (RFC 9110 9.3.2: a general-purpose server supports GET and HEAD)."""
        got = self.get(*args)  # type: ignore[attr-defined]
        if got is not None:
            await got


def _allowed(handler: type[web.RequestHandler]) -> list[str]:
    """The methods a handler class answers: those it defines beyond Tornado's base (HEAD,
    which :class:`_Base` answers as GET, wherever GET is).

    >>> _allowed(HealthHandler), _allowed(NotFound)
    (['GET', 'HEAD'], [])
    """
    def defines(name: str) -> bool:
        return getattr(handler, name, None) is not getattr(web.RequestHandler, name, None)

    return [m for m in web.RequestHandler.SUPPORTED_METHODS
            if defines("get" if m == "HEAD" else m.lower())]


def _phrase(text: str) -> str:
    """``text`` as a status line's reason phrase: printable ASCII, a ``<`` (which Tornado also
    refuses) and every other character escaped as Python writes it (``\\ufffd``).

    >>> _phrase("unknown parameter '\ufffd'; <x> caf\u00e9")
    "unknown parameter '\\\\ufffd'; \\\\x3cx> caf\\\\xe9"
    """
    if text.isascii() and text.isprintable() and "<" not in text:
        return text
    return "".join(c if " " <= c <= "~" and c != "<" else
                   f"\\x{ord(c):02x}" if ord(c) < 0x100 else
                   f"\\u{ord(c):04x}" if ord(c) < 0x10000 else f"\\U{ord(c):08x}" for c in text)


class HealthHandler(_Base):
    reader = False  # readiness checks: counts only, no capture data

    def get(self) -> None:
        answer, failing = _health(self.server)
        if failing:  # captures are answered 503 meanwhile: so is the check
            self.set_status(503)  # (curl -f, a load balancer, a probe: a 200 said "up")
        self.finish(json.dumps(answer))


def _health(server: Any) -> tuple[dict[str, Any], bool]:
    """What ``/_hooklab/health`` answers for ``server``, and whether it is failing (503).

    Never raises for the store: a database file deleted or replaced under the running lab
    made ``count()`` raise, and the check answered 500 with a traceback in the log where it
    should say why captures are not stored. Its words name no path (anyone on the port may ask).
    """
    from ..store import write_error

    st = server.store
    failing = getattr(st, "failing", None)
    gone = getattr(st, "file_problem", lambda: None)()  # (writes would go to a lost file)
    unreadable = None
    try:
        captures, last_id = st.count(), st.stored_last_id()
    except Exception as exc:  # noqa: BLE001 - said in the answer, not a 500
        captures = last_id = None
        unreadable = f"the database cannot be read ({write_error(exc)})"
    problem = gone or (failing[0] if failing is not None else None) or unreadable
    answer: dict[str, Any] = {
        "status": "ok" if problem is None else "failing",
        "version": __version__,
        "captures": captures,
        "last_id": last_id,
        "port": server.port,
        "max_body": server.max_body,
        # requests refused or not stored, by status (413, 400, 503 busy or failing...)
        "refused": {str(k): v for k, v in sorted(server.refused.items())},
    }
    retention = getattr(st, "retention_failing", None)  # (captures still stored: no 503)
    if retention is not None:
        answer["retention_error"] = {"error": retention[0], "since": retention[1].isoformat()}
    noticed = _noticed(st, problem is not None and failing is None)
    if problem is not None:
        since = failing[1] if failing is not None else noticed
        answer["error"], answer["since"] = problem, since.isoformat() if since else None
    return answer, problem is not None


#: when a problem only a look at the file shows (gone, unreadable) was first seen, per store
_NOTICED: weakref.WeakKeyDictionary[Any, datetime] = weakref.WeakKeyDictionary()


def _noticed(store: Any, problem: bool) -> datetime | None:
    if not problem:
        _NOTICED.pop(store, None)  # (a later one is a new episode)
        return None
    return _NOTICED.setdefault(store, datetime.now(timezone.utc))


def _shown(store: Any, cid: int) -> Any:
    """Capture ``cid`` of ``store`` as the API shows it (``store.shown``), read on a worker:
    ``None`` if there is none."""
    return store.shown(store.get(cid))


def _estimate(cap: Any, with_body: bool) -> int:
    """A lower bound of a capture's JSON size: base64 + text of the body, headers, URL."""
    heads = sum(len(k) + len(v) + 8 for k, v in cap.headers)
    return heads + 2 * len(cap.url) + 512 + (cap.size * 7 // 3 if with_body else 0)


class CapturesHandler(_Base):
    #: what the captures API takes besides the filters (hooklab.filters.FILTER_KEYS)
    PARAMETERS = ("token", "limit", "body")  # (since is one of the filters' keys)

    async def get(self) -> None:
        wrong = unknown_parameter(self.request.query_arguments, (*self.PARAMETERS, *FILTER_KEYS))
        if wrong:
            raise web.HTTPError(400, reason=wrong)
        args = self.request.query_arguments
        try:  # since is this API's cursor (a capture id); every other filter as everywhere,
            # each value exactly as sent (query_texts: no spaces stripped, no control
            # characters replaced), so the page holds what lab.query(**filters) answers
            filters = from_query(lambda k: None if k == "since" else query_texts(args, k) or None,
                                 provider_check=self.server.store.provider_check)
            since = bound("since", query_text(args, "since", "0"))
            limit_text = query_text(args, "limit", str(_MAX_LIMIT))
            with_body = wants_body(args)
        except ValueError as exc:
            raise web.HTTPError(400, reason=str(exc)) from None
        if not isinstance(since, int):  # a time, as the other filters take it: those after it
            filters, since = {**filters, "since": since}, 0
        if since < 0:  # (capture_id keeps it inside SQLite's integers)
            raise web.HTTPError(400, reason="since must be a capture id (0 or more)")
        # a page holds at most _MAX_LIMIT captures: a larger limit (any number of digits:
        # 10**20 was "limit must be an integer") is cut to it, as the README says
        digits = limit_text.lstrip("0") if _DIGITS.fullmatch(limit_text) else None
        if not digits:  # (a page of none would say "more" and never move on)
            raise web.HTTPError(400, reason=f"limit must be an integer from 1 to {_MAX_LIMIT} "
                                            f"(a larger one is cut to {_MAX_LIMIT})")
        limit = _MAX_LIMIT if len(digits) > len(str(_MAX_LIMIT)) else min(int(digits), _MAX_LIMIT)
        budget = int(getattr(self.server, "api_page_bytes", DEFAULT_PAGE_BYTES))
        store = self.server.store
        n = size = 0
        cursor = since

        where = {"since": since, **filters}  # (a time given as since= is the filter's since)

        def page_ids() -> list[int]:  # one query for the page's ids, off the server's loop: a
            for rows in store.iter_rows("1", chunk=limit + 1, **where):
                return [r[0] for r in rows]  # search=a query per capture held every webhook
            return []  # (seconds for a one-letter search of big bodies)

        loop = asyncio.get_running_loop()
        ids = await loop.run_in_executor(None, page_ids)
        more = len(ids) > limit
        # one capture at a time, each written out before the next is read: memory stays near
        # one capture's JSON whatever the stored bodies weigh, and a page near the budget.
        # Read and encoded on a worker (ENCODING): a 16 MiB body is ~123 MB of JSON, seconds
        # of the loop that answers every webhook
        for cid in ids[:limit]:
            # (shown: a secret given after it was stored hidden, on the worker too: a
            # capture of large header fields took a scrub of milliseconds per secret given)
            cap = await loop.run_in_executor(None, _shown, store, cid)
            if cap is None:  # (deleted meanwhile: retention, clear())
                continue
            if n and size + _estimate(cap, with_body) > budget:
                more = True  # it goes on the next page
                break
            encode = partial(capture_json, cap, body=with_body)
            part = encode() if cap.size <= SLICE else await loop.run_in_executor(ENCODING, encode)
            if n and size + len(part) > budget:
                more = True
                break
            self.write(b"," if n else b'{"captures": [')
            self.write(part)
            await self.flush()
            n += 1
            size += len(part) + 1
            cursor = cap.id
            del cap, part
        if not n:
            self.write(b'{"captures": [')
        self.finish(b'], "last_id": ' + str(cursor).encode() + b', "more": '
                    + (b"true" if more else b"false") + b"}")


class CaptureHandler(_Base):
    async def get(self, cid: str, raw: str | None = None) -> None:
        n = capture_id(cid)
        loop = asyncio.get_running_loop()  # (read and encoded off the loop: see CapturesHandler)
        # (a secret given after it was stored: [secret], on the worker too)
        cap = await loop.run_in_executor(None, _shown, self.server.store, n) if n and n > 0 else None
        if cap is None:
            raise web.HTTPError(404, reason=f"no capture {cid}")
        if raw:
            self.set_header("Content-Type", "application/octet-stream")
            self.set_header("Content-Disposition", f'attachment; filename="capture-{cid}.bin"')
            self.finish(cap.body)
            return
        data, self.etag = await loop.run_in_executor(ENCODING, _with_etag, cap)
        self.finish(data)

    etag: str | None = None

    def compute_etag(self) -> str | None:  # (If-None-Match -> 304 as before)
        return self.etag if self.etag is not None else super().compute_etag()


def _with_etag(cap: Any) -> tuple[bytes, str]:
    """``json.dumps(capture_to_dict(cap))`` as bytes, and the ``Etag`` Tornado would compute
    for it (a SHA-1 of ~123 MB on the loop otherwise)."""
    data = capture_json(cap, compact=False)
    return data, f'"{hashlib.sha1(data).hexdigest()}"'


_STATIC = {"stream.html": "text/html; charset=utf-8", "stream.js": "text/javascript; charset=utf-8"}
_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self';"
    " img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
)


class StaticHandler(_Base):
    """The stream page and its script, from package data; strict CSP (no inline script)."""

    def prepare(self) -> None:
        # the page needs the read token; its script is code from the package, not data
        self.reader = not self.request.path.startswith("/_hooklab/static/")
        super().prepare()

    def get(self, name: str = "stream.html") -> None:
        if name not in _STATIC:
            raise web.HTTPError(404, reason="unknown static file")
        data = resources.files("hooklab").joinpath("static", name).read_bytes()
        self.set_header("Content-Type", _STATIC[name])
        self.set_header("Content-Security-Policy", _CSP)
        self.set_header("Referrer-Policy", "no-referrer")
        self.finish(data)


class PageRedirect(_Base):
    reader = False  # nothing but a redirect, which keeps the query (and so ?token=)

    def get(self) -> None:  # relative, so it also works behind /proxy/<port>/
        query = self.request.query
        self.redirect("_hooklab/" + (f"?{query}" if query else ""), permanent=False)


class RelayCheck(_Base):
    """``GET /_hooklab/relay?challenge=<hex>``: proves to the Jupyter relay that this server is
    the lab that registered a public URL (see :mod:`hooklab.ingress.relay`).

    The answer is ``HMAC-SHA256(relay_nonce, challenge)``: a process that took over a dead lab's
    port cannot compute it (the nonce sits only in the owner-only registry), and the answer to
    one challenge says nothing about another.
    """

    reader = False

    def get(self) -> None:
        challenge = self.get_query_argument("challenge", "")
        if not 32 <= len(challenge) <= 128 or not challenge.isascii() or not challenge.isalnum():
            raise web.HTTPError(400, reason="challenge: 32 to 128 letters or digits")
        nonce = str(getattr(self.server, "relay_nonce", "") or "")
        if not nonce:
            raise web.HTTPError(404, reason="this server takes no relayed requests")
        proof = hmac.new(nonce.encode(), challenge.encode(), hashlib.sha256).hexdigest()
        self.finish(json.dumps({"proof": proof}))


class NotFound(_Base):
    reader = False

    def prepare(self) -> None:
        super().prepare()
        raise web.HTTPError(404, reason="unknown /_hooklab/ endpoint")


def _log_request(handler: web.RequestHandler) -> None:
    """Tornado's access log line, at DEBUG on the ``hooklab.access`` logger, with the path
    only (the query may hold the read token). Not Tornado's ``tornado.access`` at WARNING: a
    kernel prints those into the running cell, so any local process asking without the token
    wrote "401 GET /_hooklab/api/captures" into the notebook."""
    import logging

    req = handler.request
    logging.getLogger("hooklab.access").debug(
        "%d %s %s (%s) %.2fms", handler.get_status(), req.method, req.path, req.remote_ip,
        1000.0 * req.request_time())


def make_api_app(server: Any) -> web.Application:
    """The Tornado application for the reserved prefix (handlers get ``server`` via initialize)."""
    from .stream import StreamHandler

    kw = {"server": server}
    handlers: list[Any] = [
        (r"/_hooklab", PageRedirect, kw),
        (r"/_hooklab/", StaticHandler, kw),
        (r"/_hooklab/static/([\w.]+)", StaticHandler, kw),
        (r"/_hooklab/ws", StreamHandler, kw),
        (r"/_hooklab/health", HealthHandler, kw),
        (r"/_hooklab/relay", RelayCheck, kw),
        (r"/_hooklab/api/captures", CapturesHandler, kw),
        (r"/_hooklab/api/captures/(\d+)(/body)?", CaptureHandler, kw),
    ]
    handlers.append((r"/_hooklab.*", NotFound, kw))
    return web.Application(
        handlers,
        default_handler_class=NotFound,
        default_handler_args=kw,
        websocket_ping_interval=20,
        log_function=_log_request,
    )
