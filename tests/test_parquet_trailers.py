"""A Parquet export keeps where a capture's trailer fields start (``trailers_at``), so that a
capture read back from the dataset (``hooklab.open(folder)``) verifies from its header
section alone, as on arrival and as one read from the SQLite store: a signature that came
only as a trailer field (after a chunked body) does not verify, and the reason says so.

The export wrote the headers but not where the trailers start: every capture of an opened
dataset had ``trailers_at=None``, and ``capture.verify(secret)`` read a signature sent only
as a trailer as a header and said valid.

A real lab on 127.0.0.1 with a SQLite file, raw chunked requests over a socket (the cases of
``tests/test_trailers_stored.py``), exported by ``lab.export`` and by the ``hooklab export``
CLI in a subprocess; datasets of an older hooklab (no ``trailers_at`` column) are made by
rewriting an export's files without the column."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_trailers_stored import CASES, FIRST, crafted_copy, send_every_case

import hooklab

#: the ``hooklab`` command installed beside this Python
EXE = str(Path(sys.executable).with_name("hooklab"))


class Sent:
    """What was sent for each case: its capture id and the fields; the database and the
    Parquet exports made of it (``lab.export``, the CLI)."""

    def __init__(self, db: Path, folder: Path, cli: Path) -> None:
        self.db, self.folder, self.cli = db, folder, cli
        self.ids: dict[str, int] = {}
        self.fields: dict[str, tuple[list[tuple[str, str]], list[tuple[str, str]]]] = {}

    def trailers_at(self, name: str) -> int | None:
        head, trailers = self.fields[name]
        return len(FIRST) + len(head) if trailers else None

    def by_id(self) -> dict[int, int | None]:
        """``{capture id: its trailers_at}`` of every case."""
        return {self.ids[n]: self.trailers_at(n) for n in CASES}


@pytest.fixture(scope="module")
def sent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sent]:
    """Every case sent to a real lab (secrets set), exported to Parquet by ``lab.export``;
    then, the lab stopped, by ``hooklab export --format parquet`` in a subprocess."""
    base = tmp_path_factory.mktemp("parquet-trailers")
    out = Sent(base / "captures.sqlite3", base / "exported", base / "cli")
    lab = hooklab.HookLab(port=0, db=str(out.db)).start()
    try:
        send_every_case(lab, out)
        for name in CASES:  # (stored as sent: what the exports start from)
            cap = lab.get(out.ids[name])
            assert cap is not None and cap.trailers_at == out.trailers_at(name), name
        assert lab.export(str(out.folder), fmt="parquet") == len(CASES)
    finally:
        lab.stop()
    done = subprocess.run([EXE, "export", "--db", str(out.db), "--format", "parquet",
                           "-o", str(out.cli)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    yield out


def _check(name: str, cap: Any, sent: Sent) -> None:
    """``cap`` (a capture read back) has the case's fields, trailers_at and verdicts."""
    case = CASES[name]
    head, trailers = sent.fields[name]
    assert cap is not None, name
    assert cap.trailers_at == sent.trailers_at(name), name
    assert cap.headers == [*FIRST, *head, *trailers], name  # (all kept, in order)
    assert cap.header_section == [*FIRST, *head], name
    assert cap.trailers == trailers, name
    assert cap.body == case.body, name
    assert cap.provider == case.detected, name
    for verdict in (cap.verify(case.secret), cap.verify(case.secret, case.provider)):
        assert verdict.valid is case.valid, (name, verdict.reason)
        assert ("came as a trailer field" in verdict.reason) is case.noted, (name, verdict.reason)
        if case.noted:  # (the field named, as sent)
            assert any(repr(k) in verdict.reason for k, _ in trailers), (name, verdict.reason)
        if case.valid:
            assert verdict.reason == "ok", (name, verdict.reason)
    assert cap.verified is case.valid, name  # (the verdict on arrival, exported)


def _files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("part-*.parquet"))


@pytest.mark.parametrize("how", ["lab.export", "cli"])
def test_an_opened_parquet_export_verifies_from_the_header_section(sent: Sent, how: str) -> None:
    folder = sent.folder if how == "lab.export" else sent.cli
    lab = hooklab.open(str(folder))
    try:
        listed = {c.id: c for c in lab.captures}
        queried = {c.id: c for c in lab.query()}
        assert sorted(listed) == sorted(queried) == sorted(sent.ids.values())
        for name in CASES:
            cid = sent.ids[name]
            _check(name, lab.get(cid), sent)
            _check(name, listed[cid], sent)
            _check(name, queried[cid], sent)
        # a page of the newest (read from the row groups that hold it)
        newest = lab.query(limit=3, newest_first=True)
        assert [c.trailers_at for c in newest] == [
            sent.by_id()[i] for i in sorted(sent.ids.values(), reverse=True)[:3]]
    finally:
        lab.stop()


@pytest.mark.parametrize("how", ["lab.export", "cli"])
def test_the_files_hold_a_nullable_whole_number_column(sent: Sent, how: str) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = sent.folder if how == "lab.export" else sent.cli
    got: dict[int, int | None] = {}
    for f in _files(folder):
        schema = pq.read_schema(f)
        assert schema.names[-1] == "trailers_at"  # (last: a column added after the others)
        assert schema.field("trailers_at").type == pa.int64()
        assert schema.field("trailers_at").nullable
        table = pq.read_table(f, columns=["id", "trailers_at"])
        got.update(zip(table.column("id").to_pylist(), table.column("trailers_at").to_pylist(),
                       strict=True))
    assert got == sent.by_id()
    # (every case sent with trailers has a value; the others are null)
    assert sum(v is not None for v in got.values()) == sum(bool(t) for _h, t in sent.fields.values())
    assert sum(v is None for v in got.values()) >= 2


def test_frame_and_sql_are_those_of_the_sqlite_lab(sent: Sent) -> None:
    """``trailers_at`` is no column of the DataFrame; it is one of the SQL view (README: their
    columns): the Parquet lab's are the SQLite lab's, value for value."""
    import pandas as pd

    from hooklab.explore.sql import VIEW_COLUMNS
    from hooklab.frame import COLUMNS

    sqlite, parquet = hooklab.open(str(sent.db)), hooklab.open(str(sent.folder))
    try:
        a, b = sqlite.dataframe(), parquet.dataframe()
        assert list(a.columns) == list(b.columns) == list(COLUMNS)
        cols = [c for c in COLUMNS if c != "json"]
        pd.testing.assert_frame_equal(a[cols].reset_index(drop=True),
                                      b[cols].reset_index(drop=True), check_categorical=False)
        assert a["json"].tolist() == b["json"].tolist()
        one = "SELECT * FROM captures ORDER BY id"
        x, y = sqlite.sql(one), parquet.sql(one)
        assert list(x.columns) == list(VIEW_COLUMNS)
        assert [c for c in y.columns if c != "day"] == list(VIEW_COLUMNS)  # (day: a partition)
        assert x["headers"].tolist() == y["headers"].tolist()
        assert x["id"].tolist() == y["id"].tolist() == sorted(sent.ids.values())
        at = [None if pd.isna(v) else int(v) for v in x["trailers_at"]]
        assert at == [None if pd.isna(v) else int(v) for v in y["trailers_at"]]
        assert at == [c.trailers_at for c in sqlite.query()]
    finally:
        sqlite.stop()
        parquet.stop()


def test_a_parquet_lab_exported_again_keeps_it(sent: Sent, tmp_path: Path) -> None:
    """An opened dataset exported to Parquet (its ``extra_columns``) and to JSON Lines."""
    opened = hooklab.open(str(sent.folder))
    try:
        assert opened.export(str(tmp_path / "again"), fmt="parquet") == len(CASES)
        assert opened.export(str(tmp_path / "again.jsonl"), fmt="jsonl") == len(CASES)
    finally:
        opened.stop()
    for back in (hooklab.open(str(tmp_path / "again")),
                 hooklab.load_jsonl(str(tmp_path / "again.jsonl"))):
        try:
            by_path = {c.path: c for c in back.captures}  # (an import's ids are its own)
            assert len(by_path) == len(CASES)
            for k, name in enumerate(CASES):
                _check(name, by_path[f"/{CASES[name].bin}/{k}"], sent)
        finally:
            back.stop()


# -- a dataset an older hooklab wrote, appended to ---------------------------------------------

def _drop_the_column(files: list[Path]) -> None:
    """Rewrite ``files`` as an older hooklab wrote them: no ``trailers_at`` column."""
    import pyarrow.parquet as pq

    for f in files:
        table = pq.read_table(f)
        pq.write_table(table.drop_columns(["trailers_at"]), f, compression="zstd")
        assert "trailers_at" not in pq.read_schema(f).names


@pytest.fixture
def appended(sent: Sent, tmp_path: Path) -> tuple[Path, int, dict[int, int | None]]:
    """A dataset of the first captures as an older hooklab exported them, then the rest added
    by ``lab.export(since=...)``: ``(folder, the last id of the older files, {id:
    trailers_at expected})``."""
    folder = tmp_path / "older"
    half = sorted(sent.ids.values())[6]
    lab = hooklab.open(str(sent.db))
    try:
        assert lab.export(str(folder), fmt="parquet", until=half) == 7
        older = _files(folder)
        _drop_the_column(older)
        assert lab.export(str(folder), fmt="parquet", since=half) == len(CASES) - 7
    finally:
        lab.stop()
    newer = [f for f in _files(folder) if f not in older]
    assert newer and older
    expected = {i: (None if i <= half else at) for i, at in sent.by_id().items()}
    # (both halves hold captures with trailers)
    assert any(sent.by_id()[i] is not None for i in expected if i <= half)
    assert any(at is not None for at in expected.values())
    return folder, half, expected


def test_an_older_dataset_appended_to_opens_and_reads_none(
        sent: Sent, appended: tuple[Path, int, dict[int, int | None]]) -> None:
    folder, half, expected = appended
    lab = hooklab.open(str(folder))
    try:
        caps = {c.id: c for c in lab.captures}
        assert {i: c.trailers_at for i, c in caps.items()} == expected
        for name in CASES:
            cid = sent.ids[name]
            if cid > half:
                _check(name, caps[cid], sent)
        # an older file cannot say where trailers start: its captures read all as headers
        # (a Stripe signature sent only as a trailer verifies there, as it did before)
        old = caps[sent.ids["stripe signature only as a trailer"]]
        assert old.id <= half and old.header_section == old.headers
        assert old.verify(CASES["stripe signature only as a trailer"].secret).valid is True
        assert len(lab.dataframe()) == len(CASES)
        assert lab.sql("SELECT count(*) AS n FROM captures")["n"].tolist() == [len(CASES)]
    finally:
        lab.stop()


def test_an_older_dataset_appended_to_reads_in_duckdb_pyarrow_polars_and_dask(
        appended: tuple[Path, int, dict[int, int | None]]) -> None:
    """The folder's files, older (without the column) and newer: each engine reads them all,
    ``trailers_at`` null in the older ones, where the engine is told to take the union of
    the files' columns (DuckDB ``union_by_name``; pyarrow, polars: the newer files' schema)."""
    import duckdb
    import pyarrow as pa
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    folder, _half, expected = appended
    files = _files(folder)
    glob = str(folder / "**" / "*.parquet")

    rows = duckdb.sql(f"SELECT id, trailers_at FROM read_parquet('{glob}', hive_partitioning = "
                      "true, union_by_name = true) ORDER BY id").fetchall()
    assert dict(rows) == expected and len(rows) == len(expected)

    hive = pa.schema([("day", pa.string()), ("provider", pa.string())])
    schema = pa.unify_schemas([*(pq.read_schema(f) for f in files), hive])
    table = ds.dataset(str(folder), partitioning="hive", schema=schema).to_table(
        columns=["id", "trailers_at"])
    assert dict(zip(table.column("id").to_pylist(), table.column("trailers_at").to_pylist(),
                    strict=True)) == expected
    # (without the schema: every row, with the columns of the file pyarrow looks at first)
    assert sorted(ds.dataset(str(folder), partitioning="hive").to_table(
        columns=["id"]).column("id").to_pylist()) == sorted(expected)

    import polars as pl

    newest = [f for f in files if "trailers_at" in pq.read_schema(f).names][0]
    frame = pl.scan_parquet(glob, hive_partitioning=True, schema=pl.read_parquet_schema(newest),
                            missing_columns="insert").select("id", "trailers_at").collect()
    assert dict(zip(frame["id"].to_list(), frame["trailers_at"].to_list(), strict=True)) == expected
    assert frame.height == len(expected)

    import dask.dataframe as dd

    # dask reads the folder with the columns of its first file: every row either way, and
    # the column, when that file has it, as expected (NaN: null)
    df = dd.read_parquet(str(folder)).compute()
    assert sorted(df["id"].tolist()) == sorted(expected)
    if "trailers_at" in df.columns:
        got = {int(i): (None if at != at else int(at))
               for i, at in zip(df["id"], df["trailers_at"], strict=True)}
        assert got == expected


# -- crafted files ------------------------------------------------------------------------------

# a trailers_at a crafted file may hold for a capture of 5 header fields, the first 4 of them
# its header section (a shared folder is as untrusted as an imported file), what the capture
# reads, and whether capture.verify(secret) then says valid (its Stripe signature, sent as a
# trailer, read as a header where no trailers are said to start)
CRAFTED = [
    ("as exported", 4, 4, False),
    ("first field", 0, 0, False),
    ("last field", 4, 4, False),
    ("past the fields", 5, None, True),
    ("far past", 99, None, True),
    ("negative", -1, None, True),
    ("most negative", -(2**63), None, True),
    ("huge", 2**63 - 1, None, True),
    ("null", None, None, True),
]


@pytest.mark.parametrize(("why", "stored", "read", "valid"), CRAFTED, ids=[c[0] for c in CRAFTED])
def test_a_crafted_trailers_at_reads_as_a_field_index_or_none(
        sent: Sent, tmp_path: Path, why: str, stored: int | None, read: int | None,
        valid: bool) -> None:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    name = "stripe signature only as a trailer"
    cid = sent.ids[name]
    assert len(FIRST) + len(sent.fields[name][0]) == 4 and len(sent.fields[name][1]) == 1
    folder = tmp_path / "crafted"
    shutil.copytree(sent.folder, folder)
    for f in _files(folder):
        table = pq.read_table(f)
        at = table.column_names.index("trailers_at")
        mine = pc.equal(table.column("id"), cid)
        column = pc.if_else(mine, pa.scalar(stored, pa.int64()), table.column("trailers_at"))
        pq.write_table(table.set_column(at, "trailers_at", column), f, compression="zstd")
    lab = hooklab.open(str(folder))
    try:
        for cap in (lab.get(cid), *(c for c in lab.captures if c.id == cid),
                    *(c for c in lab.query() if c.id == cid)):
            assert cap is not None and cap.trailers_at == read, why
            assert cap.verify(CASES[name].secret).valid is valid, why
        others = {c.id: c.trailers_at for c in lab.captures if c.id != cid}
        assert others == {i: at for i, at in sent.by_id().items() if i != cid}
    finally:
        lab.stop()


@pytest.mark.parametrize("kind", ["string", "int32", "float64"])
def test_a_trailers_at_column_of_another_type_is_no_export(sent: Sent, tmp_path: Path,
                                                           kind: str) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path / "typed"
    shutil.copytree(sent.folder, folder)
    f = _files(folder)[0]
    table = pq.read_table(f)
    at = table.column_names.index("trailers_at")
    pq.write_table(table.set_column(at, "trailers_at", table.column(at).cast(getattr(pa, kind)())), f)
    with pytest.raises(ValueError, match=r"is not a hooklab capture export .*trailers_at"):
        hooklab.open(str(folder))


# a trailers_at a crafted SQLite database may hold for the same capture, and what its Parquet
# export writes (text or a number past the fields was written as it was, or refused by Arrow)
CRAFTED_DB = [
    (4, 4),
    ("4", 4),       # (a number written as text: the INTEGER column makes it one)
    (5, None),
    (-1, None),
    (2**62, None),
    ("x", None),    # SQLite keeps a text in an INTEGER column when it is no number
    (4.5, None),
    (b"\x04", None),
    (None, None),
]


@pytest.mark.parametrize(("stored", "written"), CRAFTED_DB)
def test_a_crafted_database_exports_a_field_index_or_null(sent: Sent, tmp_path: Path,
                                                          stored: Any, written: Any) -> None:
    import pyarrow.parquet as pq

    cid = sent.ids["stripe signature only as a trailer"]
    db = crafted_copy(sent.db, cid, tmp_path, stored)
    lab = hooklab.open(str(db))
    try:
        assert lab.export(str(tmp_path / "out"), fmt="parquet") == len(CASES)
    finally:
        lab.stop()
    got: dict[int, Any] = {}
    for f in _files(tmp_path / "out"):
        table = pq.read_table(f, columns=["id", "trailers_at"])
        got.update(zip(table.column("id").to_pylist(), table.column("trailers_at").to_pylist(),
                       strict=True))
    assert got == {**sent.by_id(), cid: written}
