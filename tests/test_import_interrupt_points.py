"""Ctrl-C at every moment of a bulk import's hand-over of a chunk to the writer, and of its
end: what :class:`hooklab.store.ImportInterrupted` says is stored is what the database holds.

Python raises a KeyboardInterrupt in the main thread right after a call returns, as a function
starts or at a loop's turn. One that came just after the write queue's ``put`` returned (the
chunk in the queue, the import not yet knowing it) left the writer storing a chunk the import
did not count: "the first 0 records are stored" of a database holding 5,000, and ``skip=0``
imported them twice; one as the indexes were made again, after every record was stored, was a
bare KeyboardInterrupt. A real Ctrl-C found the first one run in four on a loaded machine
(``test_import_interrupted.py``). Here a tracer raises the interrupt at each such moment in
turn (the instructions after which Python looks for a signal, in the code of hooklab, ``queue``
and ``concurrent.futures``), from the moment the store starts handing a chunk over, in a
process of its own.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(600)

_SCRIPT = r'''
import dis, json, os, sqlite3, sys
import hooklab
from hooklab.store import ImportInterrupted

src, where, n_records, first_points = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
WATCH = (os.sep + "hooklab" + os.sep, os.sep + "queue.py",
         os.sep + "concurrent" + os.sep + "futures" + os.sep)
#: instructions after which Python looks for a signal to handle
AFTER = {"CALL", "CALL_KW", "CALL_FUNCTION", "CALL_FUNCTION_KW", "CALL_FUNCTION_EX",
         "CALL_METHOD", "RESUME", "JUMP_BACKWARD", "JUMP_ABSOLUTE"}


def run(chunk, at, name):
    """Import src into a new database, a KeyboardInterrupt raised at point ``at`` counted
    from the start of the hand-over of chunk number ``chunk`` (to the import's end): what the
    import said is stored (None: it finished), what the database holds, the points there were."""
    db = os.path.join(where, f"{name}.sqlite3")
    st = {"chunks": 0, "points": 0, "armed": False, "done": False}
    last = {}

    def local(frame, event, arg):
        if st["done"]:
            return None
        if event == "opcode":
            before = last.get(id(frame))
            last[id(frame)] = dis.opname[frame.f_code.co_code[frame.f_lasti]]
            if before in AFTER:
                st["points"] += 1
                if st["points"] == at:
                    st["done"] = True
                    sys.settrace(None)
                    raise KeyboardInterrupt
        return local

    def tracer(frame, event, arg):
        if st["done"]:
            return None
        code = frame.f_code
        if not any(w in code.co_filename for w in WATCH):
            return None
        if not st["armed"]:
            if code.co_name != "_store_chunk":  # (the store hands a chunk to its writer)
                return None
            st["chunks"] += 1
            if st["chunks"] != chunk:
                return None
            st["armed"] = True
        last.pop(id(frame), None)
        frame.f_trace_opcodes = True
        return local

    said, lab = None, None
    sys.settrace(tracer)
    try:
        lab = hooklab.load_jsonl(src, db=db)
    except ImportInterrupted as exc:
        said = exc.stored
    except KeyboardInterrupt:
        said = "a bare KeyboardInterrupt"
    finally:
        sys.settrace(None)
    if lab is not None:
        lab.stop()
    with sqlite3.connect(db) as con:
        bodies = [bytes(b) for (b,) in con.execute("SELECT body FROM captures ORDER BY id")]
    return said, bodies, st["points"], st["chunks"]


said, bodies, _, chunks = run(0, -1, "all")
assert said is None and len(bodies) == n_records and chunks == 2, (said, len(bodies), chunks)
wrong, tried = [], {}
for chunk in (1, 2):
    _, _, total, _ = run(chunk, -1, f"count-{chunk}")
    # (the first chunk: its hand-over and the wait for it; the last: to the import's end)
    tried[chunk] = total if chunk == 2 else min(total, first_points)
    for at in range(1, tried[chunk] + 1):
        said, got, _, _ = run(chunk, at, f"{chunk}-{at}")
        if said is not None and (not isinstance(said, int) or got != bodies[:said]):
            wrong.append({"chunk": chunk, "point": at, "said": said, "stored": len(got)})
print(json.dumps({"tried": tried, "wrong": wrong}))
'''


def test_an_interrupt_at_any_moment_of_a_chunks_hand_over_says_what_is_stored(
        tmp_path: Path) -> None:
    n = 5_001  # (two chunks of the import: 5,000 and 1)
    src = tmp_path / "export.jsonl"
    with open(src, "w") as f:
        for i in range(n):
            f.write(json.dumps({"method": "POST", "path": f"/b{i % 3}",
                                "received_at": "2026-10-01T00:00:00Z",
                                "headers": [["Content-Type", "application/json"]],
                                "body": json.dumps({"i": i})}) + "\n")
    r = subprocess.run([sys.executable, "-c", _SCRIPT, str(src), str(tmp_path), str(n), "40"],
                       capture_output=True, text=True, timeout=540)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    # (points were tried: the first chunk's hand-over and wait, the last one's to the end)
    assert out["tried"]["1"] == 40 and out["tried"]["2"] >= 20, out
    assert out["wrong"] == [], out
