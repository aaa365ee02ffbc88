"""hooklab: capture, inspect, verify, replay and analyse webhooks inside Jupyter.

>>> %load_ext hooklab                      # doctest: +SKIP
>>> lab = hooklab.lab()                    # doctest: +SKIP
>>> lab.wait(1, timeout=30); lab.dataframe()  # doctest: +SKIP

``import hooklab`` stays light: pandas and ipywidgets load only when first used.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .capture import Capture
    from .core import HookLab
    from .signatures import Verification

__all__ = [
    "Capture",
    "HookLab",
    "Verification",
    "__version__",
    "lab",
    "load_har",
    "load_ipython_extension",
    "open",
    "send",
    "start",
    "stop",
    "unload_ipython_extension",
    "verify_signature",
]

_DEFAULT: HookLab | None = None
_UNSET: Any = object()


def start(
    *, host: str = "127.0.0.1", port: int = 8765, db: str = _UNSET, **config: Any
) -> HookLab:
    """Start the default lab and return it (``port=0``: any free port).

    >>> lab = hooklab.start(port=0, db=":memory:")    # doctest: +SKIP
    """
    global _DEFAULT
    from .core import DEFAULT_DB, HookLab

    if _DEFAULT is not None:
        _DEFAULT.stop()
    new = HookLab(host=host, port=port, db=DEFAULT_DB if db is _UNSET else os.fspath(db), **config)
    new.start()
    _DEFAULT = new
    return new


def lab() -> HookLab | None:
    """The default lab started by ``%load_ext hooklab`` or :func:`start` (``None`` if none)."""
    return _DEFAULT


def stop() -> None:
    """Stop the default lab (if any)."""
    global _DEFAULT
    if _DEFAULT is not None:
        _DEFAULT.stop()
        _DEFAULT = None


def open(db_path: str | os.PathLike[str]) -> HookLab:  # noqa: A001 - public contract name
    """Open a capture database for analysis without serving.

    >>> hooklab.open(".hooklab/captures.sqlite3").dataframe()   # doctest: +SKIP
    """
    from .core import HookLab

    path = os.fspath(db_path)
    if path != ":memory:" and not os.path.exists(path):
        raise FileNotFoundError(f"no capture database at {path!r}")
    opened = HookLab(db=path)
    opened.store  # noqa: B018 - open now so errors surface here
    return opened


def _set_default(new: HookLab | None) -> None:
    global _DEFAULT
    _DEFAULT = new


def __getattr__(name: str) -> Any:
    if name == "HookLab":
        from .core import HookLab

        return HookLab
    if name == "Capture":
        from .capture import Capture

        return Capture
    if name in ("verify_signature", "Verification"):
        from . import signatures

        return getattr(signatures, name)
    if name == "send":
        from .sender import send

        return send
    if name in ("load_har",):
        from . import export

        return getattr(export, name)
    raise AttributeError(f"module 'hooklab' has no attribute {name!r}")


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext hooklab``: start the default lab, print its status, add ``%hooklab``."""
    from .magics import load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext`` / ``%reload_ext``: stop the server so the port is freed."""
    from .magics import unload

    unload(ipython)
