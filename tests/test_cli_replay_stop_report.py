"""Ctrl-C (or SIGTERM) during ``hooklab replay`` to a slow app said only "hooklab:
interrupted", though one capture was on its way and the rest never sent: a user who replayed
"the rest" again delivered the one on its way twice. It now says, in ``serve``'s words for
its forwards, which capture was sent without an answer, which were never sent, and the
``hooklab replay`` command that sends those (which, run, sends exactly them)."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _target import Target
from test_cli import _as_from_a_terminal, _stop

import hooklab

EXE = str(Path(sys.executable).with_name("hooklab"))
ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}
SECRET = "whsec_replay_stop_report"
N = 5


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("stop") / "c.sqlite3")
    lab = hooklab.HookLab(port=0, db=path).start()
    try:
        for n in range(1, N + 1):
            hooklab.send(lab.url_for("a"), payload=f"body {n}".encode())
        lab.wait(N, timeout=10)
    finally:
        lab.stop()
    return path


@pytest.mark.parametrize("sig, last", [(signal.SIGINT, "hooklab: interrupted"),
                                       (signal.SIGTERM, "hooklab: stopped by SIGTERM")])
@pytest.mark.parametrize("resign", [False, True], ids=["as-captured", "resign-file"])
def test_a_stopped_replay_says_what_was_sent(db: str, tmp_path: Path, sig: int, last: str,
                                             resign: bool) -> None:
    key = tmp_path / "k.key"
    key.write_text(SECRET)
    extra = ["--resign-file", str(key), "--provider", "stripe"] if resign else []
    with Target(delay=2.0) as app:
        to = app.url + "/t"
        proc = subprocess.Popen([EXE, "replay", "--db", db, "--id", f"1-{N}", "--to", to, *extra],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=ENV, preexec_fn=_as_from_a_terminal)  # noqa: PLW1509
        try:
            app.wait(2, timeout=30)  # #1 answered, #2 received: on its way, no answer yet
            time.sleep(0.2)
        finally:
            out, err = _stop(proc, sig)
        assert proc.returncode == 128 + sig, err
        assert out.splitlines()[0].startswith("#1 -> 200 in ") and len(out.splitlines()) == 1
        run_again = (f"hooklab replay --db={shlex.quote(db)} --to={to}"
                     + (f" --resign-file={shlex.quote(str(key))} --provider=stripe" if resign
                        else "") + f" --id 3-{N}")
        assert err.splitlines() == [
            f"hooklab: {N - 2} captures not sent (replay stopped before their turn) to {to}: "
            f"#3-{N}",
            f"hooklab: to send them: {run_again}",
            "hooklab: 1 capture on its way not finished (sent, no answer when replay stopped: "
            f"the app may have it, and a replay could deliver it twice) to {to}: #2",
            last,
        ], err
        time.sleep(2.5)  # (#2's answer comes, to nobody)
        assert [g.body for g in app.received] == [b"body 1", b"body 2"]
        # the command it gives, run as a user would paste it: exactly the ones never sent
        app.delay = 0.0
        argv = shlex.split(run_again)
        again = subprocess.run([EXE, *argv[1:]], capture_output=True, text=True, timeout=60,
                               env=ENV)
        assert again.returncode == 0, again.stderr
        got = app.wait(N, timeout=10)
    assert [g.body for g in got[2:]] == [f"body {n}".encode() for n in range(3, N + 1)]
    assert all(bool(g.header("Stripe-Signature")) is resign for g in got[2:])


def test_a_stopped_replay_to_a_target_holding_a_key_shows_its_length(db: str) -> None:
    """(a reviewer) The stop report quoted the target through scrubbed_url, which hides a value
    by its name only: ``?k=sk_live_...`` was printed whole, three times (not sent, the replay
    command, on its way). Now as ``shown_url`` says it, the command naming it TARGET."""
    key = "sk_live_51HxYzAbCdEfGhIjKlMnOpQr"
    with Target(delay=2.0) as app:
        to = app.url + f"/t?k={key}"
        proc = subprocess.Popen([EXE, "replay", "--db", db, "--id", f"1-{N}", "--to", to],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=ENV, preexec_fn=_as_from_a_terminal)  # noqa: PLW1509
        try:
            app.wait(2, timeout=30)
            time.sleep(0.2)
        finally:
            out, err = _stop(proc, signal.SIGINT)
    assert key not in err and key not in out, err
    hidden = f"<hidden: {len(to)} characters>"
    assert err.splitlines()[:4] == [
        f"hooklab: {N - 2} captures not sent (replay stopped before their turn) to {hidden}: "
        f"#3-{N}",
        f"hooklab: to send them: hooklab replay --db={shlex.quote(db)} --to=TARGET --id 3-{N}",
        f"hooklab: (the target, {hidden}, holds what reads as a credential: give it in place "
        "of TARGET)",
        "hooklab: 1 capture on its way not finished (sent, no answer when replay stopped: "
        f"the app may have it, and a replay could deliver it twice) to {hidden}: #2",
    ], err
