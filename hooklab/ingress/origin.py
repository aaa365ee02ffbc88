"""Where this Jupyter server is for the outside world (the root of ``lab.public_url``).

Two sides share this module. In the Jupyter server, the extension (:mod:`hooklab.serverext`)
feeds every finished request to an :class:`OriginLearner`, which keeps the origin that the
user's own *authenticated* requests show and writes it to the registry. In the kernel,
:func:`public_root` picks, in this order:

1. ``host=`` given to ``public_url``, then ``$HOOKLAB_PUBLIC_URL``;
2. what the platform states: ``$JUPYTERHUB_PUBLIC_URL`` (JupyterHub >= 5 with
   ``c.JupyterHub.public_url`` or subdomains), the origin of an absolute
   ``$JUPYTERHUB_OAUTH_CALLBACK_URL`` (subdomains), the server's ``full_url`` from the Hub API
   (when the server's token may read it; looked up once by the extension),
   ``$JUPYTERHUB_PUBLIC_HUB_URL``, ``$JUPYTERHUB_EXTERNAL_URL``, ``$JUPYTERHUB_HOST``;
3. the origin learnt from the user's browser (or, failing that, from their other authenticated
   requests, e.g. a script with their token behind the same proxy, unless that only showed a
   loopback address); a server without authentication learns nothing, since any request would
   count as the user's;
4. the server's local URL, with a warning saying what to do on this platform.

What a request shows, most trusted first (:func:`request_origin`):

- the browser's own word: ``Origin`` (or ``Referer``) together with ``Sec-Fetch-Site:
  same-origin`` means the browser sent this request to exactly that origin, whatever proxies
  did to ``Host`` on the way. Browsers set ``Sec-Fetch-*`` themselves (page scripts cannot);
  other clients send ``Origin`` too (WebSocket libraries do), so ``Origin`` alone is no sign
  of a browser;
- ``X-Forwarded-Host`` / ``Forwarded: host=`` / ``Host`` with ``X-Forwarded-Proto`` /
  ``Forwarded: proto=`` (first hop, the one the browser reached), the scheme confirmed by a
  ``Referer`` or ``Origin`` naming the same host.

>>> request_origin({"X-Forwarded-Host": "hub.example.org", "X-Forwarded-Proto": "https,http"},
...                host="127.0.0.1:8000", protocol="http")
Seen(origin='https://hub.example.org', by_browser=False)
>>> request_origin({"Referer": "https://hub.example.org/user/ada/lab",
...                 "Sec-Fetch-Site": "same-origin"}, host="10.0.0.7:8888", protocol="http")
Seen(origin='https://hub.example.org', by_browser=True)
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import time
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple
from urllib.parse import quote, urlsplit

__all__ = [
    "OriginLearner", "Seen", "hub_server_url", "loopback", "origin_of", "public_root",
    "request_origin", "request_origins", "server_record", "unused_public_urls",
]  # fmt: skip

_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
_NETLOC = re.compile(rf"(?:{_LABEL}(?:\.{_LABEL})*\.?|\[[0-9A-Fa-f:.]{{2,45}}\])(?::(\d{{1,5}}))?")
_DEFAULT_PORT = {"http": 80, "https": 443}


class Seen(NamedTuple):
    """An origin a request showed; ``by_browser``: stated by the browser itself."""

    origin: str
    by_browser: bool


def _netloc(value: str | None, scheme: str = "") -> str | None:
    """``host[:port]`` lower-cased, the default port of ``scheme`` dropped; None if not one."""
    value = (value or "").strip()
    m = _NETLOC.fullmatch(value) if len(value) <= 260 else None
    if not m:
        return None
    port = m.group(1)
    if port is not None:
        if not 0 < int(port) < 65536:
            return None
        if _DEFAULT_PORT.get(scheme) == int(port):
            value = value[: -len(port) - 1]
    return value.lower()


def _scheme(value: str | None) -> str | None:
    value = (value or "").strip().lower()
    return value if value in _DEFAULT_PORT else None


def _first(value: str | None) -> str:
    return (value or "").split(",")[0].strip()


def _forwarded(value: str | None) -> dict[str, str]:
    """The first element of an RFC 7239 ``Forwarded`` header as a dict."""
    out: dict[str, str] = {}
    for pair in _first(value).split(";"):
        name, eq, v = pair.partition("=")
        if eq:
            out[name.strip().lower()] = v.strip().strip('"')
    return out


def _url_origin(url: str | None) -> tuple[str, str] | None:
    """``(scheme, netloc)`` of an http(s) URL without user info, or None."""
    if not url or url == "null":
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    scheme = _scheme(parts.scheme)
    if not scheme or "@" in parts.netloc:
        return None
    netloc = _netloc(parts.netloc, scheme)
    return (scheme, netloc) if netloc else None


def origin_of(url: str | None) -> str:
    """``scheme://host[:port]`` of an http(s) URL (the default port dropped), or ``""``.

    >>> origin_of("https://hub.example.org:443/user/ada/"), origin_of("ftp://x/"), origin_of("")
    ('https://hub.example.org', '', '')
    """
    got = _url_origin(url)
    return f"{got[0]}://{got[1]}" if got else ""


def request_origin(
    headers: Mapping[str, str], *, host: str, protocol: str
) -> Seen | None:
    """The public origin one request shows (see the module doc), or None if it shows none.

    ``headers`` is case-insensitive (a Tornado ``HTTPHeaders``; a plain dict must use the
    canonical ``X-Forwarded-Host`` spelling). Only call it for requests that carried the
    user's credentials: any client can write these headers.
    """
    claimed = _url_origin(headers.get("Origin")) or _url_origin(headers.get("Referer"))
    if claimed and (headers.get("Sec-Fetch-Site") or "").strip().lower() == "same-origin":
        return Seen(f"{claimed[0]}://{claimed[1]}", True)
    fwd = _forwarded(headers.get("Forwarded"))
    scheme = (
        _scheme(_first(headers.get("X-Forwarded-Proto")))
        or _scheme(fwd.get("proto"))
        or _scheme(protocol)
        or "http"
    )
    raw_host = _first(headers.get("X-Forwarded-Host")) or fwd.get("host") or host
    netloc = _netloc(raw_host, scheme)
    if netloc is None:
        return None
    if claimed and _netloc(raw_host, claimed[0]) == claimed[1]:
        scheme, netloc = claimed  # the scheme the client used for this very host
    return Seen(f"{scheme}://{netloc}", False)


def _elements(value: str | None, most: int = 8) -> list[str]:
    return [v.strip() for v in (value or "").split(",")[:most] if v.strip()]


def request_origins(headers: Mapping[str, str], *, host: str, protocols: list[str]) -> list[str]:
    """Every origin one request may have been sent to, most likely first: each host it
    names (``X-Forwarded-Host``, ``Forwarded: host=``, then ``Host``) with each scheme
    (``X-Forwarded-Proto``, ``Forwarded: proto=``, then ``protocols``, e.g. what the
    server's connection says), normalised as :func:`origin_of` does; at most 8 values a header.

    Any sender writes these headers: use the list only to pick among origins known by other
    means (those ``public_url`` handed out), never as an origin in itself.

    >>> request_origins({"X-Forwarded-Proto": "https"}, host="A.example:443", protocols=["http"])
    ['https://a.example', 'http://a.example:443']
    """
    forwarded = [_forwarded(v) for v in _elements(headers.get("Forwarded"))]
    hosts = _elements(headers.get("X-Forwarded-Host")) + [f["host"] for f in forwarded if "host" in f]
    hosts.append(host)
    schemes = _elements(headers.get("X-Forwarded-Proto")) + [f["proto"] for f in forwarded if "proto" in f]
    schemes += protocols
    out: list[str] = []
    for raw_host in hosts:
        for raw_scheme in schemes:
            scheme = _scheme(raw_scheme)
            netloc = _netloc(raw_host, scheme) if scheme else None
            if netloc is not None and f"{scheme}://{netloc}" not in out:
                out.append(f"{scheme}://{netloc}")
    return out


class OriginLearner:
    """Keeps the public origin shown by the user's authenticated requests; calls
    ``record(origin, by_browser)`` whenever it changes.

    The browser's word wins: once a browser showed an origin, requests without browser
    headers (a script with the user's token, or the Hub reaching the server directly) no longer
    change it; a later browser request does (the user moved to another address). A request
    without them to a loopback address never replaces an origin that is not one.
    """

    def __init__(self, record: Callable[[str, bool], None],
                 internal: Callable[[str], bool] | None = None) -> None:
        self.record = record
        self.seen: Seen | None = None
        #: whether an origin is the server's own, not a public one (default: loopback or
        #: unspecified addresses; the extension adds the address the server listens on)
        self.internal = internal or loopback

    def observe(
        self, *, authenticated: bool, status: int, headers: Mapping[str, str], host: str,
        protocol: str,
    ) -> Seen | None:  # fmt: skip
        """Feed one finished request; returns what is known afterwards."""
        if not authenticated or not 100 <= status < 400:
            return self.seen
        seen = request_origin(headers, host=host, protocol=protocol)
        if seen is None or seen == self.seen:
            return self.seen
        if self.seen is not None and self.seen.by_browser and not seen.by_browser:
            return self.seen
        if (self.seen is not None and not seen.by_browser and self.internal(seen.origin)
                and not self.internal(self.seen.origin)):
            # a script's request to the server's own loopback address says nothing about the
            # public one (a plain-http hub's browser sends no Sec-Fetch-*: its requests learnt
            # hub.example.org "by request", and one notebook cell asking $JUPYTERHUB_SERVICE_URL
            # replaced it with 127.0.0.1, which public_root then ignored)
            return self.seen
        self.record(seen.origin, seen.by_browser)  # if writing fails, the next request retries
        self.seen = seen
        return seen


async def hub_server_url(
    api_url: str, token: str, server_name: str = "", *, timeout: float = 5.0
) -> str | None:
    """This server's public URL as the Hub's API states it (``full_url``), or None.

    The Hub fills ``full_url`` when it knows its public address (``c.JupyterHub.public_url`` or
    subdomains) and shows it only to tokens allowed to read the server (``read:servers``);
    older hubs do not put it in the environment, so this is their one explicit statement.
    """
    from tornado.httpclient import AsyncHTTPClient

    try:
        response = await AsyncHTTPClient().fetch(
            api_url.rstrip("/") + "/user",
            headers={"Authorization": f"token {token}"},
            request_timeout=timeout, connect_timeout=timeout, raise_error=False,
            follow_redirects=False,
        )  # fmt: skip
        if response.code != 200:
            return None
        model = json.loads(response.body or b"{}")
    except (OSError, ValueError):
        return None
    servers = model.get("servers") if isinstance(model, dict) else None
    server = servers.get(server_name) if isinstance(servers, dict) else None
    full = server.get("full_url") if isinstance(server, dict) else None
    return full if isinstance(full, str) and _url_origin(full) else None


# -- the kernel's side ------------------------------------------------------------------------------
def _root(value: str, base_url: str) -> str | None:
    """``<origin>/<base_url>`` from an origin or a URL (its path ignored), or None."""
    found = _url_origin(value)
    if not found:
        return None
    base = base_url.strip("/")
    return f"{found[0]}://{found[1]}/" + (base + "/" if base else "")


def _stated_root(value: str, base_url: str) -> str | None:
    """The root a user (``host=``, ``$HOOKLAB_PUBLIC_URL``) or the Hub
    (``$JUPYTERHUB_PUBLIC_URL``) states: an origin gets ``base_url`` appended; a URL with a
    path is the full server URL, kept as given (behind a proxy that strips a prefix of its
    own, ``base_url`` is not what senders call). None unless it is an http(s) URL without
    user info, query or fragment.

    >>> _stated_root("https://hub.example.org", "/user/ada/")
    'https://hub.example.org/user/ada/'
    >>> _stated_root("https://H.example.org:443/jupyter", "/")
    'https://h.example.org/jupyter/'
    >>> _stated_root("https://h.example.org/my lab/", "/")
    'https://h.example.org/my%20lab/'
    """
    found = _url_origin(value)
    if not found:
        return None
    parts = urlsplit(value.strip())
    if parts.query or parts.fragment or "?" in value or "#" in value:
        return None
    # (a space or another character a URL cannot hold in its path: percent-encoded, UTF-8;
    # what is already escaped stays as written, a "%" that escapes nothing is "%25")
    path = re.sub(r"%(?![0-9A-Fa-f]{2})", "%25", parts.path.strip("/"))
    path = quote(path, safe="/%!$&'()*+,;=:@~")
    if not path:
        return _root(value, base_url)
    return f"{found[0]}://{found[1]}/{path}/"


def loopback(url: str) -> bool:
    """Whether ``url``'s host is this machine (an IP literal in 127/8 or ::1, localhost, or
    the unspecified 0.0.0.0 / :: a spawner may put in the server's own URL)."""
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address: Any = ipaddress.ip_address(host)
    except ValueError:
        import socket

        try:  # the other spellings of an IPv4 address a client resolves: 127.1, 2130706433
            address = ipaddress.ip_address(socket.inet_aton(host))
        except (OSError, ValueError):
            return False
    if getattr(address, "ipv4_mapped", None) is not None:  # [::ffff:127.0.0.1]
        address = address.ipv4_mapped
    return address.is_loopback or address.is_unspecified


def _platform(env: Mapping[str, str]) -> str:
    if any(env.get(v) for v in ("BINDER_REQUEST", "BINDER_LAUNCH_HOST", "BINDER_REPO_URL")):
        return "binder"
    if env.get("JUPYTERHUB_API_URL") or env.get("JUPYTERHUB_SERVICE_PREFIX"):
        return "jupyterhub"
    return "jupyter"


def _advice(platform: str, base_url: str, local: str, server: Mapping[str, Any] | None) -> str:
    lab = f"{base_url.rstrip('/')}/lab"
    if server is None:
        enable = {
            "binder": "add hooklab to the repository's requirements.txt (its install enables the "
            "extension) and launch the Binder again",
            "jupyterhub": "install hooklab in the environment of the single-user servers (its "
            "install enables the extension; or run `jupyter server extension enable "
            "hooklab.serverext` there), then restart your server from the Hub's control panel",
            "jupyter": "restart Jupyter with `jupyter lab --ServerApp.jpserver_extensions="
            "\"{'hooklab.serverext': True}\"`, or for good: after `pip install hooklab` (which "
            "installs the config file that turns it on) run `jupyter server extension enable "
            "hooklab.serverext`; after an editable install copy "
            "jupyter-config/jupyter_server_config.d/hooklab.json into "
            "`jupyter --config-dir`/jupyter_server_config.d/ (see the README), then restart "
            "Jupyter",
        }[platform]
        return (
            "hooklab: no running Jupyter server has the hooklab extension loaded, so this URL "
            f"will not answer: {enable}."
        )
    head = f"hooklab: the public address of this server is not known yet, so this URL uses {local}"
    if server.get("learns") is False:
        return (
            f"{head}. This Jupyter server runs without authentication, so hooklab does not let "
            "requests tell it its address: set HOOKLAB_PUBLIC_URL=https://your.host (or pass "
            "host=), or give the server a token or password."
        )
    if platform == "binder":
        return (
            f"{head}, which is not reachable from outside. Open this Binder in your browser (the "
            f"tab with {lab}): hooklab learns the address from your own requests; then call "
            "public_url again. Or pass host='https://...' with the address in your browser's bar."
        )
    if platform == "jupyterhub":
        return (
            f"{head}, the server's address behind the Hub's proxy. Open {lab} in your browser "
            "through the Hub: hooklab learns the address from your own logged-in requests; then "
            "call public_url again. Or set HOOKLAB_PUBLIC_URL=https://your.hub (or pass host=). "
            "A Hub admin can state it for everyone: c.JupyterHub.public_url = "
            "'https://your.hub' (Zero to JupyterHub: hub.config.JupyterHub.public_url in the "
            "Helm values; The Littlest JupyterHub: a .py file in "
            "/opt/tljh/config/jupyterhub_config.d/, then `sudo tljh-config reload hub`)."
        )
    return (
        f"{head}. Open this notebook in your browser (hooklab learns the address from your own "
        "requests) and call public_url again, or set HOOKLAB_PUBLIC_URL=https://your.host (or "
        "pass host=). A laptop is not reachable from the internet at all: use "
        "hooklab.ingress.tunnel(lab, bin) there."
    )


def unused_public_urls(base_url: str, env: Mapping[str, str] | None = None) -> str | None:
    """What is wrong with a ``$HOOKLAB_PUBLIC_URL`` / ``$JUPYTERHUB_PUBLIC_URL`` that is set
    but no server URL (:func:`public_root` passes it over), for a warning; None if nothing.

    >>> unused_public_urls("/", {"HOOKLAB_PUBLIC_URL": "https://h.example.org/?x=1"})
    "$HOOKLAB_PUBLIC_URL ('https://h.example.org/?x=1') is not used: it is no http(s) server URL without user info, query or fragment"
    >>> unused_public_urls("/", {"HOOKLAB_PUBLIC_URL": "https://h.example.org/jupyter"}) is None
    True
    """
    from ..credentials import scrubbed_url  # (a token in its query is not shown)

    env = os.environ if env is None else env
    said = [f"${var} ({scrubbed_url(env[var].strip())!r}) is not used: it is no http(s) server URL without "
            "user info, query or fragment" for var in ("HOOKLAB_PUBLIC_URL", "JUPYTERHUB_PUBLIC_URL")
            if (env.get(var) or "").strip() and not _stated_root(env[var], base_url)]
    return "; ".join(said) or None


def public_root(
    base_url: str, server: Mapping[str, Any] | None, env: Mapping[str, str] | None = None
) -> tuple[str, str | None]:
    """``(root ending in '/', warning or None)``: where ``<base_url>`` lives for the outside
    world (the order is in the module doc). ``server`` is this Jupyter server's registry entry."""
    env = os.environ if env is None else env
    for var in ("HOOKLAB_PUBLIC_URL", "JUPYTERHUB_PUBLIC_URL"):
        root = _stated_root(env.get(var) or "", base_url)
        if root:
            return root, None
    callback = (env.get("JUPYTERHUB_OAUTH_CALLBACK_URL") or "").strip()
    subdomains = _url_origin(callback) is not None
    facts = [callback, (server or {}).get("hub_url") or ""]
    facts += [env.get(v) or "" for v in ("JUPYTERHUB_PUBLIC_HUB_URL", "JUPYTERHUB_EXTERNAL_URL")]
    if not subdomains:  # with subdomains this is the Hub's host, not this server's
        facts.append(env.get("JUPYTERHUB_HOST") or "")
    for value in facts:
        root = _root(value, base_url)
        if root:
            return root, None
    learnt = _root((server or {}).get("origin") or "", base_url)
    by = (server or {}).get("origin_by")
    if learnt and (by == "browser" or (by != "internal" and not loopback(learnt))):
        return learnt, None  # a script's loopback request (the server's own address) says nothing
    local_url = str((server or {}).get("url") or "http://localhost:8888/")
    local = _root(local_url, base_url) or "http://localhost:8888/"
    note = _advice(_platform(env), base_url, local.rstrip("/"), server)
    return local, note


def server_record(pid: str, path: str | None, **fields: Any) -> None:
    """Merge ``fields`` (and a fresh ``updated``) into server ``pid``'s registry entry."""
    from .registry import update_registry

    fields["updated"] = time.time()
    update_registry(lambda reg: reg["servers"].setdefault(pid, {}).update(fields), path)
