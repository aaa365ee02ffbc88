"""Who may read: the DNS-rebinding guard for the ``/_hooklab/`` API, page and stream.

A web page can make a browser resolve its own name to 127.0.0.1 (public names such as
``127.0.0.1.nip.io`` do so by design; DNS rebinding makes any name do it) and then read whatever a
local server answers. A name's spelling therefore proves nothing: a Host is local only if it is

- an IP literal in 127.0.0.0/8 or ``::1`` (with or without a port, IPv6 in brackets),
- the exact address the server is bound to,
- ``localhost`` or a name under ``.localhost`` (browsers never send those to DNS), or
- a name the user listed in ``HookLab.allowed_hosts`` (``"*"`` allows any).

>>> class S: host, allowed_hosts = "127.0.0.1", ()
>>> [host_allowed(S, h) for h in ("127.0.0.1:8765", "[::1]:80", "app.localhost", "127.0.0.1.nip.io")]
[True, True, True, False]

Capture paths are not guarded: senders may use any name.
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from tornado import web

__all__ = ["host_allowed", "origin_allowed", "refuse_host", "split_host"]


def split_host(host_header: str) -> str | None:
    """The name part of a ``Host`` value, lower case, without port or brackets (None: malformed).

    >>> split_host("[::1]:8765"), split_host("Example.COM:80"), split_host("a:b:c")
    ('::1', 'example.com', None)
    """
    host = host_header.strip().lower()
    if host.startswith("["):
        end = host.find("]")
        if end < 0 or (host[end + 1 :] and not host[end + 1 :].startswith(":")):
            return None
        name, port = host[1:end], host[end + 2 :] if host[end + 1 :] else ""
    elif host.count(":") > 1:
        return None  # a bare IPv6 address is not a valid Host; refuse rather than guess
    else:
        name, _, port = host.partition(":")
    if port and not port.isdigit():
        return None
    return name


def _loopback_literal(name: str) -> bool:
    try:
        return ipaddress.ip_address(name).is_loopback  # strict: no octal, hex or integer forms
    except ValueError:
        return False


def host_allowed(server: Any, host_header: str | None) -> bool:
    """True if a request with this ``Host`` may read captures (see the module docstring)."""
    if host_header is None:
        return True  # HTTP/1.0 without Host: not a browser
    allowed = {h.lower().rstrip(".") for h in getattr(server, "allowed_hosts", ()) or ()}
    if "*" in allowed:
        return True
    name = split_host(host_header)
    if not name:
        return False
    bound = str(getattr(server, "host", "") or "").lower().strip("[]")
    return (
        _loopback_literal(name)
        or name == "localhost"
        or name.endswith(".localhost")
        or (name == bound and bound not in ("", "0.0.0.0", "::"))
        or name in allowed
    )


def origin_allowed(server: Any, origin: str, host_header: str | None) -> bool:
    """A browser ``Origin`` may open the stream if it is the page's own local host."""
    allowed = getattr(server, "stream_origins", ()) or ()
    if origin in allowed or "*" in allowed:
        return True
    netloc = urlsplit(origin).netloc.lower()
    return bool(netloc) and netloc == (host_header or "").lower() and host_allowed(server, netloc)


def refuse_host(handler: web.RequestHandler, server: Any) -> None:
    """Raise 403 unless the request's Host passes :func:`host_allowed`."""
    if not host_allowed(server, handler.request.headers.get("Host")):
        raise web.HTTPError(
            403,
            reason="Host not allowed (DNS-rebinding protection); add it with "
            "%config HookLab.allowed_hosts = ['name']",
        )
