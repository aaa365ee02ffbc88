"""``lab.sql``'s ``captures`` view says where a capture's trailer fields start: its
``trailers_at`` column (``Capture.trailers_at``: an index into ``headers``, which keeps every
field as received, NULL when no trailers came), so that SQL can tell the header section from
the trailers. The same on a lab's SQLite file, an in-memory lab, a database written before the
column (opened read-only: NULL; opened for writing: NULL as well, none had trailers) and a
Parquet export opened in place. Raw chunked requests over real sockets on 127.0.0.1.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from _chunked import FIRST, chunked_post
from _http import raw_request

import hooklab
from hooklab.explore import VIEW_COLUMNS
from hooklab.store import CaptureStore

pytestmark = pytest.mark.timeout(120)

#: bin -> (header section after the first fields, trailer fields)
SENT: dict[str, tuple[list[tuple[str, str]], list[tuple[str, str]]]] = {
    "none": ([("X-H", "1")], []),
    "one": ([("X-H", "2")], [("X-Checksum", "sha256=abc")]),
    "same name": ([("X-Event", "head")], [("X-Event", "trailer"), ("X-Other", "o")]),
    "no header fields of its own": ([], [("Content-Type", "application/json")]),
    "a value naming trailers_at": ([("X-Note", "trailers_at")], [("X-T", "trailers_at")]),
}
#: bin -> trailers_at: the first fields and the header section before the trailer fields
WANT = {name: (len(FIRST) + len(head)) if trailers else None
        for name, (head, trailers) in SENT.items()}
SQL = "SELECT bin, trailers_at, headers FROM captures ORDER BY id"


def _send(lab: hooklab.HookLab) -> None:
    port = lab.bound_port
    assert port is not None
    for name, (head, trailers) in SENT.items():
        answer = raw_request(port, chunked_post(f"/{name.replace(' ', '-')}", head, trailers))
        assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]
    caps = lab.wait(len(SENT), timeout=10)
    assert [c.trailers_at for c in caps] == list(WANT.values())


def _check(lab: hooklab.HookLab) -> None:
    assert list(lab.sql("SELECT * FROM captures").columns)[: len(VIEW_COLUMNS)] == list(VIEW_COLUMNS)
    got = lab.sql(SQL)
    rows = got.astype(object).where(got.notna(), None).values.tolist()
    assert [(b.replace("-", " "), None if at is None else int(at)) for b, at, _ in rows] == list(
        WANT.items())
    for (bin_, at, headers), (name, (head, trailers)) in zip(rows, SENT.items(), strict=True):
        fields = [tuple(f) for f in json.loads(headers)]
        assert fields == [*FIRST, *head, *trailers], bin_  # (every field, as received)
        if at is not None:
            assert fields[: int(at)] == [*FIRST, *head] and fields[int(at):] == trailers, name
    # the header section in SQL: a trailer's field is not in it
    section = lab.sql(
        "SELECT c.bin, json_extract(j.value, '$[0]') AS name, json_extract(j.value, '$[1]') AS value"
        " FROM captures c,"
        " json_each(c.headers) j WHERE c.trailers_at IS NULL OR CAST(j.key AS INTEGER)"
        " < c.trailers_at ORDER BY c.id, CAST(j.key AS INTEGER)")
    assert [tuple(r) for r in section.values.tolist()] == [
        (name.replace(" ", "-"), k, v) for name, (head, _) in SENT.items()
        for k, v in [*FIRST, *head]]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    where = tmp_path_factory.mktemp("sql_trailers")
    lab = hooklab.start(port=0, db=str(where / "c.sqlite3"))
    try:
        _send(lab)
        assert lab.export(where / "pq", fmt="parquet") == len(SENT)
    finally:
        lab.stop()
    yield where


def test_a_lab_on_a_file(served: Path) -> None:
    lab = hooklab.open(served / "c.sqlite3")
    try:
        _check(lab)
    finally:
        lab.stop()


def test_an_in_memory_lab() -> None:
    lab = hooklab.start(port=0, db=":memory:")
    try:
        _send(lab)
        _check(lab)
    finally:
        lab.stop()


def test_a_parquet_export(served: Path) -> None:
    lab = hooklab.open(served / "pq")
    try:
        _check(lab)
    finally:
        lab.stop()


def _older(served: Path, path: Path) -> None:
    """A copy without the trailers_at column, as an older hooklab wrote it."""
    src, dst = sqlite3.connect(served / "c.sqlite3"), sqlite3.connect(path)
    try:
        src.backup(dst)
        dst.execute("ALTER TABLE captures DROP COLUMN trailers_at")
        dst.commit()
    finally:
        src.close()
        dst.close()


@pytest.mark.parametrize("how", ["read-only", "opened"])
def test_a_database_from_before_the_column(served: Path, tmp_path: Path, how: str) -> None:
    path = tmp_path / "older.sqlite3"
    _older(served, path)
    if how == "opened":
        lab = hooklab.open(path)
        try:
            got = lab.sql(SQL)
        finally:
            lab.stop()
    else:
        from hooklab.explore import run_sql

        store = CaptureStore(str(path), readonly=True)
        try:
            with store.read_connection() as db:
                got = run_sql(db, SQL)
        finally:
            store.close()
    assert len(got) == len(SENT) and got["trailers_at"].isna().all()
