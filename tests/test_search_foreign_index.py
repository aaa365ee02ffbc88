"""Two hooklab versions on one database file: an older one, opened in another process while
a lab of this version serves the file, rebuilds the search index with the words of its own
``SEARCH_VERSION`` (it does not know this one's). The serving lab went on reading that index
as its own: ``search=`` missed captures and found others by words they do not hold (found
upgrading, with yesterday's hooklab opening today's file). Now it notices the index is not
its own and matches row by row (the answers stay right), writes no more words into it, and
the next open rebuilds it.

The older hooklab's rebuild is made here as it makes it, with sqlite3 on the file: the index
emptied, words of its own written, its version and its marker set."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from _http import post

import hooklab
from hooklab.store._search import SEARCH_VERSION

BODIES = [b"alpha one", b"bravo two", b"charlie three"]


def ids(lab: hooklab.HookLab, needle: str) -> list[int]:
    return sorted(int(i) for i in lab.dataframe(search=needle)["id"])


def older_rebuild(path: Path) -> None:
    """What an older hooklab's open does to the file: its words (here: capture 1 holds
    ``narwhal``, which no body says), its version, the marker at the last capture."""
    db = sqlite3.connect(path, timeout=30)
    try:
        (top,) = db.execute("SELECT MAX(id) FROM captures").fetchone()
        db.executescript(
            "BEGIN IMMEDIATE;"
            " INSERT INTO captures_fts(captures_fts) VALUES ('delete-all');"
            " INSERT INTO captures_fts(rowid, words) VALUES (1, 'narwhal');"
            f" UPDATE meta SET value = '{int(SEARCH_VERSION) - 1}' WHERE key = 'search_version';"
            f" UPDATE meta SET value = '{top}' WHERE key = 'search_upto';"
            " COMMIT;")
    finally:
        db.close()


def indexed(path: Path, word: str) -> list[int]:
    db = sqlite3.connect(path, timeout=30)
    try:
        return [r for (r,) in db.execute(
            "SELECT rowid FROM captures_fts WHERE captures_fts MATCH ?", (word,))]
    finally:
        db.close()


def test_a_lab_does_not_read_an_index_another_version_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    lab = hooklab.HookLab(port=0, db=str(path)).start()
    try:
        for body in BODIES:
            assert post(lab.url_for("b"), body, {"Content-Type": "text/plain"})[0] == 200
        lab.wait(3, timeout=30)
        assert ids(lab, "bravo") == [2] and ids(lab, "narwhal") == []
        older_rebuild(path)
        # (the answers of the bodies, not of the older index's words)
        assert ids(lab, "bravo") == [2]
        assert ids(lab, "narwhal") == []
        assert ids(lab, "alpha") == [1] and ids(lab, "three") == [3]
        # captures stored after it are found, and their words go into no index of another
        # version
        assert post(lab.url_for("b"), b"delta four", {"Content-Type": "text/plain"})[0] == 200
        lab.wait(4, timeout=30)
        assert ids(lab, "delta") == [4]
        assert [c.body for c in lab.query(search="delta")] == [b"delta four"]
        deadline = time.monotonic() + 3  # (the writer's quiet moments: no catch-up into it)
        while time.monotonic() < deadline:
            assert indexed(path, "delta") == []
            time.sleep(0.2)
    finally:
        lab.stop()
    # opened again by this version: the index is rebuilt with its words
    again = hooklab.open(str(path))
    try:
        assert ids(again, "narwhal") == [] and ids(again, "bravo") == [2] and ids(again, "delta") == [4]
        deadline = time.monotonic() + 30
        while indexed(path, "delta") != [4] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert indexed(path, "delta") == [4] and indexed(path, "narwhal") == []
        db = sqlite3.connect(path)
        try:
            (version,) = db.execute("SELECT value FROM meta WHERE key = 'search_version'").fetchone()
        finally:
            db.close()
        assert version == SEARCH_VERSION
    finally:
        again.stop()
