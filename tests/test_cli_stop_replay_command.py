"""The ``hooklab replay`` command ``serve`` prints on Ctrl-C for the forwards it did not send,
pasted into bash as printed, for a database path a shell or argparse finds awkward.

It wrote ``--db PATH``: a path starting with ``-`` was refused by argparse ("expected one
argument"), and a path holding a newline split the printed command in two (neither half
runs). Now it writes ``--db=PATH``, the path quoted for bash on one line (``$'...'`` escapes
for a newline or a control character).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _target import Target
from test_cli_forward_stop import _received

import hooklab

pytestmark = [pytest.mark.timeout(300),
              pytest.mark.skipif(sys.platform == "win32", reason="bash, SIGINT")]

EXE = str(Path(sys.executable).with_name("hooklab"))
#: the hooklab program first on bash's PATH (the printed command starts with "hooklab")
ENV = {**os.environ, "PYTHONUNBUFFERED": "1",
       "PATH": os.path.dirname(EXE) + os.pathsep + os.environ.get("PATH", "")}


def _as_from_a_terminal() -> None:
    """``preexec_fn``: SIGINT back to its default, as a terminal starts a command."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


#: database file names (relative: serve and the pasted command run in one folder)
PATHS: dict[str, str] = {
    "a leading dash": "-c.sqlite3",
    "two leading dashes": "--db",
    "a newline": "a\nb.sqlite3",
    "a newline, then a dash": "\n-x.sqlite3",
    "quotes and shell words": "it's $HOME `id` \"q\".sqlite3",
    "a backslash": "a\\nb.sqlite3",
    "a tab": "a\tb.sqlite3",
    "an escape sequence": "\x1b[31mred.sqlite3",
    "a carriage return": "a\rb.sqlite3",
    "a right-to-left override": "a\u202eb.sqlite3",
    "non-ASCII": "caf\u00e9 \u00fc.sqlite3",
}  # fmt: skip


@pytest.mark.parametrize("case", PATHS)
def test_the_printed_replay_command_runs_when_pasted_into_bash(tmp_path: Path, case: str) -> None:
    name = PATHS[case]
    with Target(delay=1.0) as app:
        proc = subprocess.Popen(
            [EXE, "serve", "--port", "0", f"--db={name}", "--forward", f"orders={app.url}"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV, cwd=tmp_path,
            preexec_fn=_as_from_a_terminal)  # noqa: PLW1509 - signals only
        try:
            first = proc.stdout.readline()  # type: ignore[union-attr]
            port = int(re.search(r"http://127\.0\.0\.1:(\d+)", first).group(1))  # type: ignore[union-attr]
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            for seq in range(6):
                conn.request("POST", "/orders/x", json.dumps({"seq": seq}),
                             {"Content-Type": "application/json"})
                r = conn.getresponse()
                r.read()
                assert r.status == 200
            conn.close()
            deadline = time.monotonic() + 30
            while not _received(app):
                assert time.monotonic() < deadline
                time.sleep(0.01)
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        assert proc.returncode == 0 and "Traceback" not in err, err
        lines = [line for line in err.splitlines() if line.startswith("hooklab: to send them: ")]
        assert len(lines) == 1, err
        command = lines[0].split("to send them: ", 1)[1]
        # one line, nothing in it a terminal would act on, the database given as --db=...
        assert command.isprintable(), command
        assert command.startswith("hooklab replay --db="), command
        unsent: list[int] = []
        for low, high in re.findall(r"--id (\d+)(?:-(\d+))?", command):
            unsent += range(int(low), int(high or low) + 1)
        assert unsent, command
        time.sleep(1.5)  # (a forward still on its way reaches the app)
        app.delay = 0
        before = len(_received(app))
        # (pasted where the locale is C, as in containers and cron: bash reads $'\u...'
        # escapes only in a UTF-8 locale, so the command names its bytes: the second review)
        r = subprocess.run(["bash", "--norc", "--noprofile", "-c", command], cwd=tmp_path,
                           capture_output=True, text=True, timeout=60, env={**ENV, "LC_ALL": "C"})
        assert r.returncode == 0, (command, r.stderr)
        replayed = [seq for _, seq in _received(app)[before:]]
    lab = hooklab.open(str(tmp_path / name))
    try:
        seq_of = {c.id: json.loads(c.body)["seq"] for c in lab.captures}
    finally:
        lab.stop()
    assert sorted(replayed) == sorted(seq_of[i] for i in unsent)
