"""Ctrl-C during ``hooklab.load_jsonl(export, db=FILE)``: the first records stay stored (each
chunk is a transaction), and the interrupt says how many and how to import the rest
(``skip=``). It was a bare ``KeyboardInterrupt`` from inside the store, the file holding 0,
35,000 or all 150,000 captures with nothing to tell which, and importing the file again (the
obvious fix) stored them twice: 210,000 captures, the retries flagged ``duplicate``, the
bodies without a delivery id silently doubled.

A real process interrupted as a terminal's Ctrl-C does it (SIGINT), a real file big enough for
the helper processes (and one read in the process alone), then the rest imported with ``skip``.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

import hooklab

pytestmark = pytest.mark.timeout(300)

_IMPORT = """
import sys
import hooklab
print("importing", flush=True)
hooklab.load_jsonl(sys.argv[1], db=sys.argv[2])
print("done", flush=True)
"""


def _as_from_a_terminal() -> None:  # (a suite run from a script may ignore SIGINT)
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _export(path: Path, n: int, pad: int) -> list[bytes]:
    """``n`` captures as a JSON Lines export; their bodies, in order. Every 7th has no delivery
    id (a plain body: importing it twice doubled it unseen)."""
    bodies = []
    with open(path, "w") as f:
        for i in range(n):
            body = json.dumps({"id": f"evt_{i}", "type": "invoice.paid", "pad": "x" * pad}).encode()
            bodies.append(body)
            f.write(json.dumps({
                "method": "POST", "path": f"/b{i % 5}", "received_at": "2026-10-01T00:00:00Z",
                "headers": [["Content-Type", "application/json"]],
                "provider": None if i % 7 == 0 else "stripe",
                "delivery_id": None if i % 7 == 0 else f"evt_{i}",
                "body": body.decode()}) + "\n")
    return bodies


def _tables(db: Path) -> set[str]:
    with sqlite3.connect(db) as con:
        return {name for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _bodies(db: Path) -> list[bytes]:
    with sqlite3.connect(db) as con:
        return [bytes(b) for (b,) in con.execute("SELECT body FROM captures ORDER BY id")]


@pytest.mark.parametrize("n, pad", [(150_000, 480), (60_000, 80)], ids=["helpers", "one-process"])
def test_an_interrupted_import_says_what_is_stored_and_skip_imports_the_rest(
        tmp_path: Path, n: int, pad: int) -> None:
    src, db = tmp_path / "export.jsonl", tmp_path / "captures.sqlite3"
    bodies = _export(src, n, pad)
    said = None
    # (until the interrupt lands inside the import: on a loaded machine 1 s may still be in
    # the store's opening, before the import began, a plain KeyboardInterrupt storing nothing)
    for delay in (1.0, 0.5, 2.0, 0.2, 4.0):
        for p in tmp_path.glob("captures.sqlite3*"):
            p.unlink()
        proc = subprocess.Popen([sys.executable, "-c", _IMPORT, str(src), str(db)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                preexec_fn=_as_from_a_terminal)  # noqa: PLW1509 - signals only
        try:
            assert proc.stdout is not None and proc.stdout.readline() == "importing\n"
            time.sleep(delay)
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if "done" in out:
            continue  # (too late: the import was over)
        if "ImportInterrupted" not in err:  # too early: nothing of the file was stored yet
            assert err.strip().splitlines()[-1] == "KeyboardInterrupt", err
            assert not db.exists() or "captures" not in _tables(db) or _bodies(db) == [], err
            continue
        said = err
        break
    assert said is not None, "the import always finished before the interrupt"
    last = said.strip().splitlines()[-1]
    m = re.fullmatch(
        rf"hooklab\.store\.store\.ImportInterrupted: import of {re.escape(repr(str(src)))} "
        rf"interrupted: the first (\d+) records of the file are stored in "
        rf"{re.escape(repr(str(db)))}; to import the rest: hooklab\.load_jsonl\("
        rf"{re.escape(repr(str(src)))}, db={re.escape(repr(str(db)))}, skip=(\d+)\)", last)
    assert m and m.group(1) == m.group(2), said
    stored = int(m.group(1))
    assert 0 <= stored < n
    assert _bodies(db) == bodies[:stored]  # (exactly the first ones: what it says)
    lab = hooklab.load_jsonl(str(src), db=str(db), skip=stored)
    try:
        df = lab.dataframe()
        assert len(df) == n and _bodies(db) == bodies  # each once, in the file's order
        assert not df["duplicate"].any()
    finally:
        lab.stop()


@pytest.mark.parametrize("skip", [-1, 1.5, "3", True, None])
def test_skip_that_is_no_count_is_refused(tmp_path: Path, skip: object) -> None:
    src = tmp_path / "export.jsonl"
    _export(src, 3, 10)
    with pytest.raises(ValueError, match=r"skip must be a number of records \(0 or more\)"):
        hooklab.load_jsonl(str(src), skip=skip)


def test_skip_leaves_out_the_first_records(tmp_path: Path) -> None:
    src = tmp_path / "export.jsonl"
    bodies = _export(src, 10, 10)
    for skip, want in ((0, bodies), (3, bodies[3:]), (10, []), (11, [])):
        lab = hooklab.load_jsonl(str(src), skip=skip)
        try:
            assert [c.body for c in lab.captures] == want, skip
        finally:
            lab.stop()
    assert not os.path.exists(tmp_path / ".hooklab")
