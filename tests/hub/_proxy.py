"""A tiny TLS-terminating reverse proxy on loopback, as in front of a real hub (nginx, traefik,
a cloud load balancer): HTTPS in, HTTP to ``upstream``, ``Host`` kept, and
``X-Forwarded-Proto: https`` / ``X-Forwarded-Host: <the Host the client asked for>`` added.

>>> with TLSProxy("http://127.0.0.1:8000", tmp_path, name="hub.example.test") as proxy:  # doctest: +SKIP
...     page.goto(f"https://hub.example.test:{proxy.port}/hub/login")

Its certificate is self-signed for ``name`` and 127.0.0.1 (``proxy.cert`` for clients to trust).
WebSocket upgrades are not relayed (the tests drive kernels directly, not through the page).
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
import threading
from pathlib import Path
from typing import Any

from tornado import httpclient, web
from tornado.httpserver import HTTPServer
from tornado.httputil import HTTPHeaders
from tornado.netutil import bind_sockets

_HOP = {
    "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
    "upgrade", "content-length",
}  # fmt: skip


def self_signed(folder: Path, name: str) -> tuple[Path, Path]:
    """A throwaway certificate + key for ``name`` and 127.0.0.1 (valid for one day)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName(name), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "proxy-cert.pem", folder / "proxy-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class _Forward(web.RequestHandler):
    SUPPORTED_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")

    def initialize(self, upstream: str, seen: list[tuple[str, str, str]]) -> None:
        self.upstream, self.seen = upstream, seen

    def check_xsrf_cookie(self) -> None:
        pass

    async def _forward(self) -> None:
        req = self.request
        if req.headers.get("Upgrade", "").lower() == "websocket":
            raise web.HTTPError(501, reason="this test proxy does not relay WebSockets")
        headers = HTTPHeaders()
        for k, v in req.headers.get_all():
            if k.lower() not in _HOP and not k.lower().startswith("x-forwarded-"):
                headers.add(k, v)
        headers["X-Forwarded-Proto"] = "https"
        headers["X-Forwarded-Host"] = req.host
        headers["X-Forwarded-For"] = req.remote_ip or ""
        self.seen.append((req.method or "", req.uri or "", req.host))
        method = req.method or "GET"
        response = await httpclient.AsyncHTTPClient().fetch(
            self.upstream + (req.uri or "/"), method=method, headers=headers,
            body=req.body if method in ("POST", "PUT", "PATCH") or req.body else None,
            follow_redirects=False, decompress_response=False, raise_error=False,
            allow_nonstandard_methods=True, request_timeout=60,
        )  # fmt: skip
        if response.code == 599:
            raise web.HTTPError(502)
        self.set_status(response.code, response.reason)
        self._headers = HTTPHeaders()  # exactly the upstream's headers
        for k, v in response.headers.get_all():
            if k.lower() not in _HOP:
                self.add_header(k, v)
        if response.body and method != "HEAD" and response.code not in (204, 304):
            self.write(response.body)

    get = head = post = put = patch = delete = options = _forward


class TLSProxy:
    """Runs in a daemon thread with its own event loop; ``seen`` lists (method, uri, host)."""

    def __init__(self, upstream: str, folder: Path, *, name: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.cert, self.key = self_signed(folder, name)
        self.seen: list[tuple[str, str, str]] = []
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: HTTPServer | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tls-proxy", daemon=True)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.cert, self.key)
        app = web.Application([(r".*", _Forward, {"upstream": self.upstream, "seen": self.seen})])
        sockets = bind_sockets(0, address="127.0.0.1")
        self.port = sockets[0].getsockname()[1]
        self._server = HTTPServer(app, ssl_options=ctx, decompress_request=False)
        self._server.add_sockets(sockets)
        self._ready.set()
        loop.run_forever()
        loop.run_until_complete(self._server.close_all_connections())
        loop.close()

    def __enter__(self) -> TLSProxy:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the TLS proxy did not start")
        return self

    def __exit__(self, *exc: Any) -> None:
        assert self._loop is not None and self._server is not None
        self._loop.call_soon_threadsafe(self._server.stop)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
