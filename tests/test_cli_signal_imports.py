"""Ctrl-C or SIGTERM while Python loads hooklab's own code for the ``hooklab`` command (the
package's ``__init__`` importing ``typing``, the command's module being found, its first
imports): one line and exit 130 / 143, never a traceback.

The command held stop signals from ``hooklab/cli.py``'s first lines, but ``import hooklab``
runs first: a SIGINT 0.04-0.06 s after ``hooklab serve`` started on a loaded machine landed in
``hooklab/__init__``'s ``from typing import ...`` (a KeyboardInterrupt traceback, exit -2),
or a SIGTERM ended it without a word. Signals are now held from the package's first line.

The signal is sent, by the process to itself, as the import of the named module begins (a
moment a fixed delay hits only now and then), from a launcher that is the console script
``hooklab`` with that one addition. Before hooklab's code, Python's own start keeps Python's
default: that is no moment of this table."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from _kernels import kernel_in
from test_cli import EXE

import hooklab

#: the launcher: the console script (``from hooklab.cli import main``), and a finder that
#: sends the signal as the import of $HOOKLAB_SIGNAL_AT begins (no ``import signal`` here:
#: hooklab's import of it is a moment of the table)
SIGNAL_AT = """\
import os
import sys


class _SignalAt:
    def find_spec(self, name, path=None, target=None):
        if name == os.environ["HOOKLAB_SIGNAL_AT"]:
            sys.meta_path.remove(self)
            os.kill(os.getpid(), int(os.environ["HOOKLAB_SIGNAL"]))
        return None


sys.meta_path.insert(0, _SignalAt())
"""
LAUNCHER = SIGNAL_AT + """\
from hooklab.cli import main

if __name__ == "__main__":
    sys.exit(main())
"""

SAID = {signal.SIGINT: "hooklab: interrupted\n", signal.SIGTERM: "hooklab: stopped by SIGTERM\n"}

#: modules that hooklab's code imports before ``hooklab.cli``'s first line (``typing``,
#: ``hooklab._version``: the package's ``__init__``), and its module being found
MOMENTS = ["typing", "hooklab._version", "hooklab.cli", "signal", "argparse"]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("moment", MOMENTS)
def test_a_stop_signal_while_hooklab_loads_is_one_line(
        tmp_path: Path, moment: str, sig: int) -> None:
    script = tmp_path / "hooklab"  # (the command's name: the program that holds its signals)
    script.write_text(LAUNCHER)
    db = tmp_path / "c.sqlite3"
    env = {**os.environ, "HOOKLAB_SIGNAL_AT": moment, "HOOKLAB_SIGNAL": str(int(sig))}
    r = subprocess.run([sys.executable, str(script), "serve", "--port", "0", "--db", str(db)],
                       capture_output=True, text=True, env=env, timeout=60,
                       preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # noqa: PLW1509
    assert (r.returncode, r.stdout, r.stderr) == (128 + sig, "", SAID[sig])
    assert not db.exists()  # (stopped before serving: no database made)


def test_a_program_importing_hooklab_keeps_its_own_handlers(tmp_path: Path) -> None:
    """Not the command (a script of another name, a kernel): ``import hooklab`` leaves its
    signal handlers as they were."""
    script = tmp_path / "tool.py"
    script.write_text("import signal\nbefore = [signal.getsignal(n) for n in "
                      "(signal.SIGINT, signal.SIGTERM)]\nimport hooklab.cli\n"
                      "print(before == [signal.getsignal(n) for n in (signal.SIGINT, "
                      "signal.SIGTERM)], hooklab.cli._PROGRAM)\n")
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                       timeout=60, check=True)
    assert r.stdout == "True False\n"


#: the ``hooklab`` command run as a person runs it, with the signal sent as the import of
#: the named module begins (SIGNAL_AT, then the command itself): held, then said by main()
COMMANDS = {
    "console script": (f"import runpy; runpy.run_path({EXE!r}, run_name='__main__')",
                       "hooklab.cli"),
    "python -m hooklab.cli": ("import runpy; runpy.run_module('hooklab.cli', "
                              "run_name='__main__', alter_sys=True)", "argparse"),
}

#: a user's own program, merely named like the command, that imports hooklab and waits to
#: be stopped (run with -I: a ``hooklab.py`` is not imported as hooklab itself)
USER_PROGRAM = """\
import sys
import time
sys.path.insert(0, {root!r})
import hooklab
print("ready", flush=True)
for _ in range(200):
    time.sleep(0.1)
"""
USER_NAMES = ["hooklab", "hooklab.py", "hooklab-script.py", "hooklab/__main__.py"]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("command", list(COMMANDS))
def test_the_command_holds_a_stop_signal_while_it_loads(
        tmp_path: Path, command: str, sig: int) -> None:
    code, moment = COMMANDS[command]
    db = tmp_path / "c.sqlite3"
    env = {**os.environ, "HOOKLAB_SIGNAL_AT": moment, "HOOKLAB_SIGNAL": str(int(sig))}
    r = subprocess.run([sys.executable, "-c", SIGNAL_AT + code, "serve", "--port", "0",
                        "--db", str(db)], capture_output=True, text=True, env=env, timeout=60,
                       preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # noqa: PLW1509
    assert (r.returncode, r.stdout, r.stderr) == (128 + sig, "", SAID[sig])
    assert not db.exists()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("name", USER_NAMES)
def test_a_users_program_named_hooklab_is_stopped_by_its_signals(
        tmp_path: Path, name: str, sig: int) -> None:
    """``import hooklab`` in a program whose main file is named ``hooklab`` (a launcher of
    the user's) held its SIGINT and SIGTERM for a ``main()`` of the command's that never
    runs: neither Ctrl-C nor SIGTERM stopped it. Python's defaults stay: a KeyboardInterrupt,
    the end by SIGTERM."""
    root = str(Path(hooklab.__file__).resolve().parents[1])  # (the hooklab under test)
    script = tmp_path / name
    script.parent.mkdir(exist_ok=True)
    script.write_text(USER_PROGRAM.format(root=root))
    run = script.parent if name.endswith("__main__.py") else script
    proc = subprocess.Popen([sys.executable, "-I", str(run)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # noqa: PLW1509
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=15)  # (held: it ran its 20 s out, then exit 0)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -sig, (proc.returncode, err)  # (Python ends by the signal)
    assert ("KeyboardInterrupt" in err) == (sig == signal.SIGINT), err


def test_a_kernel_importing_hooklab_keeps_its_handlers(tmp_path: Path) -> None:
    with kernel_in(tmp_path) as k:
        out = k.cell("import signal\nnums = (signal.SIGINT, signal.SIGTERM)\n"
                     "before = [signal.getsignal(n) for n in nums]\nimport hooklab.cli\n"
                     "print(before == [signal.getsignal(n) for n in nums], "
                     "hooklab.cli._PROGRAM)")
    assert out == "True False\n"


def test_a_test_run_is_not_the_command() -> None:
    from hooklab import _program

    assert (_program.PROGRAM, _program.is_program()) == (False, False)
