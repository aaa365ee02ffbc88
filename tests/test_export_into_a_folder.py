"""An export into a folder: an earlier Parquet export's folder (README's ``exports/captures``,
no ``.parquet`` in its name) takes the next export with no format given, as the README's
incremental exports run; any other folder is refused in words about folders.

``hooklab export -o exports/captures`` on such a folder said "cannot tell the export format
from 'no extension'" (as if a file were named so). The eight captures of
``test_cli_export_filters`` are exported, then more are sent and the same command run again:
the dataset must then hold every capture once (ids read back by ``hooklab.open``).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from test_cli import ENV, EXE
from test_cli_export_filters import _filled, _ids

import hooklab

pytestmark = pytest.mark.timeout(300)


def _export(db: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXE, "export", "--db", db, *args], capture_output=True, text=True,
                          timeout=120, env=ENV)


def test_the_command_adds_to_an_earlier_parquet_export_folder(tmp_path: Path) -> None:
    db = _filled(tmp_path / "c.sqlite3")
    out = tmp_path / "exports" / "captures"
    first = _export(db, "--format", "parquet", "-o", str(out))
    assert first.returncode == 0, first.stderr
    assert _ids("parquet", out) == list(range(1, 9))
    lab = hooklab.HookLab(port=0, db=db).start()
    try:
        hooklab.send(lab.url_for("later"), payload={"n": 9})
        lab.wait(9)
    finally:
        lab.stop()
    again = _export(db, "-o", str(out))  # (no --format: the folder says it)
    assert again.returncode == 0, again.stderr
    assert _ids("parquet", out) == list(range(1, 10))


def test_lab_export_adds_to_it_too(tmp_path: Path) -> None:
    db = _filled(tmp_path / "c.sqlite3")
    out = tmp_path / "captures"
    lab = hooklab.open(db)
    try:
        assert lab.export(str(out), fmt="parquet") == 8
        assert lab.export(str(out)) == 0  # (nothing new since: the note says so)
    finally:
        lab.stop()
    assert _ids("parquet", out) == list(range(1, 9))


@pytest.mark.parametrize("made", ["empty", "files"])
def test_another_folder_is_refused_in_words_about_folders(tmp_path: Path, made: str) -> None:
    db = _filled(tmp_path / "c.sqlite3")
    out = tmp_path / "exports"
    out.mkdir()
    if made == "files":
        (out / "notes.txt").write_text("mine")
    r = _export(db, "-o", str(out))
    assert (r.returncode, r.stdout) == (2, ""), r.stderr
    assert r.stderr == (f"hooklab: {str(out)!r} is a folder: a Parquet export is written into "
                        "one, pass --format parquet (other formats are files)\n")
    assert sorted(p.name for p in out.iterdir()) == ([] if made == "empty" else ["notes.txt"])
    lab = hooklab.open(db)
    try:
        with pytest.raises(ValueError, match="is a folder: a Parquet export is written into one, "
                                             "pass fmt='parquet'"):
            lab.export(str(out))
    finally:
        lab.stop()


@pytest.mark.parametrize("name", ["exports.parquet", "x.PARQUET"])
def test_a_folder_named_parquet_takes_an_export_as_before(tmp_path: Path, name: str) -> None:
    """A folder named ``*.parquet`` that exists (made by ``mkdir``, no export yet) goes by its
    name, as README's ``-o FOLDER.parquet`` says (the folder check first refused it)."""
    db = _filled(tmp_path / "c.sqlite3")
    out = tmp_path / name
    out.mkdir()
    r = _export(db, "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert _ids("parquet", out) == list(range(1, 9))
    lab = hooklab.open(db)
    try:
        assert lab.export(str(tmp_path / "second.parquet")) == 8  # (made by the export)
        (tmp_path / "third.parquet").mkdir()
        assert lab.export(str(tmp_path / "third.parquet")) == 8
    finally:
        lab.stop()


def test_a_folder_named_as_a_file_format_is_said_so(tmp_path: Path) -> None:
    """A folder named ``x.csv`` goes by its name (CSV), and the command says a CSV export is a
    file (its own words, as before this change)."""
    db = _filled(tmp_path / "c.sqlite3")
    out = tmp_path / "x.csv"
    out.mkdir()
    r = _export(db, "-o", str(out))
    assert (r.returncode, r.stdout) == (2, "")
    assert "it is a folder (a CSV export is one file" in r.stderr, r.stderr
    assert list(out.iterdir()) == []
