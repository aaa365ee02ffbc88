"""A second Ctrl-C while an interrupted import waits for the chunk the writer is storing:
what :class:`hooklab.store.ImportInterrupted` says must still be true.

The wait stops at once (a user pressing Ctrl-C twice wants out), so the chunk may be stored
after the count was taken: the store said "the first 0 records are stored" of a database that
then held 5,000, and ``skip=0`` imported them twice. Now it says "at least" and ``maybe``: how
many more may be stored.

A real process, real SIGINTs sent to it while its main thread is at the moment named (seen in
its stack, from a thread of its own), and a real writer held up by another connection holding
the database's write lock, released (the chunk is stored after the count) or kept until the
writer gives up (the chunk is not stored).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(120)

_SCRIPT = r'''
import json, os, signal, sqlite3, sys, threading, time
from datetime import datetime, timezone
from hooklab.store import CaptureStore, ImportInterrupted

db, release = sys.argv[1], sys.argv[2] == "released"
N = 5_001
RECORDS = [{"method": "POST", "path": "/b", "received_at": datetime(2026, 10, 1, tzinfo=timezone.utc),
            "body": json.dumps({"i": i}).encode()} for i in range(N)]
main = threading.main_thread().ident


def at(names, seconds=30.0):
    """Wait until the main thread's stack holds every function in ``names``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        frame, seen = sys._current_frames().get(main), set()
        while frame is not None:
            seen.add(frame.f_code.co_name)
            frame = frame.f_back
        if set(names) <= seen:
            return True
        time.sleep(0.005)
    return False


def ctrl_c_twice():
    # (the first while the import waits for chunk 1, held up by the lock; the second while
    # the interrupted import waits for it)
    if at({"_store_chunk", "_wait"}):
        time.sleep(0.3)
        os.kill(os.getpid(), signal.SIGINT)
    if at({"settle", "_wait"}):
        time.sleep(0.2)
        os.kill(os.getpid(), signal.SIGINT)
    time.sleep(0.3)
    if release:
        blocker.execute("ROLLBACK")


store = CaptureStore(db)
store.add_sync({"method": "POST", "path": "/first", "body": b"before"})  # (no index drop)
blocker = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
blocker.execute("BEGIN IMMEDIATE")  # the writer waits for it (its busy timeout: 5 s)
threading.Thread(target=ctrl_c_twice, daemon=True).start()
said = None
try:
    store.add_many(iter(RECORDS))
except ImportInterrupted as exc:
    said = {"stored": exc.stored, "maybe": getattr(exc, "maybe", 0), "text": str(exc)}
except KeyboardInterrupt:
    said = "a bare KeyboardInterrupt"
if not release:
    time.sleep(6)  # (the writer gives up on the lock)
    blocker.execute("ROLLBACK")
cap = store.add_sync({"method": "POST", "path": "/late", "body": b"after"}, timeout=10)
store.close()
blocker.close()
with sqlite3.connect(db) as con:
    bodies = [bytes(b) for (b,) in con.execute("SELECT body FROM captures ORDER BY id")]
print(json.dumps({"said": said, "bodies": [b.decode() for b in bodies],
                  "records": [r["body"].decode() for r in RECORDS]}))
'''


@pytest.mark.parametrize("lock, stored", [("released", 5_000), ("kept", 0)])
def test_a_second_ctrl_c_says_at_least_what_is_stored(tmp_path: Path, lock: str,
                                                       stored: int) -> None:
    r = subprocess.run([sys.executable, "-c", _SCRIPT, str(tmp_path / "c.sqlite3"), lock],
                       capture_output=True, text=True, timeout=100,
                       preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # noqa: PLW1509
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    said, bodies, records = out["said"], out["bodies"], out["records"]
    assert isinstance(said, dict), out["said"]
    # the database: the first capture, the chunk the writer was storing or not, the late one
    assert bodies == ["before", *records[:stored], "after"], (said, len(bodies))
    # what was said is true: nothing was stored when the count was taken, and chunk 1 was
    # being written, so 0 for sure and perhaps its 5,000
    assert (said["stored"], said["maybe"]) == (0, 5_000), said
    assert said["text"] == (
        "import interrupted: at least the first 0 records are stored, perhaps the first 5000 "
        "(the writer was still storing 5000 when the wait for it was cut short): count them "
        "before importing the rest"), said
