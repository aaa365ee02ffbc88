"""The ``hooklab replay`` command printed on a stop keeps the options that shape the sending:
``replay ... --timeout 45`` interrupted suggested ``hooklab replay --db=... --to=... --id
2-3`` (run, it gave each capture the 10 s default), and so did ``serve --timeout 30``'s list
of forwards never sent. The command now carries ``--timeout`` (when not the default),
``--resign-file`` and ``--provider``."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from _http import post
from _serve_lines import signalled
from _target import Target
from test_cli import ENV, EXE, _as_from_a_terminal

import hooklab

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGINT")


def _commands(err: str) -> list[str]:
    return [line.split("to send them: ", 1)[1] for line in err.splitlines()
            if line.startswith("hooklab: to send them: ")]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("rt") / "rt.db")
    lab = hooklab.HookLab(port=0, db=path).start()
    try:
        for n in range(3):
            hooklab.send(lab.url_for("w"), payload=f'{{"i": {n}}}'.encode())
        lab.wait(3, timeout=10)
    finally:
        lab.stop()
    return path


def _held_until_signal(args: list[str], app: Target, cwd: Path) -> tuple[int, str]:
    """``hooklab ARGS``, SIGINT once ``app`` holds its first request (unanswered)."""
    proc = subprocess.Popen([EXE, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=ENV, cwd=cwd,
                            preexec_fn=_as_from_a_terminal)  # noqa: PLW1509 - signals only
    _, err = signalled(proc, signal.SIGINT, lambda: app.wait(1, timeout=30))
    return proc.returncode, err


# (given --timeout, what the printed command says: absent for the default, as given else)
TIMEOUTS = [(None, None), ("10", None), ("45", "--timeout=45"), ("2.5", "--timeout=2.5"),
            ("86400", "--timeout=86400")]


@pytest.mark.parametrize(("given", "said"), TIMEOUTS)
def test_an_interrupted_replay_suggests_its_own_timeout(
        db: str, tmp_path: Path, given: str | None, said: str | None) -> None:
    gate = threading.Event()
    with Target(gate=gate) as app:
        args = ["replay", "--db", db, "--id", "1-3", "--to", f"{app.url}/x"]
        code, err = _held_until_signal(args + (["--timeout", given] if given else []), app,
                                       tmp_path)
        gate.set()
    assert code == 130, err
    [command] = _commands(err)
    assert command.endswith(" --id 2-3"), command
    timeouts = re.findall(r"--timeout=\S+", command)
    assert timeouts == ([said] if said else []), command


def test_a_replay_with_resign_file_keeps_timeout_and_provider(db: str, tmp_path: Path) -> None:
    key = tmp_path / "gh.key"
    key.write_text("s3cret\n")
    gate = threading.Event()
    with Target(gate=gate) as app:
        code, err = _held_until_signal(
            ["replay", "--db", db, "--id", "1-3", "--to", f"{app.url}/x", "--timeout", "45",
             "--resign-file", str(key), "--provider", "github"], app, tmp_path)
        gate.set()
    assert code == 130, err
    [command] = _commands(err)
    assert f" --timeout=45 --resign-file={key} --provider=github --id 2-3" in command, command


def test_serve_suggests_its_forward_timeout(tmp_path: Path) -> None:
    gate = threading.Event()
    with Target(gate=gate) as app:
        proc = subprocess.Popen(
            [EXE, "serve", "--port", "0", "--db", "s.db", "--timeout", "30",
             "--forward", f"w={app.url}/x"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV, cwd=tmp_path,
            preexec_fn=_as_from_a_terminal)  # noqa: PLW1509 - signals only

        def sent() -> None:
            first = proc.stdout.readline()  # type: ignore[union-attr]
            url = re.search(r"http://127\.0\.0\.1:\d+", first).group(0)  # type: ignore[union-attr]
            for n in range(12):  # (more than a target gets at once: some wait their turn)
                assert post(f"{url}/w", f'{{"i": {n}}}'.encode())[0] == 200
            app.wait(1, timeout=30)
            time.sleep(0.5)  # (the others stored and queued behind those held)

        try:
            _, err = signalled(proc, signal.SIGINT, sent)
        finally:
            gate.set()
    assert proc.returncode == 0, err
    assert len(_commands(err)) == 1, err
    [command] = _commands(err)
    assert re.fullmatch(f"hooklab replay --db=s.db --to={app.url}/x --timeout=30"
                        r"( --id \d+(-\d+)?)+", command), err
