"""An export never replaces a database: ``hooklab export --db a.db -o b.db`` (a typo, or a
wrong tab completion) wrote the JSON Lines of ``a.db`` over ``b.db``, another lab's captures,
and said "wrote 1 capture to b.db". The export's own database was already refused; any SQLite
file is now, by every way in (the command line, ``lab.export``, each format), and the file is
left byte for byte. An earlier export at that name is replaced, as before."""

from __future__ import annotations

import hashlib
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import hooklab

EXE = str(Path(sys.executable).with_name("hooklab"))  # the command as installed


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _capture_db(path: Path, n: int = 2) -> None:
    lab = hooklab.HookLab(port=0, db=str(path)).start()
    try:
        for i in range(n):
            hooklab.send(lab.url_for("x"), payload={"i": i})
        lab.wait(n, timeout=30)
    finally:
        lab.stop()


def _foreign_db(path: Path) -> None:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE users (id INTEGER, email TEXT)")
    con.execute("INSERT INTO users VALUES (1, 'a@example.org')")
    con.commit()
    con.close()


def _wal_db(path: Path) -> None:
    """A database in WAL mode with its ``-wal`` still there (another process has it open)."""
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=wal")
    con.execute("CREATE TABLE t (x)")
    con.execute("INSERT INTO t VALUES (1)")
    con.commit()
    _wal_db.open = con  # type: ignore[attr-defined]  # (closed by the test)


TARGETS = {"another-capture-database": _capture_db, "someone-elses-sqlite": _foreign_db,
           "wal-mode-in-use": _wal_db}
FORMATS = ["jsonl", "har", "csv", "parquet"]


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("src") / "a.db"
    _capture_db(path, 3)
    return path


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind", sorted(TARGETS))
def test_an_export_over_a_database_is_refused_and_leaves_it(tmp_path: Path, source: Path,
                                                            kind: str, fmt: str) -> None:
    target = tmp_path / "b.db"
    TARGETS[kind](target)
    try:
        before = _digest(target)
        r = subprocess.run([EXE, "export", "--db", str(source), "-o", str(target),
                            "--format", fmt], capture_output=True, text=True, timeout=120)
        assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
        # (a Parquet export is a folder: a file is refused as one already, database or not)
        said = "is an SQLite database|is a file" if fmt == "parquet" else "is an SQLite database"
        assert re.search(said, r.stderr) and "wrote" not in r.stdout + r.stderr, r.stderr
        assert "Traceback" not in r.stderr
        lab = hooklab.open(source)
        try:
            with pytest.raises((ValueError, OSError), match=said):
                lab.export(target, fmt=fmt)
        finally:
            lab.stop()
        assert _digest(target) == before
    finally:
        con = getattr(_wal_db, "open", None)
        if con is not None:
            con.close()
            _wal_db.open = None  # type: ignore[attr-defined]
    if kind == "another-capture-database":
        lab = hooklab.open(target)
        try:
            assert [c.json() for c in lab.captures] == [{"i": 0}, {"i": 1}]
        finally:
            lab.stop()


@pytest.mark.parametrize("how", ["memory", "load_jsonl", "load_har"])
def test_a_lab_in_memory_does_not_export_over_a_database_either(tmp_path: Path, source: Path,
                                                                how: str) -> None:
    """The labs people export from are often in memory (``hooklab.load_jsonl`` /
    ``load_har``, ``db=":memory:"``): the check first came only after the one for the lab's
    own database file, which such a lab has none of."""
    target = tmp_path / "other.db"
    _capture_db(target)
    before = _digest(target)
    if how == "memory":
        lab = hooklab.HookLab(port=0, db=":memory:").start()
        hooklab.send(lab.url_for("m"), payload={"m": 1})
        lab.wait(1, timeout=30)
    else:
        opened = hooklab.open(source)
        fmt = "jsonl" if how == "load_jsonl" else "har"
        try:
            opened.export(tmp_path / f"e.{fmt}", fmt=fmt)
        finally:
            opened.stop()
        lab = getattr(hooklab, how)(tmp_path / f"e.{fmt}")
    try:
        for fmt in ("jsonl", "har", "csv"):
            with pytest.raises(ValueError, match="is an SQLite database"):
                lab.export(target, fmt=fmt)
    finally:
        lab.stop()
    assert _digest(target) == before


@pytest.mark.parametrize("fmt", ["jsonl", "har", "csv"])
def test_an_earlier_export_is_still_replaced(tmp_path: Path, source: Path, fmt: str) -> None:
    target = tmp_path / f"out.{fmt}"
    target.write_text("an earlier export\n")
    r = subprocess.run([EXE, "export", "--db", str(source), "-o", str(target), "--format", fmt],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    text = target.read_text(encoding="utf-8")
    assert "an earlier export" not in text and text.count('"/x"') + text.count(",/x,") >= 3
