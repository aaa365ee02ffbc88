"""The ingress registry: one JSON file shared by kernels (writers) and the server extension.

``<Jupyter runtime dir>/hooklab-ingress.json`` (or ``$HOOKLAB_INGRESS_REGISTRY``), owner-only::

    {"version": 1,
     "keys": {"<sha256 of key>": {"host", "port", "bin", "pid", "max_body", "nonce", "origin",
                                  "origins", "created"}},
     "servers": {"<server pid>": {"base_url", "url", "origin", "origin_by", "hub_url", "updated"}}}

``origin`` is what the user's authenticated requests showed (``origin_by``: "browser" or
"request"), ``hub_url`` the server's public URL from the Hub's API (see :mod:`.origin`).
``nonce`` is the lab's relay nonce: the relay checks the process on ``port`` knows it.
A key's ``origin`` is the public origin ``public_url`` gave it out under last (``""``: a
guess), ``origins`` every one it was given out under (the relay names the one a sender called).

Writers hold an exclusive ``flock`` on ``<file>.lock``, merge, drop entries of dead processes
and replace the file atomically; readers need no lock. Files not private to the user are ignored.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["REGISTRY_NAME", "ROUTE", "file_stamp", "forget", "key_id", "pid_alive", "read_registry",
           "registry_path", "update_registry"]  # fmt: skip

REGISTRY_NAME = "hooklab-ingress.json"
#: the relay's route under the Jupyter server's base URL: ``<base_url>hooklab/in/<key>/<path>``
ROUTE = "hooklab/in/"
_PENDING: dict[str, set[str]] = {}  # registry path -> key ids to drop at its next write
_STATE = threading.local()

def registry_path() -> str:
    """``$HOOKLAB_INGRESS_REGISTRY`` (set by the extension) or ``<runtime dir>/hooklab-ingress.json``."""
    explicit = os.environ.get("HOOKLAB_INGRESS_REGISTRY")
    if explicit:
        return explicit
    try:
        from jupyter_core.paths import jupyter_runtime_dir

        runtime = jupyter_runtime_dir()
    except ImportError:  # kernel env without jupyter_core
        runtime = os.path.join(os.path.expanduser("~"), ".local", "share", "jupyter", "runtime")
    return os.path.join(runtime, REGISTRY_NAME)


def file_stamp(path: str) -> tuple[int, int, int] | None:
    """``(mtime_ns, size, inode)`` of ``path`` (``None`` if it is not there): what changes when
    the registry is written again, so a reader reads it again only then."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def key_id(key: str) -> str:
    """What the registry stores for a key: its SHA-256, so reading the file never reveals URLs."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def pid_alive(pid: Any) -> bool:
    """Whether process ``pid`` exists (always True where that cannot be checked)."""
    try:
        pid = int(pid)
    except (TypeError, ValueError):
        return False
    if pid <= 0:
        return False
    if sys.platform == "win32":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _empty() -> dict[str, Any]:
    return {"version": 1, "keys": {}, "servers": {}}


def read_registry(path: str | None = None) -> dict[str, Any]:
    """The registry as a dict; empty if missing, unreadable, or not private to this user."""
    path = path or registry_path()
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return _empty()
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if hasattr(os, "getuid") and (st.st_uid != os.getuid() or st.st_mode & 0o077):
            warnings.warn(
                f"hooklab: ignoring {path}: it must be owned by you with mode 0600",
                RuntimeWarning,
                stacklevel=2,
            )
            return _empty()
        try:
            data = json.loads(f.read() or b"{}")
        except ValueError:
            return _empty()
    if not isinstance(data, dict):
        return _empty()
    out = _empty()
    for part in ("keys", "servers"):
        if isinstance(data.get(part), dict):
            out[part] = data[part]
    return out


@contextlib.contextmanager
def _locked(path: str) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # Windows: atomic replace only
        yield
        return
    fd = os.open(path + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def update_registry(change: Callable[[dict[str, Any]], None], path: str | None = None) -> None:
    """Read, ``change(registry)`` in place, drop entries of dead processes, write back atomically."""
    path = path or registry_path()
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, mode=0o700, exist_ok=True)
    if getattr(_STATE, "busy", False):  # a finalizer ran inside our own update: flock would hang
        raise RuntimeError("re-entrant hooklab registry update")
    _STATE.busy = True
    try:
        with _locked(path):
            _write(path, folder, change)
    finally:
        _STATE.busy = False


def _write(path: str, folder: str, change: Callable[[dict[str, Any]], None]) -> None:
    reg = read_registry(path)
    change(reg)
    gone = _PENDING.pop(path, set())
    for kid in gone:
        reg["keys"].pop(kid, None)
    reg["keys"] = {k: v for k, v in reg["keys"].items() if pid_alive(v.get("pid"))}
    reg["servers"] = {k: v for k, v in reg["servers"].items() if pid_alive(k)}
    fd, tmp = tempfile.mkstemp(prefix=".hooklab-ingress-", dir=folder)  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(reg, f, indent=1, sort_keys=True)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def forget(ids: list[str], path: str) -> None:
    """Drop key ids from ``path`` now, or at its next write if called (by a finalizer) during one."""
    _PENDING.setdefault(path, set()).update(ids)
    if not getattr(_STATE, "busy", False):
        with contextlib.suppress(Exception):
            update_registry(lambda reg: None, path)
