"""``search=`` reads a body by its header section: a ``Content-Type`` or ``Content-Encoding``
sent only as a trailer field (after a chunked body) describes none of it, on every path a
search takes, as :func:`hooklab.filters.search_text` with ``trailers_at`` does; the trailer
fields' own names and values are words like any header's.

Raw chunked requests with trailer fields go to a real lab on 127.0.0.1 with a real SQLite
file. Each search must find the bins written out here by hand: through the search index (and
the words the index itself holds), through the row-by-row twin (a read-only store whose
index is not built), right after a JSON Lines import into a file and into memory, in an
in-memory lab, in a Parquet export opened in place, and in a database whose index holds the
words an older hooklab made (they took the trailers' ``Content-Type``): reopened, its index
is rebuilt with the words of today.
"""

from __future__ import annotations

import gzip
import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from _chunked import chunked_post
from _http import raw_request

import hooklab
from hooklab.filters import search_line, search_text
from hooklab.store import CaptureStore
from hooklab.store._search import SEARCH_VERSION, phrase

pytestmark = pytest.mark.timeout(180)

Fields = list[tuple[str, str]]
JSON, FORM = "application/json", "application/x-www-form-urlencoded"

#: bin -> (header section after the first fields, trailer fields, body)
SENT: dict[str, tuple[Fields, Fields, bytes]] = {
    # gzip named only by a trailer: the body is not decoded (its bytes are no text)
    "gztrailer": ([("Content-Type", JSON)], [("Content-Encoding", "gzip")],
                  gzip.compress(b'{"animal": "zebra"}', mtime=0)),
    # gzip in the header section, "identity" as a trailer: decoded all the same
    "gzhead": ([("Content-Type", JSON), ("Content-Encoding", "gzip")],
               [("Content-Encoding", "identity")], gzip.compress(b'{"animal": "okapi"}', mtime=0)),
    # a form type only as a trailer: %20 stays as it was sent (words "hello", "20world")
    "formtrailer": ([], [("Content-Type", FORM)], b"a=hello%20world"),
    "formhead": ([("Content-Type", FORM)], [("X-Other", "1")], b"b=lynx%20cat"),
    # Latin-1 declared only by a trailer: the body is no UTF-8, so no text (no words)
    "latintrailer": ([], [("Content-Type", "text/plain; charset=latin-1")],
                     "caf\u00e9 ol\u00e9".encode("latin-1")),
    "latinhead": ([("Content-Type", "text/plain; charset=latin-1")], [("X-Other", "2")],
                  "cr\u00eape suzette".encode("latin-1")),
    # a trailer field's name and value are searched
    "trailernote": ([("Content-Type", "text/plain")], [("X-Trailer-Note", "pangolin")], b"plain"),
    # no trailers at all
    "none": ([("Content-Type", FORM)], [], b"c=quiet%20heron"),
}

#: (search text, the bins it finds)
SEARCHES: list[tuple[str, list[str]]] = [
    ("zebra", []),
    ("okapi", ["gzhead"]),
    ("hello world", []),
    ("hello 20world", ["formtrailer"]),
    ("lynx cat", ["formhead"]),
    ("ol\u00e9", []),
    ("caf", []),
    ("cr\u00eape suzette", ["latinhead"]),
    ("pangolin", ["trailernote"]),
    ("x-trailer-note: pang", ["trailernote"]),
    ("content-encoding gzip", ["gzhead", "gztrailer"]),
    ("content-encoding: identity", ["gzhead"]),
    ("quiet heron", ["none"]),
]
WANT = {needle: sorted(bins) for needle, bins in SEARCHES}


def _send(port: int) -> None:
    for name, (head, trailers, body) in SENT.items():
        answer = raw_request(port, chunked_post(f"/{name}", head, trailers, body))
        assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]


def _found(lab_or_store: object) -> dict[str, list[str]]:
    query = lab_or_store.query  # type: ignore[attr-defined]
    return {needle: sorted(c.bin for c in query(search=needle)) for needle, _ in SEARCHES}


def _index_found(path: Path) -> dict[str, list[str]]:
    """What the index itself (the words it holds) finds, read with sqlite3."""
    db = sqlite3.connect(path)
    try:
        got = {}
        for needle, _ in SEARCHES:
            rows = db.execute(
                "SELECT bin FROM captures WHERE id IN (SELECT rowid FROM captures_fts"
                " WHERE captures_fts MATCH ?)", (phrase(needle),)).fetchall()
            got[needle] = sorted(r[0] for r in rows)
        return got
    finally:
        db.close()


def _wait_indexed(path: Path) -> None:
    """Until the file's index marker covers every row (bounded)."""
    deadline = time.monotonic() + 30
    while True:
        db = sqlite3.connect(path)
        try:
            (upto,) = db.execute("SELECT value FROM meta WHERE key = 'search_upto'").fetchone()
            (top,) = db.execute("SELECT MAX(id) FROM captures").fetchone()
        finally:
            db.close()
        if int(upto) >= top:
            return
        assert time.monotonic() < deadline, f"index not caught up: {upto} < {top}"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A lab's file holding the captures of :data:`SENT`, sent as raw chunked requests."""
    where = tmp_path_factory.mktemp("search_trailers")
    db = where / "captures.sqlite3"
    lab = hooklab.start(port=0, db=str(db))
    try:
        _send(lab.bound_port)
        lab.wait(len(SENT), timeout=20)
        caps = {c.bin: c for c in lab.query()}
        assert caps["formtrailer"].trailers_at == 3 and caps["none"].trailers_at is None
        assert lab.export(where / "captures.jsonl") == len(SENT)
        assert lab.export(where / "parquet", fmt="parquet") == len(SENT)
    finally:
        lab.stop()
    yield db


def test_the_expected_values_are_search_texts(served: Path) -> None:
    """(the table above is what ``filters.search_text`` with ``trailers_at`` reads)"""
    lab = hooklab.open(served)
    try:
        caps = list(lab.captures)
    finally:
        lab.stop()
    for needle, bins in SEARCHES:
        got = sorted(c.bin for c in caps if hooklab.filters.matches_text(c, needle))
        assert got == sorted(bins), needle


def test_a_serving_lab_searches_by_the_header_section(served: Path) -> None:
    lab = hooklab.open(served)
    try:
        assert _found(lab) == WANT
        for needle, bins in SEARCHES:
            assert sorted(lab.dataframe(search=needle)["bin"]) == sorted(bins), needle
    finally:
        lab.stop()


def test_the_index_holds_the_header_sections_words(served: Path) -> None:
    _wait_indexed(served)
    assert _index_found(served) == WANT


def _copy(served: Path, path: Path) -> None:
    src = sqlite3.connect(served)
    dst = sqlite3.connect(path)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


def test_rows_the_index_has_not_reached(served: Path, tmp_path: Path) -> None:
    """A read-only store on a file whose index marker is at 0: every row by the twin."""
    path = tmp_path / "unindexed.sqlite3"
    _copy(served, path)
    db = sqlite3.connect(path)
    db.execute("INSERT INTO captures_fts(captures_fts) VALUES ('delete-all')")
    db.execute("UPDATE meta SET value = '0' WHERE key = 'search_upto'")
    db.commit()
    db.close()
    ro = CaptureStore(str(path), readonly=True)
    try:
        assert _found(ro) == WANT
    finally:
        ro.close()


@pytest.mark.parametrize("into", ["file", "memory"])
def test_right_after_an_import(served: Path, tmp_path: Path, into: str) -> None:
    db = str(tmp_path / "imported.sqlite3") if into == "file" else ":memory:"
    lab = hooklab.load_jsonl(served.parent / "captures.jsonl", db=db)
    try:
        assert _found(lab) == WANT  # (indexed by now or not: the same answers)
        for needle, bins in SEARCHES:
            assert sorted(lab.dataframe(search=needle)["bin"]) == sorted(bins), needle
    finally:
        lab.stop()


def _indexed_lab(path: Path) -> None:
    """Open ``path`` for writing until its index covers every row."""
    lab = hooklab.open(path)
    try:
        _wait_indexed(path)
    finally:
        lab.stop()


def test_the_index_an_import_builds(served: Path, tmp_path: Path) -> None:
    path = tmp_path / "imported.sqlite3"
    hooklab.load_jsonl(served.parent / "captures.jsonl", db=str(path)).stop()
    _indexed_lab(path)
    assert _index_found(path) == WANT
    lab = hooklab.open(path)  # (caught up when opened: every search by the index)
    try:
        assert _found(lab) == WANT
    finally:
        lab.stop()


def test_an_in_memory_lab() -> None:
    lab = hooklab.start(port=0, db=":memory:")
    try:
        _send(lab.bound_port)
        lab.wait(len(SENT), timeout=20)
        assert _found(lab) == WANT
        for needle, bins in SEARCHES:
            assert sorted(lab.dataframe(search=needle)["bin"]) == sorted(bins), needle
    finally:
        lab.stop()


def test_a_parquet_export(served: Path) -> None:
    lab = hooklab.open(served.parent / "parquet")
    try:
        assert _found(lab) == WANT
        for needle, bins in SEARCHES:
            assert sorted(lab.dataframe(search=needle)["bin"]) == sorted(bins), needle
    finally:
        lab.stop()


def _old_words(path: Path) -> None:
    """Index the file as a hooklab of search version 6 did (every field read as a header: a
    trailer's Content-Type and Content-Encoding read the body) and mark it so."""
    db = sqlite3.connect(path)
    try:
        db.execute("INSERT INTO captures_fts(captures_fts) VALUES ('delete-all')")
        for cid, p, q, h, body in db.execute(
                "SELECT id, path, query, headers, body FROM captures").fetchall():
            fields = [(k, v) for k, v in json.loads(h)]
            words = search_line(search_text(p, json.loads(q), fields, body))
            db.execute("INSERT INTO captures_fts(rowid, words) VALUES (?, ?)", (cid, words))
        (top,) = db.execute("SELECT MAX(id) FROM captures").fetchone()
        db.execute("UPDATE meta SET value = ? WHERE key = 'search_upto'", (str(top),))
        db.execute("UPDATE meta SET value = '6' WHERE key = 'search_version'")
        db.commit()
    finally:
        db.close()
    old = _index_found(path)  # (what the older words found: the trailers read the bodies)
    assert old["zebra"] == ["gztrailer"] and old["hello world"] == ["formtrailer"]
    assert old["ol\u00e9"] == ["latintrailer"] and old["hello 20world"] == []


def test_an_index_of_the_older_words_is_rebuilt(served: Path, tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    _copy(served, path)
    _old_words(path)
    _indexed_lab(path)
    db = sqlite3.connect(path)
    try:
        assert db.execute("SELECT value FROM meta WHERE key = 'search_version'").fetchone() == (
            SEARCH_VERSION,)
    finally:
        db.close()
    assert _index_found(path) == WANT
    lab = hooklab.open(path)
    try:
        assert _found(lab) == WANT
    finally:
        lab.stop()


def test_a_read_only_store_does_not_use_the_older_words(served: Path, tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    _copy(served, path)
    _old_words(path)
    ro = CaptureStore(str(path), readonly=True)  # (cannot rebuild the index: does not use it)
    try:
        assert _found(ro) == WANT
    finally:
        ro.close()
