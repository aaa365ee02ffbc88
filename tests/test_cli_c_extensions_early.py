"""A stop signal that comes while a C extension initialises can come out as that module's own
error: in a full run, a SIGTERM 0.2 s after ``hooklab serve`` started landed as ``_ssl``
initialised (serve importing asyncio) and gave "TypeError: expected a message argument", a
traceback and exit 1, where the README promises one line and exit 143. The ``hooklab`` program
loads the C extensions its commands need while a stop signal is only noted (before ``main()``
acts on it); a program that imports ``hooklab.cli`` (not the command) loads nothing more.

Real interpreters: the installed ``hooklab`` command, and ``python -c``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXE = str(Path(sys.executable).with_name("hooklab"))
EARLY = ("_ssl", "_sqlite3", "_hashlib", "_socket", "select", "_json", "zlib")

_PROBE = r"""
import sys
before = set(sys.modules)
import hooklab.cli as cli
print(cli._PROGRAM, sorted(m for m in {early!r} if m in sys.modules and m not in before))
"""


def probe(script: Path) -> str:
    """Run the probe as the script ``script`` (the command is a script named ``hooklab``)."""
    script.write_text(_PROBE.format(early=EARLY))
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=60, check=True).stdout.strip()


def test_the_program_loads_the_c_extensions_while_signals_are_held(tmp_path: Path) -> None:
    assert probe(tmp_path / "hooklab") == f"True {sorted(EARLY)}"


def test_a_program_importing_the_module_loads_nothing_more(tmp_path: Path) -> None:
    program, loaded = probe(tmp_path / "my_notebook_tool.py").split(" ", 1)
    assert program == "False"
    assert "_ssl" not in loaded and "_sqlite3" not in loaded


def test_the_command_still_starts_and_answers() -> None:
    out = subprocess.run([EXE, "--version"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.startswith("hooklab "), out
