"""``%hooklab export out.xyz`` says every format that works: it said "use a .har, .jsonl or
.csv file" although a ``.parquet`` folder works too. Each extension the message names is
exported to, in a real IPython shell with a lab on 127.0.0.1; ``hooklab export`` (a real
subprocess) names the same four formats for a format it does not know."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

import hooklab
from hooklab.export import FORMATS

EXE = str(Path(sys.executable).with_name("hooklab"))  # (the installed command)


@pytest.fixture
def shell() -> Iterator[InteractiveShell]:
    ip = InteractiveShell.instance()
    ip.run_line_magic("config", "HookLab.port = 0")
    ip.run_line_magic("config", "HookLab.db = ':memory:'")
    ip.extension_manager.load_extension("hooklab")
    try:
        lab = hooklab.lab()
        assert lab is not None
        for i in range(2):
            hooklab.send(lab.url_for("orders"), payload={"order_id": i})
        lab.wait(2, timeout=10)
        yield ip
    finally:
        ip.extension_manager.unload_extension("hooklab")


def refused(shell: InteractiveShell, line: str) -> str:
    with pytest.raises(UsageError) as err:
        shell.run_line_magic("hooklab", line)
    return str(err.value)


@pytest.mark.parametrize("name", ["out.xyz", "out", "out.txt", "out.parq", "out.har.bak"])
def test_an_unknown_extension_names_every_format_that_works(shell, tmp_path: Path, name: str) -> None:  # type: ignore[no-untyped-def]
    said = refused(shell, f"export {tmp_path / name}")
    assert said.startswith("%hooklab export: cannot tell the export format from "), said
    for fmt in FORMATS:
        assert f".{fmt}" in said and fmt in said.split("--format", 1)[1], (fmt, said)
    assert "pass --format" in said and "fmt=" not in said
    assert not (tmp_path / name).exists()


def extensions_named() -> list[str]:
    """The extensions ``lab.export`` (and so ``%hooklab export``) names when it cannot tell
    the format (the message is made before any store or file is touched)."""
    from hooklab.export import export

    try:
        export(None, "out.xyz")  # type: ignore[arg-type]
    except ValueError as exc:
        said = str(exc)
    else:
        raise AssertionError("out.xyz was taken")
    return re.findall(r"\.[a-z]+", said.split(";", 1)[1].split("pass fmt=", 1)[0])


def test_the_message_names_each_extension_once_and_all_formats() -> None:
    assert sorted(extensions_named()) == sorted([".har", ".json", ".jsonl", ".ndjson", ".csv", ".parquet"])


@pytest.mark.parametrize("ext", extensions_named())
def test_each_extension_the_message_names_exports(shell, tmp_path: Path, ext: str) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / f"out{ext}"
    shell.run_line_magic("hooklab", f"export {target}")
    assert target.exists()
    if ext == ".parquet":  # a folder, opened again
        assert target.is_dir()
        opened = hooklab.open(str(target))
        try:
            assert len(opened.dataframe()) == 2
        finally:
            opened.stop()
    else:
        assert target.stat().st_size > 0


def test_the_cli_names_the_same_formats(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite3"
    lab = hooklab.start(port=0, db=str(db))
    try:
        hooklab.send(lab.url_for("orders"), payload={"order_id": 1})
        lab.wait(1, timeout=10)
    finally:
        lab.stop()
    run = subprocess.run([EXE, "export", "--db", str(db), "--format", "xyz",
                          "-o", str(tmp_path / "out.xyz")], capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    choices = re.search(r"invalid choice: 'xyz' \(choose from (.*)\)", run.stderr)
    assert choices, run.stderr
    assert sorted(re.findall(r"[a-z]+", choices.group(1))) == sorted(FORMATS)
    helped = subprocess.run([EXE, "export", "--help"],
                            capture_output=True, text=True, timeout=120)
    assert "{har,jsonl,csv,parquet}" in helped.stdout
