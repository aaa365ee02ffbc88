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


@pytest.mark.parametrize("made", ["empty", "files", "csv-folder"])
def test_another_folder_is_refused_in_words_about_folders(tmp_path: Path, made: str) -> None:
    db = _filled(tmp_path / "c.sqlite3")
    out = tmp_path / ("x.csv" if made == "csv-folder" else "exports")
    out.mkdir()
    if made == "files":
        (out / "notes.txt").write_text("mine")
    r = _export(db, "-o", str(out))
    assert (r.returncode, r.stdout) == (2, ""), r.stderr
    assert r.stderr == (f"hooklab: {str(out)!r} is a folder: a Parquet export is written into "
                        "one, pass --format parquet (other formats are files)\n")
    assert sorted(p.name for p in out.iterdir()) == ([] if made != "files" else ["notes.txt"])
    lab = hooklab.open(db)
    try:
        with pytest.raises(ValueError, match="is a folder: a Parquet export is written into one, "
                                             "pass fmt='parquet'"):
            lab.export(str(out))
    finally:
        lab.stop()
