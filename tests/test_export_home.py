"""An export path starting with ``~`` is in the home folder, as ``%hooklab start --db ~/x``
reads it: from the magic and from ``lab.export``, every format; a folder named ``~`` in the
working directory is left alone."""

from __future__ import annotations

import json

import pytest

import hooklab


@pytest.mark.parametrize("name,fmt", [
    ("caps.har", None), ("caps.jsonl", None), ("caps.csv", None), ("caps.parquet", "parquet"),
    ("sub/caps.jsonl", "jsonl"),
])
def test_a_path_from_the_home_folder(tmp_path, monkeypatch, name, fmt) -> None:  # type: ignore[no-untyped-def]
    home, work = tmp_path / "home", tmp_path / "work"
    (home / "sub").mkdir(parents=True)
    (work / "~").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    lab = hooklab.start(port=0, db=":memory:")
    try:
        hooklab.send(lab.url_for("orders"), payload={"n": 1})
        lab.wait(1, timeout=10)
        assert lab.export(f"~/{name}", fmt=fmt) == 1
    finally:
        lab.stop()
    written = home / name
    assert written.exists(), sorted(p.name for p in home.rglob("*"))
    assert list((work / "~").iterdir()) == []
    if name.endswith(".jsonl"):
        assert json.loads(written.read_text().splitlines()[0])["bin"] == "orders"


def test_the_magic_writes_to_the_home_folder(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from IPython.core.interactiveshell import InteractiveShell

    ip = InteractiveShell.instance()  # (before HOME moves: its history file stays where it is)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    ip.run_line_magic("config", "HookLab.port = 0")
    ip.run_line_magic("config", "HookLab.db = ':memory:'")
    ip.extension_manager.load_extension("hooklab")
    try:
        lab = hooklab.lab()
        hooklab.send(lab.url_for("orders"), payload={"n": 1})
        lab.wait(1, timeout=10)
        ip.run_cell("%hooklab export ~/caps.har").raise_error()
    finally:
        ip.extension_manager.unload_extension("hooklab")
    har = json.loads((tmp_path / "caps.har").read_text())
    assert len(har["log"]["entries"]) == 1
