"""hooklab: capture, inspect, verify, replay and analyse webhooks inside Jupyter.

In a notebook, ``%load_ext hooklab`` starts the default lab and prints its URL:

>>> %load_ext hooklab       # IPython syntax, not plain Python  # doctest: +SKIP

In plain Python (or a notebook) :func:`start` does the same:

>>> lab = hooklab.start(port=0, db=":memory:")
>>> hooklab.lab() is lab
True
>>> hooklab.send(lab.url_for("github"), provider="github", event="push").status
200
>>> lab.wait(1, timeout=30)
[<Capture #1 POST /github 200 ...B push at ...>]
>>> lab.dataframe()[["bin", "method", "provider", "event_type"]]
      bin method provider event_type
0  github   POST   github       push
>>> hooklab.stop()

``import hooklab`` stays light: pandas and ipywidgets load only when first used.
"""

from __future__ import annotations  # noqa: I001 (hooklab._program comes first)

# (first: the ``hooklab`` command's stop signals are held from here on; see its docstring)
from . import _program  # noqa: F401

import os
import sys
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from .capture import Capture
    from .core import ForwardLoopError, HookLab
    from .signatures import Verification
    from .store.store import ImportFailed, ImportInterrupted

__all__ = [
    "Capture",
    "ForwardLoopError",
    "HookLab",
    "ImportFailed",
    "ImportInterrupted",
    "Verification",
    "__version__",
    "lab",
    "load_har",
    "load_ipython_extension",
    "load_jsonl",
    "open",
    "send",
    "start",
    "stop",
    "unload_ipython_extension",
    "verify_signature",
]

#: the default capture database (``hooklab.core.DEFAULT_DB``; written here so that
#: ``help(hooklab.start)`` shows it without importing the core)
_DEFAULT_DB = ".hooklab/captures.sqlite3"


def start(
    *, host: str = "127.0.0.1", port: int = 8765, db: str = _DEFAULT_DB, **config: Any
) -> HookLab:
    """Start the default lab and return it (``port=0``: any free port).

    It replaces the current default lab (stopped first; captures it kept in memory are gone,
    with a warning). A second lab beside it: ``hooklab.HookLab(port=0, db=...).start()``.

    >>> lab = hooklab.start(port=0, db=":memory:")
    >>> lab.url
    'http://127.0.0.1:...'
    >>> hooklab.lab() is lab
    True
    >>> hooklab.stop()
    """
    from .core import start_default

    return start_default(host=host, port=port, db=db, **config)


def lab() -> HookLab | None:
    """The default lab started by ``%load_ext hooklab`` or :func:`start` (``None`` if none).

    The one ``%hooklab`` works on; any cell (or another module of the kernel) can get it:

    >>> hooklab.lab() is None                  # nothing started yet
    True
    >>> started = hooklab.start(port=0, db=":memory:")
    >>> hooklab.lab() is started
    True
    >>> hooklab.lab().url_for("github")
    'http://127.0.0.1:.../github'
    >>> hooklab.stop()
    """
    core = sys.modules.get(__name__ + ".core")  # no lab can exist before core is imported
    return None if core is None else core.default_lab()


def stop() -> None:
    """Stop the default lab (if any) and forget it: :func:`lab` is ``None`` again.

    >>> started = hooklab.start(port=0, db=":memory:")
    >>> hooklab.stop()
    >>> started.is_running, hooklab.lab()
    (False, None)
    >>> hooklab.stop()                         # no default lab: nothing to do

    Labs made with ``hooklab.HookLab(...)`` are stopped with their own ``lab.stop()``.
    """
    core = sys.modules.get(__name__ + ".core")
    if core is not None:
        core.stop_default()


def open(db_path: str | os.PathLike[str]) -> HookLab:  # noqa: A001 - public contract name
    """Open a capture database, or a Parquet export, for analysis without serving.

    >>> lab = hooklab.start(port=0)        # captures go to .hooklab/captures.sqlite3
    >>> hooklab.send(lab.url_for("github"), provider="github", event="push").status
    200
    >>> hooklab.stop()
    >>> old = hooklab.open(".hooklab/captures.sqlite3")
    >>> old
    <HookLab hooklab opened, not serving (db .hooklab/captures.sqlite3, 1 capture)>
    >>> old.is_running
    False
    >>> old.dataframe()[["bin", "event_type"]]
          bin event_type
    0  github       push
    >>> old.stop()
    >>> hooklab.open("exports/captures").dataframe(provider="stripe")  # a Parquet export  # doctest: +SKIP
    """
    from .core import open_lab

    return open_lab(db_path)


#: subpackages reachable as ``hooklab.<name>`` after a plain ``import hooklab`` (loaded on first use)
_SUBMODULES = frozenset({
    "capture", "core", "explore", "export", "filters", "frame", "ingress", "latency", "outbound",
    "providers",
    "server", "signatures", "store", "widget", "ws",
})  # fmt: skip


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    if name == "HookLab":
        from .core import HookLab

        return HookLab
    if name == "Capture":
        from .capture import Capture

        return Capture
    if name == "ForwardLoopError":  # (lab.start(): a forward that leads back into the lab)
        from .core import ForwardLoopError

        return ForwardLoopError
    if name == "ImportInterrupted":  # (Ctrl-C during hooklab.load_jsonl / store.add_many)
        from .store.store import ImportInterrupted

        return ImportInterrupted
    if name == "ImportFailed":  # (a bad record after others were stored: load_jsonl(db=...))
        from .store.store import ImportFailed

        return ImportFailed
    if name in ("verify_signature", "Verification"):
        from . import signatures

        return getattr(signatures, name)
    if name == "send":
        from .outbound.sender import send

        return send
    if name == "load_har":
        from .core import HookLab

        return HookLab.from_har
    if name == "load_jsonl":
        from .core import HookLab

        return HookLab.from_jsonl
    raise AttributeError(f"module 'hooklab' has no attribute {name!r}")


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext hooklab``: start the default lab, print its status, add ``%hooklab``.

    >>> %load_ext hooklab                       # IPython syntax  # doctest: +SKIP
    hooklab listening on http://127.0.0.1:8765 (db .hooklab/captures.sqlite3, 0 captures)
    """
    from .magics import load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext`` / ``%reload_ext``: stop the server so the port is freed.

    >>> %reload_ext hooklab                     # IPython syntax  # doctest: +SKIP
    """
    from .magics import unload

    unload(ipython)
