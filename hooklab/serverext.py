"""The hooklab Jupyter server extension: a token-free relay from the outside to a kernel's lab.

Enabled on install by ``etc/jupyter/jupyter_server_config.d/hooklab.json``, or by hand::

    jupyter server extension enable hooklab.serverext
    jupyter server --ServerApp.jpserver_extensions="{'hooklab.serverext': True}"

One route, ``<base_url>hooklab/in/<key>/<path>``, for every method and without authentication:
the key (from ``lab.public_url(bin)``, see :mod:`hooklab.ingress`) is the only credential. A
request is relayed to ``http://127.0.0.1:<port>/<bin>/<path>`` of the kernel that registered the
key, and the answer comes back byte for byte. ``Cookie``, ``Authorization`` and any ``token``
query parameter are never forwarded; bodies over the lab's limit get 413 without being read;
unknown keys get 404, a dead kernel 502. Port and bin come only from the registry file.
"""

from __future__ import annotations

import os
import time
from typing import Any
from urllib.parse import urlsplit

from tornado import web

from .ingress.registry import ROUTE, update_registry
from .ingress.relay import RelayHandler, registry_resolver, relay_rules

__all__: list[str] = []


# -- extension entry points ---------------------------------------------------------------------
def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "hooklab.serverext"}]


def _record_origins(serverapp: Any, pid: str) -> None:
    """Learn the public origin from the user's own authenticated requests (for public_url)."""
    settings = serverapp.web_app.settings
    original = settings.get("log_function")
    seen: dict[str, str] = {}

    def log_function(handler: web.RequestHandler) -> None:
        try:
            if (
                not isinstance(handler, RelayHandler)
                and getattr(handler, "_jupyter_current_user", None)
                and handler.get_status() < 400
            ):
                h = handler.request.headers
                host = h.get("X-Forwarded-Host", handler.request.host).split(",")[0].strip()
                proto = h.get("X-Forwarded-Proto", handler.request.protocol).split(",")[0].strip()
                ref = urlsplit(h.get("Referer", ""))
                if ref.netloc == host and ref.scheme in ("http", "https"):
                    proto = ref.scheme
                origin = f"{proto}://{host}"
                if host and seen.get("origin") != origin:
                    seen["origin"] = origin
                    update_registry(lambda reg: reg["servers"].setdefault(pid, {}).update(
                        origin=origin, updated=time.time()))  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - never break request logging
            serverapp.log.warning("hooklab: could not record origin: %s", exc)
        if original is not None:
            original(handler)

    settings["log_function"] = log_function


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Add the relay route; tell kernels (env vars) where the registry and this server are."""
    base_url = serverapp.base_url or "/"
    path = os.path.join(serverapp.runtime_dir, "hooklab-ingress.json")
    pid = str(os.getpid())
    os.environ["HOOKLAB_INGRESS_REGISTRY"] = path
    os.environ["HOOKLAB_INGRESS_SERVER"] = pid
    info = {"base_url": base_url, "url": serverapp.connection_url, "updated": time.time()}
    update_registry(lambda reg: reg["servers"].__setitem__(pid, info), path)
    serverapp.web_app.add_handlers(".*$", relay_rules(base_url, registry_resolver(path)))
    _record_origins(serverapp, pid)
    serverapp.log.info("hooklab: public webhook relay at %s%s<key>/", base_url, ROUTE)


def _unload_jupyter_server_extension(serverapp: Any) -> None:
    pid = str(os.getpid())
    path = os.environ.get("HOOKLAB_INGRESS_REGISTRY")
    try:
        update_registry(lambda reg: reg["servers"].pop(pid, None), path)
    except OSError:
        pass
