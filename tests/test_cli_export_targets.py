"""``hooklab export``: every ``--format`` with every kind of ``-o`` (none, ``-``, a new file,
an earlier file, a folder, an empty value). A Parquet export is a folder of files and the other
formats one file: a target that cannot hold the format is a usage error, one ``hooklab:``
line naming the flag, exit 2, nothing written (``--format parquet -o -`` was exit 1 without
``hooklab:``, ``--format jsonl -o FOLDER`` exit 1 with ``[Errno 21] Is a directory``)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from pathlib import Path

import pytest
from test_cli import ENV, EXE, _live_store_of

import hooklab

KIND = {"har": "HAR", "jsonl": "JSON Lines", "csv": "CSV"}


def _ids(fmt: str, text: str) -> list[int]:
    """The capture ids an export of ``fmt`` holds, read as its reader reads it."""
    if fmt == "jsonl":
        return [json.loads(line)["id"] for line in text.splitlines()]
    if fmt == "csv":
        return [int(row["id"]) for row in csv.DictReader(io.StringIO(text))]
    return [e["_hooklab"]["id"] for e in json.loads(text)["log"]["entries"]]


def _parquet_ids(folder: Path) -> list[int]:
    lab = hooklab.open(str(folder))
    try:
        return [c.id for c in lab.captures]
    finally:
        lab.stop()


# (target: what -o is given, "none" for no -o; what is there before) -> outcome; {fmt} and
# {kind} are filled in per format
FILE_FORMATS = [
    ("none", None, 0, "stdout", ""),
    ("-", None, 0, "stdout", ""),
    ("out.x", None, 0, "file", "wrote 2 captures to out.x\n"),
    ("out.x", "file", 0, "file", "wrote 2 captures to out.x\n"),  # (an earlier one, replaced)
    ("dir", "folder", 2, "nothing",
     "hooklab: export --format {fmt} -o 'dir': it is a folder (a {kind} export is one file: "
     "name a file, e.g. -o dir/captures.{fmt})\n"),
    ("dir/", "folder", 2, "nothing",
     "hooklab: export --format {fmt} -o 'dir/': it is a folder (a {kind} export is one file: "
     "name a file, e.g. -o dir/captures.{fmt})\n"),
    ("link", "link-to-folder", 2, "nothing",
     "hooklab: export --format {fmt} -o 'link': it is a folder (a {kind} export is one file: "
     "name a file, e.g. -o link/captures.{fmt})\n"),
    ("", None, 2, "nothing", "error: argument -o/--output: the value is empty"),
]
PARQUET = [
    ("none", None, 2, "nothing",
     "hooklab: export --format parquet needs -o FOLDER (a Parquet export is a folder of "
     "files)\n"),
    ("-", None, 2, "nothing",
     "hooklab: export --format parquet needs -o FOLDER, not -o - (a Parquet export is a "
     "folder of files: it cannot go to standard output)\n"),
    ("out.x", None, 0, "folder", "wrote 2 captures to out.x\n"),
    ("dir", "folder", 0, "folder", "wrote 2 captures to dir\n"),
    ("dir/", "folder", 0, "folder", "wrote 2 captures to dir/\n"),
    ("link", "link-to-folder", 0, "folder", "wrote 2 captures to link\n"),
    ("out.x", "file", 2, "nothing",
     "hooklab: export --format parquet -o 'out.x': it is a file (a Parquet export is a folder "
     "of files: name a new or earlier export's folder)\n"),
    ("", None, 2, "nothing", "error: argument -o/--output: the value is empty"),
]
CASES = [(fmt, *case) for fmt in ("jsonl", "csv", "har") for case in FILE_FORMATS] + [
    ("parquet", *case) for case in PARQUET]


@pytest.mark.parametrize("fmt,target,before,code,lands,says", CASES,
                         ids=[f"{c[0]}-o={c[1] or 'empty'}-{c[2] or 'new'}" for c in CASES])
def test_every_format_with_every_output(tmp_path, fmt, target, before, code, lands, says) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "c.sqlite3"
    _live_store_of(str(db), 2)
    work = tmp_path / "work"
    work.mkdir()
    if before == "file":
        (work / target).write_text("earlier\n")
    elif before == "folder":
        (work / "dir").mkdir()
    elif before == "link-to-folder":
        (work / "dir").mkdir()
        (work / "link").symlink_to("dir")
    there = sorted(str(p.relative_to(work)) for p in work.rglob("*"))
    args = [EXE, "export", "--db", str(db), "--format", fmt]
    if target != "none":
        args += ["-o", target]
    r = subprocess.run(args, cwd=work, capture_output=True, text=True, timeout=120, env=ENV)
    assert r.returncode == code, r.stderr
    assert "Traceback" not in r.stderr
    said = says.format(fmt=fmt, kind=KIND.get(fmt, fmt))
    if said.startswith("error: "):  # (argparse's usage line, then its error line)
        assert said in r.stderr.splitlines()[-1], r.stderr
    else:
        assert r.stderr == said
    if lands == "stdout":
        assert _ids(fmt, r.stdout) == [1, 2]
    else:
        assert r.stdout == ""
    if lands == "file":
        assert _ids(fmt, (work / target).read_text()) == [1, 2]
    elif lands == "folder":
        assert _parquet_ids(work / target) == [1, 2]
    else:  # nothing written, nothing made, an earlier file as it was
        assert sorted(str(p.relative_to(work)) for p in work.rglob("*")) == there
        if before == "file":
            assert (work / target).read_text() == "earlier\n"
    assert not (work / "-").exists()
