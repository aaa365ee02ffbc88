"""``lab.forwards_left``: what a stop left of the forwards, capture ids and all.

``hooklab serve`` learnt which forwards a Ctrl-C left unfinished by reaching into the lab's
private forwarder (its ``restore`` hook patched) and filtering the ``hooklab`` logger; a
Python user had only a warning with a count. Now the stopped lab says it: the forwards never
sent, those sent with no answer, and ``stop(quiet_forwards=True)`` leaves the warning out."""

from __future__ import annotations

import http.client
import json
import logging
import time

import pytest
from _target import Target
from test_cli_forward_stop import _received

import hooklab


def _post(port: int, bin_: str, seqs: range) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        for seq in seqs:
            conn.request("POST", f"/{bin_}/x", json.dumps({"seq": seq}),
                         {"Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            assert r.status == 200
    finally:
        conn.close()


@pytest.mark.parametrize("n,delay,stop_after,quiet", [
    # (captures of the forwarded bin, the app's seconds per answer, how many the app has
    # received when the lab stops, stop(quiet_forwards=...))
    (24, 0.5, 4, True),    # a backlog: most never sent, those on their way finished
    (24, 0.5, 4, False),   # the same, and the warning says how many
    (2, 3.0, 2, True),     # the app answers after the stop gave up waiting: no answer
    (3, 0.0, 3, False),    # a fast app: nothing left, nothing said
], ids=["backlog-quiet", "backlog-warned", "slower-than-the-stop", "all-done"])
def test_forwards_left_names_each_forward_a_stop_left(
        tmp_path, caplog, n: int, delay: float, stop_after: int, quiet: bool) -> None:  # type: ignore[no-untyped-def]
    db = str(tmp_path / "c.sqlite3")
    with Target(delay=delay) as app:
        lab = hooklab.HookLab(port=0, db=db).start()
        try:
            assert not lab.forwards_left and lab.forwards_left.ids() == []  # (no stop yet)
            lab.forward("orders", app.url)
            _post(lab.bound_port, "orders", range(n))
            _post(lab.bound_port, "other", range(n, n + 2))  # (not forwarded: never named)
            app.wait(stop_after, timeout=30)
            if delay == 0:  # (all answered: their outcomes stored first)
                deadline = time.monotonic() + 30
                while len(lab.forwards()) < n:
                    assert time.monotonic() < deadline, lab.forwards()
                    time.sleep(0.02)
            with caplog.at_level(logging.WARNING, logger="hooklab"):
                lab.stop(quiet_forwards=quiet)
        finally:
            lab.stop()
        left = lab.forwards_left
        time.sleep(delay + 0.5)  # (a request still on its way reaches the app)
        received = _received(app)

    again = hooklab.open(db)
    try:
        id_of = {json.loads(c.body)["seq"]: c.id for c in again.captures}
        recorded = sorted(f["capture_id"] for f in again.forwards())
    finally:
        again.stop()
    orders = sorted(id_of[s] for s in range(n))
    got = sorted(id_of[seq] for _, seq in received)
    unsent, unanswered = left.ids("unsent"), left.ids("unanswered")
    # every forward is one of: recorded, never sent, sent with no answer; none twice
    assert sorted(recorded + unsent + unanswered) == orders, (recorded, left)
    assert got == sorted(recorded + unanswered), (got, left)  # the app got none never sent
    for entry in left.unsent + left.unanswered:  # one entry: the bin and its target
        assert (entry.bin, entry.target) == ("orders", app.url), left
        assert list(entry.ids) == sorted(entry.ids)
    if delay >= 2:  # (the stop waits 2 s for the forwards on their way)
        assert (recorded, unanswered, unsent) == ([], orders, []), left
    else:
        assert unanswered == [], left
    if delay == 0:
        assert not left and recorded == orders
    if delay == 0.5:  # first in, first out: what was taken was finished, the rest not sent
        assert unsent == orders[len(recorded):] and len(unsent) >= n - stop_after - 4, left
    warned = [r.getMessage() for r in caplog.records if "not sent" in r.getMessage()]
    if quiet or not unsent:
        assert warned == [], warned
    else:
        assert warned == [f"{len(unsent)} forwards waiting for a slow target were not sent "
                          "(the lab stopped or moved to another database); lab.forwards_left "
                          f"names them, captures of {db} (hooklab.open({db!r}).replay(...) "
                          "sends them)"], warned
    assert bool(left) == bool(unsent or unanswered)
    assert left.db == db  # (the database the ids are of)


@pytest.mark.parametrize("which", ["sent", "", "UNSENT", None])
def test_forwards_left_ids_refuses_an_unknown_kind(which: object) -> None:
    from hooklab.outbound.forward import ForwardsLeft

    with pytest.raises(ValueError, match="which must be 'unsent' or 'unanswered'"):
        ForwardsLeft().ids(which)  # type: ignore[arg-type]


def test_a_move_s_forwards_left_name_the_database_they_are_of(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A lab forwarding to a slow app moves to another database that holds captures of its
    own under the same ids: ``lab.replay(lab.forwards_left.ids())`` sent the new database's
    captures (another bin's) to the app. The ids say which database they are of, and that
    database's captures of those ids are the ones forwarded."""
    a, b = str(tmp_path / "a.sqlite3"), str(tmp_path / "b.sqlite3")
    other = hooklab.HookLab(port=0, db=b).start()
    try:
        _post(other.bound_port, "payroll", range(100, 108))
        other.wait(8, timeout=10)
    finally:
        other.stop()
    with Target(delay=3.0) as app:
        lab = hooklab.HookLab(port=0, db=a).start()
        try:
            lab.forward("orders", to=app.url)
            _post(lab.bound_port, "orders", range(8))
            lab.wait(8, timeout=10)
            lab.db = b
            left = lab.forwards_left
        finally:
            lab.stop(quiet_forwards=True)
    assert left.db == a and left.ids("unsent")
    was = hooklab.open(a)
    try:
        assert {was.get(i).bin for i in left.ids("unsent")} == {"orders"}
    finally:
        was.stop()


def test_a_stop_leaves_no_forward_worker_waiting_for_ever() -> None:
    """A stop while forwards hang: its drain took the workers' stop markers out of the queue
    too, and the four hooklab-forward threads waited on it for good, each keeping the closed
    store alive (a stop or a move leaked four)."""
    import threading

    earlier = set(threading.enumerate())  # (other tests' workers may still be sending)
    with Target(delay=2.5) as app:
        lab = hooklab.HookLab(port=0, db=":memory:", forward_timeout=3).start()
        lab.forward("orders", to=app.url)
        mine = [t for t in threading.enumerate()
                if t.name.startswith("hooklab-forward-") and t not in earlier]
        assert len(mine) == 4
        _post(lab.bound_port, "orders", range(12))
        lab.wait(12, timeout=10)
        time.sleep(0.3)  # (four on their way, the rest queued)
        lab.stop(quiet_forwards=True)
        deadline = time.monotonic() + 10  # (the sends on their way end within their timeout)
        while any(t.is_alive() for t in mine) and time.monotonic() < deadline:
            time.sleep(0.1)
    assert not [t.name for t in mine if t.is_alive()]
