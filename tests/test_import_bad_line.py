"""A bad line stops an import into a file after the chunks before it were stored: the error says
how many records of the file are stored and the ``skip=`` that imports the rest.

``hooklab.load_jsonl(path, db=file)`` commits thousands of rows per transaction. A bad line
11,000 raised "line 11000 is not a capture (...)" alone while the first 10,000 records were
already in the file: putting the line right and importing again stored them twice, and
``skip=10999`` (what the line number suggests) lost 999. As Ctrl-C's ``ImportInterrupted``
and the full-disk ``StoreError`` do, the error now says how many are stored; following it
(put the line right, import with the ``skip=`` it gives) leaves each record in the file
once. An in-memory lab (``load_jsonl`` without ``db``, ``load_har``) keeps nothing, and its
error says nothing of stored records.

Real JSON Lines and HAR files, real SQLite files; what is stored is counted with ``sqlite3``,
not taken from hooklab.
"""

from __future__ import annotations

import base64
import json
import re
import sqlite3
from pathlib import Path

import pytest

import hooklab

pytestmark = pytest.mark.timeout(600)

N = 12_000  # records in the file (lines 1 to N)


def line(i: int, method: str = "POST") -> str:
    """Line ``i`` as ``lab.export(path)`` writes it; its body ``{"n": i}`` says which it is."""
    body = json.dumps({"n": i}).encode()
    return json.dumps({
        "id": i, "kind": "http", "received_at": "2026-11-01T10:00:00Z", "method": method,
        "path": "/b", "bin": "b", "url": "http://127.0.0.1:8765/b", "query": {},
        "headers": [["Content-Type", "application/json"]], "remote_addr": "127.0.0.1",
        "status": 200, "body_b64": base64.b64encode(body).decode()}) + "\n"


def write(path: Path, bad: int | None, lines: range = range(1, N + 1)) -> None:
    path.write_text("".join(line(i, "PO ST" if i == bad else "POST") for i in lines))


def stored(db: Path) -> list[int]:
    """The ``n`` of every capture in the database file, by ``sqlite3`` itself."""
    with sqlite3.connect(db) as con:
        return sorted(json.loads(b)["n"] for (b,) in con.execute("SELECT body FROM captures"))


#: case: (the bad line, records an earlier import stored (the import is resumed with
#: ``skip=`` that many), whether the lab is a file)
CASES = {
    "line 11000, after two chunks": (11_000, 0, True),
    "line 5001, right after the first chunk": (5_001, 0, True),
    "line 12000, the last": (12_000, 0, True),
    "line 11000 of an import resumed with skip=3000": (11_000, 3_000, True),
    "line 10, in the first chunk (nothing stored)": (10, 0, True),
    "line 11000 into memory (nothing kept)": (11_000, 0, False),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_error_says_what_is_stored_and_following_it_stores_each_record_once(
        case: str, tmp_path: Path) -> None:
    bad, earlier, to_file = CASES[case]
    src, db = tmp_path / "in.jsonl", tmp_path / "c.sqlite3"
    write(src, bad)
    name = str(src)
    if earlier:  # (an earlier import of the file, interrupted after its first records)
        part = tmp_path / "part.jsonl"
        write(part, None, range(1, earlier + 1))
        hooklab.load_jsonl(part, db=str(db)).stop()
        assert stored(db) == list(range(1, earlier + 1))
    kw = {"db": str(db)} if to_file else {}
    with pytest.raises(ValueError) as refused:
        hooklab.load_jsonl(src, skip=earlier, **kw)
    message = str(refused.value)
    reason = f"{name!r}: line {bad} is not a capture (method 'PO ST' is not an HTTP token)"
    if not to_file:
        assert message == reason
        assert not db.exists()
        return
    kept = stored(db)
    assert kept == list(range(1, len(kept) + 1))  # the first records of the file, each once
    assert earlier <= len(kept) < bad
    if len(kept) == earlier:  # nothing more stored: the error as it was
        assert message == reason
    else:
        assert message == (f"{reason}; the first {len(kept)} records are stored (do not import"
                           f" them again): once it is put right, import the rest with"
                           f" skip={len(kept)}")
        assert isinstance(refused.value, hooklab.store.ImportFailed)
        assert refused.value.stored == len(kept) - earlier
    # the user does what it says: puts the line right, imports with the skip= it gives
    skip = int(m[1]) if (m := re.search(r"skip=(\d+)$", message)) else earlier
    write(src, None)
    hooklab.load_jsonl(src, db=str(db), skip=skip).stop()
    assert stored(db) == list(range(1, N + 1))


def test_a_har_import_keeps_nothing_and_says_nothing_of_stored_records(tmp_path: Path) -> None:
    """``hooklab.load_har`` makes an in-memory lab: a bad entry after thousands leaves nothing
    behind, and its error names the entry alone."""
    src, har = tmp_path / "in.jsonl", tmp_path / "in.har"
    write(src, None)
    lab = hooklab.load_jsonl(src)
    lab.export_har(har)
    lab.stop()
    lines = har.read_text().split("\n")
    entry = 11_000  # (a line each, after the one that opens the entries)
    assert lines[entry].count('"method": "POST"') == 1
    lines[entry] = lines[entry].replace('"method": "POST"', '"method": "PO ST"')
    har.write_text("\n".join(lines))
    with pytest.raises(ValueError) as refused:
        hooklab.load_har(har)
    message = str(refused.value)
    assert message.startswith(f"{str(har)!r}: HAR entry {entry - 1} ")
    assert "PO ST" in message and "stored" not in message and "skip=" not in message
