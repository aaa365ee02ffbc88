"""The public webhook relay: ``<base_url>hooklab/in/<key>/<path>`` -> the kernel's lab.

Used by the Jupyter server extension (:mod:`hooklab.serverext`) and by :func:`hooklab.ingress.tunnel`.
A request is relayed to ``http://127.0.0.1:<port>/<bin>/<path>`` of the kernel that registered
the key, and the answer comes back byte for byte; the lab stores the header fields as this
server received them (listed under the relay's proof: :func:`hooklab.server.guard.relayed_url`),
not what the relay's HTTP client sends. ``Cookie`` and any ``token`` query parameter are
never forwarded. ``Authorization`` (on a Jupyter server it may be the user's Jupyter or
JupyterHub token) is neither forwarded as a header nor listed: it reaches the lab sealed under
the lab's nonce (:data:`hooklab.server.guard.RELAY_AUTHORIZATION`) for the bin's checks (Okta,
Auth0, Event Grid, Basic auth, monday.com's JWT), and the lab stores it only where it is the
bin's credential: the secret as ``[secret]``, a JWT that verified with it as sent (see
:meth:`hooklab.signatures.book.SecretBook.apply`). Bodies over the lab's limit get 413 (read
and dropped first, within bounds, so a proxy in front passes the 413 on), bodies on their way
together past ``MAX_IN_FLIGHT`` 503; unknown keys get 404, a dead kernel 502. Port and bin come
only from the registry file.

The sender controls the path, the headers and the body, so: a dot segment in any spelling gets
400 (:func:`hooklab.outbound.forward.has_dot_segment`); ``X-Forwarded-*`` headers are this
relay's own, never the sender's (``X-Forwarded-For``: the chain that came, then this relay's
peer as its socket says, not as ``X-Real-IP`` says under Jupyter's ``trust_xheaders``;
``-Proto``: the public origin's scheme, else this connection's); and before each request the
relay checks that the process listening on the port is the lab that registered the key (a
challenge answered with the lab's secret nonce at ``/_hooklab/relay``), so a dead kernel's
port taken over by another process gets nothing (502).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from tornado import web
from tornado.httpclient import HTTPClientError, HTTPRequest, HTTPResponse
from tornado.httputil import HTTPHeaders
from tornado.ioloop import IOLoop
from tornado.iostream import SSLIOStream, StreamClosedError
from tornado.simple_httpclient import HTTPTimeoutError, SimpleAsyncHTTPClient
from tornado.tcpclient import TCPClient

from ..outbound.forward import has_dot_segment
from .registry import ROUTE, file_stamp, key_id, pid_alive, read_registry, registry_path

try:
    from jupyter_server.auth.decorator import allow_unauthenticated
except ImportError:  # relay used by ingress.tunnel() in a kernel without jupyter_server

    def allow_unauthenticated(method: Any) -> Any:
        method.__allow_unauthenticated = True
        return method


__all__ = ["BODY_SECONDS", "DRAIN_BYTES", "DRAIN_IDLE", "DRAIN_SECONDS", "MAX_IN_FLIGHT",
           "STALL_SECONDS", "RelayHandler", "Target", "relay_rules"]

#: request bodies all requests through one relay (the Jupyter server's, a tunnel's) may hold
#: at once, counted as they arrive (one request of its lab's ``max_body`` always fits); past
#: it, 503 with Retry-After: a body is held in the Jupyter server's memory until the lab
#: answers, and eight connections each sending most of 16 MiB and stalling grew it by 105 MiB
MAX_IN_FLIGHT = 64 * 1024 * 1024
#: a refused request's body (413, 503, an unknown key...) is read and dropped before the
#: answer, so a proxy in front (JupyterHub's configurable-http-proxy) sees it: closing with
#: the body unread broke the proxy's upload, and it answered 503 of its own. At most this many
#: bytes, none arriving for ``DRAIN_IDLE`` seconds ends it, and ``DRAIN_SECONDS`` in all; then
#: the answer comes at once and the connection closes, as before
DRAIN_BYTES = 64 * 1024 * 1024
DRAIN_IDLE = 2.0
DRAIN_SECONDS = 30.0
#: a body still not complete this long after its head gets 408 (what it held is freed)
BODY_SECONDS = 60.0
#: when a body does not fit in :data:`MAX_IN_FLIGHT`, the bodies with no byte for this long
#: make room first (408, as the capture server's stalled uploads): a few uploads that stop
#: held the whole budget for BODY_SECONDS, and every webhook meanwhile got 503
STALL_SECONDS = 2.0
_RETRY_AFTER = "5"

_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
    "transfer-encoding", "upgrade", "proxy-connection", "content-length", "expect",
}  # fmt: skip
#: never passed on, nor listed for the lab to store: the Jupyter user's session, and the
#: credential a sender gave a proxy on its way (a hop's, never the webhook's); Authorization
#: reaches the lab sealed (see _outgoing_headers), for the bin's checks only
_PRIVATE = {"cookie", "authorization", "x-xsrftoken", "x-csrftoken", "proxy-authorization"}
_RESPONSE_DROP = _HOP | {"set-cookie", "server", "date", "content-security-policy"}
_LOOPBACK = ("127.0.0.1", "::1", "localhost")
_SAFE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class Target:
    """Where one key leads: always ``http://<loopback host>:<port>/<bin>/...``."""

    host: str
    port: int
    bin: str
    max_body: int
    pid: int
    #: the lab's relay nonce: the relay checks the lab knows it before each request
    nonce: str = ""
    #: the public origin ``public_url`` gave out for this key last ("" if it was a guess)
    origin: str = ""
    #: every public origin ``public_url`` gave this key out under: a request whose host and
    #: scheme name one of them is relayed with that one (see RelayHandler._public_origin)
    origins: tuple[str, ...] = ()


class _InFlight:
    """Bytes of request bodies held by one relay's requests together (see :data:`MAX_IN_FLIGHT`),
    and the requests that hold some."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0
        self.holders: set[RelayHandler] = set()

    def make_room(self, now: float) -> None:
        """Refuse (408) every body holding bytes that got none for :data:`STALL_SECONDS` and
        is not complete (a whole body waiting for the lab's answer has not stalled: the lab
        may have stored it, and a 408 would make its sender send it again)."""
        for h in [h for h in self.holders if not h.body_done and now - h.last_byte >= STALL_SECONDS]:
            h._stalled()


class _Gone(Exception):
    """The key is known but the kernel that owns it is gone (-> 502)."""


def registry_resolver(path: str | None = None) -> Callable[[str], Target | None]:
    """Look keys up in the registry file, re-reading it only when it changes."""
    cache: dict[str, Any] = {"stamp": None, "keys": {}}

    def resolve(key: str) -> Target | None:
        p = path or registry_path()
        stamp = file_stamp(p)
        if stamp != cache["stamp"]:
            cache["keys"] = read_registry(p)["keys"] if stamp else {}
            cache["stamp"] = stamp
        entry = cache["keys"].get(key_id(key))
        if not isinstance(entry, dict):
            return None
        try:
            target = Target(
                str(entry.get("host", "127.0.0.1")), int(entry["port"]), str(entry["bin"]),
                int(entry.get("max_body") or 0), int(entry.get("pid") or 0),
                str(entry.get("nonce") or ""), str(entry.get("origin") or ""),
                _origins(entry.get("origins")),
            )  # fmt: skip
        except (KeyError, TypeError, ValueError):
            return None
        if target.host not in _LOOPBACK or not 0 < target.port < 65536 or not _bin_ok(target.bin):
            return None
        if not pid_alive(target.pid):
            raise _Gone
        return target

    return resolve


def _origins(value: Any) -> tuple[str, ...]:
    """The origins of a registry entry's ``origins`` (anything else left out)."""
    from .origin import origin_of

    found = value if isinstance(value, list) else []
    return tuple(o for o in found[:64] if isinstance(o, str) and o and origin_of(o) == o)


def _bin_ok(b: str) -> bool:
    return bool(b) and "/" not in b and b not in (".", "..") and not b.startswith("_hooklab")


def _peer(connection: Any) -> str:
    """The address of whoever holds this TCP connection to the relay (the proxy in front, or
    the sender itself), read from the socket; ``"unknown"`` (RFC 7239) on a Unix socket."""
    sock = getattr(getattr(connection, "stream", None), "socket", None)
    try:
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            return str(sock.getpeername()[0])
    except OSError:  # (closed meanwhile)
        pass
    return "unknown"


def _scheme(request: Any) -> str:
    """``https`` if this very connection is TLS, else ``http`` (whatever headers say)."""
    return "https" if isinstance(getattr(request.connection, "stream", None), SSLIOStream) else "http"


class _Tracking(TCPClient):
    """The relay's connector to the lab: it remembers the connections it opened, so that a
    request whose sender hung up can close its own (:meth:`RelayHandler.on_connection_close`)."""

    def __init__(self, client: SimpleAsyncHTTPClient) -> None:
        super().__init__(resolver=client.resolver)
        self.streams: list[Any] = []

    async def connect(self, *args: Any, **kwargs: Any) -> Any:
        stream = await super().connect(*args, **kwargs)
        self.streams.append(stream)
        return stream


@web.stream_request_body
class RelayHandler(web.RequestHandler):
    """Relays ``<prefix><key>/<path>`` to the lab that registered ``key`` (see module doc)."""

    SUPPORTED_METHODS = ("GET", "HEAD", "POST", "DELETE", "PATCH", "PUT", "OPTIONS")

    def initialize(
        self,
        prefix: str,
        resolve: Callable[[str], Target | None],
        max_body: int = 64 * 1024 * 1024,
        timeout: float = 60.0,
        origin: Callable[[], str] | None = None,
        in_flight: _InFlight | None = None,
    ) -> None:
        self.prefix = prefix
        self.resolve = resolve
        #: the public origin senders call, where the relay knows it (a tunnel's); else the
        #: request's own scheme and Host, as the Jupyter server sees them
        self.origin = origin
        self.limit = max_body
        self.timeout = timeout
        self.chunks: list[bytes] = []
        self.size = 0
        self.target: Target | None = None
        #: shared by all requests of this relay (relay_rules makes one)
        self.in_flight = in_flight if in_flight is not None else _InFlight(MAX_IN_FLIGHT)
        self.held = 0  # bytes of the in-flight budget this request holds
        self.length: int | None = None  # Content-Length, if sent
        #: (status, reason, when) once the request is refused: its body is read and dropped
        self.refusal: tuple[int, str, float] | None = None
        self.drained = 0
        self.body_done = False
        self.last_byte = 0.0
        self.timer: object | None = None
        self.upstream: _Tracking | None = None  # while relaying: its connections to the lab
        self.gone = False  # the sender hung up
        #: the sender's method when the relay does not take it (PROPFIND, TRACE...), else "".
        #: Tornado answers such a method 405 before prepare(), before the (even empty) body
        #: is read, and then closes the keep-alive connection without saying so: the Hub's
        #: proxy, reusing it, answered the next delivery with its own 503 page. So the request
        #: goes on as a GET that prepare() refuses with 405, as any other refusal (answered once
        #: whole; a body drained first), its own method back on it for the answer and the log
        self.unrelayed = ""
        if self.request.method not in self.SUPPORTED_METHODS:
            self.unrelayed, self.request.method = str(self.request.method), "GET"
        path = self.request.path
        rest = path[len(prefix) :] if path.startswith(prefix) else ""
        key, slash, tail = rest.partition("/")
        self.key, self.suffix = key, ("/" + tail if slash else "")
        # the key is the credential: Jupyter's request log (warnings for 4xx/5xx) shows it not,
        # also for the 405 Tornado answers before prepare() to a method the relay does not take
        self.request.uri = f"{prefix}<key>{self.suffix}"

    def check_xsrf_cookie(self) -> None:
        """Senders are third parties with no Jupyter cookie: the key is the credential."""

    def set_default_headers(self) -> None:
        for k, v in _SAFE_HEADERS.items():
            self.set_header(k, v)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.set_header("Content-Type", "application/json")
        if status_code == 503:
            self.set_header("Retry-After", _RETRY_AFTER)
        if status_code == 405:  # (RFC 9110 15.5.6: the methods that are taken)
            self.set_header("Allow", ", ".join(self.SUPPORTED_METHODS))
        # a body refused, or not all read (what is left of it is not read): say it, and
        # close once the answer is out (Tornado closes mid-body too, but without saying so);
        # a request without a body is answered once it is whole and keeps its connection
        closing = self._has_body() and (self.refusal is not None or not self.body_done)
        if closing:
            self.set_header("Connection", "close")
        reason = self._reason.replace('"', "'")
        done = self.finish(f'{{"ok": false, "error": "{reason}"}}'.encode())
        if closing:
            connection = self.request.connection
            done.add_done_callback(lambda _: connection.close())

    def prepare(self) -> None:
        try:
            self._admit()
        except web.HTTPError as exc:
            if not self._has_body():
                # answered once the (empty) body is read, in _method: raised here, before it,
                # Tornado closed the keep-alive connection after the answer without saying so,
                # and the Hub's proxy, reusing it, answered the next delivery (a valid one
                # too) with its own 503 page
                self.refusal = (exc.status_code, exc.reason or "", self._now())
                return
            self._refuse(exc.status_code, exc.reason or "")
            return
        if self._has_body():
            self._watch(BODY_SECONDS)

    def _has_body(self) -> bool:
        chunked = "chunked" in self.request.headers.get("Transfer-Encoding", "").lower()
        return chunked or bool(self.length)

    def _admit(self) -> None:
        """Raise the HTTPError that refuses this request, if one does."""
        length = self.request.headers.get("Content-Length")
        if length is not None:
            try:
                self.length = int(length.split(",")[0])
            except ValueError:
                raise web.HTTPError(400, reason="bad Content-Length") from None
        if self.unrelayed:
            raise web.HTTPError(405, reason="the relay takes " + ", ".join(self.SUPPORTED_METHODS))
        key, tail = self.key, self.suffix[1:]
        try:
            target = self.resolve(key) if key else None
        except _Gone:
            raise web.HTTPError(502, reason="the kernel that owned this URL is gone") from None
        if target is None:
            raise web.HTTPError(404, reason="unknown hooklab URL")
        if has_dot_segment("/" + tail):  # "..", "%2e%2e", "..;", "..%2f", "%252e", "..\\"...
            raise web.HTTPError(400, reason="dot segments are not allowed")
        self.target = target
        self.limit = min(self.limit, target.max_body or self.limit)
        if self.length is not None and self.length > self.limit:
            raise web.HTTPError(413, reason=self._too_large())

    def _too_large(self) -> str:
        return f"payload too large (max_body {self.limit})"

    def _refuse(self, status: int, reason: str) -> None:
        """Answer ``status`` once the rest of the body is read and dropped (bounded: see
        :data:`DRAIN_BYTES`), or now if it is known to be longer than that."""
        self._drop_body()
        now = self._now()
        self.refusal, self.last_byte = (status, reason, now), now
        if self.length is not None and self.length - self.size > DRAIN_BYTES:
            self._answer_refusal()
        else:
            self._watch(DRAIN_IDLE)

    def _answer_refusal(self) -> None:
        self._unwatch()
        if self.unrelayed:  # (see initialize: the method as sent, for the answer and the log)
            self.request.method = self.unrelayed
        if self.refusal is not None and not self._finished:
            self.send_error(self.refusal[0], reason=self.refusal[1])

    def data_received(self, chunk: bytes) -> None:
        if self._finished:
            return
        self.size += len(chunk)
        if self.refusal is not None:  # dropped
            self.drained += len(chunk)
            self.last_byte = self._now()
            if self.drained > DRAIN_BYTES:
                self._answer_refusal()
            return
        if self.size > self.limit:
            self._refuse(413, self._too_large())
            return
        budget = self.in_flight
        now = self.last_byte = self._now()
        if budget.held + len(chunk) > max(budget.limit, self.limit):
            budget.make_room(now)
        if budget.held + len(chunk) > max(budget.limit, self.limit):
            self._refuse(503, "the relay is busy: too many request bodies on their way; "
                              "retry later")
            return
        budget.held += len(chunk)
        self.held += len(chunk)
        budget.holders.add(self)
        self.chunks.append(chunk)

    def _drop_body(self) -> None:
        """Forget what this request's body holds of the budget (it will not be relayed)."""
        self.chunks = []
        self._release()

    def _release(self) -> None:
        self.in_flight.held -= self.held
        self.held = 0
        self.in_flight.holders.discard(self)

    def _stalled(self) -> None:
        """No byte of the body for STALL_SECONDS while others need the room: 408, closed."""
        self._unwatch()
        self._drop_body()
        if not self._finished:
            self.send_error(408, reason="the request body stalled: closed to make room")

    def _now(self) -> float:
        return IOLoop.current().time()

    def _watch(self, delay: float) -> None:
        self._unwatch()
        self.timer = IOLoop.current().call_later(delay, self._tick)

    def _unwatch(self) -> None:
        if self.timer is not None:
            IOLoop.current().remove_timeout(self.timer)
            self.timer = None

    def _tick(self) -> None:
        """The body's deadline passed, or (while draining) time to look whether it stalled."""
        self.timer = None
        if self._finished:
            return
        if self.refusal is None:
            self._drop_body()
            self.send_error(408, reason="the request body did not arrive in time")
            return
        now = self._now()
        idle, total = now - self.last_byte, now - self.refusal[2]
        if idle >= DRAIN_IDLE or total >= DRAIN_SECONDS:
            self._answer_refusal()
        else:
            self._watch(min(DRAIN_IDLE - idle, DRAIN_SECONDS - total))

    def on_finish(self) -> None:
        self._unwatch()
        self._release()

    def on_connection_close(self) -> None:
        """The sender hung up: its request to the lab goes too (the lab's capture then says
        what the sender got, 0 for an answer a ``lab.respond`` delay still held)."""
        self.gone = True
        self._unwatch()
        self._drop_body()
        if self.upstream is not None:
            for stream in self.upstream.streams:
                stream.close()
        super().on_connection_close()

    async def _method(self) -> None:
        self._unwatch()  # (the whole body is here)
        self.body_done = True
        if self.refusal is not None:
            self._answer_refusal()
            return
        await self._relay()

    # the key is the credential: Jupyter's authentication must not apply here
    get = head = post = put = patch = delete = options = allow_unauthenticated(_method)

    def compute_etag(self) -> str | None:
        """None: the sender gets the lab's answer, not Tornado's own ``ETag`` of it (a GET
        answered 200 got one, and a GET repeated with ``If-None-Match`` got 304 and no body
        where the lab answered, and stored, 200 with its body; a HEAD the ETag of no body)."""
        return None

    def _outgoing_headers(self, query: str) -> list[tuple[str, str]]:
        """The headers the lab gets; ``query``: the request's query as the lab gets it
        (``token`` stripped: :func:`hooklab.server.guard.strip_token`)."""
        req = self.request
        named = {h.strip().lower() for h in req.headers.get("Connection", "").split(",")}
        out = []  # what the lab reads off the wire: without hop-by-hop fields
        received = []  # what it stores: every field as received (see the RELAY_HEADERS note)
        #: Authorization fields, and how many listed fields came before each: sealed for the
        #: lab's checks only (see the RELAY_AUTHORIZATION note)
        credentials: list[tuple[int, str, str]] = []
        for k, v in req.headers.get_all():
            low = k.lower()
            if low == "authorization" and low not in named:
                credentials.append((len(received), k, v))
            if low in _PRIVATE or low.startswith(("x-forwarded-", "x-hooklab-relay-")):
                continue
            received.append((k, v))
            if low not in _HOP and low not in named:
                out.append((k, v))
        own = []
        # the chain that came (a proxy in front, e.g. the Hub's, appended the sender), then
        # this relay's own peer, from its socket: not req.remote_ip, which Jupyter's
        # trust_xheaders (on in every JupyterHub server) takes from the sender's own X-Real-IP
        prior = req.headers.get("X-Forwarded-For")
        peer = _peer(req.connection)
        own.append(("X-Forwarded-For", f"{prior}, {peer}" if prior else peer))
        # the scheme senders call: the public origin's where it is known, else this very
        # connection's (not req.protocol: trust_xheaders lets a sender's X-Scheme set it)
        known = self._called_origin() or self._known_origin()
        own.append(("X-Forwarded-Proto", known.partition(":")[0] if known else _scheme(req)))
        own.append(("X-Forwarded-Host", req.host))
        # the route, not the key: the key is the credential, and captures end up in exports
        own.append(("X-Forwarded-Prefix", self.prefix.rstrip("/")))
        out += own
        # the URL the sender called (URL-signing providers signed it), with the key, and the
        # proof that this relay sent it: the lab checks both signatures with it, stores it with
        # the key as [key], and never stores these headers. RELAY_HEADERS: the fields as this
        # server received them, which the lab stores instead of what it reads off the wire
        # (Tornado's client adds Content-Type: application/x-www-form-urlencoded to a POST
        # without one, its User-Agent, Connection: close and a Content-Length, and drops
        # Transfer-Encoding), under the same proof
        from ..server import guard  # (on the first relay)

        # (the query as the sender sent it, a token= of its own included: Twilio and Square
        # sign the whole URL; the lab stores the URL without it, see guard.relayed_url)
        url = f"{self._public_origin()}{req.path}" + (f"?{req.query}" if req.query else "")
        if self.target is not None and self.target.nonce:
            listed = guard.relay_headers(received + own)
            out.append((guard.RELAY_URL, url))
            out.append((guard.RELAY_PROOF, guard.relay_proof(self.target.nonce, url)))
            out.append((guard.RELAY_HEADERS, listed))
            out.append((guard.RELAY_HEADERS_PROOF,
                        guard.relay_proof(self.target.nonce, url, listed)))
            # RELAY_AUTHORIZATION: the Authorization fields, never listed (on a Jupyter server
            # one may be the user's Jupyter or JupyterHub token), sealed under the lab's nonce:
            # the lab checks the bin's credential with them (Okta's verification, a token or
            # Basic auth, monday.com's JWT) and stores only the bin's credential (the secret
            # as [secret]); a lab of an older hooklab, which stores a relay field it does not
            # know as sent, stores it sealed
            if credentials:
                out.append((guard.RELAY_AUTHORIZATION,
                            guard.relay_seal(self.target.nonce, url, credentials)))
        return out

    def _public_origin(self) -> str:
        """The origin the sender called: of those ``lab.public_url`` gave this key out under
        (``host=`` and ``$HOOKLAB_PUBLIC_URL`` included), the one this request names
        (:meth:`_called_origin`), else the last one given out, else the one it gives out for
        this server (the extension's ``origin``: a hub's https address even where the proxy
        in front of this server speaks http), else this request's scheme and Host as the
        Jupyter server sees them (never a sender's own X-Forwarded-* claims)."""
        req = self.request
        known = self._called_origin() or self._known_origin()
        return known if known else f"{req.protocol}://{req.host}"

    def _called_origin(self) -> str:
        """Of the origins this key was given out under, the one this request was sent to, as
        its ``Host`` and the proxies' ``X-Forwarded-Host`` / ``-Proto`` / ``Forwarded`` say
        (and this connection's scheme); ``""`` if it names none of them. Anyone can write
        those headers, so they only choose among URLs the user handed out: a forged Host
        never makes a capture verify over a URL that was not given out."""
        t = self.target
        if t is None:
            return ""
        handed = {o for o in (*t.origins, t.origin) if o}
        if not handed:
            return ""
        from .origin import request_origins

        req = self.request
        for seen in request_origins(req.headers, host=req.host,
                                    protocols=[req.protocol, _scheme(req)]):
            if seen in handed:
                return seen
        return ""

    def _known_origin(self) -> str:
        """The public origin of this key or server where it is known (no trailing ``/``), else ``""``."""
        known = (self.target.origin if self.target is not None else "") or (
            self.origin() if self.origin is not None else "")
        return known.rstrip("/")

    async def _relay(self) -> None:
        t = self.target
        if t is None or self._finished:  # already answered (408 while streaming)
            return
        from ..server.guard import strip_token

        query = strip_token(self.request.query)
        host = f"[{t.host}]" if ":" in t.host else t.host
        url = f"http://{host}:{t.port}/{quote(t.bin, safe='')}{self.suffix}"
        url += f"?{query}" if query else ""
        headers = HTTPHeaders()
        for k, v in self._outgoing_headers(query):
            headers.add(k, v)
        body = b"".join(self.chunks)
        self.chunks = []
        method = self.request.method or "GET"
        send_body = body or method in ("POST", "PUT", "PATCH")
        request = HTTPRequest(
            url, method=method, headers=headers, body=body if send_body else None,
            follow_redirects=False, decompress_response=False, allow_nonstandard_methods=True,
            connect_timeout=5.0, request_timeout=self.timeout,
        )  # fmt: skip
        client = SimpleAsyncHTTPClient(force_instance=True, max_body_size=256 * 1024 * 1024)
        client.tcp_client = self.upstream = _Tracking(client)
        try:
            await self._check_lab(client, t, host)
            if self.gone:
                return
            response = await client.fetch(request, raise_error=False)
        except HTTPTimeoutError:
            raise web.HTTPError(504, reason="the lab did not answer in time") from None
        except (OSError, HTTPClientError, StreamClosedError):
            if self.gone:  # (closed by on_connection_close: nobody to answer)
                return
            raise web.HTTPError(502, reason="the lab is not answering (stopped?)") from None
        finally:
            client.close()
            self.upstream = None
        if self._finished or self.gone:  # (answered meanwhile: a timeout of this handler's
            return  # own; or its sender hung up)
        self._answer(response)

    async def _check_lab(self, client: SimpleAsyncHTTPClient, t: Target, host: str) -> None:
        """502 unless the process on ``t.port`` proves it knows the nonce the lab registered."""
        if not t.nonce:
            raise web.HTTPError(502, reason="this URL was registered without a relay nonce")
        challenge = secrets.token_hex(16)
        check = HTTPRequest(
            f"http://{host}:{t.port}/_hooklab/relay?challenge={challenge}", method="GET",
            follow_redirects=False, connect_timeout=5.0, request_timeout=10.0,
        )  # fmt: skip
        answer = await client.fetch(check, raise_error=False)
        want = hmac.new(t.nonce.encode(), challenge.encode(), hashlib.sha256).hexdigest()
        try:
            proof = str(json.loads(answer.body or b"{}").get("proof", ""))
        except (ValueError, AttributeError):
            proof = ""
        if answer.code != 200 or not hmac.compare_digest(proof.encode(), want.encode()):
            raise web.HTTPError(502, reason="the process on the lab's port is not the lab that "
                                            "registered this URL")

    def _answer(self, response: HTTPResponse) -> None:
        # a fetch that failed is no answer of the lab's: Tornado raises most such errors even
        # with raise_error=False, and gives any other as response.error with code 599. A 599
        # the lab itself answered (lab.respond takes 200..599) carries the HTTPClientError
        # Tornado makes from that very response: it goes to the sender as it came
        error = response.error
        if response.code < 100 or (error is not None and getattr(error, "response", None) is not response):
            raise web.HTTPError(502, reason="the lab is not answering (stopped?)")
        self.set_status(response.code, response.reason or "Unknown")
        self.clear_header("Content-Type")
        for k, v in response.headers.get_all():
            if k.lower() not in _RESPONSE_DROP:
                self.add_header(k, v)
        for k, v in _SAFE_HEADERS.items():
            self.set_header(k, v)
        if self.request.method == "HEAD":
            # the length a GET would get, as the lab says it (Tornado would say 0: no body here)
            length = [v.strip() for v in response.headers.get_list("Content-Length")]
            if length and length[0].isdigit() and response.code not in (204, 304):
                self.set_header("Content-Length", length[0])
        elif response.code not in (204, 304):
            self.write(response.body or b"")
        self.finish()


def relay_rules(base_url: str, resolve: Callable[[str], Target | None],
                origin: Callable[[], str] | None = None, *,
                max_in_flight: int = MAX_IN_FLIGHT) -> list[tuple[Any, ...]]:
    """Tornado rules for the relay under ``base_url`` (shared by the extension and tunnels;
    ``origin``: the public origin senders call, where it is known, e.g. a tunnel's;
    ``max_in_flight``: see :data:`MAX_IN_FLIGHT`)."""
    prefix = "/" + base_url.strip("/") + "/" if base_url.strip("/") else "/"
    prefix += ROUTE
    pattern = re.escape(prefix) + r"[^/]*(?:/.*)?"
    shared = {"prefix": prefix, "resolve": resolve, "origin": origin,
              "in_flight": _InFlight(max_in_flight)}
    return [(pattern, RelayHandler, shared)]
