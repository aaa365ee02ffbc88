"""``search=`` when another connection writes the same database file: an import into the file a
notebook's lab serves (``hooklab.load_jsonl(export, db=".hooklab/captures.sqlite3")``, in that
kernel or a second one), whose rows the importer had not indexed yet when the lab looked.

The serving lab trusted its own "caught up" for every row of the file, and its next webhook
moved the file's index marker past the imported rows: ``search=`` of every lab on the file,
``hooklab.open`` too, then missed them for good (an outside tester: 791 of 1,500 in a real
kernel, 883 of 1,059 across two processes, for ever).

Real files, a real serving lab, the other writer a real second process that stores its rows
and ends before its search index has caught up (as a kernel shut down, or a notebook closed,
right after an import).
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import hooklab

pytestmark = pytest.mark.timeout(300)

N = 20_000
WORD = "zephyrine"

#: the other process: an import into the file, then gone at once (os._exit: no catch-up)
_IMPORT = textwrap.dedent("""
    import json, os, sys
    from hooklab.store import CaptureStore
    store = CaptureStore(sys.argv[1])
    n = int(sys.argv[2])
    store.add_many({"method": "POST", "path": f"/imp{i % 3}",
                    "headers": [["Content-Type", "application/json"]],
                    "body": json.dumps({"i": i, "note": ("%s tea" if i % 100 == 0 else "plain %s")
                                        % ("zephyrine" if i % 100 == 0 else "tea"),
                                        "pad": "x" * 300}).encode()}
                   for i in range(n))
    os._exit(0)
""")


def _marker_and_top(path: Path) -> tuple[int, int]:
    with sqlite3.connect(path) as db:
        (marker,) = db.execute("SELECT value FROM meta WHERE key = 'search_upto'").fetchone()
        (top,) = db.execute("SELECT MAX(id) FROM captures").fetchone()
    return int(marker), top


@pytest.mark.parametrize("first", ["search", "webhook"])
def test_rows_another_connection_stored_are_found_now_and_later(tmp_path: Path, first: str) -> None:
    db = tmp_path / "captures.sqlite3"
    lab = hooklab.HookLab(port=0, db=str(db)).start()
    try:
        assert hooklab.send(lab.url_for("mine"), payload={"n": 0}).status == 200
        lab.wait(1, timeout=10)
        subprocess.run([sys.executable, "-c", _IMPORT, str(db), str(N)], check=True, timeout=240)
        marker, top = _marker_and_top(db)
        assert top == N + 1 and marker < top  # (the importer's index had not caught up)
        # the ids of the imported captures holding the word (the lab's own came first: id 1)
        want = [2 + i for i in range(0, N, 100)]
        if first == "search":  # the serving lab, right away
            assert [c.id for c in lab.query(search=WORD)] == want
        # a webhook to the serving lab, indexed as it is stored: the marker does not jump
        assert hooklab.send(lab.url_for("mine"), payload={"n": 1, "note": WORD}).status == 200
        lab.wait(2, bin="mine", timeout=10)
        assert [c.id for c in lab.query(search=WORD)] == [*want, N + 2]
        assert lab.store.wait_for(lambda: _marker_and_top(db)[0] >= N + 2, timeout=60)
    finally:
        lab.stop()
    # the file as any lab opens it later: every capture holding the word, by the index
    again = hooklab.open(str(db))
    try:
        assert [c.id for c in again.query(search=WORD)] == [*want, N + 2]
        assert again.store.count(search=WORD) == len(want) + 1
        assert json.loads(again.get(N + 2).body)["note"] == WORD
    finally:
        again.stop()


@pytest.mark.parametrize("marker", ["abc", "", "1.5", None])
def test_a_marker_that_is_no_number_is_as_if_none(tmp_path: Path, marker: object) -> None:
    """(security review) a ``search_upto`` (or ``segments_upto``) that is no number in a damaged
    or crafted file: ``hooklab.open`` and a lab on the file failed with int()'s ValueError."""
    db = tmp_path / "captures.sqlite3"
    lab = hooklab.HookLab(db=str(db))
    lab.store.add_many({"path": "/b", "body": json.dumps({"note": WORD if i % 10 == 0 else "x"}).encode()}
                       for i in range(100))
    lab.stop()
    with sqlite3.connect(db) as con:
        con.execute("UPDATE meta SET value = ? WHERE key IN ('search_upto', 'segments_upto')",
                    (marker,))
    for opened in (hooklab.open(str(db)), hooklab.HookLab(port=0, db=str(db)).start()):
        try:
            assert [c.id for c in opened.query(search=WORD)] == list(range(1, 101, 10))
            assert len(opened.dataframe()) == 100
        finally:
            opened.stop()
