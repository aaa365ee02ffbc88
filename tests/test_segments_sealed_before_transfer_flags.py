"""A database whose column segments were sealed by a hooklab before 5d3c3fc (their
``encoded`` flag 0 for a row sent with ``Transfer-Encoding: gzip, chunked``; its ``meta``
without ``segments_flags``) is sealed again where such a row is, once, when this hooklab
opens it: the frame's ``json`` reads those rows as ``capture.json()`` does (it was ``None``
for 4,096 of 4,300 rows).

The older file is made with a real SQLite file: the rows stored with the field under another
name (``X-Transfer-Encoding``: no coding, flag 0) until a segment is sealed over them, then
renamed in the table, and the ``meta`` entry taken away, as such a file has them.
"""

from __future__ import annotations

import gzip
import json
import sqlite3
import zlib
from pathlib import Path
from types import SimpleNamespace

import pytest
from _labs import sealed_copy

import hooklab

pytestmark = pytest.mark.timeout(300)

#: (Transfer-Encoding, coder of the JSON, whether the frame reads it)
ROWS = [
    ("gzip, chunked", gzip.compress, True),
    ("deflate, chunked", zlib.compress, True),
    ("gzip, gzip, chunked", lambda b: gzip.compress(gzip.compress(b)), True),
    ("chunked", lambda b: b, True),
    ("compress, chunked", gzip.compress, False),  # (a coding hooklab does not undo)
    ("gzip, gzip, gzip, gzip, chunked", lambda b: gzip.compress(gzip.compress(gzip.compress(
        gzip.compress(b)))), False),  # (more than three codings)
]


def _older_file(tmp_path: Path) -> tuple[Path, list[object]]:
    plain = [json.dumps({"type": "charge.succeeded", "n": i}).encode() for i in range(len(ROWS))]
    caps = [SimpleNamespace(path="/old/x", body=code(p), headers=[
        ("Content-Type", "application/json"), ("X-Transfer-Encoding", te)])
        for (te, code, _), p in zip(ROWS, plain, strict=True)]
    path = tmp_path / "old.sqlite3"
    sealed_copy(caps, path).stop()
    db = sqlite3.connect(path)
    try:
        assert db.execute("SELECT COUNT(*) FROM segments WHERE first_id = 1").fetchone()[0] == 1
        db.execute("UPDATE captures SET headers = replace(headers, '\"X-Transfer-Encoding\"',"
                   " '\"Transfer-Encoding\"') WHERE path = '/old/x'")
        db.execute("DELETE FROM meta WHERE key = 'segments_flags'")
        db.commit()
    finally:
        db.close()
    return path, [json.loads(p) if ok else None for (_, _, ok), p in zip(ROWS, plain, strict=True)]


def test_segments_sealed_before_read_transfer_coded_rows(tmp_path: Path) -> None:
    path, want = _older_file(tmp_path)
    lab = hooklab.open(str(path))
    try:
        df = lab.dataframe(path="/old/x")
        assert df["json"].tolist() == want
        assert [c.json() for c in lab.captures if c.path == "/old/x"] == want
        flat = lab.dataframe(path="/old/x", flatten=True)
        assert [t if isinstance(t, str) else None for t in flat["payload.type"]] == [
            w["type"] if w else None for w in want]
        assert len(lab.dataframe()) == len(ROWS) + 4096
    finally:
        lab.stop()
    db = sqlite3.connect(path)
    try:  # done once: the file says so, and its segment is still there
        assert db.execute("SELECT value FROM meta WHERE key = 'segments_flags'").fetchone() == ("2",)
        assert db.execute("SELECT COUNT(*) FROM segments WHERE first_id = 1").fetchone()[0] == 1
    finally:
        db.close()
