"""The README's 30-second tour, run as written in a real kernel, twice in the same folder (a
person runs it again the next day: the captures of the first run are still in the database).
And the README's curl line, sent as written."""

from __future__ import annotations

import json
import re
import shlex
import urllib.request
from pathlib import Path

import pytest
from _http import free_port
from test_kernel import Kernel

README = Path(__file__).resolve().parent.parent / "README.md"

pytestmark = pytest.mark.timeout(300)


def _block(heading: str, lang: str) -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split(f"## {heading}", 1)[1]
    return section.split(f"```{lang}\n", 1)[1].split("```", 1)[0]


def test_the_tour_runs_as_written_and_again_the_next_day(tmp_path) -> None:
    cells = [c for c in _block("30-second tour", "python").split("\n\n") if c.strip()]
    assert cells[0].startswith("%load_ext hooklab") and len(cells) == 3
    port = free_port()  # (the tour's 8765 may be taken by another test)
    for day in (1, 2):
        with Kernel(tmp_path) as k:
            k.run(f"%config HookLab.port = {port}")
            out = k.run(cells[0])
            assert f"hooklab listening on http://127.0.0.1:{port} " in out
            stored = {1: "0 captures", 2: "1 capture"}[day]
            assert f"(db .hooklab/captures.sqlite3, {stored})" in out
            assert k.run(cells[1]).strip().endswith("('pull_request.opened', True)")
            out = k.run(cells[2])
            assert re.search(rf"pull_request\.opened\s+{day}\b", out), out
            k.run("%unload_ext hooklab")


def test_the_curl_line_is_captured_as_written(tmp_path) -> None:
    import hooklab

    line = _block("30-second tour", "console").replace("\\\n", " ").strip()
    argv = shlex.split(line)
    assert argv[0] == "curl"
    lab = hooklab.start(port=0, db=":memory:")
    try:
        url = argv[-1].replace("http://127.0.0.1:8765", lab.url)
        headers = {}
        data = None
        for i, a in enumerate(argv):
            if a == "-H":
                k, v = argv[i + 1].split(": ", 1)
                headers[k] = v
            elif a == "-d":
                data = argv[i + 1].encode()
        assert data is not None and not data.startswith(b"@"), "curl reads a file nobody has"
        req = urllib.request.Request(url, data=data, headers=headers, method="POST")
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.status == 200
        (cap,) = lab.wait(1, timeout=10)
        assert cap.bin == "github" and cap.provider == "github" and cap.event_type == "push"
        assert json.loads(cap.body) == json.loads(data)
    finally:
        hooklab.stop()


def test_the_quickstart_notebook_leaves_a_person_s_captures_alone(tmp_path) -> None:
    """01-quickstart starts from an empty database: its own file, not the default one,
    whose captures (a person's real ones) are still there after it ran."""
    import shutil
    import sqlite3

    import nbformat
    from nbclient import NotebookClient

    import hooklab

    mine = hooklab.HookLab(db=str(tmp_path / ".hooklab" / "captures.sqlite3"))
    try:
        mine.store.add({"method": "POST", "path": "/mine/1", "headers": [], "body": b"{}"}).result(10)
    finally:
        mine.stop()
    nb_path = tmp_path / "01-quickstart.ipynb"
    shutil.copy(README.parent / "notebooks" / "01-quickstart.ipynb", nb_path)
    nb = nbformat.read(nb_path, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(f"%config HookLab.port = {free_port()}"))
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    db = sqlite3.connect(tmp_path / ".hooklab" / "captures.sqlite3")
    try:
        assert db.execute("SELECT path FROM captures").fetchall() == [("/mine/1",)]
    finally:
        db.close()
