"""Whether this process is the ``hooklab`` command, and its stop signals held from hooklab's
first line until the command's ``main()`` acts on them.

The package's ``__init__`` imports this module first, so that a Ctrl-C, SIGTERM or SIGHUP
that comes while Python is still loading the command (hooklab's own imports: ``typing``,
the command's modules) is noted, never raised as a traceback from the middle of an import;
``hooklab.cli.main`` says it ("hooklab: interrupted", exit 130) as soon as it runs. Only
Python's own start, before any of hooklab's code, keeps Python's default (a traceback from
``site``, or the kernel's silent end).

Cheap on purpose (``import hooklab`` stays light): it uses the interpreter's ``_signal``,
loaded before any code runs, and changes nothing in a program that merely imports hooklab
(a kernel, a test run):

>>> from hooklab import _program
>>> _program.PROGRAM   # in a notebook, a test run: not the command  # doctest: +SKIP
False
"""

from __future__ import annotations

import _signal
import os
import sys

#: the signals the command stops on (SIGHUP where the system has one)
STOP_SIGNALS: tuple[int, ...] = tuple(
    getattr(_signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(_signal, name))
#: stop signals ignored when the process started (``nohup``, ``hooklab serve &`` from a
#: script): they stay ignored
IGNORED_AT_START: frozenset[int] = frozenset(
    n for n in STOP_SIGNALS if _signal.getsignal(n) == _signal.SIG_IGN)
#: the first stop signal that came before ``main()`` could act on it
EARLY: list[int] = []


#: the module a ``hooklab`` command's main file imports (``from hooklab.cli import main``, as
#: pip, uv and the Windows launchers' ``__main__.py`` write ``hooklab = "hooklab.cli:main"``;
#: a launcher of its own may ``import hooklab.cli``): a program whose main file merely has the
#: name, and imports only ``hooklab``, runs no ``main()`` that would act on signals held for it
_ENTRY_MODULE = b"hooklab.cli"
#: bytes of the main file read to tell (a console script is a few hundred; a launcher of
#: one's own may import the command further down)
_ENTRY_READ = 65536


def _entry_script(main: object, path: str) -> bool:
    """Whether ``path``, ``main``'s file, is the command's console script (see
    :data:`_ENTRY_MODULE`): read as bytes, from the file or from the launcher ``.exe``'s zip
    through ``main``'s loader."""
    try:
        with open(path, "rb") as f:
            text = f.read(_ENTRY_READ)
    except OSError:  # (hooklab.exe/__main__.py: inside the launcher, which its loader reads)
        try:
            text = getattr(main, "__loader__").get_data(path)[:_ENTRY_READ]  # noqa: B009
        except Exception:  # noqa: BLE001 - unreadable: not known to be the command
            return False
    if not isinstance(text, bytes):
        return False
    for line in text.splitlines():  # (``import hooklab.cli as cli``, ``..., os``; not ``.clique``)
        words = line.split()
        if words[:3] == [b"from", _ENTRY_MODULE, b"import"] or (
                words[:1] == [b"import"] and len(words) > 1
                and words[1].rstrip(b",") == _ENTRY_MODULE):
            return True
    return False


def is_program(main_module: bool = False) -> bool:
    """Whether this process is the ``hooklab`` command (its console script; ``main_module``:
    the caller runs as ``__main__``, ``python -m hooklab.cli``), not a program that imported
    hooklab: only then are the process's signal handlers the command's to set. A user's own
    program that is merely named ``hooklab`` (``hooklab.py``, ``hooklab-script.py``, a folder
    ``hooklab/`` run with its ``__main__.py``) is not: no ``main()`` of the command's would
    act on the signals held, and Ctrl-C would never stop it."""
    if main_module:
        return True
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None) or ""
    name = os.path.basename(path)
    if name == "__main__.py":  # (a launcher .exe holding its script: hooklab.exe/__main__.py)
        name = os.path.basename(os.path.dirname(path))
    name = name.lower()
    for end in (".exe", "-script.pyw", "-script.py"):
        name = name.removesuffix(end)
    return name == "hooklab" and _entry_script(main, path)


def _held(signum: int, frame: object) -> None:
    if not EARLY:
        EARLY.append(signum)


def hold() -> bool:
    """Note the stop signals (but those ignored at start) in :data:`EARLY` instead of acting
    on them; False (nothing changed) off the main thread, where no handler can be set."""
    for n in STOP_SIGNALS:
        if n not in IGNORED_AT_START:
            try:
                _signal.signal(n, _held)
            except ValueError:  # (not the main thread: not the hooklab program after all)
                return False
    return True


#: this process is the ``hooklab`` command, its stop signals held since this module ran
PROGRAM: bool = is_program() and hold()
