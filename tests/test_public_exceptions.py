"""The README's exceptions as ``hooklab.ForwardLoopError``, ``hooklab.ImportInterrupted`` and ``hooklab.ImportFailed``:
the README named them, yet neither could be imported from ``hooklab`` (they lived in
``hooklab.core`` and ``hooklab.store.store``). They are reached lazily, as ``hooklab.HookLab``
is: ``import hooklab`` imports no more than before. Each is caught by its public name where a
user meets it: a ``lab.start()`` whose forward leads back into the lab, a Ctrl-C in
``hooklab.load_jsonl``."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import hooklab

pytestmark = pytest.mark.timeout(300)

NAMES = ("ForwardLoopError", "ImportInterrupted", "ImportFailed")


def _run(code: str, *args: str, timeout: float = 120) -> str:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                         timeout=timeout)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_both_are_public_names_and_import_hooklab_stays_as_light() -> None:
    """``from hooklab import ForwardLoopError, ImportInterrupted`` (and ``import *``) work in a
    fresh process; ``import hooklab`` alone imports no module of hooklab's but its version."""
    assert set(NAMES) <= set(hooklab.__all__)
    out = _run(
        "import sys\n"
        "import hooklab\n"
        "print(sorted(m for m in sys.modules if m.startswith('hooklab')))\n"
        "from hooklab import ForwardLoopError, ImportInterrupted, ImportFailed\n"
        "import hooklab.core, hooklab.store.store\n"
        "print(ForwardLoopError is hooklab.core.ForwardLoopError,\n"
        "      ImportInterrupted is hooklab.store.store.ImportInterrupted,\n"
        "      issubclass(ForwardLoopError, ValueError),\n"
        "      issubclass(ImportInterrupted, KeyboardInterrupt),\n"
        "      ImportFailed is hooklab.store.store.ImportFailed, issubclass(ImportFailed, ValueError))\n"
        "ns = {}\n"
        "exec('from hooklab import *', ns)\n"
        "print(ns['ForwardLoopError'] is ForwardLoopError, ns['ImportInterrupted'] is ImportInterrupted,\n"
        "      ns['ImportFailed'] is ImportFailed)\n")
    # (hooklab._program: the command's stop signals held from the first line; the standard
    # library's _signal only)
    assert out.splitlines() == ["['hooklab', 'hooklab._program', 'hooklab._version']",
                                "True True True True True True",
                                "True True True"]


def _taken_port_with_a_free_next() -> tuple[socket.socket, int]:
    for _ in range(50):
        taken = socket.socket()
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        try:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", port + 1))
        except OSError:
            taken.close()
            continue
        taken.listen()
        return taken, port
    raise AssertionError("no port with a free next one in 50 tries")


def test_a_forward_loop_found_at_start_is_caught_as_hooklab_forward_loop_error() -> None:
    taken, port = _taken_port_with_a_free_next()
    lab = hooklab.HookLab(port=port, db=":memory:")
    try:
        with taken:
            lab.forward("a", f"http://127.0.0.1:{port + 1}/a")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # (the port's move is said: not this test's)
                try:
                    lab.start()
                except hooklab.ForwardLoopError as exc:
                    caught = exc
                else:
                    raise AssertionError("lab.start() served a forward back into itself")
        assert (caught.bin, caught.target) == ("a", f"http://127.0.0.1:{port + 1}/a")
        assert "would send every capture back to itself" in str(caught)
        assert not lab.is_running
    finally:
        lab.stop()


_IMPORT = """
import os, signal, sys, threading, time
import hooklab
delay = float(sys.argv[3])
threading.Timer(delay, os.kill, (os.getpid(), signal.SIGINT)).start()
try:
    hooklab.load_jsonl(sys.argv[1], db=sys.argv[2])
except hooklab.ImportInterrupted as exc:
    print("caught", exc.stored)
except KeyboardInterrupt:
    print("early")
else:
    print("late")
"""


def test_a_ctrl_c_in_load_jsonl_is_caught_as_hooklab_import_interrupted(tmp_path: Path) -> None:
    """A real SIGINT during an import into a file: ``except hooklab.ImportInterrupted``
    catches it and ``exc.stored`` says how many of the first records the file holds."""
    import sqlite3

    src = tmp_path / "export.jsonl"
    n = 60_000
    with open(src, "w") as f:
        for i in range(n):
            f.write(json.dumps({"method": "POST", "path": f"/b{i % 5}",
                                "received_at": "2026-10-01T00:00:00Z",
                                "body": json.dumps({"i": i, "pad": "x" * 80})}) + "\n")
    said = []
    for delay in (1.0, 0.5, 2.0, 0.2, 3.0, 0.1):  # (until the interrupt lands in the import)
        db = tmp_path / f"c{delay}.sqlite3"
        out = subprocess.run([sys.executable, "-c", _IMPORT, str(src), str(db), str(delay)],
                             capture_output=True, text=True, timeout=120,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # noqa: PLW1509
        said.append(out.stdout + out.stderr[-500:])
        word, *rest = out.stdout.split()
        if word != "caught":
            assert word in ("early", "late"), out
            continue
        stored = int(rest[0])
        assert 0 <= stored < n
        with sqlite3.connect(db) as con:
            assert con.execute("SELECT COUNT(*) FROM captures").fetchone()[0] == stored
        return
    pytest.skip(f"the interrupt never landed inside the import: {said}")


def test_the_readme_says_where_its_names_live() -> None:
    """Every name of these the README gives is spelt with its module, and that module has it:
    the exceptions as ``hooklab.<name>``, the constants by their full module path."""
    import importlib
    import re

    text = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    for name in NAMES:
        assert re.findall(rf"[\w.]*{name}", text) == [f"hooklab.{name}"] * text.count(name), name
    found = {}
    for path in re.findall(r"`(hooklab(?:\.\w+)+\.(?:STALL_SECONDS|STOP_GRACE))`", text):
        module, _, name = path.rpartition(".")
        found[path] = getattr(importlib.import_module(module), name)
    assert found == {"hooklab.server.protocol.STALL_SECONDS": 2.0,
                     "hooklab.server.lifecycle.STOP_GRACE": 2.0}, found
    bare = re.findall(r"(?<![.\w])`(STALL_SECONDS|STOP_GRACE)`", text)
    assert bare == ["STALL_SECONDS"], bare  # (the relay's, after "`hooklab.ingress.relay`'s")
    assert "`hooklab.ingress.relay`'s `MAX_IN_FLIGHT`, `STALL_SECONDS`" in text
