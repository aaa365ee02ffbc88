"""Commands whose results go to standard output, run where it cannot take them: closed
(``cmd >&-``), open for reading only (``cmd 1</dev/null``: every write is EBADF) or on a full
disk (``cmd >/dev/full``). Each says so in one stderr line and exits 1, having done its work
(a replay replays every capture; it exited 0 without a word, or stopped at its first line);
``serve`` serves on."""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import pytest
from _target import Target
from test_cli import ENV, EXE, _as_from_a_terminal, _live_store_of


def _closed() -> None:
    _as_from_a_terminal()
    os.close(1)


def _read_only() -> None:
    _as_from_a_terminal()
    fd = os.open(os.devnull, os.O_RDONLY)
    os.dup2(fd, 1)
    os.close(fd)


def _full() -> None:
    _as_from_a_terminal()
    fd = os.open("/dev/full", os.O_WRONLY)
    os.dup2(fd, 1)
    os.close(fd)


STDOUTS = {  # preexec_fn, and how the line says it
    "closed": (_closed, "standard output is closed"),
    "read-only": (_read_only, "standard output cannot be written (Bad file descriptor)"),
    "full": (_full, "standard output cannot be written (No space left on device)"),
}


def _run(args: list[str], how: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXE, *args], stdin=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True, timeout=60, env=ENV,
                          preexec_fn=STDOUTS[how][0])  # noqa: PLW1509 - fds and signals only


@pytest.fixture
def db(tmp_path) -> str:  # type: ignore[no-untyped-def]
    path = str(tmp_path / "c.sqlite3")
    _live_store_of(path, 3)
    return path


@pytest.mark.parametrize("how", list(STDOUTS))
@pytest.mark.parametrize("status,answered", [(201, "3 answered 201"), (503, "3 answered 503")])
def test_replay_replays_everything_and_says_it_could_not_show_it(db, how: str, status: int,
                                                                 answered: str) -> None:
    with Target(status=status) as t:
        r = _run(["replay", "--db", db, "--id", "1", "--id", "2", "--id", "3", "--to",
                  f"{t.url}/hook"], how)
        got = t.wait(3)
    assert [json.loads(g.body)["n"] for g in got] == [0, 1, 2]  # every one replayed
    assert (r.returncode, r.stderr) == (
        1, f"hooklab: replayed 3 captures to {t.url}/hook ({answered}), but "
           f"{STDOUTS[how][1]}: their lines are not shown\n")


@pytest.mark.parametrize("how", list(STDOUTS))
def test_replay_to_an_app_that_is_down_says_so_too(db, how: str) -> None:
    import socket

    with socket.socket() as s:  # (a port nobody listens on)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = _run(["replay", "--db", db, "--id", "2", "--to", f"http://u:pw@127.0.0.1:{port}/x"], how)
    assert (r.returncode, r.stderr) == (
        1, f"hooklab: replayed 1 capture to http://u:[secret]@127.0.0.1:{port}/x (1 could not be "
           f"sent), but {STDOUTS[how][1]}: their lines are not shown\n")


@pytest.mark.parametrize("how", list(STDOUTS))
def test_send_says_it_was_sent_and_could_not_show_the_answer(how: str) -> None:
    with Target(status=202, body=b'{"ok": true}') as t:
        r = _run(["send", f"{t.url}/x"], how)
        assert len(t.wait(1)) == 1
    assert (r.returncode, r.stderr) == (
        1, f"hooklab: sent to {t.url}/x (answered 202 Accepted), but {STDOUTS[how][1]}: the "
           "answer is not shown\n")


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "har"])
@pytest.mark.parametrize("how,says", [
    ("closed", "hooklab: standard output is closed: nothing to write the export to (give -o "
               "FILE)\n"),
    ("read-only", "hooklab: standard output cannot be written (Bad file descriptor): the "
                  "export is not complete\n"),
    ("full", "hooklab: standard output cannot be written (No space left on device): the "
             "export is not complete\n"),
], ids=["closed", "read-only", "full"])
@pytest.mark.parametrize("dash", [False, True], ids=["no-o", "o-dash"])
def test_export_to_standard_output_says_it_could_not(db, fmt: str, how: str, says: str,
                                                     dash: bool) -> None:
    r = _run(["export", "--db", db, "--format", fmt, *(["-o", "-"] if dash else [])], how)
    assert (r.returncode, r.stderr) == (1, says)


@pytest.mark.parametrize("how", list(STDOUTS))
def test_what_needs_no_standard_output_works_without_it(db, tmp_path, how: str) -> None:
    """An export to a file, and a replay whose stdout is fine, are as ever."""
    out = tmp_path / "x.jsonl"
    r = _run(["export", "--db", db, "--format", "jsonl", "-o", str(out)], how)
    assert (r.returncode, r.stderr) == (0, f"wrote 3 captures to {out}\n")
    assert [json.loads(x)["id"] for x in out.read_text().splitlines()] == [1, 2, 3]


def test_a_replay_with_its_output_fine_is_as_ever(db) -> None:  # type: ignore[no-untyped-def]
    with Target(status=201) as t:
        r: Any = subprocess.run([EXE, "replay", "--db", db, "--id", "1", "--id", "3", "--to",
                                 t.url], capture_output=True, text=True, timeout=60, env=ENV)
        assert len(t.wait(2)) == 2
    assert (r.returncode, r.stderr) == (0, "")
    assert [line.split(" in ")[0] for line in r.stdout.splitlines()] == ["#1 -> 201", "#3 -> 201"]
