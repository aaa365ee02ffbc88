"""Public ingress: a webhook URL that reaches this kernel's lab without the Jupyter token.

>>> os.environ["HOOKLAB_PUBLIC_URL"] = "https://hub.example.org/user/ada/"  # usually detected
>>> lab.public_url("stripe")
'https://hub.example.org/user/ada/hooklab/in/...'

``public_url`` creates an unguessable key (192 bits) and writes ``{key: port, bin, pid,
max_body, nonce}`` to a registry shared with the hooklab Jupyter server extension
(:mod:`hooklab.serverext`): ``hooklab-ingress.json`` in the Jupyter runtime directory, owner-only
(0600), replaced atomically under a lock. Only a hash of each key is stored. The extension
relays ``<base_url>hooklab/in/<key>/<path>`` to ``http://127.0.0.1:<port>/<bin>/<path>``.

The public host comes from what the platform states (``HOOKLAB_PUBLIC_URL``, JupyterHub's
variables and API) or else from the origin the extension saw in the user's own authenticated
browser requests; otherwise the server's local URL is returned with a warning that says what to
do on this platform (see :mod:`hooklab.ingress.origin`). On a laptop, :func:`tunnel` uses ngrok
(``pip install 'hooklab[tunnel]'``) instead.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import os
import secrets
import threading
import time
import warnings
import weakref
from typing import Any

from ..filters import bin_name, bin_read, check_bin
from .origin import _stated_root, origin_of, public_root, unused_public_urls
from .registry import (
    REGISTRY_NAME,
    ROUTE,
    forget,
    key_id,
    pid_alive,
    read_registry,
    registry_path,
    update_registry,
)

__all__ = [
    "REGISTRY_NAME",
    "close_tunnels",
    "key_id",
    "public_url",
    "read_registry",
    "refresh",
    "register",
    "registry_path",
    "tunnel",
    "unregister",
    "update_registry",
]

_LOOPBACK = ("127.0.0.1", "::1", "localhost")
_KEYS: weakref.WeakKeyDictionary[Any, dict[str, str]] = weakref.WeakKeyDictionary()
_STATE: dict[str, bool] = {}
_MINE: dict[str, str] = {}  # key id -> registry path, for keys registered by this process
_ORIGINS: dict[str, str] = {}  # key id -> the public origin public_url gave out for it last
#: key id -> every public origin public_url gave a URL of it out under (oldest first, at most
#: _MOST_ORIGINS): the relay names the one its sender called, not only the last one
_HANDED_OUT: dict[str, list[str]] = {}
_MOST_ORIGINS = 16
#: lab -> {key id: relay target} of its ngrok tunnels (see :func:`tunnel`)
_TUNNELED: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()


# -- keys ---------------------------------------------------------------------------------------
def _check_bin(bin: str) -> str:
    # a name whose bin (escapes undone, as a capture's) no public URL takes is refused as
    # such first: check_bin's advice for "_hooklab/api" ("write '_hooklab'") or "%2e%2e"
    # ("write '..'") named a bin refused here next; the relay takes no bin with a "/" inside
    first = bin_read(bin_name(bin)) if isinstance(bin, str) else "?"
    if not first or first in (".", "..") or first.startswith("_hooklab") or "/" in first:
        raise ValueError(f"not a bin name: {bin!r} (one path segment, not _hooklab*, . or .., "
                         "no / inside)")
    return check_bin(bin)  # (one path segment, as every per-bin call reads a bin)


def register(lab: Any, bin: str, *, origin: str | None = None) -> str:
    """Register (or refresh) ``bin`` of the running ``lab``; returns its key (stable per lab/bin).

    ``origin``: the public origin :func:`public_url` gave out for it (kept for the key, so the
    relay checks signatures against the URL a provider was given; ``""``: not known). Every
    origin a key was given out under is kept: a delivery to any of them is relayed with the
    URL its sender called (the request's host and scheme pick one of them, never another)."""
    b = _check_bin(bin)
    if lab.bound_port is None:
        raise RuntimeError("this lab is not serving; call lab.start() first")
    keys = _KEYS.setdefault(lab, {})
    key = keys.get(b) or secrets.token_urlsafe(24)
    host = lab.host if lab.host in _LOOPBACK else "127.0.0.1"
    server = getattr(lab, "server", None)
    entry = {
        "host": host,
        "port": int(lab.bound_port),
        "bin": b,
        "pid": os.getpid(),
        "max_body": int(getattr(server, "max_body", 0) or lab.max_body),
        # the relay checks the process on the port knows it (the file is owner-only)
        "nonce": str(getattr(server, "relay_nonce", "") or ""),
        "created": time.time(),
    }
    kid = key_id(key)
    if origin is not None:
        _ORIGINS[kid] = origin
        handed = _HANDED_OUT.setdefault(kid, [])
        if origin:  # (given out again: the newest, the last one dropped when there are many)
            if origin in handed:
                handed.remove(origin)
            handed.append(origin)
            del handed[:-_MOST_ORIGINS]
    entry["origin"] = _ORIGINS.get(kid, "")
    entry["origins"] = list(_HANDED_OUT.get(kid, []))
    path = _MINE.get(kid) or registry_path()
    update_registry(lambda reg: reg["keys"].__setitem__(kid, entry), path)
    if not _MINE:  # the first key of this process: withdraw all of them when it exits
        _at_exit()
    if b not in keys:
        keys[b] = key
        weakref.finalize(lab, _forget, [kid])
    _MINE[kid] = path
    return key


def _at_exit() -> None:
    # registered on first use, not on import: the Jupyter server process imports the relay from
    # this package and must not inherit a kernel's exit hook
    if not _STATE.get("atexit"):
        atexit.register(unregister)
        _STATE["atexit"] = True


def _forget(ids: list[str]) -> None:
    """Withdraw keys from the registry each was written to (not today's $JUPYTER_RUNTIME_DIR)."""
    by_path: dict[str, list[str]] = {}
    for kid in ids:
        if kid in _MINE:
            by_path.setdefault(_MINE.pop(kid), []).append(kid)
    for path, some in by_path.items():
        forget(some, path)


def unregister(lab: Any = None, bin: str | None = None) -> None:
    """Withdraw public URLs: of ``lab`` (one ``bin`` or all), or of this whole process.

    Call it from ``HookLab.stop()`` so a stopped lab answers 404 instead of 502.
    """
    if lab is None:
        ids = sorted(_MINE)
    else:
        keys = _KEYS.get(lab, {})
        names = [bin.strip("/")] if bin is not None else list(keys)
        ids = [key_id(keys.pop(n)) for n in names if n in keys]
        if bin is None:  # the lab's tunnels end with it
            for kid in _TUNNELED.pop(lab, {}):
                if _TUNNEL is not None:
                    _TUNNEL.targets.pop(kid, None)
    if ids:
        _forget(ids)


def withdraw(lab: Any) -> None:
    """Take ``lab``'s public URLs off the relay (404) but keep their keys, so that
    :func:`refresh` after the lab serves again brings back the same URLs."""
    ids = [key_id(k) for k in _KEYS.get(lab, {}).values()]
    if ids:
        _forget(ids)
    if _TUNNEL is not None:
        for kid in _TUNNELED.get(lab, {}):
            _TUNNEL.targets.pop(kid, None)


def refresh(lab: Any) -> None:
    """Point the lab's public URLs at its current port, limit and nonce (after a restart on a
    new port, or a change of ``lab.max_body``)."""
    if lab.bound_port is not None:
        for b in list(_KEYS.get(lab, {})):
            register(lab, b)
        tunneled = _TUNNELED.get(lab, {})
        server = getattr(lab, "server", None)
        for kid, target in list(tunneled.items()):
            tunneled[kid] = dataclasses.replace(
                target, port=int(lab.bound_port),
                max_body=int(getattr(server, "max_body", 0) or lab.max_body),
                nonce=str(getattr(server, "relay_nonce", "") or ""),
            )
            if _TUNNEL is not None:
                _TUNNEL.targets[kid] = tunneled[kid]



# -- URLs ----------------------------------------------------------------------------------------
def _server_entry(reg: dict[str, Any]) -> dict[str, Any] | None:
    servers = reg["servers"]
    for var in ("HOOKLAB_INGRESS_SERVER", "JPY_PARENT_PID"):
        pid = os.environ.get(var, "")
        if pid in servers and pid_alive(pid):
            return servers[pid]
    alive = [v for k, v in servers.items() if pid_alive(k)]
    alive.sort(key=lambda s: s.get("updated", 0))
    return alive[-1] if alive else None


def public_url(lab: Any, bin: str, *, host: str | None = None) -> str:
    """The token-free public URL of ``bin``: ``<public root><base_url>hooklab/in/<key>``.

    ``host="https://hub.example.org"`` overrides the detected public host (the server's
    ``base_url`` is appended); a URL with a path, ``host="https://example.org/jupyter/"``, is
    the full server URL, as in ``$HOOKLAB_PUBLIC_URL``. Append a path to capture into
    ``/<bin>/<path>``. Call again after ``lab.stop_serving()`` and ``lab.start()`` (same URL,
    new port); ``lab.stop()`` retires the URL for good.
    """
    b = _check_bin(bin)
    if lab.bound_port is None:
        raise RuntimeError("this lab is not serving; call lab.start() first")
    server = _server_entry(read_registry())
    base_url = (
        (server or {}).get("base_url") or os.environ.get("JUPYTERHUB_SERVICE_PREFIX") or "/"
    )
    if host:  # (read as $HOOKLAB_PUBLIC_URL is: an origin, or the full server URL)
        root, note = _stated_root(host, base_url), None
        if root is None:
            from ..credentials import scrubbed_url  # (a password or token in it is not shown)

            raise ValueError("host= must be an http(s) origin like 'https://hub.example.org' or "
                             "the full server URL, without user info, query or fragment: "
                             f"{scrubbed_url(host)!r}")
    else:
        root, note = public_root(base_url, server)
        unused = unused_public_urls(base_url)  # (said, though the root found may be right)
        if unused:
            warnings.warn(unused, RuntimeWarning, stacklevel=3)
    # (the relay checks URL-signed deliveries against this origin: "" while it is a guess)
    key = register(lab, b, origin="" if note else origin_of(root))
    if note:
        warnings.warn(note, RuntimeWarning, stacklevel=3)
    return f"{root}{ROUTE}{key}"


# -- tunnels (laptops): ngrok -> a local relay that only reaches the bin ----------------------------
class _TunnelRelay:
    """A token-free relay for ``/hooklab/in/<key>/...`` in its own thread (never the lab's API)."""

    def __init__(self) -> None:
        self.targets: dict[str, Any] = {}
        self.port = 0
        self.public = ""
        self._ready = threading.Event()
        self._loop: Any = None
        self._server: Any = None
        self._thread = threading.Thread(target=self._run, name="hooklab-tunnel", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("hooklab tunnel relay did not start")

    def _resolve(self, key: str) -> Any:
        return self.targets.get(key_id(key))

    def _run(self) -> None:
        import asyncio

        from tornado.httpserver import HTTPServer
        from tornado.ioloop import IOLoop
        from tornado.netutil import bind_sockets
        from tornado.web import Application

        from .relay import relay_rules

        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        # (what Twilio and other URL-signing senders signed: the tunnel's https origin)
        app = Application(relay_rules("/", self._resolve, lambda: origin_of(self.public)),  # type: ignore[arg-type]
                          log_function=_log_tunnel_request)
        socks = bind_sockets(0, address="127.0.0.1")
        self.port = socks[0].getsockname()[1]
        self._server = HTTPServer(app, decompress_request=False)
        self._server.add_sockets(socks)
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:  # (stopped: the connections and the loop's own file descriptors go too)
            IOLoop.current().close(all_fds=True)

    async def _shutdown(self) -> None:
        """Close the listening socket, then the open connections (2 s at most), then stop."""
        import asyncio

        self._server.stop()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.close_all_connections(), 2.0)
        asyncio.get_running_loop().stop()

    def stop(self) -> None:
        """Stop serving: its port refuses connections, and those open are closed."""
        loop = self._loop
        if loop is not None and self._thread.is_alive():
            with contextlib.suppress(RuntimeError):  # (closed meanwhile)
                loop.call_soon_threadsafe(lambda: loop.create_task(self._shutdown()))
        self._thread.join(5)


def _log_tunnel_request(handler: Any) -> None:
    """Tornado's access log line for the tunnel's relay, with the path only, as the Jupyter
    server's relay logs it: a query (``?token=``: the lab's read token or the Jupyter token,
    sent to the public URL) never reaches the log, nor does a relay route's key."""
    import logging

    status = handler.get_status()
    req = handler.request
    from .relay import RelayHandler

    # (the relay's own requests show <key> for the key: RelayHandler masks request.uri)
    shown = req.uri if isinstance(handler, RelayHandler) else req.path
    level = logging.INFO if status < 400 else logging.WARNING if status < 500 else logging.ERROR
    logging.getLogger("tornado.access").log(
        level, "%d %s %s (%s) %.2fms", status, req.method, shown.partition("?")[0],
        req.remote_ip, 1000.0 * req.request_time())


_TUNNEL: _TunnelRelay | None = None


def tunnel(lab: Any, bin: str, **connect_kwargs: Any) -> str:
    """A public ``https://<...>.ngrok...`` URL for ``bin`` (laptops; needs ``pyngrok``).

    >>> url = hooklab.ingress.tunnel(lab, "github")   # needs ngrok and internet  # doctest: +SKIP

    ngrok reaches a small local relay, not the lab itself, so the lab's ``/_hooklab/api`` stays
    private; the URL carries an unguessable key. ``connect_kwargs`` go to ``ngrok.connect``.
    """
    global _TUNNEL
    try:
        from pyngrok import ngrok
    except ImportError as exc:
        raise ImportError(
            "hooklab tunnels need pyngrok: pip install 'hooklab[tunnel]' (and an ngrok account: "
            "`ngrok config add-authtoken <token>`). On JupyterHub or Binder use "
            "lab.public_url(bin) instead."
        ) from exc
    from .relay import Target

    b = _check_bin(bin)
    if lab.bound_port is None:
        raise RuntimeError("this lab is not serving; call lab.start() first")
    if _TUNNEL is None:
        relay = _TunnelRelay()
        relay.public = str(ngrok.connect(relay.port, "http", **connect_kwargs).public_url)
        _TUNNEL = relay
    key = secrets.token_urlsafe(24)
    host = lab.host if lab.host in _LOOPBACK else "127.0.0.1"
    max_body = int(getattr(getattr(lab, "server", None), "max_body", 0) or lab.max_body)
    nonce = str(getattr(getattr(lab, "server", None), "relay_nonce", "") or "")
    target = Target(host, int(lab.bound_port), b, max_body, os.getpid(), nonce)
    _TUNNEL.targets[key_id(key)] = target
    _TUNNELED.setdefault(lab, {})[key_id(key)] = target  # follows the lab's stops and ports
    return f"{_TUNNEL.public.rstrip('/')}/{ROUTE}{key}"


def close_tunnels() -> None:
    """Disconnect the ngrok tunnel and stop the local relay (idempotent)."""
    global _TUNNEL
    relay, _TUNNEL = _TUNNEL, None
    if relay is None:
        return
    with contextlib.suppress(Exception):
        from pyngrok import ngrok

        ngrok.disconnect(relay.public)
    relay.stop()

