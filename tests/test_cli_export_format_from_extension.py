"""``hooklab export -o FILE`` writes the format FILE's extension names, as ``lab.export(path)``
and ``%hooklab export PATH`` do; an empty filter value is one ``hooklab:`` line.

``hooklab export -o captures.csv`` (or ``.jsonl``) wrote a HAR document into that file ("har by
default"), which ``hooklab.load_jsonl`` then could not read, while the Python API and the magic
pick the format from the extension. Now the command does too: an extension that names no
format is refused (exit 2, ``--format`` named), ``--format`` wins over the extension as
``fmt=`` does, and standard output stays HAR. And ``--bin ""`` (an unset ``$BIN``) printed
argparse's usage and an error line where README promises one ``hooklab:`` line.

A real SQLite file filled by a serving lab over 127.0.0.1, the ``hooklab`` command, and the
readers a user reads each export with.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_cli_export_filters import _filled, _ids

import hooklab

EXE = str(Path(sys.executable).with_name("hooklab"))
ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}
NO_FORMAT = ("hooklab: cannot tell the export format from {ext}; use a .har (or .json), .jsonl "
             "(or .ndjson) or .csv file, or a .parquet folder, or pass --format (har, jsonl, "
             "csv, parquet)\n")


#: the captures of test_cli_export_filters' database (eight, sent to a serving lab)
ALL = list(range(1, 9))


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _filled(tmp_path_factory.mktemp("ext") / "captures.sqlite3")


def _export(db: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXE, "export", "--db", db, *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120, env=ENV)


def _read(fmt: str, path: Path) -> list[int]:
    """The capture ids an export holds, read from its text (and by hooklab's loader, which
    refused the HAR the command wrote into a ``.jsonl``)."""
    loader = {"jsonl": hooklab.load_jsonl, "har": hooklab.load_har}.get(fmt)
    if loader is not None:
        assert [c.id for c in loader(str(path)).captures] == ALL
    return _ids(fmt, path)


# (what -o is given, and --format if any; the format written: its extension's, as
# lab.export's table says: .har/.json, .jsonl/.ndjson, .csv, .parquet)
WRITTEN = [
    (["-o", "out.csv"], "csv"),
    (["-o", "OUT.CSV"], "csv"),  # (an extension in any case)
    (["-o", "out.jsonl"], "jsonl"),
    (["-o", "out.ndjson"], "jsonl"),
    (["-o", "out.har"], "har"),
    (["-o", "out.json"], "har"),
    (["-o", "a.b.jsonl"], "jsonl"),  # (the last extension)
    (["-o", "out.parquet"], "parquet"),  # (a folder)
    (["-o", "out.csv", "--format", "jsonl"], "jsonl"),  # (--format wins, as fmt= does)
    (["--format", "csv", "-o", "out.txt"], "csv"),
]


@pytest.mark.parametrize("args, fmt", WRITTEN, ids=[" ".join(a) for a, _ in WRITTEN])
def test_the_format_is_the_extension_s(db: str, tmp_path: Path, args: list[str], fmt: str) -> None:
    r = _export(db, tmp_path, *args)
    target = args[args.index("-o") + 1]
    assert (r.returncode, r.stdout, r.stderr) == (0, "", f"wrote 8 captures to {target}\n")
    assert _read(fmt, tmp_path / target) == ALL
    if fmt != "parquet" and "--format" not in args:  # (byte for byte what the API writes)
        lab = hooklab.open(db)
        try:
            lab.export(str(tmp_path / ("api-" + target)))
        finally:
            lab.stop()
        assert (tmp_path / target).read_bytes() == (tmp_path / ("api-" + target)).read_bytes()


# (-o, what the refusal names as the extension): nothing written, exit 2, --format named
REFUSED = [
    ("out.txt", "'.txt'"),
    ("captures", "'no extension'"),
    ("out.csv.gz", "'.gz'"),
    (".jsonl", "'no extension'"),  # (a hidden file's name, no extension: os.path's reading)
]


@pytest.mark.parametrize("target, ext", REFUSED, ids=[t for t, _ in REFUSED])
def test_an_extension_that_names_no_format_is_refused(db: str, tmp_path: Path, target: str,
                                                      ext: str) -> None:
    r = _export(db, tmp_path, "-o", target)
    assert (r.returncode, r.stdout, r.stderr) == (2, "", NO_FORMAT.format(ext=ext))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args", [[], ["-o", "-"]], ids=["no-o", "o-dash"])
def test_standard_output_stays_har(db: str, tmp_path: Path, args: list[str]) -> None:
    r = _export(db, tmp_path, *args)
    assert r.returncode == 0, r.stderr
    assert [e["_hooklab"]["id"] for e in json.loads(r.stdout)["log"]["entries"]] == ALL


EMPTY = "the value is empty: give one, or leave the option out for every capture"
# (the options, the option named): each a value an unset shell variable leaves
EMPTIES = [
    (["--bin", ""], "--bin"),
    (["--bin", "orders", "--bin", ""], "--bin"),  # (the second of two)
    (["--method", " "], "--method"),
    (["--provider", ""], "--provider"),
    (["--event-type", ""], "--event-type"),
    (["--path", "\t"], "--path"),
    (["--kind", ""], "--kind"),
    (["--verified", ""], "--verified"),
    (["--since", ""], "--since"),
    (["--until", " "], "--until"),
    (["--search", ""], "--search"),
    (["--provider", "Stripe", "--search", ""], "--search"),  # (before what the database says)
]


@pytest.mark.parametrize("to", ["file", "stdout"])
@pytest.mark.parametrize("opts, named", EMPTIES, ids=[" ".join(o) for o, _ in EMPTIES])
def test_an_empty_filter_value_is_one_hooklab_line(db: str, tmp_path: Path, opts: list[str],
                                                    named: str, to: str) -> None:
    out = ["-o", "out.jsonl"] if to == "file" else []
    r = _export(db, tmp_path, *out, *opts)
    assert (r.returncode, r.stdout, r.stderr) == (2, "", f"hooklab: {named}: {EMPTY}\n")
    assert list(tmp_path.iterdir()) == []
