"""``hooklab serve --forward`` stopped (Ctrl-C) while its target is slow: what it says of the
forwards must add up to what the app received and what the database records.

It said "32 forwards on their way not finished" for 40 captures of which 12 had reached the
app, each once, and were recorded 200 (4 of them without their "#N forwarded" line), after the
library's own "28 forwards waiting for a slow target were not sent ... replay them with
lab.replay": a count that took in the queued ones as well as those the stop went on to
finish, and advice in Python, without ids, for a terminal. An operator who replayed "the ones
not finished" sent duplicates."""

from __future__ import annotations

import http.client
import json
import re
import shlex
import signal
import subprocess
import time

import pytest
from _target import Target
from test_cli import ENV, EXE, _as_from_a_terminal, _Lines

import hooklab


def _received(app: Target) -> list[tuple[str, int]]:
    """(path, seq) of each request ``app`` received, in the order their bodies arrived."""
    with app.cond:
        return [(r.path, json.loads(r.body)["seq"]) for r in app.received]


def _ids(text: str) -> list[int]:
    """The capture ids a line names: ``#13-40``, ``#7``."""
    ids: list[int] = []
    for low, high in re.findall(r"#(\d+)(?:-(\d+))?", text):
        ids += range(int(low), int(high or low) + 1)
    return ids


def _said(err: str, what: str) -> tuple[int, list[int]]:
    """(the count, the ids) of serve's last words about ``what`` ("not sent" or "on"),
    continuation lines included; (0, []) when it says nothing of it."""
    lines = err.splitlines()
    for at, line in enumerate(lines):
        m = re.match(r"hooklab: (\d+) forwards? (not sent \(|on (?:their|its) way)", line)
        if m and m.group(2).startswith(what):
            text = line.rsplit(": ", 1)[1]
            for more in lines[at + 1:]:
                if not more.startswith("  "):
                    break
                text += " " + more
            return int(m.group(1)), _ids(text)
    return 0, []


@pytest.mark.parametrize("orders,others,delay,stop_after", [
    # (captures of the forwarded bin, of a bin not forwarded sent between them, the app's
    # seconds per answer, how many the app has received when serve gets Ctrl-C)
    (40, 0, 0.5, 8),   # a backlog: most never sent, those on their way finished by the stop
    (3, 0, 1.0, 3),    # every one on its way: all finished by the stop, nothing left unsent
    (20, 20, 0.5, 4),  # the ids not sent are scattered between those of another bin
    (2, 0, 3.0, 2),    # the app answers after the stop gave up waiting: no outcome stored
    (5, 0, 0.0, 5),    # a fast app: all done before Ctrl-C, nothing to say
], ids=["backlog", "all-on-their-way", "scattered", "slower-than-the-stop", "all-done"])
def test_serve_says_what_became_of_each_forward_on_ctrl_c(
        tmp_path, orders: int, others: int, delay: float, stop_after: int) -> None:  # type: ignore[no-untyped-def]
    db = str(tmp_path / "c.sqlite3")
    with Target(delay=delay) as app:  # (answers each POST 200 after ``delay`` seconds)
        hook = f"{app.url}/hook"
        proc = subprocess.Popen(
            [EXE, "serve", "--port", "0", "--db", db, "--forward", f"orders={hook}"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
            preexec_fn=_as_from_a_terminal)  # noqa: PLW1509 - signals only
        try:
            out = _Lines(proc.stdout)
            port = int(re.search(r"http://127\.0\.0\.1:(\d+)", out.next()).group(1))  # type: ignore[union-attr]
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            sent: dict[int, str] = {}  # seq -> bin
            for seq in range(orders + others):
                bin_ = "orders" if not others or seq % 2 == 0 else "other"
                conn.request("POST", f"/{bin_}/x", json.dumps({"seq": seq}),
                             {"Content-Type": "application/json"})
                r = conn.getresponse()
                r.read()
                assert r.status == 200
                sent[seq] = bin_
            conn.close()
            app.wait(stop_after, timeout=30)
            if delay == 0:  # (all answered: wait for their lines, outcomes stored)
                deadline = time.monotonic() + 30
                while sum("forwarded to" in line for line in out.all) < orders:
                    assert time.monotonic() < deadline, out.all
                    out.next()
            proc.send_signal(signal.SIGINT)
            assert proc.wait(30) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        out.thread.join(10)
        stdout = "".join(out.all + list(out.q.queue))
        err = proc.stderr.read()  # type: ignore[union-attr]
        assert stdout.endswith("hooklab: stopped\n") and "Traceback" not in err, (stdout, err)
        assert "lab.replay" not in err and "waiting for a slow target" not in err, err
        time.sleep(delay + 0.5)  # (a request still on its way reaches the app)

        lab = hooklab.open(db)
        try:
            id_of = {json.loads(c.body)["seq"]: c.id for c in lab.captures}
            recorded = [f["capture_id"] for f in lab.forwards()]
            statuses = {f["status"] for f in lab.forwards()}
        finally:
            lab.stop()
        forwarded_ids = sorted(id_of[s] for s, b in sent.items() if b == "orders")
        got = [id_of[seq] for _, seq in _received(app)]
        assert len(got) == len(set(got)), got  # each at most once
        assert statuses <= {200}
        # every forward whose outcome is stored has its line, once (4 of them had none)
        lines = [int(m) for m in re.findall(r"^#(\d+) forwarded to ", stdout, re.M)]
        assert sorted(lines) == sorted(recorded) and len(set(lines)) == len(lines), stdout
        n_unsent, unsent = _said(err, "not sent")
        n_on_way, on_way = _said(err, "on")
        assert (n_unsent, n_on_way) == (len(unsent), len(on_way)), err
        # the three add up to the captures of the forwarded bin, none counted twice
        assert sorted(recorded + unsent + on_way) == forwarded_ids, err
        # the app got those recorded and those on their way, and none of those not sent
        assert sorted(got) == sorted(recorded + on_way), (got, err)
        if delay < 2:  # (the stop waits 2 s for the forwards on their way)
            assert on_way == [] and "not finished" not in err, err
            # the queue is first in, first out: what the workers took was finished
            # (outcomes are stored in the order the app answered them)
            assert sorted(recorded) == forwarded_ids[:len(recorded)]
            assert len(recorded) >= stop_after
        else:
            assert (recorded, on_way) == ([], forwarded_ids)
            assert (f"hooklab: 2 forwards on their way not finished (sent, no answer when "
                    f"serve stopped: the app may have them, and a replay could deliver them "
                    f"twice) to {hook}: #1-2\n") in err, err
        if delay == 0 or orders == stop_after:
            assert unsent == [], err
        if not unsent:
            assert "to send them" not in err
            return
        assert unsent == forwarded_ids[len(recorded):] and len(unsent) >= orders - stop_after - 4
        # the command it prints sends exactly those, each once: none twice, none of the other bin
        (command,) = [line.split("to send them: ", 1)[1] for line in err.splitlines()
                      if line.startswith("hooklab: to send them: ")]
        words = shlex.split(command)
        assert words[:2] == ["hooklab", "replay"] and len(command) < 400, command
        app.delay = 0
        before = len(_received(app))
        r = subprocess.run([EXE, *words[1:]], capture_output=True, text=True, timeout=60,
                           env=ENV)
        assert r.returncode == 0, r.stderr
        replayed = _received(app)[before:]
        assert sorted(id_of[seq] for _, seq in replayed) == unsent
        assert {path for path, _ in replayed} == {"/hook/x"}
        every = [id_of[seq] for _, seq in _received(app)]
        assert sorted(every) == forwarded_ids  # the app has each capture of the bin once


@pytest.mark.parametrize("given,ids", [
    ("7", [7]),
    ("13-40", list(range(13, 41))),
    ("3,5,9-12", [3, 5, 9, 10, 11, 12]),
    (" 4 - 6 ", [4, 5, 6]),
    ("2,2", [2, 2]),
])
def test_replay_takes_ranges_of_ids(tmp_path, given: str, ids: list[int]) -> None:  # type: ignore[no-untyped-def]
    """``replay --id 13-40``, as serve's advice writes it: each id of it replayed, in order."""
    from hooklab.store import CaptureStore

    db = str(tmp_path / "c.sqlite3")
    with CaptureStore(db) as store:
        for seq in range(1, 41):
            store.add_sync({"method": "POST", "path": "/orders/x", "body":
                            json.dumps({"seq": seq}).encode()})
    with Target() as app:
        r = subprocess.run([EXE, "replay", "--db", db, "--id", given, "--to", f"{app.url}/hook"],
                           capture_output=True, text=True, timeout=60, env=ENV)
        assert r.returncode == 0, r.stderr
        assert [seq for _, seq in _received(app)] == ids
        assert [int(m) for m in re.findall(r"^#(\d+) -> 200", r.stdout, re.M)] == ids


@pytest.mark.parametrize("given,says", [
    ("abc", "not a capture id or a range of them: 'abc'"),
    ("5-3", "the range 5-3 is backwards (write 3-5)"),
    ("1-20000", "the range 1-20000 names 20,000 ids: at most 10,000 in one range"),
    ("1-", "not a capture id or a range of them: '1-'"),
    ("1,,2", "not a capture id or a range of them: ''"),
    ("1-2-3", "not a capture id or a range of them: '1-2-3'"),
])
def test_replay_refuses_a_malformed_id(tmp_path, given: str, says: str) -> None:  # type: ignore[no-untyped-def]
    r = subprocess.run([EXE, "replay", "--db", str(tmp_path / "none.sqlite3"), "--id", given,
                        "--to", "http://127.0.0.1:9/"], capture_output=True, text=True,
                       timeout=60, env=ENV)
    assert r.returncode == 2 and says in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert not (tmp_path / "none.sqlite3").exists()
