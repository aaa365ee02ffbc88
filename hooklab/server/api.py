"""The ``/_hooklab/`` JSON API served beside the capture paths, for tools and other processes.

- ``GET /_hooklab/health`` -> ``{"status": "ok", "captures": N, "last_id": K, ...}``
- ``GET /_hooklab/api/captures?since=<id>&limit=<n>&bin=<b>&search=<text>...`` -> captures as JSON
  (filters: :mod:`hooklab.filters`)
- ``GET /_hooklab/api/captures/<id>`` -> one capture; ``.../<id>/body`` -> its raw bytes
- ``GET /_hooklab/`` -> a small page showing the live stream (``static/stream.html``)
- ``WS  /_hooklab/ws?since=<id>&bin=<b>&provider=<p>`` -> captures pushed as JSON
  (:mod:`hooklab.server.stream`)
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from tornado import web

from .._version import __version__
from ..capture import capture_to_dict
from ..filters import from_query
from .guard import refuse_host

__all__ = ["make_api_app"]

_MAX_LIMIT = 1000


class _Base(web.RequestHandler):
    def initialize(self, server: Any) -> None:
        self.server = server

    def prepare(self) -> None:
        refuse_host(self, self.server)

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Content-Type-Options", "nosniff")

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.finish(json.dumps({"ok": False, "status": status_code, "error": self._reason}))

    def check_xsrf_cookie(self) -> None:  # read-only JSON API, no cookies involved
        return None


class HealthHandler(_Base):
    def get(self) -> None:
        st = self.server.store
        self.finish(
            json.dumps(
                {
                    "status": "ok",
                    "version": __version__,
                    "captures": st.count(),
                    "last_id": st.last_id,
                    "port": self.server.port,
                    "max_body": self.server.max_body,
                }
            )
        )


class CapturesHandler(_Base):
    def get(self) -> None:
        try:  # since is this API's cursor (a capture id); every other filter as everywhere
            filters = from_query(lambda k: None if k == "since" else self.get_query_argument(k, None))
        except ValueError as exc:
            raise web.HTTPError(400, reason=str(exc)) from None
        try:
            since = int(self.get_query_argument("since", "0"))
            limit = min(int(self.get_query_argument("limit", str(_MAX_LIMIT))), _MAX_LIMIT)
        except ValueError:
            raise web.HTTPError(400, reason="since and limit must be integers") from None
        with_body = self.get_query_argument("body", "1") not in ("0", "false", "no")
        caps = self.server.store.query(since=since, limit=limit, **filters)
        self.finish(
            json.dumps(
                {
                    "captures": [capture_to_dict(c, body=with_body) for c in caps],
                    "last_id": caps[-1].id if caps else since,
                    "more": len(caps) == limit,
                }
            )
        )


class CaptureHandler(_Base):
    def get(self, cid: str, raw: str | None = None) -> None:
        cap = self.server.store.get(int(cid))
        if cap is None:
            raise web.HTTPError(404, reason=f"no capture {cid}")
        if raw:
            self.set_header("Content-Type", "application/octet-stream")
            self.set_header("Content-Disposition", f'attachment; filename="capture-{cid}.bin"')
            self.finish(cap.body)
            return
        self.finish(json.dumps(capture_to_dict(cap)))


_STATIC = {"stream.html": "text/html; charset=utf-8", "stream.js": "text/javascript; charset=utf-8"}
_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self';"
    " img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
)


class StaticHandler(_Base):
    """The stream page and its script, from package data; strict CSP (no inline script)."""

    def get(self, name: str = "stream.html") -> None:
        if name not in _STATIC:
            raise web.HTTPError(404, reason="unknown static file")
        data = resources.files("hooklab").joinpath("static", name).read_bytes()
        self.set_header("Content-Type", _STATIC[name])
        self.set_header("Content-Security-Policy", _CSP)
        self.set_header("Referrer-Policy", "no-referrer")
        self.finish(data)


class PageRedirect(_Base):
    def get(self) -> None:  # relative, so it also works behind /proxy/<port>/
        self.redirect("_hooklab/", permanent=False)


class NotFound(_Base):
    def prepare(self) -> None:
        super().prepare()
        raise web.HTTPError(404, reason="unknown /_hooklab/ endpoint")


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
        (r"/_hooklab/api/captures", CapturesHandler, kw),
        (r"/_hooklab/api/captures/(\d+)(/body)?", CaptureHandler, kw),
    ]
    for extra in getattr(server, "extra_routes", ()):  # e.g. the WebSocket stream
        handlers.append(extra)
    handlers.append((r"/_hooklab.*", NotFound, kw))
    return web.Application(
        handlers,
        default_handler_class=NotFound,
        default_handler_args=kw,
        websocket_ping_interval=20,
    )
