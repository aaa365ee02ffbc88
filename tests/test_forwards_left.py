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
from test_cli_forward_stop import _SlowApp

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
    with _SlowApp(delay) as app:
        lab = hooklab.HookLab(port=0, db=db).start()
        try:
            assert not lab.forwards_left and lab.forwards_left.ids() == []  # (no stop yet)
            lab.forward("orders", app.url)
            _post(lab.bound_port, "orders", range(n))
            _post(lab.bound_port, "other", range(n, n + 2))  # (not forwarded: never named)
            app.wait(stop_after)
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
        received = app.received()

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
                          "(the lab stopped or moved to another database); replay them with "
                          "lab.replay (lab.forwards_left names them)"], warned
    assert bool(left) == bool(unsent or unanswered)


@pytest.mark.parametrize("which", ["sent", "", "UNSENT", None])
def test_forwards_left_ids_refuses_an_unknown_kind(which: object) -> None:
    from hooklab.outbound.forward import ForwardsLeft

    with pytest.raises(ValueError, match="which must be 'unsent' or 'unanswered'"):
        ForwardsLeft().ids(which)  # type: ignore[arg-type]
