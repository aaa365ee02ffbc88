"""Ctrl-C at every moment of a bulk import (its start, the hand-over of a chunk to the
writer, its end): what :class:`hooklab.store.ImportInterrupted` says is stored is what the
database holds, and the store goes on working.

Python raises a KeyboardInterrupt in the main thread right after a call returns, as a function
starts or at a loop's turn. One that came just after the write queue's ``put`` returned (the
chunk in the queue, the import not yet knowing it) left the writer storing a chunk the import
did not count: "the first 0 records are stored" of a database holding 5,000, and ``skip=0``
imported them twice; one as the indexes were made again, after every record was stored, was a
bare KeyboardInterrupt. A real Ctrl-C found the first one run in four on a loaded machine
(``test_import_interrupted.py``). One just after ``threading.Condition.__enter__`` took the
lock of the queue's room (the ``with`` not yet begun: bpo-29988), as the import counted itself,
dropped or made the indexes again or woke the writer, kept that lock for good: the WAL syncer
waited on it forever, nothing was acknowledged any more and ``close()`` took a minute. One as
the import started a thread of its own left that thread waiting forever.

Here a tracer (``_interrupt_points.py``) raises the interrupt at each such moment in turn (the
instructions after which Python looks for a signal, in the code of hooklab, ``threading``,
``queue`` and ``concurrent.futures``), from the moment the import starts, or starts handing a
chunk over, in a process of its own; after each, a capture is stored and read back on the
same store, which then closes within seconds, leaving no thread of its own behind.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _interrupt_points import run_script

pytestmark = pytest.mark.timeout(600)

_SCRIPT = r'''
import json, os, sqlite3, sys, threading, time
from datetime import datetime, timezone
from hooklab.store import CaptureStore, ImportInterrupted
from hooklab.store.store import _Handover
from _interrupt_points import HOOKLAB, THREADS, Points

where, n_records, first_points = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ARMS = sys.argv[4].split(",")
WATCH = (HOOKLAB, *THREADS)
#: where the count of points starts: the import's start, the making of its hand-over (see
#: run), or the hand-over of chunk 1 or 2
#: ("twice": a second interrupt at the next point, as the first is being handled)
FROM = {"start": (CaptureStore, "add_rows", 1), "hand-over": (_Handover, "__init__", 1),
        "chunk 1": (CaptureStore, "_store_chunk", 1), "chunk 2": (CaptureStore, "_store_chunk", 2),
        "chunk 1 twice": (CaptureStore, "_store_chunk", 1),
        "chunk 2 twice": (CaptureStore, "_store_chunk", 2)}
RECORDS = [{"method": "POST", "path": f"/b{i % 3}", "received_at": datetime(2026, 10, 1, tzinfo=timezone.utc),
            "headers": [("Content-Type", "application/json")],
            "body": json.dumps({"i": i}).encode()} for i in range(n_records)]
LATE = {"method": "POST", "path": "/late", "body": b"after the interrupt"}


def run(arm, at, name, until=None):
    """Import RECORDS into a new database, a KeyboardInterrupt raised at point ``at`` counted
    from ``arm`` (to the import's end); then store and read one more capture and close.
    Returns what the import said is stored (None: it finished), the bodies the database holds
    (the late one left out), the points there were (from ``hand-over``: those until the
    hand-over was made), and what went wrong after it (or None).

    A count (``at`` -1) stops where no more is needed (its import goes on untraced): from
    ``hand-over``, as the hand-over is made; otherwise after ``until`` points, if given."""
    db = os.path.join(where, f"{name}.sqlite3")
    owner, func, nth = FROM[arm]
    made = arm == "hand-over"
    points = Points(at, watch=WATCH, start=(owner, func), nth=nth, again=arm.endswith("twice"),
                    until=until, until_return=made and at == -1)

    threads = set(threading.enumerate())
    store = CaptureStore(db)
    own = set(threading.enumerate())  # (the store's own threads)
    said = None
    with points:
        try:
            store.add_many(iter(RECORDS))
        except ImportInterrupted as exc:
            said = [exc.stored, getattr(exc, "maybe", 0)]
        except KeyboardInterrupt:
            said = "a bare KeyboardInterrupt"
    after = None
    deadline = time.monotonic() + 2  # (no thread of the import's left: the store's own only)
    while set(threading.enumerate()) - own and time.monotonic() < deadline:
        time.sleep(0.05)
    if set(threading.enumerate()) - own:
        after = f"threads left by the import: {sorted(t.name for t in set(threading.enumerate()) - own)}"
    try:  # the same store, still working: a capture stored, read back, the store closed
        cap = store.add_sync(dict(LATE), timeout=5)
        if store.get(cap.id).body != LATE["body"]:
            after = "the late capture reads back wrong"
    except Exception as exc:
        after = (after or "") + f" no capture stored after the interrupt: {exc!r}"
    closing = threading.Thread(target=store.close, daemon=True)
    closing.start()
    closing.join(5)
    if closing.is_alive():
        return said, [], points.count, (after or "") + " close() took over 5 s"
    deadline = time.monotonic() + 5
    while set(threading.enumerate()) - threads and time.monotonic() < deadline:
        time.sleep(0.05)
    left = sorted(t.name for t in set(threading.enumerate()) - threads)
    if left and after is None:
        after = f"threads left behind: {left}"
    with sqlite3.connect(db) as con:
        bodies = [bytes(b) for (b,) in con.execute("SELECT body FROM captures ORDER BY id")]
    if after is None and (not bodies or bodies[-1] != LATE["body"]):
        after = "the late capture is not in the database"
    total = points.at_return if made and points.at_return is not None else points.count
    return said, bodies[:-1], total, after


def hung(arm, at):
    wrong.append({"from": arm, "point": at, "after": "the import and what followed it took"
                  " over 30 s"})
    print(json.dumps({"tried": tried, "wrong": wrong}), flush=True)
    os._exit(0)


bodies_all = [r["body"] for r in RECORDS]
wrong, tried = [], {}
for arm in ARMS:
    # (the start and the first chunk: their first points; the hand-over: until it is made,
    # and the moments after; the last chunk: to the import's end)
    first = arm == "start" or arm.startswith("chunk 1")
    said, bodies, total, after = run(arm, -1, f"count-{arm}", first_points if first else None)
    # (without an interrupt: every record stored, and the store working after it)
    assert said is None and bodies == bodies_all and after is None, (arm, said, len(bodies), after)
    tried[arm] = {"hand-over": total + 10}.get(arm, min(total, first_points) if first else total)
    for at in range(1, tried[arm] + 1):
        # (a run that hangs is wrong too: said, and the rest left untried)
        watchdog = threading.Timer(30, hung, (arm, at))
        watchdog.start()
        said, got, _, after = run(arm, at, f"{arm}-{at}".replace(" ", ""))
        watchdog.cancel()
        if said is None:
            ok = got == bodies_all
        elif said == "a bare KeyboardInterrupt":  # (before anything was stored or started)
            ok = got == []
        else:  # (exactly the first ones: what it says; at least, after a second interrupt)
            ok = got == bodies_all[:len(got)] and said[0] <= len(got) <= sum(said) and (
                said[1] == 0 or arm.endswith("twice"))
        if not ok or after is not None:
            wrong.append({"from": arm, "point": at, "said": said, "stored": len(got),
                          "after": after})
            if len(wrong) >= 3:  # (enough to tell; each costs seconds)
                break
    if len(wrong) >= 3:
        break
print(json.dumps({"tried": tried, "wrong": wrong}))
'''


def _points(tmp_path: Path, arms: str, first: int = 40) -> dict:
    # (5,001 records: chunks of 5,000 and 1)
    return run_script(_SCRIPT, str(tmp_path), "5001", str(first), arms, timeout=540)


def test_an_interrupt_at_any_moment_of_an_import_says_what_is_stored_and_leaves_the_store_working(
        tmp_path: Path) -> None:
    out = _points(tmp_path, "start,hand-over,chunk 1,chunk 2")
    assert out["wrong"] == [], out
    # (points were tried: the import's start, the first chunk's hand-over and wait, the last
    # one's to the end)
    assert out["tried"]["start"] == 40 and out["tried"]["chunk 1"] >= 10, out
    assert out["tried"]["chunk 2"] >= 10 and out["tried"]["hand-over"] >= 10, out


def test_a_second_interrupt_says_at_least_what_is_stored(tmp_path: Path) -> None:
    """A second Ctrl-C right after the first (as it is being handled): what is said is
    still true ("at least", if the wait for the writer was cut short: see
    ``test_import_second_interrupt.py``) and the store goes on working."""
    out = _points(tmp_path, "chunk 1 twice,chunk 2 twice", 20)
    assert out["wrong"] == [], out
    assert out["tried"]["chunk 1 twice"] == 20 and out["tried"]["chunk 2 twice"] >= 10, out
