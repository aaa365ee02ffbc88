"""The hooklab Jupyter server extension: a token-free relay from the outside to a kernel's lab.

Enabled on install by ``etc/jupyter/jupyter_server_config.d/hooklab.json``, or by hand::

    jupyter server extension enable hooklab.serverext
    jupyter server --ServerApp.jpserver_extensions="{'hooklab.serverext': True}"

One route, ``<base_url>hooklab/in/<key>/<path>``, for every method and without authentication:
the key (from ``lab.public_url(bin)``, see :mod:`hooklab.ingress`) is the only credential. A
request is relayed to ``http://127.0.0.1:<port>/<bin>/<path>`` of the kernel that registered the
key, and the answer comes back byte for byte. ``Cookie``, ``Authorization`` and any ``token``
query parameter are never forwarded; bodies over the lab's limit get 413 (read and dropped
first, within bounds, so a proxy in front passes the 413 on), bodies on their way together
past ``MAX_IN_FLIGHT`` 503 (:mod:`hooklab.ingress.relay`); unknown keys get 404, a dead kernel
502. Port and bin come only from the registry file.
"""

from __future__ import annotations

import os
import time
from typing import Any

from tornado import web

from .ingress.origin import OriginLearner, hub_server_url, loopback, origin_of, server_record
from .ingress.registry import ROUTE, update_registry
from .ingress.relay import registry_resolver, relay_rules

__all__: list[str] = []


# -- extension entry points ---------------------------------------------------------------------
def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "hooklab.serverext"}]


def _learn_origins(serverapp: Any, pid: str, path: str) -> None:
    """Learn the public origin from the user's own authenticated requests (for public_url).

    The hook wraps the web application's ``log_request`` method, which Tornado calls once for
    every finished request with its handler (so its status and its authenticated user are
    known). It is not ``settings["log_function"]``: that is a setting other extensions replace
    (JupyterHub's single-user extension does, loading after this one), and the method still
    calls whatever logger the setting holds at the time. Only requests that a Jupyter handler
    answered below 400 for an authenticated user count (see :mod:`hooklab.ingress.origin`); a
    server running without authentication (every request gets an anonymous user) learns nothing.
    """
    from jupyter_server.base.handlers import JupyterHandler

    def record(origin: str, by_browser: bool) -> None:
        # a script's request to the server's own address (loopback, a pod's IP) says nothing
        # of the public one: kept as "internal", which public_root does not use (review: the
        # first origin learnt could be the pod's address, and was given out)
        by = "browser" if by_browser else "internal" if internal(origin) else "request"
        server_record(pid, path, origin=origin, origin_by=by)
        if by != "internal":
            serverapp.log.info("hooklab: public webhook URLs use %s (seen in your requests)",
                               origin)

    def own_addresses() -> set[str]:  # where this server is reached from inside: not public
        import socket

        found = {origin_of(serverapp.connection_url or "")}
        service = os.environ.get("JUPYTERHUB_SERVICE_URL") or ""
        if service:
            found.add(origin_of(service))
        for scheme in ("http", "https"):  # (the machine's own name, with this server's port)
            found.add(f"{scheme}://{socket.gethostname().lower()}:{serverapp.port}")
        found.discard("")
        return found

    def internal(origin: str) -> bool:
        return loopback(origin) or origin in own_addresses()

    learner = OriginLearner(record, internal)
    app = serverapp.web_app
    inner = app.log_request
    failures: list[Exception] = []

    def log_request(handler: web.RequestHandler) -> None:
        try:
            if isinstance(handler, JupyterHandler):
                request = handler.request
                learner.observe(
                    authenticated=bool(getattr(handler, "_jupyter_current_user", None))
                    and handler.identity_provider.auth_enabled,
                    status=handler.get_status(), headers=request.headers, host=request.host,
                    protocol=request.protocol,
                )  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - never break request logging
            if not failures:
                failures.append(exc)
                serverapp.log.warning("hooklab: could not record the public origin: %s", exc)
        inner(handler)

    app.log_request = log_request


def _ask_hub(serverapp: Any, pid: str, path: str) -> None:
    """On JupyterHub without ``$JUPYTERHUB_PUBLIC_URL``: ask the Hub's API (once, bounded)."""
    env = os.environ
    api, token = env.get("JUPYTERHUB_API_URL"), env.get("JUPYTERHUB_API_TOKEN")
    if not api or not token or env.get("JUPYTERHUB_PUBLIC_URL"):
        return

    async def ask() -> None:
        try:
            url = await hub_server_url(api, token, env.get("JUPYTERHUB_SERVER_NAME", ""))
            if url:
                server_record(pid, path, hub_url=url)
        except Exception as exc:  # noqa: BLE001 - a missing answer only means "not stated"
            serverapp.log.debug("hooklab: the Hub's API did not state this server's URL: %s", exc)

    serverapp.io_loop.add_callback(ask)


def _public_origin(path: str, pid: str, base_url: str) -> Any:
    """The origin ``lab.public_url`` gives out for this server (``public_root``), read again
    when the registry changes; ``""`` while it is not known (the relay then reads it from
    the request). URL-signing senders (Twilio...) signed the URL they were given."""
    from .ingress.origin import origin_of, public_root
    from .ingress.registry import file_stamp, read_registry

    cache: dict[str, Any] = {"stamp": None, "origin": ""}

    def origin() -> str:
        stamp = file_stamp(path)
        if stamp != cache["stamp"]:
            try:
                root, note = public_root(base_url, read_registry(path)["servers"].get(pid))
                cache["origin"] = "" if note else origin_of(root)
            except Exception:  # noqa: BLE001 - the relay falls back to the request's origin
                cache["origin"] = ""
            cache["stamp"] = stamp
        return cache["origin"]

    return origin


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Add the relay route; tell kernels (env vars) where the registry and this server are."""
    base_url = serverapp.base_url or "/"
    path = os.path.join(serverapp.runtime_dir, "hooklab-ingress.json")
    pid = str(os.getpid())
    os.environ["HOOKLAB_INGRESS_REGISTRY"] = path
    os.environ["HOOKLAB_INGRESS_SERVER"] = pid
    info = {
        "base_url": base_url, "url": serverapp.connection_url, "updated": time.time(),
        "learns": bool(serverapp.identity_provider.auth_enabled),
    }  # fmt: skip
    update_registry(lambda reg: reg["servers"].__setitem__(pid, info), path)

    def bound() -> None:  # (the port is chosen after extensions load: --port 0, a taken one)
        url = serverapp.connection_url
        if url != info["url"]:
            info["url"] = url
            update_registry(lambda reg: reg["servers"].get(pid, {}).__setitem__("url", url), path)

    serverapp.io_loop.add_callback(bound)
    import atexit  # (jupyter_server stops only extension apps: the unload hook is not called)

    atexit.register(_unload_jupyter_server_extension, serverapp)
    serverapp.web_app.add_handlers(
        ".*$", relay_rules(base_url, registry_resolver(path), _public_origin(path, pid, base_url)))
    _learn_origins(serverapp, pid, path)
    _ask_hub(serverapp, pid, path)
    serverapp.log.info("hooklab: public webhook relay at %s%s<key>/", base_url, ROUTE)


def _unload_jupyter_server_extension(serverapp: Any) -> None:
    pid = str(os.getpid())
    path = os.environ.get("HOOKLAB_INGRESS_REGISTRY")
    try:
        update_registry(lambda reg: reg["servers"].pop(pid, None), path)
    except OSError:
        pass
